"""Reconciling the bank's daily statement with the ledger (issue 8): the ReconcileStatement use case.

The statement is read first, outside any transaction: a malformed one is refused with every bad
line named and changes nothing. Then the fund's payouts of that day are loaded, the two sides are
matched (ledger_svc.domain.reconciliation, pure) and the resolutions applied as bank answers
(handlers.apply_answers), all in one transaction with their transfers as one batch: a payout the
bank booked while the ledger held it submitted or in doubt is settled; a payout the bank returned
(a CRDT line) is RETURNED, its amount back in the fund's available account (X2) and
payment.returned emitted. In doubt is resolved by the statement, never by sending again.
Reconciling the same statement again changes nothing. The statement readers are injected by
bootstrap (adapters).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from ledger_svc.domain.model import PaymentState
from ledger_svc.domain.reconciliation import (
    Reconciliation,
    ResolutionKind,
    StatementLine,
    collector_paused,
    reconcile,
)
from ledger_svc.service_layer import commands
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay import fields
from skillpay.clock import SHANGHAI, Clock
from skillpay.errors import FieldViolation, NotFound, require

log = logging.getLogger(__name__)

# A statement file's bytes (or a stream of them) -> its lines; raises an InvalidArgument naming
# every malformed line (ledger_svc.adapters.statement_files).
StatementReader = Callable[[bytes], Iterator[StatementLine]]
# A million CSV lines are about 80 MB, a million camt.053 entries about 300 MB.
MAX_STATEMENT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ReconcileResult:
    reconciliation: Reconciliation  # every finding, the summary; the report is made from it
    settled_ids: list[str]  # payouts this run settled (they were submitted or in doubt)
    returned_ids: list[str]  # payouts the bank returned (booked as returned by this run or before)
    skipped_ids: list[str]  # settled at the bank, but meanwhile moved on in the ledger: left as they are

    @property
    def unexplained(self) -> int:
        return len(self.reconciliation.unexplained())


def _settled_at(booking_date: date, clock: Clock) -> datetime:
    """When a payout booked on ``booking_date`` settled, as far as the ledger can tell: the end of
    that day (Asia/Shanghai), or now if that is earlier."""
    end_of_day = datetime.combine(booking_date, time(23, 59, 59), SHANGHAI).astimezone(timezone.utc)
    return min(end_of_day, clock.now())


def _read(reader: StatementReader, content) -> list[StatementLine]:
    with collector_paused():
        return list(reader(content))


async def reconcile_statement(cmd: commands.ReconcileStatement, uow: LedgerUnitOfWork, clock: Clock,
                              statement_readers: Mapping[str, StatementReader],
                              apply_answers: Callable) -> ReconcileResult:
    """F3: fund, day and amount of every payout against what the bank booked; C7, X2 differences listed.

    ``apply_answers`` is handlers.apply_answers, through which the bank's word goes (the payouts'
    audit trail names this command and its actor).
    """
    violations: list[FieldViolation] = []
    fund_code = fields.FUND_CODE.check(cmd.fund_code, "fund_code", violations)
    fields.BOOKING_DAY.check(cmd.day, "day", violations)
    reader = statement_readers.get(cmd.format) if isinstance(cmd.format, str) else None
    if reader is None:
        violations.append(FieldViolation("format", f"must be one of {', '.join(sorted(statement_readers))}"))
    # A StatementFile (spooled to disk) is read from its path, streaming; bytes are read as they are.
    spooled = isinstance(cmd.content, commands.StatementFile)
    if not spooled and not isinstance(cmd.content, (bytes, bytearray)):
        violations.append(FieldViolation("content", "must be the statement file's bytes"))
    elif not (cmd.content.size if spooled else cmd.content):
        violations.append(FieldViolation("content", "is required"))
    elif (cmd.content.size if spooled else len(cmd.content)) > MAX_STATEMENT_BYTES:
        violations.append(FieldViolation("content", f"must be at most {MAX_STATEMENT_BYTES} bytes"))
    require(violations)

    # Read in a worker thread: a large file must not stall the service's event loop.
    lines = await asyncio.to_thread(_read, reader, cmd.content.path if spooled else bytes(cmd.content))
    named = {line.payment_id for line in lines if line.fund_source == fund_code and line.booking_date == cmd.day}

    async with uow:
        if await uow.funds.get(fund_code) is None:
            raise NotFound("fund not found")
        payouts = await uow.payments.for_reconciliation(fund_code, cmd.day, named)
    rec = await asyncio.to_thread(reconcile, fund_code, cmd.day, payouts, lines)

    settled: list[str] = []
    skipped: list[str] = []
    answers = []
    for r in rec.resolutions:
        if r.kind is ResolutionKind.SETTLED_AT_BANK:
            answers.append(commands.BankAnswer(r.payout_id, "settled", r.bank_ref,
                                               settled_at=_settled_at(r.booking_date, clock)))
        else:
            answers.append(commands.BankAnswer(r.payout_id, "returned", r.bank_ref,
                                               returned_at=_settled_at(r.booking_date, clock),
                                               return_reason=r.return_reason))
    if answers:
        # A payout both settled and returned on this statement takes the returned answer (which settles it).
        last = {a.payment_id: a for a in answers}
        async with uow:
            states = {p.payment_id: p.state for p in await uow.payments.get_many(last)}
            for r in rec.resolutions:
                state = states.get(r.payout_id)
                if r.kind is not ResolutionKind.SETTLED_AT_BANK or state in (PaymentState.SUBMITTED,
                                                                           PaymentState.IN_DOUBT):
                    continue
                if state not in (PaymentState.SETTLED, PaymentState.RETURNED):
                    skipped.append(r.payout_id)  # settled at the bank, but moved on in the ledger meanwhile
                if r.payout_id in last and last[r.payout_id].state == "settled":
                    del last[r.payout_id]
            changed = set(await apply_answers(uow, list(last.values()), clock))
            settled = [r.payout_id for r in rec.resolutions
                       if r.kind is ResolutionKind.SETTLED_AT_BANK and r.payout_id in changed]
            await uow.commit()
    returned = rec.returned_ids()
    if returned:
        log.info("statement of %s for %s: %d payout(s) returned by the bank", fund_code, cmd.day.isoformat(),
                 len(returned))
    if skipped:
        log.warning("statement of %s for %s: %d payout(s) booked by the bank had moved on in the ledger; "
                    "left as they are", fund_code, cmd.day.isoformat(), len(skipped))
    return ReconcileResult(rec, settled, returned, skipped)

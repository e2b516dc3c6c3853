"""ReconcileFromBank (issue 8): the ledger fetches the bank's statement file of a fund and day
through its payment adapter, then reconciles it exactly as an uploaded one (ReconcileStatement).

The file is fetched and spooled to disk before any transaction is opened (the download may take
a while; nothing waits on the database meanwhile), then read by the statement readers as a
stream. ``fetch_statement(fund_code, day)`` is injected by bootstrap (adapters.statement_spool):
an async context manager giving (format, StatementFile) and deleting the file afterwards.
Reconciling again fetches the statement again and changes nothing that was already done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

from ledger_svc.service_layer import commands
from ledger_svc.service_layer.reconciliation import ReconcileResult, StatementReader
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay import fields
from skillpay.clock import Clock
from skillpay.errors import FieldViolation, Unavailable, require

# (fund_code, day) -> async context manager of (format, StatementFile)
StatementFetcher = Callable[[str, date], object]


def no_bank(fund_code: str, day: date):
    raise Unavailable("this ledger has no bank to fetch statements from")


async def reconcile_from_bank(cmd: commands.ReconcileFromBank, uow: LedgerUnitOfWork, clock: Clock,
                              statement_readers: Mapping[str, StatementReader],
                              fetch_statement: StatementFetcher, reconcile_statement: Callable) -> ReconcileResult:
    """F3, C7, X2: the bank's own statement file against the fund's payouts of the day.

    ``reconcile_statement`` is the ReconcileStatement handler (handlers.py), which does the rest."""
    violations: list[FieldViolation] = []
    fund_code = fields.FUND_CODE.check(cmd.fund_code, "fund_code", violations)
    if cmd.day is None:
        violations.append(FieldViolation("day", "is required (an Asia/Shanghai calendar day)"))
    elif not isinstance(cmd.day, date) or isinstance(cmd.day, datetime):
        violations.append(FieldViolation("day", "must be a calendar date"))
    require(violations)
    async with fetch_statement(fund_code, cmd.day) as (fmt, statement):
        return await reconcile_statement(
            commands.ReconcileStatement(actor=cmd.actor, fund_code=fund_code, day=cmd.day, format=fmt,
                                        content=statement),
            uow, clock, statement_readers)

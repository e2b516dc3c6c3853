"""The ledger's reports as queries (issue 8, "Queries and reports"): read-only, one snapshot each.

- ``trial_balance``: every account of the transfer engine; each fund's debits equal its credits
  and so do all funds together (F1), no account flagged against overdraft is overdrawn (F2).
- ``fund_statement``: a fund's statement for Asia/Shanghai days ``from_day``..``to_day``: the
  opening balances are its accounts as of the period's first midnight (recomputed from the
  transfers), the movements its transfers stamped in the period (plus the earlier pending
  transfers their posts and voids resolve), and the closing figures are checked against its
  accounts as of the midnight after the period (F2, F3). The pure work is
  ``ledger_svc.domain.reports``; the files are made from the result by the entrypoint's adapters.
- ``fund_chart``: the same period's figures per day, for the chart.

Periods are bounded (:data:`MAX_REPORT_DAYS`): a statement holds its period's transfers in memory.
Bad input is a client error naming every offending field, with the RPC's field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger_svc.domain import reports
from ledger_svc.domain.transfers import Account, Transfer
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay import fields
from skillpay.errors import FieldViolation, NotFound, require

# A statement or chart of more days than this is refused: a little over a year (a fiscal year
# compared with the one before needs two requests).
MAX_REPORT_DAYS = 400


@dataclass(frozen=True)
class StatementData:
    statement: reports.FundStatement
    transfers: list[Transfer]  # the period's transfers of the fund, in the order they were written
    opening_accounts: list[Account]
    pending_transfers: dict[str, Transfer]  # earlier pending transfers the period's posts and voids name


def check_period(fund_code: object, from_day: object, to_day: object,
                 violations: list[FieldViolation]) -> str:
    """The fund code, and the period's days (required, in order, at most MAX_REPORT_DAYS)."""
    code = fields.FUND_CODE.check(fund_code, "fund_code", violations)
    days_ok = True
    for name, value in (("from_day", from_day), ("to_day", to_day)):
        if value is None:
            violations.append(FieldViolation(name, "is required (an Asia/Shanghai calendar day)"))
            days_ok = False
        elif not isinstance(value, date) or isinstance(value, datetime):
            violations.append(FieldViolation(name, "must be a calendar date"))
            days_ok = False
    if days_ok:
        if to_day < from_day:
            violations.append(FieldViolation("to_day", "must not be before from_day"))
        elif (to_day - from_day).days + 1 > MAX_REPORT_DAYS:
            violations.append(FieldViolation("to_day", f"must be at most {MAX_REPORT_DAYS} days from from_day "
                                                       "(both included)"))
    return code


async def trial_balance(uow: LedgerUnitOfWork) -> reports.TrialBalance:
    """F1, F2: every fund balances, all funds together balance, nothing flagged is overdrawn."""
    async with uow:
        await uow.transfers.read_snapshot()
        accounts = await uow.transfers.all_accounts()
    return reports.trial_balance(accounts)


async def fund_statement(uow: LedgerUnitOfWork, fund_code: str, from_day: date | None,
                         to_day: date | None) -> StatementData:
    """F2, F3: opening, the period's movements, closing checked against the stored transfers."""
    violations: list[FieldViolation] = []
    fund_code = check_period(fund_code, from_day, to_day, violations)
    require(violations)
    starts_at, ends_at = reports.period_bounds(from_day, to_day)
    async with uow:
        await uow.transfers.read_snapshot()
        if await uow.funds.get(fund_code) is None:
            raise NotFound("fund not found")
        opening = await uow.transfers.accounts_before(fund_code, starts_at)
        period = await uow.transfers.ledger_transfers(fund_code, starts_at, ends_at)
        in_period = {t.id for t in period}
        named = {t.pending_id for t in period if t.pending_id and t.pending_id not in in_period}
        pendings = await uow.transfers.transfers_by_id(named) if named else {}
        closing = await uow.transfers.accounts_before(fund_code, ends_at)
    statement = reports.fund_statement(fund_code, from_day, to_day, opening, period, pending_transfers=pendings,
                                       closing_accounts=closing)
    return StatementData(statement, period, opening, pendings)


async def fund_chart(uow: LedgerUnitOfWork, fund_code: str, from_day: date | None,
                     to_day: date | None) -> list[reports.DayFigures]:
    """Per Shanghai day of the period: disbursed, in transit at the day's end, failed or released, returned."""
    data = await fund_statement(uow, fund_code, from_day, to_day)
    s = data.statement
    return reports.daily_series(data.transfers, s.period_start, s.period_end, fund=s.fund,
                                opening_in_transit=s.opening.in_transit, pending_transfers=data.pending_transfers)

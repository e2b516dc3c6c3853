from __future__ import annotations

from ledger_svc.domain import reports
from ledger_svc.domain import transfers as engine
from ledger_svc.domain.model import (
    Fund,
    FundBalances,
    FundType,
    JournalEntry,
    Payment,
    PaymentState,
)
from ledger_svc.domain.reconciliation import WHAT_TO_DO
from ledger_svc.service_layer.reconciliation import ReconcileResult
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.service_runtime import to_date, ts

FUND_TYPE = {t: getattr(pb, f"FUND_TYPE_{t.name}") for t in FundType}
FUND_TYPE_FROM_PB = {v: k for k, v in FUND_TYPE.items()}
PAYMENT_STATE = {s: getattr(pb, f"PAYMENT_STATE_{s.name}") for s in PaymentState}
PAYMENT_STATE_FROM_PB = {v: k for k, v in PAYMENT_STATE.items()}


def fund(f: Fund, b: FundBalances) -> pb.Fund:
    return pb.Fund(fund_code=f.fund_code, name=f.name, fund_type=FUND_TYPE[f.fund_type],
                   allocated_fen=b.allocated_fen, available_fen=b.available_fen, payable_fen=b.payable_fen,
                   disbursed_fen=b.disbursed_fen, created_at=ts(f.created_at), committed_fen=b.committed_fen,
                   in_transit_fen=b.in_transit_fen, returned_fen=b.returned_fen, recovered_fen=b.recovered_fen)


def entry(e: JournalEntry) -> pb.JournalEntry:
    return pb.JournalEntry(
        entry_id=e.entry_id, fund_code=e.fund_code, kind=e.kind, reference=e.reference, posted_at=ts(e.posted_at),
        postings=[pb.Posting(account=p.account, debit_fen=p.debit_fen, credit_fen=p.credit_fen) for p in e.postings])


def payment(p: Payment) -> pb.Payment:
    return pb.Payment(
        payment_id=p.payment_id, references=p.references, channel=p.channel,
        fund_code=p.fund_code, amount_fen=p.amount_fen, payee_name=p.payee.name, payee_id_masked=p.payee.id_masked,
        state=PAYMENT_STATE[p.state], bank_ref=p.bank_ref, failure_reason=p.failure_reason,
        created_at=ts(p.created_at), submitted_at=ts(p.submitted_at), settled_at=ts(p.settled_at),
        duplicate_requests=p.duplicate_requests)


# -- the transfer engine ------------------------------------------------------------------------
_FLAG_FIELDS = (("linked", engine.TransferFlags.LINKED), ("pending", engine.TransferFlags.PENDING),
                ("post_pending_transfer", engine.TransferFlags.POST_PENDING_TRANSFER),
                ("void_pending_transfer", engine.TransferFlags.VOID_PENDING_TRANSFER))
_CODES = {int(c): c for c in engine.TransferCode}
RESULT = {r: pb.TransferResult.Value(f"TRANSFER_RESULT_{r.name}") for r in engine.TransferResult}


def transfer_from_pb(m: pb.Transfer) -> engine.Transfer:
    """As sent; a code that is no TransferCode stays a number, for the handler to refuse."""
    flags = engine.TransferFlags.NONE
    for name, flag in _FLAG_FIELDS:
        if getattr(m, name):
            flags |= flag
    return engine.Transfer(m.id, m.debit_account_id, m.credit_account_id, m.amount, m.ledger,
                           _CODES.get(m.code, m.code), flags, m.pending_id, m.user_data)


def transfer(t: engine.Transfer, sequence: int = 0) -> pb.Transfer:
    return pb.Transfer(
        id=t.id, debit_account_id=t.debit_account_id, credit_account_id=t.credit_account_id, amount=t.amount,
        ledger=t.ledger, code=int(t.code), pending_id=t.pending_id, user_data=t.user_data, timestamp=ts(t.timestamp),
        sequence=sequence, **{name: bool(t.flags & flag) for name, flag in _FLAG_FIELDS})


def results(items) -> pb.CreateTransfersResponse:
    return pb.CreateTransfersResponse(results=[
        pb.TransferResultEntry(index=i, result=RESULT[r], result_name=r.value) for i, r in enumerate(items)])


def account(a: engine.Account) -> pb.Account:
    return pb.Account(
        id=a.id, ledger=a.ledger, role=a.role.value,
        debits_must_not_exceed_credits=bool(a.flags & engine.AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
        credits_must_not_exceed_debits=bool(a.flags & engine.AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
        debits_pending=a.debits_pending, debits_posted=a.debits_posted, credits_pending=a.credits_pending,
        credits_posted=a.credits_posted)


def balance(account_id: str, totals: tuple[int, int, int, int] | None) -> pb.AccountBalance | None:
    if totals is None:
        return None
    dp, dpo, cp, cpo = totals
    return pb.AccountBalance(account_id=account_id, debits_pending=dp, debits_posted=dpo, credits_pending=cp,
                             credits_posted=cpo)


def verification(differences, accounts_checked: int, transfers_checked: int) -> pb.VerifyLedgerResponse:
    return pb.VerifyLedgerResponse(
        differences=[pb.BalanceDifference(account_id=d.account_id, stored=balance(d.account_id, d.stored),
                                          recomputed=balance(d.account_id, d.recomputed)) for d in differences],
        accounts_checked=accounts_checked, transfers_checked=transfers_checked)


# -- reports and reconciliation (issue 8) ------------------------------------------------------
REPORT_FORMAT_FROM_PB = {pb.REPORT_FORMAT_CSV: "csv", pb.REPORT_FORMAT_XLSX: "xlsx"}
CHART_FORMAT_FROM_PB = {pb.CHART_FORMAT_UNSPECIFIED: "png", pb.CHART_FORMAT_PNG: "png", pb.CHART_FORMAT_SVG: "svg"}
STATEMENT_FORMAT_FROM_PB = {pb.STATEMENT_FORMAT_CSV: "csv", pb.STATEMENT_FORMAT_CAMT053: "camt053"}
# The unexplained items listed in a ReconcileResponse; the CSV report lists every one.
MAX_LISTED_ITEMS = 1000


def difference(d: reports.Difference) -> pb.ReportDifference:
    return pb.ReportDifference(rule=d.rule, kind=d.kind, ledger=d.ledger, account_id=d.account_id, amount=d.amount,
                               description=d.description)


def _ledger_totals(t: reports.LedgerTotals) -> pb.LedgerTotals:
    return pb.LedgerTotals(ledger=t.ledger, debits_posted=t.debits_posted, credits_posted=t.credits_posted,
                           debits_pending=t.debits_pending, credits_pending=t.credits_pending, balanced=t.balanced)


def trial_balance(tb: reports.TrialBalance) -> pb.GetTrialBalanceResponse:
    return pb.GetTrialBalanceResponse(
        accounts=[pb.TrialBalanceLine(account_id=b.account_id, ledger=b.ledger, role=b.role.value,
                                      debits_pending=b.debits_pending, debits_posted=b.debits_posted,
                                      credits_pending=b.credits_pending, credits_posted=b.credits_posted,
                                      balance=b.balance, pending=b.pending) for b in tb.accounts],
        funds=[_ledger_totals(t) for t in tb.ledgers], overall=_ledger_totals(tb.overall), balanced=tb.balanced,
        differences=[difference(d) for d in tb.differences])


def _position(p: reports.FundPosition) -> pb.FundPosition:
    return pb.FundPosition(funds_held=p.funds_held, appropriated=p.appropriated, available=p.available,
                           commitments=p.commitments, free_to_commit=p.free_to_commit, payables=p.payables,
                           in_transit=p.in_transit, disbursed=p.disbursed, returned=p.returned, recovered=p.recovered)


def fund_statement(s: reports.FundStatement) -> pb.FundStatement:
    m = s.movements
    return pb.FundStatement(
        fund_code=s.fund, from_day=to_date(s.period_start), to_day=to_date(s.period_end), starts_at=ts(s.starts_at),
        ends_at=ts(s.ends_at), opening=_position(s.opening), closing=_position(s.closing),
        movements=pb.FundMovements(
            appropriations=m.appropriations, commitments_created=m.commitments_created,
            commitments_posted=m.commitments_posted, commitments_released=m.commitments_released,
            submitted=m.submitted, disbursed=m.disbursed, failed=m.failed, released=m.released, returned=m.returned,
            recovered=m.recovered, other_held=m.other_held, other_in_transit=m.other_in_transit,
            other_count=m.other_count),
        by_code=[pb.CodeTotal(code=int(c.code), count=c.count, posted=c.posted, pending=c.pending, voided=c.voided)
                 for c in s.by_code],
        transfer_count=s.transfer_count, balanced=s.balanced, differences=[difference(d) for d in s.differences])


def file_chunk(piece) -> pb.FileChunk:
    return pb.FileChunk(file_name=piece.file_name, media_type=piece.media_type, data=piece.data, last=piece.last)


def day_figures(d: reports.DayFigures) -> pb.DayFigures:
    return pb.DayFigures(day=to_date(d.day), disbursed=d.disbursed, in_transit=d.in_transit, released=d.released,
                         returned=d.returned)


def reconcile_response(result: ReconcileResult, report_files) -> pb.ReconcileResponse:
    """The summary per category, the payouts resolved, the unexplained items with what to do, and
    the report files (CSV and PNG chart, made by ``report_files(reconciliation)``) as bytes."""
    rec = result.reconciliation
    items = []
    for f in rec.unexplained()[:MAX_LISTED_ITEMS]:
        payout, line = f.payout, f.line
        todo = WHAT_TO_DO[f.category]
        items.append(pb.UnexplainedItem(
            category=f.category.value, payment_id=f.payout_id,
            bank_ref=line.bank_ref if line is not None else (payout.bank_ref if payout is not None else ""),
            statement_line=line.line if line is not None else 0,
            ledger_amount_fen=payout.amount_fen if payout is not None else 0,
            statement_amount_fen=line.amount_fen if line is not None else 0,
            has_ledger=payout is not None, has_statement=line is not None,
            ledger_state=payout.state if payout is not None else "", what_to_do_zh=todo.zh, what_to_do_en=todo.en))
    report_csv, report_chart = report_files(rec)
    return pb.ReconcileResponse(
        fund_code=rec.fund_code, day=to_date(rec.day),
        summary=[pb.ReconcileCategory(category=c.value, explained=c.explained, count=s.count,
                                      ledger_amount_fen=s.ledger_fen, statement_amount_fen=s.statement_fen)
                 for c, s in rec.summary().items()],
        settled_payment_ids=result.settled_ids, returned_payment_ids=result.returned_ids,
        skipped_payment_ids=result.skipped_ids, unexplained_count=result.unexplained, unexplained=items,
        other_fund_lines=rec.other_fund_lines, other_day_lines=rec.other_day_lines,
        report_csv=file_chunk(report_csv), report_chart=file_chunk(report_chart))

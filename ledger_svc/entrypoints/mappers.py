from __future__ import annotations

from ledger_svc.domain import transfers as engine
from ledger_svc.domain.model import (
    Fund,
    FundBalances,
    FundType,
    JournalEntry,
    Payment,
    PaymentState,
)
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.service_runtime import ts

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

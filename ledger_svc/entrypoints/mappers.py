from __future__ import annotations

from ledger_svc.domain.model import Fund, FundBalances, FundType, JournalEntry, Payment, PaymentState
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.service_runtime import ts

FUND_TYPE = {t: getattr(pb, f"FUND_TYPE_{t.name}") for t in FundType}
FUND_TYPE_FROM_PB = {v: k for k, v in FUND_TYPE.items()}
PAYMENT_STATE = {s: getattr(pb, f"PAYMENT_STATE_{s.name}") for s in PaymentState}
PAYMENT_STATE_FROM_PB = {v: k for k, v in PAYMENT_STATE.items()}


def fund(f: Fund, b: FundBalances) -> pb.Fund:
    return pb.Fund(fund_code=f.fund_code, name=f.name, fund_type=FUND_TYPE[f.fund_type],
                   allocated_fen=b.allocated_fen, available_fen=b.available_fen, payable_fen=b.payable_fen,
                   disbursed_fen=b.disbursed_fen, created_at=ts(f.created_at))


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

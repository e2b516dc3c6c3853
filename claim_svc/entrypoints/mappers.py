from __future__ import annotations

from claim_svc.domain.model import Claim, ClaimKind, ClaimState, LineState, PayeeKind
from skillpay.claim.v1 import claim_pb2 as pb
from skillpay.service_runtime import ts

CLAIM_STATE = {s: getattr(pb, f"CLAIM_STATE_{s.name}") for s in ClaimState}
CLAIM_STATE_FROM_PB = {v: k for k, v in CLAIM_STATE.items()}
CLAIM_KIND = {k: getattr(pb, f"CLAIM_KIND_{k.name}") for k in ClaimKind}
PAYEE_KIND = {k: getattr(pb, f"PAYEE_KIND_{k.name}") for k in PayeeKind}
LINE_STATE = {s: getattr(pb, f"CLAIM_LINE_STATE_{s.name}") for s in LineState}


def claim(c: Claim) -> pb.Claim:
    return pb.Claim(
        claim_id=c.claim_id, kind=CLAIM_KIND[c.kind], voucher_id=c.voucher_id, payee_kind=PAYEE_KIND[c.payee.kind],
        payee_name=c.payee.name, payee_id_masked=c.payee.id_masked, institution_id=c.institution_id,
        occupation_code=c.occupation_code, level=c.level, amount_fen=c.amount_fen, fund_source=c.fund_source,
        state=CLAIM_STATE[c.state], payment_id=c.payment_id or "", failure_reason=c.failure_reason or "",
        created_at=ts(c.created_at), approved_at=ts(c.approved_at), paid_at=ts(c.paid_at), standard_fen=c.standard_fen,
        lines=[pb.ClaimLine(line_id=line.line_id, kind=line.kind.value, amount_fen=line.amount_fen,
                            state=LINE_STATE[line.state], payout_request_id=line.payout_request_id,
                            attempt=line.attempt, failure_reason=line.failure_reason, rule=line.rule,
                            rate_percent=line.rate_percent) for line in c.lines],
    )

from __future__ import annotations

from claim_svc.domain.model import Claim, ClaimKind, ClaimState, PayeeKind
from skillpay.claim.v1 import claim_pb2 as pb
from skillpay.service_runtime import ts

CLAIM_STATE = {s: getattr(pb, f"CLAIM_STATE_{s.name}") for s in ClaimState}
CLAIM_STATE_FROM_PB = {v: k for k, v in CLAIM_STATE.items()}
CLAIM_KIND = {k: getattr(pb, f"CLAIM_KIND_{k.name}") for k in ClaimKind}
PAYEE_KIND = {k: getattr(pb, f"PAYEE_KIND_{k.name}") for k in PayeeKind}


def claim(c: Claim) -> pb.Claim:
    return pb.Claim(
        claim_id=c.claim_id, kind=CLAIM_KIND[c.kind], voucher_id=c.voucher_id, payee_kind=PAYEE_KIND[c.payee.kind],
        payee_name=c.payee.name, payee_id_masked=c.payee.id_masked, institution_id=c.institution_id,
        occupation_code=c.occupation_code, level=c.level, amount_fen=c.amount_fen, fund_source=c.fund_source,
        state=CLAIM_STATE[c.state], payment_id=c.payment_id or "", failure_reason=c.failure_reason or "",
        created_at=ts(c.created_at), approved_at=ts(c.approved_at), paid_at=ts(c.paid_at),
    )

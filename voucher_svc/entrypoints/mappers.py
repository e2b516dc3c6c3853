"""Domain objects to protobuf messages and back (the only place the two meet)."""

from __future__ import annotations

from skillpay.service_runtime import to_date, ts
from skillpay.voucher.v1 import voucher_pb2 as pb
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    InstitutionStatus,
    Occupation,
    PayoutStatus,
    Voucher,
    VoucherState,
)

VOUCHER_STATE = {s: getattr(pb, f"VOUCHER_STATE_{s.name}") for s in VoucherState}
VOUCHER_STATE_FROM_PB = {v: k for k, v in VOUCHER_STATE.items()}
CERT_TYPE = {t: getattr(pb, f"CERTIFICATE_TYPE_{t.name}") for t in CertificateType}
CERT_TYPE_FROM_PB = {v: k for k, v in CERT_TYPE.items()}
PAYOUT_STATUS = {s: getattr(pb, f"PAYOUT_STATUS_{s.name}", pb.PAYOUT_STATUS_UNSPECIFIED) for s in PayoutStatus}
INSTITUTION_STATUS = {s: getattr(pb, f"INSTITUTION_STATUS_{s.name}") for s in InstitutionStatus}


def occupation(o: Occupation) -> pb.Occupation:
    return pb.Occupation(code=o.code, name=o.name, level=o.level, subsidy_standard_fen=o.subsidy_standard_fen,
                         new_occupation=o.new_occupation, created_at=ts(o.created_at))


def institution(i: Institution) -> pb.Institution:
    return pb.Institution(institution_id=i.institution_id, name=i.name, credit_code=i.credit_code,
                          address=i.address, occupation_codes=i.occupation_codes,
                          status=INSTITUTION_STATUS[i.status], created_at=ts(i.created_at))


def voucher(v: Voucher) -> pb.Voucher:
    return pb.Voucher(
        voucher_id=v.voucher_id, holder_name=v.holder.name, holder_id_masked=v.holder.id_masked,
        occupation_code=v.occupation_code, level=v.level, fund_source=v.fund_source, batch_id=v.batch_id,
        state=VOUCHER_STATE[v.state], institution_id=v.institution_id or "", certificate_id=v.certificate_id or "",
        value_fen=v.value_fen, issued_at=ts(v.issued_at), valid_until=ts(v.valid_until),
        enrolled_at=ts(v.enrolled_at), redeemed_at=ts(v.redeemed_at), paid_at=ts(v.paid_at),
        payment_id=v.payment_id or "", real_person_verified=v.real_person_verified,
        payout_status=PAYOUT_STATUS[v.payout_status], payout_failure_reason=v.payout_failure_reason,
        redemption_no=v.redemption_no, redemption_id=v.redemption_id, state_reason=v.state_reason,
        ended_at=ts(v.ended_at), recovery_due_fen=v.recovery_due_fen,
    )


def certificate(c: Certificate) -> pb.Certificate:
    return pb.Certificate(
        certificate_id=c.certificate_id, certificate_number=c.certificate_number,
        certificate_type=CERT_TYPE[c.certificate_type], holder_name=c.holder.name,
        holder_id_masked=c.holder.id_masked, occupation_code=c.occupation_code, level=c.level,
        issued_on=to_date(c.issued_on), redeemed_voucher_id=c.redeemed_voucher_id or "",
        recorded_at=ts(c.recorded_at),
    )

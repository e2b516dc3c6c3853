"""Domain objects to protobuf messages and back (the only place the two meet)."""

from __future__ import annotations

from skillpay.service_runtime import to_date, ts
from skillpay.voucher.v1 import voucher_pb2 as pb
from voucher_svc.domain.batch import Batch, BatchMode, ChunkProgress
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    InstitutionStatus,
    Occupation,
    PayoutStatus,
    Voucher,
    VoucherKind,
    VoucherState,
)

VOUCHER_STATE = {s: getattr(pb, f"VOUCHER_STATE_{s.name}") for s in VoucherState}
VOUCHER_STATE_FROM_PB = {v: k for k, v in VOUCHER_STATE.items()}
CERT_TYPE = {t: getattr(pb, f"CERTIFICATE_TYPE_{t.name}") for t in CertificateType}
CERT_TYPE_FROM_PB = {v: k for k, v in CERT_TYPE.items()}
PAYOUT_STATUS = {s: getattr(pb, f"PAYOUT_STATUS_{s.name}", pb.PAYOUT_STATUS_UNSPECIFIED) for s in PayoutStatus}
VOUCHER_KIND = {k: getattr(pb, f"VOUCHER_KIND_{k.name}") for k in VoucherKind}
VOUCHER_KIND_FROM_PB = {v: k for k, v in VOUCHER_KIND.items()}
BATCH_MODE = {m: getattr(pb, f"BATCH_MODE_{m.name}") for m in BatchMode}
BATCH_MODE_FROM_PB = {v: k for k, v in BATCH_MODE.items()}
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
        occupation_code=v.occupation_code or "", level=v.level or 0, fund_source=v.fund_source, batch_id=v.batch_id,
        state=VOUCHER_STATE[v.state], institution_id=v.institution_id or "", certificate_id=v.certificate_id or "",
        value_fen=v.value_fen, issued_at=ts(v.issued_at), valid_until=ts(v.valid_until),
        enrolled_at=ts(v.enrolled_at), redeemed_at=ts(v.redeemed_at), paid_at=ts(v.paid_at),
        payment_id=v.payment_id or "", real_person_verified=v.real_person_verified,
        payout_status=PAYOUT_STATUS[v.payout_status], payout_failure_reason=v.payout_failure_reason,
        kind=VOUCHER_KIND[v.kind], bound_institution_id=v.bound_institution_id or "", valid_from=ts(v.valid_from),
    )


def batch(b: Batch) -> pb.Batch:
    return pb.Batch(
        batch_id=b.batch_id, fund_source=b.fund_source, valid_from=ts(b.valid_from), valid_until=ts(b.valid_until),
        kind=VOUCHER_KIND[b.kind], occupation_code=b.occupation_code or "", level=b.level or 0,
        institution_id=b.institution_id or "", mode=BATCH_MODE[b.mode], quota=b.quota,
        issued_count=b.issued_count, rejected_count=b.rejected_count, created_at=ts(b.created_at),
    )


def batch_progress(p: ChunkProgress) -> pb.BatchProgress:
    return pb.BatchProgress(
        batch_id=p.batch_id, chunk_no=p.chunk_no, issued_in_chunk=p.issued_in_chunk,
        rejected_in_chunk=p.rejected_in_chunk, issued_total=p.issued_total, rejected_total=p.rejected_total,
        rejections=[pb.RowRejection(row=r.row, field=r.field, description=r.description) for r in p.rejections],
    )


def certificate(c: Certificate) -> pb.Certificate:
    return pb.Certificate(
        certificate_id=c.certificate_id, certificate_number=c.certificate_number,
        certificate_type=CERT_TYPE[c.certificate_type], holder_name=c.holder.name,
        holder_id_masked=c.holder.id_masked, occupation_code=c.occupation_code, level=c.level,
        issued_on=to_date(c.issued_on), redeemed_voucher_id=c.redeemed_voucher_id or "",
        recorded_at=ts(c.recorded_at),
    )

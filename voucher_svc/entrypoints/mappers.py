"""Domain objects to protobuf messages and back (the only place the two meet)."""

from __future__ import annotations

from skillpay.service_runtime import to_date, ts
from skillpay.voucher.v1 import voucher_pb2 as pb
from voucher_svc.domain.batch import Batch, BatchMode, ChunkProgress
from voucher_svc.domain.employment import EmploymentRecord, EmploymentSource
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    InstitutionNature,
    InstitutionStatus,
    Occupation,
    PayoutStatus,
    Voucher,
    VoucherKind,
    VoucherState,
    top_up_id_for,
)
from voucher_svc.domain.person import HardshipGroup, Person
from voucher_svc.domain.presentation import IssuedPresentation

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
INSTITUTION_STATUS_FROM_PB = {v: k for k, v in INSTITUTION_STATUS.items()}
INSTITUTION_NATURE = {n: getattr(pb, f"INSTITUTION_NATURE_{n.name}") for n in InstitutionNature}
INSTITUTION_NATURE_FROM_PB = {v: k for k, v in INSTITUTION_NATURE.items()}
HARDSHIP_GROUP = {g: getattr(pb, f"HARDSHIP_GROUP_{g.name}") for g in HardshipGroup}
HARDSHIP_GROUP_FROM_PB = {v: k for k, v in HARDSHIP_GROUP.items()}
EMPLOYMENT_SOURCE = {s: getattr(pb, f"EMPLOYMENT_SOURCE_{s.name}") for s in EmploymentSource}
EMPLOYMENT_SOURCE_FROM_PB = {v: k for k, v in EMPLOYMENT_SOURCE.items()}


def occupation(o: Occupation) -> pb.Occupation:
    return pb.Occupation(code=o.code, name=o.name, level=o.level, subsidy_standard_fen=o.subsidy_standard_fen,
                         new_occupation=o.new_occupation, created_at=ts(o.created_at),
                         min_class_hours=o.min_class_hours, practical_oriented=o.practical_oriented, region=o.region,
                         effective_from=to_date(o.effective_from), effective_to=to_date(o.effective_to),
                         version=o.version)


def institution(i: Institution, account_visible: bool = True) -> pb.Institution:
    """``account_visible`` False: the account number masked to its last 4 digits (queries.shows_bank_account)."""
    account = i.bank_account
    number = account.account_number if account and account_visible else (
        "*" * max(len(account.account_number) - 4, 0) + account.account_number[-4:] if account else "")
    return pb.Institution(institution_id=i.institution_id, name=i.name, credit_code=i.credit_code,
                          address=i.address, occupation_codes=i.occupation_codes,
                          status=INSTITUTION_STATUS[i.status], created_at=ts(i.created_at),
                          nature=INSTITUTION_NATURE[i.nature], region=i.region,
                          bank_account=pb.BankAccount(account_number=number,
                                                      account_name=account.account_name,
                                                      bank_code=account.bank_code) if account else None,
                          status_reason=i.status_reason, status_changed_at=ts(i.status_changed_at))


def bank_account(request_account: pb.BankAccount) -> tuple[str, str, str]:
    return request_account.account_number, request_account.account_name, request_account.bank_code


def voucher(v: Voucher) -> pb.Voucher:
    return pb.Voucher(
        voucher_id=v.voucher_id, holder_name=v.holder.name, holder_id_masked=v.holder.id_masked,
        occupation_code=v.occupation_code or "", level=v.level or 0, fund_source=v.fund_source, batch_id=v.batch_id,
        state=VOUCHER_STATE[v.state], institution_id=v.institution_id or "", certificate_id=v.certificate_id or "",
        value_fen=v.value_fen, issued_at=ts(v.issued_at), valid_until=ts(v.valid_until),
        enrolled_at=ts(v.enrolled_at), redeemed_at=ts(v.redeemed_at), paid_at=ts(v.paid_at),
        payment_id=v.payment_id or "", real_person_verified=v.real_person_verified,
        payout_status=PAYOUT_STATUS[v.payout_status], payout_failure_reason=v.payout_failure_reason,
        rate_percent=v.rate_percent, valuation_rule=v.valuation_rule, standard_fen=v.standard_fen,
        employment_window_start=to_date(v.employment_window_start),
        employment_window_end=to_date(v.employment_window_end), topped_up_fen=v.topped_up_fen,
        topped_up_at=ts(v.topped_up_at),
        top_up_id=top_up_id_for(v.voucher_id, v.certificate_id or "", v.redemption_no) if v.topped_up_fen else "",
        redemption_no=v.redemption_no, redemption_id=v.redemption_id, state_reason=v.state_reason,
        ended_at=ts(v.ended_at), recovery_due_fen=v.recovery_due_fen,
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
        recorded_at=ts(c.recorded_at), issuer=c.issuer,
    )


def person(p: Person, resident_id: str = "") -> pb.Person:
    """``resident_id`` only for the person themself (service_layer/queries.py decides)."""
    return pb.Person(name=p.name, id_masked=p.id_masked, resident_id=resident_id,
                     hardship_groups=sorted(HARDSHIP_GROUP[g] for g in p.hardship_groups),
                     hardship_effective_from=to_date(p.hardship_effective_from))


def presentation(t: IssuedPresentation) -> pb.PresentationToken:
    return pb.PresentationToken(token=t.token, voucher_id=t.voucher_id, expires_at=ts(t.expires_at), qr_png=t.qr_png)


def employment(e: EmploymentRecord) -> pb.EmploymentRecord:
    return pb.EmploymentRecord(
        employment_id=e.employment_id, person_name=e.person.name, person_id_masked=e.person.id_masked,
        employer_credit_code=e.employer_credit_code, employer_name=e.employer_name,
        start_date=to_date(e.start_date), source=EMPLOYMENT_SOURCE[e.source], recorded_by=e.recorded_by,
        recorded_at=ts(e.recorded_at))

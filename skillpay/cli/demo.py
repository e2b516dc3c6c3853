"""Drives the thin path for a batch of vouchers against a running stack, over real gRPC.

issue -> present (the holder's app, V2) -> enrol -> record certificate (an evaluation body, V3) ->
record employment -> redeem (voucher_svc; the job makes the voucher worth its whole standard, A2);
then Kafka carries the voucher
through claim_svc and ledger_svc to the bank and back, and we wait until every voucher is paid.
Shared by ``skillpay demo``, the end-to-end tests and ``bench/thin_path.py``.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
import uuid
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2

from skillpay.cli import sample_data
from skillpay.actors import ActorKind
from skillpay.auth import Identity, TokenIssuer, authenticated_channel
from skillpay.claim.v1 import claim_pb2, claim_pb2_grpc
from skillpay.clock import shanghai_date, utcnow
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.pii import person_subject
from skillpay.voucher.v1 import voucher_pb2, voucher_pb2_grpc

OCCUPATION_CODE = "6-31-01-03"  # 电工 (electrician), level 4
OCCUPATION_LEVEL = 4
STANDARD_FEN = 150_000  # 1,500 yuan


@dataclass
class Clients:
    voucher: voucher_pb2_grpc.VoucherServiceStub
    claim: claim_pb2_grpc.ClaimServiceStub
    ledger: ledger_pb2_grpc.LedgerServiceStub
    channels: list

    issuer: TokenIssuer
    lookup_key: bytes  # names a worker's PERSON identity (skillpay.pii.person_subject), as the gateway will
    institutions: dict[str, Identity] = field(default_factory=dict)
    evaluation_body: Identity | None = None

    @classmethod
    def connect(cls, voucher_addr: str, claim_addr: str, ledger_addr: str, issuer: TokenIssuer,
                lookup_key: bytes) -> "Clients":
        """The bureau's staff at each service: catalogue admin, claim reviewer, finance."""
        chans = [authenticated_channel(voucher_addr, Identity(issuer, ActorKind.ADMIN, "demo-admin")),
                 authenticated_channel(claim_addr, Identity(issuer, ActorKind.REVIEWER, "demo-reviewer")),
                 authenticated_channel(ledger_addr, Identity(issuer, ActorKind.FINANCE, "demo-finance"))]
        return cls(voucher_pb2_grpc.VoucherServiceStub(chans[0]), claim_pb2_grpc.ClaimServiceStub(chans[1]),
                   ledger_pb2_grpc.LedgerServiceStub(chans[2]), chans, issuer, lookup_key)

    def as_institution(self, institution_id: str) -> tuple[tuple[str, str], ...]:
        """Call metadata for acting as a training institution (enrolment, redemption)."""
        if institution_id not in self.institutions:
            self.institutions[institution_id] = Identity(self.issuer, ActorKind.INSTITUTION, institution_id)
        return self.institutions[institution_id].metadata()

    def as_person(self, resident_id: str) -> tuple[tuple[str, str], ...]:
        """Call metadata for a worker's app (V2: only the holder presents a voucher)."""
        return Identity(self.issuer, ActorKind.PERSON, person_subject(resident_id, self.lookup_key)).metadata()

    def as_evaluation_body(self) -> tuple[tuple[str, str], ...]:
        """Call metadata for the skill evaluation body that records certificates (V3)."""
        if self.evaluation_body is None:
            self.evaluation_body = Identity(self.issuer, ActorKind.EVALUATION_BODY, "demo-evaluation-body")
        return self.evaluation_body.metadata()

    async def close(self) -> None:
        for c in self.channels:
            await c.close()


@dataclass
class DemoReport:
    vouchers: list[str]
    elapsed_s: float
    redeem_elapsed_s: float
    voucher_states: Counter
    claim_states: Counter
    payment_states: Counter
    funds: list
    lags_s: list[float] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return self.voucher_states.get("VOUCHER_STATE_PAID", 0)


def _rid() -> str:
    return uuid.uuid4().hex


async def _tolerate_exists(call):
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        return None


async def prepare(clients: Clients, fund_code: str, budget_fen: int) -> str:
    """Catalogue entries, a fund with enough budget, and a fresh institution; returns its id."""
    await _tolerate_exists(clients.voucher.RegisterOccupation(voucher_pb2.RegisterOccupationRequest(
        request_id=_rid(), code=OCCUPATION_CODE, name="电工", level=OCCUPATION_LEVEL,
        subsidy_standard_fen=STANDARD_FEN)))
    await _tolerate_exists(clients.ledger.OpenFund(ledger_pb2.OpenFundRequest(
        request_id=_rid(), fund_code=fund_code, name="就业补助资金 (demo)",
        fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY)))
    await clients.ledger.AllocateBudget(ledger_pb2.AllocateBudgetRequest(
        request_id=_rid(), fund_code=fund_code, amount_fen=budget_fen, memo="demo budget"))
    institution = await clients.voucher.RegisterInstitution(voucher_pb2.RegisterInstitutionRequest(
        request_id=_rid(), name="示范职业培训学校", credit_code=sample_data.credit_code(), address="北京市朝阳区",
        occupation_codes=[OCCUPATION_CODE]))
    return institution.institution_id


# Resident IDs each run (each rng) has used: every demo voucher is one person's first subsidy, so
# no drawn twin trips the repeat limits (L2: same occupation and level only once).
_PERSONS_USED: "weakref.WeakKeyDictionary[random.Random, set[str]]" = weakref.WeakKeyDictionary()


def _new_person(rng: random.Random) -> tuple[str, str]:
    used = _PERSONS_USED.setdefault(rng, set())
    while (resident_id := sample_data.resident_id(rng)) in used:
        pass
    used.add(resident_id)
    return resident_id, sample_data.person_name(rng)


# Made-up persons drawn for one voucher before giving up (see redeem_one).
PERSON_DRAWS = 20


async def record_employment(clients: Clients, institution_id: str, resident_id: str, name: str, start: date,
                            employer_credit_code: str = "") -> voucher_pb2.EmploymentRecord:
    """The institution records that its trainee found a job (a labour contract from ``start``)."""
    return await clients.voucher.RecordEmployment(voucher_pb2.RecordEmploymentRequest(
        request_id=_rid(), resident_id=resident_id, name=name,
        employer_credit_code=employer_credit_code or sample_data.credit_code(),
        employer_name="示范电力安装有限公司", start_date=date_pb2.Date(year=start.year, month=start.month, day=start.day),
        source=voucher_pb2.EMPLOYMENT_SOURCE_LABOUR_CONTRACT), metadata=clients.as_institution(institution_id))


async def redeem_one(clients: Clients, institution_id: str, fund_code: str, rng: random.Random,
                     employed: bool = True, persons: dict[str, tuple[str, str]] | None = None) -> str:
    """One voucher from issue to redemption; every call carries its own request id.

    ``employed``: the trainee's job (starting on the certificate date) is recorded before the
    redemption, so the voucher is worth the whole standard (A2); without it, a skill-level
    certificate is worth 80% (A3). ``persons`` (if given) learns the voucher's holder
    (resident ID, name), e.g. to record their employment later (A5).
    """
    valid_until = Timestamp()
    valid_until.FromDatetime(datetime.now(timezone.utc) + timedelta(days=365))
    as_institution = clients.as_institution(institution_id)
    for draw in range(PERSON_DRAWS):
        resident_id, name = _new_person(rng)
        voucher = await clients.voucher.IssueVoucher(voucher_pb2.IssueVoucherRequest(
            request_id=_rid(), resident_id=resident_id, name=name, occupation_code=OCCUPATION_CODE,
            level=OCCUPATION_LEVEL, fund_source=fund_code, batch_id="demo", valid_until=valid_until))
        # V2: the holder's app gets a token (its QR code) and the institution enrols with it.
        presented = await clients.voucher.CreatePresentationToken(voucher_pb2.CreatePresentationTokenRequest(
            request_id=_rid(), voucher_id=voucher.voucher_id), metadata=clients.as_person(resident_id))
        try:
            await clients.voucher.EnrolVoucher(voucher_pb2.EnrolVoucherRequest(
                request_id=_rid(), voucher_id=voucher.voucher_id, institution_id=institution_id,
                real_person_verified=True, presentation_token=presented.token), metadata=as_institution)
            break
        except grpc.aio.AioRpcError as exc:
            # A person an earlier demo run on this data already subsidised: the repeat limits
            # (L2, L4) refuse them, as they should; the demo draws someone else.
            if exc.code() is not grpc.StatusCode.FAILED_PRECONDITION or draw == PERSON_DRAWS - 1:
                raise
    today = shanghai_date(utcnow())  # the certificate's date is a Shanghai calendar day
    certificate = await clients.voucher.RecordCertificate(voucher_pb2.RecordCertificateRequest(
        request_id=_rid(), resident_id=resident_id, name=name,
        certificate_number=sample_data.skill_level_certificate_number(OCCUPATION_LEVEL, today),
        certificate_type=voucher_pb2.CERTIFICATE_TYPE_SKILL_LEVEL, occupation_code=OCCUPATION_CODE,
        level=OCCUPATION_LEVEL, issued_on=date_pb2.Date(year=today.year, month=today.month, day=today.day)),
        metadata=clients.as_evaluation_body())
    if employed:
        await record_employment(clients, institution_id, resident_id, name, today)
    if persons is not None:
        persons[voucher.voucher_id] = (resident_id, name)
    await clients.voucher.RedeemVoucher(voucher_pb2.RedeemVoucherRequest(
        request_id=_rid(), voucher_id=voucher.voucher_id, certificate_id=certificate.certificate_id),
        metadata=as_institution)
    return voucher.voucher_id


async def wait_paid(clients: Clients, voucher_ids: list[str], timeout_s: float, on_paid=None,
                    poll_s: float = 0.2) -> dict[str, voucher_pb2.Voucher]:
    """Poll until every voucher is paid (or the timeout); returns the last state of each."""
    last: dict[str, voucher_pb2.Voucher] = {}
    open_ids = list(voucher_ids)
    deadline = time.monotonic() + timeout_s
    while open_ids and time.monotonic() < deadline:
        replies = []
        for start in range(0, len(open_ids), 200):  # bounded: thousands in flight get cancelled
            replies += await asyncio.gather(*[clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=v))
                                              for v in open_ids[start:start + 200]])
        still = []
        for reply in replies:
            last[reply.voucher_id] = reply
            if reply.state == voucher_pb2.VOUCHER_STATE_PAID:
                if on_paid:
                    on_paid()
            else:
                still.append(reply.voucher_id)
        open_ids = still
        if open_ids:
            await asyncio.sleep(poll_s)
    return last


async def _all_pages(method, request, field_name: str) -> list:
    items, token = [], ""
    while True:
        request.page_token = token
        reply = await method(request)
        items += list(getattr(reply, field_name))
        token = reply.next_page_token
        if not token:
            return items


async def _claims_caught_up(clients: Clients, paid_ids: set[str], final: dict, timeout_s: float) -> list:
    deadline = time.monotonic() + timeout_s
    while True:
        claims = [c for c in await _all_pages(clients.claim.ListClaims, claim_pb2.ListClaimsRequest(page_size=500),
                                              "claims") if c.voucher_id in final]
        paid_claims = {c.voucher_id for c in claims if c.state == claim_pb2.CLAIM_STATE_PAID}
        if paid_ids <= paid_claims or time.monotonic() > deadline:
            return claims
        await asyncio.sleep(0.2)


async def run_batch(clients: Clients, count: int, *, fund_code: str = "ESF-DEMO", concurrency: int = 16,
                    timeout_s: float = 300, progress=None, seed: int | None = None,
                    on_redeemed=None) -> DemoReport:
    """Drive ``count`` vouchers through the thin path and report what happened."""
    rng = random.Random(seed if seed is not None else secrets.randbits(64))
    started = time.monotonic()
    institution_id = await prepare(clients, fund_code, count * STANDARD_FEN)
    limit = asyncio.Semaphore(concurrency)
    redeemed: list[str] = []

    async def one() -> None:
        async with limit:
            redeemed.append(await redeem_one(clients, institution_id, fund_code, rng))
            if progress:
                progress("redeemed")
            if on_redeemed:
                await on_redeemed(len(redeemed))

    await asyncio.gather(*[one() for _ in range(count)])
    redeem_elapsed = time.monotonic() - started
    final = await wait_paid(clients, redeemed, timeout_s, on_paid=(lambda: progress("paid")) if progress else None)
    elapsed = time.monotonic() - started

    # The claim service learns of each payment from the same event; give it a moment to catch up.
    paid_ids = {v for v, reply in final.items() if reply.state == voucher_pb2.VOUCHER_STATE_PAID}
    claims = await _claims_caught_up(clients, paid_ids, final, timeout_s=10)
    lags = []
    for v in final.values():
        if v.state == voucher_pb2.VOUCHER_STATE_PAID:
            lags.append((v.paid_at.ToDatetime() - v.redeemed_at.ToDatetime()).total_seconds())
    payments = [p for p in await _all_pages(clients.ledger.ListPayments, ledger_pb2.ListPaymentsRequest(page_size=500),
                                            "payments") if p.references.get("voucher_id") in final]
    funds = await _all_pages(clients.ledger.ListFunds, ledger_pb2.ListFundsRequest(page_size=100), "funds")
    return DemoReport(
        vouchers=redeemed, elapsed_s=elapsed, redeem_elapsed_s=redeem_elapsed,
        voucher_states=Counter(voucher_pb2.VoucherState.Name(v.state) for v in final.values()),
        claim_states=Counter(claim_pb2.ClaimState.Name(c.state) for c in claims),
        payment_states=Counter(ledger_pb2.PaymentState.Name(p.state) for p in payments),
        funds=funds, lags_s=lags)

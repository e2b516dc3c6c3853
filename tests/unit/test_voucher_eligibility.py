"""L1-L4 as voucher_svc's handlers enforce them (fake unit of work, real bus), and as a property:
no sequence of enrolments, redemptions, failed and retried commands and rollbacks ends with a
person over a limit."""

from __future__ import annotations

import random
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.cli.sample_data import credit_code, resident_id, skill_level_certificate_number
from skillpay.clock import FixedClock, shanghai_date
from skillpay.errors import FailedPrecondition
from skillpay.pii import PiiVault
from tests.fakes import FakeCertificateRepository, FakeFundDirectory, FakeVoucherUnitOfWork
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.model import CertificateType, VoucherState
from voucher_svc.service_layer import commands

pytestmark = pytest.mark.unit

START = datetime(2025, 1, 6, 2, 0, tzinfo=timezone.utc)
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
RID = resident_id(random.Random(7))
CODES = ["1-01-01-01", "2-02-02-02", "3-03-03-03", "4-04-04-04", "5-05-05-05"]


class World:
    """One person, a catalogue of occupations at levels 3-5, one institution; commands go through the bus."""

    def __init__(self, uow_class=FakeVoucherUnitOfWork):
        self.clock = FixedClock(START)
        self.uows = uow_class.factory(self.clock)
        self.db = self.uows.db
        self.bus = bootstrap(self.uows, VAULT, FakeFundDirectory({"esf"}), clock=self.clock)
        self.numbers = 0

    async def setup(self):
        for code in CODES:
            for level in (3, 4, 5):
                await self.bus.handle(commands.RegisterOccupation(actor=ADMIN, code=code, name="电工", level=level,
                                                                  subsidy_standard_fen=100_000,
                                                                  effective_from=date(2020, 1, 1)))
        ins = await self.bus.handle(commands.RegisterInstitution(
            actor=ADMIN, name="蓝天职业培训学校", credit_code=credit_code(random.Random(1)), address="北京",
            occupation_codes=tuple(CODES)))
        self.institution = Actor(ActorKind.INSTITUTION, ins.institution_id)
        return self

    async def issue(self, code, level):
        return await self.bus.handle(commands.IssueVoucher(
            actor=ADMIN, resident_id=RID, name="张三", occupation_code=code, level=level, fund_source="esf",
            batch_id="b", valid_until=self.clock.now() + timedelta(days=3 * 366)))

    async def present(self, voucher_id) -> str:
        """V2: the holder's app gets a presentation token (the only person here holds every voucher)."""
        issued = await self.bus.handle(commands.CreatePresentationToken(
            actor=Actor(ActorKind.PERSON, VAULT.lookup_hash(RID)), voucher_id=voucher_id))
        return issued.token

    async def enrol(self, voucher_id, token: str | None = None):
        return await self.bus.handle(commands.EnrolVoucher(actor=self.institution, voucher_id=voucher_id,
                                                           institution_id=self.institution.subject,
                                                           real_person_verified=True,
                                                           presentation_token=token or await self.present(voucher_id)))

    async def certificate(self, code, level, issued_on):
        self.numbers += 1
        return await self.bus.handle(commands.RecordCertificate(
            actor=ADMIN, resident_id=RID, name="张三",
            certificate_number=skill_level_certificate_number(level, issued_on, self.numbers),
            certificate_type=CertificateType.SKILL_LEVEL, occupation_code=code, level=level, issued_on=issued_on))

    def redeem_command(self, voucher_id, certificate_id, request_id=""):
        return commands.RedeemVoucher(actor=self.institution.for_request(request_id), voucher_id=voucher_id,
                                      certificate_id=certificate_id)

    async def redeemed(self, code, level, issued_on):
        voucher = await self.issue(code, level)
        await self.enrol(voucher.voucher_id)
        cert = await self.certificate(code, level, issued_on)
        await self.bus.handle(self.redeem_command(voucher.voucher_id, cert.certificate_id))
        return voucher

    def state(self, voucher_id) -> VoucherState:
        return self.db.tables["vouchers"][voucher_id].state


@contextmanager
def refused(db, *rule_ids):
    """The command fails naming exactly these rules, and leaves nothing behind."""
    before = db.snapshot()
    with pytest.raises(FailedPrecondition) as err:
        yield
    assert [v.type for v in err.value.violations] == list(rule_ids)
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == before


@pytest.mark.policy("L1")
async def test_L1_the_fourth_redemption_with_a_certificate_of_the_same_year_is_refused():
    w = await World().setup()
    for i, code in enumerate(CODES[:3]):
        await w.redeemed(code, 4, date(2025, 1, 2 + i))
        w.clock.advance(timedelta(days=40))  # L4: a month after each assessment
    voucher = await w.issue(CODES[3], 4)
    await w.enrol(voucher.voucher_id)
    late = await w.certificate(CODES[3], 4, date(2025, 4, 30))
    with refused(w.db, "L1"):
        await w.bus.handle(w.redeem_command(voucher.voucher_id, late.certificate_id))
    assert w.state(voucher.voucher_id) is VoucherState.ENROLLED
    assert w.db.tables["certificates"][late.certificate_id].redeemed_voucher_id is None
    assert w.db.person_locks[-1] == VAULT.lookup_hash(RID)  # checked under the person's lock


@pytest.mark.policy("L2", "L3", "L4")
async def test_enrolment_is_refused_for_L2_L3_ahead_of_time_and_L4_all_named_at_once():
    w = await World().setup()
    await w.redeemed(CODES[0], 3, shanghai_date(START))
    same, lower = await w.issue(CODES[0], 3), await w.issue(CODES[0], 4)
    with refused(w.db, "L2", "L4"):  # within the month after the assessment, too
        await w.enrol(same.voucher_id)
    with refused(w.db, "L3", "L4"):
        await w.enrol(lower.voucher_id)
    w.clock.advance(timedelta(days=31))
    with refused(w.db, "L3"):
        await w.enrol(lower.voucher_id)
    other = await w.issue(CODES[1], 4)
    await w.enrol(other.voucher_id)  # another occupation, a month later: fine
    third = await w.issue(CODES[2], 5)
    with refused(w.db, "L4"):  # `other` is enrolled and not yet assessed
        await w.enrol(third.voucher_id)
    assert w.state(third.voucher_id) is VoucherState.ISSUED


@pytest.mark.policy("L4")
async def test_enrolling_the_same_voucher_again_is_still_answered_as_before():
    w = await World().setup()
    voucher = await w.issue(CODES[0], 4)
    first, second = await w.present(voucher.voucher_id), await w.present(voucher.voucher_id)
    await w.enrol(voucher.voucher_id, first)
    again = await w.enrol(voucher.voucher_id, second)  # its own enrolment is no "previous training" (L4)
    assert again.state is VoucherState.ENROLLED


# -- the property -------------------------------------------------------------------------------
class FlakyCertificates(FakeCertificateRepository):
    """Fails the write after the eligibility check once when asked: the whole unit of work rolls back."""

    async def mark_redeemed(self, certificate):
        if self._uow.db.fail_next:
            self._uow.db.fail_next = False
            raise RuntimeError("disk full")
        await super().mark_redeemed(certificate)


class FlakyUnitOfWork(FakeVoucherUnitOfWork):
    def _open_repositories(self) -> None:
        super()._open_repositories()
        self.certificates = FlakyCertificates(self)


# Few occupations at three levels make L2 and L3 likely; gaps of about a month before each
# enrolment pass L4 often enough to reach L1's three a year.
redemption = st.tuples(st.sampled_from(CODES[:4]), st.integers(3, 5), st.sampled_from([0, 20, 31, 35, 45]),
                       st.integers(0, 5))
step = st.one_of(
    st.tuples(st.just("redeem"), redemption), st.tuples(st.just("redeem"), redemption),
    st.tuples(st.just("redeem"), redemption), st.tuples(st.just("fail"), redemption),
    st.tuples(st.just("retry")),
    st.tuples(st.just("rollback"), st.integers(0, 10)),
    st.tuples(st.just("pay"), st.integers(0, 10)),
    st.tuples(st.just("wait"), st.integers(1, 120)),
)


def over_limits(w: World) -> list[str]:
    """What the person's subsidised vouchers break (L1-L3), judged from the stored state alone."""
    certificates = w.db.tables["certificates"]
    mine = sorted((v for v in w.db.tables["vouchers"].values() if v.state in (VoucherState.REDEEMED,
                                                                             VoucherState.PAID)),
                  key=lambda v: v.redeemed_at)
    broken = []
    per_year = Counter(certificates[v.certificate_id].issued_on.year for v in mine)
    if any(n > 3 for n in per_year.values()):
        broken.append(f"L1 {per_year}")
    pairs = Counter((v.occupation_code, v.level) for v in mine)
    if any(n > 1 for n in pairs.values()):
        broken.append(f"L2 {pairs}")
    for i, later in enumerate(mine):
        if any(e.occupation_code == later.occupation_code and e.level < later.level for e in mine[:i]):
            broken.append(f"L3 {later.occupation_code} {later.level}")
    return broken


@pytest.mark.policy("L1", "L2", "L3", "L4")
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=40))
async def test_property_no_history_of_redemptions_rollbacks_and_retries_ends_over_a_limit(steps):
    w = await World(FlakyUnitOfWork).setup()
    w.db.fail_next = False
    last = None
    for n, (kind, *args) in enumerate(steps):
        w.clock.advance(timedelta(hours=1))  # redeemed_at orders the redemptions
        try:
            if kind in ("redeem", "fail"):
                code, level, gap, days_before = args[0]
                w.clock.advance(timedelta(days=gap))
                voucher = await w.issue(code, level)
                await w.enrol(voucher.voucher_id)
                cert = await w.certificate(code, level, shanghai_date(w.clock.now()) - timedelta(days=days_before))
                last = w.redeem_command(voucher.voucher_id, cert.certificate_id, request_id=f"req-{n}")
                w.db.fail_next = kind == "fail"
                await w.bus.handle(last)
            elif kind == "retry" and last is not None:
                await w.bus.handle(last)  # the same request id: its first answer, or the same refusal
            elif kind == "rollback":
                # The bureau's rollback (issue 7) stands in here: the redemption no longer counts and
                # the certificate is free again.
                done = [v for v in w.db.tables["vouchers"].values() if v.state is VoucherState.REDEEMED]
                if done:
                    v = done[args[0] % len(done)]
                    w.db.tables["certificates"][v.certificate_id].redeemed_voucher_id = None
                    v.state, v.certificate_id = VoucherState.CANCELLED, None
            elif kind == "pay":
                done = [v for v in w.db.tables["vouchers"].values() if v.state is VoucherState.REDEEMED]
                if done:
                    v = done[args[0] % len(done)]
                    await w.bus.handle(commands.MarkVoucherPaid(actor=service_actor("ledger"),
                                                                voucher_id=v.voucher_id, payment_id=f"pay-{n}",
                                                                paid_at=w.clock.now()))
            elif kind == "wait":
                w.clock.advance(timedelta(days=args[0]))
        except FailedPrecondition as exc:
            # Refused by a limit (or, for a retry, the voucher's state): never half done.
            assert exc.violations or "voucher is" in str(exc) or "already redeemed" in str(exc)
        except RuntimeError as exc:
            assert str(exc) == "disk full"
        w.db.fail_next = False
        assert over_limits(w) == [], (kind, args)
    enrolled = [v for v in w.db.tables["vouchers"].values() if v.state is VoucherState.ENROLLED]
    assert len(enrolled) <= 1  # L4: never two trainings under way at once

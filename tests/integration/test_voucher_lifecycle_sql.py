"""The voucher life cycle on real SQLite and PostgreSQL databases, through the real bus and SQL
units of work: two expiry sweeps at once expire each voucher exactly once with one event each
(V5); a rollback, a payment that settles for it after all, and a redemption again are stored and
read back (X2); claim_svc keeps a withdrawn line and the new redemption's line apart; and the
migrations give data from before them the ids it always had."""

from __future__ import annotations

import asyncio
import functools
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from claim_svc.adapters.events import to_outgoing as claim_events
from claim_svc.adapters.unit_of_work import SqlClaimUnitOfWork
from claim_svc.bootstrap import bootstrap as claim_bootstrap
from claim_svc.domain.model import (
    ClaimState,
    LineKind,
    LineState,
    Payee,
    PayeeKind,
    line_id_for,
    payout_request_id_for,
)
from claim_svc.service_layer import commands as claim_commands
from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.audit_trail import audit_records
from skillpay.cli.sample_data import credit_code, resident_id, skill_level_certificate_number
from skillpay.clock import FixedClock
from skillpay.db import Database, run_migrations
from skillpay.pii import PiiVault
from tests.fakes import FakeFundDirectory
from tests.presenting import presented
from voucher_svc.adapters.events import to_outgoing as voucher_events
from voucher_svc.adapters.repository import due_for_expiry_query
from voucher_svc.adapters.unit_of_work import SqlVoucherUnitOfWork
from voucher_svc.bootstrap import bootstrap as voucher_bootstrap
from voucher_svc.domain.lifecycle import redemption_id_for
from voucher_svc.domain.model import CertificateType, VoucherState
from voucher_svc.service_layer import commands

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
VALID_UNTIL = NOW + timedelta(days=30)
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
CODE = "6-31-01-03"


class Replica:
    """One voucher process's bus and database pool (two of them share one database)."""

    def __init__(self, url: str, clock):
        self.db = Database(url)
        self.uows = functools.partial(SqlVoucherUnitOfWork, self.db, "voucher", voucher_events, None, clock=clock)
        self.bus = voucher_bootstrap(self.uows, VAULT, FakeFundDirectory({"esf"}), clock=clock)


@pytest.fixture
async def voucher_url(database_url_factory):
    url = database_url_factory("v")
    await asyncio.to_thread(run_migrations, url, ROOT / "voucher_svc" / "migrations")
    return url


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
async def replicas(voucher_url, clock):
    made = [Replica(voucher_url, clock), Replica(voucher_url, clock)]
    yield made
    for r in made:
        await r.db.dispose()


async def _setup(bus):
    await bus.handle(commands.RegisterOccupation(actor=ADMIN, code=CODE, name="电工", level=4,
                                                 subsidy_standard_fen=150_000, effective_from=date(2020, 1, 1)))
    ins = await bus.handle(commands.RegisterInstitution(actor=ADMIN, name="蓝天职业培训学校",
                                                        credit_code=credit_code(random.Random(1)), address="北京",
                                                        occupation_codes=(CODE,)))
    return ins.institution_id


async def _issue(bus, seed: int, valid_until=VALID_UNTIL):
    return await bus.handle(commands.IssueVoucher(actor=ADMIN, resident_id=resident_id(random.Random(seed)),
                                                  name="张三", occupation_code=CODE, level=4, fund_source="esf",
                                                  batch_id="b1", valid_until=valid_until))


async def _rows(db: Database, query):
    async with db.reader.connect() as conn:
        return (await conn.execute(query)).all()


# -- V5: two sweeps at once ----------------------------------------------------------------------
@pytest.mark.policy("V5")
async def test_V5_two_concurrent_sweeps_expire_each_voucher_exactly_once_with_one_event_each(replicas, clock):
    a, b = replicas
    await _setup(a.bus)
    due = [await _issue(a.bus, seed) for seed in range(40)]
    not_due = await _issue(a.bus, 999, VALID_UNTIL + timedelta(days=1))
    sweep = functools.partial(commands.ExpireDueVouchers, actor=service_actor("voucher"), now=VALID_UNTIL, limit=3)
    counts = await asyncio.gather(a.bus.handle(sweep()), b.bus.handle(sweep()), a.bus.handle(sweep()))
    assert sum(counts) == len(due)

    states = dict(await _rows(a.db, text("SELECT voucher_id, state FROM vouchers")))
    assert {states[v.voucher_id] for v in due} == {"expired"} and states[not_due.voucher_id] == "issued"
    events = await _rows(a.db, text("SELECT aggregate_id FROM outbox WHERE event_type = 'voucher.expired'"))
    assert sorted(e.aggregate_id for e in events) == sorted(v.voucher_id for v in due)  # one each, no more
    audits = await _rows(a.db, select(audit_records.c.aggregate_id).where(audit_records.c.command == "ExpireDueVouchers",
                                                                          audit_records.c.state_after == "expired"))
    assert sorted(r.aggregate_id for r in audits) == sorted(v.voucher_id for v in due)
    # and once more, from both: nothing expires twice, nothing is emitted twice
    assert await asyncio.gather(a.bus.handle(sweep()), b.bus.handle(sweep())) == [0, 0]
    assert (await _rows(a.db, text("SELECT count(*) FROM outbox WHERE event_type = 'voucher.expired'")))[0][0] == 40


def test_V5_on_postgresql_a_sweep_skips_the_rows_another_sweep_holds():
    sql = str(due_for_expiry_query(NOW, 10).compile(dialect=postgresql.dialect()))
    assert sql.rstrip().endswith("FOR UPDATE SKIP LOCKED")


# -- rollback, a late payment, and a redemption again, stored ------------------------------------
@pytest.mark.policy("X2", "V3", "V4")
async def test_X2_rollback_late_payment_and_redemption_again_are_stored_and_read_back(replicas, clock):
    a, _ = replicas
    institution_id = await _setup(a.bus)
    voucher = await _issue(a.bus, 1)
    await a.bus.handle(commands.EnrolVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, institution_id=institution_id,
                                             real_person_verified=True,
                                             presentation_token=await presented(a.bus, voucher)))
    cert = await a.bus.handle(commands.RecordCertificate(
        actor=ADMIN, resident_id=resident_id(random.Random(1)), name="张三", certificate_number=skill_level_certificate_number(4, date(2025, 3, 1), 1),
        certificate_type=CertificateType.SKILL_LEVEL, occupation_code=CODE, level=4, issued_on=date(2025, 3, 1)))
    redeem = commands.RedeemVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, certificate_id=cert.certificate_id)
    await a.bus.handle(redeem)
    await a.bus.handle(commands.RollBackRedemption(actor=ADMIN.for_request("rb-1"), voucher_id=voucher.voucher_id,
                                                   reason="assessment annulled"))
    late = commands.MarkVoucherPaid(actor=service_actor("ledger"), voucher_id=voucher.voucher_id, payment_id="po_1",
                                    paid_at=NOW, redemption_id=voucher.voucher_id, amount_fen=150_000)
    await a.bus.handle(late)
    await a.bus.handle(late)  # redelivered: counted once
    async with a.uows(read_only=True) as uow:
        v = await uow.vouchers.get(voucher.voucher_id)
        c = await uow.certificates.get(cert.certificate_id)
    assert (v.state, v.redemption_no, v.state_reason, v.recovery_due_fen, v.recovery_payment_ids) == (
        VoucherState.ENROLLED, 1, "assessment annulled", 150_000, ("po_1",))
    assert (v.certificate_id, v.value_fen, c.redeemed_voucher_id) == (None, 0, None)

    await a.bus.handle(redeem)  # the freed certificate redeems it again
    async with a.uows(read_only=True) as uow:
        v = await uow.vouchers.get(voucher.voucher_id)
    assert (v.state, v.redemption_no, v.redemption_id) == (VoucherState.REDEEMED, 2,
                                                           redemption_id_for(voucher.voucher_id, 2))
    rows = await _rows(a.db, text("SELECT event_type FROM outbox WHERE aggregate_id = :v ORDER BY id")
                       .bindparams(v=voucher.voucher_id))
    assert [r.event_type for r in rows] == ["voucher.issued", "voucher.enrolled", "voucher.redeemed",
                                            "voucher.redemption_rolled_back", "voucher.redeemed"]

    # the bureau revokes it (X2): terminal, the certificate stays used
    await a.bus.handle(commands.RevokeVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, reason="certificate sold"))
    async with a.uows(read_only=True) as uow:
        v = await uow.vouchers.get(voucher.voucher_id)
        c = await uow.certificates.get(cert.certificate_id)
    assert (v.state, v.ended_at, c.redeemed_voucher_id) == (VoucherState.REVOKED, NOW, voucher.voucher_id)


# -- claim_svc: the withdrawn line and the new one -------------------------------------------------
@pytest.mark.policy("X2")
async def test_X2_claim_lines_of_two_redemptions_are_stored_apart_and_the_withdrawn_one_stays_withdrawn(
        database_url_factory, clock):
    url = database_url_factory("c")
    await asyncio.to_thread(run_migrations, url, ROOT / "claim_svc" / "migrations")
    db = Database(url)
    try:
        uows = functools.partial(SqlClaimUnitOfWork, db, "claim", claim_events, None, clock=clock)
        bus = claim_bootstrap(uows, clock=clock)
        actor = service_actor("voucher")
        payee = Payee(PayeeKind.PERSON, "张三", "110105********1234", b"sealed", "0f" * 32)

        def redeemed(redemption_id: str):
            return claim_commands.CreateVoucherClaim(
                actor=actor, voucher_id="vch_1", payee=payee, institution_id="ins_1", occupation_code=CODE, level=4,
                amount_fen=150_000, fund_source="esf", redeemed_at=NOW, redemption_id=redemption_id)

        claim = await bus.handle(redeemed(""))  # an event from before redemption ids: the first
        first = line_id_for(LineKind.VOUCHER_SUBSIDY, "vch_1")
        await bus.handle(claim_commands.WithdrawClaimLine(actor=actor, voucher_id="vch_1", redemption_id="vch_1",
                                                          reason="annulled"))
        await bus.handle(claim_commands.RecordPayoutSettled(actor=service_actor("ledger"),
                                                            payout_request_id=payout_request_id_for(first, 1),
                                                            claim_id=claim.claim_id, settled_at=NOW))
        second_id = redemption_id_for("vch_1", 2)
        await bus.handle(redeemed(second_id))
        await bus.handle(redeemed(second_id))  # replayed
        async with uows(read_only=True) as uow:
            c = await uow.claims.get(claim.claim_id)
        assert [(line.line_id, line.redemption_id, line.state, line.withdrawal_reason) for line in c.lines] == [
            (first, "vch_1", LineState.PAID_AFTER_WITHDRAWAL, "annulled"),
            (line_id_for(LineKind.VOUCHER_SUBSIDY, second_id), second_id, LineState.PAYOUT_REQUESTED, "")]
        assert (c.state, c.amount_fen, c.recovery_due_fen) == (ClaimState.APPROVED, 150_000, 150_000)
        requests = await _rows(db, text("SELECT count(*) FROM outbox WHERE event_type = 'payout.requested'"))
        assert requests[0][0] == 2
    finally:
        await db.dispose()


@pytest.mark.policy("X2")
async def test_X2_a_rollback_applied_before_its_redemption_is_kept_and_the_replayed_redemption_pays_nothing(
        database_url_factory, clock):
    url = database_url_factory("c")
    await asyncio.to_thread(run_migrations, url, ROOT / "claim_svc" / "migrations")
    db = Database(url)
    try:
        uows = functools.partial(SqlClaimUnitOfWork, db, "claim", claim_events, None, clock=clock)
        bus = claim_bootstrap(uows, clock=clock)
        actor = service_actor("voucher")
        payee = Payee(PayeeKind.PERSON, "张三", "110105********1234", b"sealed", "0f" * 32)
        withdraw = claim_commands.WithdrawClaimLine(actor=actor, voucher_id="vch_1", redemption_id="vch_1",
                                                    reason="annulled")
        assert await bus.handle(withdraw) is None
        assert await bus.handle(withdraw) is None  # kept once
        kept = await _rows(db, text("SELECT voucher_id, redemption_id, reason FROM pending_withdrawals"))
        assert [tuple(r) for r in kept] == [("vch_1", "vch_1", "annulled")]
        claim = await bus.handle(claim_commands.CreateVoucherClaim(
            actor=actor, voucher_id="vch_1", payee=payee, institution_id="ins_1", occupation_code=CODE, level=4,
            amount_fen=150_000, fund_source="esf", redeemed_at=NOW, redemption_id="vch_1"))
        async with uows(read_only=True) as uow:
            c = await uow.claims.get(claim.claim_id)
        assert (c.state, [line.state for line in c.lines]) == (ClaimState.WITHDRAWN, [LineState.WITHDRAWN])
        requests = await _rows(db, text("SELECT count(*) FROM outbox WHERE event_type = 'payout.requested'"))
        assert requests[0][0] == 0
    finally:
        await db.dispose()


# -- data from before the migrations keeps its ids -------------------------------------------------
def _alembic(url: str, service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    return cfg


async def test_migrations_number_earlier_redemptions_first_and_key_earlier_lines_on_the_voucher(database_url_factory):
    v_url, c_url = database_url_factory("v"), database_url_factory("c")
    await asyncio.to_thread(command.upgrade, _alembic(v_url, "voucher_svc"), "0005")
    await asyncio.to_thread(command.upgrade, _alembic(c_url, "claim_svc"), "0003")
    vdb, cdb = Database(v_url), Database(c_url)
    try:
        async with vdb.writer.begin() as conn:
            await conn.execute(text("INSERT INTO institutions VALUES ('ins_1', 'x', '91110000000000000X', '', "
                                    "'6-31-01-03', 'active', :t)").bindparams(t=NOW))
            for vid, state, cert in (("vch_a", "paid", "crt_a"), ("vch_b", "enrolled", None)):
                await conn.execute(text(
                    "INSERT INTO vouchers (voucher_id, holder_name, holder_id_lookup, holder_id_sealed, "
                    "holder_id_masked, occupation_code, level, fund_source, batch_id, state, institution_id, "
                    "real_person_verified, certificate_id, value_fen, issued_at, valid_until, version) VALUES "
                    "(:v, 'x', 'h', :s, 'm', '6-31-01-03', 4, 'esf', 'b', :st, 'ins_1', true, :c, 1, :t, :t, 0)"
                ).bindparams(v=vid, s=b"x", st=state, c=cert, t=NOW))
        async with cdb.writer.begin() as conn:
            await conn.execute(text(
                "INSERT INTO claims (claim_id, kind, voucher_id, payee_kind, payee_name, payee_id_masked, "
                "payee_id_sealed, payee_id_lookup, institution_id, occupation_code, level, amount_fen, fund_source, "
                "state, created_at, version) VALUES ('clm_a', 'voucher', 'vch_a', 'person', 'x', 'm', :s, 'h', "
                "'ins_1', '6-31-01-03', 4, 1, 'esf', 'paid', :t, 0)").bindparams(s=b"x", t=NOW))
            await conn.execute(text(
                "INSERT INTO claim_lines (line_id, claim_id, position, kind, amount_fen, state, attempt, "
                "failure_reason) VALUES (:l, 'clm_a', 0, 'voucher_subsidy', 1, 'paid', 1, '')"
            ).bindparams(l=line_id_for(LineKind.VOUCHER_SUBSIDY, "vch_a")))
    finally:
        await vdb.dispose()
        await cdb.dispose()
    await asyncio.to_thread(run_migrations, v_url, ROOT / "voucher_svc" / "migrations")
    await asyncio.to_thread(run_migrations, c_url, ROOT / "claim_svc" / "migrations")
    vdb, cdb = Database(v_url), Database(c_url)
    try:
        numbers = dict(await _rows(vdb, text("SELECT voucher_id, redemption_no FROM vouchers")))
        assert numbers == {"vch_a": 1, "vch_b": 0}
        [row] = await _rows(cdb, text("SELECT line_id, redemption_id FROM claim_lines"))
        assert tuple(row) == (line_id_for(LineKind.VOUCHER_SUBSIDY, "vch_a"), "vch_a")
    finally:
        await vdb.dispose()
        await cdb.dispose()

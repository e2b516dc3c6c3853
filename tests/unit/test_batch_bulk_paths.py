"""The pieces issue 7's faster batch path is made of, each against the general path it stands in for:
``track_new`` audits a group as ``track(new=True)`` audits each entity, a voucher's COPY record is
its ``_values``, and a chunk identified ahead is what its handler would have identified."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from skillpay.actors import Actor, ActorKind
from skillpay.clock import FixedClock
from skillpay.pii import PiiVault
from tests.fakes import FakeVoucherUnitOfWork
from tests.unit.test_batch_handlers import rids
from voucher_svc.adapters.repository import VOUCHER_COLUMNS, VoucherRepository
from voucher_svc.domain.lifecycle import VoucherRedemptionRolledBack
from voucher_svc.domain.model import PersonIdentity, Voucher, VoucherKind, VoucherState
from voucher_svc.domain.person import Person
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.batch_identities import ChunkIdentities, identify_rows
from voucher_svc.service_layer.handlers import identify_person

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1", request_id="r-1")


def voucher(n: int) -> Voucher:
    holder = PersonIdentity(f"张{n}", f"lookup-{n}", b"sealed", "110105********1234")
    return Voucher(f"vch_{n}", holder, None, None, "esf", "b-1", NOW, NOW + timedelta(days=30),
                   kind=VoucherKind.GENERAL, valid_from=NOW)


def uow() -> FakeVoucherUnitOfWork:
    return FakeVoucherUnitOfWork(clock=FixedClock(NOW))


def audit_of(u) -> list[tuple]:
    return [(r.occurred_at, r.actor_kind, r.actor_subject, r.request_id, r.command, r.aggregate_type, r.aggregate_id,
             r.state_before, r.state_after) for r in u.audit_records]


async def issue_with(track_group: bool, change_one: bool = False) -> tuple[list, list]:
    u = uow()
    vouchers = [voucher(n) for n in range(5)]
    persons = [Person.register(v.holder) for v in vouchers]
    with u.acting(ADMIN, "IssueBatchChunk"):
        async with u:  # the bus's level (idempotency) ...
            async with u:  # ... and the handler's, as for a chunk
                if track_group:
                    u.track_new(vouchers)
                    u.track_new(persons)
                else:
                    for entity in [*vouchers, *persons]:
                        u.track(entity, new=True)
                await u.commit()
            if change_one:  # changed after the handler committed, before the outer commit
                vouchers[2].state = VoucherState.CANCELLED
                vouchers[2].record(VoucherRedemptionRolledBack("vch_2", "", 0, "", 0, "test", NOW))
            await u.commit()
    return audit_of(u), [(e.event_type, e.aggregate_id) for e in u.written_events]


@pytest.mark.policy("V4")
@pytest.mark.parametrize("change_one", [False, True])
async def test_tracking_a_group_audits_and_announces_exactly_as_tracking_each(change_one):
    each, grouped = await issue_with(False, change_one), await issue_with(True, change_one)
    assert grouped == each
    records, events = grouped
    assert len(records) == 10 + change_one  # every voucher and person once, and the later change
    if change_one:
        assert records[-1][-3:] == ("vch_2", "issued", "cancelled")
        assert events == [("voucher.redemption_rolled_back", "vch_2")]


async def test_a_group_changes_nothing_when_empty_and_an_untouched_level_stays_clean():
    u = uow()
    with u.acting(ADMIN, "IssueBatchChunk"):
        async with u:
            u.track_new([])
            await u.commit()
    assert u.audit_records == []


def test_a_vouchers_copy_record_is_its_values_and_version_zero():
    v = dataclasses.replace(
        voucher(1), occupation_code="6-31-01-03", level=3, state=VoucherState.REDEEMED, institution_id="ins_1",
        real_person_verified=True, certificate_id="cer_1", value_fen=150_000, enrolled_at=NOW, redeemed_at=NOW,
        paid_at=NOW, payment_id="pay_1", payout_failure_reason="bank down", rate_percent=80, valuation_rule="A3",
        standard_fen=187_500, employment_window_start=date(2025, 1, 1), employment_window_end=date(2025, 4, 1),
        topped_up_fen=37_500, topped_up_at=NOW, redemption_no=2, state_reason="retry", ended_at=NOW,
        recovery_due_fen=1, recovery_payment_ids=("pay_a", "pay_b"), bound_institution_id="ins_2")
    values = VoucherRepository._values(v)
    assert VOUCHER_COLUMNS == [*values, "version"]
    assert VoucherRepository._record(v) == (*values.values(), 0)


def chunk_command(n: int, first_row: int = 0) -> commands.IssueBatchChunk:
    persons = [(rid, "张三") for rid in rids(n, seed=7)]
    persons[3] = ("not-an-id", "李四")
    return commands.IssueBatchChunk(actor=ADMIN, batch_id="b-1", chunk_no=0, first_row=first_row,
                                    persons=tuple(persons))


def comparable(candidates) -> list:
    # Sealing draws a fresh nonce each time: compare what it seals instead.
    return [(c.row, c.violations, c.holder and (c.holder.name, c.holder.id_lookup, c.holder.id_masked,
                                                 VAULT.unseal(c.holder.id_sealed))) for c in candidates]


@pytest.mark.policy("V1")
async def test_a_chunk_identified_ahead_is_what_its_handler_would_identify():
    identities = ChunkIdentities(VAULT)
    cmd = chunk_command(1200, first_row=5000)
    await identities.prepare(cmd)
    prepared = identities.take(cmd)
    expected = []
    for i, (rid, name) in enumerate(cmd.persons):
        found = []
        holder = identify_person(VAULT, rid, name, found)
        expected.append((5000 + i, tuple(found), holder and (holder.name, holder.id_lookup, holder.id_masked, rid)))
    assert comparable(prepared) == expected
    assert expected[3][1] and expected[3][2] is None  # the bad row is there, with its violation
    assert comparable(identify_rows(VAULT, cmd, 0, len(cmd.persons))) == expected


async def test_prepared_identities_serve_only_that_very_command_and_only_once():
    identities = ChunkIdentities(VAULT)
    cmd = chunk_command(10)
    await identities.prepare(cmd)
    equal_but_other = dataclasses.replace(cmd)
    assert equal_but_other == cmd and equal_but_other is not cmd
    assert identities.take(equal_but_other) is not identities.take(cmd)  # computed anew, then the prepared
    again = identities.take(cmd)  # taken once: now computed anew
    assert comparable(again) == comparable(identities.take(equal_but_other))
    await identities.prepare(cmd)
    identities.discard(cmd)
    assert identities._prepared == {}


async def test_preparing_gives_the_event_loop_back_between_slices():
    identities = ChunkIdentities(VAULT)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    await identities.prepare(chunk_command(2000))
    task.cancel()
    assert ticks >= 4  # 2,000 persons in slices of 500: the other task ran in between

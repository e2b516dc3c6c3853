"""The catalogues through a real voucher_svc process on SQLite and PostgreSQL: dated occupation
versions (A1), institution status (P1, X3), the filtered lists, and the migration of old rows."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from google.type import date_pb2
from sqlalchemy import text

from skillpay.cli import sample_data
from skillpay.clock import shanghai_date, utcnow
from skillpay.db import Database
from skillpay.events.v1 import events_pb2
from skillpay.voucher.v1 import voucher_pb2 as pb
from tests.integration.test_voucher_grpc import (  # noqa: F401 - fixtures
    VALID_UNTIL,
    admin_channel,
    details,
    issuer,
    ledger_server,
    presentation_token,
    signing_key,
    stub,
    violations,
    voucher_server,
)

pytestmark = pytest.mark.integration

CODE = "6-31-01-03"
ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = pb.BankAccount(account_number="6222020200112233445", account_name="示范学校", bank_code="102100099996")


def rid() -> str:
    return uuid.uuid4().hex


def day(d: date) -> date_pb2.Date:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def precondition_types(exc: grpc.aio.AioRpcError) -> list[str]:
    found = []
    for detail in details(exc).details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            found += [v.type for v in failure.violations]
    return found


async def register(stub, code=CODE, level=4, standard=100_000, start=date(2020, 1, 1), **terms) -> pb.Occupation:
    return await stub.RegisterOccupation(pb.RegisterOccupationRequest(
        request_id=rid(), code=code, name="电工", level=level, subsidy_standard_fen=standard,
        effective_from=day(start), **terms))


async def revise(stub, start: date, standard: int, code=CODE, level=4, **terms) -> pb.Occupation:
    return await stub.ReviseOccupation(pb.ReviseOccupationRequest(
        request_id=rid(), code=code, level=level, name="电工", subsidy_standard_fen=standard,
        effective_from=day(start), **terms))


async def institution(stub, codes=(CODE,), seed=None, **kwargs) -> str:
    reply = await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=rid(), name=kwargs.pop("name", "示范学校"),
        credit_code=sample_data.credit_code(random.Random(seed) if seed is not None else None),
        address="北京", occupation_codes=list(codes), **kwargs))
    return reply.institution_id


async def issue(stub, resident_id: str) -> pb.Voucher:
    return await stub.IssueVoucher(pb.IssueVoucherRequest(
        request_id=rid(), resident_id=resident_id, name="张三", occupation_code=CODE, level=4, fund_source="ESF",
        batch_id="b1", valid_until=VALID_UNTIL))


async def enrol(stub, server, token_issuer, resident_id: str, voucher_id: str, institution_id: str) -> pb.Voucher:
    """The holder presents the voucher's token (V2) at the institution."""
    token = await presentation_token(server, token_issuer, resident_id, voucher_id)
    return await stub.EnrolVoucher(pb.EnrolVoucherRequest(request_id=rid(), voucher_id=voucher_id,
                                                           institution_id=institution_id, real_person_verified=True,
                                                           presentation_token=token.token))


async def certificate(stub, resident_id: str, issued_on: date) -> str:
    return (await stub.RecordCertificate(pb.RecordCertificateRequest(
        request_id=rid(), resident_id=resident_id, name="张三",
        certificate_number=sample_data.skill_level_certificate_number(4, issued_on),
        certificate_type=pb.CERTIFICATE_TYPE_SKILL_LEVEL, occupation_code=CODE, level=4,
        issued_on=day(issued_on)))).certificate_id


async def redeem(stub, voucher_id: str, certificate_id: str) -> pb.Voucher:
    return await stub.RedeemVoucher(pb.RedeemVoucherRequest(request_id=rid(), voucher_id=voucher_id,
                                                             certificate_id=certificate_id))


async def rows(url: str, sql: str) -> list:
    db = Database(url)
    try:
        async with db.reader.connect() as conn:
            return (await conn.execute(text(sql))).all()
    finally:
        await db.dispose()


# ------------------------------------------------------------------------------ A1: dated versions
@pytest.mark.policy("A1")
async def test_A1_a_redemption_is_valued_by_the_version_in_force_on_the_certificate_date(stub, voucher_server, issuer):
    today = shanghai_date(utcnow())
    change = today - timedelta(days=10)  # the standard changed ten days ago
    await register(stub, standard=100_000, start=date(2024, 1, 1))
    ins = await institution(stub)
    revised = await revise(stub, change, 180_000, min_class_hours=60, practical_oriented=True)
    assert (revised.version, revised.subsidy_standard_fen, revised.HasField("effective_to")) == (2, 180_000, False)
    assert (revised.min_class_hours, revised.practical_oriented) == (60, True)
    before_change, after_change = [sample_data.resident_id(random.Random(s)) for s in (1, 2)]
    old = await enrol(stub, voucher_server, issuer, before_change, (await issue(stub, before_change)).voucher_id, ins)
    new = await enrol(stub, voucher_server, issuer, after_change, (await issue(stub, after_change)).voucher_id, ins)
    old_redeemed = await redeem(stub, old.voucher_id, await certificate(stub, before_change,
                                                                        change - timedelta(days=1)))
    new_redeemed = await redeem(stub, new.voucher_id, await certificate(stub, after_change, change))
    # the standard of the version in force on each certificate's date; no employment: A3's 80% of it
    assert (old_redeemed.standard_fen, new_redeemed.standard_fen) == (100_000, 180_000)
    assert (old_redeemed.value_fen, new_redeemed.value_fen) == (80_000, 144_000)
    # and the events claim_svc pays from carry the same values
    payloads = [events_pb2.VoucherRedeemed.FromString(events_pb2.EventEnvelope.FromString(r.envelope).payload)
                for r in await rows(voucher_server.url,
                                    "SELECT envelope FROM outbox WHERE event_type = 'voucher.redeemed'")]
    assert {p.voucher_id: p.value_fen for p in payloads} == {old.voucher_id: 80_000, new.voucher_id: 144_000}
    # the first version now ends the day before the second starts
    listed = await stub.ListOccupations(pb.ListOccupationsRequest(in_force_on=day(change - timedelta(days=1))))
    [first] = listed.occupations
    assert (first.version, first.effective_to) == (1, day(change - timedelta(days=1)))


@pytest.mark.policy("A1")
async def test_A1_a_certificate_dated_before_the_entry_existed_redeems_nothing(stub, voucher_server, issuer):
    today = shanghai_date(utcnow())
    await register(stub, start=today - timedelta(days=3))
    ins = await institution(stub)
    person = sample_data.resident_id(random.Random(3))
    voucher = await enrol(stub, voucher_server, issuer, person, (await issue(stub, person)).voucher_id, ins)
    cert = await certificate(stub, person, today - timedelta(days=4))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await redeem(stub, voucher.voucher_id, cert)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(err.value) == ["A1"]
    after = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert after.state == pb.VOUCHER_STATE_ENROLLED and after.value_fen == 0


@pytest.mark.policy("A1")
async def test_A1_revisions_racing_for_one_entry_leave_contiguous_versions(stub):
    await register(stub, start=date(2024, 1, 1))
    starts = [date(2025, 1, 1) + timedelta(days=i) for i in range(6)]

    async def attempt(start):
        try:
            return await revise(stub, start, 200_000)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc
            return None

    await asyncio.gather(*[attempt(s) for s in starts])
    versions = []
    for probe in [date(2024, 1, 1)] + starts:
        listed = await stub.ListOccupations(pb.ListOccupationsRequest(in_force_on=day(probe)))
        assert len(listed.occupations) == 1  # exactly one version in force on every day
        versions.append(listed.occupations[0])
    distinct = {v.version: v for v in versions}
    ordered = [distinct[n] for n in sorted(distinct)]
    assert [v.version for v in ordered] == list(range(1, len(ordered) + 1)) and len(ordered) >= 2
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        end = date(earlier.effective_to.year, earlier.effective_to.month, earlier.effective_to.day)
        start = date(later.effective_from.year, later.effective_from.month, later.effective_from.day)
        assert end + timedelta(days=1) == start


# ------------------------------------------------------------------------------ X3: institution status
@pytest.mark.policy("X3", "P1")
async def test_X3_a_suspended_institution_cannot_enrol_or_redeem_a_reinstated_one_can(stub, voucher_server,
                                                                                      issuer):
    await register(stub)
    ins = await institution(stub)
    yesterday = shanghai_date(utcnow()) - timedelta(days=1)
    holder, newcomer = [sample_data.resident_id(random.Random(s)) for s in (11, 12)]
    enrolled = await enrol(stub, voucher_server, issuer, holder, (await issue(stub, holder)).voucher_id, ins)
    cert = await certificate(stub, holder, yesterday)
    fresh = await issue(stub, newcomer)

    suspended = await stub.SuspendInstitution(pb.SuspendInstitutionRequest(request_id=rid(), institution_id=ins,
                                                                            reason="虚假培训调查中"))
    assert (suspended.status, suspended.status_reason) == (pb.INSTITUTION_STATUS_SUSPENDED, "虚假培训调查中")
    assert suspended.HasField("status_changed_at")
    for refused in (lambda: enrol(stub, voucher_server, issuer, newcomer, fresh.voucher_id, ins),
                    lambda: redeem(stub, enrolled.voucher_id, cert)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await refused()
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert precondition_types(err.value) == ["X3"]
    assert (await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=fresh.voucher_id))).state == pb.VOUCHER_STATE_ISSUED
    assert (await stub.GetVoucher(pb.GetVoucherRequest(
        voucher_id=enrolled.voucher_id))).state == pb.VOUCHER_STATE_ENROLLED

    reinstated = await stub.ReinstateInstitution(pb.ReinstateInstitutionRequest(request_id=rid(), institution_id=ins))
    assert (reinstated.status, reinstated.status_reason) == (pb.INSTITUTION_STATUS_ACTIVE, "")
    re_enrolled = await enrol(stub, voucher_server, issuer, newcomer, fresh.voucher_id, ins)
    assert re_enrolled.state == pb.VOUCHER_STATE_ENROLLED
    assert (await redeem(stub, enrolled.voucher_id, cert)).state == pb.VOUCHER_STATE_REDEEMED

    # each change is announced to claim_svc (X3) and in the audit trail
    events = [events_pb2.InstitutionStatusChanged.FromString(events_pb2.EventEnvelope.FromString(r.envelope).payload)
              for r in await rows(voucher_server.url, "SELECT envelope FROM outbox "
                                                      "WHERE event_type = 'institution.status_changed' ORDER BY id")]
    assert [(e.institution_id, e.previous_status, e.status, e.reason) for e in events] == [
        (ins, "active", "suspended", "虚假培训调查中"), (ins, "suspended", "active", "")]
    from skillpay.audit.v1 import audit_pb2

    trail = (await stub.ListAuditRecords(audit_pb2.ListAuditRecordsRequest(aggregate_id=ins))).records
    assert [(r.command, r.state_before, r.state_after) for r in trail] == [
        ("RegisterInstitution", "", "active"), ("SuspendInstitution", "active", "suspended"),
        ("ReinstateInstitution", "suspended", "active")]


@pytest.mark.policy("X3")
async def test_X3_a_removed_institution_never_comes_back_and_its_bank_account_stays(stub):
    await register(stub)
    ins = await institution(stub, bank_account=ACCOUNT, nature=pb.INSTITUTION_NATURE_PRIVATE, region="110105")
    removed = await stub.RemoveInstitution(pb.RemoveInstitutionRequest(request_id=rid(), institution_id=ins,
                                                                        reason="骗取补贴"))
    assert removed.status == pb.INSTITUTION_STATUS_REMOVED and removed.bank_account == ACCOUNT
    for call in (stub.ReinstateInstitution(pb.ReinstateInstitutionRequest(request_id=rid(), institution_id=ins)),
                 stub.SuspendInstitution(pb.SuspendInstitutionRequest(request_id=rid(), institution_id=ins,
                                                                      reason="x")),
                 stub.UpdateInstitutionBankAccount(pb.UpdateInstitutionBankAccountRequest(
                     request_id=rid(), institution_id=ins, bank_account=ACCOUNT))):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and precondition_types(err.value) == ["X3"]
    got = await stub.GetInstitution(pb.GetInstitutionRequest(institution_id=ins))
    assert (got.status, got.status_reason, got.nature, got.region) == (
        pb.INSTITUTION_STATUS_REMOVED, "骗取补贴", pb.INSTITUTION_NATURE_PRIVATE, "110105")


async def test_a_bank_account_update_is_stored_and_a_retry_returns_the_first_answer(stub):
    await register(stub)
    ins = await institution(stub)
    assert not (await stub.GetInstitution(pb.GetInstitutionRequest(institution_id=ins))).HasField("bank_account")
    request = pb.UpdateInstitutionBankAccountRequest(request_id=rid(), institution_id=ins, bank_account=ACCOUNT)
    first = await stub.UpdateInstitutionBankAccount(request)
    assert first.bank_account == ACCOUNT and await stub.UpdateInstitutionBankAccount(request) == first
    assert (await stub.GetInstitution(pb.GetInstitutionRequest(institution_id=ins))).bank_account == ACCOUNT


# ------------------------------------------------------------------------------ bad input
async def test_bad_catalogue_input_names_every_field_and_stores_nothing(stub, voucher_server):
    cases = [
        (stub.RegisterOccupation, pb.RegisterOccupationRequest(
            request_id=rid(), code="6 31", name="", level=6, subsidy_standard_fen=0, min_class_hours=-1,
            region="4113", effective_from=date_pb2.Date(year=1989, month=12, day=31)),
         {"code", "name", "level", "subsidy_standard_fen", "min_class_hours", "region", "effective_from"}),
        (stub.ReviseOccupation, pb.ReviseOccupationRequest(
            request_id=rid(), code="", level=0, name="x" * 65, subsidy_standard_fen=-5, min_class_hours=99_999,
            region="abcdef"),
         {"code", "level", "name", "subsidy_standard_fen", "min_class_hours", "region", "effective_from"}),
        (stub.RegisterInstitution, pb.RegisterInstitutionRequest(
            request_id=rid(), name="", credit_code="x", occupation_codes=[], region="1",
            bank_account=pb.BankAccount(account_number="12ab", account_name="", bank_code="1021")),
         {"name", "credit_code", "occupation_codes", "region", "bank_account.account_number",
          "bank_account.account_name", "bank_account.bank_code"}),
        (stub.SuspendInstitution, pb.SuspendInstitutionRequest(request_id=rid(), institution_id="a b", reason=""),
         {"institution_id", "reason"}),
        (stub.RemoveInstitution, pb.RemoveInstitutionRequest(request_id=rid(), institution_id="", reason="r" * 201),
         {"institution_id", "reason"}),
        (stub.UpdateInstitutionBankAccount, pb.UpdateInstitutionBankAccountRequest(request_id=rid(),
                                                                                 institution_id="ins_x"),
         {"bank_account.account_number", "bank_account.account_name", "bank_account.bank_code"}),
        (stub.ListOccupations, pb.ListOccupationsRequest(code_prefix="6%", level=9, region="x",
                                                         in_force_on=date_pb2.Date(year=1900, month=1, day=1)),
         {"code_prefix", "level", "region", "in_force_on"}),
        (stub.ListInstitutions, pb.ListInstitutionsRequest(region="12345", occupation_code="a,b",
                                                           name_contains="x" * 65),
         {"region", "occupation_code", "name_contains"}),
    ]
    for call, request, expected in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, err.value.details())
        assert set(violations(err.value)) == expected, request
    assert (await stub.ListOccupations(pb.ListOccupationsRequest())).occupations == []
    assert (await stub.ListInstitutions(pb.ListInstitutionsRequest())).institutions == []
    assert await rows(voucher_server.url, "SELECT * FROM audit_records") == []


# ------------------------------------------------------------------------------ lists
async def _walk(call, request, page_size: int) -> tuple[list, int]:
    seen, token, pages = [], "", 0
    while True:
        request.page_size, request.page_token = page_size, token
        reply = await call(request)
        seen += list(reply.occupations if hasattr(reply, "occupations") else reply.institutions)
        pages += 1
        token = reply.next_page_token
        if not token:
            return seen, pages


@pytest.mark.policy("A1")
async def test_A1_list_occupations_by_prefix_level_region_and_day_in_pages_bound_to_their_filters(stub):
    for i in range(5):
        await register(stub, code=f"6-31-01-{i:02d}", level=4, standard=100_000 + i)
    await register(stub, code="6-31-01-00", level=3, standard=1, region="110105")
    await register(stub, code="4-07-05-01", level=4, standard=2)
    await revise(stub, date(2025, 1, 1), 300_000, code="6-31-01-02", level=4, region="110105")

    everything, _ = await _walk(stub.ListOccupations, pb.ListOccupationsRequest(), 50)
    assert [(o.code, o.level) for o in everything] == [("4-07-05-01", 4), ("6-31-01-00", 3)] + [
        (f"6-31-01-{i:02d}", 4) for i in range(5)]
    pages, count = await _walk(stub.ListOccupations, pb.ListOccupationsRequest(code_prefix="6-31", level=4), 2)
    assert [o.code for o in pages] == [f"6-31-01-{i:02d}" for i in range(5)] and count == 3
    assert {o.code: o.version for o in pages}["6-31-01-02"] == 2
    in_2024, _ = await _walk(stub.ListOccupations, pb.ListOccupationsRequest(
        code_prefix="6-31-01-02", in_force_on=day(date(2024, 12, 31))), 1)
    assert [(o.version, o.subsidy_standard_fen) for o in in_2024] == [(1, 100_002)]
    regional, _ = await _walk(stub.ListOccupations, pb.ListOccupationsRequest(region="110105"), 1)
    assert [(o.code, o.level) for o in regional] == [("6-31-01-00", 3), ("6-31-01-02", 4)]
    before_all, _ = await _walk(stub.ListOccupations, pb.ListOccupationsRequest(in_force_on=day(date(2019, 1, 1))), 5)
    assert before_all == []

    first = await stub.ListOccupations(pb.ListOccupationsRequest(code_prefix="6-31", page_size=2))
    assert first.next_page_token
    for other in (pb.ListOccupationsRequest(code_prefix="6-3", page_size=2, page_token=first.next_page_token),
                  pb.ListOccupationsRequest(code_prefix="6-31", level=4, page_size=2, page_token=first.next_page_token),
                  pb.ListOccupationsRequest(code_prefix="6-31", in_force_on=day(date(2025, 1, 1)), page_size=2,
                                            page_token=first.next_page_token),
                  pb.ListInstitutionsRequest(page_token=first.next_page_token)):
        call = stub.ListOccupations if isinstance(other, pb.ListOccupationsRequest) else stub.ListInstitutions
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(other)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(err.value)) == {"page_token"}


@pytest.mark.policy("P1", "X3")
async def test_P1_list_institutions_by_status_region_occupation_and_name_in_pages_bound_to_their_filters(stub):
    await register(stub, code=CODE)
    await register(stub, code="4-07-05-01")
    ids = {}
    for i in range(5):
        ids[i] = await institution(stub, codes=(CODE,) if i % 2 else (CODE, "4-07-05-01"), seed=100 + i,
                                   name=f"学校{i}", region="110105" if i < 3 else "")
    ids[5] = await institution(stub, codes=("4-07-05-01",), seed=105, name="100%_培训")
    await stub.SuspendInstitution(pb.SuspendInstitutionRequest(request_id=rid(), institution_id=ids[1], reason="x"))
    await stub.RemoveInstitution(pb.RemoveInstitutionRequest(request_id=rid(), institution_id=ids[2], reason="y"))

    async def listed(**filters) -> set[str]:
        found, _ = await _walk(stub.ListInstitutions, pb.ListInstitutionsRequest(**filters), 2)
        assert len(found) == len({i.institution_id for i in found})  # pages neither repeat nor skip
        return {i.institution_id for i in found}

    assert await listed() == set(ids.values())
    assert await listed(status=pb.INSTITUTION_STATUS_ACTIVE) == {ids[0], ids[3], ids[4], ids[5]}
    assert await listed(status=pb.INSTITUTION_STATUS_SUSPENDED) == {ids[1]}
    assert await listed(status=pb.INSTITUTION_STATUS_REMOVED) == {ids[2]}
    assert await listed(region="110105") == {ids[0], ids[1], ids[2]}
    assert await listed(occupation_code="4-07-05-01") == {ids[0], ids[2], ids[4], ids[5]}
    assert await listed(occupation_code="4-07-05") == set()  # whole codes only
    assert await listed(name_contains="%_") == {ids[5]}  # literally, not as a pattern
    assert await listed(name_contains="学校", region="110105", status=pb.INSTITUTION_STATUS_ACTIVE) == {ids[0]}

    first = await stub.ListInstitutions(pb.ListInstitutionsRequest(page_size=1))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListInstitutions(pb.ListInstitutionsRequest(page_size=1, page_token=first.next_page_token,
                                                               region="110105"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and set(violations(err.value)) == {"page_token"}


# ------------------------------------------------------------------------------ the migration
@pytest.mark.policy("A1")
async def test_A1_the_migration_turns_each_old_occupation_into_a_version_in_force_since_1990(database_url_factory):
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    url = database_url_factory("m")
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "voucher_svc" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    # the revision that brought the versions in, whatever number it ends up with
    [ours] = [s for s in ScriptDirectory.from_config(cfg).walk_revisions()
              if "occupation_versions" in Path(s.path).read_text() and "create_table" in Path(s.path).read_text()]
    await asyncio.to_thread(command.upgrade, cfg, ours.down_revision)
    created = datetime(2023, 5, 6, 7, 8, tzinfo=timezone.utc)
    db = Database(url)
    try:
        async with db.writer.begin() as conn:
            await conn.execute(text(
                "INSERT INTO occupations (code, level, name, subsidy_standard_fen, new_occupation, created_at) "
                "VALUES ('6-31-01-03', 4, '电工', 150000, true, :at), ('4-07-05-01', 5, '育婴员', 90000, false, :at)"),
                {"at": created})
            await conn.execute(text(
                "INSERT INTO institutions (institution_id, name, credit_code, address, occupation_codes, status, "
                "created_at) VALUES ('ins_old', '老学校', '91110000MA0000000X', '', '6-31-01-03', 'removed', :at)"),
                {"at": created})
    finally:
        await db.dispose()
    await asyncio.to_thread(command.upgrade, cfg, "head")

    versions = await rows(url, "SELECT code, level, version, name, subsidy_standard_fen, new_occupation, "
                               "min_class_hours, practical_oriented, region, effective_from, effective_to "
                               "FROM occupation_versions ORDER BY code")
    assert [tuple(r[:9]) for r in versions] == [("4-07-05-01", 5, 1, "育婴员", 90000, False, 0, False, ""),
                                                 ("6-31-01-03", 4, 1, "电工", 150000, True, 0, False, "")]
    assert {str(r.effective_from)[:10] for r in versions} == {"1990-01-01"} and {r.effective_to for r in versions} == {
        None}
    [old] = await rows(url, "SELECT nature, region, status, status_reason, version, bank_account_number "
                            "FROM institutions")
    assert tuple(old) == ("other", "", "removed", "", 0, None)


@pytest.mark.policy("P1")
async def test_an_institutions_payout_account_is_shown_in_full_only_to_staff_and_itself(stub, voucher_server, issuer):
    from skillpay.actors import ActorKind
    from skillpay.voucher.v1 import voucher_pb2_grpc

    await register(stub)
    ins = await institution(stub, bank_account=ACCOUNT)
    masked = "*" * (len(ACCOUNT.account_number) - 4) + ACCOUNT.account_number[-4:]
    readers = {(ActorKind.ADMIN, "admin-2"): ACCOUNT.account_number,
               (ActorKind.INSTITUTION, ins): ACCOUNT.account_number,
               (ActorKind.INSTITUTION, "ins_other"): masked, (ActorKind.PERSON, "0f" * 32): masked}
    for (kind, subject), shown in readers.items():
        channel = admin_channel(voucher_server.addr, issuer, kind, subject)
        try:
            reader = voucher_pb2_grpc.VoucherServiceStub(channel)
            got = await reader.GetInstitution(pb.GetInstitutionRequest(institution_id=ins))
            listed = await reader.ListInstitutions(pb.ListInstitutionsRequest())
        finally:
            await channel.close()
        assert got.bank_account.account_number == shown, kind
        assert [i.bank_account.account_number for i in listed.institutions if i.institution_id == ins] == [shown]
        assert got.bank_account.account_name == ACCOUNT.account_name  # the payee's name is not the secret

"""Every RPC of the three services, fed arbitrary field values generated from the protobuf descriptors.

Each service runs as a real process (no broker: events stay in the outbox), once per backend, and
is shared by all the examples of all its RPCs. For every call the test asserts:

1. the status is OK or one of the documented client errors (never INTERNAL, UNKNOWN,
   RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED, ...);
2. a refused call changed nothing: a fingerprint of the service's database (row count of every
   table, max(id) of ``audit_records`` and ``outbox``) is the same before and after;
3. error details stay bounded: the status message is at most 1,000 characters and the trailing
   metadata under 8 KB.

Requests are either fully arbitrary, or a valid request built by hand for the RPC (against the
catalogue, vouchers and fund seeded when the server starts) with one field replaced by an
arbitrary value, so that calls get past the first check. Most calls come from an actor allowed to
run every RPC of the service; some from an actor of random kind (PERMISSION_DENIED is then fine).
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor as _d
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from skillpay.actors import ActorKind
from skillpay.audit.v1 import audit_pb2
from skillpay.auth import Identity, TokenIssuer, authenticated_channel, load_or_create_private_key, public_pem
from skillpay.claim.v1 import claim_pb2, claim_pb2_grpc
from skillpay.cli import sample_data
from skillpay.cli.stack import grpc_serving
from skillpay.clock import shanghai_date, utcnow
from skillpay.db import Database
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.ops.v1 import ops_pb2, ops_pb2_grpc
from skillpay.pii import person_subject
from skillpay.ready import read_port
from skillpay.voucher.v1 import voucher_pb2, voucher_pb2_grpc
from tests.integration.ledger_process import LedgerProcess, private_pem, start_ledger

pytestmark = pytest.mark.integration

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.OUT_OF_RANGE,
}
MAX_DETAILS_CHARS = 1_000
MAX_TRAILER_BYTES = 8 * 1024
CALL_TIMEOUT_S = 30
# The fuzzed ledger has no bank: asking it for the bank's statement is UNAVAILABLE (and changes nothing).
ALSO_ALLOWED = {"ReconcileFromBank": {grpc.StatusCode.UNAVAILABLE}}
EXAMPLES_PER_RPC = 40


@dataclass(frozen=True)
class Spec:
    module: str  # python -m <module>
    env_prefix: str  # VOUCHER_, CLAIM_, LEDGER_
    pb2: object
    service: str  # name in pb2.DESCRIPTOR.services_by_name
    stub: type
    privileged: ActorKind  # may run every RPC of the service
    extra_env: dict = field(default_factory=dict)


SPECS = {
    "voucher": Spec("voucher_svc.entrypoints.grpc_server", "VOUCHER_", voucher_pb2, "VoucherService",
                    voucher_pb2_grpc.VoucherServiceStub, ActorKind.ADMIN),
    "claim": Spec("claim_svc.entrypoints.grpc_server", "CLAIM_", claim_pb2, "ClaimService",
                  claim_pb2_grpc.ClaimServiceStub, ActorKind.REVIEWER),
    # The payout worker finds nothing to pay (no broker, no payout requests); the bank is never called.
    "ledger": Spec("ledger_svc.entrypoints.grpc_server", "LEDGER_", ledger_pb2, "LedgerService",
                   ledger_pb2_grpc.LedgerServiceStub, ActorKind.FINANCE,
                   extra_env={"LEDGER_BANK_URL": "http://127.0.0.1:9/unused-bank"}),
}

# Every service also serves the operations RPCs (parked events), to admins only.
OPERATIONS = ops_pb2.DESCRIPTOR.services_by_name["Operations"]
RPCS = [(svc, m.name) for svc, spec in SPECS.items()
        for m in [*spec.pb2.DESCRIPTOR.services_by_name[spec.service].methods, *OPERATIONS.methods]]


def _method(spec: Spec, name: str) -> _d.MethodDescriptor:
    own = spec.pb2.DESCRIPTOR.services_by_name[spec.service].methods_by_name
    return own[name] if name in own else OPERATIONS.methods_by_name[name]


def _stub(spec: Spec, channel, name: str):
    own = spec.pb2.DESCRIPTOR.services_by_name[spec.service].methods_by_name
    return spec.stub(channel) if name in own else ops_pb2_grpc.OperationsStub(channel)


def rid() -> str:
    return uuid.uuid4().hex


# ------------------------------------------------------------------------------------------ servers


class Server:
    """A running service process; ``context`` holds the ids of what was seeded, for plausible requests."""

    def __init__(self, name: str, addr: str, url: str, proc: subprocess.Popen, log: Path):
        self.name, self.addr, self.url, self.proc, self.log = name, addr, url, proc, log
        self.context: dict = {}
        self.fingerprint_sql = ""

    def __repr__(self) -> str:  # keeps hypothesis' failure report short
        return f"<{self.name} server at {self.addr}, {self.url.split(':', 1)[0]}>"


class ServerPool:
    """One server process per (service, backend), started on first use, stopped with the module."""

    def __init__(self, root: Path, signing_key):
        self.root = root
        self.signing_key = signing_key
        self.issuer = TokenIssuer(signing_key)
        self.pii_key = base64.b64encode(os.urandom(32)).decode()
        self.lookup_key = base64.b64encode(os.urandom(32)).decode()
        self.servers: dict[tuple[str, str], Server] = {}
        self.ledgers: list[LedgerProcess] = []

    def start(self, name: str, backend: str, url: str, ledger_url: str = "") -> Server:
        spec = SPECS[name]
        work = self.root / f"{name}-{backend}"
        work.mkdir(parents=True, exist_ok=True)
        log_path, ready_file = work / f"{name}.log", work / f"{name}.addr"
        extra_env = dict(spec.extra_env)
        if name == "voucher":
            # IssueVoucher asks a ledger whether the fund is open: a real one of its own, fund "ESF" open.
            ledger = start_ledger(work / "ledger", ledger_url, self.signing_key, self.pii_key, self.lookup_key)
            self.ledgers.append(ledger)
            extra_env.update(VOUCHER_LEDGER_ADDR=ledger.addr, SKILLPAY_AUTH_PRIVATE_KEY=private_pem(self.signing_key))
        env = dict(os.environ, SKILLPAY_READY_FILE=str(ready_file), SKILLPAY_DATA_DIR=str(work),
                   KAFKA_BOOTSTRAP_SERVERS="", SKILLPAY_AUTH_PUBLIC_KEY=public_pem(self.signing_key),
                   SKILLPAY_PII_KEY=self.pii_key, SKILLPAY_LOOKUP_KEY=self.lookup_key,
                   **{f"{spec.env_prefix}GRPC_LISTEN": "127.0.0.1:0", f"{spec.env_prefix}METRICS_LISTEN": "127.0.0.1:0",
                      f"{spec.env_prefix}DATABASE_URL": url},
                   **extra_env)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", spec.module], env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        for _ in range(600):
            if (port := read_port(ready_file)) and grpc_serving(f"127.0.0.1:{port}"):
                break
            if proc.poll() is not None:
                pytest.fail(f"the {name} service exited:\n{log_path.read_text()}")
            time.sleep(0.05)
        else:
            proc.terminate()
            pytest.fail(f"the {name} service did not come up:\n{log_path.read_text()}")
        server = Server(name, f"127.0.0.1:{port}", url, proc, log_path)
        self.servers[(name, backend)] = server
        return server

    def stop_all(self) -> None:
        for server in self.servers.values():
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in self.servers.values():
            try:
                server.proc.wait(15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
        for ledger in self.ledgers:
            ledger.stop()


@pytest.fixture(scope="module")
def server_pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("rpc_fuzz")
    pool = ServerPool(root, load_or_create_private_key(root / "keys" / "actor_signing.pem"))
    yield pool
    pool.stop_all()


VALID_UNTIL = Timestamp()
VALID_UNTIL.FromDatetime(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365))
OCCUPATION = "6-31-01-03"


def yesterday() -> date_pb2.Date:
    d = shanghai_date(utcnow()) - timedelta(days=1)
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


async def _seed_voucher(stub, ctx: dict) -> None:
    vp = voucher_pb2
    await stub.RegisterOccupation(vp.RegisterOccupationRequest(request_id=rid(), code=OCCUPATION, name="电工",
                                                               level=4, subsidy_standard_fen=150_000,
                                                               effective_from=date_pb2.Date(year=2020, month=1, day=1)))
    await stub.RegisterOccupation(vp.RegisterOccupationRequest(request_id=rid(), code="4-07-05-01", name="育婴员",
                                                               level=5, subsidy_standard_fen=90_000))
    inst = await stub.RegisterInstitution(vp.RegisterInstitutionRequest(
        request_id=rid(), name="示范学校", credit_code=sample_data.credit_code(random.Random(7)), address="北京",
        occupation_codes=[OCCUPATION]))
    ctx["institution_id"] = inst.institution_id
    for key, seed in (("status_institution_id", 8), ("removable_institution_id", 9)):  # X3's status commands
        ctx[key] = (await stub.RegisterInstitution(vp.RegisterInstitutionRequest(
            request_id=rid(), name="示范学校", credit_code=sample_data.credit_code(random.Random(seed)),
            address="北京", occupation_codes=[OCCUPATION]))).institution_id
    ctx["resident_id"] = holder = sample_data.resident_id(random.Random(1))
    vouchers = [await stub.IssueVoucher(vp.IssueVoucherRequest(
        request_id=rid(), resident_id=sample_data.resident_id(random.Random(100 + i)), name="张三",
        occupation_code=OCCUPATION, level=4, fund_source="ESF", batch_id="b1", valid_until=VALID_UNTIL))
        for i in range(3)]
    ctx["issued_voucher_ids"] = [v.voucher_id for v in vouchers]

    async def token_for(resident_id: str, voucher_id: str) -> str:  # V2: the holder's app presents a voucher
        return (await stub.CreatePresentationToken(vp.CreatePresentationTokenRequest(
            request_id=rid(), voucher_id=voucher_id), metadata=ctx["person"](resident_id))).token

    # Tokens for enrolling the issued vouchers (a plausible EnrolVoucher); used or expired later: refused.
    ctx["presentation_tokens"] = [await token_for(sample_data.resident_id(random.Random(100 + i)), v.voucher_id)
                                  for i, v in enumerate(vouchers)]
    held = await stub.IssueVoucher(vp.IssueVoucherRequest(
        request_id=rid(), resident_id=holder, name="张三", occupation_code=OCCUPATION, level=4,
        fund_source="ESF", batch_id="b1", valid_until=VALID_UNTIL))
    await stub.EnrolVoucher(vp.EnrolVoucherRequest(request_id=rid(), voucher_id=held.voucher_id,
                                                   institution_id=inst.institution_id, real_person_verified=True,
                                                   presentation_token=await token_for(holder, held.voucher_id)))
    ctx["enrolled_voucher_id"] = held.voucher_id
    cert = await stub.RecordCertificate(vp.RecordCertificateRequest(
        request_id=rid(), resident_id=holder, name="张三",
        certificate_number=sample_data.skill_level_certificate_number(4, shanghai_date(utcnow()) - timedelta(days=1)),
        certificate_type=vp.CERTIFICATE_TYPE_SKILL_LEVEL, occupation_code=OCCUPATION, level=4,
        issued_on=yesterday()))
    ctx["certificate_id"] = cert.certificate_id
    ctx["voucher_ids"] = ctx["issued_voucher_ids"] + [held.voucher_id]
    ctx["page_token"] = (await stub.ListVouchers(vp.ListVouchersRequest(page_size=1))).next_page_token
    for batch_id, mode in (("fuzz-listed", vp.BATCH_MODE_LISTED), ("fuzz-quota", vp.BATCH_MODE_QUOTA)):
        await stub.CreateBatch(vp.CreateBatchRequest(
            request_id=rid(), batch_id=batch_id, fund_source="ESF", valid_until=VALID_UNTIL,
            kind=vp.VOUCHER_KIND_GENERAL, mode=mode, quota=5 if mode == vp.BATCH_MODE_QUOTA else 0))
    ctx["claimant"] = sample_data.resident_id(random.Random(2))  # claims with a person token of their own
    ctx["occupation_token"] = (await stub.ListOccupations(vp.ListOccupationsRequest(page_size=1))).next_page_token
    for seed in (1, 2):
        await stub.RecordEmployment(vp.RecordEmploymentRequest(
            request_id=rid(), resident_id=holder, name="张三", employer_credit_code=sample_data.credit_code(
                random.Random(seed)), employer_name="示范公司", start_date=yesterday(),
            source=vp.EMPLOYMENT_SOURCE_SOCIAL_INSURANCE))
    ctx["employment_token"] = (await stub.ListEmployment(vp.ListEmploymentRequest(
        resident_id=holder, page_size=1))).next_page_token


async def _seed_ledger(stub, ctx: dict) -> None:
    lp = ledger_pb2
    for code in ("ESF", "UIF"):
        await stub.OpenFund(lp.OpenFundRequest(request_id=rid(), fund_code=code, name="就业补助资金",
                                               fund_type=lp.FUND_TYPE_EMPLOYMENT_SUBSIDY))
        await stub.AllocateBudget(lp.AllocateBudgetRequest(request_id=rid(), fund_code=code, amount_fen=1_000_000,
                                                           memo="2025 budget"))
    ctx["fund_code"] = "ESF"
    ctx["page_token"] = (await stub.ListFunds(lp.ListFundsRequest(page_size=1))).next_page_token
    ctx["journal_token"] = (await stub.ListJournalEntries(lp.ListJournalEntriesRequest(page_size=1))).next_page_token
    await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
        lp.Transfer(id=f"seed-{i}", debit_account_id="ESF:appropriation", credit_account_id="ESF:available",
                    amount=100, ledger="ESF", code=lp.TRANSFER_CODE_ALLOCATION) for i in range(2)]))
    ctx["history_token"] = (await stub.GetAccountHistory(lp.GetAccountHistoryRequest(
        account_id="ESF:available", page_size=1))).next_page_token


async def _seed_claim(stub, ctx: dict) -> None:
    # Claims only come from voucher.redeemed events (no broker here): nothing to seed.
    ctx["claim_id"] = "clm_" + "0" * 26


SEEDERS = {"voucher": _seed_voucher, "ledger": _seed_ledger, "claim": _seed_claim}


async def _fingerprint_sql(url: str) -> str:
    """One query: the row count of every table, max(id) and count of audit_records and outbox."""
    db = Database(url)
    try:
        async with db.reader.connect() as conn:
            tables = sorted(await conn.run_sync(lambda c: sa_inspect(c).get_table_names()))
            quote = conn.dialect.identifier_preparer.quote
    finally:
        await db.dispose()
    parts = [f"(SELECT count(*) FROM {quote(t)}) AS {quote('n_' + t)}" for t in tables]
    parts += [f"(SELECT max(id) FROM {quote(t)}) AS {quote('max_' + t)}" for t in ("audit_records", "outbox")]
    return "SELECT " + ", ".join(parts)


@pytest.fixture
async def server(request, server_pool: ServerPool, backend, database_url_factory) -> Server:
    """The server of this test's service and backend (started and seeded on first use)."""
    name = request.node.callspec.params["rpc"][0]
    found = server_pool.servers.get((name, backend))
    if found is None:
        found = server_pool.start(name, backend, database_url_factory(name[0]),
                                  database_url_factory("fl") if name == "voucher" else "")
        spec = SPECS[name]
        channel = authenticated_channel(found.addr, Identity(server_pool.issuer, spec.privileged, f"{name}-seed"))
        # The holder's app (V2) signs as a PERSON named by the look-up hash, as the gateway will.
        found.context["person"] = lambda resident_id: Identity(
            server_pool.issuer, ActorKind.PERSON,
            person_subject(resident_id, base64.b64decode(server_pool.lookup_key))).metadata()
        try:
            await SEEDERS[name](spec.stub(channel), found.context)
        finally:
            await channel.close()
        found.fingerprint_sql = await _fingerprint_sql(found.url)
    assert found.proc.poll() is None, f"the {name} server died:\n{found.log.read_text()[-5000:]}"
    return found


@pytest.fixture
async def db(server: Server):
    database = Database(server.url)
    yield database
    await database.dispose()


@pytest.fixture
async def channel(server: Server, server_pool: ServerPool):
    spec = SPECS[server.name]
    ch = authenticated_channel(server.addr, Identity(server_pool.issuer, spec.privileged, f"{server.name}-fuzzer"))
    yield ch
    await ch.close()


async def fingerprint(db: Database, sql: str) -> dict:
    async with db.reader.connect() as conn:
        return dict((await conn.execute(text(sql))).one()._mapping)


# ------------------------------------------------------------------------------------- strategies

def _with_edges(edges, lo, hi):
    """Integers over the whole range, with its edges (and other telling values) drawn often."""
    return st.one_of(st.sampled_from(sorted({e for e in edges if lo <= e <= hi})), st.integers(lo, hi))


_EDGES = [0, 1, -1, 2, 5, 6, 100, 499, 500, 501, 10**9, 2**31 - 1, -(2**31), 2**31, 2**32 - 1, 2**53, 2**63 - 1,
          -(2**63), 2**64 - 1]
INT32 = _with_edges(_EDGES, -(2**31), 2**31 - 1)
INT64 = _with_edges(_EDGES, -(2**63), 2**63 - 1)
UINT32 = _with_edges(_EDGES, 0, 2**32 - 1)
UINT64 = _with_edges(_EDGES, 0, 2**64 - 1)
# Timestamp seconds at and around the edges of what datetime (years 1..9999) and Timestamp can hold.
_TS_EDGES = [0, -1, 1, -62135596800, -62135596801, 253402300799, 253402300800, 2**31, -(2**31), 2**63 - 1, -(2**63),
             1_700_000_000, 4_102_444_800]
NASTY_CHARS = ["\u202e", "\u202d", "\u2066", "\ufeff", "\x00", "\x1b", "\r\n", "\u0301", "\U0001f600",
               "\U0010ffff", "\ufffd", "%s", "'", '"', ";", "\\", "|", ":", "k1:", "../", "\u00a0", "\u3000"]
_any_char = st.characters(codec="utf-8")  # everything but surrogates: control, bidi, non-BMP, ...
SHORT_TEXT = st.text(_any_char, max_size=40)
NASTY_TEXT = st.lists(st.one_of(st.sampled_from(NASTY_CHARS), SHORT_TEXT), min_size=1, max_size=6).map("".join)
LONG_TEXT = st.builds(lambda unit, n: (unit * (n // max(len(unit), 1) + 1))[:n],
                      st.one_of(st.sampled_from(["x", "电", "\u202e", "\U0001f600", "0"]), SHORT_TEXT.filter(bool)),
                      st.integers(65, 100_000))
# Values at the limits the services (should) enforce: empty, blank, NUL, just over 64/100/128 characters, 100 KB.
TELLING_TEXT = st.sampled_from(["", " ", "\x00", "a\x00b", "\u202e", "\ufeff", "x" * 65, "x" * 101, "x" * 129,
                                "电" * 65, "\U0001f600" * 65, "x" * 100_000])
STRINGS = st.one_of(SHORT_TEXT, NASTY_TEXT, LONG_TEXT, TELLING_TEXT)
BYTES = st.one_of(st.binary(max_size=64), st.integers(1_000, 100_000).map(lambda n: b"\xff" * n))


def _timestamps():
    return st.builds(Timestamp, seconds=_with_edges(_TS_EDGES + _EDGES, -(2**63), 2**63 - 1),
                     nanos=_with_edges(_EDGES + [999_999_999, 10**9 + 1], -(2**31), 2**31 - 1))


def _dates():
    small = _with_edges(_EDGES + [12, 13, 28, 29, 30, 31, 32, 1970, 2024, 9999, 10000], -(2**31), 2**31 - 1)
    return st.builds(date_pb2.Date, year=small, month=small, day=small)


def scalar_strategy(f: _d.FieldDescriptor):
    t = f.type
    if t == f.TYPE_STRING:
        return STRINGS
    if t == f.TYPE_BYTES:
        return BYTES
    if t == f.TYPE_BOOL:
        return st.booleans()
    if t == f.TYPE_ENUM:
        # Open enums: any int32, unknown values included; favour the declared ones a little.
        return st.one_of(st.sampled_from([v.number for v in f.enum_type.values]), INT32)
    if t in (f.TYPE_INT32, f.TYPE_SINT32, f.TYPE_SFIXED32):
        return INT32
    if t in (f.TYPE_INT64, f.TYPE_SINT64, f.TYPE_SFIXED64):
        return INT64
    if t in (f.TYPE_UINT32, f.TYPE_FIXED32):
        return UINT32
    if t in (f.TYPE_UINT64, f.TYPE_FIXED64):
        return UINT64
    if t in (f.TYPE_FLOAT, f.TYPE_DOUBLE):
        return st.floats(width=32 if t == f.TYPE_FLOAT else 64)
    raise AssertionError(f"no strategy for {f.full_name} (type {t})")


def _is_map(f: _d.FieldDescriptor) -> bool:
    return f.type == f.TYPE_MESSAGE and f.message_type.GetOptions().map_entry


def _is_repeated(f: _d.FieldDescriptor) -> bool:
    return f.is_repeated


def value_strategy(f: _d.FieldDescriptor, depth: int):
    """Values for one field: a scalar, a message, a list (repeated) or a dict (map)."""
    if _is_map(f):
        key_f, value_f = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
        return st.dictionaries(scalar_strategy(key_f), single_value(value_f, depth + 1), max_size=5)
    if _is_repeated(f):
        return st.lists(single_value(f, depth + 1), max_size=5)
    return single_value(f, depth)


def single_value(f: _d.FieldDescriptor, depth: int):
    if f.type == f.TYPE_MESSAGE:
        return message_strategy(f.message_type, depth + 1)
    return scalar_strategy(f)


MAX_DEPTH = 3


def message_strategy(desc: _d.Descriptor, depth: int = 0):
    """Arbitrary messages of this type: every field set or left unset, nesting at most MAX_DEPTH deep."""
    if desc.full_name == "google.protobuf.Timestamp":
        return _timestamps()
    if desc.full_name == "google.type.Date":
        return _dates()
    cls = _message_class(desc)
    if depth >= MAX_DEPTH:
        return st.just(cls())
    optional = {f.name: value_strategy(f, depth) for f in desc.fields}
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: build(cls, values))


_CLASSES: dict[str, type] = {}


def _message_class(desc: _d.Descriptor) -> type:
    if desc.full_name not in _CLASSES:
        from google.protobuf import message_factory

        _CLASSES[desc.full_name] = message_factory.GetMessageClass(desc)
    return _CLASSES[desc.full_name]


def build(cls, values: dict):
    message = cls()
    for name, value in values.items():
        set_field(message, name, value)
    return message


def set_field(message, name: str, value) -> None:
    f = message.DESCRIPTOR.fields_by_name[name]
    if _is_map(f):
        target = getattr(message, name)
        target.clear()
        for k, v in value.items():
            if f.message_type.fields_by_name["value"].type == f.TYPE_MESSAGE:
                target[k].CopyFrom(v)
            else:
                target[k] = v
    elif _is_repeated(f):
        del getattr(message, name)[:]
        getattr(message, name).extend(value)
    elif f.type == f.TYPE_MESSAGE:
        getattr(message, name).CopyFrom(value)
    else:
        setattr(message, name, value)


# ---------------------------------------------------------------------- plausible (valid) requests
# What a request creates gets a fresh key every time (not one derived from ``n``): a replayed or
# shrunk example must not be refused as ALREADY_EXISTS because an earlier example created it.

def _plausible_voucher(method: str, ctx: dict, n: int):
    vp = voucher_pb2
    vouchers = ctx["voucher_ids"]
    return {
        "RegisterOccupation": lambda: vp.RegisterOccupationRequest(
            request_id=rid(), code=f"T-{rid()[:12]}", name="电工", level=1 + n % 5,
            subsidy_standard_fen=1 + n, new_occupation=bool(n % 2)),
        "ListOccupations": lambda: vp.ListOccupationsRequest(
            page_size=n % 4, page_token=ctx["occupation_token"] if n % 2 else "",
            code_prefix="6-31" if n % 3 == 1 else "", level=n % 6),
        "RegisterInstitution": lambda: vp.RegisterInstitutionRequest(
            request_id=rid(), name=f"学校{n}", credit_code=sample_data.credit_code(),
            address="北京市朝阳区", occupation_codes=[OCCUPATION]),
        "GetInstitution": lambda: vp.GetInstitutionRequest(institution_id=ctx["institution_id"]),
        "ReviseOccupation": lambda: vp.ReviseOccupationRequest(
            request_id=rid(), code="4-07-05-01", level=5, name="育婴员", subsidy_standard_fen=1 + n,
            min_class_hours=n % 100, region="411300" if n % 2 else "",
            effective_from=date_pb2.Date(year=2021 + n % 5, month=1 + n % 12, day=1)),
        "ListInstitutions": lambda: vp.ListInstitutionsRequest(
            page_size=n % 4, status=n % 4, occupation_code=OCCUPATION if n % 2 else "",
            name_contains="学校" if n % 3 else "%_"),
        "SuspendInstitution": lambda: vp.SuspendInstitutionRequest(
            request_id=rid(), institution_id=ctx["status_institution_id"], reason=f"调查{n}"),
        "ReinstateInstitution": lambda: vp.ReinstateInstitutionRequest(
            request_id=rid(), institution_id=ctx["status_institution_id"]),
        "RemoveInstitution": lambda: vp.RemoveInstitutionRequest(
            request_id=rid(), institution_id=ctx["removable_institution_id"], reason="骗取补贴"),
        "UpdateInstitutionBankAccount": lambda: vp.UpdateInstitutionBankAccountRequest(
            request_id=rid(), institution_id=ctx["status_institution_id"], bank_account=vp.BankAccount(
                account_number=f"62220202{n:08d}", account_name="示范学校", bank_code="102100099996")),
        "IssueVoucher": lambda: vp.IssueVoucherRequest(
            request_id=rid(), resident_id=sample_data.resident_id(), name="李四",
            occupation_code=OCCUPATION, level=4, fund_source="ESF", batch_id=f"b{n % 3}", valid_until=VALID_UNTIL),
        "EnrolVoucher": lambda: vp.EnrolVoucherRequest(
            request_id=rid(), voucher_id=vouchers[n % len(vouchers)], institution_id=ctx["institution_id"],
            real_person_verified=True,
            presentation_token=ctx["presentation_tokens"][n % len(ctx["presentation_tokens"])]),
        "CreatePresentationToken": lambda: vp.CreatePresentationTokenRequest(
            request_id=rid(), voucher_id=vouchers[n % len(vouchers)]),
        "GetPerson": lambda: vp.GetPersonRequest(resident_id=ctx["resident_id"] if n % 4 else ""),
        "SetHardshipGroups": lambda: vp.SetHardshipGroupsRequest(
            request_id=rid(), resident_id=ctx["resident_id"], groups=[1 + n % 6, 1 + (n // 6) % 6][:n % 3],
            effective_from=yesterday()),
        "RecordCertificate": lambda: vp.RecordCertificateRequest(
            request_id=rid(), resident_id=ctx["resident_id"], name="张三",
            certificate_number=sample_data.skill_level_certificate_number(
                4, shanghai_date(utcnow()) - timedelta(days=1)),
            certificate_type=vp.CERTIFICATE_TYPE_SKILL_LEVEL, occupation_code=OCCUPATION, level=4,
            issued_on=yesterday()),
        "GetCertificate": lambda: vp.GetCertificateRequest(certificate_id=ctx["certificate_id"]),
        "RedeemVoucher": lambda: vp.RedeemVoucherRequest(
            request_id=rid(), voucher_id=ctx["enrolled_voucher_id"], certificate_id=ctx["certificate_id"]),
        "GetVoucher": lambda: vp.GetVoucherRequest(voucher_id=vouchers[n % len(vouchers)]),
        "ListVouchers": lambda: vp.ListVouchersRequest(
            page_size=n % 4, page_token=ctx["page_token"] if n % 2 else "", state=n % 8),
        "RecordEmployment": lambda: vp.RecordEmploymentRequest(
            request_id=rid(), resident_id=ctx["resident_id"], name="张三", employer_credit_code=sample_data.credit_code(),
            employer_name=f"公司{n}", start_date=yesterday(), source=1 + n % 3),
        "ListEmployment": lambda: vp.ListEmploymentRequest(
            resident_id=ctx["resident_id"], page_size=n % 4, page_token=ctx["employment_token"] if n % 2 else ""),
        "ListAuditRecords": lambda: audit_pb2.ListAuditRecordsRequest(
            aggregate_id=vouchers[n % len(vouchers)], page_size=n % 3),
        # the life cycle (V4, V5, X2)
        "ExpireDueVouchers": lambda: vp.ExpireDueVouchersRequest(request_id=rid(), limit=n % 1001),
        "CancelVoucher": lambda: vp.CancelVoucherRequest(request_id=rid(), voucher_id=vouchers[n % len(vouchers)],
                                                         reason=f"理由 {n}"),
        "RevokeVoucher": lambda: vp.RevokeVoucherRequest(request_id=rid(), voucher_id=vouchers[n % len(vouchers)],
                                                         reason=f"fraud {n}"),
        "RollBackRedemption": lambda: vp.RollBackRedemptionRequest(
            request_id=rid(), voucher_id=ctx["enrolled_voucher_id"], reason=f"annulled {n}"),
        "CreateBatch": lambda: vp.CreateBatchRequest(
            request_id=rid(), batch_id=f"fb-{rid()[:12]}", fund_source="ESF", valid_until=VALID_UNTIL,
            kind=vp.VOUCHER_KIND_GENERAL, mode=1 + n % 2, quota=(1 + n) if n % 2 else 0),
        "GetBatch": lambda: vp.GetBatchRequest(batch_id=("fuzz-listed", "fuzz-quota")[n % 2]),
        # One chunk per call (so a refused call is refused whole); a fresh chunk number each time.
        "IssueBatchVouchers": lambda: vp.IssueBatchChunk(
            batch_id="fuzz-listed", chunk_no=uuid.uuid4().int % 10**7, first_row=n, persons=[
                vp.BatchPerson(resident_id=sample_data.resident_id(), name="王五") for _ in range(1 + n % 3)]),
        "ClaimVoucher": lambda: vp.ClaimVoucherRequest(request_id=rid(), batch_id="fuzz-quota",
                                                       resident_id=ctx["claimant"], name="张三"),
    }[method]()


def _plausible_ledger(method: str, ctx: dict, n: int):
    lp = ledger_pb2
    return {
        "OpenFund": lambda: lp.OpenFundRequest(request_id=rid(), fund_code=f"F-{rid()[:12]}", name="失业保险基金",
                                               fund_type=1 + n % 4),
        "AllocateBudget": lambda: lp.AllocateBudgetRequest(request_id=rid(), fund_code=ctx["fund_code"],
                                                           amount_fen=1 + n, memo="top-up"),
        "GetFund": lambda: lp.GetFundRequest(fund_code=ctx["fund_code"]),
        "ListFunds": lambda: lp.ListFundsRequest(page_size=n % 4, page_token=ctx["page_token"] if n % 2 else ""),
        "ListJournalEntries": lambda: lp.ListJournalEntriesRequest(
            page_size=n % 4, page_token=ctx["journal_token"] if n % 2 else "", fund_code=ctx["fund_code"]),
        "GetPayment": lambda: lp.GetPaymentRequest(payment_id=f"pay_{n}"),
        "ListPayments": lambda: lp.ListPaymentsRequest(page_size=n % 4, state=n % 7, reference_key="voucher_id",
                                                       reference_value=f"vch_{n}"),
        "ListAuditRecords": lambda: audit_pb2.ListAuditRecordsRequest(aggregate_id=ctx["fund_code"], page_size=n % 3),
        "CreateTransfers": lambda: lp.CreateTransfersRequest(transfers=[lp.Transfer(
            id=f"fz-{rid()[:12]}", debit_account_id="ESF:available", credit_account_id="ESF:payables", amount=1 + n,
            ledger="ESF", code=lp.TRANSFER_CODE_COMMITMENT, pending=bool(n % 2), user_data=f"fuzz {n}")]),
        "LookupAccounts": lambda: lp.LookupAccountsRequest(account_ids=["ESF:available", "UIF:payables"][:1 + n % 2]),
        "GetAccountHistory": lambda: lp.GetAccountHistoryRequest(
            account_id="ESF:available", page_size=n % 3, page_token=ctx["history_token"] if n % 2 else ""),
        "GetBalancesAsOf": lambda: lp.GetBalancesAsOfRequest(account_ids=["ESF:available"],
                                                             as_of=Timestamp(seconds=1_700_000_000 + n)),
        "VerifyLedger": lambda: lp.VerifyLedgerRequest(),
        "GetTrialBalance": lambda: lp.GetTrialBalanceRequest(),
        "GetFundStatement": lambda: lp.GetFundStatementRequest(
            fund_code=ctx["fund_code"], from_day=_day(n % 28 + 1), to_day=_day(n % 28 + 1 + n % 3), format=n % 3),
        "GetFundChart": lambda: lp.GetFundChartRequest(fund_code=ctx["fund_code"], from_day=_day(1),
                                                       to_day=_day(1 + n % 5), format=n % 3),
        # One message: the statement's header and its whole (small) file.
        "ReconcileStatement": lambda: lp.ReconcileStatementRequest(
            request_id=rid(), fund_code=ctx["fund_code"], day=_day(1), format=lp.STATEMENT_FORMAT_CSV,
            chunk=_statement_csv(ctx["fund_code"], n)),
        "ReconcileFromBank": lambda: lp.ReconcileFromBankRequest(request_id=rid(), fund_code=ctx["fund_code"],
                                                                 day=_day(1 + n % 28)),
    }[method]()


def _day(day: int) -> date_pb2.Date:
    return date_pb2.Date(year=2026, month=6, day=min(day, 30))


def _statement_csv(fund: str, n: int) -> bytes:
    import io as _io
    from datetime import date as _date

    from bench.statements import line, write_csv

    out = _io.StringIO(newline="")
    write_csv([line(2, _date(2026, 6, 1), f"pay_{n}", 1 + n, fund=fund)], out)
    return out.getvalue().encode()


def _plausible_claim(method: str, ctx: dict, n: int):
    cp = claim_pb2
    return {
        "GetClaim": lambda: cp.GetClaimRequest(claim_id=ctx["claim_id"]),
        "ListClaims": lambda: cp.ListClaimsRequest(page_size=n % 4, voucher_id=f"vch_{n}", state=n % 6),
        "RequestPayoutAgain": lambda: cp.RequestPayoutAgainRequest(request_id=rid(), claim_id=ctx["claim_id"]),
        "ListAuditRecords": lambda: audit_pb2.ListAuditRecordsRequest(aggregate_id=ctx["claim_id"], page_size=n % 3),
    }[method]()


def _plausible_operations(method: str, service: str, n: int):
    return {
        "ListParkedEvents": lambda: ops_pb2.ListParkedEventsRequest(state=n % 3, page_size=n % 4),
        "ReplayParkedEvent": lambda: ops_pb2.ReplayParkedEventRequest(request_id=rid(),
                                                                      parked_event_id=f"{service}-{n}"),
    }[method]()


PLAUSIBLE = {"voucher": _plausible_voucher, "ledger": _plausible_ledger, "claim": _plausible_claim}


def _forged_page_tokens():
    """Page tokens that decode like ours (``k1:`` + arbitrary key) or almost."""
    keys = st.one_of(SHORT_TEXT, NASTY_TEXT, st.integers().map(str), LONG_TEXT,
                     st.sampled_from(["x", "|", "x|", "x|y", "|4", "\x00", "\u00b2", "\u0663", "1" * 30, "-1"]))
    prefix = st.sampled_from(["k1:", "k1:", "k2:", "", "K1:"])
    encode = st.sampled_from([base64.urlsafe_b64encode, base64.b64encode])
    return st.builds(lambda p, k, enc: enc(f"{p}{k}".encode()).decode(), prefix, keys, encode)


def field_mutation(f: _d.FieldDescriptor):
    """A replacement value for one field: arbitrary, plus some shapes a field of this name invites."""
    base = value_strategy(f, 0)
    if f.name == "page_token":
        return st.one_of(base, _forged_page_tokens())
    return base


def request_strategy(spec: Spec, method: _d.MethodDescriptor, server: Server):
    """(how it was made, the request): arbitrary, or a valid request with one field mutated, or valid."""
    desc = method.input_type

    @st.composite
    def arbitrary(draw):
        request = draw(message_strategy(desc))
        if "request_id" in desc.fields_by_name and draw(st.booleans()):
            request.request_id = rid()  # so that a mutating call gets past its first check
        return ("arbitrary", request)

    def plausible(n):
        if method.name in OPERATIONS.methods_by_name:
            return _plausible_operations(method.name, server.name, n)
        return PLAUSIBLE[server.name](method.name, server.context, n)

    valid = st.integers(0, 10_000).map(lambda n: ("valid", plausible(n)))

    @st.composite
    def mutated(draw):
        request = plausible(draw(st.integers(0, 10_000)))
        if not desc.fields:  # VerifyLedgerRequest: nothing to mutate
            return ("valid", request)
        f = draw(st.sampled_from(list(desc.fields)))
        if draw(st.integers(0, 3)) == 0 and not _is_repeated(f) and f.type != f.TYPE_MESSAGE:
            request.ClearField(f.name)  # left at its default ("", 0, false)
            return (f"valid with {f.name} cleared", request)
        set_field(request, f.name, draw(field_mutation(f)))
        return (f"valid with {f.name} mutated", request)

    return st.one_of(arbitrary(), mutated(), mutated(), mutated(), valid)


ACTOR_KINDS = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(list(ActorKind)))


# -------------------------------------------------------------------------------------------- test


def server_traceback(server: Server, details: str, limit: int = 4000) -> str:
    """The traceback the server logged for an INTERNAL answer ("internal error (request id ...)"), if any."""
    match = re.search(r"request id (.*)\)$", details)
    if not match:
        return ""
    lines = server.log.read_text(errors="replace").splitlines()
    for line in lines:  # JSON log lines (the default) hold the traceback in "exception"
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "unhandled error" in record.get("message", "") and record.get("request_id") == match.group(1):
            return record.get("exception", "")[-limit:]
    for i, line in enumerate(lines):
        if "unhandled error" in line and f"request_id={match.group(1)}" in line:
            tail = []
            for follow in lines[i + 1:]:
                if re.match(r"\d{4}-\d\d-\d\d ", follow):
                    break
                tail.append(follow)
            return "\n".join(tail)[-limit:]
    return ""


def _trailer_bytes(metadata) -> int:
    total = 0
    for key, value in metadata or ():
        total += len(key) + (len(value) if isinstance(value, (bytes, str)) else len(str(value)))
    return total


@pytest.mark.parametrize("rpc", RPCS, ids=[f"{svc}.{name}" for svc, name in RPCS])
@settings(max_examples=EXAMPLES_PER_RPC, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_every_rpc_answers_arbitrary_input_with_a_client_error_and_changes_nothing_when_refusing(
        rpc, server, db, channel, server_pool, data):
    name, method_name = rpc
    spec = SPECS[name]
    method = _method(spec, method_name)
    how, request = data.draw(request_strategy(spec, method, server), label="request")
    kind = data.draw(ACTOR_KINDS, label="actor kind (None: the privileged one)")
    metadata = None
    if kind is not None:
        subject = server.context.get("institution_id", "someone") if kind is ActorKind.INSTITUTION else "fuzz-actor"
        metadata = Identity(server_pool.issuer, kind, subject).metadata()
    elif method_name in OPERATIONS.methods_by_name:  # the operations RPCs are for admins
        metadata = Identity(server_pool.issuer, ActorKind.ADMIN, "fuzz-admin").metadata()
    elif method_name == "ClaimVoucher":  # for persons, each for themselves
        subject = person_subject(server.context["claimant"], base64.b64decode(server_pool.lookup_key))
        metadata = Identity(server_pool.issuer, ActorKind.PERSON, subject).metadata()
    note(f"{method.containing_service.name}.{method_name} ({how}), actor {kind.value if kind else 'privileged'}")

    before = await fingerprint(db, server.fingerprint_sql)
    call = getattr(_stub(spec, channel, method_name), method_name)
    try:
        if method.client_streaming:  # IssueBatchVouchers, ReconcileStatement: a stream of this one message
            async def one():
                yield request

            if method.server_streaming:
                async for _ in call(one(), metadata=metadata, timeout=CALL_TIMEOUT_S):
                    pass
            else:
                await call(one(), metadata=metadata, timeout=CALL_TIMEOUT_S)
        elif method.server_streaming:  # GetFundStatement: the figures, then a file's chunks
            async for _ in call(request, metadata=metadata, timeout=CALL_TIMEOUT_S):
                pass
        else:
            await call(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
        code, details, trailers = grpc.StatusCode.OK, "", ()
    except grpc.aio.AioRpcError as exc:
        code, details, trailers = exc.code(), exc.details() or "", exc.trailing_metadata() or ()
    note(f"status {code.name}: {details[:300]!r}")

    assert code in ALLOWED | ALSO_ALLOWED.get(method_name, set()), (f"{method_name} answered {code.name}: {details[:500]!r}\n"
                             f"{server_traceback(server, details)}")
    assert len(details) <= MAX_DETAILS_CHARS, f"{method_name}: status details of {len(details)} characters"
    assert _trailer_bytes(trailers) < MAX_TRAILER_BYTES, f"{method_name}: {_trailer_bytes(trailers)} bytes of trailers"
    if code is not grpc.StatusCode.OK:
        after = await fingerprint(db, server.fingerprint_sql)
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, f"{method_name} refused with {code.name} but changed the database: {changed}"

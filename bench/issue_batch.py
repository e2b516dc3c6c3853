"""One issuance batch of a million vouchers, streamed into a PostgreSQL-backed voucher_svc.

Starts, on two fresh PostgreSQL databases (created and dropped by the script), the ledger (the
batch's fund source is checked there) and voucher_svc, each its own process, with no broker (the
``voucher.batch_issued`` events wait in the outbox). Then, in the same run:

* **value** -- vouchers issued per second: ``--count`` persons (valid resident IDs, all
  different, made up and encoded before the clock starts unless ``--live-client``) streamed to
  ``IssueBatchVouchers`` in chunks of ``--chunk``, from the
  first chunk sent to the last progress answer; the service validates, seals and hashes every ID,
  writes each voucher and its audit record and one event per chunk. Also printed: the service's
  peak RSS (``VmHWM`` of its process, and the largest ``VmRSS`` sampled every 0.1 s).
* **baseline** -- rows per second of a bare ``COPY`` of the same voucher rows (built beforehand,
  untimed) into a scratch table shaped like ``vouchers`` (``LIKE vouchers INCLUDING ALL``: same
  keys and indexes) in the same database: what PostgreSQL itself costs for these rows.
* **ratio** -- value / baseline.

The target (issue 7) is under 60 s for 1,000,000 with the service under 300 MB RSS. Run from the
repository root::

    python bench/issue_batch.py                      # 1,000,000
    python bench/issue_batch.py --count 20000        # a quick run
    python bench/issue_batch.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/issue_batch.py``
    _root = str(Path(__file__).resolve().parent.parent)
    if _root not in sys.path:
        sys.path.insert(0, _root)

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from bench.loadgen import emit_result  # noqa: E402
from skillpay.actors import ActorKind  # noqa: E402
from skillpay.auth import (  # noqa: E402
    Identity,
    TokenIssuer,
    authenticated_channel,
    load_or_create_private_key,
    public_pem,
)
from skillpay.cli.stack import grpc_serving  # noqa: E402
from skillpay.ids import derived_id  # noqa: E402
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc  # noqa: E402
from skillpay.pii import PiiVault, mask_resident_id  # noqa: E402
from skillpay.ready import read_port  # noqa: E402
from skillpay.service_runtime import ts  # noqa: E402
from skillpay.voucher.v1 import voucher_pb2 as pb  # noqa: E402
from skillpay.voucher.v1 import voucher_pb2_grpc  # noqa: E402

DEFAULT_COUNT = 1_000_000
DEFAULT_CHUNK = 5_000
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
FUND = "ESF-BENCH"
BATCH = "bench-batch"
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "黄秀英", "赵强", "吴敏", "周杰")
FIRST_BIRTHDAY = date(1970, 1, 1)


# -- the persons: valid, all different, made on the fly ----------------------------------------------
def resident_id(i: int) -> str:
    """The i-th ID: a thousand sequence numbers per birth date, so a million IDs span 1,000 days."""
    body = f"110105{FIRST_BIRTHDAY + timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def persons(start: int, stop: int) -> Iterator[tuple[str, str]]:
    for i in range(start, stop):
        yield resident_id(i), NAMES[i % len(NAMES)]


# -- the processes -----------------------------------------------------------------------------------
def start_process(module: str, name: str, work: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    ready = work / f"{name}.addr"
    log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - the child writes it until it stops
    proc = subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env, "SKILLPAY_READY_FILE": str(ready)},
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (port := read_port(ready)) and grpc_serving(f"127.0.0.1:{port}"):
            return proc, f"127.0.0.1:{port}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} did not come up:\n{(work / f'{name}.log').read_text()[-4000:]}")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


class RssSampler:
    """The largest VmRSS of a process, sampled every 0.1 s in a thread; VmHWM is the kernel's own peak."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak_kb = max(self.peak_kb, self._status("VmRSS"))
            except OSError:
                return

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> tuple[int, int]:
        """(peak sampled VmRSS, VmHWM) in kB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kb, self._status("VmHWM")


# -- the databases -----------------------------------------------------------------------------------
async def admin(prefix: str, sql: str) -> None:
    url = make_url(prefix)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def connect(prefix: str, name: str) -> asyncpg.Connection:
    url = make_url(prefix)
    return await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database=name)


# -- the measurement ---------------------------------------------------------------------------------
async def open_fund(ledger_addr: str, issuer: TokenIssuer) -> None:
    channel = authenticated_channel(ledger_addr, Identity(issuer, ActorKind.FINANCE, "bench"))
    try:
        await ledger_pb2_grpc.LedgerServiceStub(channel).OpenFund(ledger_pb2.OpenFundRequest(
            request_id=uuid.uuid4().hex, fund_code=FUND, name="就业补助资金",
            fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY))
    finally:
        await channel.close()


def encoded_chunks(count: int, chunk: int) -> Iterator[bytes]:
    """The stream's messages, serialized: the persons as a client would send them."""
    for no, first in enumerate(range(0, count, chunk)):
        yield pb.IssueBatchChunk(batch_id=BATCH, chunk_no=no, first_row=first, persons=[
            pb.BatchPerson(resident_id=r, name=n) for r, n in persons(first, min(first + chunk, count))
        ]).SerializeToString()


async def issue(voucher_addr: str, issuer: TokenIssuer, count: int, chunk: int, valid_until: datetime,
                quiet: bool, live_client: bool) -> tuple[float, pb.BatchProgress]:
    channel = authenticated_channel(voucher_addr, Identity(issuer, ActorKind.ADMIN, "bench"))
    # The stub's call with the messages already serialized: unless --live-client, the client's
    # share of the two cores (making up and encoding a million persons) is spent before the clock
    # starts, as the baseline's rows are built before its clock starts; the service does all of
    # its work (parse, validate, seal, hash, write) inside the timed window either way.
    issue_call = channel.stream_stream("/skillpay.voucher.v1.VoucherService/IssueBatchVouchers",
                                       request_serializer=None, response_deserializer=pb.BatchProgress.FromString)
    try:
        await voucher_pb2_grpc.VoucherServiceStub(channel).CreateBatch(pb.CreateBatchRequest(
            request_id=uuid.uuid4().hex, batch_id=BATCH, fund_source=FUND, valid_until=ts(valid_until),
            kind=pb.VOUCHER_KIND_GENERAL, mode=pb.BATCH_MODE_LISTED))
        messages = encoded_chunks(count, chunk) if live_client else list(encoded_chunks(count, chunk))

        async def chunks():
            for message in messages:
                yield message

        started = time.perf_counter()
        last = None
        async for last in issue_call(chunks()):
            if not quiet and (last.chunk_no % 20 == 0 or last.issued_total + last.rejected_total == count):
                elapsed = time.perf_counter() - started
                print(f"  chunk {last.chunk_no:>4}: {last.issued_total:>9,} issued, {last.rejected_total} rejected, "
                      f"{elapsed:6.1f} s, {last.issued_total / elapsed:,.0f}/s", file=sys.stderr)
        return time.perf_counter() - started, last
    finally:
        await channel.close()


async def copy_baseline(prefix: str, db_name: str, vault: PiiVault, count: int, chunk: int,
                        valid_until: datetime) -> float:
    """Seconds COPY needs for the same voucher rows into a table like ``vouchers`` (rows built untimed)."""
    conn = await connect(prefix, db_name)
    try:
        await conn.execute("CREATE TABLE bench_copy_baseline (LIKE vouchers INCLUDING ALL)")
        columns = ["voucher_id", "holder_name", "holder_id_lookup", "holder_id_sealed", "holder_id_masked",
                   "occupation_code", "level", "fund_source", "batch_id", "state", "institution_id",
                   "real_person_verified", "certificate_id", "value_fen", "issued_at", "valid_until", "version",
                   "payout_failure_reason", "kind", "valid_from"]
        now = datetime.now(timezone.utc)
        spent = 0.0
        for first in range(0, count, chunk):
            rows = []
            for rid, name in persons(first, min(first + chunk, count)):
                lookup = vault.lookup_hash(rid)
                rows.append((derived_id("vch", "baseline", lookup), name, lookup, vault.seal(rid),
                             mask_resident_id(rid), None, None, FUND, BATCH, "issued", None, False, None, 0, now,
                             valid_until, 0, "", "general", now))
            started = time.perf_counter()
            await conn.copy_records_to_table("bench_copy_baseline", records=rows, columns=columns)
            spent += time.perf_counter() - started
        return spent
    finally:
        await conn.close()


async def counts(prefix: str, db_name: str) -> dict[str, int]:
    conn = await connect(prefix, db_name)
    try:
        return {
            "vouchers": await conn.fetchval("SELECT count(*) FROM vouchers WHERE batch_id = $1", BATCH),
            "audit records": await conn.fetchval("SELECT count(*) FROM audit_records WHERE aggregate_type = 'voucher'"),
            "events": await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'voucher.batch_issued'"),
            "persons": await conn.fetchval("SELECT count(*) FROM persons WHERE id_sealed IS NOT NULL"),
            "person audit records": await conn.fetchval(
                "SELECT count(*) FROM audit_records WHERE aggregate_type = 'person'"),
        }
    finally:
        await conn.close()


async def run(args) -> int:
    suffix = uuid.uuid4().hex[:8]
    voucher_db, ledger_db = f"bench_voucher_{suffix}", f"bench_ledger_{suffix}"
    work = Path(tempfile.mkdtemp(prefix="issue_batch_"))
    procs: list[subprocess.Popen] = []
    try:
        for name in (voucher_db, ledger_db):
            await admin(args.postgres, f'CREATE DATABASE "{name}"')
        key = load_or_create_private_key(work / "keys" / "actor_signing.pem")
        issuer = TokenIssuer(key, ttl_s=3600)
        pii_key, lookup_key = os.urandom(32), os.urandom(32)
        common = {"SKILLPAY_DATA_DIR": str(work), "KAFKA_BOOTSTRAP_SERVERS": "", "SKILLPAY_AUTH_PUBLIC_KEY": public_pem(key),
                  "SKILLPAY_PII_KEY": base64.b64encode(pii_key).decode(),
                  "SKILLPAY_LOOKUP_KEY": base64.b64encode(lookup_key).decode(), "SKILLPAY_LOG_LEVEL": "WARNING"}
        ledger, ledger_addr = start_process("ledger_svc.entrypoints.grpc_server", "ledger", work, {
            **common, "LEDGER_GRPC_LISTEN": "127.0.0.1:0", "LEDGER_METRICS_LISTEN": "",
            "LEDGER_DATABASE_URL": f"{args.postgres}/{ledger_db}"})
        procs.append(ledger)
        from cryptography.hazmat.primitives import serialization

        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        voucher, voucher_addr = start_process("voucher_svc.entrypoints.grpc_server", "voucher", work, {
            **common, "VOUCHER_GRPC_LISTEN": "127.0.0.1:0", "VOUCHER_METRICS_LISTEN": "",
            "VOUCHER_DATABASE_URL": f"{args.postgres}/{voucher_db}", "VOUCHER_LEDGER_ADDR": ledger_addr,
            "SKILLPAY_AUTH_PRIVATE_KEY": private})
        procs.append(voucher)
        await open_fund(ledger_addr, issuer)

        valid_until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365)
        print(f"issuing {args.count:,} vouchers in chunks of {args.chunk:,} (voucher_svc pid {voucher.pid}, "
              f"PostgreSQL database {voucher_db})", file=sys.stderr)
        sampler = RssSampler(voucher.pid).start()
        elapsed, last = await issue(voucher_addr, issuer, args.count, args.chunk, valid_until, args.quiet,
                                    args.live_client)
        peak_kb, hwm_kb = sampler.stop()
        found = await counts(args.postgres, voucher_db)

        print("baseline: COPY of the same voucher rows into a table like vouchers ...", file=sys.stderr)
        vault = PiiVault(pii_key, lookup_key)
        copy_s = await copy_baseline(args.postgres, voucher_db, vault, args.count, args.chunk, valid_until)

        rate, baseline = args.count / elapsed, args.count / copy_s
        print(f"issued {last.issued_total:,} vouchers ({last.rejected_total} rejected) in {elapsed:.1f} s: "
              f"{rate:,.0f} vouchers/s")
        print(f"voucher_svc peak RSS: {hwm_kb / 1024:.0f} MB (VmHWM), {peak_kb / 1024:.0f} MB (largest sample)")
        print(f"in the database: {found}")
        print(f"baseline: bare COPY of the same rows {copy_s:.1f} s = {baseline:,.0f} rows/s")
        ok = (last.issued_total == args.count and found["vouchers"] == args.count
              and found["audit records"] == args.count)
        if not ok:
            print("MISMATCH: not every voucher was issued and audited once", file=sys.stderr)
        emit_result("issue_batch", rate, "vouchers/s", baseline)
        return 0 if ok else 1
    finally:
        for proc in reversed(procs):
            stop_process(proc)
        for name in (voucher_db, ledger_db):
            try:
                await admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the result
                print(f"could not drop {name}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="vouchers in the batch")
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="persons per streamed chunk (max 5000)")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="URL prefix of the PostgreSQL server")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--live-client", action="store_true",
                        help="make up and encode each chunk while streaming (the client's CPU inside the timed window)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args()
    if not 0 < args.count <= 999_000 * 10 or not 0 < args.chunk <= 5000:
        parser.error("--count must be positive (at most 9,990,000) and --chunk 1..5000")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()

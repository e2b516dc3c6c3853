"""Sustained RedeemVoucher against a running voucher_svc, beside the gRPC echo ceiling.

Starts the voucher service and the ledger it asks about funds at issue (separate processes, port
0, ready files; no broker: the ``voucher.redeemed`` events wait in the outbox) on SQLite or on
two fresh PostgreSQL databases. Before timing it brings vouchers of distinct persons (valid
resident IDs, python-stdnum check digits) to enrolled, each with its certificate
(``bench/voucher_setup.py``). Then, in the same run:

* **value** -- RedeemVoucher calls/s: ``--callers`` concurrent callers for ``--seconds``, each
  call redeeming a fresh enrolled voucher with its fresh certificate (as its institution);
* **baseline** -- the bare ``grpc.aio`` echo ceiling (``bench/echo_ceiling.py``; own process,
  same number of callers, measured right before, the voucher service up and idle).

``--warmup`` redemptions go first, unmeasured; their rate sizes the pool of prepared vouchers
(``--headroom`` times what ``--seconds`` would use at that rate, unless ``--vouchers`` says). A
pool that runs dry ends the window early (said in the summary). ``--profile DIR`` records the
voucher process with py-spy during the window and prints its hottest frames.

Run from the repository root::

    python bench/redeem.py [--db sqlite|postgres] [--callers 32] [--seconds 10] [--warmup 300]
    python bench/redeem.py --db postgres --pg postgresql+asyncpg://postgres@127.0.0.1:5432 --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/redeem.py``
    _root = str(Path(__file__).resolve().parent.parent)
    if _root not in sys.path:
        sys.path.insert(0, _root)

import grpc

from bench import voucher_setup as setup
from bench.echo_ceiling import measure_echo_ceiling
from bench.loadgen import LoadResult, emit_result, format_seconds, run_load
from bench.thin_path import _create_databases, _drop_databases, _log_trouble
from skillpay.actors import ActorKind
from skillpay.auth import Identity
from skillpay.cli.stack import Stack
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc

SERVICES = ("ledger", "voucher")
FUND = "ESF-BENCH"
CODE = "6-31-01-03"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
CALL_TIMEOUT_S = 30.0
TARGET_RATIO = 0.5
TARGET_P99_S = 0.050
MAX_POOL = 60_000


@dataclass
class Measured:
    redeem: LoadResult
    echo: LoadResult
    errors: Counter
    pool_left: int
    prepared: int
    prepare_s: float
    server_cpu_s: float
    client_cpu_s: float
    warmup_rate: float
    server_threads: Counter


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    return sum(_thread_cpu(pid).values())


def _thread_cpu(pid: int) -> Counter:
    """CPU seconds (user + system) so far of a process's threads, by kind (the main thread apart)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: Counter = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, _, rest = task.joinpath("stat").read_text().partition(" (")[2].rpartition(")")
            fields = rest.split()
            # Python threads keep the process's name; the event loop is the main thread.
            label = "event loop" if task.name == str(pid) else ("other python" if name == "python" else name)
            found[label] += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return found


class Pool:
    """Prepared (voucher, certificate) pairs; each call takes its own."""

    def __init__(self):
        self.items: collections.deque[setup.Redeemable] = collections.deque()

    async def fill(self, stub, holders: setup.Holders, institution: str, count: int, concurrency: int) -> None:
        until = setup.valid_until()
        persons = iter(setup.resident_ids(count))

        async def worker() -> None:
            for person in persons:  # one shared iterator: each person once
                self.items.append(await setup.redeemable(stub, holders, person, CODE, institution, FUND, until))

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _redeemer(stub, identity: Identity, pool: Pool, errors: Counter):
    async def call() -> None:
        pair = pool.items.popleft()
        try:
            # The token as plain metadata (no client interceptor), as lean as the echo client.
            await stub.RedeemVoucher(pb.RedeemVoucherRequest(
                request_id=setup.request_id(), voucher_id=pair.voucher_id, certificate_id=pair.certificate_id),
                metadata=identity.metadata(), timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            errors[f"{exc.code().name}: {exc.details()[:120]}"] += 1
            raise
    return call


def _start_profiler(pid: int, out_dir: Path, seconds: float) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--threads",
                             "--duration", str(max(1, math.ceil(seconds))), "--nonblocking",
                             "--output", str(out_dir / "voucher.folded")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarise_profile(folded: Path, top: int = 25) -> str:
    """The hottest frames of the event loop thread in a py-spy ``raw --threads`` record (folded
    stacks; idle time is not sampled): self samples, and inclusive ones (the frame or its callees)."""
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = other = 0
    for line in folded.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        if "run_forever (" not in stack:
            other += n  # the database driver's threads (aiosqlite), gRPC's own
            continue
        total += n
        frames = [_short(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "  (no samples of the event loop thread)"
    lines = [f"  event loop thread: {total} samples busy (other threads: {other}); self time:"]
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive time (frame or anything it called):")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``func (path/to/pkg/module.py:123)`` -> ``func (pkg/module.py)``: lines of one function merged."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    tail = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({tail})"


async def _measure(stack: Stack, args: argparse.Namespace, log) -> Measured:
    issuer = stack.token_issuer()
    finance = Identity(issuer, ActorKind.FINANCE, "bench-finance")
    admin = Identity(issuer, ActorKind.ADMIN, "bench-admin")
    async with grpc.aio.insecure_channel(stack.addr("ledger")) as ledger_channel:
        await ledger_pb2_grpc.LedgerServiceStub(ledger_channel).OpenFund(ledger_pb2.OpenFundRequest(
            request_id=setup.request_id(), fund_code=FUND, name="就业补助资金",
            fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY), metadata=finance.metadata())

    from skillpay.auth import authenticated_channel

    admin_channel = authenticated_channel(stack.addr("voucher"), admin)
    redeem_channel = grpc.aio.insecure_channel(stack.addr("voucher"))
    try:
        admin_stub = voucher_pb2_grpc.VoucherServiceStub(admin_channel)
        redeem_stub = voucher_pb2_grpc.VoucherServiceStub(redeem_channel)
        institution = await setup.catalogue(admin_stub, [CODE])
        as_institution = Identity(issuer, ActorKind.INSTITUTION, institution)
        holders = setup.Holders(stack.addr("voucher"), issuer, stack.lookup_key())
        pool, errors = Pool(), Counter()
        t = time.perf_counter()
        prepared = 0

        warmup_rate = 0.0
        if args.warmup:
            log(f"preparing {args.warmup} warm-up vouchers ...")
            await pool.fill(admin_stub, holders, institution, args.warmup, args.callers)
            prepared += args.warmup
            log(f"warm-up: {args.warmup} redemptions ...")
            warm = await run_load(_redeemer(redeem_stub, as_institution, pool, errors), concurrency=args.callers,
                                  total=args.warmup)
            warmup_rate = warm.throughput_per_s
            log(f"  {warmup_rate:,.0f} calls/s, {warm.errors} errors")
        wanted = args.vouchers or min(MAX_POOL, math.ceil(max(warmup_rate, 100) * args.seconds * args.headroom))
        log(f"preparing {wanted} vouchers (issue, enrol, certificate: {3 * wanted} calls) ...")
        t_fill = time.perf_counter()
        await pool.fill(admin_stub, holders, institution, wanted, args.callers)
        prepared += wanted
        log(f"  prepared in {time.perf_counter() - t_fill:.1f} s")
        prepare_s = time.perf_counter() - t

        log(f"echo ceiling: {args.callers} callers for {args.echo_seconds:g} s ...")
        echo = await measure_echo_ceiling(concurrency=args.callers, duration_s=args.echo_seconds)

        profiler = None
        if args.profile:
            profiler = _start_profiler(stack.procs["voucher"].pid, Path(args.profile), args.seconds)
            await asyncio.sleep(0.5)  # py-spy attaches
        log(f"measuring: {args.callers} callers for {args.seconds:g} s ...")
        server_threads = _thread_cpu(stack.procs["voucher"].pid)
        client_cpu = time.process_time()
        redeem = await run_load(_redeemer(redeem_stub, as_institution, pool, errors), concurrency=args.callers,
                                duration_s=args.seconds, total=len(pool.items))
        server_threads = _thread_cpu(stack.procs["voucher"].pid) - server_threads
        client_cpu = time.process_time() - client_cpu
        if profiler is not None:
            _, err = await asyncio.to_thread(profiler.communicate)
            if profiler.returncode:
                log(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
        return Measured(redeem, echo, errors, len(pool.items), prepared, prepare_s,
                        sum(server_threads.values()), client_cpu, warmup_rate, server_threads)
    finally:
        await admin_channel.close()
        await redeem_channel.close()


def _summary(m: Measured, backend: str, args: argparse.Namespace) -> str:
    r, e = m.redeem, m.echo
    ratio = r.throughput_per_s / e.throughput_per_s if e.throughput_per_s else 0.0
    p50, p99 = r.histogram.percentile(50), r.histogram.percentile(99)
    met = ratio >= TARGET_RATIO and p99 < TARGET_P99_S
    lines = [
        f"redeem ({backend}; {args.callers} callers, each call a fresh enrolled voucher and certificate)",
        (f"  RedeemVoucher {r.throughput_per_s:,.1f} calls/s  ({r.count} OK, {r.errors} errors in {r.elapsed_s:.2f} s)"
        f"  p50 {format_seconds(p50)}  p99 {format_seconds(p99)}  max {format_seconds(r.histogram.max)}"),
        (f"  echo ceiling  {e.throughput_per_s:,.1f} calls/s  (bare grpc.aio echo, own process, {args.callers} callers,"
        f" {e.elapsed_s:.1f} s)  p50 {format_seconds(e.histogram.percentile(50))}"
        f"  p99 {format_seconds(e.histogram.percentile(99))}"),
        (f"  ratio         {ratio:.4f}  (target >= {TARGET_RATIO} with p99 < {TARGET_P99_S * 1000:.0f} ms: "
        f"{'met' if met else 'NOT met'})"),
        (f"  CPU           voucher_svc {m.server_cpu_s:.1f} s ({m.server_cpu_s / r.elapsed_s:.2f} cores, "
         f"{1000 * m.server_cpu_s / max(r.count, 1):.2f} ms per call), "
        f"bench client {m.client_cpu_s:.1f} s ({m.client_cpu_s / r.elapsed_s:.2f} cores), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"),
        "  voucher_svc threads: " + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in m.server_threads.most_common(6)),
        f"  prepared      {m.prepared} vouchers in {m.prepare_s:.1f} s (warm-up rate {m.warmup_rate:,.0f} calls/s)",
    ]
    if m.pool_left == 0:
        lines.append("  NOTE: the prepared vouchers ran out before --seconds; the window ended there")
    if m.errors:
        lines.append("  errors: " + "; ".join(f"{k} x{n}" for k, n in m.errors.most_common(5)))
    lines += ["", r.histogram.render(rows=8, title="RedeemVoucher latency")]
    return "\n".join(lines)


def _raise_on_sigterm(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # so that the finally blocks stop the processes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg", default=DEFAULT_PG, metavar="URL-PREFIX",
                        help=f"PostgreSQL server for --db postgres (two fresh databases; default {DEFAULT_PG})")
    parser.add_argument("--callers", type=int, default=32, help="concurrent callers (default 32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window (default 10)")
    parser.add_argument("--warmup", type=int, default=300, help="redemptions before the window (default 300)")
    parser.add_argument("--echo-seconds", type=float, default=5.0, help="echo-ceiling window (default 5)")
    parser.add_argument("--vouchers", type=int, default=0,
                        help="vouchers to prepare for the window (default: sized from the warm-up rate)")
    parser.add_argument("--headroom", type=float, default=1.6,
                        help="prepared vouchers per call the warm-up rate predicts (default 1.6)")
    parser.add_argument("--profile", metavar="DIR", default="",
                        help="record the voucher process with py-spy during the window into DIR")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs)")
    args = parser.parse_args(argv)
    if args.callers < 1 or args.seconds <= 0 or args.warmup < 0 or args.echo_seconds <= 0 or args.vouchers < 0 \
            or args.headroom < 1:
        parser.error("callers >= 1, seconds and echo-seconds > 0, warmup and vouchers >= 0, headroom >= 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    data_dir = Path(tempfile.mkdtemp(prefix="skillpay-redeem-"))
    keep = args.keep
    db_names: list[str] = []
    urls: dict[str, str] = {}
    backend = "SQLite"
    stack: Stack | None = None
    measured: Measured | None = None
    try:
        if args.db == "postgres":
            tag = secrets.token_hex(4)
            names = [f"skillpay_redeem_{tag}_{s}" for s in SERVICES]
            asyncio.run(_create_databases(args.pg, names, db_names))
            urls = {s: f"{args.pg.rstrip('/')}/{n}" for s, n in zip(SERVICES, names)}
            backend = "PostgreSQL"
        # No bank (nothing is paid here) and no broker (events wait in the outbox).
        stack = Stack.on_free_ports(data_dir, database_urls=urls, external_bank_url="http://127.0.0.1:9",
                                    metrics_ports={s: 0 for s in SERVICES})
        stack.logs_dir.mkdir(parents=True, exist_ok=True)
        log(f"starting the ledger and the voucher service in {data_dir} ({backend}) ...")
        stack.wait_ready(60, services=SERVICES, start=SERVICES)
        measured = asyncio.run(_measure(stack, args, log))
        if args.profile:
            folded = Path(args.profile) / "voucher.folded"
            if folded.exists():
                log(f"py-spy profile of voucher_svc ({folded}):\n{summarise_profile(folded)}")
    except BaseException:
        keep = True
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            dead = stack.dead_services()
            if dead:
                log(f"processes that exited during the run: {dead}")
                keep = True
            stack.stop()
        if db_names:
            failed = asyncio.run(_drop_databases(args.pg, db_names))
            if failed:
                log("could not drop: " + ", ".join(failed))
        trouble = _log_trouble(stack.logs_dir) if stack is not None and stack.logs_dir.is_dir() else {}
        trouble = {name: lines for name, lines in trouble.items()
                   if any("outbox" not in ln and "KAFKA_BOOTSTRAP" not in ln for ln in lines)}
        if trouble:
            keep = True
            log(f"suspicious lines in the logs ({stack.logs_dir}):")
            for name, lines in trouble.items():
                log(f"  {name}:\n" + "\n".join(f"    {ln[:300]}" for ln in lines))
        if keep:
            log(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    assert measured is not None
    print(_summary(measured, backend, args))
    print()
    emit_result("redeem", measured.redeem.throughput_per_s, "calls/s", measured.echo.throughput_per_s)
    return 0 if not measured.redeem.errors else 1


if __name__ == "__main__":
    sys.exit(main())

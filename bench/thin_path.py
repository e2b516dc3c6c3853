"""Thin path end to end: vouchers carried from issue to paid per second, through the whole stack.

Starts a fresh stack (embedded broker, bank simulator, the three gRPC services, gateway; each its
own process) in a temporary data dir, on SQLite by default or on three fresh PostgreSQL databases
with ``--postgres``. Then, in the same run:

* **baseline** -- the bare ``grpc.aio`` echo ceiling (calls/s), measured on this machine at this
  moment with the stack up and idle (see ``bench/echo_ceiling.py``);
* **value** -- vouchers paid per second: ``count / (first IssueVoucher call -> last voucher seen
  PAID)``, each voucher issued, presented, enrolled, certified and redeemed over gRPC (5 calls) by
  ``--concurrency`` callers and then carried by Kafka events through claim_svc and ledger_svc
  to the bank simulator and back;
* the redemption phase alone as gRPC calls/s, and the event lag (``redeemed_at -> paid_at`` as
  stamped on the voucher) p50/p99/max.

``--warmup`` vouchers go the whole way first and are not measured (the first events wait for the
consumers to join their groups). Vouchers not paid (or failed redemptions) make the exit code 1.
The stack is always stopped and the databases dropped; the data dir (with ``logs/``) is removed
unless something went wrong or the logs hold suspicious lines (printed to stderr), or ``--keep``.

Run from the repository root::

    python bench/thin_path.py [--count 200] [--concurrency 16] [--echo-duration 3] [--warmup 10]
    python bench/thin_path.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/thin_path.py``
    _root = str(Path(__file__).resolve().parent.parent)
    if _root not in sys.path:
        sys.path.insert(0, _root)

import grpc  # noqa: E402

from bench.echo_ceiling import DEFAULT_CONCURRENCY as ECHO_CONCURRENCY  # noqa: E402
from bench.echo_ceiling import measure_echo_ceiling  # noqa: E402
from bench.loadgen import LatencyHistogram, LoadResult, emit_result, format_seconds  # noqa: E402
from skillpay.claim.v1 import claim_pb2  # noqa: E402
from skillpay.cli.demo import STANDARD_FEN, Clients, prepare, redeem_one  # noqa: E402
from skillpay.ledger.v1 import ledger_pb2  # noqa: E402
from skillpay.cli.stack import GRPC_SERVICES, Stack  # noqa: E402
from skillpay.voucher.v1 import voucher_pb2  # noqa: E402

DEFAULT_COUNT = 200
DEFAULT_CONCURRENCY = 16
DEFAULT_ECHO_DURATION_S = 3.0
DEFAULT_WARMUP = 10
DEFAULT_TIMEOUT_S = 300.0
CALLS_PER_VOUCHER = 6  # IssueVoucher, CreatePresentationToken, EnrolVoucher, RecordCertificate,
#                       RecordEmployment, RedeemVoucher
FUND_CODE = "ESF-BENCH"
PAID = voucher_pb2.VOUCHER_STATE_PAID
CHANNEL_READY_TIMEOUT_S = 30.0
CLAIMS_CATCH_UP_S = 10.0
PAGE_SIZE = 500  # the services' largest page
GET_CONCURRENCY = 32  # GetVoucher calls in flight when collecting the vouchers left unpaid
# Lines in the service logs that point at trouble (the gRPC services log every call at INFO
# with its status code, so a code other than OK counts too).
LOG_TROUBLE = re.compile(r"\b(WARNING|ERROR|CRITICAL|FATAL|Traceback|Exception)\b|\bcode=(?!OK\b)")


@dataclass
class BatchResult:
    """One measured batch."""

    count: int
    redeemed: list[str]
    redeem_errors: Counter
    redeem_latency: LatencyHistogram  # one sample per voucher: its 5 calls back to back
    redeem_elapsed_s: float  # first IssueVoucher -> last RedeemVoucher answered
    paid_elapsed_s: float  # first IssueVoucher -> last voucher seen PAID (or the wait gave up)
    final: dict[str, voucher_pb2.Voucher]
    lag: LatencyHistogram  # redeemed_at -> paid_at, paid vouchers only
    server_span_s: float  # min(issued_at) -> max(paid_at) from the vouchers' own timestamps
    warmup_lag: LatencyHistogram | None = None  # the same lag for the warm-up vouchers
    claim_states: Counter = field(default_factory=Counter)
    payment_states: Counter = field(default_factory=Counter)

    @property
    def paid(self) -> int:
        return sum(1 for v in self.final.values() if v.state == PAID)

    @property
    def vouchers_per_s(self) -> float:
        return self.paid / self.paid_elapsed_s if self.paid_elapsed_s > 0 else 0.0

    @property
    def redeem_calls_per_s(self) -> float:
        ok = len(self.redeemed)
        return CALLS_PER_VOUCHER * ok / self.redeem_elapsed_s if self.redeem_elapsed_s > 0 else 0.0

    @property
    def voucher_states(self) -> Counter:
        states = Counter(voucher_pb2.VoucherState.Name(v.state) for v in self.final.values())
        failed = sum(self.redeem_errors.values())
        if failed:
            states["(redemption failed)"] = failed
        return states


# --------------------------------------------------------------------------
# Driving the stack
# --------------------------------------------------------------------------


async def _redeem_batch(
    clients: Clients, institution_id: str, count: int, concurrency: int, rng: random.Random
) -> tuple[list[str], Counter, LatencyHistogram]:
    """Redeem ``count`` vouchers with ``concurrency`` callers; failures are counted, not raised."""
    limit = asyncio.Semaphore(concurrency)
    redeemed: list[str] = []
    errors: Counter = Counter()
    hist = LatencyHistogram()

    async def one() -> None:
        async with limit:
            t0 = time.perf_counter()
            try:
                voucher_id = await redeem_one(clients, institution_id, FUND_CODE, rng)
            except grpc.aio.AioRpcError as exc:
                errors[f"{exc.code().name}: {exc.details()}"] += 1
                return
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none aborts the batch
                errors[type(exc).__name__] += 1
                return
            hist.record(time.perf_counter() - t0)
            redeemed.append(voucher_id)

    await asyncio.gather(*[one() for _ in range(count)])
    return redeemed, errors, hist


async def _wait_paid(clients: Clients, voucher_ids: list[str], timeout_s: float,
                     poll_s: float) -> dict[str, voucher_pb2.Voucher]:
    """Poll until every voucher is PAID (or the timeout); returns the last state of each.

    Lists the PAID vouchers (a few pages per poll) instead of one GetVoucher per open voucher,
    like ``skillpay.cli.demo.wait_paid`` does: that costs the voucher service a call per open voucher
    per poll, and with ~2,000 calls in flight at once on one channel the gRPC server starts
    cancelling some of them (the bare echo server does the same), which aborts the run.
    """
    wanted = set(voucher_ids)
    final: dict[str, voucher_pb2.Voucher] = {}
    deadline = time.monotonic() + timeout_s
    while True:
        for v in await _list_all(clients.voucher.ListVouchers,
                                 voucher_pb2.ListVouchersRequest(page_size=PAGE_SIZE, state=PAID), "vouchers"):
            if v.voucher_id in wanted:
                final[v.voucher_id] = v
        if len(final) == len(wanted) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(poll_s)
    # Whatever is still open: its current state, a bounded number of calls at a time.
    limit = asyncio.Semaphore(GET_CONCURRENCY)

    async def get(voucher_id: str) -> None:
        async with limit:
            final[voucher_id] = await clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=voucher_id))

    await asyncio.gather(*(get(v) for v in wanted - final.keys()))
    return final


def _lags(vouchers) -> LatencyHistogram:
    """redeemed_at -> paid_at of the paid ``vouchers`` (both stamped by voucher_svc)."""
    hist = LatencyHistogram()
    for v in vouchers:
        if v.state == PAID:
            hist.record(max(0.0, (v.paid_at.ToDatetime() - v.redeemed_at.ToDatetime()).total_seconds()))
    return hist


async def _list_all(method, request, field_name: str) -> list:
    items, token = [], ""
    while True:
        request.page_token = token
        reply = await method(request)
        items.extend(getattr(reply, field_name))
        token = reply.next_page_token
        if not token:
            return items


async def _claims_and_payments(clients: Clients, ids: set[str], paid: set[str]) -> tuple[Counter, Counter]:
    """State counts of the claims and payments of ``ids``; waits briefly for the claims to catch up
    (claim_svc learns of each payment from the same event as voucher_svc)."""
    deadline = time.monotonic() + CLAIMS_CATCH_UP_S
    while True:
        claims = [c for c in await _list_all(clients.claim.ListClaims, claim_pb2.ListClaimsRequest(page_size=500),
                                             "claims") if c.voucher_id in ids]
        if paid <= {c.voucher_id for c in claims if c.state == claim_pb2.CLAIM_STATE_PAID} \
                or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    payments = [p for p in await _list_all(clients.ledger.ListPayments,
                                           ledger_pb2.ListPaymentsRequest(page_size=500), "payments")
                if p.references.get("voucher_id") in ids]
    return (Counter(claim_pb2.ClaimState.Name(c.state) for c in claims),
            Counter(ledger_pb2.PaymentState.Name(p.state) for p in payments))


async def _measure(stack: Stack, args: argparse.Namespace, log) -> tuple[BatchResult, LoadResult]:
    rng = random.Random(secrets.randbits(64))
    clients = Clients.connect(*(stack.addr(s) for s in GRPC_SERVICES), stack.token_issuer(), stack.lookup_key())
    try:
        await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in clients.channels)),
                               CHANNEL_READY_TIMEOUT_S)
        institution_id = await prepare(clients, FUND_CODE, (args.warmup + args.count) * STANDARD_FEN)

        warmup_lag = None
        if args.warmup:
            log(f"warm-up: {args.warmup} vouchers through the whole path ...")
            ids, errors, _ = await _redeem_batch(clients, institution_id, args.warmup, args.concurrency, rng)
            final = await _wait_paid(clients, ids, args.timeout, args.poll)
            warmup_lag = _lags(final.values())
            unpaid = sum(1 for v in final.values() if v.state != PAID)
            if errors or unpaid:
                log(f"  warm-up: {sum(errors.values())} failed redemptions, {unpaid} not paid"
                    + (f" ({dict(errors)})" if errors else ""))

        # The baseline, on this machine right now (stack up and idle).
        log(f"echo ceiling: {args.echo_concurrency} callers for {args.echo_duration:g} s ...")
        echo = await measure_echo_ceiling(concurrency=args.echo_concurrency, duration_s=args.echo_duration)

        log(f"measuring: {args.count} vouchers, {args.concurrency} concurrent callers ...")
        t0 = time.perf_counter()  # the first IssueVoucher call goes out right after this
        ids, errors, redeem_hist = await _redeem_batch(clients, institution_id, args.count, args.concurrency, rng)
        t_redeemed = time.perf_counter()
        final = await _wait_paid(clients, ids, args.timeout, args.poll)
        t_paid = time.perf_counter()

        lag = _lags(final.values())
        issued = [v.issued_at.ToDatetime() for v in final.values()]
        paid_at = [v.paid_at.ToDatetime() for v in final.values() if v.state == PAID]
        span = (max(paid_at) - min(issued)).total_seconds() if paid_at else 0.0
        claims, payments = await _claims_and_payments(clients, set(final), {i for i, v in final.items()
                                                                            if v.state == PAID})
        batch = BatchResult(
            count=args.count, redeemed=ids, redeem_errors=errors, redeem_latency=redeem_hist,
            redeem_elapsed_s=t_redeemed - t0, paid_elapsed_s=t_paid - t0, final=final, lag=lag,
            server_span_s=span, warmup_lag=warmup_lag, claim_states=claims, payment_states=payments)
        return batch, echo
    finally:
        await clients.close()


# --------------------------------------------------------------------------
# PostgreSQL databases
# --------------------------------------------------------------------------


def _admin_dsn(prefix: str) -> str:
    """``postgresql+asyncpg://user@host:port`` -> a plain DSN on the ``postgres`` maintenance db."""
    scheme, sep, rest = prefix.rstrip("/").partition("://")
    if not sep:
        raise ValueError(f"--postgres needs a URL prefix like postgresql+asyncpg://user@host:5432, got {prefix!r}")
    return f"{scheme.split('+')[0]}://{rest}/postgres"


async def _create_databases(prefix: str, names: list[str], created: list[str]) -> None:
    """Create ``names``, appending each to ``created`` as soon as it exists."""
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(prefix))
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
    finally:
        await conn.close()


async def _drop_databases(prefix: str, names: list[str]) -> list[str]:
    """Drop what exists of ``names``; returns the names that could not be dropped."""
    import asyncpg

    failed: list[str] = []
    try:
        conn = await asyncpg.connect(_admin_dsn(prefix))
    except Exception as exc:  # noqa: BLE001 - reported, must not hide what went wrong before
        return [f"{', '.join(names)} ({exc})"]
    try:
        for name in names:
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - try the others, report at the end
                failed.append(f"{name} ({exc})")
    finally:
        await conn.close()
    return failed


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _log_trouble(logs_dir: Path, max_lines: int = 12) -> dict[str, list[str]]:
    """Per log file, the lines that look like errors (at most ``max_lines`` each, plus a count line)."""
    found: dict[str, list[str]] = {}
    for path in sorted(logs_dir.glob("*.log")):
        with contextlib.suppress(OSError):
            hits = [ln.rstrip() for ln in path.read_text(errors="replace").splitlines() if LOG_TROUBLE.search(ln)]
            if hits:
                shown = hits[:max_lines]
                if len(hits) > max_lines:
                    shown.append(f"... {len(hits) - max_lines} more")
                found[path.name] = shown
    return found


def _counts(c: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "-"


def _summary(b: BatchResult, echo: LoadResult, backend: str, args: argparse.Namespace) -> str:
    unpaid = b.count - b.paid
    lines = [
        f"thin path ({backend}; {b.count} vouchers, {args.concurrency} concurrent callers, "
        f"{args.warmup} warm-up vouchers not measured)",
        f"  throughput   {b.vouchers_per_s:,.1f} vouchers/s paid  ({b.paid} paid in "
        f"{b.paid_elapsed_s:.2f} s, first issue -> last seen paid, polled every {args.poll:g} s)",
        f"               server clock: first issued_at -> last paid_at {b.server_span_s:.2f} s"
        + (f" -> {b.paid / b.server_span_s:,.1f} vouchers/s" if b.server_span_s > 0 else ""),
        f"  event lag    redeemed_at -> paid_at  p50 {format_seconds(b.lag.percentile(50))}"
        f"  p99 {format_seconds(b.lag.percentile(99))}  max {format_seconds(b.lag.max)}"
        f"  mean {format_seconds(b.lag.mean)}  (n={b.lag.count})",
        *([f"               warm-up ({b.warmup_lag.count} vouchers, not measured): p50 "
           f"{format_seconds(b.warmup_lag.percentile(50))}  max {format_seconds(b.warmup_lag.max)}"]
          if b.warmup_lag is not None and b.warmup_lag.count else []),
        f"  redemption   {b.redeem_calls_per_s:,.0f} gRPC calls/s  ({len(b.redeemed)} vouchers x "
        f"{CALLS_PER_VOUCHER} calls in {b.redeem_elapsed_s:.2f} s; per voucher p50 "
        f"{format_seconds(b.redeem_latency.percentile(50))} p99 {format_seconds(b.redeem_latency.percentile(99))})",
        f"  echo ceiling {echo.throughput_per_s:,.0f} calls/s  (bare grpc.aio echo, {args.echo_concurrency} "
        f"callers, {echo.elapsed_s:.1f} s, {echo.errors} errors)",
        f"  vouchers     {_counts(b.voucher_states)}",
        f"  claims       {_counts(b.claim_states)}",
        f"  payments     {_counts(b.payment_states)}",
    ]
    if b.redeem_errors:
        lines.append("  redemption errors: " + "; ".join(f"{k} x{v}" for k, v in b.redeem_errors.most_common()))
    if unpaid:
        lines.append(f"  NOT PAID: {unpaid} of {b.count} vouchers")
    lines.append("")
    lines.append(b.lag.render(rows=8, title="event lag redeemed_at -> paid_at"))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _raise_on_sigterm(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # so that the finally blocks stop the stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="measured vouchers (default 200)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help="concurrent vouchers in redemption (default 16)")
    parser.add_argument("--echo-duration", type=float, default=DEFAULT_ECHO_DURATION_S,
                        help="seconds of the echo-ceiling baseline (default 3)")
    parser.add_argument("--echo-concurrency", type=int, default=ECHO_CONCURRENCY,
                        help=f"callers of the echo-ceiling baseline (default {ECHO_CONCURRENCY}, as echo_ceiling.py)")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help="vouchers sent the whole way first, not measured (default 10)")
    parser.add_argument("--postgres", metavar="URL-PREFIX", default="",
                        help="run on three fresh PostgreSQL databases (dropped afterwards), "
                             "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds to wait for the vouchers to be paid (default 300)")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between polls for PAID vouchers (default 0.1)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs) even when all went well")
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1 or args.echo_concurrency < 1 or args.warmup < 0 \
            or args.echo_duration <= 0 or args.timeout <= 0 or args.poll <= 0:
        parser.error("count and concurrencies must be >= 1, warmup >= 0, durations and poll > 0")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    data_dir = Path(tempfile.mkdtemp(prefix="skillpay-thin-path-"))
    keep = args.keep
    db_names: list[str] = []
    database_urls: dict[str, str] = {}
    stack: Stack | None = None
    batch: BatchResult | None = None
    echo: LoadResult | None = None
    backend = "SQLite"
    try:
        if args.postgres:
            tag = secrets.token_hex(4)
            names = [f"skillpay_bench_{tag}_{s}" for s in GRPC_SERVICES]
            asyncio.run(_create_databases(args.postgres, names, db_names))
            database_urls = {s: f"{args.postgres.rstrip('/')}/{n}" for s, n in zip(GRPC_SERVICES, names)}
            backend = f"PostgreSQL {args.postgres.rstrip('/').partition('://')[2].rpartition('@')[2]}"
        stack = Stack.on_free_ports(data_dir, database_urls=database_urls)
        log(f"starting the stack in {data_dir} ({backend}) ...")
        t = time.perf_counter()
        stack.start()
        log(f"  up in {time.perf_counter() - t:.1f} s")
        batch, echo = asyncio.run(_measure(stack, args, log))
    except BaseException:
        keep = True
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        if stack is not None:
            try:
                dead = stack.dead_services()
                if dead:
                    log(f"services that exited during the run: {dead}")
                    keep = True
            finally:
                stack.stop()  # every process, the broker last
        if db_names:
            failed = asyncio.run(_drop_databases(args.postgres, db_names))
            if failed:
                log("could not drop: " + ", ".join(failed))
        trouble = _log_trouble(data_dir / "logs") if (data_dir / "logs").is_dir() else {}
        if trouble:
            log(f"suspicious lines in the stack's logs ({data_dir / 'logs'}):")
            for name, lines in trouble.items():
                log(f"  {name}:")
                for ln in lines:
                    log(f"    {ln[:300]}")
        if batch is not None and (batch.paid < batch.count or trouble):
            keep = True
        if keep and any(data_dir.iterdir()):
            log(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    assert batch is not None and echo is not None
    print(_summary(batch, echo, backend, args))
    print()
    emit_result("thin_path", batch.vouchers_per_s, "vouchers/s", echo.throughput_per_s)
    return 0 if batch.paid == batch.count and not batch.redeem_errors else 1


if __name__ == "__main__":
    sys.exit(main())

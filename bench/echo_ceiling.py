"""Echo ceiling: throughput of a bare ``grpc.aio`` echo server on this machine.

This is the baseline for every gRPC figure in the project: no handler can be
faster than an RPC that does nothing. Other benchmarks measure it in their own
run with :func:`measure_echo_ceiling` (async) or
:func:`measure_echo_ceiling_sync`.

For this script itself the baseline is the transport floor: a raw asyncio TCP
request/response echo (4-byte big-endian length prefix + payload, one
connection per caller), measured in the same run against its own server
process. value = gRPC echo calls/s, baseline = raw TCP echo calls/s,
ratio = gRPC / raw.

Run from the repository root::

    python bench/echo_ceiling.py [--concurrency 32] [--duration 5] [--warmup 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/echo_ceiling.py``
    _root = str(Path(__file__).resolve().parent.parent)
    if _root not in sys.path:
        sys.path.insert(0, _root)

import grpc  # noqa: E402

from bench.loadgen import LoadResult, emit_result, render_summary, run_load  # noqa: E402

SERVICE = "skillpay.bench.Echo"
METHOD = "Echo"
FULL_METHOD = f"/{SERVICE}/{METHOD}"
HOST = "127.0.0.1"

DEFAULT_CONCURRENCY = 32
DEFAULT_DURATION_S = 5.0
DEFAULT_WARMUP = 1000
DEFAULT_PAYLOAD = 64
SERVER_START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 10.0

__all__ = [
    "grpc_echo_server",
    "raw_echo_server",
    "measure_grpc_echo",
    "measure_raw_echo",
    "measure_echo_ceiling",
    "measure_echo_ceiling_sync",
    "measure_raw_tcp_floor",
    "measure_raw_tcp_floor_sync",
    "main",
]


class EchoMismatch(Exception):
    """The echo came back different from what was sent."""


# --------------------------------------------------------------------------
# Server processes. Each server runs in its own interpreter, started with
# ``python -m bench.echo_ceiling --serve grpc|raw`` (plain subprocess, so the
# caller's main module is never re-imported and no ``__main__`` guard is
# needed). The child prints ``PORT <n>`` (or ``ERROR <text>``) on stdout and
# serves until its stdin reaches EOF, i.e. until the parent closes the pipe
# or dies.
# --------------------------------------------------------------------------

_REPO_ROOT = str(Path(__file__).resolve().parent.parent)


def _report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _wait_for_stdin_eof() -> None:
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.buffer.read(65536):
            pass


async def _grpc_serve() -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {METHOD: grpc.unary_unary_rpc_method_handler(echo)},  # no (de)serializers: bytes in, bytes out
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    try:
        port = server.add_insecure_port(f"{HOST}:0")
        await server.start()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        _report(f"ERROR {exc!r}")
        return
    _report(f"PORT {port}")
    try:
        await asyncio.get_running_loop().run_in_executor(None, _wait_for_stdin_eof)
    finally:
        await server.stop(None)


class _RawEchoProtocol(asyncio.Protocol):
    """Echo every complete length-prefixed frame back, unchanged."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        end_all = len(buf)
        while end_all - pos >= 4:
            end = pos + 4 + int.from_bytes(buf[pos : pos + 4], "big")
            if end > end_all:
                break
            pos = end
        if pos:
            self.transport.write(bytes(buf[:pos]))  # type: ignore[attr-defined]
            del buf[:pos]


async def _raw_serve() -> None:
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(_RawEchoProtocol, HOST, 0, backlog=1024)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        _report(f"ERROR {exc!r}")
        return
    _report(f"PORT {server.sockets[0].getsockname()[1]}")
    try:
        await loop.run_in_executor(None, _wait_for_stdin_eof)
    finally:
        server.close()
        await server.wait_closed()


_SERVERS = {"grpc": _grpc_serve, "raw": _raw_serve}


@contextlib.asynccontextmanager
async def _server_process(kind: str) -> AsyncIterator[int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO_ROOT, env.get("PYTHONPATH")) if p)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.echo_ceiling",
        "--serve",
        kind,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=_REPO_ROOT,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), SERVER_START_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise RuntimeError(f"{kind} echo server did not report a port within {SERVER_START_TIMEOUT_S} s") from None
        text = line.decode(errors="replace").strip()
        if not text.startswith("PORT "):
            raise RuntimeError(f"{kind} echo server failed to start: {text or f'exit code {await proc.wait()}'}")
        yield int(text.split()[1])
    finally:
        with contextlib.suppress(Exception):
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def grpc_echo_server() -> AsyncIterator[str]:
    """Run the bare grpc.aio echo server in a separate process; yields ``"127.0.0.1:PORT"``."""
    async with _server_process("grpc") as port:
        yield f"{HOST}:{port}"


@contextlib.asynccontextmanager
async def raw_echo_server() -> AsyncIterator[tuple[str, int]]:
    """Run the raw asyncio TCP echo server in a separate process; yields ``(host, port)``."""
    async with _server_process("raw") as port:
        yield HOST, port


# --------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------


async def measure_grpc_echo(
    target: str,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    duration_s: float = DEFAULT_DURATION_S,
    warmup: int = DEFAULT_WARMUP,
    payload_size: int = DEFAULT_PAYLOAD,
    progress: bool = False,
) -> LoadResult:
    """Load an already running echo server at ``target`` through ONE grpc.aio channel."""
    payload = bytes(range(256)) * (payload_size // 256) + bytes(range(payload_size % 256))
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), SERVER_START_TIMEOUT_S)
        # No (de)serializers: bytes in, bytes out. _registered_method=True is what
        # grpcio-tools generated stubs pass, so the ceiling matches real stubs.
        rpc = channel.unary_unary(FULL_METHOD, _registered_method=True)

        async def call() -> None:
            reply = await rpc(payload, timeout=CALL_TIMEOUT_S)
            if reply != payload:
                raise EchoMismatch(f"sent {len(payload)} bytes, got {len(reply)} back")

        return await run_load(call, concurrency=concurrency, duration_s=duration_s, warmup=warmup, progress=progress)


async def measure_raw_echo(
    host: str,
    port: int,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    duration_s: float = DEFAULT_DURATION_S,
    warmup: int = DEFAULT_WARMUP,
    payload_size: int = DEFAULT_PAYLOAD,
    progress: bool = False,
) -> LoadResult:
    """Load a raw TCP echo server with ``concurrency`` callers, one connection each."""
    payload = bytes(range(256)) * (payload_size // 256) + bytes(range(payload_size % 256))
    frame = len(payload).to_bytes(4, "big") + payload
    flen = len(frame)
    conns = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    pool = list(conns)  # at most `concurrency` calls in flight, so a connection is always free

    async def call() -> None:
        reader, writer = pool.pop()
        try:
            writer.write(frame)
            reply = await reader.readexactly(flen)
        finally:
            pool.append((reader, writer))
        if reply != frame:
            raise EchoMismatch(f"sent {flen} bytes, got {len(reply)} different bytes back")

    try:
        return await run_load(call, concurrency=concurrency, duration_s=duration_s, warmup=warmup, progress=progress)
    finally:
        for _, writer in conns:
            writer.close()
        for _, writer in conns:
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def measure_echo_ceiling(
    concurrency: int = DEFAULT_CONCURRENCY,
    duration_s: float = DEFAULT_DURATION_S,
    *,
    warmup: int = DEFAULT_WARMUP,
    payload_size: int = DEFAULT_PAYLOAD,
    progress: bool = False,
) -> LoadResult:
    """Start a bare grpc.aio echo server in its own process and measure it (the gRPC ceiling)."""
    async with grpc_echo_server() as target:
        return await measure_grpc_echo(
            target,
            concurrency=concurrency,
            duration_s=duration_s,
            warmup=warmup,
            payload_size=payload_size,
            progress=progress,
        )


def measure_echo_ceiling_sync(
    concurrency: int = DEFAULT_CONCURRENCY, duration_s: float = DEFAULT_DURATION_S, **kwargs: Any
) -> LoadResult:
    """Synchronous wrapper around :func:`measure_echo_ceiling` (must not be called from a running loop)."""
    return asyncio.run(measure_echo_ceiling(concurrency, duration_s, **kwargs))


async def measure_raw_tcp_floor(
    concurrency: int = DEFAULT_CONCURRENCY,
    duration_s: float = DEFAULT_DURATION_S,
    *,
    warmup: int = DEFAULT_WARMUP,
    payload_size: int = DEFAULT_PAYLOAD,
    progress: bool = False,
) -> LoadResult:
    """Start the raw asyncio TCP echo server in its own process and measure it (the transport floor)."""
    async with raw_echo_server() as (host, port):
        return await measure_raw_echo(
            host,
            port,
            concurrency=concurrency,
            duration_s=duration_s,
            warmup=warmup,
            payload_size=payload_size,
            progress=progress,
        )


def measure_raw_tcp_floor_sync(
    concurrency: int = DEFAULT_CONCURRENCY, duration_s: float = DEFAULT_DURATION_S, **kwargs: Any
) -> LoadResult:
    """Synchronous wrapper around :func:`measure_raw_tcp_floor`."""
    return asyncio.run(measure_raw_tcp_floor(concurrency, duration_s, **kwargs))


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


async def _run(args: argparse.Namespace) -> tuple[list[LoadResult], list[LoadResult]]:
    opts = dict(
        concurrency=args.concurrency,
        duration_s=args.duration,
        warmup=args.warmup,
        payload_size=args.payload,
        progress=args.progress,
    )
    grpc_results: list[LoadResult] = []
    raw_results: list[LoadResult] = []
    # Both servers are started once and stay up for all rounds; the
    # measurements alternate (raw, gRPC, raw, gRPC, ...).
    async with grpc_echo_server() as target, raw_echo_server() as (host, port):
        for _ in range(args.rounds):
            raw_results.append(await measure_raw_echo(host, port, **opts))
            grpc_results.append(await measure_grpc_echo(target, **opts))
    return grpc_results, raw_results


def _combined(results: list[LoadResult]) -> LoadResult:
    """Median throughput across rounds, with all rounds' latencies merged."""
    hist = results[0].histogram
    for r in results[1:]:
        hist.merge(r.histogram)
    kinds: dict[str, int] = {}
    for r in results:
        for k, v in r.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + v
    return LoadResult(
        count=sum(r.count for r in results),
        errors=sum(r.errors for r in results),
        elapsed_s=sum(r.elapsed_s for r in results),
        throughput_per_s=statistics.median(r.throughput_per_s for r in results),
        histogram=hist,
        error_kinds=kinds,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="concurrent callers (default 32)")
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds per measurement (default 5)")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="unmeasured warm-up calls (default 1000)")
    parser.add_argument("--payload", type=int, default=DEFAULT_PAYLOAD, help="payload bytes (default 64)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating raw/gRPC rounds; medians reported (default 1)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    parser.add_argument("--serve", choices=sorted(_SERVERS), help=argparse.SUPPRESS)  # internal: server child
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_SERVERS[args.serve]())
        return 0
    if args.concurrency < 1 or args.duration <= 0 or args.rounds < 1 or args.payload < 0 or args.warmup < 0:
        parser.error("concurrency and rounds must be >= 1, duration > 0, payload and warmup >= 0")

    grpc_results, raw_results = asyncio.run(_run(args))
    grpc_res, raw_res = _combined(grpc_results), _combined(raw_results)

    shape = f"{args.payload} B payload, {args.concurrency} callers, {args.duration:g} s"
    if args.rounds > 1:
        shape += f" x {args.rounds} rounds (median throughput)"
    print(render_summary(grpc_res, f"gRPC echo (grpc.aio unary-unary, one channel; {shape})"))
    print()
    print(render_summary(raw_res, f"raw asyncio TCP echo (length-prefixed, one connection per caller; {shape})"))
    print()
    ratio = grpc_res.throughput_per_s / raw_res.throughput_per_s if raw_res.throughput_per_s else float("nan")
    print(
        f"echo ceiling: {grpc_res.throughput_per_s:,.0f} gRPC calls/s vs "
        f"{raw_res.throughput_per_s:,.0f} raw TCP round trips/s -> ratio {ratio:.3f}"
    )
    emit_result("echo_ceiling", grpc_res.throughput_per_s, "calls/s", raw_res.throughput_per_s)
    return 0 if grpc_res.count and raw_res.count else 1


if __name__ == "__main__":
    sys.exit(main())

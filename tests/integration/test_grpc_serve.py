"""The shared gRPC bootstrap: a service whose background worker dies does not linger half alive; port 0 and\nthe ready file; a taken port is an error, never shared."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from skillpay.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from skillpay.grpc_server import BackgroundWorkerFailed, serve
from skillpay.ready import read_port
from skillpay.cli.stack import grpc_serving

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("how", ["raises", "cancelled"])
async def test_a_failed_background_worker_shuts_the_service_down_and_says_so(how):
    stopped = []

    async def worker():
        await asyncio.sleep(0.1)
        if how == "raises":
            raise RuntimeError("worker crashed")
        raise asyncio.CancelledError()  # as aiokafka's stop() can re-raise from its own task

    async def on_stop():
        stopped.append(True)

    with pytest.raises(BackgroundWorkerFailed):
        await asyncio.wait_for(serve(name="t", listen="127.0.0.1:0", add_servicers=lambda s: [],
                                     background=[worker], on_stop=on_stop), 20)
    assert stopped == [True]  # shut down in order, not abandoned


# -- port 0 and the ready file ----------------------------------------------------------------

SERVE = ("import asyncio, sys; from skillpay.grpc_server import configure_logging, serve; configure_logging(); "
         "asyncio.run(serve(name='t', listen=sys.argv[1], add_servicers=lambda s: []))")


def _serve_process(listen: str, ready_file: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, SKILLPAY_READY_FILE=str(ready_file))
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-c", SERVE, listen], env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for_port(proc: subprocess.Popen, ready_file: Path, log: Path) -> int:
    deadline = time.monotonic() + 20
    while (port := read_port(ready_file)) is None:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return port


def test_a_server_on_port_0_writes_its_real_port_to_the_ready_file_and_serves_there(tmp_path):
    proc = _serve_process("127.0.0.1:0", tmp_path / "ready" / "t.addr", tmp_path / "t.log")
    try:
        port = _wait_for_port(proc, tmp_path / "ready" / "t.addr", tmp_path / "t.log")
        assert port > 0
        assert (tmp_path / "ready" / "t.addr").read_text() == f"127.0.0.1:{port}\n"
        assert grpc_serving(f"127.0.0.1:{port}")
        assert f"listening on 127.0.0.1:{port}" in (tmp_path / "t.log").read_text()
        assert [p.name for p in (tmp_path / "ready").iterdir()] == ["t.addr"]  # no temporary file left
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


def test_a_second_server_on_a_taken_port_fails_instead_of_sharing_it(tmp_path):
    procs = [_serve_process("127.0.0.1:0", tmp_path / "first.addr", tmp_path / "first.log")]
    try:
        port = _wait_for_port(procs[0], tmp_path / "first.addr", tmp_path / "first.log")
        # gRPC sets SO_REUSEPORT by default: the second server would start and take half the connections.
        procs.append(_serve_process(f"127.0.0.1:{port}", tmp_path / "second.addr", tmp_path / "second.log"))
        assert procs[1].wait(20) != 0
        assert "Failed to bind" in (tmp_path / "second.log").read_text()
        assert not (tmp_path / "second.addr").exists()
        assert grpc_serving(f"127.0.0.1:{port}") and procs[0].poll() is None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("error", "code"), [
    (InvalidArgument("is required", field="name"), grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound("no such voucher"), grpc.StatusCode.NOT_FOUND),
    (AlreadyExists("request_id already used"), grpc.StatusCode.ALREADY_EXISTS),
    (FailedPrecondition("voucher expired (V5)"), grpc.StatusCode.FAILED_PRECONDITION),
    (PermissionDenied("not transferable (V2)"), grpc.StatusCode.PERMISSION_DENIED),
])
async def test_each_domain_error_reaches_the_client_as_its_status_code(error, code, tmp_path, monkeypatch):
    async def fail(request, context):
        raise error

    def add_servicers(server):
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "t.T", {"Fail": grpc.unary_unary_rpc_method_handler(fail)})])
        return ["t.T"]

    done = asyncio.Event()

    async def until_done():  # stops serve() without a signal: it ends when a background worker does
        await done.wait()

    monkeypatch.setenv("SKILLPAY_READY_FILE", str(tmp_path / "t.addr"))
    ready = asyncio.Event()
    server = asyncio.create_task(serve(name="t", listen="127.0.0.1:0", add_servicers=add_servicers,
                                       background=[until_done], ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{read_port(tmp_path / 't.addr')}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channel.unary_unary("/t.T/Fail")(b"", timeout=5)
        assert (info.value.code(), info.value.details()) == (code, str(error))
    finally:
        done.set()
        await asyncio.wait_for(server, 20)

"""The shared gRPC bootstrap: a service whose background worker dies does not linger half alive."""

from __future__ import annotations

import asyncio

import pytest

from skillpay.broker import free_port
from skillpay.grpc_server import BackgroundWorkerFailed, serve

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
        await asyncio.wait_for(serve(name="t", listen=f"127.0.0.1:{free_port()}", add_servicers=lambda s: [],
                                     background=[worker], on_stop=on_stop), 20)
    assert stopped == [True]  # shut down in order, not abandoned

"""Readiness across the stack: the broker stops, every service says so, and recovers with it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from skillpay.ledger.v1 import ledger_pb2
from tests.e2e.conftest import connect
from tests.integration.test_readiness_metrics import health, scrape

pytestmark = pytest.mark.e2e
SERVICES = ("voucher", "claim", "ledger")


async def _until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        await asyncio.sleep(0.2)


async def test_a_stopped_broker_makes_every_service_not_ready_and_its_return_ready_again(stack_factory):
    stack = stack_factory(extra_env={"SKILLPAY_READY_INTERVAL_S": "0.5"})
    readyz = f"{stack.gateway_url}/readyz"
    assert httpx.get(readyz, timeout=10).json() == {
        "status": "ready", "services": {name: {"status": "SERVING"} for name in SERVICES}}
    for name in SERVICES:
        metrics = scrape(stack.metrics_addr(name))
        assert metrics[("skillpay_ready", frozenset())] == 1

        def lag_of(service=name):
            return {labels: v for (metric, labels), v in scrape(stack.metrics_addr(service)).items()
                    if metric == "skillpay_consumer_lag"}

        # The lag is read from the broker's answers to the consumer's fetches: a gauge appears per
        # partition once the first fetch came back (readiness does not wait for that).
        await _until(lambda: bool(lag_of()), 30, f"{name}'s first fetch")
        assert set(lag_of().values()) == {0}  # nothing behind

    stack.broker.stop()
    # Bounded: one check interval plus the probe's timeout (2 s), with room for a busy machine.
    await _until(lambda: all(health(stack.addr(n), "skillpay.readiness.broker") == "NOT_SERVING" for n in SERVICES),
                 20, "every service reporting the broker")
    reply = httpx.get(readyz, timeout=10)
    assert reply.status_code == 503
    assert reply.json() == {"status": "not ready", "services": {
        name: {"status": "NOT_SERVING", "failing": ["broker"]} for name in SERVICES}}
    assert health(stack.addr("voucher"), "skillpay.liveness") == "SERVING"
    assert httpx.get(f"{stack.gateway_url}/healthz", timeout=10).json() == {"status": "ok"}  # alive all along
    clients = connect(stack)
    try:  # not ready is a report, not a refusal: calls are answered meanwhile
        await clients.ledger.ListPayments(ledger_pb2.ListPaymentsRequest())
    finally:
        await clients.close()
    assert "not ready: broker: broker unreachable" in (stack.logs_dir / "claim.log").read_text()

    stack.broker.restart()
    await _until(lambda: httpx.get(readyz, timeout=10).status_code == 200, 60, "ready again")
    assert all(health(stack.addr(n)) == "SERVING" for n in SERVICES)
    assert "claim: ready again (was: broker" in (stack.logs_dir / "claim.log").read_text()
    # The gateway counts what it answered, by route template and status.
    gateway = {(s.name, frozenset(s.labels.items())): s.value
               for f in text_string_to_metric_families(httpx.get(f"{stack.gateway_url}/metrics", timeout=10).text)
               for s in f.samples}
    assert gateway[("skillpay_http_requests_total", frozenset({("route", "/readyz"), ("status", "503")}))] >= 1
    assert gateway[("skillpay_http_requests_total", frozenset({("route", "/readyz"), ("status", "200")}))] >= 2

"""Readiness thresholds and the monitor's reports, on a fixed clock; the metrics it feeds."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from grpc_health.v1 import health, health_pb2
from prometheus_client.parser import text_string_to_metric_families

from skillpay.clock import FixedClock
from skillpay.metrics import ServiceMetrics
from skillpay.readiness import CHECKS, Observation, ReadinessMonitor, Thresholds, evaluate

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LIMITS = Thresholds(max_outbox_backlog=10, max_outbox_age_s=60, max_consumer_lag=100)


def failing(obs: Observation, now: datetime = T0) -> dict[str, str]:
    return {check: reason for check, reason in evaluate(obs, LIMITS, now).items() if reason}


def test_everything_within_its_threshold_is_ready():
    assert failing(Observation(outbox_backlog=10, oldest_unpublished_at=T0 - timedelta(seconds=60),
                               lag={("t", 0): 100, ("t", 1): 0})) == {}


def test_each_threshold_is_exceeded_by_one_more():
    assert failing(Observation(outbox_backlog=11)) == {
        "outbox_backlog": "outbox backlog 11 > 10 unpublished events"}
    assert failing(Observation(lag={("t", 0): 3, ("t", 2): 101})) == {"consumer_lag": "consumer lag 101 > 100 on t[2]"}


def test_the_oldest_unpublished_event_ages_with_the_clock():
    clock = FixedClock(T0)
    obs = Observation(outbox_backlog=1, oldest_unpublished_at=T0)
    clock.advance(timedelta(seconds=60))
    assert failing(obs, clock.now()) == {}
    clock.advance(timedelta(seconds=1))
    assert failing(obs, clock.now()) == {"outbox_backlog": "oldest unpublished event waits 61 s > 60 s"}
    # SQLite gives naive datetimes back (UTC).
    assert failing(Observation(outbox_backlog=1, oldest_unpublished_at=T0.replace(tzinfo=None)), clock.now())


def test_database_and_broker_failures_name_the_kind_of_error_only():
    assert failing(Observation(database_error="OperationalError", broker_error="KafkaTimeoutError")) == {
        "database": "database unreachable (OperationalError)", "broker": "broker unreachable (KafkaTimeoutError)"}
    # No broker configured: nothing to reach (the outbox backlog check covers what piles up).
    assert failing(Observation(broker_configured=False, broker_error="x")) == {}


def test_unknown_values_fail_nothing_by_themselves():
    assert failing(Observation(outbox_backlog=None, lag=None)) == {}
    assert failing(Observation(lag={})) == {}


class Probe:
    def __init__(self):
        self.next = Observation()

    async def __call__(self) -> Observation:
        return self.next


async def test_the_monitor_publishes_health_per_check_and_logs_each_change_once(caplog):
    caplog.set_level(logging.INFO, logger="skillpay.readiness")
    clock, probe, servicer = FixedClock(T0), Probe(), health.aio.HealthServicer()
    monitor = ReadinessMonitor("claim", probe, LIMITS, clock=clock)
    await monitor.attach(servicer, ["skillpay.claim.v1.ClaimService"])

    async def status(name: str) -> str:
        reply = await servicer.Check(health_pb2.HealthCheckRequest(service=name), None)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    assert await status("") == "NOT_SERVING"  # not ready before the first check
    assert await status("skillpay.liveness") == "SERVING"

    await monitor.check()
    assert monitor.current.ready and await status("") == await status("skillpay.claim.v1.ClaimService") == "SERVING"

    probe.next = Observation(broker_error="KafkaTimeoutError")
    for _ in range(3):
        clock.advance(timedelta(seconds=1))
        await monitor.check()
    assert await status("") == "NOT_SERVING" and await status("skillpay.claim.v1.ClaimService") == "NOT_SERVING"
    assert await status("skillpay.readiness.broker") == "NOT_SERVING"
    assert {c: await status(f"skillpay.readiness.{c}") for c in CHECKS if c != "broker"} == dict.fromkeys(
        ["database", "consumer_lag", "outbox_backlog"], "SERVING")

    clock.advance(timedelta(seconds=58))  # one minute since the change was logged: a reminder
    await monitor.check()
    probe.next = Observation()
    await monitor.check()
    assert await status("") == "SERVING"
    assert [r.getMessage() for r in caplog.records] == [
        "claim: ready",
        "claim: not ready: broker: broker unreachable (KafkaTimeoutError)",
        "claim: still not ready: broker: broker unreachable (KafkaTimeoutError)",
        "claim: ready again (was: broker: broker unreachable (KafkaTimeoutError))",
    ]
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING", "WARNING", "INFO"]


async def test_a_changing_number_is_not_a_change_worth_a_line(caplog):
    caplog.set_level(logging.INFO, logger="skillpay.readiness")
    clock, probe = FixedClock(T0), Probe()
    monitor = ReadinessMonitor("ledger", probe, LIMITS, clock=clock)
    for backlog in (11, 12, 13):
        probe.next = Observation(outbox_backlog=backlog)
        await monitor.check()
        clock.advance(timedelta(seconds=1))
    assert [r.getMessage() for r in caplog.records] == [
        "ledger: not ready yet: outbox_backlog: outbox backlog 11 > 10 unpublished events"]


async def test_metrics_show_the_last_check():
    clock, probe = FixedClock(T0), Probe()
    monitor = ReadinessMonitor("voucher", probe, LIMITS, clock=clock)
    metrics = ServiceMetrics(monitor=monitor)
    probe.next = Observation(outbox_backlog=4, oldest_unpublished_at=T0 - timedelta(seconds=90),
                             lag={("topic-a", 1): 120, ("topic-a", 0): 7})
    await monitor.check()
    metrics.observe_rpc("/skillpay.voucher.v1.VoucherService/GetVoucher", "NOT_FOUND", 0.003)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families((await metrics.render()).decode()) for s in f.samples}
    assert samples[("skillpay_ready", ())] == 0
    assert samples[("skillpay_ready_check", (("check", "consumer_lag"),))] == 0
    assert samples[("skillpay_ready_check", (("check", "outbox_backlog"),))] == 0  # 90 s > 60 s
    assert samples[("skillpay_ready_check", (("check", "database"),))] == 1
    assert samples[("skillpay_outbox_backlog", ())] == 4
    assert samples[("skillpay_outbox_oldest_unpublished_age_seconds", ())] == 90
    assert samples[("skillpay_consumer_lag", (("partition", "1"), ("topic", "topic-a")))] == 120
    assert samples[("skillpay_consumer_lag", (("partition", "0"), ("topic", "topic-a")))] == 7
    method = ("method", "/skillpay.voucher.v1.VoucherService/GetVoucher")
    assert samples[("skillpay_rpc_requests_total", (("code", "NOT_FOUND"), method))] == 1
    assert samples[("skillpay_rpc_duration_seconds_bucket", (("code", "NOT_FOUND"), ("le", "0.005"), method))] == 1
    assert samples[("skillpay_rpc_duration_seconds_bucket", (("code", "NOT_FOUND"), ("le", "0.0025"), method))] == 0


def test_thresholds_come_from_documented_variables(monkeypatch):
    from skillpay.settings import ServiceSettings

    monkeypatch.setenv("SKILLPAY_READY_MAX_OUTBOX_BACKLOG", "5")
    monkeypatch.setenv("SKILLPAY_READY_MAX_OUTBOX_AGE_S", "30")
    monkeypatch.setenv("SKILLPAY_READY_MAX_CONSUMER_LAG", "7")
    assert Thresholds.from_settings(ServiceSettings()) == Thresholds(5, 30.0, 7)

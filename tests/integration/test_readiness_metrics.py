"""Readiness and /metrics of a real service process (and the parts in-process), on SQLite and PostgreSQL.

The service runs without a broker here (events stay in the outbox); the broker's part is in
tests/e2e/test_readiness.py and, for consumer lag, below against the session's real broker.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, text, update

from skillpay.actors import ActorKind
from skillpay.auth import Identity, TokenIssuer, authenticated_channel, load_or_create_private_key, public_pem
from skillpay.clock import utcnow
from skillpay.db import Database, run_migrations
from skillpay.events.v1 import events_pb2
from skillpay.kafka import ensure_topics
from skillpay.messaging import OutgoingEvent, outbox
from skillpay.messaging import parked_events as parked_events_table
from skillpay.metrics import MetricsServer, ServiceMetrics
from skillpay.readiness import ServiceProbe, Thresholds, evaluate
from skillpay.ready import read_port
from skillpay.uow import SqlUnitOfWork
from skillpay.voucher.v1 import voucher_pb2, voucher_pb2_grpc
from tests.conftest import PG_HOST, _pg_admin, _run_in_thread
from tests.integration.ledger_process import private_pem
from tests.integration.test_messaging import _consumer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
VOUCHER = "/skillpay.voucher.v1.VoucherService/"


def health(addr: str, service: str = "") -> str:
    with grpc.insecure_channel(addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        except grpc.RpcError as exc:
            return exc.code().name


def scrape(addr: str) -> dict[tuple[str, frozenset], float]:
    reply = httpx.get(f"http://{addr}/metrics", timeout=5)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def until(predicate, timeout_s: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        time.sleep(0.1)
    return value


class VoucherProcess:
    """The voucher service as its own process, on port 0 for gRPC and metrics, no broker."""

    def __init__(self, tmp_path: Path, url: str, **env):
        self.url = url
        self.log = tmp_path / "voucher.log"
        ready = tmp_path / "ready" / "voucher.addr"
        key = load_or_create_private_key(tmp_path / "keys" / "signing.pem")
        self.issuer = TokenIssuer(key)
        full_env = dict(os.environ, VOUCHER_GRPC_LISTEN="127.0.0.1:0", VOUCHER_METRICS_LISTEN="127.0.0.1:0",
                        SKILLPAY_READY_FILE=str(ready), VOUCHER_DATABASE_URL=url, SKILLPAY_DATA_DIR=str(tmp_path),
                        KAFKA_BOOTSTRAP_SERVERS="", SKILLPAY_AUTH_PUBLIC_KEY=public_pem(key),
                        # the voucher service signs its own calls to the ledger (none are made here)
                        SKILLPAY_AUTH_PRIVATE_KEY=private_pem(key),
                        SKILLPAY_PII_KEY=base64.b64encode(os.urandom(32)).decode(),
                        SKILLPAY_LOOKUP_KEY=base64.b64encode(os.urandom(32)).decode(),
                        SKILLPAY_READY_INTERVAL_S="0.2", SKILLPAY_READY_CHECK_TIMEOUT_S="1", **env)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "voucher_svc.entrypoints.grpc_server"], env=full_env,
                                         stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        metrics_ready = ready.with_name("voucher.metrics.addr")

        def up():
            assert self.proc.poll() is None, self.log.read_text()
            return read_port(ready) and read_port(metrics_ready) and \
                health(f"127.0.0.1:{read_port(ready)}", "skillpay.liveness") == "SERVING"

        until(up, 60, "the voucher service listening")
        self.addr = f"127.0.0.1:{read_port(ready)}"
        self.metrics_addr = metrics_ready.read_text().strip()

    def channel(self, kind: ActorKind = ActorKind.ADMIN):
        return authenticated_channel(self.addr, Identity(self.issuer, kind, "admin-1"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            assert self.proc.wait(15) == 0, self.log.read_text()


@pytest.fixture
def voucher_process(database_url_factory, tmp_path):
    started = []

    def start(**env) -> VoucherProcess:
        started.append(VoucherProcess(tmp_path, database_url_factory("v"), **env))
        return started[-1]

    yield start
    for p in started:
        p.stop()


async def _write_outbox(url: str, n: int) -> None:
    db = Database(url)
    try:
        async with SqlUnitOfWork(db, "test", lambda e: []) as uow:
            for i in range(n):
                await uow.add_event(OutgoingEvent("skillpay.voucher.v1.events", "voucher.redeemed", f"v{i}",
                                                  events_pb2.PaymentSettled(payment_id=f"p{i}")))
            await uow.commit()
    finally:
        await db.dispose()


async def _publish_all(url: str) -> None:
    db = Database(url)
    try:
        async with db.writer.begin() as conn:
            await conn.execute(update(outbox).values(published_at=text("CURRENT_TIMESTAMP")))
    finally:
        await db.dispose()


async def test_an_outbox_backlog_over_its_threshold_makes_the_service_not_ready_but_it_still_answers(voucher_process):
    service = voucher_process(SKILLPAY_READY_MAX_OUTBOX_BACKLOG="2")
    until(lambda: health(service.addr) == "SERVING", what="ready with an empty outbox")
    assert health(service.addr, "skillpay.readiness.broker") == "SERVING"  # no broker configured is no failure

    await _write_outbox(service.url, 3)
    until(lambda: health(service.addr) == "NOT_SERVING", what="not ready")
    assert health(service.addr, "skillpay.voucher.v1.VoucherService") == "NOT_SERVING"
    assert health(service.addr, "skillpay.readiness.outbox_backlog") == "NOT_SERVING"
    assert health(service.addr, "skillpay.readiness.database") == "SERVING"
    assert health(service.addr, "skillpay.liveness") == "SERVING"
    channel = service.channel()
    try:  # readiness only reports: calls are still answered
        await voucher_pb2_grpc.VoucherServiceStub(channel).ListOccupations(voucher_pb2.ListOccupationsRequest())
    finally:
        await channel.close()
    metrics = scrape(service.metrics_addr)
    assert metrics[("skillpay_outbox_backlog", frozenset())] == 3
    assert metrics[("skillpay_ready", frozenset())] == 0
    assert metrics[("skillpay_ready_check", frozenset({("check", "outbox_backlog")}))] == 0
    assert metrics[("skillpay_ready_check", frozenset({("check", "database")}))] == 1
    assert "not ready: outbox_backlog: outbox backlog 3 > 2 unpublished events" in service.log.read_text()

    await _publish_all(service.url)
    until(lambda: health(service.addr) == "SERVING", what="ready again")
    assert scrape(service.metrics_addr)[("skillpay_outbox_backlog", frozenset())] == 0
    assert "voucher: ready again (was: outbox_backlog" in service.log.read_text()


async def test_metrics_count_each_rpc_by_method_and_code(voucher_process):
    service = voucher_process()
    channel = service.channel()
    try:
        stub = voucher_pb2_grpc.VoucherServiceStub(channel)
        for _ in range(3):
            await stub.ListOccupations(voucher_pb2.ListOccupationsRequest())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RegisterOccupation(voucher_pb2.RegisterOccupationRequest(request_id="r1", code="x"))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await channel.close()
    async with grpc.aio.insecure_channel(service.addr) as anonymous:
        with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
            await voucher_pb2_grpc.VoucherServiceStub(anonymous).ListOccupations(voucher_pb2.ListOccupationsRequest())
        assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED

    metrics = scrape(service.metrics_addr)

    def count(method: str, code: str, name: str = "skillpay_rpc_requests_total") -> float:
        return metrics.get((name, frozenset({("method", VOUCHER + method), ("code", code)})), 0)

    assert count("ListOccupations", "OK") == 3
    assert count("ListOccupations", "UNAUTHENTICATED") == 1
    assert count("RegisterOccupation", "INVALID_ARGUMENT") == 1
    assert count("RegisterOccupation", "OK") == 0
    assert count("ListOccupations", "OK", "skillpay_rpc_duration_seconds_count") == 3
    assert metrics[("skillpay_rpc_duration_seconds_bucket",
                    frozenset({("method", VOUCHER + "ListOccupations"), ("code", "OK"), ("le", "+Inf")}))] == 3
    # Read from the database on scrape: vouchers by state (every state, 0 here), no parked events.
    assert metrics[("skillpay_vouchers", frozenset({("state", "issued")}))] == 0
    assert metrics[("skillpay_parked_events", frozenset({("state", "parked")}))] == 0
    assert metrics[("skillpay_metrics_database_up", frozenset())] == 1
    # Only /metrics, only GET.
    assert httpx.get(f"http://{service.metrics_addr}/other", timeout=5).status_code == 404
    assert httpx.post(f"http://{service.metrics_addr}/metrics", timeout=5).status_code == 405


def test_a_database_that_refuses_connections_makes_the_service_not_ready_until_it_is_back(
        postgres_databases, tmp_path):
    url = postgres_databases.create("ready")
    name = url.rsplit("/", 1)[1]
    service = VoucherProcess(tmp_path, url)
    try:
        until(lambda: health(service.addr) == "SERVING", what="ready")
        _run_in_thread(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        _run_in_thread(_pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        until(lambda: health(service.addr) == "NOT_SERVING", what="not ready")
        assert health(service.addr, "skillpay.readiness.database") == "NOT_SERVING"
        assert health(service.addr, "skillpay.liveness") == "SERVING"
        metrics = scrape(service.metrics_addr)
        assert metrics[("skillpay_ready_check", frozenset({("check", "database")}))] == 0
        assert metrics[("skillpay_metrics_database_up", frozenset())] == 0
        assert "not ready: database: database unreachable" in service.log.read_text()
        assert PG_HOST not in service.log.read_text().split("not ready: database")[1]  # never the URL
    finally:
        _run_in_thread(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    until(lambda: health(service.addr) == "SERVING", 30, what="ready again")
    service.stop()


# -- in-process: consumer lag against the real broker, parked events, the metrics listener ------

MIGRATIONS = ROOT / "claim_svc" / "migrations"


@pytest.fixture
async def db(database_url_factory):
    url = database_url_factory("ready")
    await asyncio.to_thread(run_migrations, url, MIGRATIONS)
    database = Database(url)
    yield database
    await database.dispose()


async def test_consumer_lag_is_the_high_watermark_minus_the_stored_position_per_partition(db, broker):
    topic = f"t-{uuid.uuid4().hex}"
    await ensure_topics(broker.bootstrap, [topic], 3)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:  # one send each: tansu reports end offsets per batch
        for partition, n in ((0, 3), (1, 1)):
            for _ in range(n):
                envelope = events_pb2.EventEnvelope(event_id=str(uuid.uuid4()), event_type="payment.settled")
                await producer.send_and_wait(topic, envelope.SerializeToString(), partition=partition)
    finally:
        await producer.stop()
    may_apply = asyncio.Event()

    async def handler(envelope, uow):
        if not may_apply.is_set():
            raise RuntimeError("not yet")

    consumer = _consumer(db, broker.bootstrap, f"g-{uuid.uuid4().hex}", [topic], {"payment.settled": handler},
                         partitions=3)
    probe = ServiceProbe(db, None, [consumer], broker_configured=True, timeout_s=5)
    task = asyncio.create_task(consumer.run())
    try:
        async def observed(expected):
            deadline = asyncio.get_running_loop().time() + 30
            while True:  # the lag is what the consumer's own fetches last saw
                obs = await probe()
                if obs.lag == expected or asyncio.get_running_loop().time() > deadline:
                    return obs
                await asyncio.sleep(0.2)

        obs = await observed({(topic, 0): 3, (topic, 1): 1, (topic, 2): 0})
        assert obs.broker_error is None and obs.database_error is None
        assert obs.lag == {(topic, 0): 3, (topic, 1): 1, (topic, 2): 0}
        reasons = evaluate(obs, Thresholds(max_consumer_lag=2), utcnow())
        assert reasons["consumer_lag"] == f"consumer lag 3 > 2 on {topic}[0]"

        may_apply.set()
        deadline = asyncio.get_running_loop().time() + 60  # the held partitions are retried after a back-off
        while (await probe()).lag != {(topic, 0): 0, (topic, 1): 0, (topic, 2): 0}:
            assert asyncio.get_running_loop().time() < deadline, "the lag did not go to 0"
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (await probe()).broker_error == "a consumer is not connected"


async def test_parked_events_are_counted_by_state(db):
    metrics = ServiceMetrics(db)

    def parked() -> dict[str, float]:
        return {s.labels["state"]: s.value for s in families["skillpay_parked_events"].samples}

    families = {f.name: f for f in text_string_to_metric_families((await metrics.render()).decode())}
    assert parked() == {"parked": 0, "replayed": 0}
    row = dict(consumer="c", topic="t", kafka_partition=0, event_id="", event_type="", envelope=b"",
               error_class="ValueError", error_message="bad", attempts=5, parked_at=datetime.now(timezone.utc))
    async with db.writer.begin() as conn:
        await conn.execute(insert(parked_events_table), [
            dict(row, kafka_offset=1, state="parked"), dict(row, kafka_offset=2, state="parked"),
            dict(row, kafka_offset=3, state="replayed")])
    await asyncio.sleep(2.1)  # past the cache
    families = {f.name: f for f in text_string_to_metric_families((await metrics.render()).decode())}
    assert parked() == {"parked": 2, "replayed": 1}


async def test_the_metrics_listener_binds_port_0_and_refuses_a_taken_port():
    async def render() -> bytes:
        return b"x 1\n"

    first = MetricsServer(render)
    address = await first.start("127.0.0.1:0")
    try:
        assert not address.endswith(":0")
        reply = await asyncio.to_thread(httpx.get, f"http://{address}/metrics", timeout=5)
        assert reply.status_code == 200 and reply.text == "x 1\n"
        with pytest.raises(OSError):
            await MetricsServer(render).start(address)
    finally:
        await first.stop()

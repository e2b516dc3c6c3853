"""Outages are logged once per change of state; library log floods are rate-limited; failures are classified."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from skillpay.dead_letters import describe, is_transient, parse_public_id
from skillpay.errors import FailedPrecondition, InvalidArgument, NotFound
from skillpay.outage import Outage, RateLimit

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_logs_down_once_a_reminder_a_minute_and_recovered(caplog):
    clock = Clock()
    outage = Outage(logging.getLogger("t.outage"), "broker", clock=clock)
    with caplog.at_level(logging.INFO, logger="t.outage"):
        for _ in range(600):  # ten minutes of attempts every second
            outage.failed(ConnectionRefusedError())
            clock.now += 1
        assert outage.down
        outage.ok()
        outage.ok()  # up and still up: nothing more
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "broker unreachable (ConnectionRefusedError); retrying quietly"
    reminders = [m for m in messages if "still unreachable" in m]
    assert len(reminders) == 9 and reminders[0].startswith("broker still unreachable for 60 s")
    assert messages[-1] == "broker recovered after 600 s"
    assert len(messages) == 11 and not outage.down and outage.outages == 1


def test_a_second_outage_is_reported_again():
    clock = Clock()
    outage = Outage(logging.getLogger("t.outage2"), "database", clock=clock)
    outage.failed()
    outage.ok()
    outage.failed()
    assert outage.outages == 2 and outage.down_for_s() == 0


def test_rate_limit_lets_one_record_per_template_per_interval_through():
    clock = Clock()
    limit = RateLimit(every_s=60, clock=clock)

    def record(msg: str, name: str = "aiokafka.conn") -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("x",), None)

    assert limit.filter(record("Unable connect to node %s"))
    assert not any(limit.filter(record("Unable connect to node %s")) for _ in range(100))
    assert limit.filter(record("something else %s"))  # a new kind of message is not hidden
    assert limit.filter(record("Unable connect to node %s", "aiokafka.client"))
    clock.now += 60
    assert limit.filter(record("Unable connect to node %s"))


@pytest.mark.parametrize("exc", [
    OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
    OperationalError("SELECT 1", {}, Exception("connection refused")),
    KafkaConnectionError(), ConnectionRefusedError(), asyncio.TimeoutError(),
])
def test_infrastructure_failures_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    FailedPrecondition("X2: this voucher was already claimed"), InvalidArgument("bad", field="f"),
    IntegrityError("INSERT", {}, Exception("unique")), DataError("INSERT", {}, Exception("value too long")),
    ValueError("cannot decrypt"), NotFound("no such claim"),
])
def test_everything_else_is_poison(exc):
    assert not is_transient(exc)


def test_error_descriptions_are_escaped_and_bounded():
    error_class, message = describe(ValueError("\x1b[31mred\r\nforged line" + "x" * 10_000))
    assert error_class == "ValueError"
    assert "\x1b" not in message and "\n" not in message and len(message) <= 500


def test_parked_event_ids_name_their_service():
    assert parse_public_id("claim", "claim-12") == 12
    with pytest.raises(NotFound):
        parse_public_id("claim", "voucher-12")
    for bad in ("", "12", "claim-", "claim-x", "claim-١٢", "claim-" + "9" * 40):
        with pytest.raises(InvalidArgument):
            parse_public_id("claim", bad)

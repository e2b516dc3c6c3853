"""An operator finds a poison event with ``skillpay events parked`` and replays it with ``skillpay events replay``.

The whole stack runs as processes; a ``payment.settled`` whose payload does not parse is published
to the ledger's topic, as a ledger of an incompatible version might. voucher_svc tries it
twice (the stack is configured so), parks it and goes on; the CLI lists it and a replay, with the
cause not fixed, fails again and keeps it parked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from skillpay.events.v1 import events_pb2
from skillpay.kafka import LEDGER_EVENTS
from tests.e2e.test_cli import REPO_ROOT

pytestmark = pytest.mark.e2e


def _events_cli(stack, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, SKILLPAY_DATA_DIR=str(stack.data_dir), COLUMNS="200",
               PYTHONPATH=os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH")))),
               **{f"{name.upper()}_GRPC_LISTEN": stack.addr(name) for name in ("voucher", "claim", "ledger")})
    env.pop("SKILLPAY_AUTH_PRIVATE_KEY", None)
    return subprocess.run([sys.executable, "-m", "skillpay.cli", "events", *args], env=env, capture_output=True,
                          text=True, timeout=60)


async def test_the_cli_lists_a_parked_event_and_a_replay_that_fails_keeps_it_parked(stack_factory):
    stack = stack_factory(extra_env={"SKILLPAY_EVENT_MAX_ATTEMPTS": "2", "SKILLPAY_EVENT_RETRY_DELAY_S": "0.1"})
    event_id = str(uuid.uuid4())
    poison = events_pb2.EventEnvelope(
        event_id=event_id, event_type="payment.settled", aggregate_id="pay_unknown", producer="ledger",
        payload=b"\xff\xff\xff not a PaymentSettled")
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(LEDGER_EVENTS, poison.SerializeToString(), key=b"pay_unknown")
    finally:
        await producer.stop()

    deadline = time.monotonic() + 60
    while True:
        listed = _events_cli(stack, "parked", "--service", "all")
        if "voucher-1" in listed.stdout:
            break
        assert time.monotonic() < deadline, f"never parked:\n{listed.stdout}\n{listed.stderr}"
        time.sleep(0.5)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "payment.settled" in listed.stdout and event_id in listed.stdout and "DecodeError" in listed.stdout

    replayed = _events_cli(stack, "replay", "voucher-1")
    assert replayed.returncode == 1 and "failed again, still parked" in replayed.stdout, replayed.stdout
    assert "attempts 3" in replayed.stdout

    unknown = _events_cli(stack, "replay", "claim-99")
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stdout, unknown.stdout
    assert "voucher-1" not in _events_cli(stack, "parked", "--service", "claim").stdout

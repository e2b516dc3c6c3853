"""Seeing inside real processes: JSON log lines, and one trace from a call through every service."""

from __future__ import annotations

import asyncio
import json
import random
import time

import httpx
import pytest

from skillpay import tracing
from skillpay.cli.demo import STANDARD_FEN, prepare, redeem_one, wait_paid
from tests.e2e.conftest import connect

pytestmark = pytest.mark.e2e


def _spans(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _gateway_calls_served(spans: list[dict]) -> list[dict]:
    """voucher_svc's GetVoucher spans whose parent is a gateway client span."""
    gateway = {s["span_id"] for s in spans if s["service"] == "skillpay-gateway" and s["name"].endswith("/GetVoucher")}
    return [s for s in spans if s["service"] == "skillpay-voucher" and s["name"].endswith("/GetVoucher")
            and s["parent_span_id"] in gateway]


async def _wait_for_spans(path, wanted, timeout_s: float = 60) -> list[dict]:
    """The spans written so far (each process flushes on its own), once every (service, name) in
    ``wanted`` is among them and the gateway's call has reached the file from both ends."""
    deadline = time.monotonic() + timeout_s
    while True:
        spans = _spans(path)
        missing = wanted - {(s["service"], s["name"]) for s in spans}
        if not missing and _gateway_calls_served(spans):
            return spans
        assert time.monotonic() < deadline, f"spans never written: {missing}"
        await asyncio.sleep(0.3)


async def test_one_trace_runs_from_the_redeem_call_through_claim_ledger_and_back(stack_factory, tmp_path):
    traces = tmp_path / "traces.jsonl"
    stack = stack_factory(extra_env={"SKILLPAY_TRACES": "file", "SKILLPAY_TRACES_FILE": str(traces),
                                     "SKILLPAY_LOG_FORMAT": "json"})
    own = tracing.configure("test", "memory")  # this process's client spans, sent as traceparent
    clients = connect(stack)
    try:
        institution = await prepare(clients, "ESF-DEMO", STANDARD_FEN)
        voucher_id = await redeem_one(clients, institution, "ESF-DEMO", random.Random(11))
        await wait_paid(clients, [voucher_id], 60)
        body = httpx.get(f"{stack.gateway_url}/v1/vouchers/{voucher_id}", timeout=10).json()
        assert body["voucher"]["state"] == "VOUCHER_STATE_PAID"
        spans = await _wait_for_spans(traces, {
            ("skillpay-voucher", "skillpay.voucher.v1.VoucherService/RedeemVoucher"),
            ("skillpay-claim", "voucher.redeemed process"),
            ("skillpay-ledger", "payout.requested process"),
            ("skillpay-claim", "payment.settled process"),
            ("skillpay-voucher", "payment.settled process"),
            ("skillpay-voucher", "skillpay.voucher.v1.VoucherService/GetVoucher"),
            ("skillpay-gateway", "skillpay.voucher.v1.VoucherService/GetVoucher"),
        })
    finally:
        await clients.close()
        tracing.shutdown()
    by_id = {s["span_id"]: s for s in spans}

    def parent(span: dict) -> dict:
        assert span["parent_span_id"] in by_id, f"no parent written for {span['name']}"
        return by_id[span["parent_span_id"]]

    (redeem,) = [s for s in spans if s["name"].endswith("/RedeemVoucher")]
    trace_id = redeem["trace_id"]
    assert redeem["kind"] == "SERVER" and redeem["attributes"]["rpc.grpc.status_code"] == 0
    # The caller's client span (this test process) is the server span's parent, across the wire.
    client = next(s for s in own.get_finished_spans() if s.name.endswith("/RedeemVoucher"))
    assert format(client.context.trace_id, "032x") == trace_id
    assert redeem["parent_span_id"] == format(client.context.span_id, "016x")

    # voucher_svc wrote voucher.redeemed in the call; claim_svc applied it as a child of that.
    (claim_applies,) = [s for s in spans if s["name"] == "voucher.redeemed process"
                        and s["service"] == "skillpay-claim"]
    redeemed_created = parent(claim_applies)
    assert (redeemed_created["name"], redeemed_created["kind"]) == ("voucher.redeemed create", "PRODUCER")
    assert parent(redeemed_created) == redeem
    assert claim_applies["kind"] == "CONSUMER" and claim_applies["trace_id"] == trace_id

    # claim_svc requested the payout while applying it; the ledger applied that request.
    (ledger_applies,) = [s for s in spans if s["name"] == "payout.requested process"]
    assert ledger_applies["service"] == "skillpay-ledger" and ledger_applies["trace_id"] == trace_id
    payout_created = parent(ledger_applies)
    assert payout_created["name"] == "payout.requested create" and payout_created["service"] == "skillpay-claim"
    assert parent(payout_created) == claim_applies

    # The ledger's payout worker pays it later, in the same trace: the bank call, and the outcome
    # (payment.settled) that claim_svc and voucher_svc apply.
    submit = next(s for s in spans if s["name"] == "payment submit")
    assert submit["trace_id"] == trace_id and submit["service"] == "skillpay-ledger"
    bank_call = next(s for s in spans if s["name"] == "POST /v1/batches")
    assert (bank_call["kind"], parent(bank_call)) == ("CLIENT", submit)
    settled_applied = {s["service"] for s in spans if s["name"] == "payment.settled process"
                       and s["trace_id"] == trace_id}
    assert settled_applied == {"skillpay-claim", "skillpay-voucher"}

    # The gateway's calls carry their context too: its client span is the service's server span's parent.
    served = _gateway_calls_served(spans)[0]
    assert served["trace_id"] == by_id[served["parent_span_id"]]["trace_id"]

    # Every log line of the voucher service is one JSON object; the redeem call's line names its
    # request id and its trace.
    lines = [json.loads(line) for line in (stack.logs_dir / "voucher.log").read_text().splitlines()
             if line.strip()]
    assert all(line["service"] == "voucher" and line["time"].endswith("+00:00") for line in lines)
    (rpc_line,) = [line for line in lines if line.get("rpc_method", "").endswith("/RedeemVoucher")]
    assert rpc_line["request_id"] == redeem["attributes"]["skillpay.request_id"]
    assert rpc_line["trace_id"] == trace_id and rpc_line["span_id"] == redeem["span_id"]
    assert rpc_line["code"] == "OK" and rpc_line["level"] == "INFO"

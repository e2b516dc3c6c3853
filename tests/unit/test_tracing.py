"""Tracing helpers: which exporter is chosen, off is a no-op, event context carried by the envelope."""

from __future__ import annotations

import json

import pytest

from skillpay import tracing
from skillpay.events.v1 import events_pb2
from skillpay.messaging import OutgoingEvent, envelope_for

pytestmark = pytest.mark.unit


@pytest.fixture
def spans():
    exporter = tracing.configure("voucher", "memory")
    yield exporter
    tracing.shutdown()


@pytest.mark.parametrize("configured, environ, expected", [
    ("", {}, "off"),
    ("", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, "otlp"),
    ("", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4317"}, "otlp"),
    ("", {"OTEL_TRACES_EXPORTER": "console"}, "console"),
    ("", {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, "off"),
    ("file", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, "file"),
    ("OFF", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, "off"),
    ("otlp", {"OTEL_SDK_DISABLED": "true"}, "off"),
])
def test_the_exporter_is_chosen_from_skillpay_traces_then_the_standard_variables(configured, environ, expected):
    assert tracing.resolve_mode(configured, environ) == expected


def test_an_unknown_exporter_is_refused():
    with pytest.raises(ValueError):
        tracing.resolve_mode("jaeger", {})


def test_off_means_no_spans_no_context_and_no_interceptor():
    tracing.shutdown()
    assert not tracing.enabled()
    assert tracing.client_interceptors() == []
    assert tracing.current_ids() == ("", "")
    assert tracing.event_trace_context("voucher.redeemed", "t", "e1") == {}
    with tracing.server_span("/skillpay.x.v1.X/Y", ()) as span:
        assert span is None
    envelope = envelope_for(OutgoingEvent("t", "voucher.redeemed", "v1", events_pb2.VoucherRedeemed()), "voucher")
    assert dict(envelope.trace_context) == {}


def test_an_event_written_in_a_call_carries_the_calls_trace_and_its_consumer_span_is_a_child(spans):
    with tracing.server_span("/skillpay.voucher.v1.VoucherService/RedeemVoucher", ()) as rpc:
        envelope = envelope_for(OutgoingEvent("skillpay.voucher.v1.events", "voucher.redeemed", "v1",
                                              events_pb2.VoucherRedeemed()), "voucher")
    wire = events_pb2.EventEnvelope.FromString(envelope.SerializeToString())
    assert wire.trace_context["traceparent"].startswith("00-")
    with tracing.consumer_span(wire, "skillpay-claim", "skillpay.voucher.v1.events"):
        pass
    by_name = {s.name: s for s in spans.get_finished_spans()}
    server = by_name["skillpay.voucher.v1.VoucherService/RedeemVoucher"]
    producer = by_name["voucher.redeemed create"]
    consumer = by_name["voucher.redeemed process"]
    trace_id = rpc.get_span_context().trace_id
    assert {s.context.trace_id for s in (server, producer, consumer)} == {trace_id}
    assert producer.parent.span_id == server.context.span_id
    assert consumer.parent.span_id == producer.context.span_id
    assert (server.kind.name, producer.kind.name, consumer.kind.name) == ("SERVER", "PRODUCER", "CONSUMER")
    assert consumer.attributes["messaging.message.id"] == wire.event_id


def test_a_server_span_continues_the_callers_traceparent(spans):
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.server_span("/skillpay.claim.v1.ClaimService/GetClaim", (("traceparent", caller),)):
        pass
    (span,) = spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.attributes["rpc.method"] == "GetClaim"


def test_the_file_exporter_writes_one_json_object_per_span(tmp_path):
    path = tmp_path / "traces.jsonl"
    tracing.configure("ledger", "file", path)
    try:
        with tracing.server_span("/skillpay.ledger.v1.LedgerService/GetFund", ()):
            with tracing.server_span("/skillpay.ledger.v1.LedgerService/GetPayment", ()):
                pass
    finally:
        tracing.shutdown()  # flushes the batch
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [s["name"] for s in lines] == ["skillpay.ledger.v1.LedgerService/GetPayment",
                                          "skillpay.ledger.v1.LedgerService/GetFund"]
    inner, outer = lines
    assert inner["trace_id"] == outer["trace_id"] and inner["parent_span_id"] == outer["span_id"]
    assert outer["parent_span_id"] is None and outer["service"] == "skillpay-ledger" and outer["kind"] == "SERVER"
    assert outer["start"].endswith("+00:00") and outer["duration_ms"] >= 0


def test_events_written_in_one_batched_step_join_the_trace_that_created_each_aggregate(spans):
    origins = {}
    for pid in ("po_1", "po_2"):
        with tracing.server_span(f"/x/Create{pid}", ()) as created:
            tracing.remember(f"payment:{pid}")
            origins[pid] = created.get_span_context().trace_id
    with tracing.server_span("/x/Batch", ()) as batch, tracing.events_in_their_origin_traces("payment"):
        envelopes = {pid: envelope_for(OutgoingEvent("t", "payment.settled", pid, events_pb2.PaymentSettled()),
                                       "ledger") for pid in ("po_1", "po_2", "po_unknown")}
    producers = [s for s in spans.get_finished_spans() if s.name == "payment.settled create"]
    assert sorted(s.context.trace_id for s in producers) == sorted(
        [origins["po_1"], origins["po_2"], batch.get_span_context().trace_id])  # unknown: the current one
    assert all(e.trace_context["traceparent"] for e in envelopes.values())
    # outside the block, events follow the current span as before
    with tracing.server_span("/x/Other", ()) as other:
        envelope_for(OutgoingEvent("t", "payment.settled", "po_1", events_pb2.PaymentSettled()), "ledger")
    last = [s for s in spans.get_finished_spans() if s.name == "payment.settled create"][-1]
    assert last.context.trace_id == other.get_span_context().trace_id

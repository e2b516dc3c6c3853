"""OpenTelemetry traces across gRPC calls and Kafka events; off unless configured.

``SKILLPAY_TRACES`` chooses the exporter:

- ``off`` (the default, unless an OTLP endpoint is set): no tracer, no exporter; every helper
  here returns at its first line, so a call or an event costs one global read.
- ``otlp``: OTLP over gRPC, to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the standard OTEL_EXPORTER_OTLP_*
  variables apply). Setting that endpoint alone turns this on.
- ``file``: one JSON object per finished span, appended to ``SKILLPAY_TRACES_FILE`` (default
  ``<data_dir>/logs/traces.jsonl``); processes may share the file. For tests, and for operators
  without a collector.
- ``console``: the SDK's console exporter (stdout).

What is traced: a SERVER span per ``skillpay.*`` RPC (parent: the ``traceparent`` the caller
sent in its metadata), a CLIENT span per call made through :func:`client_interceptors` (which
sends that ``traceparent``), a PRODUCER span per event written to an outbox, whose context goes
into the event envelope (``EventEnvelope.trace_context``), and a CONSUMER span per event applied
from Kafka, a child of that context. So one voucher's redemption, its claim and its payout are
one trace, across processes and the broker.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import grpc

_tracer = None  # an SDK tracer while tracing is on; None means off
_provider = None
_lock = threading.Lock()
# The span that created each aggregate ("payment:<id>"), for work a background worker does on it later.
_origins: OrderedDict[str, object] = OrderedDict()
# While set (``events_in_their_origin_traces``): the aggregate type whose events are parented on
# the span that created their aggregate, rather than on the current span.
_events_follow_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar("events_follow_origin",
                                                                                  default=None)
MAX_ORIGINS = 10_000

MODES = ("off", "otlp", "file", "console", "memory")


def resolve_mode(configured: str = "", environ: Mapping[str, str] = os.environ) -> str:
    """SKILLPAY_TRACES if set; else the standard OTEL_TRACES_EXPORTER; else otlp when an endpoint is set."""
    mode = (configured or "").strip().lower()
    if not mode:
        standard = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
        if standard in ("otlp", "console"):
            mode = standard
        elif standard == "none":
            mode = "off"
        elif environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            mode = "otlp"
        else:
            mode = "off"
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        mode = "off"
    if mode not in MODES:
        raise ValueError(f"SKILLPAY_TRACES must be one of {', '.join(MODES[:4])}")
    return mode


def configure(service: str, mode: str = "off", file_path: Path | str | None = None):
    """Start tracing for this process as ``service``; returns the exporter (tests read ``memory``)."""
    global _tracer, _provider
    shutdown()
    if mode == "off":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if mode == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
        processor = BatchSpanProcessor(exporter)
    elif mode == "file":
        exporter = JsonLinesSpanExporter(Path(file_path or "traces.jsonl"))
        # Short delay: a span shows in the file about half a second after it ended.
        processor = BatchSpanProcessor(exporter, schedule_delay_millis=500)
    elif mode == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporter = ConsoleSpanExporter()
        processor = BatchSpanProcessor(exporter)
    elif mode == "memory":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        processor = SimpleSpanProcessor(exporter)
    else:
        raise ValueError(f"unknown trace exporter {mode[:20]!r}")
    # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
    provider = TracerProvider(resource=Resource.create({"service.name": f"skillpay-{service}"}))
    provider.add_span_processor(processor)
    with _lock:
        _provider = provider
        _tracer = provider.get_tracer("skillpay")
    return exporter


def configure_from(settings, service: str):
    """From CommonSettings: SKILLPAY_TRACES, SKILLPAY_TRACES_FILE (default under the data directory)."""
    mode = resolve_mode(settings.traces)
    path = settings.traces_file or (Path(settings.data_dir) / "logs" / "traces.jsonl")
    if mode == "file":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return configure(service, mode, path)


def shutdown() -> None:
    """Flush and stop (also done at interpreter exit by the SDK)."""
    global _tracer, _provider
    with _lock:
        provider, _provider, _tracer = _provider, None, None
        _origins.clear()
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    return _tracer is not None


def current_ids() -> tuple[str, str]:
    """(trace id, span id) of the current span as hex, or ('', '') when there is none."""
    if _tracer is None:
        return "", ""
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return "", ""
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _propagator():
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def _split_method(method: str) -> dict[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


# -- gRPC server -------------------------------------------------------------------------------
def server_span(method: str, metadata: Sequence[tuple[str, object]]):
    """A SERVER span for one RPC, child of the caller's ``traceparent``; a no-op when off."""
    if _tracer is None:
        return contextlib.nullcontext()
    from opentelemetry.trace import SpanKind

    carrier = {k: v for k, v in metadata if k in ("traceparent", "tracestate") and isinstance(v, str)}
    parent = _propagator().extract(carrier) if carrier else None
    return _tracer.start_as_current_span(method.lstrip("/"), context=parent, kind=SpanKind.SERVER,
                                         attributes=_split_method(method), record_exception=False,
                                         set_status_on_exception=False)


def set_rpc_status(span, code: grpc.StatusCode, request_id: str = "") -> None:
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if request_id:
        span.set_attribute("skillpay.request_id", request_id)  # bounded printable ASCII, as logged
    # OTel's rule for servers: only codes that mean the server failed make the span an error.
    if code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNIMPLEMENTED,
                grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS):
        span.set_status(Status(StatusCode.ERROR, code.name))


# -- gRPC client -------------------------------------------------------------------------------
class _TraceCalls(grpc.aio.UnaryUnaryClientInterceptor):
    """A CLIENT span per call; its context goes to the server as ``traceparent`` metadata."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        if _tracer is None:
            return await continuation(client_call_details, request)
        from opentelemetry.trace import SpanKind, Status, StatusCode

        method = client_call_details.method
        method = method.decode() if isinstance(method, bytes) else method
        with _tracer.start_as_current_span(method.lstrip("/"), kind=SpanKind.CLIENT,
                                           attributes=_split_method(method)) as span:
            carrier: dict[str, str] = {}
            _propagator().inject(carrier)
            metadata = [*(client_call_details.metadata or ()), *carrier.items()]
            call = await continuation(client_call_details._replace(metadata=grpc.aio.Metadata(*metadata)), request)
            try:
                await call
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code != grpc.StatusCode.OK:
                span.set_status(Status(StatusCode.ERROR, code.name))
            return call  # the caller awaits it and gets the same answer or error


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """For channels: the tracing interceptor when tracing is on, nothing otherwise."""
    return [_TraceCalls()] if _tracer is not None else []


# -- Kafka events ------------------------------------------------------------------------------
def event_trace_context(event_type: str, topic: str, event_id: str, aggregate_id: str = "") -> dict[str, str]:
    """For the envelope of an event being written to the outbox: a PRODUCER span's ``traceparent``.

    The span is a child of whatever is current (the RPC, or the event being applied) and ends at
    once: the outbox row is written in the same transaction, the relay publishes it later. Inside
    ``events_in_their_origin_traces`` it is a child of the span that created its aggregate, when
    this process remembers it (one transaction settling many payouts, each in its own trace).
    """
    if _tracer is None:
        return {}
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    parent = None
    kind = _events_follow_origin.get()
    if kind and aggregate_id:
        origin = _origins.get(f"{kind}:{aggregate_id}")
        if origin is not None:
            parent = trace.set_span_in_context(trace.NonRecordingSpan(origin))
    span = _tracer.start_span(f"{event_type} create", kind=SpanKind.PRODUCER, context=parent, attributes={
        "messaging.system": "kafka", "messaging.operation.type": "create", "messaging.destination.name": topic,
        "messaging.message.id": event_id})
    carrier: dict[str, str] = {}
    _propagator().inject(carrier, context=trace.set_span_in_context(span))
    span.end()
    return carrier


def consumer_span(envelope, consumer: str, topic: str):
    """A CONSUMER span for applying one event, child of the span that wrote it; a no-op when off."""
    if _tracer is None:
        return contextlib.nullcontext()
    from opentelemetry.trace import SpanKind

    carrier = dict(envelope.trace_context)
    parent = _propagator().extract(carrier) if carrier else None
    return _tracer.start_as_current_span(f"{envelope.event_type} process", context=parent, kind=SpanKind.CONSUMER,
                                         attributes={
                                             "messaging.system": "kafka", "messaging.operation.type": "process",
                                             "messaging.destination.name": topic,
                                             "messaging.consumer.group.name": consumer,
                                             "messaging.message.id": envelope.event_id,
                                             "skillpay.producer": envelope.producer})


# -- work continued later, and calls over HTTP --------------------------------------------------
def remember(key: str) -> None:
    """Note the current span as the origin of ``key`` (an aggregate just created); bounded, in memory."""
    if _tracer is None:
        return
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        _origins[key] = ctx
        _origins.move_to_end(key)
        while len(_origins) > MAX_ORIGINS:
            _origins.popitem(last=False)


def continued(name: str, key: str):
    """A span for later work on ``key``, in the trace that created it when this process remembers
    it (the payout worker paying what a payout request created); a no-op when off."""
    if _tracer is None:
        return contextlib.nullcontext()
    from opentelemetry import trace

    origin = _origins.get(key)
    parent = trace.set_span_in_context(trace.NonRecordingSpan(origin)) if origin is not None else None
    return _tracer.start_as_current_span(name, context=parent, attributes={"skillpay.key": key})


@contextlib.contextmanager
def events_in_their_origin_traces(aggregate_type: str):
    """Events of ``aggregate_type`` written meanwhile join the trace that created their aggregate."""
    token = _events_follow_origin.set(aggregate_type)
    try:
        yield
    finally:
        _events_follow_origin.reset(token)


@contextlib.contextmanager
def http_client_span(method: str, route: str):
    """A CLIENT span for an HTTP call; yields the headers that carry its context ({} when off)."""
    if _tracer is None:
        yield {}
        return
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(f"{method} {route}", kind=SpanKind.CLIENT, attributes={
            "http.request.method": method, "url.template": route}):
        headers: dict[str, str] = {}
        _propagator().inject(headers)
        yield headers


# -- a file exporter ---------------------------------------------------------------------------
def _iso(ns: int | None) -> str | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat(timespec="microseconds")


def span_as_dict(span) -> dict:
    ctx = span.get_span_context()
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name", ""),
        "start": _iso(span.start_time),
        "end": _iso(span.end_time),
        "duration_ms": round((span.end_time - span.start_time) / 1e6, 3) if span.end_time else None,
        "status": span.status.status_code.name,
        "attributes": {k: (list(v) if isinstance(v, tuple) else v) for k, v in (span.attributes or {}).items()},
        "links": [{"trace_id": format(link.context.trace_id, "032x"), "span_id": format(link.context.span_id, "016x")}
                  for link in span.links],
    }


class JsonLinesSpanExporter:
    """Appends one JSON object per span to a file (O_APPEND, one write per batch: processes can share it)."""

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def export(self, spans):
        from opentelemetry.sdk.trace.export import SpanExportResult

        data = "".join(json.dumps(span_as_dict(s), ensure_ascii=True) + "\n" for s in spans).encode()
        try:
            while data:
                data = data[os.write(self._fd, data):]
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

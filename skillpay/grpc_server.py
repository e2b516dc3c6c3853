"""gRPC server bootstrap shared by the services.

Every server gets: the standard health service (NOT_SERVING once shutdown starts), server
reflection, an interceptor that assigns request ids, logs one line per call (never the request
body: it may hold personal data) and maps domain errors to status codes with ``google.rpc``
details, and graceful shutdown on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from skillpay import tracing
from skillpay.actors import Actor, current_actor
from skillpay.auth import TokenVerifier, bearer
from skillpay.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from skillpay.fields import hidden_characters

# SafeFormatter, MAX_LOG_MESSAGE_CHARS and request_id_var live in skillpay.logs; imported from here too.
from skillpay.logs import (  # noqa: F401
    MAX_LOG_MESSAGE_CHARS,
    SafeFormatter,
    formatter_for,
    request_id_var,
    set_service,
)
from skillpay.messagebus import MAX_REQUEST_ID_CHARS
from skillpay.ready import announce

log = logging.getLogger(__name__)

_STATUS_FOR = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}


# A status must fit in gRPC's metadata (8 KB by default) whatever the request held.
MAX_STATUS_TEXT = 500
MAX_VIOLATIONS = 20


def _bounded(text: str, limit: int = MAX_STATUS_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def status_message(error: DomainError) -> str:
    return _bounded(str(error))


def status_for(error: DomainError) -> tuple[grpc.StatusCode, tuple[tuple[str, bytes], ...]]:
    """The status code and the ``grpc-status-details-bin`` trailer for a domain error (bounded)."""
    code = next((c for cls, c in _STATUS_FOR.items() if isinstance(error, cls)), grpc.StatusCode.FAILED_PRECONDITION)
    details = []
    if isinstance(error, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=_bounded(v.field, 100),
                                                            description=_bounded(v.description, 200))
                for v in error.violations[:MAX_VIOLATIONS]
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        details.append(packed)
    if isinstance(error, FailedPrecondition) and error.violations:
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(type=_bounded(v.type, 100),
                                                                subject=_bounded(v.subject, 100),
                                                                description=_bounded(v.description, 300))
                for v in error.violations[:MAX_VIOLATIONS]
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(failure)
        details.append(packed)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=type(error).__name__, domain="skillpay"))
    details.append(info)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=status_message(error), details=details)
    return code, (("grpc-status-details-bin", status.SerializeToString()),)


# No string a caller sends may be longer, whatever its kind (page tokens are the longest).
MAX_ANY_TEXT = 1024


def request_violations(message, prefix: str = "", descend: bool = True) -> list[FieldViolation]:
    """Every string field of a request, at any depth: bounded, and free of control characters.

    The edge's guard for all RPCs at once: what passes can be logged, compared and stored by any
    backend (PostgreSQL refuses NUL), before the domain checks each field's own kind. Without
    ``descend`` only the message's own fields are checked: a streamed chunk's rows are checked one
    by one by the domain (same kinds, same bounds), so a bad row is refused alone, not its chunk.
    """
    violations: list[FieldViolation] = []
    for descriptor, value in message.ListFields():
        nested = (descriptor.type == descriptor.TYPE_MESSAGE and not descriptor.message_type.GetOptions().map_entry)
        if descriptor.type != descriptor.TYPE_STRING and not (descend and nested):
            continue  # nothing to check in it (a streamed chunk's thousands of rows are not walked here)
        name = f"{prefix}{descriptor.name}"
        values = list(value) if descriptor.is_repeated else [value]
        for i, item in enumerate(values):
            where = f"{name}[{i}]" if descriptor.is_repeated else name
            if descriptor.type == descriptor.TYPE_STRING:
                if len(item) > MAX_ANY_TEXT:
                    violations.append(FieldViolation(where, f"must be at most {MAX_ANY_TEXT} characters"))
                elif hidden_characters(item):
                    violations.append(FieldViolation(
                        where, "must not contain control, invisible or reordering characters"))
            else:
                violations += request_violations(item, f"{where}.")
    return violations[:MAX_VIOLATIONS]


def _loggable_request_id(value: str) -> str:
    """A caller's request id goes into logs and trailers only when it is short, printable ASCII."""
    if value and len(value) <= MAX_REQUEST_ID_CHARS and value.isascii() and value.isprintable():
        return value
    return ""


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """Identifies the caller of every SkillPay RPC, logs one line per call, maps domain errors.

    Health and reflection stay open (probes and grpcurl need them); every ``skillpay.*`` method
    needs a valid bearer token, whose actor is put in ``current_actor`` for the entrypoint.
    """

    def __init__(self, verifier: TokenVerifier | None,
                 observe: Callable[[str, str, float], None] | None = None):
        self._verifier = verifier
        self._observe = observe  # (method, code name, seconds): skillpay.metrics counts every call

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is not None and (handler.request_streaming or handler.response_streaming):
            return self._streaming(handler, handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        metadata = tuple(handler_call_details.invocation_metadata or ())
        needs_identity = method.startswith("/skillpay.")
        inner = handler.unary_unary

        async def wrapped(request, context: grpc.aio.ServicerContext):
            # Health and reflection probes are not traced; nothing is when tracing is off.
            if needs_identity and tracing.enabled():
                with tracing.server_span(method, metadata) as span:
                    return await handle(request, context, span)
            return await handle(request, context, None)

        async def handle(request, context: grpc.aio.ServicerContext, span):
            rid = _loggable_request_id(getattr(request, "request_id", "")) or uuid.uuid4().hex
            request_id_var.set(rid)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if needs_identity:
                    if self._verifier is None:
                        raise Unauthenticated("this server verifies no identities")
                    current_actor.set(self._verifier.verify(bearer(metadata)))
                    violations = request_violations(request)
                    if violations:
                        raise InvalidArgument(violations)
                return await inner(request, context)
            except DomainError as exc:
                code, trailer = status_for(exc)
                context.set_trailing_metadata((("x-request-id", rid), *trailer))
                await context.abort(code, status_message(exc))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                code = context.code() or grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s request_id=%s", method, rid)
                await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {rid})")
            finally:
                elapsed = time.perf_counter() - started
                log.info("rpc %s code=%s ms=%.1f request_id=%s", method, code.name, elapsed * 1000, rid,
                         extra={"rpc_method": method, "code": code.name, "ms": round(elapsed * 1000, 1)})
                tracing.set_rpc_status(span, code, rid)
                if self._observe is not None:
                    self._observe(method, code.name, elapsed)

        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


    def _streaming(self, handler, handler_call_details):
        """A streaming call of any kind: a bidirectional stream (a batch's chunks), a server
        stream (a report's file in chunks) or a client stream (an uploaded file). The identity
        check, error mapping, metrics and one log line of unary calls, for the whole call; a
        streamed request's messages are checked as they arrive, a unary request whole."""
        method = handler_call_details.method
        metadata = tuple(handler_call_details.invocation_metadata or ())
        needs_identity = method.startswith("/skillpay.")
        client_streams = handler.request_streaming
        server_streams = handler.response_streaming

        async def replies(request, context: grpc.aio.ServicerContext):
            rid = (None if client_streams else _loggable_request_id(getattr(request, "request_id", ""))) \
                or uuid.uuid4().hex
            request_id_var.set(rid)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            received = 0

            async def checked():
                nonlocal received
                async for message in request:
                    received += 1
                    violations = request_violations(message, descend=False)
                    if violations:
                        raise InvalidArgument(violations)
                    yield message

            try:
                if needs_identity:
                    try:
                        if self._verifier is None:
                            raise Unauthenticated("this server verifies no identities")
                        current_actor.set(self._verifier.verify(bearer(metadata)))
                    except Unauthenticated:
                        if client_streams:
                            await _first_message(request)
                        raise
                    if not client_streams:
                        violations = request_violations(request)
                        if violations:
                            raise InvalidArgument(violations)
                if client_streams and not server_streams:
                    yield await handler.stream_unary(checked(), context)
                else:
                    answer = handler.stream_stream(checked(), context) if client_streams \
                        else handler.unary_stream(request, context)
                    if hasattr(answer, "__aiter__"):
                        async for reply in answer:
                            yield reply
                    else:
                        # A handler may write its replies itself (context.write), as grpc's
                        # health service does for Watch: it is then a coroutine to await.
                        await answer
            except DomainError as exc:
                code, trailer = status_for(exc)
                context.set_trailing_metadata((("x-request-id", rid), *trailer))
                await context.abort(code, status_message(exc))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                code = context.code() or grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s request_id=%s", method, rid)
                await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {rid})")
            finally:
                elapsed = time.perf_counter() - started
                log.info("rpc %s code=%s ms=%.1f messages=%d request_id=%s", method, code.name, elapsed * 1000,
                         received, rid,
                         extra={"rpc_method": method, "code": code.name, "ms": round(elapsed * 1000, 1)})
                if self._observe is not None:
                    self._observe(method, code.name, elapsed)

        if client_streams and server_streams:
            return grpc.stream_stream_rpc_method_handler(
                replies, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if client_streams:
            async def unary_reply(request_iterator, context):
                answer = None
                async for reply in replies(request_iterator, context):
                    answer = reply
                return answer

            return grpc.stream_unary_rpc_method_handler(
                unary_reply, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return grpc.unary_stream_rpc_method_handler(
            replies, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)


async def _first_message(request_iterator, wait_s: float = 5.0) -> None:
    """Let a streaming client's first write complete before its call is refused.

    grpc.aio clients report INTERNAL ("Internal error from Core") instead of the server's status
    when a write of theirs fails because the server already ended the call (grpc/grpc#36066), so a
    stream refused at once would not learn why. One message (bounded by the server's message size
    limit) is read and dropped, for at most ``wait_s``.
    """
    with contextlib.suppress(Exception):  # whatever happened, the call is refused next
        await asyncio.wait_for(anext(aiter(request_iterator), None), wait_s)


Background = Callable[[], Awaitable[None]]


class BackgroundWorkerFailed(RuntimeError):
    """A relay, consumer or worker ended on its own; the service shut down rather than run without it."""


async def serve(
    *,
    name: str,
    listen: str,
    add_servicers: Callable[[grpc.aio.Server], Sequence[str]],
    verifier: TokenVerifier | None = None,
    background: Sequence[Background] = (),
    on_stop: Callable[[], Awaitable[None]] | None = None,
    ready: asyncio.Event | None = None,
    grace_s: float = 5.0,
    readiness=None,
    observe_rpc: Callable[[str, str, float], None] | None = None,
) -> None:
    """Run a gRPC server plus background workers until SIGTERM/SIGINT.

    With ``readiness`` (a skillpay.readiness.ReadinessMonitor) health reports what it finds;
    without, the server reports SERVING from start to shutdown.
    """
    # No SO_REUSEPORT: a second process must fail to bind a taken port, not share its traffic.
    server = grpc.aio.server(interceptors=[ServerInterceptor(verifier, observe_rpc)],
                             options=[("grpc.so_reuseport", 0)])
    service_names = list(add_servicers(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(listen)
    if port == 0:
        raise RuntimeError(f"{name}: cannot listen on {listen}")
    if readiness is not None:
        # Before the server starts: the servicer's default would answer SERVING for "" meanwhile.
        await readiness.attach(health_servicer, service_names)
    await server.start()
    if readiness is None:
        for service in ["", *service_names]:
            await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    tasks = [asyncio.create_task(job(), name=f"{name}-bg-{i}") for i, job in enumerate(background)]
    host = listen.rsplit(":", 1)[0]
    log.info("%s listening on %s:%d (gRPC, health, reflection)", name, host, port)
    announce(f"{host}:{port}")  # SKILLPAY_READY_FILE: how a parent learns a port-0 choice
    if ready is not None:
        ready.set()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = False
    for task in done:
        if task is not waiter and (task.cancelled() or task.exception()):
            failed = True
            log.error("%s: background worker %s stopped; shutting down", name, task.get_name(),
                      exc_info=None if task.cancelled() else task.exception())

    log.info("%s shutting down", name)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace_s)
    if on_stop is not None:
        await on_stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    waiter.cancel()
    log.info("%s stopped", name)
    if failed:
        # Surfaces as a non-zero exit (see service_runtime.main_for), so a supervisor restarts us.
        raise BackgroundWorkerFailed(f"{name}: a background worker stopped")


def configure_logging(level: str = "INFO", service: str = "", log_format: str = "json") -> None:
    """Every process's logging: one line per record to stderr, JSON (default) or text (SKILLPAY_LOG_FORMAT)."""
    set_service(service)
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def caller(request=None) -> Actor:
    """The verified actor of this call, carrying the request's request_id when it has one."""
    actor = current_actor.get()
    if actor is None:
        raise Unauthenticated("the caller is not identified")
    return actor.for_request(getattr(request, "request_id", "").strip()) if request is not None else actor


async def list_audit_records(uow_factory, bus, request):
    """ListAuditRecords, the same in every service: one aggregate's trail, oldest first, paginated."""
    from skillpay.audit.v1 import audit_pb2
    from skillpay.paging import decode_token, page_size, split_page
    from skillpay.service_runtime import ts

    bus.authorize(caller(), "ListAuditRecords")
    if not request.aggregate_id or len(request.aggregate_id) > 100:
        raise InvalidArgument("is required (at most 100 characters)", field="aggregate_id")
    limit = page_size(request.page_size)
    scope = f"audit:{request.aggregate_id}"  # a token pages through one aggregate's records only
    after = decode_token(request.page_token, scope)
    if after is not None and not after.isdigit():
        raise InvalidArgument("is not a token this service issued", field="page_token")
    async with uow_factory(read_only=True) as uow:
        records = await uow.audit.list(request.aggregate_id, int(after or 0), limit + 1)
    page, token = split_page(records, limit, lambda last: str(last.record_id), scope)
    return audit_pb2.ListAuditRecordsResponse(next_page_token=token, records=[
        audit_pb2.AuditRecord(occurred_at=ts(r.occurred_at), actor_kind=r.actor_kind, actor_subject=r.actor_subject,
                              request_id=r.request_id, command=r.command, aggregate_type=r.aggregate_type,
                              aggregate_id=r.aggregate_id, state_before=r.state_before, state_after=r.state_after)
        for r in page])

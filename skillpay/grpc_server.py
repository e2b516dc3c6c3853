"""gRPC server bootstrap shared by the services.

Every server gets: the standard health service (NOT_SERVING once shutdown starts), server
reflection, an interceptor that assigns request ids, logs one line per call (never the request
body: it may hold personal data) and maps domain errors to status codes with ``google.rpc``
details, and graceful shutdown on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.exc import IntegrityError

from skillpay.db import with_retries
from skillpay.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from skillpay.ready import announce

log = logging.getLogger(__name__)
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_STATUS_FOR = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}


def status_for(error: DomainError) -> tuple[grpc.StatusCode, tuple[tuple[str, bytes], ...]]:
    """The status code and the ``grpc-status-details-bin`` trailer for a domain error."""
    code = next((c for cls, c in _STATUS_FOR.items() if isinstance(error, cls)), grpc.StatusCode.FAILED_PRECONDITION)
    details = []
    if isinstance(error, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        details.append(packed)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=type(error).__name__, domain="skillpay"))
    details.append(info)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=str(error), details=details)
    return code, (("grpc-status-details-bin", status.SerializeToString()),)


class ServerInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        incoming = dict(handler_call_details.invocation_metadata or ())
        inner = handler.unary_unary

        async def wrapped(request, context: grpc.aio.ServicerContext):
            rid = incoming.get("x-request-id") or getattr(request, "request_id", "") or uuid.uuid4().hex
            request_id_var.set(rid)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return await inner(request, context)
            except DomainError as exc:
                code, trailer = status_for(exc)
                context.set_trailing_metadata((("x-request-id", rid), *trailer))
                await context.abort(code, str(exc))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                code = context.code() or grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s request_id=%s", method, rid)
                await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {rid})")
            finally:
                log.info("rpc %s code=%s ms=%.1f request_id=%s", method, code.name,
                         (time.perf_counter() - started) * 1000, rid)

        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


M = TypeVar("M", bound=Message)


def request_fingerprint(method: str, request: Message) -> str:
    """Hash of the request without its request_id: the same id must come with the same request."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField("request_id")
    return hashlib.sha256(method.encode() + b"\0" + copy.SerializeToString(deterministic=True)).hexdigest()


async def idempotent(uow_factory, method: str, request: Message, response_type: type[M],
                     action: Callable[[object], Awaitable[M]]) -> M:
    """Run ``action`` once per request id; a retry gets the first response back (AIP-155).

    The response is stored in the same transaction as the effect, so a crash cannot leave an
    effect without its answer. A different request under a used id is ALREADY_EXISTS.
    """
    request_id = request.request_id.strip()
    if not request_id:
        raise InvalidArgument([FieldViolation("request_id", "is required for every mutating call")])
    if len(request_id) > 200:
        raise InvalidArgument([FieldViolation("request_id", "must be at most 200 characters")])
    fingerprint = request_fingerprint(method, request)

    async def attempt() -> M:
        async with uow_factory() as uow:
            stored = await uow.idempotency.get(request_id)
            if stored is not None:
                if stored.method != method or stored.fingerprint != fingerprint:
                    raise AlreadyExists(f"request_id {request_id!r} was already used for a different request")
                return response_type.FromString(stored.response)
            response = await action(uow)
            await uow.idempotency.put(request_id, method, fingerprint, response.SerializeToString())
            await uow.commit()
            return response

    try:
        return await with_retries(attempt)
    except IntegrityError:
        # A concurrent call with the same id won the race; its stored answer decides.
        return await with_retries(attempt)


Background = Callable[[], Awaitable[None]]


class BackgroundWorkerFailed(RuntimeError):
    """A relay, consumer or worker ended on its own; the service shut down rather than run without it."""


async def serve(
    *,
    name: str,
    listen: str,
    add_servicers: Callable[[grpc.aio.Server], Sequence[str]],
    background: Sequence[Background] = (),
    on_stop: Callable[[], Awaitable[None]] | None = None,
    ready: asyncio.Event | None = None,
    grace_s: float = 5.0,
) -> None:
    """Run a gRPC server plus background workers until SIGTERM/SIGINT."""
    # No SO_REUSEPORT: a second process must fail to bind a taken port, not share its traffic.
    server = grpc.aio.server(interceptors=[ServerInterceptor()], options=[("grpc.so_reuseport", 0)])
    service_names = list(add_servicers(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(listen)
    if port == 0:
        raise RuntimeError(f"{name}: cannot listen on {listen}")
    await server.start()
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


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

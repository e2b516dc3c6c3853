"""HTTP/JSON gateway. For now: liveness, readiness of the services behind it, metrics, and the
status of one voucher.

Run with ``python -m gateway.app``. It owns no business data; every answer comes from the
services over gRPC. Authentication and roles arrive with the mobile and console APIs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import grpc
from google.protobuf.json_format import MessageToDict
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Match, Route

from gateway.config import GatewaySettings
from skillpay import tracing
from skillpay.actors import ActorKind
from skillpay.auth import Identity, authenticated_channel
from skillpay.claim.v1 import claim_pb2, claim_pb2_grpc
from skillpay.grpc_server import configure_logging
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.ready import run_uvicorn
from skillpay.readiness import CHECKS, COMPONENT_PREFIX
from skillpay.voucher.v1 import voucher_pb2, voucher_pb2_grpc

log = logging.getLogger(__name__)

HTTP_FOR_GRPC = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def _json(message) -> dict:
    return MessageToDict(message, preserving_proto_field_name=True)


def build_app(settings: GatewaySettings) -> Starlette:
    channels: dict[str, grpc.aio.Channel] = {}
    identity = Identity(settings.token_issuer(), ActorKind.SERVICE, "gateway")

    def channel(name: str) -> grpc.aio.Channel:
        if name not in channels:
            # Until users sign in at the gateway, it reads on its own behalf, as a service.
            channels[name] = authenticated_channel(getattr(settings, f"{name}_addr"), identity)
        return channels[name]

    async def healthz(request: Request) -> JSONResponse:
        # Liveness: this process answers. Whether anything can make progress is /readyz.
        return JSONResponse({"status": "ok"})

    async def service_readiness(name: str) -> dict:
        """A service's overall health status and, when not SERVING, which readiness checks fail."""
        stub = health_pb2_grpc.HealthStub(channel(name))

        async def status(service: str) -> str:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
                return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name

        overall = await status("")
        answer = {"status": overall}
        if overall != "SERVING":
            checks = await asyncio.gather(*(status(COMPONENT_PREFIX + check) for check in CHECKS))
            answer["failing"] = [check for check, st in zip(CHECKS, checks) if st == "NOT_SERVING"]
        return answer

    async def readyz(request: Request) -> JSONResponse:
        names = ("voucher", "claim", "ledger")
        services = dict(zip(names, await asyncio.gather(*(service_readiness(n) for n in names))))
        ok = all(s["status"] == "SERVING" for s in services.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "services": services},
                            status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    async def voucher_status(request: Request) -> JSONResponse:
        voucher_id = request.path_params["voucher_id"]
        timeout = settings.rpc_timeout_s
        try:
            voucher = await voucher_pb2_grpc.VoucherServiceStub(channel("voucher")).GetVoucher(
                voucher_pb2.GetVoucherRequest(voucher_id=voucher_id), timeout=timeout)
            claims = await claim_pb2_grpc.ClaimServiceStub(channel("claim")).ListClaims(
                claim_pb2.ListClaimsRequest(voucher_id=voucher_id, page_size=10), timeout=timeout)
            payments = await ledger_pb2_grpc.LedgerServiceStub(channel("ledger")).ListPayments(
                ledger_pb2.ListPaymentsRequest(reference_key="voucher_id", reference_value=voucher_id, page_size=10), timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return JSONResponse({"error": exc.code().name.lower(), "message": exc.details()},
                                status_code=HTTP_FOR_GRPC.get(exc.code(), 502))
        return JSONResponse({
            "voucher": _json(voucher),
            "claims": [_json(c) for c in claims.claims],
            "payments": [_json(p) for p in payments.payments],
        })

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        for ch in channels.values():
            await ch.close()

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics),
              Route("/v1/vouchers/{voucher_id}", voucher_status)]
    registry = CollectorRegistry()  # per app: tests build several in one process
    app = Starlette(routes=routes, lifespan=lifespan)
    return _CountRequests(app, routes, registry)


class _CountRequests:
    """ASGI middleware: HTTP requests by route template (never the raw path) and status."""

    def __init__(self, app, routes, registry: CollectorRegistry):
        self.app = app
        self._routes = routes
        self._requests = Counter("skillpay_http_requests", "HTTP requests answered, by route and status",
                                 ["route", "status"], registry=registry)
        self._seconds = Histogram("skillpay_http_request_duration_seconds", "Time to answer, by route",
                                  ["route"], registry=registry)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = next((r.path for r in self._routes if r.matches(scope)[0] == Match.FULL), "unmatched")
        status = {"code": 500}
        started = time.perf_counter()

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._requests.labels(route, str(status["code"])).inc()
            self._seconds.labels(route).observe(time.perf_counter() - started)


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, "gateway", settings.log_format)
    tracing.configure_from(settings, "gateway")
    # log_config=None: uvicorn's own lines go through our formatter too.
    run_uvicorn(build_app(settings), settings.host, settings.port, "gateway", log_level="warning", log_config=None)


if __name__ == "__main__":
    main()

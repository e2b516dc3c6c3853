"""HTTP/JSON gateway. For now: health of the services behind it and the status of one voucher.

Run with ``python -m gateway.app``. It owns no business data; every answer comes from the
services over gRPC. Authentication and roles arrive with the mobile and console APIs.
"""

from __future__ import annotations

import contextlib
import logging

import grpc
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.config import GatewaySettings
from skillpay import tracing
from skillpay.actors import ActorKind
from skillpay.auth import Identity, authenticated_channel
from skillpay.claim.v1 import claim_pb2, claim_pb2_grpc
from skillpay.grpc_server import configure_logging
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.ready import run_uvicorn
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
        services = {}
        for name in ("voucher", "claim", "ledger"):
            try:
                reply = await health_pb2_grpc.HealthStub(channel(name)).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=2)
                services[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as exc:
                services[name] = exc.code().name
        ok = all(s == "SERVING" for s in services.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "services": services}, status_code=200 if ok else 503)

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

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/v1/vouchers/{voucher_id}", voucher_status)],
        lifespan=lifespan,
    )


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, "gateway", settings.log_format)
    tracing.configure_from(settings, "gateway")
    # log_config=None: uvicorn's own lines go through our formatter too.
    run_uvicorn(build_app(settings), settings.host, settings.port, "gateway", log_level="warning", log_config=None)


if __name__ == "__main__":
    main()

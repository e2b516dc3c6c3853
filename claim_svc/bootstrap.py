"""The one place the claim service is wired: settings, unit of work, clock, bus."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from claim_svc.adapters import metrics
from claim_svc.adapters.events import to_outgoing
from claim_svc.adapters.unit_of_work import SqlClaimUnitOfWork
from claim_svc.config import ClaimSettings
from claim_svc.service_layer.handlers import HANDLERS
from claim_svc.service_layer.permissions import PERMISSIONS
from skillpay import paging
from skillpay.clock import Clock, SystemClock
from skillpay.messagebus import MessageBus, build_bus
from skillpay.service_runtime import ServiceRuntime, prepare_database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def bootstrap(uow_factory: Callable, clock: Clock | None = None, auto_approve: bool = True,
              fingerprint_key: bytes = b"") -> MessageBus:
    """The bus with every handler's dependencies injected; tests pass fakes here."""
    dependencies = {"clock": clock or SystemClock(), "auto_approve": auto_approve}
    return build_bus(uow_factory, HANDLERS, PERMISSIONS, "claim", dependencies, fingerprint_key)


@dataclass
class ClaimProcess:
    runtime: ServiceRuntime
    uow_factory: Callable
    bus: MessageBus


async def for_process(settings: ClaimSettings, clock: Clock | None = None) -> ClaimProcess:
    db = await prepare_database(settings, MIGRATIONS)
    paging.configure(settings.key_bytes("lookup"))  # page tokens stay valid across restarts and replicas
    clock = clock or SystemClock()
    runtime = ServiceRuntime(settings, db, gauges=metrics.gauges, clock=clock)
    uow_factory = functools.partial(SqlClaimUnitOfWork, db, settings.service_name, to_outgoing, runtime.wake_relay,
                                    clock=clock)
    bus = bootstrap(uow_factory, clock, settings.auto_approve, fingerprint_key=settings.key_bytes("lookup"))
    return ClaimProcess(runtime, uow_factory, bus)

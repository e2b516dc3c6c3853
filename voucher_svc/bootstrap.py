"""The one place the voucher service is wired: settings, unit of work, clock, PII vault, fund directory, bus."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from skillpay import paging
from skillpay.actors import ActorKind
from skillpay.auth import Identity
from skillpay.clock import Clock, SystemClock
from skillpay.messagebus import MessageBus, build_bus
from skillpay.pii import PiiVault
from skillpay.service_runtime import ServiceRuntime, prepare_database
from voucher_svc.adapters import metrics
from voucher_svc.adapters.events import to_outgoing
from voucher_svc.adapters.ledger_funds import LedgerFundDirectory
from voucher_svc.adapters.presentation import SignedPresentationTokens
from voucher_svc.adapters.unit_of_work import SqlVoucherUnitOfWork
from voucher_svc.config import VoucherSettings
from voucher_svc.domain.eligibility import DEFAULT_POLICY, EligibilityPolicy
from voucher_svc.domain.valuation import DEFAULT_VALUATION, ValuationPolicy
from voucher_svc.service_layer.batch_identities import ChunkIdentities
from voucher_svc.service_layer.funds import FundDirectory
from voucher_svc.service_layer.handlers import HANDLERS
from voucher_svc.service_layer.permissions import PERMISSIONS
from voucher_svc.service_layer.presentation import PresentationTokens
from voucher_svc.service_layer.queries import VoucherQueries

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def bootstrap(uow_factory: Callable, vault: PiiVault, funds: FundDirectory, clock: Clock | None = None,
              fingerprint_key: bytes = b"", eligibility: EligibilityPolicy | None = None,
              presentations: PresentationTokens | None = None,
              valuation: ValuationPolicy | None = None,
              chunk_identities: ChunkIdentities | None = None) -> MessageBus:
    """The bus with every handler's dependencies injected; tests pass fakes here.

    Without ``presentations`` tokens are signed with a key made up for this bus alone (tests); a
    process passes the one built from its settings, which every replica shares.
    """
    if presentations is None:
        presentations = SignedPresentationTokens(Ed25519PrivateKey.generate())
    dependencies = {"clock": clock or SystemClock(), "vault": vault, "funds": funds,
                    "eligibility": eligibility or DEFAULT_POLICY, "presentations": presentations,
                    "valuation": valuation or DEFAULT_VALUATION,
                    "chunk_identities": chunk_identities or ChunkIdentities(vault)}
    return build_bus(uow_factory, HANDLERS, PERMISSIONS, "voucher", dependencies, fingerprint_key)


@dataclass
class VoucherProcess:
    runtime: ServiceRuntime
    uow_factory: Callable
    bus: MessageBus
    funds: LedgerFundDirectory
    queries: VoucherQueries
    chunk_identities: ChunkIdentities


async def for_process(settings: VoucherSettings, clock: Clock | None = None) -> VoucherProcess:
    db = await prepare_database(settings, MIGRATIONS)
    paging.configure(settings.key_bytes("lookup"))  # page tokens stay valid across restarts and replicas
    clock = clock or SystemClock()
    runtime = ServiceRuntime(settings, db, gauges=metrics.gauges, clock=clock)
    uow_factory = functools.partial(SqlVoucherUnitOfWork, db, settings.service_name, to_outgoing,
                                    runtime.wake_relay, clock=clock)
    vault = PiiVault.from_settings(settings)
    # The ledger is asked as this service, with a token it signs itself (SKILLPAY_AUTH_PRIVATE_KEY).
    funds = LedgerFundDirectory(settings.ledger_addr, Identity(settings.token_issuer(), ActorKind.SERVICE, "voucher"),
                                settings.ledger_timeout_s)
    # V2: presentation tokens are signed with the same key; audience and type keep them apart.
    presentations = SignedPresentationTokens(settings.signing_key(), settings.presentation_ttl_s)
    chunk_identities = ChunkIdentities(vault)  # shared by the bus's handler and the batch stream
    bus = bootstrap(uow_factory, vault, funds, clock, fingerprint_key=settings.key_bytes("lookup"),
                    presentations=presentations, chunk_identities=chunk_identities)
    return VoucherProcess(runtime, uow_factory, bus, funds, VoucherQueries(uow_factory, vault), chunk_identities)

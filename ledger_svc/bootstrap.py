"""The one place the ledger is wired: settings, unit of work, clock, PII vault, payment adapters, bus."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ledger_svc.adapters import metrics
from ledger_svc.adapters.events import to_outgoing
from ledger_svc.adapters.payments import build_payment_adapters
from ledger_svc.adapters import report_exports
from ledger_svc.adapters.statement_spool import bank_statement, spooled
from ledger_svc.adapters.statement_files import read_camt053, read_csv
from ledger_svc.service_layer.bank import PaymentAdapter
from ledger_svc.adapters.unit_of_work import SqlLedgerUnitOfWork
from ledger_svc.config import DEFAULT_UNKNOWN_FUND_HOLD, LedgerSettings
from ledger_svc.service_layer.bank_statements import no_bank
from ledger_svc.service_layer.handlers import HANDLERS
from ledger_svc.service_layer.payouts import PayoutWorker
from ledger_svc.service_layer.permissions import PERMISSIONS
from ledger_svc.service_layer.transfer_batcher import TransferBatcher
from skillpay import paging
from skillpay.clock import Clock, SystemClock
from skillpay.messagebus import MessageBus, build_bus
from skillpay.pii import PiiVault
from skillpay.service_runtime import ServiceRuntime, prepare_database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The bank statement layouts ReconcileStatement reads (docs/bank_statement_formats.md).
STATEMENT_READERS = {"csv": read_csv, "camt053": read_camt053}


@dataclass(frozen=True)
class ReportFiles:
    """How the entrypoint turns reports into files and uploads into spooled files (adapters)."""

    statement_pieces: Callable = report_exports.statement_pieces  # (StatementData, "csv"|"xlsx") -> pieces
    chart: Callable = report_exports.chart  # (days, fund, "png"|"svg") -> (name, media type, bytes)
    reconciliation_files: Callable = report_exports.reconciliation_files  # Reconciliation -> (csv, png)
    spooled: Callable = spooled  # (async chunks, max bytes) -> async context manager of a StatementFile


def bootstrap(uow_factory: Callable, clock: Clock | None = None, fingerprint_key: bytes = b"",
              unknown_fund_hold: timedelta = DEFAULT_UNKNOWN_FUND_HOLD,
              batcher: TransferBatcher | None = None, fetch_statement: Callable | None = None) -> MessageBus:
    """The bus with every handler's dependencies injected; tests pass fakes here.

    ``batcher`` is the process's one group-commit queue for transfers (CreateTransfers and the
    ledger's own callers share it); without one, a bus gets its own. ``fetch_statement(fund_code,
    day)`` gives the bank's statement file (adapters.statement_spool.bank_statement over the
    payment adapters); without one, ReconcileFromBank answers UNAVAILABLE.
    """
    clock = clock or SystemClock()
    dependencies = {"clock": clock, "unknown_fund_hold": unknown_fund_hold,
                    "batcher": batcher or TransferBatcher(uow_factory, clock),
                    "statement_readers": STATEMENT_READERS, "fetch_statement": fetch_statement or no_bank}
    return build_bus(uow_factory, HANDLERS, PERMISSIONS, "ledger", dependencies,
                     fingerprint_key)


@dataclass
class LedgerProcess:
    runtime: ServiceRuntime
    uow_factory: Callable
    bus: MessageBus
    payouts: PayoutWorker
    adapters: dict[str, PaymentAdapter]
    batcher: TransferBatcher


async def for_process(settings: LedgerSettings, clock: Clock | None = None) -> LedgerProcess:
    db = await prepare_database(settings, MIGRATIONS)
    paging.configure(settings.key_bytes("lookup"))  # page tokens stay valid across restarts and replicas
    clock = clock or SystemClock()
    runtime = ServiceRuntime(settings, db, gauges=metrics.gauges, clock=clock)
    uow_factory = functools.partial(SqlLedgerUnitOfWork, db, settings.service_name, to_outgoing, runtime.wake_relay,
                                    clock=clock)
    batcher = TransferBatcher(uow_factory, clock)
    adapters = build_payment_adapters(settings.bank_url, settings.bank_timeout_s)
    bus = bootstrap(uow_factory, clock, fingerprint_key=settings.key_bytes("lookup"),
                    unknown_fund_hold=timedelta(seconds=settings.unknown_fund_hold_s), batcher=batcher,
                    fetch_statement=functools.partial(bank_statement, adapters,
                                                      max_bytes=settings.statement_max_bytes))
    payouts = PayoutWorker(bus, uow_factory, adapters, PiiVault.from_settings(settings),
                           settings.payout_poll_interval_s)
    return LedgerProcess(runtime, uow_factory, bus, payouts, adapters, batcher)

"""A real ledger process for tests of services that ask it things (the voucher service's fund check)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from skillpay.actors import ActorKind
from skillpay.auth import Identity, TokenIssuer, authenticated_channel, public_pem
from skillpay.cli.stack import grpc_serving
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.ready import read_port
from tests.conftest import _run_in_thread


def private_pem(signing_key) -> str:
    return signing_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()


@dataclass
class LedgerProcess:
    addr: str
    proc: subprocess.Popen
    log: Path
    url: str = ""  # its database

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_ledger(work: Path, url: str, signing_key, pii_key: str, lookup_key: str,
                 funds: tuple[str, ...] = ("ESF",)) -> LedgerProcess:
    """The ledger on a free port (no broker: its events wait in the outbox), with ``funds`` opened."""
    work.mkdir(parents=True, exist_ok=True)
    log_path, ready_file = work / "ledger.log", work / "ledger.addr"
    env = dict(os.environ, LEDGER_GRPC_LISTEN="127.0.0.1:0", LEDGER_METRICS_LISTEN="127.0.0.1:0", LEDGER_DATABASE_URL=url, SKILLPAY_READY_FILE=str(ready_file),
               SKILLPAY_DATA_DIR=str(work), KAFKA_BOOTSTRAP_SERVERS="", SKILLPAY_AUTH_PUBLIC_KEY=public_pem(signing_key),
               SKILLPAY_PII_KEY=pii_key, SKILLPAY_LOOKUP_KEY=lookup_key)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ledger_svc.entrypoints.grpc_server"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    ledger = None
    for _ in range(600):
        if (port := read_port(ready_file)) and grpc_serving(f"127.0.0.1:{port}"):
            ledger = LedgerProcess(f"127.0.0.1:{port}", proc, log_path, url)
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if ledger is None:
        proc.kill()
        raise RuntimeError(f"the ledger did not come up:\n{log_path.read_text()}")
    _run_in_thread(open_funds(ledger.addr, TokenIssuer(signing_key), funds))
    return ledger


async def open_funds(addr: str, issuer: TokenIssuer, funds: tuple[str, ...]) -> None:
    channel = authenticated_channel(addr, Identity(issuer, ActorKind.FINANCE, "finance-1"))
    try:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        for code in funds:
            await stub.OpenFund(ledger_pb2.OpenFundRequest(request_id=uuid.uuid4().hex, fund_code=code,
                                                           name="就业补助资金",
                                                           fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY))
    finally:
        await channel.close()


def ledger_stub(ledger: LedgerProcess, signing_key, kind: ActorKind = ActorKind.FINANCE):
    """A channel to the ledger as a caller of ``kind``, and the ledger's stub on it."""
    channel = authenticated_channel(ledger.addr, Identity(TokenIssuer(signing_key), kind, "someone"))
    return channel, ledger_pb2_grpc.LedgerServiceStub(channel)


def ledger_cli(ledger: LedgerProcess, signing_key, data_dir: Path, *args: str,
               timeout: float = 180) -> subprocess.CompletedProcess:
    """``skillpay ledger <args>`` against the ledger, its token signed with ``signing_key``."""
    env = dict(os.environ, LEDGER_GRPC_LISTEN=ledger.addr, SKILLPAY_AUTH_PRIVATE_KEY=private_pem(signing_key),
               COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "skillpay.cli", "ledger", *args, "--data-dir", str(data_dir)],
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)

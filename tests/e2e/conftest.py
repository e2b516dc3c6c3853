"""End-to-end fixtures: the whole stack as separate OS processes, on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from skillpay.clock import shanghai_date, utcnow
from skillpay.cli.demo import Clients
from skillpay.ledger.v1 import ledger_pb2
from ledger_svc.domain.transfers import TransferCode
from skillpay.cli.stack import GRPC_SERVICES, Stack


@pytest.fixture
def stack_factory(request, backend, tmp_path):
    """Builds a stack on free ports with its own embedded broker; stops it after the test."""
    stacks: list[Stack] = []

    def make(start: bool = True, **kwargs) -> Stack:
        urls = {}
        if backend == "postgresql":
            dbs = request.getfixturevalue("postgres_databases")
            urls = {name: dbs.create(name) for name in GRPC_SERVICES}
        stack = Stack.on_free_ports(tmp_path / f"stack{len(stacks)}", database_urls=urls, **kwargs)
        stacks.append(stack)
        return stack.start() if start else stack

    yield make
    for stack in stacks:
        stack.stop()
        dead = {n: c for n, c in stack.dead_services().items() if c not in (0, -15)}
        assert not dead, f"a process crashed during the test: {dead}"


def connect(stack: Stack) -> Clients:
    return Clients.connect(stack.addr("voucher"), stack.addr("claim"), stack.addr("ledger"), stack.token_issuer(),
                           stack.lookup_key())


def bank_statement(stack: Stack) -> list[dict]:
    """Every entry the bank reports for today and yesterday (Asia/Shanghai days)."""
    today = shanghai_date(utcnow())
    entries = []
    for day in (today - timedelta(days=1), today):
        reply = httpx.get(f"{stack.bank_url}/v1/statements/{day.isoformat()}", timeout=10)
        reply.raise_for_status()
        entries += reply.json()["entries"]
    return entries


async def account_history(clients: Clients, account_id: str) -> list:
    """Every transfer of one engine account, oldest first (GetAccountHistory, paged)."""
    transfers, token = [], ""
    while True:
        reply = await clients.ledger.GetAccountHistory(ledger_pb2.GetAccountHistoryRequest(
            account_id=account_id, page_size=500, page_token=token))
        transfers += list(reply.transfers)
        token = reply.next_page_token
        if not token:
            return transfers


async def assert_ledger_verified(clients: Clients) -> None:
    """VerifyLedger: every account's stored totals equal the sums of its transfers."""
    reply = await clients.ledger.VerifyLedger(ledger_pb2.VerifyLedgerRequest())
    assert list(reply.differences) == []


async def assert_paid_exactly_once(stack: Stack, clients: Clients, report, count: int, standard_fen: int) -> None:
    """The invariants every end-to-end run must end with."""
    assert report.paid == count, f"not every voucher was paid: {report.voucher_states}"
    assert report.claim_states == {"CLAIM_STATE_PAID": count}
    assert report.payment_states == {"PAYMENT_STATE_SETTLED": count}
    # The bank paid each voucher's payment exactly once.
    statement = [e for e in bank_statement(stack) if e["status"] == "settled"]
    ids = [e["payment_id"] for e in statement]
    assert len(ids) == len(set(ids)) == count
    assert sum(e["amount_fen"] for e in statement) == count * standard_fen
    # The ledger: one commitment and one settlement transfer per payout, every account verified.
    committed = [t for t in await account_history(clients, "ESF-DEMO:payables") if t.code == TransferCode.COMMITMENT]
    settled = [t for t in await account_history(clients, "ESF-DEMO:disbursed") if t.code == TransferCode.SETTLEMENT]
    assert len({t.user_data for t in committed}) == len(committed) == count
    assert len({t.user_data for t in settled}) == len(settled) == count
    await assert_ledger_verified(clients)
    fund = next(f for f in report.funds if f.fund_code == "ESF-DEMO")
    assert fund.disbursed_fen == count * standard_fen
    assert fund.allocated_fen == fund.available_fen + fund.payable_fen + fund.disbursed_fen
    assert fund.payable_fen == fund.committed_fen == fund.in_transit_fen == 0

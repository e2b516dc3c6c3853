"""Transfers per second all debiting ONE fund account, on PostgreSQL (issue 8, "Hot accounts").

On a fresh PostgreSQL database (created and dropped by the script, migrated by the ledger's own
migrations), with two funds opened, in the same run:

* **value** -- transfers per second through the ledger's own batch path: ``--submitters``
  concurrent callers each submit one transfer at a time (``available -> payables``, plain posted,
  1 fen, each with its own id) to the ledger's ``TransferBatcher``, which gathers whatever is
  queued into one batch, loads it with ``SqlTransferRepository`` (accounts locked FOR UPDATE in
  sorted order), applies it with the pure engine and commits it as ONE transaction (group
  commit). In-process: the gRPC layer is not measured.
* **baseline** -- the naive way on the same database: one transaction per transfer with row
  locks (``SELECT ... FOR UPDATE`` of both accounts in sorted order, the F2 check, ``UPDATE``
  both, ``INSERT`` the transfer, COMMIT), ``--connections`` (16) asyncpg connections, each
  transfer ``available -> payables`` of a second fund: every one waits for the hot row.
* **ratio** -- value / baseline. Target >= 10 (aim: 10,000 transfers/s).

Afterwards the ledger is verified (every stored total equals the sum of its transfers) and the
count of stored transfers checked against what the callers were told succeeded. Run from the
repository root::

    python bench/ledger_hot.py                       # 10 s each
    python bench/ledger_hot.py --seconds 3 --submitters 512
    python bench/ledger_hot.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/ledger_hot.py``
    _root = str(Path(__file__).resolve().parent.parent)
    if _root not in sys.path:
        sys.path.insert(0, _root)

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.loadgen import emit_result  # noqa: E402
from ledger_svc.adapters.events import to_outgoing  # noqa: E402
from ledger_svc.adapters.unit_of_work import SqlLedgerUnitOfWork  # noqa: E402
from ledger_svc.domain.transfers import (  # noqa: E402
    AccountRole,
    Transfer,
    TransferCode,
    TransferResult,
    account_id,
    fund_accounts,
)
from ledger_svc.service_layer.transfer_batcher import MAX_BATCH, TransferBatcher  # noqa: E402
from skillpay.actors import Actor, ActorKind  # noqa: E402
from skillpay.clock import SystemClock  # noqa: E402
from skillpay.db import Database, run_migrations  # noqa: E402

MIGRATIONS = Path(__file__).resolve().parent.parent / "ledger_svc" / "migrations"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
HOT, NAIVE = "HOT", "NAIVE"
BUDGET = 10**13  # fen: plenty for any run
# Who the batch path's transfers are audited as (one record per transfer, as CreateTransfers writes).
CALLER = Actor(ActorKind.FINANCE, "ledger-hot", "ledger-hot")


async def admin(prefix: str, sql: str) -> None:
    url = make_url(prefix)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def raw_connect(prefix: str, name: str) -> asyncpg.Connection:
    url = make_url(prefix)
    return await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database=name)


async def prepare(uow_factory, batcher: TransferBatcher) -> None:
    """Both funds' accounts, each with a budget in ``available``."""
    async with uow_factory() as uow:
        for fund in (HOT, NAIVE):
            await uow.transfers.add_accounts(fund_accounts(fund), datetime.now(timezone.utc))
        await uow.commit()
    for fund in (HOT, NAIVE):
        budget = Transfer(f"budget-{fund}", account_id(fund, AccountRole.APPROPRIATION),
                          account_id(fund, AccountRole.AVAILABLE), BUDGET, fund, TransferCode.ALLOCATION)
        assert await batcher.submit([budget], CALLER) == [TransferResult.OK]


async def batch_path(batcher: TransferBatcher, submitters: int, seconds: float, warmup_s: float) -> tuple[float, int]:
    """(transfers/s in the measured window, transfers that succeeded in all)."""
    debit, credit = account_id(HOT, AccountRole.AVAILABLE), account_id(HOT, AccountRole.PAYABLES)
    start = time.perf_counter()
    window_from, window_to = start + warmup_s, start + warmup_s + seconds
    counted = ok = 0
    refused: dict[str, int] = {}

    async def submitter(n: int) -> None:
        nonlocal counted, ok
        k = 0
        while (now := time.perf_counter()) < window_to:
            k += 1
            [result] = await batcher.submit([Transfer(f"h{n}-{k}", debit, credit, 1, HOT, TransferCode.COMMITMENT)],
                                            CALLER)
            if result is not TransferResult.OK:
                refused[result.value] = refused.get(result.value, 0) + 1
                continue
            ok += 1
            if window_from <= now and time.perf_counter() <= window_to:
                counted += 1

    await asyncio.gather(*(submitter(n) for n in range(submitters)))
    if refused:
        raise SystemExit(f"the batch path refused transfers: {refused}")
    return counted / seconds, ok


async def naive(prefix: str, name: str, connections: int, seconds: float, warmup_s: float) -> tuple[float, int]:
    """One transaction per transfer with row locks, ``connections`` asyncpg connections."""
    debit, credit = account_id(NAIVE, AccountRole.AVAILABLE), account_id(NAIVE, AccountRole.PAYABLES)
    ids = sorted([debit, credit])
    conns = [await raw_connect(prefix, name) for _ in range(connections)]
    start = time.perf_counter()
    window_from, window_to = start + warmup_s, start + warmup_s + seconds
    counted = ok = 0

    async def worker(n: int, conn: asyncpg.Connection) -> None:
        nonlocal counted, ok
        lock = await conn.prepare("SELECT id, flags, debits_pending, debits_posted, credits_posted "
                                  "FROM ledger_accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE")
        k = 0
        while (now := time.perf_counter()) < window_to:
            k += 1
            async with conn.transaction():
                rows = {r["id"]: r for r in await lock.fetch(ids)}
                a = rows[debit]
                if a["flags"] & 1 and a["debits_pending"] + a["debits_posted"] + 1 > a["credits_posted"]:
                    raise SystemExit("the naive baseline ran out of budget")  # F2, as the engine checks it
                await conn.execute("UPDATE ledger_accounts SET debits_posted = debits_posted + 1 WHERE id = $1", debit)
                await conn.execute("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1",
                                   credit)
                await conn.execute(
                    "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, "
                    "pending_id, user_data, timestamp) VALUES ($1, $2, $3, 1, $4, $5, 0, NULL, '', now())",
                    f"n{n}-{k}", debit, credit, NAIVE, int(TransferCode.COMMITMENT))
            ok += 1
            if window_from <= now and time.perf_counter() <= window_to:
                counted += 1

    try:
        await asyncio.gather(*(worker(n, c) for n, c in enumerate(conns)))
    finally:
        for c in conns:
            await c.close()
    return counted / seconds, ok


async def run(args) -> dict:
    name = f"skillpay_ledger_hot_{uuid.uuid4().hex[:10]}"
    await admin(args.postgres, f'CREATE DATABASE "{name}"')
    url = f"{args.postgres}/{name}"
    db = None
    batcher = None
    try:
        await asyncio.to_thread(run_migrations, url, MIGRATIONS)
        db = Database(url)
        clock = SystemClock()
        uow_factory = functools.partial(SqlLedgerUnitOfWork, db, "ledger", to_outgoing, clock=clock)
        batcher = TransferBatcher(uow_factory, clock, max_batch=args.max_batch)
        await prepare(uow_factory, batcher)
        batches_before, batched_before = batcher.batches, batcher.batched_transfers

        value, value_ok = await batch_path(batcher, args.submitters, args.seconds, args.warmup)
        batches = batcher.batches - batches_before
        mean_batch = (batcher.batched_transfers - batched_before) / max(batches, 1)
        baseline, baseline_ok = await naive(args.postgres, name, args.connections, args.seconds, args.warmup)

        async with uow_factory(read_only=True) as uow:
            differences, accounts, transfers = await uow.transfers.verify()
            [hot] = await uow.transfers.accounts([account_id(HOT, AccountRole.AVAILABLE)])
        if differences:
            raise SystemExit(f"VerifyLedger found {len(differences)} differences: {differences[:3]}")
        if transfers != value_ok + baseline_ok + 2 or hot.debits_posted != value_ok:
            raise SystemExit(f"{transfers} transfers stored, {value_ok + baseline_ok + 2} reported OK; "
                             f"{hot.debits_posted} fen debited, {value_ok} reported")
        print(f"ledger_hot: PostgreSQL database {name}, every transfer 1 fen available -> payables of ONE fund")
        print(f"  batch path: {args.submitters} submitters, one transfer per request, {args.seconds:g} s "
              f"(after {args.warmup:g} s warm-up): {value:,.0f} transfers/s; {batches} batches, "
              f"{mean_batch:,.1f} transfers per batch on average (max {args.max_batch})")
        print(f"  naive:      {args.connections} asyncpg connections, one transaction per transfer with row locks: "
              f"{baseline:,.0f} transfers/s")
        print(f"  verified:   {accounts} accounts, {transfers:,} transfers, no differences; {HOT}:available "
              f"debited {hot.debits_posted:,} fen, one per transfer reported OK")
        print(f"  ratio {value / baseline if baseline else float('nan'):.1f}x (target >= 10x)")
        return emit_result("ledger_hot", value, "transfers/s", baseline)
    finally:
        if batcher is not None:
            await batcher.close()
        if db is not None:
            await db.dispose()
        await admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_PG, help="URL prefix of the PostgreSQL server")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window of each of the two runs")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds run before each window")
    parser.add_argument("--submitters", type=int, default=512, help="concurrent callers of the batch path")
    parser.add_argument("--connections", type=int, default=16, help="connections of the naive baseline")
    parser.add_argument("--max-batch", type=int, default=MAX_BATCH, help="transfers per batch at most")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()

"""``skillpay ledger verify``: recompute every account of the transfer engine from its transfers.

Asks the ledger's ``VerifyLedger`` (issue 8): each account's stored totals against the sums of
its transfers. Prints the differences (account, stored vs recomputed, in fen) and exits 1 when
there is any, 0 when the ledger holds, 2 when the ledger cannot be asked. Reaches ledger_svc at
``LEDGER_GRPC_LISTEN`` (or what a running ``skillpay up`` wrote to its ready file) as an admin,
with a token signed by the data directory's key (or ``SKILLPAY_AUTH_PRIVATE_KEY``), like
``skillpay events``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.table import Table

from skillpay.cli.events import DATA_DIR, _identity, service_address

app = typer.Typer(help="The ledger's transfer engine: verify that stored totals equal the sums of the transfers.",
                  no_args_is_help=True)
console = Console()
_TOTALS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@app.command()
def verify(data_dir: Path = DATA_DIR, timeout_s: float = typer.Option(300, help="how long the check may take")):
    """Recompute every account from its transfers; exit 1 if any stored total differs."""
    address = service_address("ledger", data_dir)
    try:
        reply = asyncio.run(_verify(address, _identity(data_dir), timeout_s))
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]ledger at {address}: {exc.code().name}: {exc.details()}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"Checked {reply.accounts_checked} accounts and {reply.transfers_checked} transfers.",
                  highlight=False)
    if not reply.differences:
        console.print("[green]Every stored total equals the sum of its transfers.[/green]")
        return
    table = Table(title=f"{len(reply.differences)} accounts differ from their transfers (fen)")
    table.add_column("account")
    table.add_column("total")
    table.add_column("stored", justify="right")
    table.add_column("recomputed", justify="right")
    for d in reply.differences:
        for name in _TOTALS:
            stored = str(getattr(d.stored, name)) if d.HasField("stored") else "(no such account)"
            recomputed = getattr(d.recomputed, name)
            if not d.HasField("stored") or getattr(d.stored, name) != recomputed:
                table.add_row(d.account_id, name, stored, str(recomputed))
    console.print(table)
    raise typer.Exit(1)


async def _verify(address: str, identity, timeout_s: float):
    from skillpay.auth import authenticated_channel
    from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc

    channel = authenticated_channel(address, identity)
    try:
        return await ledger_pb2_grpc.LedgerServiceStub(channel).VerifyLedger(ledger_pb2.VerifyLedgerRequest(),
                                                                             timeout=timeout_s)
    finally:
        await channel.close()

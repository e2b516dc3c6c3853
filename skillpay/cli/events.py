"""``skillpay events parked|replay``: events a service could not apply, for operators.

Reaches each service at its documented address (``VOUCHER_GRPC_LISTEN`` etc., default
127.0.0.1:5005x; for port 0, what a running ``skillpay up`` wrote to its ready files) as an
admin, with a token signed by the data directory's key (or ``SKILLPAY_AUTH_PRIVATE_KEY``).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import uuid
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.table import Table

from skillpay.cli.stack import GRPC_SERVICES, BadEnvironment, Stack
from skillpay.ops.v1 import ops_pb2

app = typer.Typer(help="Events a service could not apply: list them, and replay one once its cause is fixed.",
                  no_args_is_help=True)
console = Console()
STATES = ("parked", "replayed", "all")


def service_address(name: str, data_dir: Path) -> str:
    """Where the CLI finds a service, as `skillpay demo` does: its documented listen address, or,
    for port 0, the port a running `skillpay up` wrote to its ready file."""
    try:
        stack = Stack.from_environment(data_dir)
    except BadEnvironment as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    stack.port_known(name)
    return stack.addr(name)


def _identity(data_dir: Path):
    from skillpay.actors import ActorKind
    from skillpay.auth import Identity
    from skillpay.settings import CommonSettings

    issuer = CommonSettings(SKILLPAY_DATA_DIR=str(data_dir)).token_issuer()
    return Identity(issuer, ActorKind.ADMIN, f"cli:{getpass.getuser()}"[:128])


def _services(service: str) -> list[str]:
    if service == "all":
        return list(GRPC_SERVICES)
    if service not in GRPC_SERVICES:
        raise typer.BadParameter(f"choose one of: {', '.join(GRPC_SERVICES)}, all")
    return [service]


DATA_DIR = typer.Option(Path(os.environ.get("SKILLPAY_DATA_DIR", "var")), help="where the signing key is")


@app.command()
def parked(
    service: str = typer.Option("all", help="voucher, claim, ledger or all"),
    state: str = typer.Option("parked", help="parked (waiting for a replay), replayed, or all"),
    data_dir: Path = DATA_DIR,
):
    """List parked events: what failed, where it was read, how often it was tried."""
    services = _services(service)
    if state not in STATES:
        raise typer.BadParameter(f"choose one of: {', '.join(STATES)}")
    rows, unreachable = asyncio.run(_list(services, state, _identity(data_dir), data_dir))
    table = Table(title=f"Parked events ({state})")
    for column in ("id", "event type", "event id", "read from", "attempts", "parked at", "state", "error"):
        table.add_column(column, overflow="fold")
    for e in rows:
        table.add_row(e.parked_event_id, e.event_type or "?", e.event_id or "(did not parse)",
                      f"{e.topic} [{e.partition}] @{e.offset}", str(e.attempts),
                      e.parked_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC"),
                      "replayed" if e.state == ops_pb2.PARKED_EVENT_STATE_REPLAYED else "parked", f"{e.error_class}: {e.error_message}")
    console.print(table)
    if not rows:
        console.print("No parked events.")
    for name, why in unreachable:
        console.print(f"[red]{name} at {service_address(name, data_dir)}: could not list ({why})[/red]")
    if unreachable:
        raise typer.Exit(1)


async def _list(services: list[str], state: str, identity, data_dir: Path):
    from skillpay.auth import authenticated_channel
    from skillpay.ops.v1 import ops_pb2_grpc

    wanted = {"parked": ops_pb2.PARKED_EVENT_STATE_PARKED, "replayed": ops_pb2.PARKED_EVENT_STATE_REPLAYED,
              "all": ops_pb2.PARKED_EVENT_STATE_UNSPECIFIED}[state]
    rows, unreachable = [], []
    for name in services:
        channel = authenticated_channel(service_address(name, data_dir), identity)
        try:
            stub, token = ops_pb2_grpc.OperationsStub(channel), ""
            while True:
                reply = await stub.ListParkedEvents(ops_pb2.ListParkedEventsRequest(
                    state=wanted, page_size=500, page_token=token), timeout=10)
                rows += reply.parked_events
                token = reply.next_page_token
                if not token:
                    break
        except grpc.aio.AioRpcError as exc:
            unreachable.append((name, exc.code().name if exc.code() is grpc.StatusCode.UNAVAILABLE
                                else f"{exc.code().name}: {exc.details()}"))
        finally:
            await channel.close()
    return rows, unreachable


@app.command()
def replay(
    parked_event_id: str = typer.Argument(..., help="as `skillpay events parked` shows it, e.g. claim-3"),
    data_dir: Path = DATA_DIR,
):
    """Apply a parked event again, after its cause was fixed; an event already applied is not applied twice."""
    name = parked_event_id.rpartition("-")[0]
    if name not in GRPC_SERVICES:
        raise typer.BadParameter(f"a parked event id names its service: {', '.join(GRPC_SERVICES)}, e.g. claim-3")
    try:
        reply = asyncio.run(_replay(name, parked_event_id, _identity(data_dir), data_dir))
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{name}: {exc.code().name}: {exc.details()}[/red]")
        raise typer.Exit(1) from None
    e = reply.parked_event
    if reply.outcome == ops_pb2.REPLAY_OUTCOME_APPLIED:
        console.print(f"{e.parked_event_id}: applied ({e.event_type} {e.event_id}).")
    elif reply.outcome == ops_pb2.REPLAY_OUTCOME_ALREADY_APPLIED:
        console.print(f"{e.parked_event_id}: already applied (replayed by {e.replayed_by}); nothing done.")
    else:
        console.print(f"[red]{e.parked_event_id}: failed again, still parked: {e.error_class}: {e.error_message} "
                      f"(attempts {e.attempts})[/red]")
        raise typer.Exit(1)


async def _replay(name: str, parked_event_id: str, identity, data_dir: Path):
    from skillpay.auth import authenticated_channel
    from skillpay.ops.v1 import ops_pb2_grpc

    channel = authenticated_channel(service_address(name, data_dir), identity)
    try:
        return await ops_pb2_grpc.OperationsStub(channel).ReplayParkedEvent(ops_pb2.ReplayParkedEventRequest(
            request_id=f"cli-replay-{uuid.uuid4().hex}", parked_event_id=parked_event_id), timeout=60)
    finally:
        await channel.close()

"""The ``skillpay`` command: run the stack, drive the demo, run one service, regenerate code."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from skillpay.cli.events import app as events_app
from skillpay.cli.ledger import app as ledger_app
from skillpay.cli.vouchers import app as vouchers_app
from skillpay.cli.stack import ALL_SERVICES, GRPC_SERVICES, MODULES, BadEnvironment, Stack, Supervisor, grpc_serving

app = typer.Typer(help="SkillPay: electronic vocational-training vouchers and the subsidies behind them.",
                  no_args_is_help=True)
console = Console()
app.add_typer(events_app, name="events")
app.add_typer(vouchers_app, name="vouchers")
app.add_typer(ledger_app, name="ledger")


def _stack(data_dir: Path) -> Stack:
    """The stack the documented environment variables describe (README, "Running it yourself")."""
    try:
        return Stack.from_environment(data_dir)
    except BadEnvironment as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _print_addresses(stack: Stack, stopping_hint: bool = True) -> None:
    table = Table(title="SkillPay is up")
    table.add_column("part")
    table.add_column("listens on")
    table.add_column("log")
    table.add_row("Kafka broker", stack.kafka_bootstrap + (" (embedded tansu)" if stack.broker else " (external)"),
                  str(stack.logs_dir / "broker.log") if stack.broker else "-")
    for name in ALL_SERVICES:
        if name not in stack.parts:
            table.add_row(name, f"{stack.bank_url} (external, LEDGER_BANK_URL)", "-")
            continue
        where = f"http://{stack.addr(name)}" if name in ("gateway", "bank") else f"{stack.addr(name)} (gRPC)"
        table.add_row(name, where, str(stack.logs_dir / f"{name}.log"))
    console.print(table)
    console.print(f"Data under {stack.data_dir}." + (" Press Ctrl-C to stop." if stopping_hint else ""))


def _now() -> str:
    return time.strftime("%H:%M:%S")


@app.command()
def up(data_dir: Path = typer.Option(Path(os.environ.get("SKILLPAY_DATA_DIR", "var")), help="SQLite files, keys, logs")):
    """Start the broker (unless KAFKA_BOOTSTRAP_SERVERS is set), bank simulator, services and gateway."""
    stack = _stack(data_dir)
    stopping = False

    def request_stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        with console.status("starting SkillPay..."):
            stack.start()
        _print_addresses(stack)
        signal.signal(signal.SIGINT, request_stop)
        supervisor = Supervisor(stack, say=lambda line: console.print(f"[yellow]{_now()} {line}[/]",
                                                                     highlight=False, soft_wrap=True))
        while not stopping:
            supervisor.check()
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass  # Ctrl-C while starting: a stop the user asked for, not a failure
    finally:
        console.print("stopping SkillPay...")
        stack.stop()
        console.print("stopped.")


@app.command()
def demo(
    count: int = typer.Option(100, help="vouchers to carry from issue to paid"),
    concurrency: int = typer.Option(16, help="vouchers in flight at once"),
    fund_code: str = typer.Option("ESF-DEMO", help="the fund source that pays"),
    timeout_s: float = typer.Option(300, help="how long to wait for every voucher to be paid"),
    data_dir: Path = typer.Option(Path(os.environ.get("SKILLPAY_DATA_DIR", "var")), help="the running stack's data (ready files, keys), or where to start one"),
):
    """Drive the thin path for a batch of vouchers, against a running stack or one it starts."""
    stack = _stack(data_dir)
    started_here = False
    # Port 0 in the environment: the ports a running `skillpay up` got are in its ready files.
    if not all(stack.port_known(s) and grpc_serving(stack.addr(s)) for s in GRPC_SERVICES):
        tried = ", ".join(f"{s} {stack.addr(s) if stack.ports[s] else 'on a free port'}" for s in GRPC_SERVICES)
        console.print(f"No SkillPay stack answers at the configured addresses ({tried}); starting one.",
                      highlight=False, soft_wrap=True)
        stack = _stack(data_dir)  # afresh: ports read from stale ready files are not ours to take
        with console.status("starting SkillPay..."):
            stack.start()
        started_here = True
        _print_addresses(stack, stopping_hint=False)
    else:
        console.print(f"Using the SkillPay stack at voucher {stack.addr('voucher')}, claim {stack.addr('claim')}, "
                      f"ledger {stack.addr('ledger')}.", highlight=False, soft_wrap=True)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            tasks = {"redeemed": bar.add_task("issued and redeemed", total=count),
                     "paid": bar.add_task("paid to social security card", total=count)}
            report = asyncio.run(_run_demo(stack, count, fund_code, concurrency, timeout_s,
                                           lambda step: bar.advance(tasks[step])))
        _print_report(report, count)
        if report.paid != count:
            raise typer.Exit(1)
    finally:
        if started_here:
            stack.stop()


async def _run_demo(stack: Stack, count, fund_code, concurrency, timeout_s, progress):
    from skillpay.cli.demo import Clients, run_batch

    clients = Clients.connect(stack.addr("voucher"), stack.addr("claim"), stack.addr("ledger"), stack.token_issuer(),
                              stack.lookup_key())
    try:
        return await run_batch(clients, count, fund_code=fund_code, concurrency=concurrency, timeout_s=timeout_s,
                               progress=progress)
    finally:
        await clients.close()


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def _print_report(report, count: int) -> None:
    table = Table(title=f"{count} vouchers in {report.elapsed_s:.1f} s")
    table.add_column("what")
    table.add_column("result")
    table.add_row("vouchers", ", ".join(f"{k.removeprefix('VOUCHER_STATE_').lower()}: {v}" for k, v in sorted(report.voucher_states.items())))
    table.add_row("claims", ", ".join(f"{k.removeprefix('CLAIM_STATE_').lower()}: {v}" for k, v in sorted(report.claim_states.items())))
    table.add_row("payouts", ", ".join(f"{k.removeprefix('PAYMENT_STATE_').lower()}: {v}" for k, v in sorted(report.payment_states.items())))
    if report.lags_s:
        lags = sorted(report.lags_s)
        table.add_row("redeemed → paid", f"p50 {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s")
    console.print(table)
    funds = Table(title="ledger balances per fund source")
    for col in ("fund", "allocated", "available", "payable", "disbursed"):
        funds.add_column(col, justify="right" if col != "fund" else "left")
    for f in report.funds:
        funds.add_row(f"{f.fund_code} {f.name}", _yuan(f.allocated_fen), _yuan(f.available_fen), _yuan(f.payable_fen),
                      _yuan(f.disbursed_fen))
    console.print(funds)
    verdict = "[green]every voucher paid[/]" if report.paid == count else f"[red]{count - report.paid} vouchers not paid[/]"
    console.print(verdict)


@app.command()
def serve(name: str = typer.Argument(..., help=f"one of: {', '.join(ALL_SERVICES)}")):
    """Run one process in the foreground (configured by environment variables)."""
    if name not in MODULES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(ALL_SERVICES)}")
    import runpy

    runpy.run_module(MODULES[name], run_name="__main__")


@app.command()
def token(
    kind: str = typer.Argument(..., help="person, institution, reviewer, finance, admin, service or evaluation_body"),
    subject: str = typer.Argument(..., help="who: a user name, an institution id, a service name, an evaluation "
                                            "body id; for a person their resident ID (the token names its look-up "
                                            "hash, never the number)"),
    ttl_s: int = typer.Option(3600, help="seconds the token stays valid"),
    data_dir: Path = typer.Option(Path(os.environ.get("SKILLPAY_DATA_DIR", "var")), help="where the signing key is"),
):
    """Print a signed bearer token, e.g. for grpcurl: -H "authorization: Bearer $(skillpay token admin me)"."""
    from skillpay.actors import ActorKind
    from skillpay.auth import TokenIssuer
    from skillpay.settings import CommonSettings

    try:
        actor_kind = ActorKind(kind)
    except ValueError:
        raise typer.BadParameter(f"choose one of: {', '.join(k.value for k in ActorKind)}") from None
    if not 0 < ttl_s <= 7 * 24 * 3600:
        raise typer.BadParameter("ttl_s must be between 1 second and 7 days")
    settings = CommonSettings(SKILLPAY_DATA_DIR=str(data_dir))
    if actor_kind is ActorKind.PERSON:
        from skillpay.errors import InvalidArgument
        from skillpay.pii import person_subject

        try:
            subject = person_subject(subject, settings.key_bytes("lookup"))
        except InvalidArgument:
            raise typer.BadParameter("a person is named by a valid resident ID number") from None
    issuer = TokenIssuer(settings.signing_key(), ttl_s=ttl_s)
    print(issuer.issue(actor_kind, subject))


@app.command()
def keygen():
    """Print a new signing key pair for a deployment (.env lines): issuers get the private key, services the public."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from skillpay.auth import raw_base64

    private, public = raw_base64(Ed25519PrivateKey.generate())
    print(f"SKILLPAY_AUTH_PRIVATE_KEY={private}")
    print(f"SKILLPAY_AUTH_PUBLIC_KEY={public}")


@app.command()
def codegen():
    """Regenerate the Python protobuf/gRPC code from proto/ (needs the test extra: grpcio-tools)."""
    from skillpay.cli.codegen import main

    main()


if __name__ == "__main__":
    app()

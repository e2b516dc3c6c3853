"""``skillpay ledger``: verify the transfer engine, the trial balance, fund statements, reconciliation.

``verify``: recompute every account of the transfer engine from its transfers.

Asks the ledger's ``VerifyLedger`` (issue 8): each account's stored totals against the sums of
its transfers. Prints the differences (account, stored vs recomputed, in fen) and exits 1 when
there is any, 0 when the ledger holds, 2 when the ledger cannot be asked. Reaches ledger_svc at
``LEDGER_GRPC_LISTEN`` (or what a running ``skillpay up`` wrote to its ready file) as an admin,
with a token signed by the data directory's key (or ``SKILLPAY_AUTH_PRIVATE_KEY``), like
``skillpay events``.

``trial-balance`` (exit 1 when a fund does not balance), ``statement`` (a fund's statement for
Asia/Shanghai days, as CSV or XLSX, with its chart) and ``reconcile`` (a bank statement file, or
the bank's own with ``--from-bank``, against the fund's payouts of a day; writes the report CSV
and chart; exit 1 when there are unexplained differences) ask GetTrialBalance, GetFundStatement,
GetFundChart, ReconcileStatement and ReconcileFromBank as a finance user (``cli:<user>``).
Exit 2 when the ledger cannot be asked or refuses the request.
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from datetime import date
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.table import Table

from skillpay.cli.events import DATA_DIR, _identity, service_address

app = typer.Typer(help="The ledger: verify the transfer engine, the trial balance, fund statements, reconciliation.",
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


# -- reports and reconciliation (issue 8) ----------------------------------------------------------
UPLOAD_CHUNK = 1024 * 1024  # ReconcileStatement's messages: at most 1 MiB of the file each
# Reconciliation answers carry the report files; allow them more than gRPC's default 4 MiB.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 256 * 1024 * 1024)]


def _finance_identity(data_dir: Path):
    from skillpay.actors import ActorKind
    from skillpay.auth import Identity
    from skillpay.settings import CommonSettings

    issuer = CommonSettings(SKILLPAY_DATA_DIR=str(data_dir)).token_issuer()
    return Identity(issuer, ActorKind.FINANCE, f"cli:{getpass.getuser()}"[:128])


def _pb_date(value: date):
    from google.type import date_pb2

    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("must be a day as YYYY-MM-DD", param_hint=option) from None


def _call(data_dir: Path, ask):
    """Run ``ask(stub)`` against the ledger as finance; exit 2 with the ledger's reason when it refuses."""
    from skillpay.auth import authenticated_channel
    from skillpay.ledger.v1 import ledger_pb2_grpc

    address = service_address("ledger", data_dir)

    async def run():
        channel = authenticated_channel(address, _finance_identity(data_dir), options=CHANNEL_OPTIONS)
        try:
            return await ask(ledger_pb2_grpc.LedgerServiceStub(channel))
        finally:
            await channel.close()

    try:
        return asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]ledger at {address}: {exc.code().name}: {exc.details()}[/red]", highlight=False)
        raise typer.Exit(2) from None


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


@app.command("trial-balance")
def trial_balance(data_dir: Path = DATA_DIR):
    """Every fund's debits and credits (F1), and no flagged account overdrawn (F2); exit 1 if not."""
    from skillpay.ledger.v1 import ledger_pb2

    reply = _call(data_dir, lambda stub: stub.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest(), timeout=60))
    table = Table(title="Trial balance (fen)")
    for name in ("fund", "debits posted", "credits posted", "debits pending", "credits pending", "balanced"):
        table.add_column(name, justify="left" if name == "fund" else "right")
    for t in [*reply.funds, reply.overall]:
        table.add_row(t.ledger or "all funds", str(t.debits_posted), str(t.credits_posted), str(t.debits_pending),
                      str(t.credits_pending), "yes" if t.balanced else "[red]NO[/red]")
    console.print(table)
    if reply.balanced:
        console.print("[green]Every fund balances; no account is overdrawn.[/green]")
        return
    for d in reply.differences:
        console.print(f"[red]{d.rule} {d.kind}: {d.description}[/red]", highlight=False)
    raise typer.Exit(1)


@app.command()
def statement(
    fund: str = typer.Option(..., "--fund", help="the fund source's code"),
    from_day: str = typer.Option(..., "--from", help="first day (YYYY-MM-DD, Asia/Shanghai)"),
    to_day: str = typer.Option(..., "--to", help="last day, included"),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv"),
    out: Path = typer.Option(..., "-o", "--out", help="the file to write (csv: FILE and FILE's stem + "
                                                     "'_transfers.csv')"),
    chart: Path | None = typer.Option(None, "--chart", help="also write the daily chart (.png or .svg)"),
    data_dir: Path = DATA_DIR,
):
    """A fund's statement for a period: opening, movements, closing, every transfer; and its chart."""
    from skillpay.ledger.v1 import ledger_pb2 as pb

    formats = {"csv": pb.REPORT_FORMAT_CSV, "xlsx": pb.REPORT_FORMAT_XLSX}
    if fmt not in formats:
        raise typer.BadParameter("choose csv or xlsx", param_hint="--format")
    chart_format = None
    if chart is not None:
        chart_format = {".png": pb.CHART_FORMAT_PNG, ".svg": pb.CHART_FORMAT_SVG}.get(chart.suffix.lower())
        if chart_format is None:
            raise typer.BadParameter("the chart's file name must end in .png or .svg", param_hint="--chart")
    first, last = _day(from_day, "--from"), _day(to_day, "--to")
    request = pb.GetFundStatementRequest(fund_code=fund, from_day=_pb_date(first), to_day=_pb_date(last),
                                         format=formats[fmt])
    targets = {}  # file name the ledger gives -> where it goes
    out.parent.mkdir(parents=True, exist_ok=True)

    async def ask(stub):
        figures, files = None, {}
        async for part in stub.GetFundStatement(request, timeout=600):
            if part.WhichOneof("part") == "statement":
                figures = part.statement
                continue
            name = part.chunk.file_name
            if name not in files:
                target = out if not files else out.with_name(f"{out.stem}_transfers{out.suffix or '.csv'}")
                targets[name] = target
                files[name] = open(target, "wb")
            files[name].write(part.chunk.data)
            if part.chunk.last:
                files[name].close()
        for f in files.values():
            f.close()
        drawn = None
        if chart_format is not None:
            drawn = await stub.GetFundChart(pb.GetFundChartRequest(
                fund_code=fund, from_day=request.from_day, to_day=request.to_day, format=chart_format), timeout=300)
        return figures, drawn

    figures, drawn = _call(data_dir, ask)
    if drawn is not None:
        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_bytes(drawn.data)
    table = Table(title=f"Fund {figures.fund_code}, {first.isoformat()} – {last.isoformat()} (Asia/Shanghai), CNY")
    table.add_column("figure")
    table.add_column("opening", justify="right")
    table.add_column("closing", justify="right")
    for name in ("funds_held", "appropriated", "available", "commitments", "payables", "in_transit", "disbursed"):
        table.add_row(name, _yuan(getattr(figures.opening, name)), _yuan(getattr(figures.closing, name)))
    console.print(table)
    m = figures.movements
    console.print(f"Movements: appropriations {_yuan(m.appropriations)}, disbursed {_yuan(m.disbursed)}, "
                  f"failed/released {_yuan(m.released)}, returned {_yuan(m.returned)}, recovered "
                  f"{_yuan(m.recovered)}; {figures.transfer_count} transfers.", highlight=False)
    for target in [*targets.values(), *([chart] if drawn is not None else [])]:
        console.print(f"Wrote {target}", highlight=False)
    if not figures.balanced:
        for d in figures.differences:
            console.print(f"[red]{d.rule} {d.kind}: {d.description}[/red]", highlight=False)
        raise typer.Exit(1)


@app.command()
def reconcile(
    fund: str = typer.Option(..., "--fund", help="the fund source's code"),
    day: str = typer.Option(..., "--day", help="the statement's booking day (YYYY-MM-DD, Asia/Shanghai)"),
    file: Path | None = typer.Option(None, "--file", help="the bank's statement file to upload"),
    fmt: str = typer.Option("csv", "--format", help="the file's layout: csv or camt053"),
    from_bank: bool = typer.Option(False, "--from-bank", help="let the ledger fetch the bank's statement itself"),
    out: Path = typer.Option(..., "--out", help="directory for the report CSV and chart"),
    request_id: str = typer.Option("", help="the upload's request id (default: a new one); the same id with "
                                            "the same file gets the first answer"),
    data_dir: Path = DATA_DIR,
):
    """Match the bank's statement against the fund's payouts of a day; exit 1 on unexplained differences."""
    from skillpay.ledger.v1 import ledger_pb2 as pb

    if (file is None) == (not from_bank):
        raise typer.BadParameter("give either --file or --from-bank", param_hint="--file")
    formats = {"csv": pb.STATEMENT_FORMAT_CSV, "camt053": pb.STATEMENT_FORMAT_CAMT053}
    if fmt not in formats:
        raise typer.BadParameter("choose csv or camt053", param_hint="--format")
    booking_day = _pb_date(_day(day, "--day"))
    if file is not None and not file.is_file():
        raise typer.BadParameter(f"{file} is not a file", param_hint="--file")
    rid = request_id or uuid.uuid4().hex

    def upload():
        yield pb.ReconcileStatementRequest(request_id=rid, fund_code=fund, day=booking_day, format=formats[fmt])
        with open(file, "rb") as f:
            while block := f.read(UPLOAD_CHUNK):
                yield pb.ReconcileStatementRequest(chunk=block)

    async def ask(stub):
        if from_bank:
            return await stub.ReconcileFromBank(pb.ReconcileFromBankRequest(
                request_id=rid, fund_code=fund, day=booking_day), timeout=900)
        return await stub.ReconcileStatement(upload(), timeout=900)

    reply = _call(data_dir, ask)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in (reply.report_csv, reply.report_chart):
        target = out / Path(f.file_name).name  # only a name: never a path the answer chose
        target.write_bytes(f.data)
        written.append(target)
    table = Table(title=f"Reconciliation of {reply.fund_code} on {day}")
    for name in ("category", "explained", "count", "ledger (CNY)", "statement (CNY)"):
        table.add_column(name, justify="left" if name in ("category", "explained") else "right")
    for c in reply.summary:
        table.add_row(c.category, "yes" if c.explained else "[red]no[/red]" if c.count else "no", str(c.count),
                      _yuan(c.ledger_amount_fen), _yuan(c.statement_amount_fen))
    console.print(table)
    console.print(f"Settled by the statement: {len(reply.settled_payment_ids)}; returned: "
                  f"{len(reply.returned_payment_ids)}.", highlight=False)
    for target in written:
        console.print(f"Wrote {target}", highlight=False)
    if reply.unexplained_count:
        console.print(f"[red]{reply.unexplained_count} unexplained differences; what to do is in the report.[/red]",
                      highlight=False)
        for item in reply.unexplained[:20]:
            console.print(f"  {item.category} {item.payment_id}: {item.what_to_do_en}", highlight=False)
        raise typer.Exit(1)
    console.print("[green]No unexplained differences.[/green]")

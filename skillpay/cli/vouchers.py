"""``skillpay vouchers create-batch|issue-batch``: issuance batches (V4, V5) from the command line.

``issue-batch`` creates a listed batch (or continues one) and streams a CSV file of persons
(``resident_id,name``, one a line, an optional header) to ``IssueBatchVouchers`` in chunks, with a
progress bar: the file is read as it is sent, never held whole. Each chunk's request id follows
from the batch and the chunk's number, so running the same command again after an interruption
issues nothing twice (the chunks already done answer as before). Rejected rows are listed by
their line in the file and field, never with the value.

Reaches voucher_svc at ``VOUCHER_GRPC_LISTEN`` (or what a running ``skillpay up`` wrote to its
ready file) as an admin, with a token signed by the data directory's key (or
``SKILLPAY_AUTH_PRIVATE_KEY``), like ``skillpay events``.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timezone
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from skillpay.cli.events import DATA_DIR, _identity, service_address
from skillpay.clock import SHANGHAI

app = typer.Typer(help="Issuance batches: create one, and issue a listed batch from a CSV file of persons.",
                  no_args_is_help=True)
console = Console()
KINDS = ("general", "targeted")
MODES = ("listed", "quota")
MAX_CHUNK = 5000
SHOWN_REJECTIONS = 50
WINDOW = 2  # chunks sent and not yet answered


def _moment(text: str, option: str) -> datetime:
    """A date (the start of that day in Asia/Shanghai) or an ISO date-time with its offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), SHANGHAI)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}: a date (2027-12-31) or date-time with offset "
                                 "(2027-12-31T00:00:00+08:00)") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{option}: give the offset (e.g. +08:00)")
    return moment


def _timestamp(moment: datetime | None):
    from skillpay.service_runtime import ts

    return ts(moment.astimezone(timezone.utc)) if moment else None


def _batch_request(batch_id, fund, valid_from, valid_until, kind, occupation, level, institution, mode, quota):
    from skillpay.voucher.v1 import voucher_pb2 as pb

    if kind not in KINDS:
        raise typer.BadParameter(f"--kind: one of {', '.join(KINDS)}")
    if mode not in MODES:
        raise typer.BadParameter(f"--mode: one of {', '.join(MODES)}")
    return pb.CreateBatchRequest(
        # Derived from the batch: the same command again is recognised (and a different one refused).
        request_id=f"cli-create-batch:{batch_id}"[:128], batch_id=batch_id, fund_source=fund,
        valid_from=_timestamp(_moment(valid_from, "--valid-from") if valid_from else None),
        valid_until=_timestamp(_moment(valid_until, "--valid-until")),
        kind=pb.VoucherKind.Value(f"VOUCHER_KIND_{kind.upper()}"), occupation_code=occupation, level=level,
        institution_id=institution, mode=pb.BatchMode.Value(f"BATCH_MODE_{mode.upper()}"), quota=quota)


def _fail(exc: grpc.aio.AioRpcError) -> typer.Exit:
    """Print a refused call with every offending field, as the service named them."""
    from google.rpc import error_details_pb2, status_pb2

    console.print(f"[red]{exc.code().name}: {exc.details()}[/red]", highlight=False, soft_wrap=True)
    raw = dict(exc.trailing_metadata() or ()).get("grpc-status-details-bin")
    if raw:
        for detail in status_pb2.Status.FromString(raw).details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                for v in bad.field_violations:
                    console.print(f"  {v.field}: {v.description}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


BATCH_ID = typer.Option(..., "--batch-id", help="the batch's id, chosen by you (letters, digits, _ . : -)")
FUND = typer.Option(..., "--fund", help="the fund source the ledger has opened, e.g. ESF-2026")
VALID_UNTIL = typer.Option(..., "--valid-until", help="end of validity (V5): 2027-12-31 (Asia/Shanghai) or ISO")
VALID_FROM = typer.Option("", "--valid-from", help="start of validity (default: now)")
KIND = typer.Option("general", "--kind", help="general (holder chooses at enrolment) or targeted")
OCCUPATION = typer.Option("", "--occupation", help="targeted: the catalogue occupation code")
LEVEL = typer.Option(0, "--level", help="targeted: the level, 5 (初级) .. 1 (高级技师)")
INSTITUTION = typer.Option("", "--institution", help="targeted: the institution id")


@app.command("create-batch")
def create_batch(batch_id: str = BATCH_ID, fund: str = FUND, valid_until: str = VALID_UNTIL,
                 valid_from: str = VALID_FROM, kind: str = KIND, occupation: str = OCCUPATION, level: int = LEVEL,
                 institution: str = INSTITUTION,
                 mode: str = typer.Option("listed", "--mode", help="listed (issue-batch sends the persons) or "
                                                                   "quota (persons claim in their app)"),
                 quota: int = typer.Option(0, "--quota", help="quota: how many vouchers may be claimed"),
                 data_dir: Path = DATA_DIR):
    """Create an issuance batch: its fund source, validity, kind, and listed or quota."""
    request = _batch_request(batch_id, fund, valid_from, valid_until, kind, occupation, level, institution, mode,
                             quota)
    try:
        batch = asyncio.run(_create(request, data_dir))
    except grpc.aio.AioRpcError as exc:
        raise _fail(exc) from None
    console.print(f"batch {batch.batch_id} created: {kind}, {mode}"
                  + (f" (quota {batch.quota})" if batch.quota else "") + f", fund {batch.fund_source}, valid until "
                  f"{batch.valid_until.ToDatetime(timezone.utc).astimezone(SHANGHAI):%Y-%m-%d %H:%M} (Asia/Shanghai)",
                  highlight=False)


async def _create(request, data_dir: Path):
    from skillpay.auth import authenticated_channel
    from skillpay.voucher.v1 import voucher_pb2_grpc

    channel = authenticated_channel(service_address("voucher", data_dir), _identity(data_dir))
    try:
        return await voucher_pb2_grpc.VoucherServiceStub(channel).CreateBatch(request, timeout=30)
    finally:
        await channel.close()


def _rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, resident_id, name) of each person, read as needed; a header line is skipped."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        for line_no, cells in enumerate(csv.reader(f), start=1):
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if line_no == 1 and cells[0].strip().lower() == "resident_id":
                continue
            # A short row is sent as it is: the service refuses it, naming the missing field.
            yield line_no, cells[0].strip(), (cells[1].strip() if len(cells) > 1 else "")


def _count(path: Path) -> int:
    return sum(1 for _ in _rows(path))


@app.command("issue-batch")
def issue_batch(persons_csv: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                                   help="CSV file: resident_id,name per line"),
                batch_id: str = BATCH_ID, fund: str = FUND, valid_until: str = VALID_UNTIL,
                valid_from: str = VALID_FROM, kind: str = KIND, occupation: str = OCCUPATION, level: int = LEVEL,
                institution: str = INSTITUTION,
                chunk_size: int = typer.Option(2000, "--chunk-size", help=f"persons per chunk (1-{MAX_CHUNK})"),
                rejections_csv: Path = typer.Option(None, "--rejections", help="write every rejected row here (CSV)"),
                data_dir: Path = DATA_DIR):
    """Create (or continue) a listed batch and issue a voucher to every person of the CSV file."""
    if not 0 < chunk_size <= MAX_CHUNK:
        raise typer.BadParameter(f"--chunk-size must be 1-{MAX_CHUNK}")
    request = _batch_request(batch_id, fund, valid_from, valid_until, kind, occupation, level, institution,
                             "listed", 0)
    total = _count(persons_csv)
    if not total:
        console.print("[red]the file lists no persons[/red]")
        raise typer.Exit(1)
    rejected_rows: list = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[counts]}"), console=console) as bar:
        task = bar.add_task(f"batch {batch_id}", total=total, counts="")

        def progress(p) -> None:
            bar.update(task, advance=p.issued_in_chunk + p.rejected_in_chunk,
                       counts=f"{p.issued_total:,} issued, {p.rejected_total:,} rejected")

        try:
            final = asyncio.run(_issue(request, persons_csv, chunk_size, data_dir, progress, rejected_rows))
        except grpc.aio.AioRpcError as exc:
            raise _fail(exc) from None
    for r in rejected_rows[:SHOWN_REJECTIONS]:
        console.print(f"  line {r.row}: {r.field}: {r.description}", highlight=False, soft_wrap=True)
    if len(rejected_rows) > SHOWN_REJECTIONS:
        console.print(f"  ... and {len(rejected_rows) - SHOWN_REJECTIONS} more", highlight=False)
    if rejections_csv is not None:
        with rejections_csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["line", "field", "reason"])
            writer.writerows((r.row, r.field, r.description) for r in rejected_rows)
    console.print(f"batch {batch_id}: {final.issued_total:,} vouchers issued, {final.rejected_total:,} rows "
                  f"rejected", highlight=False)


async def _issue(request, path: Path, chunk_size: int, data_dir: Path, progress, rejected_rows: list):
    from skillpay.auth import authenticated_channel
    from skillpay.voucher.v1 import voucher_pb2 as pb
    from skillpay.voucher.v1 import voucher_pb2_grpc

    channel = authenticated_channel(service_address("voucher", data_dir), _identity(data_dir))
    stub = voucher_pb2_grpc.VoucherServiceStub(channel)
    try:
        try:
            await stub.CreateBatch(request, timeout=30)  # the same command again answers as the first time
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.ALREADY_EXISTS:
                raise
        # Go on with the batch of this id if it is the listed batch described here.
        batch = await stub.GetBatch(pb.GetBatchRequest(batch_id=request.batch_id), timeout=30)
        if (batch.mode, batch.kind, batch.fund_source) != (pb.BATCH_MODE_LISTED, request.kind, request.fund_source):
            console.print(f"[red]batch {batch.batch_id} exists with another mode, kind or fund source[/red]",
                          highlight=False)
            raise typer.Exit(1)
        if batch.issued_count or batch.rejected_count:
            console.print(f"batch {batch.batch_id} exists ({batch.issued_count:,} issued): continuing it; chunks "
                          "already done are not issued again", highlight=False)

        # At most WINDOW chunks unanswered: the service is kept busy, and when it refuses a chunk no
        # write of ours is still under way (grpc.aio would then report INTERNAL, grpc/grpc#36066).
        window = asyncio.Semaphore(WINDOW)

        def chunk(chunk_no: int, first: int, persons: list):
            return pb.IssueBatchChunk(batch_id=request.batch_id, chunk_no=chunk_no, first_row=first, persons=persons)

        async def chunks():
            # Rows are numbered by line: a chunk is closed early where lines were skipped (blank
            # ones), so each chunk's persons are consecutive lines from first_row on.
            persons, first, chunk_no = [], 0, 0
            for line_no, resident_id, name in _rows(path):
                if persons and (len(persons) == chunk_size or line_no != first + len(persons)):
                    await window.acquire()
                    yield chunk(chunk_no, first, persons)
                    persons, chunk_no = [], chunk_no + 1
                if not persons:
                    first = line_no
                persons.append(pb.BatchPerson(resident_id=resident_id, name=name))
            if persons:
                await window.acquire()
                yield chunk(chunk_no, first, persons)

        final = None
        async for final in stub.IssueBatchVouchers(chunks()):
            window.release()
            rejected_rows.extend(final.rejections)
            progress(final)
        return final
    finally:
        await channel.close()

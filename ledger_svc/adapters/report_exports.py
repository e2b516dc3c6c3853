"""Report files as pieces to send (issue 8): a fund statement's CSV or XLSX files in chunks, the
daily chart, and a reconciliation's report CSV and chart as bytes.

The files themselves are made by ``report_files`` and ``reconciliation_report``; this module
cuts them into chunks of at most :data:`CHUNK_BYTES` (gRPC's default message limit is 4 MiB), one
file after the other. CSV text is encoded as it is written, never held whole; the XLSX workbook
is written to a temporary file first (a zip needs its end to be written last) and read back in
chunks. matplotlib's figures share global settings, so charts are drawn one at a time.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ledger_svc.adapters import reconciliation_report, report_files
from ledger_svc.domain.reconciliation import Reconciliation
from ledger_svc.domain.reports import DayFigures, transfers_of
from ledger_svc.service_layer.reports import StatementData

CHUNK_BYTES = 1024 * 1024
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
_DRAWING = threading.Lock()


class Piece(NamedTuple):
    file_name: str
    media_type: str
    data: bytes
    last: bool  # the file's last piece


def statement_name(data: StatementData) -> str:
    s = data.statement
    # A fund code is letters, digits, '_', '.', '-': a safe file name.
    return f"statement_{s.fund}_{s.period_start.isoformat()}_{s.period_end.isoformat()}"


def _text_pieces(name: str, chunks: Iterable[str]) -> Iterator[Piece]:
    buffer = bytearray()
    for text in chunks:
        buffer += text.encode("utf-8")
        while len(buffer) >= CHUNK_BYTES:
            yield Piece(name, CSV, bytes(buffer[:CHUNK_BYTES]), False)
            del buffer[:CHUNK_BYTES]
    yield Piece(name, CSV, bytes(buffer), True)


def statement_pieces(data: StatementData, fmt: str) -> Iterator[Piece]:
    """``fmt`` "csv": ``<name>_summary.csv`` (the figures) then ``<name>_transfers.csv`` (every
    transfer of the period, F3, C8); "xlsx": ``<name>.xlsx`` (both sheets)."""
    name, s = statement_name(data), data.statement
    if fmt == "csv":
        yield from _text_pieces(f"{name}_summary.csv", report_files.iter_summary_csv(s))
        yield from _text_pieces(f"{name}_transfers.csv",
                                report_files.iter_transfers_csv(transfers_of(s, data.transfers)))
        return
    if fmt != "xlsx":
        raise ValueError(f"unknown statement format {fmt!r}")
    fd, path = tempfile.mkstemp(prefix="skillpay-statement-", suffix=".xlsx")
    os.close(fd)
    try:
        report_files.write_statement_xlsx(s, data.transfers, path)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            sent = 0
            while True:
                block = f.read(CHUNK_BYTES)
                sent += len(block)
                yield Piece(f"{name}.xlsx", XLSX, block, sent >= size)
                if sent >= size:
                    return
    finally:
        os.unlink(path)


def chart(days: list[DayFigures], fund: str, fmt: str) -> tuple[str, str, bytes]:
    """(file name, media type, bytes) of the fund's daily chart, PNG or SVG."""
    with _DRAWING:
        data = report_files.render_daily_chart(days, fund, fmt)
    start, end = days[0].day.isoformat(), days[-1].day.isoformat()
    return f"chart_{fund}_{start}_{end}.{fmt}", MEDIA_TYPES[fmt], data


def reconciliation_files(rec: Reconciliation) -> tuple[Piece, Piece]:
    """The reconciliation report's CSV (UTF-8 with BOM) and chart (PNG) as bytes."""
    name = reconciliation_report.report_name(rec)
    text = io.StringIO(newline="")
    reconciliation_report.write_csv_report(rec, text)
    png = io.BytesIO()
    with _DRAWING:
        reconciliation_report.write_chart(rec, png)
    return (Piece(f"{name}.csv", CSV, text.getvalue().encode("utf-8-sig"), True),
            Piece(f"{name}.png", MEDIA_TYPES["png"], png.getvalue(), True))

"""A fund statement as files for the finance department: CSV, XLSX and a daily chart (F3, C8).

CSV is UTF-8 with a byte-order mark so that Excel opens Chinese headers correctly; every amount
appears in fen (an integer) and in yuan, the latter formatted from the integer (``yuan``), never
through a float. Transfers are written as they come from an iterable, one row at a time, so a
year of transfers never sits in memory: ``iter_transfers_csv`` yields text chunks and the XLSX
writer uses openpyxl's write-only mode. The chart is drawn with matplotlib's Agg (PNG) or SVG
backend, imported only when a chart is asked for, with English labels (the bundled DejaVu font
renders them on any machine, CJK fonts or not).

Every transfer row names its fund source, date and amount (F3); rows are written for every
transfer, nothing is left out or summarised away (C8: the record is complete).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO

from ledger_svc.domain.reports import DayFigures, FundStatement, transfers_of
from ledger_svc.domain.transfers import Transfer, TransferFlags
from skillpay.clock import SHANGHAI

BOM = "\ufeff"


def yuan(fen: int) -> str:
    """Integer fen as yuan text with exactly two decimals: 123456 -> "1234.56", -5 -> "-0.05"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("amounts are integer fen")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan_decimal(fen: int) -> Decimal:
    """The exact yuan value of integer fen (a Decimal: openpyxl writes it digit for digit)."""
    return Decimal(yuan(fen))


def _safe_text(value: str) -> str:
    """Text that a spreadsheet will not run as a formula (CSV/formula injection)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


# ------------------------------------------------------------------------------------ the rows

SUMMARY_HEADER = ("键 Key", "项目 Item", "金额(分) Amount (fen)", "金额(元) Amount (yuan)")
TRANSFER_HEADER = ("时间 Time (Asia/Shanghai)", "日期 Date", "资金来源 Fund", "类别 Code", "类型 Kind",
                   "转账号 Transfer id", "借方账户 Debit account", "贷方账户 Credit account", "金额(分) Amount (fen)",
                   "金额(元) Amount (yuan)", "预留转账号 Pending id", "业务参考 Reference")

_POSITION = (
    ("funds_held", "资金结存 Funds held"),
    ("appropriated", "累计拨入 Appropriated"),
    ("available", "可用额度 Available"),
    ("commitments", "已承诺未支付 Commitments"),
    ("free_to_commit", "可承诺余额 Free to commit"),
    ("payables", "应付款 Payables"),
    ("in_transit", "在途 In transit"),
    ("disbursed", "已支付(净) Disbursed (net)"),
    ("returned", "退回过渡 Returned (in passage)"),
    ("recovered", "追回过渡 Recovered (in passage)"),
)
_MOVEMENTS = (
    ("appropriations", "本期拨入 Appropriations"),
    ("commitments_created", "新增承诺 Commitments created"),
    ("commitments_posted", "承诺转支付 Commitments posted"),
    ("commitments_released", "承诺释放 Commitments released"),
    ("submitted", "提交银行 Submitted to bank"),
    ("disbursed", "支付成功 Disbursed"),
    ("failed", "支付失败退回额度 Failed"),
    ("released", "失败及释放合计 Failed and released"),
    ("returned", "银行退回 Returned"),
    ("recovered", "追回 Recovered (X2)"),
    ("other_held", "其他调整 Other (corrections)"),
)
_KIND = {
    TransferFlags.PENDING: "pending",
    TransferFlags.POST_PENDING_TRANSFER: "post_pending",
    TransferFlags.VOID_PENDING_TRANSFER: "void_pending",
}


@dataclass(frozen=True, slots=True)
class SummaryRow:
    key: str  # stable, for machines: "closing.in_transit", "by_code.settlement.posted", ...
    label: str  # Chinese and English, for people
    value: int | None  # None: a heading
    is_money: bool = True  # False: a count


def summary_rows(s: FundStatement) -> list[SummaryRow]:
    rows = [SummaryRow("statement", f"资金来源 Fund {s.fund}; 期间 Period {s.period_start.isoformat()} – "
                       f"{s.period_end.isoformat()} (Asia/Shanghai)", None)]
    for section, title, position in (("opening", "期初 Opening", s.opening), ("closing", "期末 Closing", s.closing)):
        if section == "closing":
            for key, label in _MOVEMENTS:
                rows.append(SummaryRow(f"movements.{key}", f"本期 Period: {label}", getattr(s.movements, key)))
            rows.append(SummaryRow("movements.other_count", "其他调整笔数 Other transfers (count)",
                                   s.movements.other_count, False))
        for key, label in _POSITION:
            rows.append(SummaryRow(f"{section}.{key}", f"{title}: {label}", getattr(position, key)))
    for ct in s.by_code:
        name = ct.code.name.lower()
        rows.append(SummaryRow(f"by_code.{name}.count", f"按类别 By code: {name} (count)", ct.count, False))
        rows.append(SummaryRow(f"by_code.{name}.posted", f"按类别 By code: {name} posted", ct.posted))
        if ct.pending:
            rows.append(SummaryRow(f"by_code.{name}.pending", f"按类别 By code: {name} reserved", ct.pending))
        if ct.voided:
            rows.append(SummaryRow(f"by_code.{name}.voided", f"按类别 By code: {name} voided", ct.voided))
    rows.append(SummaryRow("check.transfers", "本期转账笔数 Transfers in period", s.transfer_count, False))
    rows.append(SummaryRow("check.differences", "核对差异 Differences (0 = balanced)", len(s.differences), False))
    for i, d in enumerate(s.differences):
        rows.append(SummaryRow(f"difference.{i}.{d.rule}.{d.kind}", f"差异 Difference: {d.description}", d.amount))
    return rows


def transfer_row(t: Transfer) -> tuple:
    """One transfer as cells: aware time shown in Shanghai time, amount in fen and yuan (F3)."""
    local = t.timestamp.astimezone(SHANGHAI) if t.timestamp is not None else None
    kind = _KIND.get(t.flags & (TransferFlags.PENDING | TransferFlags.POST_PENDING_TRANSFER
                                | TransferFlags.VOID_PENDING_TRANSFER), "posted")
    return (local, local.date() if local else None, t.ledger, t.code.name.lower(), kind, t.id, t.debit_account_id,
            t.credit_account_id, t.amount, t.pending_id, t.user_data)


# -------------------------------------------------------------------------------------------- CSV


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


def iter_summary_csv(s: FundStatement) -> Iterator[str]:
    """The statement's figures as CSV text chunks (the first starts with the BOM)."""
    return _csv_lines(SUMMARY_HEADER, (
        (r.key, r.label, "" if r.value is None else str(r.value), yuan(r.value) if r.is_money and r.value is not None
         else "") for r in summary_rows(s)))


def iter_transfers_csv(transfers: Iterable[Transfer]) -> Iterator[str]:
    """Transfers as CSV text chunks, one row each, streamed from ``transfers``."""
    def rows():
        for t in transfers:
            local, day, ledger, code, kind, tid, debit, credit, amount, pending_id, ref = transfer_row(t)
            yield (local.isoformat() if local else "", day.isoformat() if day else "", _safe_text(ledger), code, kind,
                   _safe_text(tid), _safe_text(debit), _safe_text(credit), str(amount), yuan(amount),
                   _safe_text(pending_id), _safe_text(ref))
    return _csv_lines(TRANSFER_HEADER, rows())


def write_text(chunks: Iterable[str], target: Path | IO[str]) -> None:
    """Write CSV chunks to a path (UTF-8; the BOM is in the first chunk) or an open text file."""
    if isinstance(target, (str, Path)):
        with open(target, "w", encoding="utf-8", newline="") as f:
            f.writelines(chunks)
    else:
        target.writelines(chunks)


def write_statement_csv(s: FundStatement, transfers: Iterable[Transfer], summary: Path, detail: Path) -> None:
    """The statement's two CSV files: its figures, and its transfers (those of its fund and period)."""
    write_text(iter_summary_csv(s), summary)
    write_text(iter_transfers_csv(transfers_of(s, transfers)), detail)


# ------------------------------------------------------------------------------------------- XLSX

SUMMARY_SHEET = "汇总 Summary"
TRANSFERS_SHEET = "明细 Transfers"
FEN_FORMAT = "#,##0"
YUAN_FORMAT = "#,##0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
_SUMMARY_WIDTHS = (34, 60, 18, 20)
_TRANSFER_WIDTHS = (21, 12, 16, 13, 13, 40, 28, 28, 16, 18, 40, 30)


def write_statement_xlsx(s: FundStatement, transfers: Iterable[Transfer], target: Path | IO[bytes]) -> None:
    """One workbook: a summary sheet and a transfers sheet (streamed, write-only), with number
    formats, column widths, a frozen bilingual header row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")

    def header(ws, names):
        cells = []
        for name in names:
            c = WriteOnlyCell(ws, value=name)
            c.font, c.fill, c.alignment = bold, fill, Alignment(wrap_text=True, vertical="center")
            cells.append(c)
        ws.append(cells)

    def cell(ws, value, number_format=None):
        c = WriteOnlyCell(ws, value=value)
        if number_format:
            c.number_format = number_format
        return c

    summary = wb.create_sheet(SUMMARY_SHEET)
    for i, width in enumerate(_SUMMARY_WIDTHS, start=1):
        summary.column_dimensions[get_column_letter(i)].width = width
    summary.freeze_panes = "A2"
    header(summary, SUMMARY_HEADER)
    for r in summary_rows(s):
        if r.value is None:
            summary.append([r.key, r.label])
            continue
        summary.append([r.key, r.label, cell(summary, r.value, FEN_FORMAT if r.is_money else "0"),
                        cell(summary, yuan_decimal(r.value), YUAN_FORMAT) if r.is_money else None])

    detail = wb.create_sheet(TRANSFERS_SHEET)
    for i, width in enumerate(_TRANSFER_WIDTHS, start=1):
        detail.column_dimensions[get_column_letter(i)].width = width
    detail.freeze_panes = "A2"
    header(detail, TRANSFER_HEADER)
    for t in transfers_of(s, transfers):
        local, day, ledger, code, kind, tid, debit, credit, amount, pending_id, ref = transfer_row(t)
        detail.append([
            cell(detail, local.replace(tzinfo=None) if local else None, TIME_FORMAT),  # Excel has no zones
            cell(detail, day, DATE_FORMAT),
            _safe_text(ledger), code, kind, _safe_text(tid), _safe_text(debit), _safe_text(credit),
            cell(detail, amount, FEN_FORMAT), cell(detail, yuan_decimal(amount), YUAN_FORMAT),
            _safe_text(pending_id), _safe_text(ref),
        ])
    wb.save(target)


# ------------------------------------------------------------------------------------------ chart

CHART_FORMATS = ("png", "svg")


def render_daily_chart(days: Sequence[DayFigures], fund: str, fmt: str = "png") -> bytes:
    """Grouped bars per Shanghai day: disbursed, in transit (at the day's end), failed/released,
    and returned when any came back. Amounts are plotted in fen and labelled in yuan. The same
    figures always give the same bytes (no dates or random ids in the file)."""
    if fmt not in CHART_FORMATS:
        raise ValueError(f"chart format must be one of {CHART_FORMATS}")
    import matplotlib

    # The Agg canvas, explicitly: no display, and pyplot (global state, GUI backends) never imported.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    series = [("Disbursed", [d.disbursed for d in days], "#2e7d32"),
              ("In transit (end of day)", [d.in_transit for d in days], "#1565c0"),
              ("Failed / released", [d.released for d in days], "#c62828")]
    if any(d.returned for d in days):
        series.append(("Returned / recovered", [d.returned for d in days], "#ef6c00"))
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "svg.hashsalt": "skillpay-ledger",
                                "svg.fonttype": "path"}):
        fig = Figure(figsize=(max(6.0, min(24.0, 0.35 * len(days) + 3)), 4.5), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        width = 0.8 / len(series)
        xs = range(len(days))
        for i, (label, values, colour) in enumerate(series):
            ax.bar([x - 0.4 + width * (i + 0.5) for x in xs], values, width=width, label=label, color=colour)
        step = max(1, len(days) // 15)
        ax.set_xticks(list(xs)[::step], [_day_label(d.day) for d in days][::step], rotation=45, ha="right")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(_tick_yuan))
        ax.set_ylabel("Amount (CNY)")
        ax.set_title(f"Fund {fund}: payouts per day (Asia/Shanghai)")
        ax.legend(loc="best", fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        out = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()


def _day_label(day: date) -> str:
    return day.strftime("%m-%d")


def _tick_yuan(value: float, _pos: int) -> str:
    """An axis label only: the tick positions are matplotlib's, the amounts drawn are integer fen."""
    return yuan(round(value))

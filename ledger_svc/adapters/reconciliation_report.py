"""The reconciliation report of one fund and day for the finance department: a CSV file and a chart.

The CSV (UTF-8 with a byte-order mark, so spreadsheet programs show the Chinese text) has one
column set for all its rows:

- ``summary`` rows: one per category (every category, zeros included) with its count and the sums
  of the ledger's and the statement's amounts in fen, so the totals of both sides can be checked;
- ``skipped`` rows: statement lines of another fund source or another day, counted only;
- ``item`` rows: every unexplained difference, and every return (a return needs a new attempt),
  with the payout, the statement line, the difference in fen and what to do, in Chinese and English.

The chart (PNG, matplotlib's Agg canvas, imported only when a chart is drawn) shows the count of
each category, the explained ones in green and the differences in red.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ledger_svc.domain.reconciliation import RETURN_REASONS, WHAT_TO_DO, Category, Finding, Reconciliation

COLUMNS = ("row", "fund_code", "day", "category", "explained", "count", "ledger_amount_fen", "statement_amount_fen",
           "difference_fen", "payment_id", "bank_ref", "statement_line", "ledger_state", "return_reason",
           "what_to_do_zh", "what_to_do_en")
_ORDER = {c: i for i, c in enumerate(Category)}


@dataclass(frozen=True)
class ReportFiles:
    csv_path: Path
    chart_path: Path


def report_name(rec: Reconciliation) -> str:
    # A fund code is letters, digits, '_', '.', '-' and starts with a letter or digit: a safe file name.
    return f"reconciliation_{rec.fund_code}_{rec.day.isoformat()}"


def listed_items(rec: Reconciliation) -> list[Finding]:
    """What finance has to look at: the differences and the returns, by category then payout id."""
    items = [f for f in rec.findings if f.category is Category.RETURNED or not f.category.explained]
    items.sort(key=lambda f: (_ORDER[f.category], f.payout_id, f.line.line if f.line else 0))
    return items


def write_csv_report(rec: Reconciliation, out: TextIO) -> None:
    """The report as CSV into ``out`` (a text stream opened with newline='')."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    fund, day = rec.fund_code, rec.day.isoformat()
    for category, s in rec.summary().items():
        writer.writerow(("summary", fund, day, category.value, _yes(category.explained), s.count, s.ledger_fen,
                         s.statement_fen, s.statement_fen - s.ledger_fen, "", "", "", "", "", "", ""))
    writer.writerow(("skipped", fund, day, "other_fund_lines", "", rec.other_fund_lines, "", "", "", "", "", "", "",
                     "", "", ""))
    writer.writerow(("skipped", fund, day, "other_day_lines", "", rec.other_day_lines, "", "", "", "", "", "", "",
                     "", "", ""))
    for f in listed_items(rec):
        payout, line = f.payout, f.line
        ledger_fen = payout.amount_fen if payout is not None else ""
        statement_fen = line.amount_fen if line is not None else ""
        difference = (statement_fen - ledger_fen) if payout is not None and line is not None else ""
        todo = WHAT_TO_DO[f.category]
        zh, en = todo.zh, todo.en
        reason = line.return_reason if line is not None else ""
        if reason:
            words = RETURN_REASONS.get(reason)
            if words:
                zh, en = f"{zh}（{reason}：{words.zh}）", f"{en} ({reason}: {words.en})"
        writer.writerow(("item", fund, day, f.category.value, _yes(f.category.explained), 1, ledger_fen,
                         statement_fen, difference, f.payout_id,
                         line.bank_ref if line is not None else (payout.bank_ref if payout is not None else ""),
                         line.line if line is not None else "", payout.state if payout is not None else "", reason,
                         zh, en))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def write_chart(rec: Reconciliation, path: Path) -> Path:
    """A horizontal bar chart of the count per category (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # slow to import: only when drawn
    from matplotlib.figure import Figure

    summary = rec.summary()
    categories = list(Category)
    counts = [summary[c].count for c in categories]
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    bars = ax.barh([c.value.replace("_", " ") for c in categories], counts,
                   color=["#2e7d32" if c.explained else "#c62828" for c in categories])
    ax.invert_yaxis()
    if max(counts, default=0) > 0:
        ax.set_xscale("symlog", linthresh=1)
    for bar, count, c in zip(bars, counts, categories):
        fen = summary[c].statement_fen or summary[c].ledger_fen
        ax.annotate(f"{count:,}  ({fen // 100:,}.{fen % 100:02d} CNY)", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    unexplained = sum(summary[c].count for c in categories if not c.explained)
    ax.set_title(f"Reconciliation of {rec.fund_code} on {rec.day.isoformat()}: {unexplained:,} unexplained")
    ax.set_xlabel("count (green: explained, red: differences to act on)")
    ax.margins(x=0.35)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def write_report(rec: Reconciliation, directory: Path) -> ReportFiles:
    """``reconciliation_<fund>_<day>.csv`` and ``.png`` in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = report_name(rec)
    csv_path = directory / f"{name}.csv"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as out:
        write_csv_report(rec, out)
    return ReportFiles(csv_path, write_chart(rec, directory / f"{name}.png"))

"""The reconciliation report for the finance department (issue 8): CSV with summary and items, PNG chart;
and bench/reconcile.py ending with its one JSON line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bench.statements import line
from ledger_svc.adapters.reconciliation_report import COLUMNS, write_csv_report, write_report
from ledger_svc.domain.reconciliation import CRDT, WHAT_TO_DO, Category, LedgerPayout, reconcile

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 5, 6)


def _day():
    payouts = [LedgerPayout("po_ok", "ESF", 1_000, "settled"), LedgerPayout("po_off", "ESF", 2_000, "in_doubt"),
               LedgerPayout("po_gone", "ESF", 3_000, "settled"), LedgerPayout("po_back", "ESF", 4_000, "settled")]
    lines = [line(2, DAY, "po_ok", 1_000), line(3, DAY, "po_off", 2_001), line(4, DAY, "po_new", 500),
             line(5, DAY, "po_back", 4_000, cd=CRDT, reason="AC04"), line(6, DAY, "po_ok", 1_000),
             line(7, DAY, "po_ok", 1_000, fund="UIF")]
    return reconcile("ESF", DAY, payouts, lines)


def _rows(rec) -> list[dict]:
    out = io.StringIO(newline="")
    write_csv_report(rec, out)
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


@pytest.mark.policy("F3", "X2")
def test_F3_the_csv_report_sums_every_category_and_lists_each_difference_with_what_to_do():
    rows = _rows(_day())
    summary = {r["category"]: r for r in rows if r["row"] == "summary"}
    assert list(summary) == [c.value for c in Category]
    assert (summary["matched"]["count"], summary["matched"]["ledger_amount_fen"]) == ("1", "1000")
    assert (summary["amount_mismatch"]["count"], summary["amount_mismatch"]["difference_fen"]) == ("1", "1")
    assert summary["in_ledger_not_statement"]["ledger_amount_fen"] == "3000"
    assert (summary["duplicate"]["explained"], summary["matched"]["explained"]) == ("no", "yes")
    assert {r["category"]: r["count"] for r in rows if r["row"] == "skipped"} == {
        "other_fund_lines": "1", "other_day_lines": "0"}
    items = [(r["category"], r["payment_id"], r["difference_fen"], r["statement_line"]) for r in rows
             if r["row"] == "item"]
    assert items == [("returned", "po_back", "0", "5"), ("amount_mismatch", "po_off", "1", "3"),
                     ("in_ledger_not_statement", "po_gone", "", ""), ("in_statement_not_ledger", "po_new", "", "4"),
                     ("duplicate", "po_ok", "", "6")]
    for r in rows:
        if r["row"] == "item":
            todo = WHAT_TO_DO[Category(r["category"])]
            assert r["what_to_do_zh"].startswith(todo.zh) and r["what_to_do_en"].startswith(todo.en)
    back = next(r for r in rows if r["category"] == "returned" and r["row"] == "item")
    assert "AC04" in back["what_to_do_en"] and "account closed" in back["what_to_do_en"]
    assert "账户已销户" in back["what_to_do_zh"]


def test_write_report_makes_the_csv_and_a_png_chart_named_by_fund_and_day(tmp_path):
    files = write_report(_day(), tmp_path / "reports")
    assert files.csv_path.name == "reconciliation_ESF_2026-05-06.csv"
    raw = files.csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode())  # a BOM, for spreadsheet programs
    assert files.chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.chart_path.stat().st_size > 5_000


@pytest.mark.parametrize("fmt", ["csv", "camt053"])
def test_the_reconcile_bench_ends_with_one_json_line(fmt):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "reconcile.py"), "--lines", "2000", "--format", fmt],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["bench"] == ("reconcile" if fmt == "csv" else "reconcile_camt053")
    assert result["unit"] == "s" and result["value"] > 0 and result["baseline"] > 0
    assert any("duplicate" in s for s in lines[:-1])

"""A million bank statement lines reconciled against a million payouts (issue 8).

In a temporary directory, from a fixed seed, writes the statement of one fund and day
(``bench/statements.py``: most lines match, about 1 in 1,000 each is 1 fen off, a duplicate, a
return or unknown to the ledger) and keeps the ledger's payouts in memory. Then, in the same run:

* **baseline** -- seconds for a bare parse of the same file: ``csv.reader`` over it (CSV), or
  ``xml.etree.ElementTree.iterparse`` clearing each entry (camt.053);
* **value** -- seconds for ``read_csv`` / ``read_camt053`` (every field checked, amounts to fen)
  streamed into ``reconcile`` against the payouts: every payout and line classified;
* **ratio** -- value / baseline: what checking and matching cost over reading the bytes.

The target is under 30 s for 1,000,000 lines. Run from the repository root::

    python bench/reconcile.py                      # CSV, 1,000,000 lines and payouts
    python bench/reconcile.py --format camt053
    python bench/reconcile.py --lines 20000        # a quick run
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/reconcile.py``
    _root = str(Path(__file__).resolve().parent.parent)
    if _root not in sys.path:
        sys.path.insert(0, _root)

from bench.loadgen import emit_result  # noqa: E402
from bench.statements import scenario, write_camt053, write_csv  # noqa: E402
from ledger_svc.adapters.statement_files import read_camt053, read_csv  # noqa: E402
from ledger_svc.domain.reconciliation import EXPLAINED, reconcile  # noqa: E402

FUND = "ESF"
DAY = date(2026, 5, 6)
TARGET_S = 30.0


def bare_parse(path: Path, fmt: str) -> int:
    """The floor: read and split the file, check nothing."""
    if fmt == "csv":
        with open(path, encoding="utf-8", newline="") as f:
            return sum(1 for _ in csv.reader(f)) - 1
    n = 0
    ntry = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}Ntry"
    for _, elem in ET.iterparse(path, events=("end",)):
        if elem.tag == ntry:
            n += 1
            elem.clear()
    return n


def run(lines: int, payouts: int, fmt: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="skillpay-reconcile-") as tmp:
        path = Path(tmp) / ("statement.csv" if fmt == "csv" else "statement.xml")
        t0 = time.perf_counter()
        ledger, statement = scenario(payouts, lines, seed, DAY, FUND)
        with open(path, "w", encoding="utf-8", newline="") as out:
            written = write_csv(statement, out) if fmt == "csv" else write_camt053(FUND, DAY, statement, out)
        made_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(f"statement: {written:,} lines ({fmt}, {size_mb:,.1f} MB), {len(ledger):,} payouts; "
              f"made in {made_s:.1f} s")

        t0 = time.perf_counter()
        parsed = bare_parse(path, fmt)
        baseline_s = time.perf_counter() - t0
        assert parsed == written, (parsed, written)

        reader = read_csv if fmt == "csv" else read_camt053
        t0 = time.perf_counter()
        rec = reconcile(FUND, DAY, ledger, reader(path))
        value_s = time.perf_counter() - t0

    summary = rec.summary()
    classified = sum(s.count for s in summary.values())
    print(f"baseline (bare parse): {baseline_s:.2f} s")
    print(f"value (read + reconcile): {value_s:.2f} s -- target under {TARGET_S:.0f} s: "
          f"{'met' if value_s < TARGET_S else 'NOT met'}")
    print(f"{classified:,} findings, {len(rec.resolutions):,} resolutions:")
    for category, s in summary.items():
        mark = " " if category in EXPLAINED else "!"
        print(f"  {mark} {category.value:<24} {s.count:>9,}  ledger {s.ledger_fen:>16,} fen  "
              f"statement {s.statement_fen:>16,} fen")
    return emit_result("reconcile" if fmt == "csv" else "reconcile_camt053", value_s, "s", baseline_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="statement lines (default 1,000,000)")
    parser.add_argument("--payouts", type=int, default=None, help="ledger payouts (default: as many as lines)")
    parser.add_argument("--format", choices=("csv", "camt053"), default="csv")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    if args.lines < 1 or (args.payouts is not None and args.payouts < 1):
        parser.error("--lines and --payouts must be at least 1")
    run(args.lines, args.payouts if args.payouts is not None else args.lines, args.format, args.seed)


if __name__ == "__main__":
    main()

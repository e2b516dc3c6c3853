"""The bank simulator's statement writers and fault plan, without a database.

The files as served (and read back) are tested in tests/integration/test_bank_simulator.py.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_sim.faults import FaultPlan, Rule, draw, parse_plan
from bank_sim.statements import CAMT053_NS, CSV_HEADER, camt053_chunks, csv_chunks, yuan
from bank_sim.store import AccountSummary, StatementEntry

pytestmark = pytest.mark.unit

DAY = date(2025, 3, 3)
NS = {"c": CAMT053_NS}


def entry(i: int, fund: str = "esf", cd: str = "DBIT", reason: str | None = None) -> StatementEntry:
    return StatementEntry(DAY, DAY, f"REF{i}", f"po_{i}", fund, "ssc_card", cd, 100 + i, reason)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_yuan_is_exact_with_two_decimals(fen: int) -> None:
    text = yuan(fen)
    assert len(text.split(".")[1]) == 2
    assert Decimal(text) * 100 == fen


def test_yuan_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError):
        yuan(-1)


def test_csv_streams_in_chunks_and_quotes_what_needs_it() -> None:
    entries = [entry(i) for i in range(5_000)] + [entry(9, fund='a,"b"', cd="CRDT", reason="AC04")]
    chunks = list(csv_chunks(iter(entries), chunk_lines=1_000))
    assert len(chunks) >= 5  # never the whole file at once
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 5_002
    assert rows[-1] == ["2025-03-03", "2025-03-03", "REF9", "po_9", 'a,"b"', "ssc_card", "CRDT", "109", "BOOK",
                        "AC04"]
    assert rows[1][-1] == ""


def test_camt053_streams_one_statement_per_fund_account_and_escapes_text() -> None:
    funds = ["a&b", "esf"]
    entries = [entry(i, "a&b") for i in range(3)] + [entry(i, "esf") for i in range(3, 3_000)]
    summaries = [AccountSummary("a&b", -500, debit_count=3, debit_fen=303),
                 AccountSummary("esf", 0, debit_count=2_997, debit_fen=sum(100 + i for i in range(3, 3_000)))]
    chunks = list(camt053_chunks(DAY, summaries, iter(entries), datetime(2025, 3, 3, 18, tzinfo=UTC),
                                 chunk_lines=500))
    assert len(chunks) > 5
    root = ET.fromstring(b"".join(chunks))
    stmts = root.findall("c:BkToCstmrStmt/c:Stmt", NS)
    assert [s.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=NS) for s in stmts] == funds
    assert [len(s.findall("c:Ntry", NS)) for s in stmts] == [3, 2_997]
    assert all(len(s.findtext("c:Id", namespaces=NS) or "") <= 35 for s in stmts)
    opening = stmts[0].find("c:Bal", NS)
    assert opening is not None
    assert (opening.findtext("c:Amt", namespaces=NS), opening.findtext("c:CdtDbtInd", namespaces=NS)) == (
        "5.00", "DBIT")


def test_the_same_seed_picks_the_same_payments_whatever_the_order() -> None:
    plan = FaultPlan(seed=11, rules=(Rule("timeout", fraction=0.1, hold_ms=5_000), Rule("drop", fraction=0.05),
                                     Rule("duplicate", fraction=0.02)))
    ids = [f"po_{i}" for i in range(2_000)]
    first = {pid: plan.decide(pid) for pid in ids}
    again = {pid: plan.decide(pid) for pid in reversed(ids)}
    assert first == again
    held = sum(d.hold_ms == 5_000 for d in first.values())
    dropped = sum(d.drop for d in first.values())
    assert 150 < held < 250 and 60 < dropped < 140  # about 10% and 5%
    assert {pid for pid in ids if draw(12, "timeout", pid) < 0.1} != {pid for pid, d in first.items() if d.hold_ms}


def test_a_rule_by_payment_id_and_defaults() -> None:
    plan, violations = parse_plan({"rules": [{"mode": "return", "payment_ids": ["po_1"]},
                                             {"mode": "reject", "payment_ids": ["po_1", "po_2"]}]})
    assert violations == [] and plan is not None
    decision = plan.decide("po_1")
    assert (decision.reject_reason, decision.effects.return_after_days, decision.effects.return_reason) == (
        "rejected_by_bank", 1, "AC04")
    assert plan.decide("po_3") == type(decision)()


def test_a_bad_plan_names_every_field_and_echoes_nothing() -> None:
    plan, violations = parse_plan({"seed": "x", "rules": [{"mode": "return", "reason": "<script>"},
                                                          {"mode": "timeout", "hold_ms": 10**9},
                                                          {"mode": "reject", "payment_ids": "po_1"}, 7]})
    assert plan is None
    assert [v["field"] for v in violations] == ["seed", "rules[0].reason", "rules[1].hold_ms",
                                                "rules[2].payment_ids", "rules[3]"]
    assert "<script>" not in repr(violations)

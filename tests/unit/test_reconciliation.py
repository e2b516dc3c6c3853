"""Reconciliation of a fund's payouts with the bank's statement (issue 8): every category, the 1-fen
boundary, duplicates, returns, resolutions, idempotency, and a property over random days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.statements import line
from ledger_svc.domain.reconciliation import (
    CRDT,
    DBIT,
    EXPLAINED,
    OPEN,
    WHAT_TO_DO,
    Category,
    LedgerPayout,
    Resolution,
    ResolutionKind,
    reconcile,
)

pytestmark = pytest.mark.unit
DAY = date(2026, 5, 6)


def payout(pid: str, amount: int = 1_000, state: str = "settled", fund: str = "ESF",
           channel: str = "ssc_card") -> LedgerPayout:
    return LedgerPayout(pid, fund, amount, state, f"B{pid}", channel)


def categories(rec) -> dict[str, Category]:
    """payout id -> category, for findings holding a payout; lines alone are listed as '<id>@line'."""
    out = {}
    for f in rec.findings:
        key = f.payout_id if f.payout is not None else f"{f.payout_id}@{f.line.line}"
        assert key not in out
        out[key] = f.category
    return out


@pytest.mark.policy("F3")
@pytest.mark.parametrize("booked, category", [(1_000, Category.MATCHED), (1_001, Category.AMOUNT_MISMATCH),
                                              (999, Category.AMOUNT_MISMATCH)])
def test_F3_an_amount_one_fen_off_is_a_mismatch(booked, category):
    rec = reconcile("ESF", DAY, [payout("po_1")], [line(2, DAY, "po_1", booked)])
    assert categories(rec) == {"po_1": category}
    assert rec.resolutions == []
    s = rec.summary()[category]
    assert (s.count, s.ledger_fen, s.statement_fen) == (1, 1_000, booked)


@pytest.mark.policy("F3")
@pytest.mark.parametrize("state", sorted(OPEN))
def test_F3_a_matched_debit_settles_a_submitted_or_in_doubt_payout(state):
    rec = reconcile("ESF", DAY, [payout("po_1", state=state)], [line(2, DAY, "po_1", 1_000, bank_ref="BK9")])
    assert categories(rec) == {"po_1": Category.MATCHED}
    assert rec.resolutions == [Resolution(ResolutionKind.SETTLED_AT_BANK, "po_1", "BK9", DAY, 1_000)]
    assert rec.settled_ids() == ["po_1"] and rec.returned_ids() == []


def test_an_in_doubt_payout_booked_with_another_amount_is_not_settled():
    rec = reconcile("ESF", DAY, [payout("po_1", state="in_doubt")], [line(2, DAY, "po_1", 1_001)])
    assert categories(rec) == {"po_1": Category.AMOUNT_MISMATCH} and rec.resolutions == []


@pytest.mark.parametrize("state, category", [("settled", Category.IN_LEDGER_NOT_STATEMENT),
                                             ("submitted", Category.IN_LEDGER_NOT_STATEMENT),
                                             ("in_doubt", Category.IN_LEDGER_NOT_STATEMENT),
                                             ("failed", Category.NOT_AT_BANK), ("pending", Category.NOT_AT_BANK),
                                             ("awaiting_funds", Category.NOT_AT_BANK),
                                             ("returned", Category.NOT_AT_BANK)])
def test_a_payout_without_a_line_is_missing_only_when_the_bank_should_have_it(state, category):
    rec = reconcile("ESF", DAY, [payout("po_1", state=state)], [])
    assert categories(rec) == {"po_1": category} and rec.resolutions == []


def test_a_line_the_ledger_does_not_know_is_in_the_statement_not_the_ledger():
    rec = reconcile("ESF", DAY, [], [line(2, DAY, "po_x", 500), line(3, DAY, "po_y", 70, cd=CRDT, reason="AC04")])
    assert categories(rec) == {"po_x@2": Category.IN_STATEMENT_NOT_LEDGER, "po_y@3": Category.IN_STATEMENT_NOT_LEDGER}
    assert rec.resolutions == []


@pytest.mark.policy("X2")
def test_X2_the_same_reference_debited_twice_is_a_duplicate_and_the_first_still_matches():
    rec = reconcile("ESF", DAY, [payout("po_1", state="in_doubt")],
                    [line(2, DAY, "po_1", 1_000), line(3, DAY, "po_1", 1_000), line(4, DAY, "po_1", 1_000)])
    assert categories(rec) == {"po_1": Category.MATCHED, "po_1@3": Category.DUPLICATE,
                               "po_1@4": Category.DUPLICATE}
    assert len(rec.settled_ids()) == 1
    assert rec.summary()[Category.DUPLICATE].statement_fen == 2_000


@pytest.mark.policy("X2")
def test_X2_a_debit_of_a_payout_the_ledger_failed_or_never_sent_is_paid_not_expected():
    rec = reconcile("ESF", DAY, [payout("po_f", state="failed"), payout("po_p", state="pending")],
                    [line(2, DAY, "po_f", 1_000), line(3, DAY, "po_p", 1_000)])
    assert categories(rec) == {"po_f": Category.PAID_NOT_EXPECTED, "po_p": Category.PAID_NOT_EXPECTED}
    assert rec.resolutions == []


@pytest.mark.policy("C7")
def test_C7_a_payout_booked_through_another_channel_is_a_difference():
    rec = reconcile("ESF", DAY, [payout("po_1", state="in_doubt")],
                    [line(2, DAY, "po_1", 1_000, channel="bank_transfer")])
    assert categories(rec) == {"po_1": Category.CHANNEL_MISMATCH} and rec.resolutions == []
    # camt.053 carries no channel: nothing to compare.
    rec = reconcile("ESF", DAY, [payout("po_1")], [line(2, DAY, "po_1", 1_000, channel="")])
    assert categories(rec) == {"po_1": Category.MATCHED}


def test_a_return_of_an_earlier_payout_is_returned():
    rec = reconcile("ESF", DAY, [payout("po_1")], [line(2, DAY, "po_1", 1_000, cd=CRDT, reason="AC04")])
    assert categories(rec) == {"po_1": Category.RETURNED}
    assert rec.resolutions == [Resolution(ResolutionKind.RETURNED, "po_1", "BR000000002", DAY, 1_000, "AC04")]


def test_a_return_of_an_in_doubt_payout_also_settles_it_first():
    rec = reconcile("ESF", DAY, [payout("po_1", state="in_doubt")],
                    [line(2, DAY, "po_1", 1_000, cd=CRDT, reason="MD07")])
    assert [r.kind for r in rec.resolutions] == [ResolutionKind.SETTLED_AT_BANK, ResolutionKind.RETURNED]


def test_paid_and_returned_on_the_same_day_is_matched_then_returned():
    rec = reconcile("ESF", DAY, [payout("po_1", state="submitted")],
                    [line(2, DAY, "po_1", 1_000), line(3, DAY, "po_1", 1_000, cd=CRDT, reason="AC06")])
    assert categories(rec) == {"po_1": Category.MATCHED, "po_1@3": Category.RETURNED}
    assert [r.kind for r in rec.resolutions] == [ResolutionKind.SETTLED_AT_BANK, ResolutionKind.RETURNED]


def test_a_return_twice_is_a_duplicate_and_a_return_of_another_amount_a_mismatch():
    rec = reconcile("ESF", DAY, [payout("po_1"), payout("po_2")],
                    [line(2, DAY, "po_1", 1_000, cd=CRDT, reason="AC04"),
                     line(3, DAY, "po_1", 1_000, cd=CRDT, reason="AC04"),
                     line(4, DAY, "po_2", 999, cd=CRDT, reason="AC04")])
    assert categories(rec) == {"po_1": Category.RETURNED, "po_1@3": Category.DUPLICATE,
                               "po_2": Category.AMOUNT_MISMATCH}
    assert rec.returned_ids() == ["po_1"]


def test_a_return_of_a_payout_already_returned_in_the_ledger_resolves_nothing_more():
    rec = reconcile("ESF", DAY, [payout("po_1", state="returned")],
                    [line(2, DAY, "po_1", 1_000, cd=CRDT, reason="AC04")])
    assert categories(rec) == {"po_1": Category.RETURNED} and rec.resolutions == []


@pytest.mark.policy("F2")
def test_F2_lines_of_another_fund_or_day_are_counted_not_matched_and_payouts_of_another_fund_refused():
    rec = reconcile("ESF", DAY, [payout("po_1")],
                    [line(2, DAY, "po_1", 1_000, fund="UIF"), line(3, DAY - timedelta(days=1), "po_1", 1_000)])
    assert categories(rec) == {"po_1": Category.IN_LEDGER_NOT_STATEMENT}
    assert (rec.other_fund_lines, rec.other_day_lines) == (1, 1)
    with pytest.raises(ValueError):
        reconcile("ESF", DAY, [payout("po_1", fund="UIF")], [])
    with pytest.raises(ValueError):
        reconcile("ESF", DAY, [payout("po_1"), payout("po_1")], [])


def test_every_difference_says_what_to_do_in_chinese_and_english():
    for category in Category:
        if category not in EXPLAINED or category is Category.RETURNED:
            todo = WHAT_TO_DO[category]
            assert todo.zh and todo.en and len(todo.zh) < 120 and len(todo.en) < 300, category
            assert any("\u4e00" <= ch <= "\u9fff" for ch in todo.zh), category


def _apply(payouts: list[LedgerPayout], rec) -> list[LedgerPayout]:
    """What the ledger holds once the resolutions are applied."""
    settled = set(rec.settled_ids())
    returned = set(rec.returned_ids())
    return [p._replace(state="returned" if p.payout_id in returned else
                       "settled" if p.payout_id in settled else p.state) for p in payouts]


@pytest.mark.policy("F3")
def test_F3_reconciling_the_same_statement_again_resolves_nothing_new():
    payouts = [payout("po_1", state="in_doubt"), payout("po_2", state="submitted"), payout("po_3"),
               payout("po_4", state="in_doubt"), payout("po_5", state="failed")]
    lines = [line(2, DAY, "po_1", 1_000), line(3, DAY, "po_2", 1_000), line(4, DAY, "po_3", 1_001),
             line(5, DAY, "po_4", 1_000, cd=CRDT, reason="AC04"), line(6, DAY, "po_1", 1_000),
             line(7, DAY, "po_9", 5)]
    first = reconcile("ESF", DAY, payouts, lines)
    assert sorted(first.settled_ids()) == ["po_1", "po_2", "po_4"] and first.returned_ids() == ["po_4"]
    second = reconcile("ESF", DAY, _apply(payouts, first), lines)
    assert second.resolutions == []
    assert [f.category for f in second.findings] == [f.category for f in first.findings]
    assert second.summary() == first.summary()


# -- the property: random days ----------------------------------------------------------------

STATES = ["settled", "submitted", "in_doubt", "failed", "returned", "queued", "awaiting_funds"]


@st.composite
def days(draw):
    ids = [f"po_{i}" for i in range(draw(st.integers(0, 12)))]
    payouts = [LedgerPayout(pid, "ESF", draw(st.integers(1, 5)), draw(st.sampled_from(STATES)), "",
                            draw(st.sampled_from(["ssc_card", "bank_transfer", ""])))
               for pid in ids]
    refs = ids + ["zz_1", "zz_2"]
    lines = []
    for n in range(draw(st.integers(0, 20))):
        cd = draw(st.sampled_from([DBIT, DBIT, CRDT]))
        lines.append(line(n + 2, draw(st.sampled_from([DAY, DAY, DAY, DAY - timedelta(days=1)])),
                          draw(st.sampled_from(refs)), draw(st.integers(1, 5)),
                          fund=draw(st.sampled_from(["ESF", "ESF", "ESF", "UIF"])), cd=cd,
                          reason="AC04" if cd == CRDT else "",
                          channel=draw(st.sampled_from(["ssc_card", "bank_transfer", ""]))))
    return payouts, lines


@pytest.mark.policy("F3")
@given(day=days())
def test_F3_property_every_payout_and_line_is_classified_exactly_once_and_sums_add_up(day):
    payouts, lines = day
    rec = reconcile("ESF", DAY, payouts, lines)
    in_scope = [s for s in lines if s.fund_source == "ESF" and s.booking_date == DAY]
    assert rec.other_fund_lines + rec.other_day_lines + len(in_scope) == len(lines)
    # Each payout in exactly one finding, each line of the fund and day in exactly one.
    held_payouts = [f.payout.payout_id for f in rec.findings if f.payout is not None]
    held_lines = [f.line.line for f in rec.findings if f.line is not None]
    assert sorted(held_payouts) == sorted(p.payout_id for p in payouts)
    assert sorted(held_lines) == sorted(s.line for s in in_scope)
    summary = rec.summary()
    assert sum(s.count for s in summary.values()) == len(rec.findings)
    assert sum(s.ledger_fen for s in summary.values()) == sum(p.amount_fen for p in payouts)
    assert sum(s.statement_fen for s in summary.values()) == sum(s.amount_fen for s in in_scope)
    by_id = {p.payout_id: p for p in payouts}
    for f in rec.findings:
        if f.category is Category.MATCHED:
            assert f.line.credit_debit == DBIT and f.line.amount_fen == by_id[f.payout_id].amount_fen
        elif f.category is Category.AMOUNT_MISMATCH:
            assert f.line.amount_fen != by_id[f.payout_id].amount_fen
        elif f.category is Category.IN_STATEMENT_NOT_LEDGER:
            assert f.payout_id not in by_id
        if f.payout is not None and f.line is not None:
            assert f.payout.payout_id == f.line.payment_id
    # Settled only what was open, and only once; applied, nothing more is resolved.
    settled = rec.settled_ids()
    assert len(settled) == len(set(settled)) and all(by_id[pid].state in OPEN for pid in settled)
    again = reconcile("ESF", DAY, _apply(payouts, rec), lines)
    assert again.resolutions == []

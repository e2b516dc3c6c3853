"""The redeem benchmark's own logic: its profile summary and the persons it prepares."""

from __future__ import annotations

import random

import pytest
from stdnum.cn import ric

from bench import voucher_setup
from bench.redeem import summarise_profile

pytestmark = pytest.mark.unit

LOOP = "thread (0x1);main (a/entrypoints/grpc_server.py:10);run_forever (asyncio/base_events.py:600)"


def test_profile_summary_counts_only_the_event_loop_thread_and_merges_lines_of_a_function(tmp_path):
    folded = tmp_path / "voucher.folded"
    folded.write_text("\n".join([
        f"{LOOP};handle (x/skillpay/messagebus.py:120);execute (sqlalchemy/engine/base.py:1400) 6",
        f"{LOOP};handle (x/skillpay/messagebus.py:130) 2",
        f"{LOOP};log (x/logging/__init__.py:5) 2",
        "thread (0x2);_connection_worker_thread (aiosqlite/core.py:59) 90",
    ]))
    summary = summarise_profile(folded)
    assert "10 samples busy (other threads: 90)" in summary
    self_part, inclusive_part = summary.split("inclusive time")
    assert "60.0%  execute (engine/base.py)" in self_part
    assert "20.0%  handle (skillpay/messagebus.py)" in self_part
    assert "80.0%  handle (skillpay/messagebus.py)" in inclusive_part
    assert "_connection_worker_thread" not in summary


def test_prepared_persons_are_distinct_with_valid_resident_ids():
    ids = voucher_setup.resident_ids(500, random.Random(3))
    assert len(set(ids)) == 500
    assert all(ric.is_valid(i) for i in ids)

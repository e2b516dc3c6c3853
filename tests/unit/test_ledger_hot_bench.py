"""bench/ledger_hot.py run tiny: both paths run, the ledger verifies, the last line is the result JSON."""

from __future__ import annotations

import json

import pytest

from bench import ledger_hot
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_reachable

pytestmark = pytest.mark.unit


async def test_ledger_hot_runs_tiny_and_ends_with_its_json_line(capsys):
    problem = _pg_reachable()
    if problem:
        pytest.skip(problem)
    args = ledger_hot.parse_args(["--postgres", f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}",
                                  "--seconds", "0.3", "--warmup", "0", "--submitters", "32", "--connections", "4",
                                  "--max-batch", "16"])
    result = await ledger_hot.run(args)
    lines = capsys.readouterr().out.strip().splitlines()
    assert json.loads(lines[-1]) == result
    assert result["bench"] == "ledger_hot" and result["unit"] == "transfers/s"
    assert result["value"] > 0 and result["baseline"] > 0
    assert any("no differences" in line for line in lines)
    assert any("(max 16)" in line for line in lines)

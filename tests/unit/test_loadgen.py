"""Unit tests for bench/loadgen.py: histogram accuracy, run_load accounting, result line."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench.loadgen import LatencyHistogram, LoadResult, emit_result, render_summary, run_load  # noqa: E402

pytestmark = pytest.mark.unit


def _uniform_1_to_1000_ms() -> LatencyHistogram:
    h = LatencyHistogram()
    for ms in range(1, 1001):
        h.record(ms / 1000.0)
    return h


def test_histogram_percentiles_uniform_ms() -> None:
    h = _uniform_1_to_1000_ms()
    assert h.count == 1000
    assert h.mean == pytest.approx(0.5005, rel=1e-9)
    assert h.max == 1.0
    assert h.min == 0.001
    for p, expected in [(1, 0.010), (10, 0.100), (50, 0.500), (90, 0.900), (99, 0.990), (99.9, 0.999)]:
        assert h.percentile(p) == pytest.approx(expected, rel=0.02), p
    assert h.percentile(100) == 1.0
    assert h.percentile(0) == 0.001


def test_histogram_precision_about_one_percent() -> None:
    # every single value from 1 µs to 60 s comes back within 1 %
    for value in [1e-6, 3.3e-6, 4.2e-5, 7.77e-4, 0.0123, 0.5, 2.5, 59.0]:
        h = LatencyHistogram()
        h.record(value)
        h.record(value * 10 if value * 10 < 60 else value)  # a second, larger sample
        assert h.percentile(1) == pytest.approx(value, rel=0.01)


def test_histogram_merge_equals_single() -> None:
    whole = _uniform_1_to_1000_ms()
    a, b = LatencyHistogram(), LatencyHistogram()
    for ms in range(1, 1001):
        (a if ms % 2 else b).record(ms / 1000.0)
    assert a.merge(b) is a
    assert a.count == whole.count
    assert a.mean == pytest.approx(whole.mean)
    assert a.max == whole.max
    for p in (50, 90, 99):
        assert a.percentile(p) == whole.percentile(p)
    with pytest.raises(ValueError):
        a.merge(LatencyHistogram(precision=0.05))


def test_histogram_edges_and_render() -> None:
    h = LatencyHistogram()
    assert h.count == 0 and h.mean == 0.0 and h.max == 0.0 and h.percentile(50) == 0.0
    assert "0" in h.render()
    h.record(0.0)
    h.record(1e-9)
    h.record(120.0)  # beyond 60 s: clamped into the overflow bucket, max stays exact
    assert h.count == 3
    assert h.max == 120.0
    assert h.percentile(100) == 120.0
    with pytest.raises(ValueError):
        h.record(-1.0)
    with pytest.raises(ValueError):
        h.percentile(101)
    text = _uniform_1_to_1000_ms().render()
    assert isinstance(text, str) and "calls" in text and "█" in text


def test_run_load_counts_calls_and_errors() -> None:
    calls = 0
    in_flight = 0
    peak = 0

    async def fake_call() -> None:
        nonlocal calls, in_flight, peak
        calls += 1
        n = calls
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.001)
            if n % 5 == 0:
                raise RuntimeError("boom")
        finally:
            in_flight -= 1

    result = asyncio.run(run_load(fake_call, concurrency=8, total=100))
    assert isinstance(result, LoadResult)
    assert calls == 100
    assert result.count == 80
    assert result.errors == 20
    assert result.error_kinds == {"RuntimeError": 20}
    assert result.histogram.count == 80
    assert peak == 8
    assert result.elapsed_s > 0
    assert result.throughput_per_s == pytest.approx(80 / result.elapsed_s)
    assert 0.0009 < result.histogram.percentile(50) < 0.5
    assert "80 ok, 20 errors" in render_summary(result, "fake")


def test_run_load_duration_and_warmup() -> None:
    calls = 0

    async def fake_call() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.002)

    result = asyncio.run(run_load(fake_call, concurrency=4, duration_s=0.2, warmup=10))
    assert result.errors == 0
    assert result.count > 10
    assert calls == result.count + 10  # warm-up calls are made but not measured
    assert 0.2 <= result.elapsed_s < 1.0


def test_run_load_argument_checks() -> None:
    async def noop() -> None:
        return None

    with pytest.raises(ValueError):
        asyncio.run(run_load(noop, concurrency=1))
    with pytest.raises(ValueError):
        asyncio.run(run_load(noop, concurrency=0, total=1))


def test_emit_result_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    line = emit_result("demo", 1234.5678, "calls/s", 2469.1356)
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == line
    assert line == {"bench": "demo", "value": 1234.57, "unit": "calls/s", "baseline": 2469.14, "ratio": 0.5}
    assert list(line) == ["bench", "value", "unit", "baseline", "ratio"]
    assert emit_result("zero", 1.0, "x", 0.0)["ratio"] is None

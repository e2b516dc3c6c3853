"""Reusable asyncio load generator for the SkillPay benchmarks.

Public API
----------
``LatencyHistogram``
    Log-scale latency histogram (HDR-like, ~1 % relative precision from
    1 µs to 60 s; values outside that range are clamped into the end
    buckets, while ``min``/``max``/``mean`` stay exact).
``LoadResult``
    What :func:`run_load` returns: ``count`` (successful calls), ``errors``
    (calls that raised), ``elapsed_s``, ``throughput_per_s`` (successful
    calls per second) and ``histogram`` (latency of the successful calls).
``run_load(call, *, concurrency, total=None, duration_s=None, warmup=0, progress=False)``
    Drive ``concurrency`` concurrent callers of the async ``call`` until
    ``total`` calls were issued and/or ``duration_s`` elapsed.
``emit_result(bench, value, unit, baseline)``
    Print the final JSON line every benchmark ends with.
``render_summary(result, title)`` / ``format_seconds(s)``
    Human-readable text for the summary printed before the JSON line.

Times are in seconds throughout; percentiles use the 0–100 scale
(``percentile(99)`` is p99).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

__all__ = [
    "LatencyHistogram",
    "LoadResult",
    "run_load",
    "emit_result",
    "render_summary",
    "format_seconds",
]


def format_seconds(seconds: float) -> str:
    """Format a duration with a unit that keeps 3–4 significant digits."""
    if seconds != seconds:  # NaN
        return "nan"
    a = abs(seconds)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if a < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


class LatencyHistogram:
    """Log-bucketed latency histogram.

    Bucket ``i`` (1 ≤ i < n-1) covers ``[lowest·g^(i-1), lowest·g^i)`` with
    ``g = 1 + precision``; bucket 0 collects values below ``lowest`` and the
    last bucket values at or above ``highest``. A percentile is reported as
    the geometric middle of its bucket (relative error ≤ precision/2),
    clamped to the exact observed min/max.
    """

    __slots__ = (
        "lowest",
        "highest",
        "precision",
        "_log_lowest",
        "_inv_log_growth",
        "_growth",
        "_nbuckets",
        "_counts",
        "_count",
        "_sum",
        "_min",
        "_max",
    )

    def __init__(self, lowest: float = 1e-6, highest: float = 60.0, precision: float = 0.01) -> None:
        if not (0 < lowest < highest):
            raise ValueError("need 0 < lowest < highest")
        if not (0 < precision < 1):
            raise ValueError("precision must be in (0, 1)")
        self.lowest = float(lowest)
        self.highest = float(highest)
        self.precision = float(precision)
        self._growth = 1.0 + self.precision
        self._log_lowest = math.log(self.lowest)
        self._inv_log_growth = 1.0 / math.log(self._growth)
        # underflow bucket + ceil(log_g(highest/lowest)) regular buckets + overflow bucket
        regular = math.ceil(math.log(self.highest / self.lowest) * self._inv_log_growth)
        self._nbuckets = regular + 2
        self._counts = [0] * self._nbuckets
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf

    # -- recording ---------------------------------------------------------

    def _index(self, seconds: float) -> int:
        if seconds < self.lowest:
            return 0
        if seconds >= self.highest:
            return self._nbuckets - 1
        i = int((math.log(seconds) - self._log_lowest) * self._inv_log_growth) + 1
        return min(i, self._nbuckets - 2)

    def record(self, seconds: float) -> None:
        """Record one latency sample (in seconds)."""
        if seconds < 0 or seconds != seconds:
            raise ValueError(f"latency must be a non-negative number, got {seconds!r}")
        self._counts[self._index(seconds)] += 1
        self._count += 1
        self._sum += seconds
        if seconds < self._min:
            self._min = seconds
        if seconds > self._max:
            self._max = seconds

    def merge(self, other: "LatencyHistogram") -> "LatencyHistogram":
        """Add ``other``'s samples into this histogram (same layout required); returns self."""
        if (other.lowest, other.highest, other.precision) != (self.lowest, self.highest, self.precision):
            raise ValueError("cannot merge histograms with different bucket layouts")
        counts = self._counts
        for i, c in enumerate(other._counts):
            if c:
                counts[i] += c
        self._count += other._count
        self._sum += other._sum
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        return self

    # -- statistics --------------------------------------------------------

    @property
    def count(self) -> int:
        return self._count

    @property
    def mean(self) -> float:
        return self._sum / self._count if self._count else 0.0

    @property
    def max(self) -> float:
        return self._max if self._count else 0.0

    @property
    def min(self) -> float:
        return self._min if self._count else 0.0

    def _bucket_value(self, i: int) -> float:
        """Representative value of bucket ``i`` (geometric middle)."""
        if i == 0:
            return self.lowest / 2
        if i == self._nbuckets - 1:
            return self.highest
        return math.exp(self._log_lowest + (i - 0.5) / self._inv_log_growth)

    def _bucket_bounds(self, i: int) -> tuple[float, float]:
        if i == 0:
            return 0.0, self.lowest
        if i == self._nbuckets - 1:
            return self.highest, math.inf
        lo = math.exp(self._log_lowest + (i - 1) / self._inv_log_growth)
        return lo, lo * self._growth

    def percentile(self, p: float) -> float:
        """Latency (seconds) at percentile ``p`` in [0, 100]; 0.0 when empty."""
        if not 0 <= p <= 100:
            raise ValueError(f"percentile must be within [0, 100], got {p!r}")
        if self._count == 0:
            return 0.0
        if p == 100:
            return self._max
        if p == 0:
            return self._min
        rank = max(1, math.ceil(p / 100.0 * self._count))
        seen = 0
        for i, c in enumerate(self._counts):
            if c:
                seen += c
                if seen >= rank:
                    return min(max(self._bucket_value(i), self._min), self._max)
        return self._max  # pragma: no cover - unreachable when counts are consistent

    def percentiles(self, ps: tuple[float, ...] = (50, 90, 99, 99.9)) -> dict[float, float]:
        return {p: self.percentile(p) for p in ps}

    # -- rendering ---------------------------------------------------------

    def render(self, rows: int = 12, bar_width: int = 30, title: str | None = None) -> str:
        """A small plain-text histogram table (``rows`` log-spaced latency ranges)."""
        from rich import box
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("latency ≥", justify="right")
        table.add_column("< latency", justify="right")
        table.add_column("calls", justify="right")
        table.add_column("%", justify="right")
        table.add_column("cum %", justify="right")
        table.add_column("", justify="left", no_wrap=True)

        if self._count == 0:
            table.add_row("-", "-", "0", "-", "-", "")
        else:
            occupied = [i for i, c in enumerate(self._counts) if c]
            first, last = occupied[0], occupied[-1]
            lo = self._bucket_bounds(first)[0]
            hi = self._bucket_bounds(last)[1]
            if hi == math.inf:
                hi = max(self._max, self.highest) * self._growth
            lo = max(lo, min(self._min, self.lowest) / 2, 1e-12)
            nrows = max(1, min(rows, last - first + 1))
            step = (math.log(hi) - math.log(lo)) / nrows
            edges = [math.exp(math.log(lo) + k * step) for k in range(nrows + 1)]
            edges[0], edges[-1] = lo, hi
            bins = [0] * nrows
            for i in occupied:
                v = self._bucket_value(i)
                k = int((math.log(max(v, lo)) - math.log(lo)) / step) if step > 0 else 0
                bins[min(max(k, 0), nrows - 1)] += self._counts[i]
            peak = max(bins)
            cum = 0
            for k, c in enumerate(bins):
                cum += c
                bar = "█" * (round(bar_width * c / peak) if peak else 0)
                if c and not bar:
                    bar = "▏"
                table.add_row(
                    format_seconds(edges[k]),
                    format_seconds(edges[k + 1]),
                    str(c),
                    f"{100.0 * c / self._count:.1f}",
                    f"{100.0 * cum / self._count:.1f}",
                    bar,
                )

        buf = io.StringIO()
        console = Console(file=buf, width=100, force_terminal=False, color_system=None, highlight=False)
        console.print(table)
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()).strip("\n")

    def __repr__(self) -> str:
        return (
            f"LatencyHistogram(count={self._count}, mean={format_seconds(self.mean)}, "
            f"p50={format_seconds(self.percentile(50))}, p99={format_seconds(self.percentile(99))}, "
            f"max={format_seconds(self.max)})"
        )


@dataclass
class LoadResult:
    """Outcome of one :func:`run_load` run.

    ``count`` counts successful calls only; ``errors`` counts calls that raised
    (``error_kinds`` breaks them down by exception type). ``throughput_per_s``
    is ``count / elapsed_s``; ``histogram`` holds successful-call latencies.
    """

    count: int
    errors: int
    elapsed_s: float
    throughput_per_s: float
    histogram: LatencyHistogram
    error_kinds: dict[str, int] = field(default_factory=dict)


async def _drive(
    call: Callable[[], Awaitable[Any]],
    concurrency: int,
    limit: float,
    deadline: float,
    hist: LatencyHistogram | None,
    counters: dict[str, int],
    kinds: Counter,
) -> None:
    """Run ``concurrency`` workers until ``limit`` calls were issued or ``deadline`` passed."""
    perf = time.perf_counter
    record = hist.record if hist is not None else None
    sleep = asyncio.sleep

    async def worker() -> None:
        while counters["issued"] < limit:
            t0 = perf()
            if t0 >= deadline:
                return
            counters["issued"] += 1
            try:
                await call()
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none aborts the run
                counters["errors"] += 1
                kinds[type(exc).__name__] += 1
                await sleep(0)  # never starve the loop when a call fails without awaiting
                continue
            if record is not None:
                record(perf() - t0)
            counters["ok"] += 1

    n = concurrency if limit == math.inf else int(min(concurrency, limit))
    tasks = [asyncio.create_task(worker()) for _ in range(n)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_load(
    call: Callable[[], Awaitable[Any]],
    *,
    concurrency: int,
    total: int | None = None,
    duration_s: float | None = None,
    warmup: int = 0,
    progress: bool = False,
) -> LoadResult:
    """Call ``call()`` from ``concurrency`` concurrent asyncio callers.

    Stops issuing new calls once ``total`` calls were issued or ``duration_s``
    seconds have passed (whichever comes first; at least one must be given);
    calls already in flight are awaited and counted. ``warmup`` calls are made
    first, with the same concurrency, and are not measured. Each successful
    call's latency goes into the histogram; exceptions are counted as errors.
    ``progress=True`` shows a rich progress bar on stderr.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if total is None and duration_s is None:
        raise ValueError("give total and/or duration_s")
    if total is not None and total < 0:
        raise ValueError("total must be >= 0")
    if duration_s is not None and duration_s < 0:
        raise ValueError("duration_s must be >= 0")
    if warmup < 0:
        raise ValueError("warmup must be >= 0")

    if warmup:
        await _drive(call, concurrency, warmup, math.inf, None, Counter(issued=0, ok=0, errors=0), Counter())

    hist = LatencyHistogram()
    counters: dict[str, int] = Counter(issued=0, ok=0, errors=0)
    kinds: Counter = Counter()
    limit: float = total if total is not None else math.inf
    start = time.perf_counter()
    deadline = start + duration_s if duration_s is not None else math.inf

    progress_task: asyncio.Task | None = None
    prog = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        prog = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        by_time = total is None
        task_id = prog.add_task("load", total=duration_s if by_time else max(total or 0, 1))

        async def update() -> None:
            while True:
                now = time.perf_counter()
                done = counters["ok"] + counters["errors"]
                prog.update(
                    task_id,
                    completed=min(now - start, duration_s) if by_time else done,
                    description=f"{done} calls, {counters['errors']} errors",
                )
                await asyncio.sleep(0.1)

        prog.start()
        progress_task = asyncio.create_task(update())

    try:
        await _drive(call, concurrency, limit, deadline, hist, counters, kinds)
    finally:
        elapsed = time.perf_counter() - start
        if progress_task is not None:
            progress_task.cancel()
            await asyncio.gather(progress_task, return_exceptions=True)
        if prog is not None:
            prog.stop()

    ok = counters["ok"]
    return LoadResult(
        count=ok,
        errors=counters["errors"],
        elapsed_s=elapsed,
        throughput_per_s=ok / elapsed if elapsed > 0 else 0.0,
        histogram=hist,
        error_kinds=dict(kinds),
    )


def render_summary(result: LoadResult, title: str, histogram: bool = True) -> str:
    """Multi-line human summary of a :class:`LoadResult`."""
    h = result.histogram
    lines = [
        title,
        f"  {result.count} ok, {result.errors} errors in {result.elapsed_s:.2f} s"
        f" -> {result.throughput_per_s:,.0f} calls/s",
        f"  latency  mean {format_seconds(h.mean)}  p50 {format_seconds(h.percentile(50))}"
        f"  p90 {format_seconds(h.percentile(90))}  p99 {format_seconds(h.percentile(99))}"
        f"  max {format_seconds(h.max)}",
    ]
    if result.error_kinds:
        lines.append("  errors: " + ", ".join(f"{k}×{v}" for k, v in sorted(result.error_kinds.items())))
    if histogram:
        lines.append(h.render())
    return "\n".join(lines)


def _round_sig(x: float, digits: int) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def emit_result(bench: str, value: float, unit: str, baseline: float) -> dict[str, Any]:
    """Print the final JSON result line and return it as a dict.

    ``ratio = value / baseline``; value and baseline keep 6 significant digits,
    ratio 4. A zero or non-finite baseline gives ``"ratio": null``.
    """
    value = float(value)
    baseline = float(baseline)
    ratio = value / baseline if baseline and math.isfinite(baseline) else math.nan
    line = {
        "bench": bench,
        "value": _round_sig(value, 6),
        "unit": unit,
        "baseline": _round_sig(baseline, 6),
        "ratio": _round_sig(ratio, 4),
    }
    sys.stdout.flush()
    sys.stderr.flush()
    print(json.dumps(line, allow_nan=False), flush=True)
    return line

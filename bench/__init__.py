"""SkillPay benchmarks.

Each script in this package measures one speed figure together with its
baseline in the same run and prints, as its last line, one JSON object::

    {"bench": NAME, "value": X, "unit": U, "baseline": B, "ratio": X/B}

Shared machinery (load generator, latency histogram, result line) lives in
:mod:`bench.loadgen`.
"""

"""Benchmark: reconcile 100,000 synthetic returns; print returns per second and peak memory.

    python benchmarks/reconcile_bench.py [--returns 100000] [--healthy-share 0.9]

Figures, not assertions. The baseline, measured in the same run, is a bare walk over the
same returns that reads what every rule reads first (stages and lines of both sides); the
ratio says how much the 26 rules cost on top of touching the data at all. A second yardstick
is `json.loads` of the same records (the least any client does with them). The last line is
a JSON object of the figures.
Target on a 2-core machine: >= 50,000 returns/s and < 1 GB peak.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from datetime import UTC, datetime

from returns_console.domain.model import ReturnCase, parse_cases
from returns_console.domain.reconcile import reconcile
from returns_console.domain.snapshot import Snapshot
from returns_console.scenarios.catalogue import build_scenario

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
CHUNK = 5_000


def synthetic(total: int, healthy_share: float
              ) -> tuple[list[ReturnCase], Snapshot, list[bytes]]:
    """Build in chunks so the JSON dicts of one chunk are gone before the next; keep each
    chunk's records as JSON text too (what `json.loads` is timed on)."""
    cases: list[ReturnCase] = []
    texts: list[bytes] = []
    first = None
    for start in range(0, total, CHUNK):
        size = min(CHUNK, total - start)
        scenario = build_scenario(NOW, returns=max(size, 27), healthy_share=healthy_share,
                                  seed=start, first_index=start + 1)
        if first is None:
            first = Snapshot.model_validate({**scenario.snapshot, "returns": []})
        records = scenario.snapshot["returns"][:size]
        texts.append(json.dumps(records, default=str).encode())
        cases.extend(parse_cases(records))
    assert first is not None
    return cases, first, texts


def loads_all(texts: list[bytes]) -> int:
    return sum(len(json.loads(text)) for text in texts)


def walk(cases: list[ReturnCase]) -> int:
    touched = 0
    for case in cases:
        p, e = case.platform, case.erp
        touched += len(p.stages) + len(e.stages) + len(p.lines) + len(e.lines)
    return touched


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--healthy-share", type=float, default=0.9)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    cases, snapshot, texts = synthetic(args.returns, args.healthy_share)
    build = time.perf_counter() - t0
    ctx = snapshot.context(NOW)
    n = len(cases)

    baseline = min(timed(walk, cases)[0] for _ in range(args.repeat))
    loads = min(timed(loads_all, texts)[0] for _ in range(args.repeat))
    runs = [timed(reconcile, cases, ctx) for _ in range(args.repeat)]
    best = min(t for t, _ in runs)
    result = runs[0][1]
    parallel = min(timed(reconcile, cases, ctx, workers=2)[0] for _ in range(args.repeat))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"returns:                 {n:,} ({args.healthy_share:.0%} healthy)")
    print(f"findings / delays:       {len(result.findings):,} / {len(result.delays):,}")
    print(f"build + validate:        {build:.2f} s ({n / build:,.0f} returns/s)")
    print(f"reconcile, 1 process:    {best:.3f} s = {n / best:,.0f} returns/s (best of "
          f"{args.repeat})")
    print(f"reconcile, 2 processes:  {parallel:.3f} s = {n / parallel:,.0f} returns/s")
    print(f"baseline walk:           {baseline:.3f} s; reconcile / walk = {best / baseline:.1f}x")
    print(f"json.loads, same records: {loads:.3f} s = {n / loads:,.0f} returns/s; "
          f"reconcile / json.loads = {best / loads:.2f}x")
    print(f"peak memory (RSS):       {peak_mb:,.0f} MB")
    print(json.dumps({"reconcile_per_s": round(n / best), "reconcile_per_s_2": round(
        n / parallel), "reconcile_to_loads": round(best / loads, 2),
        "reconcile_rss_mb": round(peak_mb)}))


if __name__ == "__main__":
    main()

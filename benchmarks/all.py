"""Every benchmark, one after the other, and their figures as one JSON object (last line).

    python benchmarks/all.py [--quick] [--host 127.0.0.1]

Runs, each as its own process (so one cannot warm another):
- `live_check_bench.py` at 10,000 returns (requests, whole-process wall against the raw
  download, the incremental refresh) and at 50,000 (wall against raw, peak RSS), over
  loopback (the sandbox answers at once: the client's own cost against a bare parse);
- `live_check_bench.py` at 10,000 returns again with `--latency-ms 100`, every request
  answered 100 ms later, check and raw alike (what a real API adds; its pages of thousands
  of records take longer still): `wall_ratio_latency`, `refresh_wall_ratio_latency`;
- `fo_check_bench.py` (Swap and Dynamics 365 F&O, issue 15) over loopback and at 100 ms;
- `session_refresh_bench.py` at 10,000 returns (the console's refresh, in memory);
- `reconcile_bench.py` at 100,000 synthetic returns;
- `console_bench.py` at 33,500 returns, 10,000 exceptions (a real pseudo-terminal: first
  frame, keystroke latency, peak RSS), and at 10,000 returns (peak RSS: `rss_mb_10k`);
- `returns-console --help` and `check --snapshot` of 100 returns, whole processes, best of 5.

Run it on an otherwise idle machine: the figures are ratios and times of this machine.
`--quick` uses smaller sizes to see that everything runs (its figures are not the targets').
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = ("requests_ratio", "wall_ratio", "refresh_wall_ratio", "refresh_cpu_ratio",
        "refresh_requests_share", "reconcile_per_s", "first_frame_s", "keystroke_p90_ms",
        "rss_mb_10k", "wall_ratio_50k", "rss_mb_50k", "help_s", "snapshot_check_s",
        # beyond the table: the console's own refresh, which keeps its last read
        "session_refresh_wall_ratio", "session_refresh_cpu_ratio", "session_rss_mb",
        "rss_mb_exceptions_10k",
        # the same ratios against an API's latency, and Swap + F&O's (issue 15)
        "wall_ratio_latency", "refresh_wall_ratio_latency", "refresh_cpu_ratio_latency",
        "fo_requests_ratio", "fo_wall_ratio", "fo_wall_ratio_latency")

#: What each request of the `*_latency` runs waits, as a real API's round trip and server
#: time would (and less than a real page of thousands of records takes).
LATENCY_MS = "100"


def figures_of(script: str, *args: str, timeout: float = 900) -> dict:
    """Run one benchmark; its last output line is its figures."""
    print(f"== {script} {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True,
                          text=True, timeout=timeout)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stdout.write(done.stderr)
        raise SystemExit(f"{script} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_wall(args: list[str], runs: int = 5) -> float:
    """The fastest of `runs` whole processes, spawn to exit, after one untimed run (which
    writes the bytecode caches, as a user's first run does)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(args, capture_output=True, timeout=120, env=env)
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, capture_output=True, timeout=120, env=env)
        walls.append(time.perf_counter() - started)
    return min(walls)


def cli_figures() -> dict:
    cli = [sys.executable, "-m", "returns_console"]
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([*cli, "scenario", "--out", folder, "--returns", "100"], check=True,
                       capture_output=True, timeout=300)
        snapshot = next(p for p in Path(folder).glob("*.json") if "truth" not in p.name)
        help_s = best_wall([*cli, "--help"])
        check_s = best_wall([*cli, "check", "--snapshot", str(snapshot), "--format", "json"])
    print(f"returns-console --help:          {help_s:.3f} s (best of 5)")
    print(f"check --snapshot (100 returns):  {check_s:.3f} s (best of 5)")
    return {"help_s": round(help_s, 3), "snapshot_check_s": round(check_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--host", default="localhost", help=(
        "how the check's profile names the sandbox (live_check_bench.py --host): a name "
        "(the default) is looked up as a real URL's host is"))
    args = parser.parse_args()
    small, large, synthetic = ((2000, 5000, 20_000) if args.quick
                               else (10_000, 50_000, 100_000))
    found: dict = {}
    host = ("--host", args.host)
    live = figures_of("live_check_bench.py", "--returns", str(small), *host)
    found.update({k: live[k] for k in ("requests_ratio", "wall_ratio", "refresh_wall_ratio",
                                       "refresh_cpu_ratio", "refresh_requests_share")})
    big = figures_of("live_check_bench.py", "--returns", str(large), "--pairs", "1", *host)
    found.update({"wall_ratio_50k": big["wall_ratio"], "rss_mb_50k": big["full_rss_mb"]})
    slow = figures_of("live_check_bench.py", "--returns", str(small), "--latency-ms",
                      LATENCY_MS, *host)
    found.update({"wall_ratio_latency": slow["wall_ratio"],
                  "refresh_wall_ratio_latency": slow["refresh_wall_ratio"],
                  "refresh_cpu_ratio_latency": slow["refresh_cpu_ratio"]})
    fo = figures_of("fo_check_bench.py", "--returns", str(small))
    found.update({"fo_requests_ratio": fo["requests_ratio"], "fo_wall_ratio": fo["wall_ratio"]})
    fo_slow = figures_of("fo_check_bench.py", "--returns", str(small), "--latency-ms",
                         LATENCY_MS)
    found["fo_wall_ratio_latency"] = fo_slow["wall_ratio"]
    session = figures_of("session_refresh_bench.py", "--returns", str(small))
    found.update({k: session[k] for k in ("session_refresh_wall_ratio",
                                          "session_refresh_cpu_ratio", "session_rss_mb")})
    recon = figures_of("reconcile_bench.py", "--returns", str(synthetic))
    found["reconcile_per_s"] = recon["reconcile_per_s"]
    # 33,500 returns make the 10,000 exceptions the console targets are about (the sandbox
    # keeps 70% of returns healthy); its peak RSS is then taken at more than 10k returns.
    console = figures_of("console_bench.py",
                         *(["--quick"] if args.quick else ["--returns", "33500"]))
    found.update({k: console[k] for k in ("first_frame_s", "keystroke_p90_ms")})
    found["rss_mb_exceptions_10k"] = console["rss_peak_mb"]
    # the memory target is about 10,000 live returns (not 10,000 exceptions): its own run
    at_10k = figures_of("console_bench.py", "--returns", str(small))
    found["rss_mb_10k"] = at_10k["rss_peak_mb"]
    found.update(cli_figures())
    print(json.dumps({key: found.get(key) for key in KEYS}))


if __name__ == "__main__":
    main()

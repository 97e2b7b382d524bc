"""Benchmark: `returns-console check` of Swap and Dynamics 365 F&O as a user runs it, against
the sandbox's returns (issue 15's F&O figures: a full read at most 1.1x the minimum requests
and 1.5x the raw download and parse).

    python benchmarks/fo_check_bench.py [--returns 10000] [--pairs 3]

As benchmarks/live_check_bench.py does for Business Central, every run is a whole process
timed from spawn to exit (imports, output, the cache write and the exit included):

- **full check**: `check --profile bench --full --format json`;
- **raw baseline**: `benchmarks/raw_fetch.py` on the very pages the check read (recorded
  once, untimed): Swap's pages and F&O's token and entity sets, each set following its
  `@odata.nextLink` chain, four requests at a time (the connector's concurrency). Full checks
  and raw runs alternate in `--pairs`;
- **requests**: counted by the sandbox, against the minimum the data needs at each API's
  documented largest page (Swap: 100; F&O: 10,000, §3.2), plus F&O's token.

- **refresh**: `check` (not `--full`) after the full checks: F&O keeps no change stamp on
  a return order (docs/vendors/d365-fo.md §5.2), so a refresh reads the return orders still
  open, the lines still open or closed since and the credit notes dated since (U19), laid
  over the last read; its wall time, CPU and requests against the full check's.

The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from live_check_bench import (
    HERE,
    NOW,
    PROFILE,
    SEED,
    free_port,
    med,
    run,
    served,
    setup_profile,
    user_environment,
)

from returns_console.sandbox.demo import build_sandbox
from returns_console.systems import spec

ERP = "d365_fo"


def start_sandbox(returns: int, port: int, env: dict[str, str], latency_ms: float = 0.0
                  ) -> subprocess.Popen:
    import socket

    proc = subprocess.Popen(
        [sys.executable, "-m", "returns_console", "sandbox", "--returns", str(returns),
         "--port", str(port), "--now", NOW, "--seed", str(SEED), "--profile", PROFILE,
         "--erp", ERP, "--latency-ms", str(latency_ms)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"sandbox failed: {proc.stderr.read() if proc.stderr else ''}"
                                 ) from None
            time.sleep(0.2)
    raise SystemExit("sandbox did not start")


def minimum_requests(box, sets: list[str]) -> int:
    """Pages the data needs at each API's documented maximum: Swap's returns, and each F&O
    entity set the check reads (the records of its legal entity; a set's read takes one
    page even when empty), plus the token."""
    swap = max(1, math.ceil(len(box.platform.native()) / spec("swap").capabilities
                            .max_page_size))
    native = box.erp.native()
    most = spec(ERP).capabilities.max_page_size
    fo = sum(max(1, math.ceil(len(native.get(name, [])) / most)) for name in sets)
    return swap + fo + 1


def raw_plan(base: str, box, path: Path) -> list[str]:
    """The URLs a check requests, from one check with a call log (not timed); the entity
    sets it read."""
    from returns_console.connectors.http import CallLog
    from returns_console.services.live import fetch_live

    profile = box.profile(base)
    log = CallLog(size=100_000)
    asyncio.run(fetch_live(profile, box.secret, log=log))
    gets = [(c.system, c.url) for c in log if c.method == "GET" and c.status == 200]
    fo = [u for s, u in gets if s == ERP and "skiptoken" not in u]
    secret = dict((n, v) for _, n, v in box.credentials())
    erp = profile.erp.options
    environment = (profile.erp.base_url or "").rstrip("/").lower()
    plan = {
        "erp": ERP, "erp_concurrency": spec(ERP).capabilities.concurrency,
        "swap_pages": [u for s, u in gets if s == "swap"],
        "swap_key": secret["api_key"],
        "token_url": erp["token_url"],
        "token_form": {"grant_type": "client_credentials", "client_id": erp["client_id"],
                       "client_secret": secret["client_secret"],
                       "scope": f"{environment}/.default"},
        "bc_first": [], "bc_sets": fo,
        "bc_page": spec(ERP).capabilities.max_page_size,
    }
    path.write_text(json.dumps(plan))
    return sorted({u.split("/data/", 1)[1].split("?", 1)[0] for u in fo})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=0.0, help=(
        "the sandbox answers each request this much later (a real API's network and server "
        "time); 0, the default, times the client alone"))
    parser.add_argument("--pairs", type=int, default=3, help="full/raw pairs")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="rc-fo-bench-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**user_environment(), "RETURNS_CONSOLE_HOME": home, "PYTHON_KEYRING_BACKEND":
           "keyring.backends.null.Keyring"}
    print(f"building and serving {args.returns:,} returns (Swap + F&O) ...", flush=True)
    proc = start_sandbox(args.returns, port, env, args.latency_ms)
    try:
        box = build_sandbox(datetime.fromisoformat(NOW.replace("Z", "+00:00")),
                            returns=args.returns, seed=SEED, erp=ERP)
        env.update(setup_profile(box, base, env))
        plan = Path(home) / "raw-plan.json"
        sets = raw_plan(base, box, plan)
        check = [sys.executable, "-m", "returns_console", "check", "--profile", PROFILE,
                 "--format", "json"]
        first = run([*check, "--full"], env)
        fulls, raws, requests = [], [], []
        for _ in range(args.pairs):
            before = served(base)
            fulls.append(run([*check, "--full"], env))
            requests.append(served(base) - before)
            raws.append(run([sys.executable, str(HERE / "raw_fetch.py"), str(plan)], env))
        # a refresh (U19 `open_plus_recent`): the open return orders and what closed since
        before = served(base)
        refresh = run(check, env)
        refresh_requests = served(base) - before
        minimum = minimum_requests(box, sets)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ratios = sorted(f["wall"] / r["wall"] for f, r in zip(fulls, raws, strict=True))
    figures = {
        "returns": args.returns, "latency_ms": args.latency_ms, "requests": requests[0],
        "requests_min": minimum,
        "requests_ratio": round(requests[0] / minimum, 3),
        "full_wall_s": round(med(fulls, "wall"), 3), "raw_wall_s": round(med(raws, "wall"), 3),
        "wall_ratio": round(statistics.median(ratios), 3),
        "wall_ratio_min": round(ratios[0], 3),
        "full_cpu_s": round(med(fulls, "cpu"), 3),
        "full_rss_mb": round(max(f["rss_mb"] for f in fulls)),
        "first_full_wall_s": round(first["wall"], 3),
        "refresh_wall_s": round(refresh["wall"], 3),
        "refresh_wall_ratio": round(refresh["wall"] / med(fulls, "wall"), 3),
        "refresh_cpu_ratio": round(refresh["cpu"] / med(fulls, "cpu"), 3),
        "refresh_requests": refresh_requests,
        "refresh_requests_share": round(refresh_requests / requests[0], 3),
    }
    print(f"returns:                      {args.returns:,}")
    if args.latency_ms:
        print(f"sandbox latency:              {args.latency_ms:.0f} ms a request")
    print(f"F&O entity sets read:         {', '.join(sets)}")
    print(f"requests / minimum:           {requests[0]} / {minimum} = "
          f"{figures['requests_ratio']:.2f}x")
    print(f"full check (whole process):   {figures['full_wall_s']:.2f} s wall, "
          f"{figures['full_cpu_s']:.2f} s CPU, {figures['full_rss_mb']} MB peak (median of "
          f"{args.pairs})")
    print(f"raw download + parse:         {figures['raw_wall_s']:.2f} s wall")
    print(f"full / raw:                   median {figures['wall_ratio']:.2f}x, min "
          f"{figures['wall_ratio_min']:.2f}x ({', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"refresh (open + what closed): {figures['refresh_wall_s']:.2f} s wall = "
          f"{figures['refresh_wall_ratio']:.2f}x the full check (CPU "
          f"{figures['refresh_cpu_ratio']:.2f}x), {refresh_requests} requests = "
          f"{figures['refresh_requests_share']:.0%} of the full check's")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Benchmark: `returns-console check` as a user runs it, against the sandbox's 10,000 returns.

    python benchmarks/live_check_bench.py [--returns 10000] [--pairs 3] [--json]

Everything is a whole process, timed from spawn to exit (imports, output, the cache write
and the exit included), with its CPU time (from `wait4`) and peak RSS (VmHWM, read every 20 ms):

- **full check**: `check --profile bench --full --format json` (reads everything; the
  profile's very first check, which fills the record index from nothing, is timed apart);
- **raw baseline**: `benchmarks/raw_fetch.py`, a process that downloads and `json.loads`
  the very same pages the way any client of these APIs must (same paging chains, same
  per-system concurrency) and does nothing else. Full checks and raw runs alternate, in
  `--pairs` pairs; the ratio is reported as min and median of the pairs;
- **incremental refresh**: after 1% of returns changed (`POST /_sandbox/touch`),
  `check --profile bench` (reads what changed since the cursor, through the record
  index: services/keyed_check.py), in `--pairs` rounds;
  wall, CPU and peak RSS against the full check's medians;
- **requests**: counted by the sandbox (`GET /_sandbox/stats`), against the minimum the data
  needs at each API's documented maximum page size (Swap: 100; Business Central: 20,000),
  plus the token and company requests.

The sandbox runs in its own process, as a person runs it. The last line printed is a JSON
object of the figures (for benchmarks/all.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

from returns_console.sandbox.demo import build_sandbox
from returns_console.secrets import env_var_name
from returns_console.systems import spec

NOW = "2026-11-21T10:00:00Z"
SEED = 20261121
PROFILE = "bench"
HERE = Path(__file__).resolve().parent
#: Business Central's entity sets a check reads (the minimum counts one page each at least).
BC_SETS = ("items", "customers", "locations", "customerReturnReasons", "paymentMethods",
           "accountingPeriods", "unitsOfMeasure", "salesReturnOrders", "returnReceipts",
           "salesCreditMemos", "salesOrders", "salesInvoices")


def user_environment() -> dict[str, str]:
    """This environment as a user's shell would have it: Python writes and reads its
    bytecode caches (an environment that forbids it recompiles every module each run)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(returns: int, port: int, env: dict[str, str], latency_ms: float = 0.0
                  ) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "returns_console", "sandbox", "--returns", str(returns),
         "--port", str(port), "--now", NOW, "--seed", str(SEED), "--profile", PROFILE,
         "--latency-ms", str(latency_ms)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"sandbox failed: {proc.stderr.read()}") from None
            time.sleep(0.2)
    raise SystemExit("sandbox did not start")


def peak_rss_mb(pid: int, done: threading.Event, found: list[float]) -> None:
    """The process's VmHWM (its own peak RSS), read every 20 ms until it exits. Not
    `ru_maxrss` from wait4: Linux carries the parent's peak into a child it forks, and this
    bench holds a whole sandbox, so every child would report at least that."""
    path = f"/proc/{pid}/status"
    while not done.is_set():
        try:
            with open(path, encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        found.append(int(line.split()[1]) / 1024)
        except OSError:
            return
        time.sleep(0.02)


def run(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """A whole process: wall from spawn to exit, CPU (user + system) and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done, peaks = threading.Event(), [0.0]
    watcher = threading.Thread(target=peak_rss_mb, args=(proc.pid, done, peaks), daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):  # 1: findings were found, which is the point
        raise SystemExit(f"{' '.join(args[:4])} failed ({proc.returncode}): {err}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": max(peaks)}


def med(runs: list[dict[str, float]], key: str) -> float:
    """The median of one figure over whole-process runs (`run`)."""
    return statistics.median(r[key] for r in runs)


def served(base: str) -> int:
    return int(httpx.get(f"{base}/_sandbox/stats", timeout=30).json()["total"]["requests"])


def minimum_requests(box) -> int:
    """Pages the data needs at each API's documented maximum, plus the fixed requests."""
    swap = max(1, math.ceil(len(box.platform.native()) / spec("swap").capabilities
                            .max_page_size))
    native = box.erp.native()
    bc_max = spec("d365_bc").capabilities.max_page_size
    bc = sum(max(1, math.ceil(len(native.get(name, [])) / bc_max)) for name in BC_SETS)
    return swap + bc + 2  # + BC's token and its companies list


def setup_profile(box, base: str, env: dict[str, str]) -> dict[str, str]:
    """The bench profile, made as a person makes it (`setup`), secrets in the environment."""
    profile = box.profile(base)
    args = [sys.executable, "-m", "returns_console", "setup", "--profile", PROFILE]
    for flag, settings in (("platform", profile.platform), ("erp", profile.erp)):
        args += [f"--{flag}", settings.system, f"--{flag}-url", settings.base_url or ""]
        for key, value in settings.options.items():
            text = ", ".join(value) if isinstance(value, (list, tuple)) else str(value)
            args += [f"--{flag}-option", f"{key}={text}"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"setup failed: {done.stderr}")
    return {env_var_name(PROFILE, name): value for _, name, value in box.credentials()}


def raw_plan(base: str, box, env: dict[str, str], path: Path) -> None:
    """The URLs a check requests, from one check with a call log (not timed)."""
    import asyncio

    from returns_console.connectors.http import CallLog
    from returns_console.services.live import fetch_live

    profile = box.profile(base)
    log = CallLog(size=100_000)
    asyncio.run(fetch_live(profile, box.secret, log=log))
    gets = [(c.system, c.url) for c in log if c.method == "GET" and c.status == 200]
    bc = [u for s, u in gets if s == "d365_bc" and "skiptoken" not in u]
    first = [u for u in bc if u.endswith("/companies")]
    secret = dict((n, v) for _, n, v in box.credentials())
    erp = profile.erp.options
    plan = {
        "swap_pages": [u for s, u in gets if s == "swap"],
        "swap_key": secret["api_key"],
        "token_url": erp["token_url"],
        "token_form": {"grant_type": "client_credentials", "client_id": erp["client_id"],
                       "client_secret": secret["client_secret"], "scope": erp.get(
                           "scope", "https://api.businesscentral.dynamics.com/.default")},
        "bc_first": first,
        "bc_sets": [u for u in bc if u not in first],
        "bc_page": spec("d365_bc").capabilities.max_page_size,
    }
    path.write_text(json.dumps(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=0.0, help=(
        "the sandbox answers each request this much later (a real API's network and server "
        "time); 0, the default, times the client alone"))
    parser.add_argument("--pairs", type=int, default=3, help="full/raw pairs and refreshes")
    parser.add_argument("--host", default="localhost", help=(
        "how the profile names the sandbox: a name (the default) is looked up as a real "
        "URL's host is; `127.0.0.1` skips the look-up"))
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="rc-bench-")
    port = free_port()
    base = f"http://{args.host}:{port}"
    env = {**user_environment(), "RETURNS_CONSOLE_HOME": home, "PYTHON_KEYRING_BACKEND":
           "keyring.backends.null.Keyring"}
    print(f"building and serving {args.returns:,} returns ...", flush=True)
    proc = start_sandbox(args.returns, port, env, args.latency_ms)
    try:
        box = build_sandbox(datetime.fromisoformat(NOW.replace("Z", "+00:00")),
                            returns=args.returns, seed=SEED)
        env.update(setup_profile(box, base, env))
        plan = Path(home) / "raw-plan.json"
        raw_plan(base, box, env, plan)
        check = [sys.executable, "-m", "returns_console", "check", "--profile", PROFILE,
                 "--format", "json"]
        # A profile's first check fills the record index from nothing (a later full check
        # writes only what differs): timed on its own, not among the pairs.
        first = run([*check, "--full"], env)
        fulls, raws, requests = [], [], []
        for _ in range(args.pairs):
            before = served(base)
            fulls.append(run([*check, "--full"], env))
            requests.append(served(base) - before)
            raws.append(run([sys.executable, str(HERE / "raw_fetch.py"), str(plan)], env))
        refreshes, refresh_requests = [], []
        touched = max(1, args.returns // 100)
        for _ in range(args.pairs):
            httpx.post(f"{base}/_sandbox/touch", params={"count": touched}, timeout=60)
            before = served(base)
            refreshes.append(run(check, env))
            refresh_requests.append(served(base) - before)
        minimum = minimum_requests(box)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    ratios = sorted(f["wall"] / r["wall"] for f, r in zip(fulls, raws, strict=True))
    figures = {
        "returns": args.returns, "latency_ms": args.latency_ms,
        "requests": requests[0], "requests_min": minimum,
        "requests_ratio": round(requests[0] / minimum, 3),
        "full_wall_s": round(med(fulls, "wall"), 3), "raw_wall_s": round(med(raws, "wall"), 3),
        "wall_ratio": round(statistics.median(ratios), 3),
        "wall_ratio_min": round(ratios[0], 3),
        "full_cpu_s": round(med(fulls, "cpu"), 3),
        "full_rss_mb": round(max(f["rss_mb"] for f in fulls)),
        "first_full_wall_s": round(first["wall"], 3),
        "refresh_wall_s": round(med(refreshes, "wall"), 3),
        "refresh_cpu_s": round(med(refreshes, "cpu"), 3),
        "refresh_rss_mb": round(max(r["rss_mb"] for r in refreshes)),
        "refresh_wall_ratio": round(med(refreshes, "wall") / med(fulls, "wall"), 3),
        "refresh_cpu_ratio": round(med(refreshes, "cpu") / med(fulls, "cpu"), 3),
        "refresh_requests_share": round(statistics.median(refresh_requests) / requests[0], 4),
    }
    print(f"returns:                      {args.returns:,} ({touched} changed per refresh)")
    if args.latency_ms:
        print(f"sandbox latency:              {args.latency_ms:.0f} ms a request")
    print(f"requests / minimum:           {requests[0]} / {minimum} = "
          f"{figures['requests_ratio']:.2f}x")
    print(f"full check (whole process):   {figures['full_wall_s']:.2f} s wall, "
          f"{figures['full_cpu_s']:.2f} s CPU, {figures['full_rss_mb']} MB peak (median of "
          f"{args.pairs})")
    print(f"first check (empty index):    {figures['first_full_wall_s']:.2f} s wall")
    print(f"raw download + parse:         {figures['raw_wall_s']:.2f} s wall")
    print(f"full / raw:                   median {figures['wall_ratio']:.2f}x, min "
          f"{figures['wall_ratio_min']:.2f}x ({', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"incremental refresh:          {figures['refresh_wall_s']:.2f} s wall "
          f"({figures['refresh_wall_ratio']:.2f}x full), {figures['refresh_cpu_s']:.2f} s CPU "
          f"({figures['refresh_cpu_ratio']:.2f}x), {figures['refresh_rss_mb']} MB peak, "
          f"{figures['refresh_requests_share']:.1%} of the requests")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

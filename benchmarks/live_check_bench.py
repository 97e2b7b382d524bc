"""Benchmark: `check` against the sandbox with 10,000 returns, over loopback HTTP.

    python benchmarks/live_check_bench.py [--returns 10000]

Prints wall time; HTTP requests made against the minimum number of pages the data needs;
the ratio of wall time to a raw baseline measured in the same run (downloading and
JSON-parsing the very same pages the way any client must, following the same paging chains
with the same per-system concurrency, without validation, reconciliation or cache); and an
incremental refresh after 1% of returns changed,
as a share of the first run's requests. The sandbox runs in its own process, as a person
runs it. Targets: requests <= 1.1x minimum; wall <= 1.5x raw; refresh <= 5% of requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from returns_console.connectors.http import CallLog
from returns_console.domain.memory import gc_paused
from returns_console.sandbox.demo import build_sandbox
from returns_console.services.demo import demo_mappings
from returns_console.services.live import fetch_live, live_report
from returns_console.store.cache import Cache
from returns_console.systems.d365_bc.simulator import DEMO_CLIENT_SECRET
from returns_console.systems.swap.simulator import DEMO_API_KEY

NOW = "2026-11-21T10:00:00Z"
SEED = 20261121
SWAP_PAGE, BC_PAGE = 100, 1000  # Swap v2's maximum; the BC connector's default page size
BC_SETS = ("items", "customers", "locations", "customerReturnReasons", "paymentMethods",
           "accountingPeriods", "unitsOfMeasure", "salesReturnOrders", "returnReceipts",
           "salesCreditMemos", "salesOrders", "salesInvoices")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(returns: int, port: int, home: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "returns_console", "sandbox", "--returns", str(returns),
         "--port", str(port), "--now", NOW, "--seed", str(SEED)],
        env={**os.environ, "RETURNS_CONSOLE_HOME": home}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"sandbox failed: {proc.stderr.read()}") from None
            time.sleep(0.2)
    raise SystemExit("sandbox did not start")


def minimum_pages(box) -> int:
    swap = max(1, math.ceil(len(box.platform.records) / SWAP_PAGE))
    bc = sum(max(1, math.ceil(len(box.erp.data.sets.get(name, [])) / BC_PAGE))
             for name in BC_SETS)
    return swap + bc + 2  # + BC's companies list and its token


async def raw_baseline(urls: list[tuple[str, str]], token_url: str) -> float:
    """The same pages fetched the way any client of these APIs must: Swap's first page, then
    the rest at once; Business Central's token, then every entity set at once, each set
    following its `@odata.nextLink` chain; the same per-system concurrency; GET and
    json.loads only: no validation, no assembly, no reconciliation, no cache."""
    limits = {"swap": asyncio.Semaphore(4), "d365_bc": asyncio.Semaphore(5)}
    swap_pages = [u for system, u in urls if system == "swap"]
    bc_starts = [u for system, u in urls if system == "d365_bc" and "skiptoken" not in u]
    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        headers = {"swap": {"x-api-key": DEMO_API_KEY}}

        async def get(system: str, url: str) -> dict:
            async with limits[system]:
                response = await client.get(url, headers=headers[system])
                return json.loads(response.content)

        async def chain(url: str) -> None:
            while url:
                url = (await get("d365_bc", url)).get("@odata.nextLink")

        async def swap() -> None:
            await get("swap", swap_pages[0])
            await asyncio.gather(*(get("swap", u) for u in swap_pages[1:]))

        async def bc() -> None:
            token = (await client.post(token_url, data={
                "grant_type": "client_credentials", "client_id": "returns-console-demo",
                "client_secret": DEMO_CLIENT_SECRET,
                "scope": "https://api.businesscentral.dynamics.com/.default"})).json()
            headers["d365_bc"] = {"Authorization": f"Bearer {token['access_token']}",
                                  "Prefer": f"odata.maxpagesize={BC_PAGE}"}
            companies = [u for u in bc_starts if u.endswith("/companies")]
            for url in companies:
                await get("d365_bc", url)
            await asyncio.gather(*(chain(u) for u in bc_starts if u not in companies))

        await asyncio.gather(swap(), bc())
        return time.perf_counter() - started


def run_check(box, profile, cache: Cache, log: CallLog) -> tuple[float, int]:
    """What `returns-console check --profile` does, timed (GC paused as the CLI does)."""
    started = time.perf_counter()
    with gc_paused():
        data = asyncio.run(fetch_live(profile, box.secret, cache=cache, log=log))
        report = live_report(profile, data, demo_mappings(box),
                             now=datetime.fromisoformat(NOW.replace("Z", "+00:00")))
        cache.wait()  # the check is done when its data is safe in the cache too
    return time.perf_counter() - started, len(report.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for both timings")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="rc-bench-")
    port = free_port()
    print(f"building and serving {args.returns:,} returns ...", flush=True)
    proc = start_sandbox(args.returns, port, home)
    try:
        box = build_sandbox(datetime.fromisoformat(NOW.replace("Z", "+00:00")),
                            returns=args.returns, seed=SEED)
        profile = box.profile(f"http://127.0.0.1:{port}")
        walls, raws = [], []
        for attempt in range(args.repeat):  # a fresh cache each time: every run is a first
            cache = Cache(Path(home) / f"bench-cache-{attempt}.sqlite3")
            log = CallLog(size=100_000)
            wall, findings = run_check(box, profile, cache, log)
            walls.append(wall)
            if attempt == 0:
                first = log.total
                urls = [(c.system, c.url) for c in log if c.method == "GET" and c.status == 200]
            raws.append(asyncio.run(raw_baseline(urls, profile.erp.options["token_url"])))
        wall, raw = min(walls), min(raws)
        touched = len(httpx.post(f"http://127.0.0.1:{port}/_sandbox/touch",
                                 params={"count": max(1, args.returns // 100)}).json()["touched"])
        log2 = CallLog(size=100_000)
        wall2, _ = run_check(box, profile, cache, log2)
        minimum = minimum_pages(box)
        print(f"returns:                    {args.returns:,} ({findings} findings)")
        print(f"check wall time:            {wall:.2f} s (best of {args.repeat})")
        print(f"requests / minimum pages:   {first} / {minimum} = {first / minimum:.2f}x")
        print(f"raw baseline (same pages):  {raw:.2f} s (best of {args.repeat}); "
              f"check / raw = {wall / raw:.2f}x")
        paired = sorted(w / r for w, r in zip(walls, raws, strict=True))
        print(f"check / raw, run by run:    median {paired[len(paired) // 2]:.2f}x "
              f"(each check against the raw run right after it: "
              f"{', '.join(f'{p:.2f}' for p in paired)})")
        print(f"refresh after {touched} changed:  {log2.total} requests = "
              f"{log2.total / first:.1%} of the first run, {wall2:.2f} s")
        cache.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()

"""Benchmark: a Shopify full read paged or through a bulk operation, by size (issue 14:
"measure both and pick by size").

    python benchmarks/shopify_bulk_bench.py [--sizes 200,1000,3000]

For each size, the sandbox's store is read whole twice in this process over loopback, with
`bulk_full_read = never` and `always`: the points Shopify charged (its own
`actualQueryCost` on each answer), the requests, and the wall time here. Shopify's rate
limit, not the client, sets a paged read's time: at a plan's restore rate the points saved
are seconds saved, and a bulk operation costs its start, its polls and Shopify's export
time instead (the simulator exports at once; Shopify says an export can take from seconds
to hours). The break-even per plan is printed as the export time the saving pays for. The
last line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.connections import open_platform

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
#: Points a second each Shopify plan restores (docs/vendors/shopify.md §5).
PLANS = {"Standard": 100, "Advanced": 200, "Plus": 1000, "Enterprise": 2000}


class Counting(httpx.AsyncBaseTransport):
    """Requests and the points Shopify said each cost."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests = 0
        self.points = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.requests += 1
        if "graphql" in request.url.path:
            cost = (json.loads(content).get("extensions") or {}).get("cost") or {}
            self.points += float(cost.get("actualQueryCost") or 0)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def read(box, url: str, mode: str) -> dict[str, Any]:
    profile = box.profile(url)
    settings = profile.platform
    profile = profile.model_copy(update={"platform": settings.model_copy(update={
        "options": {**settings.options, "bulk_full_read": mode}})})
    transport = Counting()

    async def go() -> int:
        from returns_console.connectors.http import CallLog

        platform = open_platform(profile, box.secret, CallLog(), transport)
        try:
            return len((await platform.fetch_returns()).views)
        finally:
            await platform.aclose()

    started = time.perf_counter()
    returns = asyncio.run(go())
    return {"returns": returns, "points": round(transport.points),
            "requests": transport.requests, "wall_s": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,3000")
    args = parser.parse_args()
    figures = []
    for size in (int(s) for s in args.sizes.split(",")):
        box = build_sandbox(NOW, returns=size, platform="shopify", erp="netsuite")
        orders = len(box.platform.store.orders)
        with BackgroundServer(box.app()) as server:
            paged = read(box, server.url, "never")
            bulk = read(box, server.url, "always")
        saved = paged["points"] - bulk["points"]
        row = {"returns": size, "orders": orders, "paged": paged, "bulk": bulk,
               "points_saved": saved,
               "saved_s_by_plan": {name: round(saved / rate, 1)
                                   for name, rate in PLANS.items()}}
        figures.append(row)
        print(f"{size:>6,} returns ({orders:,} orders): paged {paged['points']:,} points, "
              f"{paged['requests']} requests, {paged['wall_s']} s; bulk {bulk['points']:,} "
              f"points, {bulk['requests']} requests, {bulk['wall_s']} s here; saves "
              f"{saved:,} points = "
              + ", ".join(f"{n} {s:,} s" for n, s in row["saved_s_by_plan"].items()),
              flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

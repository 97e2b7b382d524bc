"""Benchmark: `returns-console check` of Shopify and NetSuite as a user runs it, against the
sandbox's returns (issue 14's figures).

    python benchmarks/pair_check_bench.py [--returns 2000] [--pairs 2]

As benchmarks/live_check_bench.py does for Swap and Business Central, every run is a whole
process timed from spawn to exit:

- **full check**: `check --profile bench --full --format json`;
- **raw baseline**: `benchmarks/raw_pair_fetch.py`, a process that sends the very requests the
  check sent (recorded once, untimed) and parses each answer, paced by Shopify's bucket as
  Shopify asks, and does nothing else. Full checks and raw runs alternate in `--pairs`;
- **incremental refresh**: after 1% of returns changed in both systems
  (`POST /_sandbox/touch`), `check --profile bench`; requests against the full check's;
- **requests**: counted by the sandbox, against the minimum the data needs at each API's
  documented limits: Shopify's single-query cost limit of 1,000 points (§5), which sets
  how many orders a page and how many returns a batch can carry (the documents in
  systems/shopify/queries.py are checked to be as big as it allows, except the orders page:
  counted here at the most that fits); NetSuite's 1,000 rows a SuiteQL page (§3.2), one
  token request.

The sandbox's Shopify store refills its bucket at 2,000 points a second (the Enterprise
plan): Shopify's rate limit, not the client, sets how long a full read takes. The time the
same read takes at the other plans' rates is printed from the points it cost. The last line
printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from live_check_bench import (
    NOW,
    PROFILE,
    SEED,
    free_port,
    med,
    run,
    setup_profile,
    user_environment,
)

from returns_console.sandbox.demo import build_sandbox
from returns_console.systems.shopify import queries as shopify_queries

HERE = Path(__file__).resolve().parent
PLATFORM, ERP = "shopify", "netsuite"
#: Points a second each Shopify plan restores (docs/vendors/shopify.md §5).
PLANS = {"Standard": 100, "Advanced": 200, "Plus": 1000, "Enterprise": 2000}


def start_pair_sandbox(returns: int, port: int, env: dict[str, str]):
    """The sandbox in its own process, and the secrets it prints to export (NetSuite's
    demo certificate key is made by that process), as a person copies them."""
    import shlex
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "returns_console", "sandbox", "--platform", PLATFORM, "--erp",
         ERP, "--returns", str(returns), "--port", str(port), "--now", NOW, "--seed",
         str(SEED), "--profile", PROFILE, "--push-to", "http://127.0.0.1:9"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:
        if line.startswith("Ctrl-C"):
            break
        said.append(line)
    else:
        raise SystemExit("sandbox failed: " + "".join(said))
    text = "".join(said)
    exports = text[text.index("  export "):text.index("  returns-console doctor")]
    words = [w for w in shlex.split(exports) if w != "export"]
    return proc, dict(word.split("=", 1) for word in words)


class Recorder(httpx.AsyncBaseTransport):
    """Every request a check sends, with what Shopify said each cost."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        cost = None
        if "graphql" in request.url.path:
            extensions = json.loads(content).get("extensions") or {}
            cost = (extensions.get("cost") or {}).get("requestedQueryCost")
        self.sent.append({"url": str(request.url), "body": body.decode(), "cost": cost,
                          "actual": _actual(content) if cost is not None else None})
        return httpx.Response(response.status_code, headers=response.headers, content=content,
                              request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _actual(content: bytes) -> float:
    cost = (json.loads(content).get("extensions") or {}).get("cost") or {}
    return float(cost.get("actualQueryCost") or 0)


def raw_plan(base: str, box, path: Path, exported: dict[str, str]) -> float:
    """The requests a check sends, from one check with a recorder (not timed); returns the
    points Shopify charged for the read."""
    from returns_console.secrets import env_var_name
    from returns_console.services.live import fetch_live

    profile = box.profile(base)
    recorder = Recorder()

    def secret_of(_system: str, name: str) -> str | None:
        return exported.get(env_var_name(PROFILE, name))

    asyncio.run(fetch_live(profile, secret_of, transport=recorder))
    secret = {name: secret_of("", name) for name in ("access_token", "private_key")}
    erp = profile.erp.options
    shopify = [(r["body"], float(r["cost"])) for r in recorder.sent if r["cost"] is not None]
    netsuite = [(r["url"], r["body"]) for r in recorder.sent if "/query/v1/suiteql" in r["url"]]
    shopify_url = next(r["url"] for r in recorder.sent if r["cost"] is not None)
    token_url = f"{profile.erp.base_url}/services/rest/auth/oauth2/v1/token"
    plan = {"shopify": shopify, "shopify_url": shopify_url,
            "access_token": secret["access_token"], "netsuite": netsuite,
            "token_url": erp.get("token_url") or token_url, "client_id": erp["client_id"],
            "certificate_id": erp["certificate_id"], "scope": erp.get("scope",
                                                                      "rest_webservices"),
            "private_key": secret["private_key"]}
    path.write_text(json.dumps(plan))
    return sum(r["actual"] or 0 for r in recorder.sent)


def minimum_requests(box) -> dict[str, int]:
    """What the data needs at the APIs' documented limits."""
    from graphql import parse

    from returns_console.kits.graphql.server import Endpoint
    from returns_console.systems.shopify import simulator as shopify_sim

    endpoint = Endpoint(Path(shopify_sim.__file__).with_name("schema.graphql").read_text(
        encoding="utf-8"), dict)
    limit = shopify_queries.MAX_QUERY_COST
    one_order = endpoint.cost(parse(shopify_queries.changed_orders(page_size=1)), {}) - 2
    per_page = (limit - 2) // one_order
    store = box.platform.store
    days = int(box.profile("http://x").platform.options.get("history_days", 60))
    since = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    read = [o for o in store.orders if o["updatedAt"] > since]  # what a full read covers
    orders = len(read)
    returns = sum(len(o["returns"]) for o in read)
    shopify = max(1, math.ceil(orders / per_page)) + sum(
        math.ceil(returns / shopify_queries.BATCH[part]) for part in shopify_queries.PARTS)
    account = box.erp.account
    docs = {r["id"] for r in account.engine.rows("transaction")
            if r["type"] in ("RtnAuth", "ItemRcpt", "CustCred", "CashRfnd")}
    lines = sum(1 for r in account.engine.rows("transactionline") if r["transaction"] in docs)
    master = ("item", "customer", "accountingperiod", "location", "paymentmethod",
              "customlist_return_reason")
    netsuite = 1 + max(1, math.ceil(lines / 1000)) + sum(
        max(1, math.ceil(len(account.engine.rows(table)) / 1000)) for table in master)
    return {"shopify": shopify, "netsuite": netsuite}


def served(base: str) -> dict[str, int]:
    stats = httpx.get(f"{base}/_sandbox/stats", timeout=30).json()["systems"]
    return {name: int(stats.get(name, {}).get("requests", 0)) for name in (PLATFORM, ERP)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="rc-pair-bench-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**user_environment(), "RETURNS_CONSOLE_HOME": home,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    print(f"building and serving {args.returns:,} returns (Shopify + NetSuite) ...", flush=True)
    proc, exported = start_pair_sandbox(args.returns, port, env)
    try:
        box = build_sandbox(datetime.fromisoformat(NOW.replace("Z", "+00:00")),
                            returns=args.returns, seed=SEED, platform=PLATFORM, erp=ERP)
        setup_profile(box, base, env)
        env.update(exported)
        plan = Path(home) / "raw-plan.json"
        points = raw_plan(base, box, plan, exported)
        check = [sys.executable, "-m", "returns_console", "--deadline", "3600", "check",
                 "--profile", PROFILE, "--format", "json"]
        fulls, raws, requests = [], [], []
        for _ in range(args.pairs):
            before = served(base)
            fulls.append(run([*check, "--full"], env))
            after = served(base)
            requests.append({k: after[k] - before[k] for k in after})
            raws.append(run([sys.executable, str(HERE / "raw_pair_fetch.py"), str(plan)], env))
        touched = max(1, args.returns // 100)
        refresh_requests = []
        refreshes = []
        for _ in range(args.pairs):
            httpx.post(f"{base}/_sandbox/touch", params={"count": touched}, timeout=60)
            before = served(base)
            refreshes.append(run(check, env))
            after = served(base)
            refresh_requests.append(sum(after.values()) - sum(before.values()))
        minimum = minimum_requests(box)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    full_requests = sum(requests[0].values())
    ratios = sorted(f["wall"] / r["wall"] for f, r in zip(fulls, raws, strict=True))
    figures = {
        "returns": args.returns,
        "requests": requests[0], "requests_min": minimum,
        "requests_ratio": round(full_requests / sum(minimum.values()), 3),
        "full_wall_s": round(med(fulls, "wall"), 2), "raw_wall_s": round(med(raws, "wall"), 2),
        "full_cpu_s": round(med(fulls, "cpu"), 2), "full_rss_mb": round(max(
            f["rss_mb"] for f in fulls)),
        "wall_ratio": round(statistics.median(ratios), 3),
        "refresh_wall_s": round(med(refreshes, "wall"), 2),
        "refresh_requests_share": round(statistics.median(refresh_requests) / full_requests,
                                        4),
        "shopify_points": round(points),
        "shopify_read_s_by_plan": {name: round(points / rate) for name, rate in PLANS.items()},
    }
    print(f"returns:                 {args.returns:,} ({touched} changed per refresh)")
    print(f"requests / minimum:      {full_requests} / {sum(minimum.values())} = "
          f"{figures['requests_ratio']:.2f}x  (Shopify {requests[0][PLATFORM]} / "
          f"{minimum[PLATFORM]}, NetSuite {requests[0][ERP]} / {minimum[ERP]})")
    print(f"full check:              {figures['full_wall_s']:.1f} s wall, "
          f"{figures['full_cpu_s']:.1f} s CPU, {figures['full_rss_mb']} MB peak")
    print(f"raw requests + parse:    {figures['raw_wall_s']:.1f} s wall")
    print(f"full / raw:              median {figures['wall_ratio']:.2f}x "
          f"({', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"incremental refresh:     {figures['refresh_wall_s']:.1f} s wall, "
          f"{figures['refresh_requests_share']:.1%} of the requests")
    print(f"Shopify points charged:  {points:,.0f}: a full read takes at least "
          + ", ".join(f"{name} {secs:,} s" for name, secs in
                      figures["shopify_read_s_by_plan"].items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

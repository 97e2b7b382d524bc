"""The raw baseline of benchmarks/live_check_bench.py, as a process of its own: download and
JSON-parse the very pages a check reads, the way any client of these APIs must, and nothing
else (no validation, no assembly, no reconciliation, no cache, no output).

    python benchmarks/raw_fetch.py PLAN.json

PLAN (written by the bench): Swap's page URLs (the first, then the rest at once, four at a
time), the OData ERP's token request and its entity sets' first pages (Business Central's,
or F&O's: `erp` names it), each set then following its `@odata.nextLink` chain, as many
requests at a time as its connector sends (`erp_concurrency`: 5 for Business Central).
Imports only the standard library and httpx, as a lean client would.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx


async def fetch(plan: dict) -> int:
    erp = plan.get("erp", "d365_bc")
    limits = {"swap": asyncio.Semaphore(4), erp: asyncio.Semaphore(plan.get("erp_concurrency", 5))}
    headers: dict[str, dict[str, str]] = {"swap": {"x-api-key": plan["swap_key"]}}
    pages = 0
    async with httpx.AsyncClient(timeout=120) as client:

        async def get(system: str, url: str) -> dict:
            nonlocal pages
            async with limits[system]:
                response = await client.get(url, headers=headers[system])
                pages += 1
                return json.loads(response.content)

        async def chain(url: str) -> None:
            while url:
                url = (await get(erp, url)).get("@odata.nextLink")

        async def swap() -> None:
            first, *rest = plan["swap_pages"]
            await get("swap", first)
            await asyncio.gather(*(get("swap", u) for u in rest))

        async def bc() -> None:
            token = (await client.post(plan["token_url"], data=plan["token_form"])).json()
            headers[erp] = {"Authorization": f"Bearer {token['access_token']}",
                            "Prefer": f"odata.maxpagesize={plan['bc_page']}"}
            for url in plan["bc_first"]:  # what the rest depends on (BC's company)
                await get(erp, url)
            await asyncio.gather(*(chain(u) for u in plan["bc_sets"]))

        await asyncio.gather(swap(), bc())
    return pages


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        plan = json.load(handle)
    pages = asyncio.run(fetch(plan))
    print(pages)


if __name__ == "__main__":
    main()

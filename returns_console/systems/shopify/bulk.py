"""A full read's first step through a bulk query operation (docs/vendors/shopify.md §7):
the changed orders, their returns and each return's lines and exchange lines, run by
Shopify as one operation that the rate limit does not pace, polled until it completes and
downloaded as JSON Lines from a signed storage link. The parts a bulk query cannot carry
(reverse fulfillment lines with their dispositions, refund lines) are read by id after it,
as a paged read reads them.

Any way it does not complete (another operation of the app running, the operation failing,
expiring or being cancelled, an answer not understood) gives `None`: the caller reads the
paged way instead, never less.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

import httpx

from ...connectors.http import HttpClient, NoAuth
from ...kits.graphql.client import GraphQLClient
from . import queries as q
from .mapping import SYSTEM

#: The first wait between polls, doubled up to `poll_max` (Shopify: minutes, not seconds,
#: for big exports; a small one completes in seconds).
FIRST_POLL = 0.5
DONE = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
#: Points a full read saves an order by exporting its first step (the orders pages and the
#: returns' core part): 15.4-16.5 measured by benchmarks/shopify_bulk_bench.py at 200 and
#: 1,000 returns (a third of the read's points); the rest, read by id, costs the same.
POINTS_PER_ORDER = 15
#: An export is checked against the paged read's first pages until they name this many
#: returns, or this many pages are read (76 orders a page, 990 points).
SAMPLE_RETURNS = 20
SAMPLE_PAGES = 10
#: How long a cancelled read waits for Shopify to take the export's cancellation.
CANCEL_WAIT = 5.0


class BulkCore:
    """What the operation gave: the returns' ids in the order read, their core records
    (the shape `queries.return_core` answers, connections whole), the newest `updatedAt`."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.newest: datetime | None = None


async def read(gql: GraphQLClient, download: Callable[[str], Awaitable[bytes]],
               moment: str, sleep: Callable[[float], Any], *, poll_max: float,
               parse_moment: Callable[[Any], datetime | None]) -> BulkCore | None:
    """Run the bulk query of the orders changed since `moment`; None where it did not
    complete (the caller reads the paged way)."""
    reply = await gql.execute(q.RUN_BULK, {"query": q.bulk_orders(moment)})
    started = (reply.data.get("bulkOperationRunQuery") or {}) if reply.data else {}
    operation = started.get("bulkOperation") if isinstance(started, Mapping) else None
    if started.get("userErrors") or not isinstance(operation, Mapping) or \
            not isinstance(operation.get("id"), str):
        return None  # OPERATION_IN_PROGRESS (another of the app's), LIMIT_REACHED, INVALID
    gid = operation["id"]
    wait = FIRST_POLL
    try:
        while True:
            await sleep(wait)
            polled = await gql.execute(q.POLL_BULK, {"id": gid})
            operation = (polled.data or {}).get("bulkOperation")
            if not isinstance(operation, Mapping):
                return None
            if operation.get("status") in DONE:
                break
            wait = min(poll_max, wait * 2)
    except asyncio.CancelledError:  # the command's deadline: leave no export running,
        # or the app's next full read finds it in the way (OPERATION_IN_PROGRESS)
        with suppress(Exception):
            await asyncio.wait_for(asyncio.shield(gql.execute(q.CANCEL_BULK, {"id": gid})),
                                   CANCEL_WAIT)
        raise
    if operation.get("status") != "COMPLETED":
        return None  # FAILED (errorCode says why), CANCELED, EXPIRED: read the paged way
    core = BulkCore()
    url = operation.get("url")
    if url is None:  # §7: no url when the query produced no results
        return core
    if not isinstance(url, str):
        return None
    return lay_out(await download(url), core, parse_moment)


def lay_out(body: bytes, core: BulkCore,
            parse_moment: Callable[[Any], datetime | None]) -> BulkCore | None:
    """The JSON Lines as core records: an order's line gives its `updatedAt`; a return's
    line (its `__parentId` an order) is its record; a line whose parent is a return is
    one of its lines or exchange lines (by `__typename`). Joined by id, not by place: with
    `groupObjects: false` (2026-01's default) a child need not follow its parent. None
    when a line is not JSON or names a parent the file does not have."""
    rows: list[dict[str, Any]] = []
    for raw in body.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(line, dict) or not isinstance(line.get("id"), str):
            return None
        rows.append(line)
    orders = {row["id"] for row in rows if "__parentId" not in row}
    for row in rows:
        if "__parentId" not in row:
            updated = parse_moment(row.get("updatedAt"))
            if updated is not None and (core.newest is None or updated > core.newest):
                core.newest = updated
        elif row["__parentId"] in orders and "/Return/" in row["id"]:
            record = {"__typename": "Return", **row}  # as a read by id names it
            del record["__parentId"]
            record["returnLineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
            record["exchangeLineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
            core.records[row["id"]] = record
            core.ids.append(row["id"])
    for row in rows:
        parent = row.get("__parentId")
        if parent is None or parent in orders:
            continue
        owner = core.records.get(parent)
        if owner is None:
            return None
        child = {k: v for k, v in row.items() if k != "__parentId"}
        key = ("exchangeLineItems" if child.get("__typename") == "ExchangeLineItem"
               else "returnLineItems")
        owner[key]["nodes"].append(child)
    core.ids = list(dict.fromkeys(core.ids))
    return core


def downloader(http: HttpClient) -> Callable[[str], Awaitable[bytes]]:
    """A GET of the signed link with a client of its own: no access token (it is another
    host's, and the link is its own credential), the same transport, retries and log; the
    link's signature is masked wherever the URL is shown (`redact_url`)."""

    async def download(url: str) -> bytes:
        target = httpx.URL(url)
        origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
        client = HttpClient(SYSTEM, origin, auth=NoAuth(), retry=http.retry, log=http.log,
                            transport=http.transport, sleep=http.sleep,
                            timeout=300.0)
        try:
            response = await client.request("GET", target.raw_path.decode("ascii"))
            return response.content
        finally:
            await client.aclose()

    return download

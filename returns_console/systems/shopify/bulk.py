"""A full read's first step through a bulk query operation (docs/vendors/shopify.md §7):
the changed orders, their returns and each return's lines and exchange lines, run by
Shopify as one operation that the rate limit does not pace, polled until it completes and
downloaded as JSON Lines from a signed storage link. The parts a bulk query cannot carry
(reverse fulfillment lines with their dispositions, refund lines) are read by id after it,
as a paged read reads them.

Any way it does not complete (another operation of the app running, the operation failing,
expiring, being cancelled or outlasting its budget, a file that is not what the operation
said it wrote) gives the reason: the caller reads the paged way instead, never less, and
says why in the source's notes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

import httpx

from ...connectors.errors import ConnectorError
from ...connectors.http import HttpClient, NoAuth, decode_json
from ...kits.graphql.client import GraphQLClient
from . import queries as q
from .mapping import SYSTEM

#: The first wait between polls, doubled up to `poll_max` (Shopify: minutes, not seconds,
#: for big exports; a small one completes in seconds).
FIRST_POLL = 0.5
DONE = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
#: Points a full read saves an order by exporting its first step: one with returns (its
#: page entry and its returns' core part), 15.4-16.5 measured by
#: benchmarks/shopify_bulk_bench.py at 200 to 3,000 returns; one without, its page entry
#: (an object and an empty connection, by Shopify's cost table: §5).
POINTS_PER_ORDER_WITH_RETURNS = 15
POINTS_PER_ORDER = 3
#: How long a cancelled read waits for Shopify to take the export's cancellation.
CANCEL_WAIT = 5.0
#: A return's children the export may hold, by `__typename`, and where each goes.
_CHILDREN = {"ReturnLineItem": "returnLineItems", "UnverifiedReturnLineItem": "returnLineItems",
             "ExchangeLineItem": "exchangeLineItems"}


class BulkCore:
    """What the operation gave: the returns' ids in the order read, their core records
    (the shape `queries.return_core` answers, connections whole), the newest `updatedAt`
    (never later than the operation's start), and what Shopify says of the orders' returns."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.newest: datetime | None = None
        self.started: str | None = None
        #: Orders Shopify says have a return (`returnStatus` not NO_RETURN), and those of
        #: them the file holds no return of (an export that lost them).
        self.flagged: set[str] = set()
        self.flagged_without_returns: set[str] = set()


async def read(gql: GraphQLClient, download: Callable[[str], Awaitable[bytes | None]],
               moment: str, sleep: Callable[[float], Any], *, poll_max: float,
               budget: float, parse_moment: Callable[[Any], datetime | None],
               clock: Callable[[], float] = time.monotonic) -> BulkCore | str:
    """Run the bulk query of the orders changed since `moment`: its core records, or why
    it is not used (it did not complete within `budget` seconds of polling, when it is
    cancelled, or otherwise)."""
    reply = await gql.execute(q.RUN_BULK, {"query": q.bulk_orders(moment)})
    started = (reply.data or {}).get("bulkOperationRunQuery")
    if not isinstance(started, Mapping):
        return "Shopify did not start the export"
    refused = started.get("userErrors")
    if refused:  # OPERATION_IN_PROGRESS (another of the app's), LIMIT_REACHED, INVALID
        first = refused[0] if isinstance(refused, list) and refused else {}
        said = (f"{first.get('code') or ''} {first.get('message') or ''}".strip()
                if isinstance(first, Mapping) else "")
        return f"Shopify refused the export ({said or 'no reason given'})"
    operation = started.get("bulkOperation")
    if not isinstance(operation, Mapping) or not isinstance(operation.get("id"), str):
        return "Shopify did not start the export"
    gid = operation["id"]
    wait, began = FIRST_POLL, clock()
    try:
        while True:
            if clock() - began > budget:
                await _cancel(gql, gid)
                return f"the export ran longer than {budget:g} s and was cancelled"
            await sleep(wait)
            polled = await gql.execute(q.POLL_BULK, {"id": gid})
            operation = (polled.data or {}).get("bulkOperation")
            if not isinstance(operation, Mapping):
                return "Shopify no longer knows the export"
            if operation.get("status") in DONE:
                break
            wait = min(poll_max, wait * 2)
    except BaseException:  # the deadline, or a poll not answered: leave no export
        await _cancel(gql, gid)  # running, or the app's next read finds it in the way
        raise
    status = operation.get("status")
    if status != "COMPLETED":  # FAILED (errorCode says why), CANCELED, EXPIRED
        code = operation.get("errorCode")
        return f"the export ended {status}" + (f" ({code})" if code else "")
    expected = _count(operation.get("objectCount"))
    core = BulkCore()
    core.started = operation.get("createdAt") if isinstance(
        operation.get("createdAt"), str) else None
    url = operation.get("url")
    if url is None:  # §7: no url when the query produced no results
        return core if expected == 0 else "the export has no file but counts objects"
    if not isinstance(url, str) or expected is None:
        return "the export's answer could not be read"
    body = await download(url)
    if body is None:
        return "the export's file could not be fetched"
    laid = lay_out(body, core, parse_moment, expected=expected)
    return laid if laid is not None else "the export's file is not what Shopify counted"


async def _cancel(gql: GraphQLClient, gid: str) -> None:
    """Best effort, briefly: an export left running is in the app's next read's way."""
    with suppress(Exception):
        await asyncio.wait_for(asyncio.shield(gql.execute(q.CANCEL_BULK, {"id": gid})),
                               CANCEL_WAIT)


def _count(value: Any) -> int | None:
    """`objectCount` as sent (an UnsignedInt64: a string)."""
    try:
        return int(str(value))
    except ValueError:
        return None


def lay_out(body: bytes, core: BulkCore, parse_moment: Callable[[Any], datetime | None],
            *, expected: int | None = None) -> BulkCore | None:
    """The JSON Lines as core records: an order's line gives its `updatedAt`; a return's
    line (its `__parentId` an order) is its record; a line whose parent is a return is one
    of its lines or exchange lines (by `__typename`). Joined by id, not by place: with
    `groupObjects: false` (2026-01's default) a child need not follow its parent; a line
    repeated counts once. None when a line is not JSON, names a parent the file does not
    have, is of a type the query did not ask for, or the file holds another number of
    objects than the operation said (`expected`)."""
    rows: list[dict[str, Any]] = []
    for raw in body.splitlines():
        if not raw.strip():
            continue
        try:
            line = decode_json(raw)  # as every body is read: control characters visible
        except ValueError:
            return None
        parent = line.get("__parentId") if isinstance(line, dict) else None
        if not isinstance(line, dict) or not isinstance(line.get("id"), str) or \
                not isinstance(parent, str | None):
            return None
        rows.append(line)
    if expected is not None and len(rows) != expected:
        return None  # cut short, or not this operation's file
    orders = {row["id"] for row in rows if "__parentId" not in row}
    with_returns: set[str] = set()
    for row in rows:
        if "__parentId" not in row:
            if row.get("returnStatus") not in (None, "NO_RETURN"):
                core.flagged.add(row["id"])
            updated = parse_moment(row.get("updatedAt"))
            if updated is not None and (core.newest is None or updated > core.newest):
                core.newest = updated
        elif row["__parentId"] in orders and "/Return/" in row["id"] and \
                row["id"] not in core.records:
            record = {"__typename": "Return", **row}  # as a read by id names it
            del record["__parentId"]
            record["returnLineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
            record["exchangeLineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
            core.records[row["id"]] = record
            core.ids.append(row["id"])
            with_returns.add(row["__parentId"])
    seen: set[str] = set()
    for row in rows:
        parent = row.get("__parentId")
        if parent is None or parent in orders:
            continue
        owner = core.records.get(parent)
        key = _CHILDREN.get(str(row.get("__typename")))
        if owner is None or key is None:
            return None
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        owner[key]["nodes"].append({k: v for k, v in row.items() if k != "__parentId"})
    started = parse_moment(core.started)
    if started is not None and core.newest is not None and core.newest > started:
        core.newest = started  # an order changed during the export may not be in it
    core.flagged_without_returns = core.flagged - with_returns
    return core


def downloader(http: HttpClient) -> Callable[[str], Awaitable[bytes | None]]:
    """A GET of the signed link with a client of its own: no access token (it is another
    host's, and the link is its own credential), the same transport, retries and log; the
    link's signature is masked wherever the URL is shown (`redact_url`). Only https, unless
    the API itself is reached over http (a sandbox); only a 200 is the file."""

    async def download(url: str) -> bytes | None:
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return None
        plain = httpx.URL(str(http.client.base_url)).scheme == "http"
        if target.scheme != "https" and not (plain and target.scheme == "http"):
            return None
        origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
        client = HttpClient(SYSTEM, origin, auth=NoAuth(), retry=http.retry, log=http.log,
                            transport=http.transport, sleep=http.sleep, timeout=300.0)
        try:  # a refusal here is the link's (expired, or not this host's), not the token's
            response = await client.request("GET", target.raw_path.decode("ascii"))
        except ConnectorError:
            return None
        finally:
            await client.aclose()
        return response.content if response.status_code == 200 else None

    return download

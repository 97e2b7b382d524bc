"""Shopify's GraphQL Admin API, read (docs/shopify-netsuite-mapping.md, "Read plan").

Two steps: the orders changed since the cursor (less an overlap: whether a change to a
return moves its order's `updatedAt` is not documented), each with its returns' ids; then
the returns by id in three lean parts (`queries.py`), batched under the single-query cost
limit and paced by the store's bucket (`kits/graphql`). A return whose answer has more on
some connection than its batch asked is read again alone with bigger pages. Each return is
one raw record (the parts laid together) and one view; a record that does not validate is
a payload problem, never an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr, ValidationError

from ...connectors.auth import ApiKeyHeader
from ...connectors.base import InboxEvent, PlatformBatch, WebhookSpec
from ...connectors.errors import ConnectorError, InvalidPayloadError
from ...connectors.http import CallLog, HttpClient, RetryPolicy
from ...connectors.validation import describe
from ...domain.codes import Side
from ...domain.model import PayloadProblem, PlatformView
from ...domain.pace import breathe
from ...kits.graphql.client import GraphQLClient
from ...kits.graphql.cost import CostBucket
from . import bulk
from . import queries as q
from .mapping import SYSTEM, MappingSettings, to_view
from .records import ShopifyReturn
from .webhooks import Hints, read_hints, webhook_spec

#: How a note begins when a bulk export was asked for and the read went the paged way.
BULK_NOT_USED = "read page by page: the bulk export was not used"
#: Returns of the three parts, by the key each lays in the record.
_PART_KEYS = {"core": None, "dispositions": "reverseFulfillmentOrders", "refunds": "refunds"}
#: The connections of each part that a return may have more of than its batch asked.
_MORE = {"core": ("returnLineItems", "exchangeLineItems"),
         "dispositions": ("reverseFulfillmentOrders",), "refunds": ("refunds",)}


@dataclass(frozen=True)
class ShopifySettings:
    base_url: str
    access_token: SecretStr | str
    api_version: str = "2026-07"
    #: How far back a full read goes (older orders need the read_all_orders scope).
    history_days: int = 60
    #: Read again from this long before the cursor: a change to a return may not move its
    #: order's `updatedAt` at once (or at all: docs/vendors/shopify.md §2.2).
    overlap_minutes: int = 60
    mapping: MappingSettings = field(default_factory=MappingSettings)
    concurrency: int = 2
    timeout: float = 30.0
    #: The app's client secrets webhooks are signed with (the current one, then the one
    #: before a rotation), asked only by `listen`.
    webhook_secrets: Callable[[], Sequence[str]] | None = None
    #: A full read's first step as a bulk operation (§7): `auto` when it would save at
    #: least `bulk_min_saving_s` seconds of the store's rate limit, `always`, or `never`.
    bulk: str = "auto"
    bulk_min_saving_s: float = 60.0
    #: The longest wait between polls of a running bulk operation, and how long one may
    #: run before it is cancelled and the read goes the paged way, in seconds.
    bulk_poll_max: float = 30.0
    bulk_max_wait_s: float = 180.0


class ShopifyConnector:
    system = SYSTEM

    def __init__(self, settings: ShopifySettings, *, log: CallLog | None = None,
                 transport=None, retry: RetryPolicy | None = None, sleep=None,
                 bucket: CostBucket | None = None) -> None:
        self.settings = settings
        self.http = HttpClient(
            SYSTEM, settings.base_url,
            auth=ApiKeyHeader("X-Shopify-Access-Token", settings.access_token),
            timeout=settings.timeout, concurrency=settings.concurrency, retry=retry, log=log,
            transport=transport, sleep=sleep)
        # a document not sent yet may ask up to the single-query limit: the bucket holds
        # that much before it goes, and the answer says what it really asks
        self.gql = GraphQLClient(self.http, f"/admin/api/{settings.api_version}/graphql.json",
                                 bucket=bucket, first_cost=q.MAX_QUERY_COST)

    def webhook(self) -> WebhookSpec:
        if self.settings.webhook_secrets is None:
            raise ValueError("this Shopify connector was made without its webhook secret")
        return webhook_spec(self.settings.webhook_secrets())

    async def fetch_returns(self, *, updated_since: datetime | None = None,
                            hints: Sequence[InboxEvent] = ()) -> PlatformBatch:
        """The returns of the orders changed since the cursor (less the overlap), and, on
        an incremental read, those the webhooks received since named (webhooks.py)."""
        fetched_at = datetime.now(UTC)
        since = (updated_since - timedelta(minutes=self.settings.overlap_minutes)
                 if updated_since is not None
                 else fetched_at - timedelta(days=self.settings.history_days))
        notes: list[str] = []
        core = None if updated_since is not None else await self._bulk_core(
            since, notes, fetched_at)
        if core is not None:
            ids, newest = core.ids, core.newest
        else:
            ids, newest = await self._changed_returns(since)
        if updated_since is not None and hints:
            ids = list(dict.fromkeys(ids + await self._hinted_returns(read_hints(hints))))
        records = await self._records(ids, core.records if core is not None else None)
        batch = PlatformBatch(fetched_at=fetched_at, notes=notes)
        for return_id in ids:
            breathe()
            raw = records.get(return_id)
            if raw is None:  # gone between the two steps (deleted with its order)
                continue
            view, problems = self.parse(raw)
            batch.views.append(view)
            if view.raw_ref:
                batch.raw[view.raw_ref] = raw
            if problems:
                batch.problems.setdefault(view.return_ref, []).extend(problems)
        newest = newest or updated_since
        batch.cursor = newest.astimezone(UTC).isoformat() if newest else None
        return batch

    async def _bulk_core(self, since: datetime, notes: list[str], fetched_at: datetime
                         ) -> bulk.BulkCore | None:
        """A full read's first step as a bulk operation, where the settings pick one. For
        `auto`, by size: `ordersCount` says how many orders (and how many with returns),
        the answer's throttle status the store's restore rate, and the points an export
        saves at that rate must be worth more seconds than `bulk_min_saving_s`, what an
        export's start, polls and Shopify's own export time are taken to cost. None: read
        the paged way (why, where an export was asked for and not used, in `notes`)."""
        mode = self.settings.bulk
        if mode == "never":
            return None
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        search = f"updated_at:>'{moment}'"
        try:
            if mode == "auto":
                counts = await self._count_orders(search)
                rate = self.gql.bucket.restore_rate
                if counts is None or not rate:
                    return None
                every, returned = counts
                saving = (returned * bulk.POINTS_PER_ORDER_WITH_RETURNS
                          + (every - returned) * bulk.POINTS_PER_ORDER) / rate
                if saving < self.settings.bulk_min_saving_s:
                    return None
            core = await bulk.read(self.gql, bulk.downloader(self.http), moment,
                                   self.http.sleep, poll_max=self.settings.bulk_poll_max,
                                   budget=self.settings.bulk_max_wait_s,
                                   parse_moment=_moment,
                                   running=q.running_bulks(self.settings.api_version),
                                   # only an export as new as this read (its own start,
                                   # the answer lost): an older one holds the store as it
                                   # was, and the read is stamped now
                                   not_before=fetched_at - bulk.ADOPT_SKEW)
            if isinstance(core, str):
                notes.append(f"{BULK_NOT_USED}: {core}")
                return None
            if not await self._bulk_agrees(core, search):
                notes.append(f"{BULK_NOT_USED}: it did not hold every return Shopify counts")
                return None
        except ConnectorError as exc:  # the operation or its file could not be had
            notes.append(f"{BULK_NOT_USED}: {exc}")
            return None
        return core

    async def _count_orders(self, search: str) -> tuple[int, int] | None:
        """(orders the search finds, those with a return), counted without a limit;
        None: not answered."""
        reply = await self.gql.execute(q.COUNT_ORDERS, {"all": search,
                                                        "returned": q.with_returns(search)})
        found = []
        for name in ("all", "returned"):
            counted = (reply.data or {}).get(name)
            if not isinstance(counted, Mapping) or not isinstance(counted.get("count"), int):
                return None
            found.append(counted["count"])
        return found[0], found[1]

    async def _bulk_agrees(self, core: bulk.BulkCore, search: str) -> bool:
        """The export checked whole: every order it holds that Shopify marks as having a
        return (`returnStatus`) must come with one, and it must hold as many such orders
        as Shopify counts among those changed before the operation began (an order changed
        during it may or may not be in it). Whether Shopify exports an order's returns in a
        bulk operation is not settled by its docs (shopify.md §7): an export without them
        would read as a shop with no returns. (An order whose only returns were declined or
        cancelled may be NO_RETURN: the loss of those alone cannot be seen this way.)"""
        if core.flagged_without_returns:  # Shopify says they have returns; none came
            return False
        window = f"{search} updated_at:<='{core.started}'" if core.started else search
        counts = await self._count_orders(window)
        return counts is not None and len(core.flagged) >= counts[1]

    async def _changed_returns(self, since: datetime) -> tuple[list[str], datetime | None]:
        """The ids of the returns of every order changed since `since` (in the order read),
        and the latest `updatedAt` among those orders."""
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ids: list[str] = []
        newest: datetime | None = None
        crowded: list[str] = []
        async for page in self.gql.pages(q.changed_orders(), {
                "query": f"updated_at:>'{moment}'"}, ["orders"]):
            for order in page.nodes:
                if not isinstance(order, Mapping) or not isinstance(order.get("id"), str):
                    raise InvalidPayloadError(SYSTEM, "an order in the answer has no id")
                updated = _moment(order.get("updatedAt"))
                if updated is not None and (newest is None or updated > newest):
                    newest = updated
                returns = order.get("returns") or {}
                ids += [r["id"] for r in returns.get("nodes") or ()
                        if isinstance(r, Mapping) and isinstance(r.get("id"), str)]
                if (returns.get("pageInfo") or {}).get("hasNextPage"):
                    crowded.append(order["id"])
        for order_id in crowded:  # more returns than the page asked for: all of them
            known = set(ids)
            async for page in self.gql.pages(q.order_returns(), {"id": order_id},
                                             ["order", "returns"]):
                ids += [r["id"] for r in page.nodes if isinstance(r, Mapping)
                        and isinstance(r.get("id"), str) and r["id"] not in known]
        return list(dict.fromkeys(ids)), newest

    async def _hinted_returns(self, hints: Hints) -> list[str]:
        """The ids of the returns `hints` name: a return's own; an order's returns; those
        of the order a reverse fulfillment order or refund belongs to (a refund's return
        when it has one). A name Shopify no longer knows is nothing to read."""
        ids = list(hints.returns)
        crowded: list[str] = []
        asked = hints.orders + hints.others
        for start in range(0, len(asked), q.HINT_BATCH):
            reply = await self.gql.execute(q.hinted_orders(),
                                           {"ids": asked[start:start + q.HINT_BATCH]})
            for node in reply.data.get("nodes") or ():
                if not isinstance(node, Mapping):
                    continue
                own = node.get("return")
                if isinstance(own, Mapping) and isinstance(own.get("id"), str):
                    ids.append(own["id"])
                    continue
                order = node.get("rfoOrder") or node.get("refundOrder") or node
                returns = order.get("returns") if isinstance(order, Mapping) else None
                if not isinstance(returns, Mapping):
                    continue
                ids += [r["id"] for r in returns.get("nodes") or ()
                        if isinstance(r, Mapping) and isinstance(r.get("id"), str)]
                if (returns.get("pageInfo") or {}).get("hasNextPage") and \
                        isinstance(order.get("id"), str):
                    crowded.append(order["id"])
        for order_id in dict.fromkeys(crowded):
            async for page in self.gql.pages(q.order_returns(), {"id": order_id},
                                             ["order", "returns"]):
                ids += [r["id"] for r in page.nodes if isinstance(r, Mapping)
                        and isinstance(r.get("id"), str)]
        return list(dict.fromkeys(ids))

    async def _records(self, ids: list[str], core: Mapping[str, Mapping[str, Any]] | None = None
                       ) -> dict[str, dict[str, Any]]:
        """Each return's record: the three parts laid together by id (the core part given,
        when a bulk operation read it)."""
        records: dict[str, dict[str, Any]] = {}
        names = [n for n in q.PARTS if core is None or n != "core"]
        read = await asyncio.gather(*(self._part(name, ids) for name in names))
        found_by: dict[str, Mapping[str, Mapping[str, Any]]] = dict(zip(names, read,
                                                                        strict=True))
        if core is not None:
            found_by["core"] = core
        for name in q.PARTS:
            key = _PART_KEYS[name]
            for return_id, node in found_by[name].items():
                if key is None:
                    records.setdefault(return_id, {}).update(node)
                elif return_id in records or name != "core":
                    records.setdefault(return_id, {})[key] = node.get(key)
        return {i: r for i, r in records.items() if "name" in r}

    async def _part(self, name: str, ids: list[str]) -> dict[str, Mapping[str, Any]]:
        size = q.BATCH[name]
        document = q.by_ids(q.PARTS[name])
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), size):
            reply = await self.gql.execute(document, {"ids": ids[start:start + size]})
            for node in reply.data.get("nodes") or ():
                if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                    found[node["id"]] = node
        crowded = [i for i, node in found.items() if _has_more(node, _MORE[name])]
        for return_id in crowded:
            alone = {"core": q.return_core(q.ALONE),
                     "dispositions": q.return_dispositions(q.RFOS, q.ALONE,
                                                           q.ALONE_DELIVERIES),
                     "refunds": q.return_refunds(q.REFUNDS, q.ALONE, q.TRANSACTIONS)}[name]
            reply = await self.gql.execute(q.by_ids(alone), {"ids": [return_id]})
            for node in reply.data.get("nodes") or ():
                if isinstance(node, Mapping) and node.get("id") == return_id:
                    found[return_id] = node
        return found

    def parse(self, raw: Any) -> tuple[PlatformView, list[PayloadProblem]]:
        """One record as a view (and what in it could not be read); a record that does not
        validate as a bare view and its problem."""
        try:
            record = ShopifyReturn.model_validate(raw)
        except ValidationError as exc:
            name = raw.get("name") if isinstance(raw, Mapping) else None
            ref = name if isinstance(name, str) and name else str(
                raw.get("id") if isinstance(raw, Mapping) else "?")
            raw_ref = f"{SYSTEM}:{raw.get('id') if isinstance(raw, Mapping) else ref}"
            return (PlatformView(system=SYSTEM, return_ref=ref, raw_ref=raw_ref),
                    [PayloadProblem(side=Side.PLATFORM, record_id=ref, raw_ref=raw_ref,
                                    error=describe(exc))])
        return to_view(record, self.settings.mapping)

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        batch = PlatformBatch(fetched_at=kept.fetched_at, cursor=kept.cursor)
        for raw_ref, raw in kept.raw.items():
            breathe()
            view, problems = self.parse(raw)
            batch.views.append(view)
            batch.raw[view.raw_ref or raw_ref] = raw
            if problems:
                batch.problems.setdefault(view.return_ref, []).extend(problems)
        return batch

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        """A return read again replaces its view, problems and record; the rest stay."""
        if not earlier.views and earlier.raw:
            earlier = self.from_raw(earlier)
        refs = {v.return_ref for v in changed.views}
        views = {v.return_ref: v for v in earlier.views}
        views.update((v.return_ref, v) for v in changed.views)
        problems = {ref: found for ref, found in earlier.problems.items() if ref not in refs}
        problems.update(changed.problems)
        return PlatformBatch(
            views=sorted(views.values(), key=lambda v: v.return_ref), problems=problems,
            raw={**earlier.raw, **changed.raw}, fetched_at=changed.fetched_at,
            cursor=max(filter(None, (earlier.cursor, changed.cursor)), default=None))

    async def check_connection(self) -> str:
        reply = await self.gql.execute("{ orders(first: 1) { nodes { id } } }")
        orders = reply.data.get("orders")
        seen = len(orders.get("nodes") or ()) if isinstance(orders, Mapping) else 0
        return f"Shopify store at {self.settings.base_url}: reachable" + (
            "" if seen else " (no orders readable: check the read_orders scope)")

    async def aclose(self) -> None:
        await self.http.aclose()


def _has_more(node: Mapping[str, Any], connections: tuple[str, ...]) -> bool:
    for name in connections:
        value = node.get(name)
        if isinstance(value, Mapping):
            if (value.get("pageInfo") or {}).get("hasNextPage"):
                return True
            for child in value.get("nodes") or ():
                if isinstance(child, Mapping) and any(
                        isinstance(v, Mapping) and (v.get("pageInfo") or {}).get("hasNextPage")
                        for v in child.values()):
                    return True
    return False


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

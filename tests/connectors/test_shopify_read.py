"""The Shopify connector's read against a small store served by the GraphQL kit over
Shopify's own schema subset (returns_console/systems/shopify/schema.graphql): orders changed
since a moment, their returns read by id in three parts, batches and re-reads alone, the
bucket paced, and each lifecycle the docs describe (docs/vendors/shopify.md §3-§4) as the
stages of docs/shopify-netsuite-mapping.md. Not yet the lifecycle-faithful simulator the
sandbox will serve (issue 14): records here are written by hand, state by state."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from returns_console.connectors.http import RetryPolicy
from returns_console.domain.codes import Stage, StageStatus
from returns_console.kits.graphql.cost import CostBucket
from returns_console.kits.graphql.server import Endpoint, ServerBucket
from returns_console.systems.shopify import queries as q
from returns_console.systems.shopify.connector import ShopifyConnector, ShopifySettings

SCHEMA = Path(__file__).resolve().parents[2] / "returns_console" / "systems" / "shopify" / \
    "schema.graphql"
NOW = datetime.now(UTC).replace(microsecond=0)
ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: str, currency: str = "GBP") -> dict:
    return {"shopMoney": {"amount": amount, "currencyCode": currency},
            "presentmentMoney": {"amount": amount, "currencyCode": currency}}


class Store:
    """Orders with returns, refunds and reverse fulfillment, as the Admin API shows them."""

    def __init__(self) -> None:
        self.orders: list[dict] = []
        self.returns: dict[str, dict] = {}
        self.asked: list[dict] = []

    def order(self, number: int, updated: datetime) -> dict:
        order = {"__typename": "Order", "id": f"gid://shopify/Order/{number}",
                 "name": f"#{number}", "email": f"c{number}@example.com",
                 "createdAt": iso(updated - timedelta(days=5)), "updatedAt": iso(updated),
                 "currencyCode": "GBP", "presentmentCurrencyCode": "GBP", "returns": []}
        self.orders.append(order)
        return order

    def give_return(self, order: dict, n: int, status: str, *, lines: list[dict],
                    rfos: list[dict] | None = None, refunds: list[dict] | None = None,
                    approved: bool = True, exchanges: list[dict] | None = None) -> dict:
        number = order["name"].lstrip("#")
        created = datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00"))
        ret = {"__typename": "Return", "id": f"gid://shopify/Return/{number}{n}",
               "name": f"#{number}-R{n}", "status": status, "createdAt": iso(created),
               "requestApprovedAt": iso(created + timedelta(hours=2)) if approved else None,
               "closedAt": iso(created + timedelta(days=3)) if status == "CLOSED" else None,
               "totalQuantity": sum(line["quantity"] for line in lines),
               "decline": None, "returnShippingFees": [],
               "order": order, "returnLineItems": lines, "exchangeLineItems": exchanges or [],
               "reverseFulfillmentOrders": rfos or [], "refunds": refunds or []}
        order["returns"].append(ret)
        self.returns[ret["id"]] = ret
        return ret

    def root(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "nodes": lambda info, ids: [self.returns.get(i) for i in ids],
            "order": lambda info, id: next((o for o in self.orders if o["id"] == id), None),
        }

    def orders_since(self, items: list[dict], args: dict) -> list[dict]:
        """`updated_at:>'<moment>'`, sorted by updatedAt (sortKey UPDATED_AT)."""
        found = re.fullmatch(r"updated_at:>'([^']+)'", args.get("query") or "")
        kept = [o for o in items if found is None or o["updatedAt"] > found.group(1)]
        return sorted(kept, key=lambda o: o["updatedAt"])


def line(n: int, sku: str | None, quantity: int = 1, processed: int = 0,
         unverified: bool = False) -> dict:
    item = {"id": f"gid://shopify/LineItem/{n}", "sku": sku,
            "originalUnitPriceSet": money("20.00")}
    out = {"__typename": "UnverifiedReturnLineItem" if unverified else "ReturnLineItem",
           "id": f"gid://shopify/ReturnLineItem/{n}", "quantity": quantity,
           "processedQuantity": processed, "processableQuantity": quantity - processed,
           "unprocessedQuantity": quantity - processed, "refundableQuantity": quantity,
           "refundedQuantity": 0, "returnReason": "SIZE_TOO_SMALL", "returnReasonNote": "",
           "customerNote": None}
    if not unverified:
        out["fulfillmentLineItem"] = {"id": f"gid://shopify/FulfillmentLineItem/{n}",
                                      "lineItem": item}
    return out


def rfo(n: int, items: list[tuple[int, int, list[tuple[str, int, datetime]]]]) -> dict:
    return {"__typename": "ReverseFulfillmentOrder", "id": f"gid://shopify/RFO/{n}",
            "status": "OPEN", "lineItems": [
                {"id": f"gid://shopify/RFOLine/{n}{i}", "totalQuantity": qty,
                 "fulfillmentLineItem": {"id": f"gid://shopify/FulfillmentLineItem/{i}",
                                         "lineItem": {"id": f"gid://shopify/LineItem/{i}",
                                                      "sku": None}},
                 "dispositions": [{"id": f"gid://shopify/Disposition/{n}{i}{k}",
                                   "createdAt": iso(at), "quantity": dq, "type": kind,
                                   "location": {"id": "gid://shopify/Location/1",
                                                "name": "Main warehouse"}}
                                  for k, (kind, dq, at) in enumerate(dispositions)]}
                for i, qty, dispositions in items]}


def refund(n: int, at: datetime, status: str = "SUCCESS", restock: str = "RETURN",
           items: str = "40.00", tax: str = "8.00", line_item: int = 1) -> dict:
    return {"id": f"gid://shopify/Refund/{n}", "createdAt": iso(at), "processedAt": iso(at),
            "refundLineItems": [{"quantity": 2, "restockType": restock,
                                 "restocked": restock == "RETURN",
                                 "location": {"id": "gid://shopify/Location/1"},
                                 "lineItem": {"id": f"gid://shopify/LineItem/{line_item}",
                                              "sku": "SKU-A"},
                                 "subtotalSet": money(items), "totalTaxSet": money(tax)}],
            "refundShippingLines": [], "transactions": [
                {"id": f"gid://shopify/OrderTransaction/{n}", "kind": "REFUND",
                 "status": status, "processedAt": iso(at), "createdAt": iso(at),
                 "gateway": "shopify_payments",
                 "amountSet": money(str(Decimal(items) + Decimal(tax)))}]}


@pytest.fixture
def store() -> Store:
    s = Store()
    recent, old = NOW - timedelta(hours=1), NOW - timedelta(days=400)
    done = NOW - timedelta(days=2)
    s.give_return(s.order(1001, recent), 1, "CLOSED", lines=[line(1, "SKU-A", 2, 2)],
                  rfos=[rfo(1, [(1, 2, [("RESTOCKED", 2, done)])])],
                  refunds=[refund(1, done + timedelta(hours=1))])
    s.give_return(s.order(1002, recent), 1, "REQUESTED", lines=[line(2, "SKU-B")],
                  approved=False)
    s.give_return(s.order(1003, recent), 1, "CLOSED", lines=[line(3, "SKU-C", 1, 1)])
    s.give_return(s.order(1004, recent), 1, "OPEN", lines=[line(4, "SKU-D", 2)],
                  rfos=[rfo(4, [(4, 2, [("PROCESSING_REQUIRED", 2, done)])])],
                  refunds=[refund(4, done, status="PENDING", line_item=4)])
    s.give_return(s.order(1005, recent), 1, "OPEN",
                  lines=[line(5, "SKU-E"), line(6, None, unverified=True)])
    s.give_return(s.order(1006, recent), 1, "OPEN",
                  lines=[line(100 + i, f"SKU-M{i}") for i in range(q.LINES + 2)])
    s.give_return(s.order(999, old), 1, "CLOSED", lines=[line(9, "SKU-Z")])
    return s


def connector(store: Store, *, bucket_size: float = 1000, rate: float = 1000,
              clock: Any = None) -> ShopifyConnector:
    endpoint = Endpoint(SCHEMA.read_text(encoding="utf-8"), store.root,
                        filters={"QueryRoot.orders": store.orders_since},
                        bucket=ServerBucket(maximum=bucket_size, restore_rate=rate,
                                            **({"clock": clock} if clock else {})))

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/admin/api/2026-07/graphql.json"
        assert request.headers["X-Shopify-Access-Token"] == "shpat_test_token_0001"
        store.asked.append(json.loads(request.content))
        status, body = endpoint.answer(request.content)
        return httpx.Response(status, json=body)

    settings = ShopifySettings(base_url="https://northwind.myshopify.com",
                               access_token="shpat_test_token_0001", history_days=60)
    bucket = CostBucket(clock=clock, sleep=clock.sleep) if clock else None
    return ShopifyConnector(settings, transport=httpx.MockTransport(answer), retry=ONCE,
                            bucket=bucket)


async def test_a_full_read_finds_every_recent_return_and_its_lifecycle(store: Store) -> None:
    shopify = connector(store)
    batch = await shopify.fetch_returns()
    views = {v.return_ref: v for v in batch.views}
    assert sorted(views) == ["#1001-R1", "#1002-R1", "#1003-R1", "#1004-R1", "#1005-R1",
                             "#1006-R1"]  # #999 changed 400 days ago: outside history_days
    done = views["#1001-R1"]
    assert done.order_ref == "#1001" and done.customer_email == "c1001@example.com"
    assert [(s, done.stage(s).status) for s in (Stage.AUTHORISED, Stage.RECEIVED,
                                                 Stage.INSPECTED, Stage.RESTOCKED,
                                                 Stage.CREDITED)] == [
        (s, StageStatus.DONE) for s in (Stage.AUTHORISED, Stage.RECEIVED, Stage.INSPECTED,
                                        Stage.RESTOCKED, Stage.CREDITED)]
    assert done.refund is not None and done.refund.total == Decimal("48.00")
    assert done.refund.currency == "GBP" and done.refund_method == "shopify_payments"
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.location) for ln in done.lines] == [
        ("SKU-A", Decimal(2), Decimal("20.00"), "Main warehouse")]
    assert views["#1002-R1"].stage(Stage.AUTHORISED).status is StageStatus.PENDING
    assert views["#1003-R1"].stage(Stage.CREDITED).status is StageStatus.NOT_APPLICABLE
    waiting = views["#1004-R1"]
    assert waiting.stage(Stage.CREDITED).status is StageStatus.PENDING
    # PROCESSING_REQUIRED only: received, its inspection not started
    assert waiting.stage(Stage.RECEIVED).status is StageStatus.DONE
    assert waiting.stage(Stage.INSPECTED).status is StageStatus.NOT_STARTED
    assert waiting.stage(Stage.RESTOCKED).status is StageStatus.NOT_STARTED
    assert [p.error for p in batch.problems["#1005-R1"]] == [
        "return line gid://shopify/ReturnLineItem/6 (UnverifiedReturnLineItem) has no SKU "
        "Shopify can give: an unverified line or a product without one"]
    assert len(views["#1006-R1"].lines) == q.LINES + 2  # read again alone
    assert batch.raw and all(ref.startswith("shopify:gid://shopify/Return/")
                             for ref in batch.raw)
    assert batch.cursor is not None
    await shopify.aclose()


async def test_a_refresh_reads_what_changed_since_less_the_overlap(store: Store) -> None:
    shopify = connector(store)
    first = await shopify.fetch_returns()
    cursor = datetime.fromisoformat(first.cursor)
    store.orders[1]["updatedAt"] = iso(NOW + timedelta(minutes=1))
    for order in store.orders:
        if order is not store.orders[1]:
            order["updatedAt"] = iso(cursor - timedelta(hours=5))
    store.orders[1]["returns"][0]["status"] = "OPEN"
    store.orders[1]["returns"][0]["requestApprovedAt"] = iso(NOW)
    changed = await shopify.fetch_returns(updated_since=cursor)
    assert [v.return_ref for v in changed.views] == ["#1002-R1"]
    merged = shopify.merge(first, changed)
    assert {v.return_ref: v.stage(Stage.AUTHORISED).status for v in merged.views}[
        "#1002-R1"] is StageStatus.DONE
    assert len(merged.views) == len(first.views)
    again = shopify.from_raw(type(first)(raw=dict(merged.raw)))
    assert sorted(v.return_ref for v in again.views) == sorted(
        v.return_ref for v in merged.views)
    await shopify.aclose()


async def test_batches_fit_the_limit_and_the_bucket_is_never_overrun(store: Store) -> None:
    """A Standard store's 100-point rate over a 1,000 bucket: the read waits for the
    bucket rather than being throttled; every query asks at most the limit."""
    from tests.kits.test_graphql_client import Clock

    clock = Clock()
    shopify = connector(store, bucket_size=1000, rate=100, clock=clock)
    batch = await shopify.fetch_returns()
    assert len(batch.views) == 6
    assert shopify.gql.throttled == 0
    parts = [a for a in store.asked if "ReturnsById" in a["query"]]
    assert parts and all(len(a["variables"]["ids"]) <= max(q.BATCH.values()) for a in parts)
    await shopify.aclose()


async def test_a_record_that_does_not_validate_is_a_payload_problem(store: Store) -> None:
    shopify = connector(store)
    view, problems = shopify.parse({"id": "gid://shopify/Return/1", "name": "#1-R1",
                                    "status": "OPEN"})
    assert view.return_ref == "#1-R1" and problems and "createdAt" in problems[0].error
    view, problems = shopify.parse(["not", "a", "record"])
    assert problems
    await shopify.aclose()


def test_the_factory_opens_a_connector_from_a_profiles_options() -> None:
    from pydantic import SecretStr

    from returns_console.connectors.connection import Connection
    from returns_console.connectors.http import CallLog
    from returns_console.systems.shopify.factory import open_connector
    from returns_console.systems.shopify.options import ShopifyOptions

    made = open_connector(Connection(
        profile="p", base_url="https://northwind.myshopify.com",
        options=ShopifyOptions(api_version="2026-04", history_days=30,
                               disposition_final_types="RESTOCKED"),
        secret=lambda name: SecretStr("shpat_x" if name == "access_token" else ""),
        log=CallLog(), retry=ONCE))
    assert made.gql.path == "/admin/api/2026-04/graphql.json"
    assert made.settings.history_days == 30
    assert made.settings.mapping.disposition_final_types == ("RESTOCKED",)


async def test_a_requested_return_is_authorised_at_approval_unless_the_profile_says_request(
        store: Store) -> None:
    """Shopify: a REQUESTED return "requires merchant approval before processing" (§4.2);
    whether an integration makes the ERP's return document then or at once is its own
    choice (option `authorised_at`), so RETURN_ORDER_MISSING waits for what it says."""
    from returns_console.systems.shopify.mapping import MappingSettings

    shopify = connector(store)
    by_default = {v.return_ref: v for v in (await shopify.fetch_returns()).views}
    shopify.settings = replace(shopify.settings,
                               mapping=MappingSettings(authorised_at="request"))
    at_request = {v.return_ref: v for v in (await shopify.fetch_returns()).views}
    await shopify.aclose()
    requested = by_default["#1002-R1"].stage(Stage.AUTHORISED)
    assert (requested.status, requested.detail) == (StageStatus.PENDING, "REQUESTED")
    asked = at_request["#1002-R1"].stage(Stage.AUTHORISED)
    assert (asked.status, asked.at) == (StageStatus.DONE, requested.at)
    assert at_request["#1001-R1"] == by_default["#1001-R1"]  # approved: the same either way


async def test_each_lines_fate_is_read_from_its_dispositions_and_missing_units_not_received(
        store: Store) -> None:
    """§3.5: of a line's processed units, RESTOCKED ones went back on sale, NOT_RESTOCKED
    ones did not, MISSING ones were "expected but absent" (never received); an earlier
    PROCESSING_REQUIRED row is not a fate. What a receipt made for the platform may take."""
    done = NOW - timedelta(days=1)
    s = store
    s.give_return(s.order(1007, NOW - timedelta(minutes=30)), 1, "OPEN",
                  lines=[line(7, "SKU-F", 4, 4)],
                  rfos=[rfo(7, [(7, 4, [("PROCESSING_REQUIRED", 3, done),
                                        ("RESTOCKED", 2, done), ("NOT_RESTOCKED", 1, done),
                                        ("MISSING", 1, done)])])])
    shopify = connector(s)
    views = {v.return_ref: v for v in (await shopify.fetch_returns()).views}
    await shopify.aclose()
    (mixed,) = views["#1007-R1"].lines
    assert (mixed.received_quantity, mixed.restocked_quantity,
            mixed.not_restocked_quantity) == (Decimal(3), Decimal(2), Decimal(1))
    assert views["#1007-R1"].stage(Stage.INSPECTED).status is StageStatus.DONE
    (restocked,) = views["#1001-R1"].lines
    assert (restocked.restocked_quantity, restocked.not_restocked_quantity) == (2, 0)
    (processing,) = views["#1004-R1"].lines  # received, no fate decided yet
    assert (processing.restocked_quantity, processing.not_restocked_quantity) == (0, 0)
    (no_rfo,) = views["#1003-R1"].lines  # no reverse fulfillment: not said per line
    assert no_rfo.restocked_quantity is None and no_rfo.received_quantity == 1

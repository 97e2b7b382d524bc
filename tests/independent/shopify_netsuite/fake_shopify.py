"""A fake of the Shopify GraphQL Admin API (returns and refunds), from shopify.dev.

Served: ``POST /admin/api/{api_version}/graphql.json`` with ``X-Shopify-Access-Token``
(research notes returns-platforms.md 4.1; shopify.dev/docs/api/admin-graphql#authentication).
A small GraphQL engine (parser + executor) answers any query over the objects modelled here:
operations, variables, aliases, named fragments, inline fragments on interfaces/unions,
``@include``/``@skip``, ``__typename``, connections with ``first/last/after/before/reverse``
(``edges{cursor node}``, ``nodes``, ``pageInfo``), ``node(id:)`` / ``nodes(ids:)``.

Behaviour modelled (each with its source):
  * Root fields: ``orders(first, after, last, before, reverse, sortKey, query)``, ``order(id)``,
    ``return(id)``, ``reverseFulfillmentOrder(id)``, ``location(id)``, ``locations``, ``node``,
    ``nodes``, ``shop``. There is no root ``returns`` connection: returns are reached through
    ``Order.returns`` (shopify.dev .../connections/ReturnConnection: "Fields with this
    connection: Order.returns") or ``return(id:)``.
  * Only the last 60 days of orders are visible by default (shopify.dev .../objects/Order note
    "Only the last 60 days' worth of orders from a store are accessible ... by default").
  * Orders search syntax (shopify.dev .../queries/orders ``query`` filters ``updated_at``,
    ``created_at``, ``processed_at``, ``name``, ``id``, ``return_status`` -- changelog "Filter
    orders by return status", 2023-04); OrderSortKeys incl. UPDATED_AT, CREATED_AT, ID,
    PROCESSED_AT, ORDER_NUMBER (shopify.dev .../enums/OrderSortKeys).
  * Return {id name status createdAt requestApprovedAt closedAt decline order returnLineItems
    reverseFulfillmentOrders refunds exchangeLineItems returnShippingFees totalQuantity
    transactions} (shopify.dev/docs/api/admin-graphql/2026-01/objects/Return); ReturnStatus
    REQUESTED/OPEN/CLOSED/DECLINED/CANCELED (.../enums/ReturnStatus); ``returnLineItems`` is a
    ReturnLineItemTypeConnection (interface ReturnLineItemType, implemented by ReturnLineItem
    and UnverifiedReturnLineItem), so ``fulfillmentLineItem`` needs ``... on ReturnLineItem``.
  * ReverseFulfillmentOrder {status OPEN/CLOSED/CANCELED, lineItems{totalQuantity
    fulfillmentLineItem dispositions}, reverseDeliveries} and ReverseFulfillmentOrderDisposition
    {id createdAt location quantity type RESTOCKED/NOT_RESTOCKED/PROCESSING_REQUIRED/MISSING}
    (guide "Manage reverse fulfillment orders"; .../objects/ReverseFulfillmentOrderDisposition;
    .../enums/ReverseFulfillmentOrderDispositionType).
  * Refund {createdAt note order return totalRefundedSet refundLineItems transactions
    refundShippingLines orderAdjustments} and RefundLineItem {lineItem location priceSet
    quantity restocked restockType subtotalSet totalTaxSet}; RefundLineItemRestockType
    RETURN/CANCEL/NO_RESTOCK/LEGACY_RESTOCK (.../objects/RefundLineItem,
    .../enums/RefundLineItemRestockType); Order.refunds is a plain list ``[Refund!]!``.
  * MoneyBag {shopMoney presentmentMoney} of MoneyV2 {amount currencyCode}; Decimal amounts are
    strings.
  * Cost: every response carries ``extensions.cost {requestedQueryCost actualQueryCost
    throttleStatus{maximumAvailable currentlyAvailable restoreRate}}``; scalars/enums cost 0,
    objects 1, connections 2 + first x the cost of one node (shopify.dev
    apps/build/apis/graphql-admin/rate-limits "Cost calculation"); a leaky bucket per app+store
    (Standard plan: restores 100 points/second, same page). A throttled call answers
    ``errors: [{message: "Throttled", extensions: {code: "THROTTLED"}}]`` with the cost
    extension and no data (community.shopify.com t/8456, research notes 4.5).
  * Unknown fields are GraphQL validation errors with no ``data`` (GraphQL spec; Shopify's
    "Field 'x' doesn't exist on type 'Y'", extensions.code ``undefinedField``).

Assumptions (not settled by the docs):
  1. A throttled call is HTTP 200 (the docs name no status; the community thread's 429 is
     about REST). ``force_throttle`` makes chosen request numbers throttled regardless of cost.
  2. Bucket: maximumAvailable 2000, restoreRate 100 (the docs give the restore rate only);
     a single query may cost at most 1000 (widely reported, shopify.dev older rate-limit page);
     over it: error code MAX_COST_EXCEEDED and no data.
  3. ``first``/``last`` at most 250 (Shopify API limits: "arrays ... maximum size of 250");
     a connection without either is an error.
  4. Cost of a plain list of objects: 1 + the cost of one element.
  5. Search: unknown filter keys are ignored; comparisons on timestamps accept ISO dates
     or datetimes, quoted or not; terms are ANDed, ``OR`` between groups.
  6. Cursors are opaque base64 of the position in the sorted, filtered list.
  7. Introspection (``__schema``) is not served.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .scenario import ACCESS_TOKEN, NOW, World

# ====================================================================================== schema
# type -> field -> return type. "[T]" a list, "conn:T" a connection, scalar/enum names below.
SCALARS = {"ID", "String", "Int", "Float", "Boolean", "DateTime", "Decimal", "URL", "JSON",
           "Enum"}
_MONEY = {"shopMoney": "MoneyV2", "presentmentMoney": "MoneyV2"}
_RLI_COMMON = {"id": "ID", "quantity": "Int", "returnReason": "Enum",
               "returnReasonNote": "String", "customerNote": "String",
               "refundableQuantity": "Int", "refundedQuantity": "Int",
               "processedQuantity": "Int", "unprocessedQuantity": "Int",
               "processableQuantity": "Int"}
SCHEMA: dict[str, dict[str, str]] = {
    "QueryRoot": {"shop": "Shop", "orders": "conn:Order", "order": "Order", "return": "Return",
                  "reverseFulfillmentOrder": "ReverseFulfillmentOrder", "location": "Location",
                  "locations": "conn:Location", "node": "Node", "nodes": "[Node]"},
    "Shop": {"id": "ID", "name": "String", "myshopifyDomain": "String", "currencyCode": "Enum",
             "ianaTimezone": "String", "timezoneAbbreviation": "String", "email": "String",
             "enabledPresentmentCurrencies": "[Enum]"},
    "MoneyBag": _MONEY,
    "MoneyV2": {"amount": "Decimal", "currencyCode": "Enum"},
    "Customer": {"id": "ID", "legacyResourceId": "String", "firstName": "String",
                 "lastName": "String", "displayName": "String", "email": "String",
                 "createdAt": "DateTime", "updatedAt": "DateTime"},
    "Location": {"id": "ID", "legacyResourceId": "String", "name": "String",
                 "isActive": "Boolean"},
    "Order": {"id": "ID", "legacyResourceId": "String", "name": "String",
              "createdAt": "DateTime", "updatedAt": "DateTime", "processedAt": "DateTime",
              "closedAt": "DateTime", "cancelledAt": "DateTime", "currencyCode": "Enum",
              "presentmentCurrencyCode": "Enum", "taxesIncluded": "Boolean", "email": "String",
              "customer": "Customer", "lineItems": "conn:LineItem", "refunds": "[Refund]",
              "returns": "conn:Return", "returnStatus": "Enum", "displayFinancialStatus": "Enum",
              "displayFulfillmentStatus": "Enum", "totalPriceSet": "MoneyBag",
              "currentTotalPriceSet": "MoneyBag", "totalRefundedSet": "MoneyBag",
              "fulfillments": "[Fulfillment]", "note": "String", "tags": "[String]",
              "test": "Boolean", "sourceName": "String", "poNumber": "String"},
    "LineItem": {"id": "ID", "name": "String", "title": "String", "variantTitle": "String",
                 "sku": "String", "quantity": "Int", "currentQuantity": "Int",
                 "refundableQuantity": "Int", "variant": "ProductVariant", "vendor": "String",
                 "requiresShipping": "Boolean", "taxable": "Boolean",
                 "originalUnitPriceSet": "MoneyBag", "discountedUnitPriceSet": "MoneyBag",
                 "originalTotalSet": "MoneyBag", "discountedTotalSet": "MoneyBag",
                 "taxLines": "[TaxLine]"},
    "ProductVariant": {"id": "ID", "sku": "String", "title": "String", "displayName": "String",
                       "barcode": "String"},
    "TaxLine": {"title": "String", "rate": "Float", "ratePercentage": "Float",
                "channelLiable": "Boolean", "priceSet": "MoneyBag"},
    "Fulfillment": {"id": "ID", "status": "Enum", "createdAt": "DateTime",
                    "location": "Location", "fulfillmentLineItems": "conn:FulfillmentLineItem"},
    "FulfillmentLineItem": {"id": "ID", "lineItem": "LineItem", "quantity": "Int",
                            "originalTotalSet": "MoneyBag", "discountedTotalSet": "MoneyBag"},
    "Return": {"id": "ID", "name": "String", "status": "Enum", "createdAt": "DateTime",
               "requestApprovedAt": "DateTime", "closedAt": "DateTime", "order": "Order",
               "decline": "ReturnDecline", "returnLineItems": "conn:ReturnLineItemType",
               "reverseFulfillmentOrders": "conn:ReverseFulfillmentOrder",
               "refunds": "conn:Refund", "exchangeLineItems": "conn:ExchangeLineItem",
               "returnShippingFees": "[ReturnShippingFee]", "totalQuantity": "Int",
               "transactions": "conn:OrderTransaction", "staffMember": "StaffMember"},
    "ReturnDecline": {"reason": "Enum", "note": "String"},
    "ReturnLineItemType": dict(_RLI_COMMON),
    "ReturnLineItem": dict(_RLI_COMMON, fulfillmentLineItem="FulfillmentLineItem",
                           restockingFee="RestockingFee", totalWeight="Weight",
                           withCodeDiscountedTotalPriceSet="MoneyBag"),
    "UnverifiedReturnLineItem": dict(_RLI_COMMON, unitPrice="MoneyV2"),
    "RestockingFee": {"id": "ID", "amountSet": "MoneyBag", "percentage": "Float"},
    "Weight": {"unit": "Enum", "value": "Float"},
    "ReturnShippingFee": {"id": "ID", "amountSet": "MoneyBag"},
    # fields per shopify.dev/docs/api/admin-graphql/2026-01/objects/ExchangeLineItem
    "ExchangeLineItem": {"id": "ID", "quantity": "Int", "lineItem": "LineItem",
                         "lineItems": "[LineItem]", "processableQuantity": "Int",
                         "processedQuantity": "Int", "unprocessedQuantity": "Int",
                         "variantId": "ID"},
    "StaffMember": {"id": "ID", "name": "String"},
    "ReverseFulfillmentOrder": {"id": "ID", "status": "Enum", "order": "Order",
                                "lineItems": "conn:ReverseFulfillmentOrderLineItem",
                                "reverseDeliveries": "conn:ReverseDelivery",
                                "thirdPartyConfirmation": "ThirdPartyConfirmation"},
    "ThirdPartyConfirmation": {"status": "Enum"},
    "ReverseFulfillmentOrderLineItem": {
        "id": "ID", "totalQuantity": "Int", "fulfillmentLineItem": "FulfillmentLineItem",
        "dispositions": "[ReverseFulfillmentOrderDisposition]", "dispositionType": "Enum"},
    "ReverseFulfillmentOrderDisposition": {"id": "ID", "createdAt": "DateTime",
                                           "location": "Location", "quantity": "Int",
                                           "type": "Enum"},
    "ReverseDelivery": {"id": "ID", "deliverable": "ReverseDeliveryDeliverable",
                        "reverseDeliveryLineItems": "conn:ReverseDeliveryLineItem",
                        "reverseFulfillmentOrder": "ReverseFulfillmentOrder"},
    "ReverseDeliveryDeliverable": {},
    "ReverseDeliveryShippingDeliverable": {"label": "ReverseDeliveryLabelV2",
                                           "tracking": "ReverseDeliveryTrackingV2"},
    "ReverseDeliveryLabelV2": {"publicFileUrl": "URL", "createdAt": "DateTime",
                               "updatedAt": "DateTime"},
    "ReverseDeliveryTrackingV2": {"number": "String", "carrierName": "String", "url": "URL"},
    "ReverseDeliveryLineItem": {"id": "ID", "quantity": "Int",
                                "reverseFulfillmentOrderLineItem":
                                    "ReverseFulfillmentOrderLineItem",
                                "dispositions": "[ReverseFulfillmentOrderDisposition]"},
    # processedAt: 2026-01+ (shopify.dev/changelog/set-processed-at-in-refund-create)
    "Refund": {"id": "ID", "legacyResourceId": "String", "createdAt": "DateTime",
               "processedAt": "DateTime", "updatedAt": "DateTime", "note": "String",
               "order": "Order", "return": "Return",
               "totalRefundedSet": "MoneyBag", "refundLineItems": "conn:RefundLineItem",
               "transactions": "conn:OrderTransaction",
               "refundShippingLines": "conn:RefundShippingLine",
               "orderAdjustments": "conn:OrderAdjustment", "duties": "[RefundDuty]",
               "staffMember": "StaffMember"},
    "RefundLineItem": {"id": "ID", "lineItem": "LineItem", "location": "Location",
                       "priceSet": "MoneyBag", "quantity": "Int", "restocked": "Boolean",
                       "restockType": "Enum", "subtotalSet": "MoneyBag",
                       "totalTaxSet": "MoneyBag"},
    "RefundShippingLine": {"id": "ID", "subtotalAmountSet": "MoneyBag",
                           "taxAmountSet": "MoneyBag"},
    "OrderAdjustment": {"id": "ID", "amountSet": "MoneyBag", "taxAmountSet": "MoneyBag",
                        "reason": "Enum"},
    "RefundDuty": {"amountSet": "MoneyBag"},
    "OrderTransaction": {"id": "ID", "kind": "Enum", "status": "Enum", "gateway": "String",
                         "formattedGateway": "String", "test": "Boolean",
                         "amountSet": "MoneyBag", "processedAt": "DateTime",
                         "createdAt": "DateTime", "parentTransaction": "OrderTransaction"},
    "PageInfo": {"hasNextPage": "Boolean", "hasPreviousPage": "Boolean",
                 "startCursor": "String", "endCursor": "String"},
    "Node": {"id": "ID"},
}
# abstract types -> concrete types that satisfy them
ABSTRACT = {
    "ReturnLineItemType": {"ReturnLineItem", "UnverifiedReturnLineItem"},
    "ReverseDeliveryDeliverable": {"ReverseDeliveryShippingDeliverable"},
    "Node": {"Order", "Return", "ReturnLineItem", "Refund", "RefundLineItem", "LineItem",
             "Customer", "Location", "ReverseFulfillmentOrder", "ReverseFulfillmentOrderLineItem",
             "ReverseFulfillmentOrderDisposition", "ReverseDelivery", "ReverseDeliveryLineItem",
             "FulfillmentLineItem", "Fulfillment", "OrderTransaction", "ProductVariant"},
}
MAX_PAGE = 250
MAX_QUERY_COST = 1000
BUCKET_MAX = 2000.0
RESTORE_RATE = 100.0


class GQLError(Exception):
    def __init__(self, message: str, code: str | None = None, **ext: Any) -> None:
        super().__init__(message)
        self.message = message
        self.ext = {"code": code, **ext} if code else ext


# ====================================================================================== lexer
_TOKEN = re.compile(
    r'(?P<ws>[\s,\ufeff]+|#[^\n]*)|(?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")|'
    r'(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<spread>\.\.\.)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|'
    r"(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>[!$():=@\[\]{}|&])"
)


def _lex(src: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise GQLError(f"Parse error on \"{src[pos:pos + 10]}\"", "parseError")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        out.append((kind, m.group()))
    out.append(("eof", ""))
    return out


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _lex(src)
        self.i = 0

    def peek(self, val: str | None = None, kind: str | None = None) -> bool:
        k, v = self.toks[self.i]
        return (val is None or v == val) and (kind is None or k == kind)

    def take(self, val: str | None = None, kind: str | None = None) -> str:
        k, v = self.toks[self.i]
        if (val is not None and v != val) or (kind is not None and k != kind):
            raise GQLError(f'Parse error on "{v}" ({k.upper()}), expected {val or kind}',
                           "parseError")
        self.i += 1
        return v

    def document(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        ops, frags = [], {}
        while not self.peek(kind="eof"):
            if self.peek("fragment"):
                self.take()
                name = self.take(kind="name")
                self.take("on")
                cond = self.take(kind="name")
                self.directives()
                frags[name] = {"on": cond, "sel": self.selection_set()}
            elif self.peek("{"):
                ops.append({"op": "query", "name": None, "vars": {}, "sel": self.selection_set()})
            else:
                op = self.take(kind="name")
                name = self.take(kind="name") if self.peek(kind="name") else None
                vars_: dict[str, Any] = {}
                if self.peek("("):
                    self.take("(")
                    while not self.peek(")"):
                        self.take("$")
                        vname = self.take(kind="name")
                        self.take(":")
                        self.type_ref()
                        default = None
                        if self.peek("="):
                            self.take("=")
                            default = self.value({})
                        vars_[vname] = default
                        self.directives()
                    self.take(")")
                self.directives()
                ops.append({"op": op, "name": name, "vars": vars_, "sel": self.selection_set()})
        return ops, frags

    def type_ref(self) -> None:
        if self.peek("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        if self.peek("!"):
            self.take("!")

    def directives(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while self.peek("@"):
            self.take("@")
            name = self.take(kind="name")
            out.append((name, self.arguments()))
        return out

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                k = self.take(kind="name")
                self.take(":")
                args[k] = self.value(None)
            self.take(")")
        return args

    def value(self, _ctx: Any) -> Any:
        k, v = self.toks[self.i]
        if v == "$":
            self.take()
            return ("$var", self.take(kind="name"))
        if v == "[":
            self.take()
            items = []
            while not self.peek("]"):
                items.append(self.value(None))
            self.take("]")
            return items
        if v == "{":
            self.take()
            obj = {}
            while not self.peek("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value(None)
            self.take("}")
            return obj
        self.i += 1
        if k == "str":
            return json.loads(v)
        if k == "block":
            return v[3:-3]
        if k == "num":
            return float(v) if any(c in v for c in ".eE") else int(v)
        if k == "name":
            return {"true": True, "false": False, "null": None}.get(v, ("$enum", v))
        raise GQLError(f'Parse error on "{v}"', "parseError")

    def selection_set(self) -> list[dict[str, Any]]:
        self.take("{")
        sels = []
        while not self.peek("}"):
            if self.peek("...", kind="spread"):
                self.take()
                if self.peek("on"):
                    self.take()
                    cond = self.take(kind="name")
                    dirs = self.directives()
                    sels.append({"kind": "inline", "on": cond, "dirs": dirs,
                                 "sel": self.selection_set()})
                elif self.peek(kind="name"):
                    name = self.take()
                    sels.append({"kind": "spread", "name": name, "dirs": self.directives()})
                else:
                    dirs = self.directives()
                    sels.append({"kind": "inline", "on": None, "dirs": dirs,
                                 "sel": self.selection_set()})
                continue
            name = self.take(kind="name")
            alias = name
            if self.peek(":"):
                self.take(":")
                name = self.take(kind="name")
            args = self.arguments()
            dirs = self.directives()
            sub = self.selection_set() if self.peek("{") else None
            sels.append({"kind": "field", "alias": alias, "name": name, "args": args,
                         "dirs": dirs, "sel": sub})
        self.take("}")
        return sels


# =================================================================================== executor
def _resolve_value(v: Any, variables: dict[str, Any]) -> Any:
    if isinstance(v, tuple) and v and v[0] == "$var":
        return variables.get(v[1])
    if isinstance(v, tuple) and v and v[0] == "$enum":
        return v[1]
    if isinstance(v, list):
        return [_resolve_value(x, variables) for x in v]
    if isinstance(v, dict):
        return {k: _resolve_value(x, variables) for k, x in v.items()}
    return v


def _cursor(i: int) -> str:
    return base64.b64encode(json.dumps({"last_id": i, "v": 1}).encode()).decode()


def _uncursor(c: str) -> int:
    try:
        return int(json.loads(base64.b64decode(c))["last_id"])
    except Exception as e:
        raise GQLError(f"Invalid cursor for current pagination sort. ({c})",
                       "argumentLiteralsIncompatible") from e


def _parse_ts(s: str) -> datetime:
    s = s.strip().strip("'\"")
    if len(s) == 10:
        return datetime.fromisoformat(s).replace(tzinfo=UTC)
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_TERM = re.compile(r"""(-?)(\w+):(>=|<=|>|<|=)?('[^']*'|"[^"]*"|\S+)""")


def _order_matches(o: dict[str, Any], query: str | None) -> bool:
    """Shopify search syntax on the orders connection (assumption 5)."""
    if not query or not query.strip():
        return True
    groups = re.split(r"\s+OR\s+", query.strip())
    for g in groups:
        ok = True
        for neg, key, op, raw in _TERM.findall(g):
            val = raw.strip("'\"")
            key = key.lower()
            res: bool | None = None
            if key in ("updated_at", "created_at", "processed_at"):
                fv = datetime.fromisoformat(
                    o[{"updated_at": "updatedAt", "created_at": "createdAt",
                       "processed_at": "processedAt"}[key]].replace("Z", "+00:00"))
                tv = _parse_ts(val)
                res = {">": fv > tv, ">=": fv >= tv, "<": fv < tv, "<=": fv <= tv}.get(
                    op or "=", fv.date() == tv.date() if len(val) == 10 else fv == tv)
            elif key == "return_status":
                res = o["returnStatus"].lower() == val.lower()
            elif key == "name":
                res = o["name"].lstrip("#") == val.lstrip("#")
            elif key == "id":
                res = o["legacyResourceId"] == val.rsplit("/", 1)[-1]
            if res is not None and bool(neg) == res:
                ok = False
        if ok:
            return True
    return False


class Executor:
    def __init__(self, world: World, variables: dict[str, Any],
                 frags: dict[str, dict[str, Any]]) -> None:
        self.w = world
        self.vars = variables
        self.frags = frags
        self.actual = 0

    # ---- static checks and cost ------------------------------------------------------
    def _fields(self, sels: list[dict[str, Any]], typ: str) -> list[tuple[dict[str, Any], str]]:
        """Flatten a selection set for a type: (field selection, parent type)."""
        out = []
        for s in sels:
            if not self._included(s):
                continue
            if s["kind"] == "field":
                out.append((s, typ))
            elif s["kind"] == "inline":
                cond = s["on"] or typ
                self._check_type(cond)
                out += self._fields(s["sel"], cond)
            else:
                fr = self.frags.get(s["name"])
                if fr is None:
                    raise GQLError(f"Fragment {s['name']} was used, but not defined",
                                   "useAndDefineFragment")
                self._check_type(fr["on"])
                out += self._fields(fr["sel"], fr["on"])
        return out

    def _check_type(self, t: str) -> None:
        if t not in SCHEMA:
            raise GQLError(f"No such type {t}, so it can't be a fragment condition",
                           "undefinedType", typeName=t)

    def _included(self, s: dict[str, Any]) -> bool:
        for name, args in s.get("dirs", []):
            cond = _resolve_value(args.get("if"), self.vars)
            if name == "include" and not cond:
                return False
            if name == "skip" and cond:
                return False
        return True

    def cost(self, sels: list[dict[str, Any]], typ: str) -> int:
        total = 0
        for s, ptyp in self._fields(sels, typ):
            name = s["name"]
            if name == "__typename":
                continue
            ftype = SCHEMA[ptyp].get(name)
            if ftype is None:
                raise GQLError(f"Field '{name}' doesn't exist on type '{ptyp}'",
                               "undefinedField", typeName=ptyp, fieldName=name)
            if ftype.startswith("conn:"):
                node_t = ftype[5:]
                args = {k: _resolve_value(v, self.vars) for k, v in s["args"].items()}
                n = args.get("first") or args.get("last") or 0
                inner = 0
                for cs, _ in self._fields(s["sel"] or [], "Connection"):
                    if cs["name"] == "nodes":
                        inner = max(inner, 1 + self.cost(cs["sel"] or [], node_t))
                    elif cs["name"] == "edges":
                        for es, _ in self._fields(cs["sel"] or [], "Edge"):
                            if es["name"] == "node":
                                inner = max(inner, 1 + self.cost(es["sel"] or [], node_t))
                    elif cs["name"] == "pageInfo":
                        self.cost(cs["sel"] or [], "PageInfo")
                    elif cs["name"] not in ("__typename",):
                        raise GQLError(f"Field '{cs['name']}' doesn't exist on type "
                                       f"'{node_t}Connection'", "undefinedField")
                total += 2 + n * inner
            else:
                base = ftype.strip("[]")
                if base in SCALARS:
                    if s["sel"]:
                        raise GQLError(f"Selections can't be made on scalars (field '{name}' "
                                       f"returns {base})", "selectionMismatch")
                    continue
                if not s["sel"]:
                    raise GQLError(f"Field must have selections (field '{name}' returns "
                                   f"{base} but has no selections.)", "selectionMismatch")
                # an interface/union costs the maximum of its possible selections; fragments
                # on its members are all counted here (an over-estimate, never an under-)
                total += 1 + self.cost(s["sel"], base)
        return total

    # ---- execution -----------------------------------------------------------------------
    def obj(self, ref: Any) -> dict[str, Any] | None:
        if ref is None:
            return None
        if isinstance(ref, str):
            return self.w.nodes.get(ref)
        return ref

    def run(self, sels: list[dict[str, Any]], typ: str, src: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.actual += 1
        concrete = src.get("__typename", typ)
        for s, ptyp in self._fields(sels, typ):
            if ptyp != concrete and ptyp in SCHEMA and ptyp not in ABSTRACT and \
                    ptyp not in ("QueryRoot",):
                continue  # inline fragment on another concrete type
            if ptyp in ABSTRACT and concrete not in ABSTRACT[ptyp] and ptyp != typ:
                continue
            name = s["name"]
            if name == "__typename":
                out[s["alias"]] = concrete
                continue
            ftype = SCHEMA.get(concrete, SCHEMA[ptyp]).get(name) or SCHEMA[ptyp][name]
            args = {k: _resolve_value(v, self.vars) for k, v in s["args"].items()}
            if typ == "QueryRoot":
                out[s["alias"]] = self.root(name, args, s)
                continue
            raw = src.get(name)
            out[s["alias"]] = self.value(ftype, raw, args, s)
        return out

    def value(self, ftype: str, raw: Any, args: dict[str, Any], s: dict[str, Any]) -> Any:
        if ftype.startswith("conn:"):
            items = [self.obj(r) for r in (raw or [])]
            return self.connection(ftype[5:], [i for i in items if i is not None], args, s)
        if ftype.startswith("["):
            base = ftype[1:-1]
            if base in SCALARS:
                return raw
            items = [self.obj(r) for r in (raw or [])]
            if "first" in args:
                items = items[: args["first"]]
            return [self.run(s["sel"], base, i) for i in items if i is not None]
        if ftype in SCALARS:
            return raw
        o = self.obj(raw)
        return None if o is None else self.run(s["sel"], ftype, o)

    def connection(self, node_t: str, items: list[dict[str, Any]], args: dict[str, Any],
                   s: dict[str, Any]) -> dict[str, Any]:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise GQLError("you must provide one of first or last", "missingRequiredArguments")
        if (first or 0) > MAX_PAGE or (last or 0) > MAX_PAGE:
            raise GQLError(f"The first/last argument may not exceed {MAX_PAGE}",
                           "argumentLiteralsIncompatible")
        if args.get("reverse"):
            items = list(reversed(items))
        idx = list(range(len(items)))
        if args.get("after"):
            a = _uncursor(args["after"])
            idx = [i for i in idx if i > a]
        if args.get("before"):
            b = _uncursor(args["before"])
            idx = [i for i in idx if i < b]
        has_next = has_prev = False
        if first is not None:
            has_next = len(idx) > first
            has_prev = bool(args.get("after"))
            idx = idx[:first]
        if last is not None:
            has_prev = len(idx) > last
            has_next = bool(args.get("before"))
            idx = idx[-last:] if last else []
        self.actual += 2
        out: dict[str, Any] = {}
        for cs, _ in self._fields(s["sel"] or [], "Connection"):
            nm = cs["name"]
            if nm == "nodes":
                out[cs["alias"]] = [self.run(cs["sel"], node_t, items[i]) for i in idx]
            elif nm == "edges":
                edges = []
                for i in idx:
                    e: dict[str, Any] = {}
                    for es, _ in self._fields(cs["sel"] or [], "Edge"):
                        if es["name"] == "cursor":
                            e[es["alias"]] = _cursor(i)
                        elif es["name"] == "node":
                            e[es["alias"]] = self.run(es["sel"], node_t, items[i])
                        elif es["name"] == "__typename":
                            e[es["alias"]] = f"{node_t}Edge"
                    edges.append(e)
                out[cs["alias"]] = edges
            elif nm == "pageInfo":
                pi = {"hasNextPage": has_next, "hasPreviousPage": has_prev,
                      "startCursor": _cursor(idx[0]) if idx else None,
                      "endCursor": _cursor(idx[-1]) if idx else None, "__typename": "PageInfo"}
                out[cs["alias"]] = self.run(cs["sel"], "PageInfo", pi)
            elif nm == "__typename":
                out[cs["alias"]] = f"{node_t}Connection"
        return out

    def root(self, name: str, args: dict[str, Any], s: dict[str, Any]) -> Any:
        w = self.w
        if name == "shop":
            return self.run(s["sel"], "Shop", w.shop)
        if name == "orders":
            visible = [w.nodes[g] for g in w.orders
                       if NOW - datetime.fromisoformat(w.nodes[g]["createdAt"].replace(
                           "Z", "+00:00")) <= timedelta(days=60)]
            items = [o for o in visible if _order_matches(o, args.get("query"))]
            key = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt",
                   "PROCESSED_AT": "processedAt", "ORDER_NUMBER": "name",
                   "ID": "legacyResourceId"}.get(args.get("sortKey") or "ID", "legacyResourceId")
            items.sort(key=lambda o: (o[key], o["legacyResourceId"]))
            return self.connection("Order", items, args, s)
        if name == "locations":
            return self.connection("Location", [w.nodes[g] for g in w.locations], args, s)
        if name == "nodes":
            ids = args.get("ids") or []
            if len(ids) > MAX_PAGE:
                raise GQLError("The input array size of 251 is greater than the maximum "
                               "allowed of 250.", "MAX_INPUT_SIZE_EXCEEDED")
            return [None if (o := w.nodes.get(i)) is None else self.run(s["sel"], "Node", o)
                    for i in ids]
        want = {"order": "Order", "return": "Return", "location": "Location",
                "reverseFulfillmentOrder": "ReverseFulfillmentOrder", "node": "Node"}[name]
        o = w.nodes.get(str(args.get("id")))
        if o is None or (want != "Node" and o["__typename"] != want):
            return None
        if o["__typename"] == "Order" and NOW - datetime.fromisoformat(
                o["createdAt"].replace("Z", "+00:00")) > timedelta(days=60):
            return None
        return self.run(s["sel"], want, o)


# Connection/Edge pseudo-types for selection flattening
SCHEMA["Connection"] = {"edges": "Edge", "nodes": "Node", "pageInfo": "PageInfo"}
SCHEMA["Edge"] = {"cursor": "String", "node": "Node"}


# ====================================================================================== app
class Bucket:
    def __init__(self, maximum: float = BUCKET_MAX, rate: float = RESTORE_RATE) -> None:
        self.max, self.rate = maximum, rate
        self.level = maximum
        self.t = time.monotonic()
        self.lock = threading.Lock()

    def take(self, cost: float) -> tuple[bool, float]:
        with self.lock:
            now = time.monotonic()
            self.level = min(self.max, self.level + (now - self.t) * self.rate)
            self.t = now
            if cost > self.level:
                return False, self.level
            self.level -= cost
            return True, self.level

    def refund(self, amount: float) -> None:
        with self.lock:
            self.level = min(self.max, self.level + amount)


def make_app(world: World, *, force_throttle: set[int] | None = None,
             bucket_max: float = BUCKET_MAX, restore_rate: float = RESTORE_RATE) -> Starlette:
    bucket = Bucket(bucket_max, restore_rate)
    forced = set(force_throttle or ())
    counter = {"n": 0}
    log: list[dict[str, Any]] = []

    def throttle_ext(requested: int, actual: int | None, available: float) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": {"maximumAvailable": bucket.max,
                                            "currentlyAvailable": int(available),
                                            "restoreRate": bucket.rate}}}

    async def graphql(request: Request) -> JSONResponse:
        version = request.path_params["version"]
        entry: dict[str, Any] = {"path": request.url.path, "version": version}
        log.append(entry)
        if request.headers.get("x-shopify-access-token") != ACCESS_TOKEN:
            # REST-style 401 body for a missing/invalid token
            entry["status"] = 401
            return JSONResponse({"errors": "[API] Invalid API key or access token (unrecognized "
                                 "login or wrong password)"}, status_code=401)
        if not re.fullmatch(r"\d{4}-(01|04|07|10)|unstable", version):
            entry["status"] = 404
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        try:
            body = await request.json()
        except Exception:
            entry["status"] = 400
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}},
                                status_code=400)
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str):
            entry["status"] = 400
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}},
                                status_code=400)
        entry["query"] = query[:400]
        counter["n"] += 1
        variables = body.get("variables") or {}
        entry["variables"] = variables  # the ids a read names (test_shopify_webhooks reports)
        try:
            ops, frags = _Parser(query).document()
            op_name = body.get("operationName")
            ops = [o for o in ops if op_name is None or o["name"] == op_name]
            if not ops:
                raise GQLError("No operation found", "missingOperation")
            op = ops[0]
            if op["op"] != "query":
                raise GQLError(f"This fake serves queries only, not {op['op']}",
                               "operationNotSupported")
            allvars = {**{k: _resolve_value(v, {}) for k, v in op["vars"].items()
                          if v is not None}, **variables}
            ex = Executor(world, allvars, frags)
            requested = ex.cost(op["sel"], "QueryRoot")
        except GQLError as e:
            entry["status"] = 200
            return JSONResponse({"errors": [{"message": e.message, "extensions": e.ext}]})
        if requested > MAX_QUERY_COST:
            entry["status"] = 200
            return JSONResponse({
                "errors": [{"message": f"Query cost is {requested}, which exceeds the single "
                            f"query max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                           "maxCost": MAX_QUERY_COST}}],
                "extensions": throttle_ext(requested, None, bucket.level)})
        ok, level = bucket.take(requested)
        if counter["n"] in forced:
            ok = False
            bucket.refund(requested)
        if not ok:
            entry["status"] = 200
            entry["throttled"] = True
            return JSONResponse({
                "errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": throttle_ext(requested, None, level)})
        try:
            data = ex.run(op["sel"], "QueryRoot", {"__typename": "QueryRoot"})
        except GQLError as e:
            bucket.refund(requested)
            entry["status"] = 200
            return JSONResponse({"errors": [{"message": e.message, "extensions": e.ext}],
                                 "extensions": throttle_ext(requested, 0, bucket.level)})
        actual = min(requested, ex.actual)
        bucket.refund(requested - actual)  # the difference is refunded (rate-limits page)
        entry["status"] = 200
        entry["cost"] = requested
        return JSONResponse({"data": data,
                             "extensions": throttle_ext(requested, actual, bucket.level)})

    app = Starlette(routes=[Route("/admin/api/{version}/graphql.json", graphql,
                                  methods=["POST"])])
    app.state.log = log
    app.state.bucket = bucket
    return app

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

Bulk query operations (shopify.dev/docs/api/usage/bulk-operations/queries; the BulkOperation
object, bulkOperationRunQuery, bulkOperationCancel, ordersCount reference pages; facts restated
in docs/vendors/shopify.md §7):
  * ``mutation { bulkOperationRunQuery(query: String!, groupObjects: Boolean!) { bulkOperation
    { id status ... } userErrors { field message code } } }``. ``groupObjects`` defaults to
    false from 2026-01 (true before). The query is checked against the documented restrictions
    (one top-level field, which is a connection; not ``node``/``nodes``; at least one and at
    most five connections; nested connections at most two levels below the top one; every
    connection's node type implements ``Node``; [3p] no connection inside a list field) and a
    violation is a userError ``INVALID`` with no operation. Concurrency: up to five bulk
    queries at a time from 2026-01, one before; over it, userError ``OPERATION_IN_PROGRESS``.
  * The query runs over the fake's data with every connection unpaged (``first``, ``after``,
    ``cursor``, ``pageInfo`` are ignored in a bulk query). JSONL: one connection node per line;
    a nested connection's nodes on their own lines with ``__parentId`` (the id of the node
    whose connection holds them); plain objects and lists stay on the node's line. With
    ``groupObjects: true`` each child follows its parent; with false nothing is promised, and
    this fake writes the lines in a fixed shuffled order (children may come before parents).
    Slashes are written escaped (a backslash before each ``/`` of a gid), legal JSON seen in public
    captures of real files.
  * ``bulkOperation(id:)`` and ``bulkOperations`` (both 2026-01+: changelog "New Queries for
    Bulk Operations"; earlier versions answer undefinedField), ``node(id:) { ... on
    BulkOperation }`` and ``currentBulkOperation`` (deprecated 2026-01) poll it: CREATED
    when made, RUNNING at the next poll, then COMPLETED (or the outcome a test asks for:
    FAILED with ``errorCode`` and a ``partialDataUrl`` to a partial file, CANCELED,
    EXPIRED). ``objectCount``, ``rootObjectCount`` and ``fileSize`` are UnsignedInt64, i.e.
    strings; ``url`` is null when the query produced no results. ``createdAt`` and
    ``completedAt`` are on the world's clock (NOW plus the seconds the fake has been up).
  * ``url`` is a signed link on a separate path (``/_storage/bulk/<key>.jsonl?X-Goog-...``,
    optionally on another base URL, e.g. another server with TLS): it needs no access token
    (the signature is its credential; a wrong one is 403) and every download records whether
    an ``X-Shopify-Access-Token`` (or ``Authorization``) header came with it.
  * ``bulkOperationCancel(id:)``: CREATED/RUNNING become CANCELING, then CANCELED at the next
    poll; cancelling a finished operation is a userError.
  * ``ordersCount(query:, limit: Int = 10000, savedSearchId:) { count precision }`` over the
    visible orders with the orders search syntax, ``return_status`` included
    (``-return_status:no_return``); over the limit: ``count`` = limit, precision AT_LEAST.
  * Faults for the tests (``make_app`` arguments): ``bulk_outcome`` (FAILED, CANCELED,
    EXPIRED), ``bulk_busy`` (the app's other bulk queries fill the concurrency limit, so a new
    one is refused OPERATION_IN_PROGRESS), ``bulk_export_without_nested`` (the file holds the
    top-level nodes only, every nested connection's nodes missing, its counts agreeing with
    the file: what the public report Shopify/shopify-app-js#2710 describes for an export of
    orders with their returns; or a set of top-level ids: only their nested nodes missing),
    ``bulk_polls`` (polls until the outcome; a huge number: an export that never ends).
  Bulk assumptions: 8. ``__parentId`` is injected whether or not the parent's ``id`` was
  selected. 9. An interface connection (``returnLineItems``) counts as implementing ``Node``
  when each of its types does (both do). 10. userError messages are worded after Shopify's
  (not verbatim from its docs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .scenario import ACCESS_TOKEN, NOW, World

# ====================================================================================== schema
# type -> field -> return type. "[T]" a list, "conn:T" a connection, scalar/enum names below.
SCALARS = {"ID", "String", "Int", "Float", "Boolean", "DateTime", "Decimal", "URL", "JSON",
           "Enum", "UnsignedInt64"}
_MONEY = {"shopMoney": "MoneyV2", "presentmentMoney": "MoneyV2"}
_RLI_COMMON = {"id": "ID", "quantity": "Int", "returnReason": "Enum",
               "returnReasonNote": "String", "customerNote": "String",
               "refundableQuantity": "Int", "refundedQuantity": "Int",
               "processedQuantity": "Int", "unprocessedQuantity": "Int",
               "processableQuantity": "Int"}
SCHEMA: dict[str, dict[str, str]] = {
    "QueryRoot": {"shop": "Shop", "orders": "conn:Order", "order": "Order", "return": "Return",
                  "reverseFulfillmentOrder": "ReverseFulfillmentOrder", "location": "Location",
                  "locations": "conn:Location", "node": "Node", "nodes": "[Node]",
                  # bulk operations (2026-01+: bulkOperation(id:), bulkOperations;
                  # currentBulkOperation deprecated) and ordersCount (2024-07+)
                  "bulkOperation": "BulkOperation", "currentBulkOperation": "BulkOperation",
                  "bulkOperations": "conn:BulkOperation", "ordersCount": "Count"},
    "Mutation": {"bulkOperationRunQuery": "BulkOperationRunQueryPayload",
                 "bulkOperationCancel": "BulkOperationCancelPayload"},
    # shopify.dev .../objects/BulkOperation
    "BulkOperation": {"id": "ID", "status": "Enum", "errorCode": "Enum",
                      "createdAt": "DateTime", "completedAt": "DateTime",
                      "objectCount": "UnsignedInt64", "rootObjectCount": "UnsignedInt64",
                      "fileSize": "UnsignedInt64", "url": "URL", "partialDataUrl": "URL",
                      "query": "String", "type": "Enum"},
    "BulkOperationRunQueryPayload": {"bulkOperation": "BulkOperation",
                                     "userErrors": "[BulkOperationUserError]"},
    "BulkOperationUserError": {"field": "[String]", "message": "String", "code": "Enum"},
    "BulkOperationCancelPayload": {"bulkOperation": "BulkOperation",
                                   "userErrors": "[UserError]"},
    "UserError": {"field": "[String]", "message": "String"},
    "Count": {"count": "Int", "precision": "Enum"},
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
             "FulfillmentLineItem", "Fulfillment", "OrderTransaction", "ProductVariant",
             # each implements Node on shopify.dev (.../objects/ExchangeLineItem,
             # .../objects/UnverifiedReturnLineItem, .../objects/BulkOperation)
             "ExchangeLineItem", "UnverifiedReturnLineItem", "BulkOperation"},
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


_TERM = re.compile(r"""(NOT\s+)?(-?)(\w+):(>=|<=|>|<|=)?('[^']*'|"[^"]*"|\S+)""")


def _order_matches(o: dict[str, Any], query: str | None) -> bool:
    """Shopify search syntax on the orders connection (assumption 5)."""
    if not query or not query.strip():
        return True
    groups = re.split(r"\s+OR\s+", query.strip())
    for g in groups:
        ok = True
        for notw, neg, key, op, raw in _TERM.findall(g):
            neg = "-" if bool(neg) != bool(notw) else ""
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
                 frags: dict[str, dict[str, Any]], bulk: BulkState | None = None,
                 version: str = "2026-01", download_base: str = "") -> None:
        self.w = world
        self.vars = variables
        self.frags = frags
        self.actual = 0
        self.bulk = bulk
        self.version = version
        self.download_base = download_base
        # bulk export mode: nested connections are collected here instead of nested
        self._collect: list[tuple[dict[str, Any], str, list[dict[str, Any]]]] | None = None

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
        if typ == "Mutation":  # "Mutation: 10" (rate-limits page, cost calculation)
            for s, _ in self._fields(sels, typ):
                if s["name"] == "__typename":
                    continue
                ftype = SCHEMA["Mutation"].get(s["name"])
                if ftype is None:
                    raise GQLError(f"Field '{s['name']}' doesn't exist on type 'Mutation'",
                                   "undefinedField", typeName="Mutation", fieldName=s["name"])
                if not s["sel"]:
                    raise GQLError(f"Field must have selections (field '{s['name']}' returns "
                                   f"{ftype} but has no selections.)", "selectionMismatch")
                self.cost(s["sel"], ftype)
                total += 10
            return total
        for s, ptyp in self._fields(sels, typ):
            name = s["name"]
            if name == "__typename":
                continue
            ftype = SCHEMA[ptyp].get(name)
            if ptyp == "QueryRoot" and name in ("bulkOperation", "bulkOperations") and \
                    not _new_api(self.version):
                ftype = None  # added in 2026-01 (changelog new-queries-for-bulk-operations)
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
            o = self.w.nodes.get(ref)
            if o is None and self.bulk is not None:
                o = self.bulk.observe(ref)
            return o
        return ref

    def run(self, sels: list[dict[str, Any]], typ: str, src: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.actual += 1
        concrete = src.get("__typename", typ)
        for s, ptyp in self._fields(sels, typ):
            if ptyp != concrete and ptyp in SCHEMA and ptyp not in ABSTRACT and \
                    ptyp not in ("QueryRoot", "Mutation"):
                continue  # inline fragment on another concrete type
            if ptyp in ABSTRACT and concrete not in ABSTRACT[ptyp] and ptyp != typ:
                continue
            name = s["name"]
            if name == "__typename":
                out[s["alias"]] = concrete
                continue
            ftype = SCHEMA.get(concrete, SCHEMA[ptyp]).get(name) or SCHEMA[ptyp][name]
            args = {k: _resolve_value(v, self.vars) for k, v in s["args"].items()}
            if typ in ("QueryRoot", "Mutation"):
                out[s["alias"]] = self.root(name, args, s)
                continue
            raw = src.get(name)
            if self._collect is not None and ftype.startswith("conn:"):
                # bulk export: a nested connection's nodes go on lines of their own
                kids = [self.obj(r) for r in (raw or [])]
                self._collect.append((s, ftype[5:], [k for k in kids if k is not None]))
                continue
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

    def orders_items(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """The visible orders (60 days) matching ``query``, sorted by ``sortKey``."""
        w = self.w
        visible = [w.nodes[g] for g in w.orders
                   if NOW - datetime.fromisoformat(w.nodes[g]["createdAt"].replace(
                       "Z", "+00:00")) <= timedelta(days=60)]
        items = [o for o in visible if _order_matches(o, args.get("query"))]
        key = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt",
               "PROCESSED_AT": "processedAt", "ORDER_NUMBER": "name",
               "ID": "legacyResourceId"}.get(args.get("sortKey") or "ID", "legacyResourceId")
        items.sort(key=lambda o: (o[key], o["legacyResourceId"]))
        if args.get("reverse"):
            items.reverse()
        return items

    def root_items(self, name: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        if name == "orders":
            return self.orders_items(args)
        if name == "locations":
            return [self.w.nodes[g] for g in self.w.locations]
        if name == "bulkOperations" and self.bulk is not None:
            return self.bulk.listing(args.get("query"))
        return []

    def root(self, name: str, args: dict[str, Any], s: dict[str, Any]) -> Any:
        w = self.w
        if name == "shop":
            return self.run(s["sel"], "Shop", w.shop)
        if name == "orders":
            return self.connection("Order", self.orders_items({**args, "reverse": False}),
                                   args, s)
        if name == "ordersCount":
            # shopify.dev .../queries/ordersCount: limit Int = 10000 ("the upper bound on count
            # value before returning a result"; null: no limit) -> Count {count precision}
            n = len(self.orders_items(args))
            limit = args.get("limit", 10000)
            if limit is not None and n > limit:
                return self.run(s["sel"], "Count", {"__typename": "Count", "count": limit,
                                                    "precision": "AT_LEAST"})
            return self.run(s["sel"], "Count", {"__typename": "Count", "count": n,
                                                "precision": "EXACT"})
        if name in ("bulkOperationRunQuery", "bulkOperationCancel", "bulkOperation",
                    "currentBulkOperation", "bulkOperations"):
            if self.bulk is None:
                raise GQLError(f"Field '{name}' doesn't exist", "undefinedField")
            if name == "bulkOperationRunQuery":
                return self.run(s["sel"], "BulkOperationRunQueryPayload",
                                self.bulk.run_query(self, args))
            if name == "bulkOperationCancel":
                return self.run(s["sel"], "BulkOperationCancelPayload",
                                self.bulk.cancel(str(args.get("id"))))
            if name == "bulkOperations":
                return self.connection("BulkOperation", self.root_items(name, args), args, s)
            if name == "bulkOperation":
                op = self.bulk.observe(str(args.get("id")))
            else:
                op = self.bulk.current(str(args.get("type") or "QUERY"))
            return None if op is None else self.run(s["sel"], "BulkOperation", op)
        if name == "locations":
            return self.connection("Location", [w.nodes[g] for g in w.locations], args, s)
        if name == "nodes":
            ids = args.get("ids") or []
            if len(ids) > MAX_PAGE:
                raise GQLError("The input array size of 251 is greater than the maximum "
                               "allowed of 250.", "MAX_INPUT_SIZE_EXCEEDED")
            return [None if (o := self.obj(str(i))) is None else self.run(s["sel"], "Node", o)
                    for i in ids]
        want = {"order": "Order", "return": "Return", "location": "Location",
                "reverseFulfillmentOrder": "ReverseFulfillmentOrder", "node": "Node"}[name]
        o = w.nodes.get(str(args.get("id")))
        if o is None and want == "Node":
            o = self.obj(str(args.get("id")))  # a BulkOperation (polling with node(id:))
        if o is None or (want != "Node" and o["__typename"] != want):
            return None
        if o["__typename"] == "Order" and NOW - datetime.fromisoformat(
                o["createdAt"].replace("Z", "+00:00")) > timedelta(days=60):
            return None
        return self.run(s["sel"], want, o)


# Connection/Edge pseudo-types for selection flattening
SCHEMA["Connection"] = {"edges": "Edge", "nodes": "Node", "pageInfo": "PageInfo"}
SCHEMA["Edge"] = {"cursor": "String", "node": "Node"}


# ============================================================================ bulk operations
_GCS_KEY = b"fake-storage-signing-key"  # signs the result links (the link is its own credential)


def _new_api(version: str) -> bool:
    """2026-01 or later (``unstable`` included)."""
    return not re.fullmatch(r"\d{4}-\d{2}", version) or version >= "2026-01"


def _implements_node(t: str) -> bool:
    if t in ABSTRACT["Node"]:
        return True
    members = ABSTRACT.get(t)
    return bool(members) and t != "Node" and all(m in ABSTRACT["Node"] for m in members)


def _jsonl_line(obj: dict[str, Any]) -> str:
    # "/" written as "\\/" (legal JSON; how public captures of Shopify's files show gids)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")


class BulkState:
    """The shop's bulk operations (this app's), their result files and what was asked of them."""

    def __init__(self, world: World, *, outcome: str = "COMPLETED", polls: int = 2,
                 busy: bool = False, without_nested: bool | frozenset[str] = False,
                 max_concurrent: int | None = None, download_base: str | None = None,
                 seed: int = 20261124) -> None:
        assert outcome in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED"), outcome
        self.w = world
        self.outcome, self.polls_to_finish = outcome, max(1, polls)
        self.without_nested = without_nested
        self.max_concurrent = max_concurrent
        self.download_base = download_base.rstrip("/") if download_base else None
        self.seed = seed
        self.started = time.monotonic()
        self.lock = threading.RLock()
        self.seq = 0
        self.ops: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.runs: list[dict[str, Any]] = []  # every bulkOperationRunQuery and its answer
        self.cancels: list[dict[str, Any]] = []
        self.downloads: list[dict[str, Any]] = []
        self.observed: list[tuple[str, str]] = []  # (op id, status answered) per poll
        if busy:  # the app's other exports (another process of the same app) fill the slots
            for _ in range(5):
                op = self._new_op("{ products { edges { node { id title } } } }", ours=False)
                op["status"] = "RUNNING"
                op["_stuck"] = True

    # ---- clock and records ----------------------------------------------------------------
    def now_iso(self) -> str:
        return (NOW + timedelta(seconds=time.monotonic() - self.started)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")

    def _new_op(self, query: str, *, ours: bool = True) -> dict[str, Any]:
        self.seq += 1
        op = {"__typename": "BulkOperation",
              "id": f"gid://shopify/BulkOperation/{720918000 + self.seq}",
              "status": "CREATED", "errorCode": None, "createdAt": self.now_iso(),
              "completedAt": None, "objectCount": "0", "rootObjectCount": "0",
              "fileSize": None, "url": None, "partialDataUrl": None, "query": query,
              "type": "QUERY", "_polls": 0, "_lines": [], "_roots": 0, "_ours": ours,
              "_stuck": False, "_base": "", "_seq": self.seq}
        self.ops[op["id"]] = op
        return op

    def _file(self, op: dict[str, Any], lines: list[dict[str, Any]],
              partial: bool) -> tuple[str, int]:
        body = "".join(_jsonl_line(o) + "\n" for o in lines).encode()
        key = hashlib.sha256(f"{op['id']}:{partial}".encode()).hexdigest()[:28]
        sig = hmac.new(_GCS_KEY, key.encode(), hashlib.sha256).hexdigest()
        self.files[key] = {"body": body, "sig": sig, "op": op["id"], "partial": partial}
        base = self.download_base or op["_base"]
        return (f"{base}/_storage/bulk/{key}.jsonl?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                f"&X-Goog-Credential=shopify-bulk%40example.iam.gserviceaccount.com"
                f"&X-Goog-Date=20261124T120000Z&X-Goog-Expires=604800"
                f"&X-Goog-SignedHeaders=host&X-Goog-Signature={sig}"), len(body)

    # ---- lifecycle --------------------------------------------------------------------------
    def observe(self, op_id: str) -> dict[str, Any] | None:
        with self.lock:
            op = self.ops.get(op_id)
            if op is None:
                return None
            self._advance(op)
            self.observed.append((op_id, op["status"]))
            return op

    def _advance(self, op: dict[str, Any]) -> None:
        if op["status"] == "CANCELING":
            op["status"] = "CANCELED"
            return
        if op["_stuck"] or op["status"] not in ("CREATED", "RUNNING"):
            return
        op["_polls"] += 1
        lines, roots = op["_lines"], op["_roots"]
        if op["_polls"] < self.polls_to_finish:
            op["status"] = "RUNNING"  # "a running count of all the objects processed"
            op["objectCount"], op["rootObjectCount"] = str(len(lines) // 2), str(roots // 2)
            return
        if self.outcome == "COMPLETED":
            op.update(status="COMPLETED", completedAt=self.now_iso(),
                      objectCount=str(len(lines)), rootObjectCount=str(roots))
            if lines:  # "url ... null when the query produced no results"
                op["url"], size = self._file(op, lines, False)
                op["fileSize"] = str(size)
        elif self.outcome == "FAILED":
            # errorCode INTERNAL_SERVER_ERROR: "partial data possible" -> partialDataUrl
            part = lines[: len(lines) // 2]
            op.update(status="FAILED", errorCode="INTERNAL_SERVER_ERROR",
                      objectCount=str(len(part)),
                      rootObjectCount=str(sum(1 for o in part if "__parentId" not in o)))
            if part:
                op["partialDataUrl"], _ = self._file(op, part, True)
        elif self.outcome == "CANCELED":
            op.update(status="CANCELED", objectCount=str(len(lines) // 2))
        else:  # EXPIRED: "The bulk operation URL has expired"
            op.update(status="EXPIRED", completedAt=self.now_iso(),
                      objectCount=str(len(lines)), rootObjectCount=str(roots))

    def current(self, typ: str) -> dict[str, Any] | None:
        with self.lock:
            mine = [o for o in self.ops.values() if o["type"] == typ.upper()]
            if not mine:
                return None
            return self.observe(max(mine, key=lambda o: o["_seq"])["id"])

    def listing(self, query: str | None) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for o in sorted(self.ops.values(), key=lambda o: -o["_seq"]):  # newest first
                self.observe(o["id"])
                ok = True
                for key, val in re.findall(r"(\w+):(\S+)", query or ""):
                    if key == "status" and o["status"].lower() != val.lower():
                        ok = False
                    if key == "operation_type" and o["type"].lower() != val.lower():
                        ok = False
                if ok:
                    out.append(o)
            return out

    def cancel(self, op_id: str) -> dict[str, Any]:
        with self.lock:
            op = self.ops.get(op_id)
            self.cancels.append({"id": op_id, "status_before": op and op["status"],
                                 "ours": bool(op and op["_ours"])})
            if op is None:
                return {"__typename": "BulkOperationCancelPayload", "bulkOperation": None,
                        "userErrors": [{"__typename": "UserError", "field": ["id"],
                                        "message": "Bulk operation does not exist"}]}
            if op["status"] in ("CREATED", "RUNNING"):
                op["status"], op["_stuck"] = "CANCELING", False
                return {"__typename": "BulkOperationCancelPayload", "bulkOperation": op,
                        "userErrors": []}
            return {"__typename": "BulkOperationCancelPayload", "bulkOperation": op,
                    "userErrors": [{"__typename": "UserError", "field": None,
                                    "message": "A bulk operation cannot be canceled when it is "
                                               f"{op['status'].lower()}"}]}

    # ---- bulkOperationRunQuery ---------------------------------------------------------------
    def run_query(self, ex: Executor, args: dict[str, Any]) -> dict[str, Any]:
        query = args.get("query")
        group = args.get("groupObjects")
        if group is None:  # default false from 2026-01, true before
            group = not _new_api(ex.version)
        record: dict[str, Any] = {"query": query, "groupObjects": group,
                                  "groupObjects_sent": "groupObjects" in args,
                                  "version": ex.version}
        self.runs.append(record)

        def refused(code: str, message: str, field: list[str] | None) -> dict[str, Any]:
            err = {"__typename": "BulkOperationUserError", "field": field, "message": message,
                   "code": code}
            record["userErrors"] = [err]
            return {"__typename": "BulkOperationRunQueryPayload", "bulkOperation": None,
                    "userErrors": [err]}

        with self.lock:
            limit = self.max_concurrent or (5 if _new_api(ex.version) else 1)
            running = [o for o in self.ops.values() if o["type"] == "QUERY"
                       and o["status"] in ("CREATED", "RUNNING", "CANCELING")]
            if len(running) >= limit:
                return refused("OPERATION_IN_PROGRESS",
                               "A bulk query operation for this app and shop is already in "
                               f"progress: {running[0]['id']}.", None)
            try:
                lines, roots = self.export(ex, query)
            except GQLError as e:
                return refused("INVALID", e.message, ["query"])
            if self.without_nested is True:  # shopify-app-js#2710: the returns not exported
                lines = [o for o in lines if "__parentId" not in o]
            elif self.without_nested:  # ... only for these top-level objects
                up = {o["id"]: o.get("__parentId") for o in lines}

                def top(i: str) -> str:
                    while up.get(i):
                        i = up[i]
                    return i
                lines = [o for o in lines
                         if "__parentId" not in o or top(o["id"]) not in self.without_nested]
            if not group:  # nothing promised about order: children may precede parents
                random.Random(self.seed + self.seq).shuffle(lines)
            op = self._new_op(str(query))
            op["_lines"], op["_roots"], op["_base"] = lines, roots, ex.download_base
            record["operation"] = op["id"]
            record["objects"] = len(lines)
            return {"__typename": "BulkOperationRunQueryPayload", "bulkOperation": op,
                    "userErrors": []}

    def export(self, ex: Executor, query: Any) -> tuple[list[dict[str, Any]], int]:
        """Checks the query against the documented restrictions and runs it unpaged: the lines
        in grouped order (each parent, then its children) and the number of root objects."""
        if not isinstance(query, str) or not query.strip():
            raise GQLError("Invalid bulk query: the query is empty")
        ops, frags = _Parser(query).document()
        if len(ops) != 1 or ops[0]["op"] != "query":
            raise GQLError("Invalid bulk query: a bulk query operation takes exactly one "
                           "query (no mutations)")
        variables = {k: _resolve_value(v, {}) for k, v in ops[0]["vars"].items()}
        inner = Executor(self.w, variables, frags, bulk=None, version=ex.version)
        top = [(f, t) for f, t in inner._fields(ops[0]["sel"], "QueryRoot")
               if f["name"] != "__typename"]
        if len(top) != 1:
            raise GQLError("Invalid bulk query: a bulk query selects a single top-level field")
        f = top[0][0]
        if f["name"] in ("node", "nodes"):
            raise GQLError(f"Invalid bulk query: the top-level '{f['name']}' field can't be "
                           "used in a bulk query")
        inner.cost(ops[0]["sel"], "QueryRoot")  # unknown fields, bad selections: GQLError
        ftype = SCHEMA["QueryRoot"].get(f["name"], "")
        if not ftype.startswith("conn:") or f["name"] == "bulkOperations":
            raise GQLError("Invalid bulk query: bulk queries must contain at least one "
                           "connection (at the top level)")
        stats = {"n": 0}
        self._shape_conn(inner, f, ftype[5:], 0, False, stats)
        args = {k: _resolve_value(v, variables) for k, v in f["args"].items()}
        lines: list[tuple[int, dict[str, Any]]] = []
        items = inner.root_items(f["name"], args)
        for it in items:
            self._emit(inner, f, ftype[5:], it, None, lines)
        return [o for _, o in lines], sum(1 for d, _ in lines if d == 0)

    @staticmethod
    def _node_sels(inner: Executor, s: dict[str, Any]) -> list[list[dict[str, Any]]]:
        out = []
        for cs, _ in inner._fields(s["sel"] or [], "Connection"):
            if cs["name"] == "nodes" and cs["sel"]:
                out.append(cs["sel"])
            elif cs["name"] == "edges":
                for es, _ in inner._fields(cs["sel"] or [], "Edge"):
                    if es["name"] == "node" and es["sel"]:
                        out.append(es["sel"])
        return out  # cursor and pageInfo are ignored in a bulk query

    def _shape_conn(self, inner: Executor, s: dict[str, Any], node_t: str, depth: int,
                    in_list: bool, stats: dict[str, int]) -> None:
        name = s["name"]
        if in_list:
            raise GQLError(f"Invalid bulk query: Queries that contain a connection field within "
                           f"a list field are not currently supported ('{name}').")
        if depth > 2:
            raise GQLError(f"Invalid bulk query: bulk queries can't nest connections more than "
                           f"two levels deep ('{name}').")
        if not _implements_node(node_t):
            raise GQLError(f"Invalid bulk query: the connection '{name}' is of {node_t}, which "
                           "doesn't implement the Node interface.")
        stats["n"] += 1
        if stats["n"] > 5:
            raise GQLError("Invalid bulk query: bulk queries can't contain more than five "
                           "connections.")
        for sel in self._node_sels(inner, s):
            self._shape_obj(inner, sel, node_t, depth, False, stats)

    def _shape_obj(self, inner: Executor, sels: list[dict[str, Any]], typ: str, depth: int,
                   in_list: bool, stats: dict[str, int]) -> None:
        for f, ptyp in inner._fields(sels, typ):
            name = f["name"]
            if name == "__typename":
                continue
            ftype = SCHEMA.get(ptyp, {}).get(name) or SCHEMA.get(typ, {}).get(name)
            if ftype is None:
                continue
            if ftype.startswith("conn:"):
                self._shape_conn(inner, f, ftype[5:], depth + 1, in_list, stats)
            elif ftype.strip("[]") not in SCALARS and f["sel"]:
                self._shape_obj(inner, f["sel"], ftype.strip("[]"), depth,
                                in_list or ftype.startswith("["), stats)

    def _emit(self, inner: Executor, s: dict[str, Any], node_t: str, item: dict[str, Any],
              parent: str | None, out: list[tuple[int, dict[str, Any]]], depth: int = 0) -> None:
        for sel in self._node_sels(inner, s):
            prev, kids = inner._collect, []
            inner._collect = kids
            try:
                obj = inner.run(sel, node_t, item)
            finally:
                inner._collect = prev
            if parent is not None:
                obj["__parentId"] = parent  # injected; names the immediate parent
            out.append((depth, obj))
            for ks, kt, kitems in kids:
                for k in kitems:
                    self._emit(inner, ks, kt, k, item.get("id"), out, depth + 1)


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
             bucket_max: float = BUCKET_MAX, restore_rate: float = RESTORE_RATE,
             bulk_outcome: str = "COMPLETED", bulk_polls: int = 2, bulk_busy: bool = False,
             bulk_export_without_nested: bool | frozenset[str] = False,
             bulk_max_concurrent: int | None = None,
             download_base: str | None = None) -> Starlette:
    """``download_base``: where result links point (default: this server's own address);
    the other ``bulk_*`` arguments are the faults described in the module docstring."""
    bucket = Bucket(bucket_max, restore_rate)
    bulk = BulkState(world, outcome=bulk_outcome, polls=bulk_polls, busy=bulk_busy,
                     without_nested=bulk_export_without_nested,
                     max_concurrent=bulk_max_concurrent, download_base=download_base)
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
            if op["op"] not in ("query", "mutation"):
                raise GQLError(f"This fake serves queries and mutations, not {op['op']}",
                               "operationNotSupported")
            root_t = "QueryRoot" if op["op"] == "query" else "Mutation"
            allvars = {**{k: _resolve_value(v, {}) for k, v in op["vars"].items()
                          if v is not None}, **variables}
            ex = Executor(world, allvars, frags, bulk=bulk, version=version,
                          download_base=str(request.base_url).rstrip("/"))
            entry["root"] = [f["name"] for f, _ in ex._fields(op["sel"], root_t)]
            requested = ex.cost(op["sel"], root_t)
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
            data = ex.run(op["sel"], root_t, {"__typename": root_t})
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

    async def download(request: Request) -> Response:
        """The signed result link (Shopify's are storage.googleapis.com links): no access
        token is needed, and whether one came is recorded."""
        key = request.path_params["key"]
        entry: dict[str, Any] = {
            "path": request.url.path, "scheme": request.url.scheme, "key": key,
            "access_token_header": "x-shopify-access-token" in request.headers,
            "authorization_header": "authorization" in request.headers}
        bulk.downloads.append(entry)
        f = bulk.files.get(key)
        if f is None:
            entry["status"] = 404
            return Response("<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey"
                            "</Code></Error>", status_code=404, media_type="application/xml")
        if not hmac.compare_digest(request.query_params.get("X-Goog-Signature", ""), f["sig"]):
            entry["status"] = 403
            return Response("<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                            "SignatureDoesNotMatch</Code></Error>", status_code=403,
                            media_type="application/xml")
        entry.update(status=200, partial=f["partial"], operation=f["op"])
        return Response(f["body"], media_type="application/jsonl")

    app = Starlette(routes=[Route("/admin/api/{version}/graphql.json", graphql,
                                  methods=["POST"]),
                            Route("/_storage/bulk/{key}.jsonl", download, methods=["GET"])])
    app.state.log = log
    app.state.bulk = bulk
    app.state.bucket = bucket
    return app

"""Builds the two vendors' records from the scenario's specs.

Shopify: GraphQL Admin objects (shopify.dev/docs/api/admin-graphql/2026-01/objects/Order,
Return, ReturnLineItem, ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem,
ReverseFulfillmentOrderDisposition, ReverseDelivery, Refund, RefundLineItem, OrderTransaction,
MoneyBag), keyed by their gid; object-valued fields hold the gid of the node they point to.

NetSuite: rows of the SuiteQL tables the fake serves (transaction, transactionline,
previoustransactionlinelink, customer, item, location, accountingperiod, currency), column names
lower-case as SuiteQL returns them (research notes erp-apis.md 4.4; Records Catalog). The REST
record views (returnAuthorization, itemReceipt, creditMemo, cashRefund, ...) are derived from the
same rows by the fake.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .scenario import (
    CATALOGUE,
    INACTIVE_SKUS,
    NOW,
    NS_LOC_MAIN,
    NS_LOC_QUARANTINE,
    NS_LOCATIONS,
    NS_ONLY_ITEMS,
    REASONS,
    SHOP_DOMAIN,
    SHOP_LOC_RETURNS,
    SHOP_LOC_WAREHOUSE,
    SHOP_NAME,
    UNKNOWN_SKUS,
    D,
    Spec,
    iso,
    period_of,
    q2,
)

if TYPE_CHECKING:
    from .scenario import World

EUR_RATE = D("1.15")  # presentment EUR per shop GBP
ZERO = D(0)


def g(kind: str, num: int) -> str:
    """A Shopify global id, gid://shopify/<Type>/<number>."""
    return f"gid://shopify/{kind}/{num}"


def money(amount: Decimal, currency: str = "GBP") -> dict[str, Any]:
    # MoneyV2 {amount: Decimal (string), currencyCode}
    return {"__typename": "MoneyV2", "amount": f"{q2(amount):.2f}", "currencyCode": currency}


def bag(amount: Decimal, presentment: str) -> dict[str, Any]:
    # MoneyBag: shopMoney + presentmentMoney (shopify.dev .../objects/MoneyBag)
    pres = amount if presentment == "GBP" else q2(amount * EUR_RATE)
    return {"__typename": "MoneyBag", "shopMoney": money(amount),
            "presentmentMoney": money(pres, presentment)}


# ==================================================================================== Shopify
def shopify(w: World) -> None:
    nodes = w.nodes
    seq = {"n": 0}

    def nid(kind: str) -> str:
        seq["n"] += 1
        return f"gid://shopify/{kind}/{5510000000 + seq['n']}"

    def put(obj: dict[str, Any]) -> str:
        nodes[obj["id"]] = obj
        return obj["id"]

    w.shop = {"__typename": "Shop", "id": "gid://shopify/Shop/61230001", "name": SHOP_NAME,
              "myshopifyDomain": SHOP_DOMAIN, "currencyCode": "GBP",
              "ianaTimezone": "Europe/London", "timezoneAbbreviation": "GMT",
              "email": "ops@harbour-outfitters.example", "enabledPresentmentCurrencies":
              ["GBP", "EUR"]}
    for loc_id, name in ((SHOP_LOC_WAREHOUSE, "Harbour Warehouse"),
                         (SHOP_LOC_RETURNS, "Returns Centre")):
        put({"__typename": "Location", "id": loc_id, "legacyResourceId": loc_id.rsplit("/", 1)[1],
             "name": name, "isActive": True})
        w.locations.append(loc_id)
    for c in w.customers:
        put({"__typename": "Customer", "id": g("Customer", c.shop_id),
             "legacyResourceId": str(c.shop_id), "firstName": c.first, "lastName": c.last,
             "displayName": f"{c.first} {c.last}", "email": c.email,
             "createdAt": iso(datetime(2025, 3, 1, tzinfo=UTC)),
             "updatedAt": iso(datetime(2025, 3, 1, tzinfo=UTC))})

    def order_for(spec: Spec | None, n: int, lines: list[tuple[str, int]], when: datetime,
                  cust_gid: str, presentment: str) -> dict[str, Any]:
        oid = g("Order", 6600000000 + n)
        line_gids, fli_gids = [], []
        total = D(0)
        for j, (sku, ordered) in enumerate(lines):
            title, variant, price = CATALOGUE[sku]
            price_d = D(price)
            net = q2(price_d * ordered)
            tax = q2(net * D("0.20"))
            total += net + tax
            var_gid = g("ProductVariant", 4400000000 + list(CATALOGUE).index(sku))
            nodes.setdefault(var_gid, {"__typename": "ProductVariant", "id": var_gid, "sku": sku,
                                       "title": variant, "displayName": f"{title} - {variant}",
                                       "barcode": None})
            li = put({"__typename": "LineItem", "id": g("LineItem", (6600000000 + n) * 10 + j),
                      "name": f"{title} - {variant}", "title": title, "variantTitle": variant,
                      "sku": sku, "quantity": ordered, "currentQuantity": ordered,
                      "refundableQuantity": ordered, "variant": var_gid, "vendor": SHOP_NAME,
                      "requiresShipping": True, "taxable": True,
                      "originalUnitPriceSet": bag(price_d, presentment),
                      "discountedUnitPriceSet": bag(price_d, presentment),
                      "originalTotalSet": bag(net, presentment),
                      "discountedTotalSet": bag(net, presentment),
                      "taxLines": [{"__typename": "TaxLine", "title": "VAT", "rate": 0.2,
                                    "ratePercentage": 20.0, "channelLiable": False,
                                    "priceSet": bag(tax, presentment)}]})
            line_gids.append(li)
            fli_gids.append(put({"__typename": "FulfillmentLineItem",
                                 "id": g("FulfillmentLineItem", (6600000000 + n) * 10 + j),
                                 "lineItem": li, "quantity": ordered,
                                 "originalTotalSet": bag(net, presentment),
                                 "discountedTotalSet": bag(net, presentment)}))
        ful = put({"__typename": "Fulfillment", "id": g("Fulfillment", 7700000000 + n),
                   "status": "SUCCESS", "createdAt": iso(when + timedelta(days=1)),
                   "location": SHOP_LOC_WAREHOUSE, "fulfillmentLineItems": fli_gids})
        order = {"__typename": "Order", "id": oid, "legacyResourceId": oid.rsplit("/", 1)[1],
                 "name": f"#{1000 + n}", "createdAt": iso(when), "processedAt": iso(when),
                 "updatedAt": iso(when + timedelta(days=1)), "closedAt": None,
                 "cancelledAt": None, "currencyCode": "GBP",
                 "presentmentCurrencyCode": presentment, "taxesIncluded": False,
                 "email": nodes[cust_gid]["email"], "customer": cust_gid, "lineItems": line_gids,
                 "fulfillments": [ful], "refunds": [], "returns": [], "returnStatus": "NO_RETURN",
                 "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "FULFILLED",
                 "totalPriceSet": bag(total, presentment),
                 "currentTotalPriceSet": bag(total, presentment),
                 "totalRefundedSet": bag(D(0), presentment), "note": None, "tags": [],
                 "test": False, "sourceName": "web", "poNumber": None,
                 "_fli": fli_gids, "_events": [when + timedelta(days=1)]}
        put(order)
        w.orders.append(oid)
        return order

    for spec in w.specs:
        if not spec.platform:
            continue
        assert spec.cust is not None
        cust_gid = g("Customer", spec.cust.shop_id)
        placed = (spec.created - timedelta(days=8)).replace(hour=10, minute=0, second=0)
        assert NOW - placed < timedelta(days=60), "Shopify shows 60 days of orders by default"
        order = order_for(spec, spec.n, [(ln.sku, ln.ordered or ln.qty) for ln in spec.lines],
                          placed, cust_gid, spec.presentment)
        events = [spec.created]
        rid = g("Return", 8800000000 + spec.n)
        rli_gids = []
        for j, ln in enumerate(spec.lines):
            refunded = ln.qty if spec.refunded else 0
            rli = {"__typename": "ReturnLineItem",
                   "id": g("ReturnLineItem", (8800000000 + spec.n) * 10 + j),
                   "quantity": ln.qty, "returnReason": REASONS[(spec.n + j) % len(REASONS)],
                   "returnReasonNote": "", "customerNote": None,
                   "fulfillmentLineItem": order["_fli"][j],
                   "refundableQuantity": 0 if spec.status in ("DECLINED", "CANCELED") else
                   ln.qty - refunded,
                   "refundedQuantity": refunded,
                   "processedQuantity": ln.qty if spec.disposition else 0,
                   "unprocessedQuantity": 0 if spec.disposition else ln.qty,
                   "processableQuantity": 0 if spec.disposition else ln.qty,
                   "restockingFee": None, "totalWeight": None,
                   "withCodeDiscountedTotalPriceSet": bag(ln.net, spec.presentment)}
            if spec.broken:  # a record that breaks the documented schema (PAYLOAD_INVALID)
                rli["quantity"] = None
                rli["fulfillmentLineItem"] = None
            rli_gids.append(put(rli))
        rfo_gids = []
        if spec.approved:
            events.append(spec.approved)
            rfo_id = g("ReverseFulfillmentOrder", 9900000000 + spec.n)
            rfo_status = {"CLOSED": "CLOSED", "CANCELED": "CANCELED"}.get(spec.status, "OPEN")
            rfoli_gids, rdli_gids = [], []
            for j, ln in enumerate(spec.lines):
                k = (9900000000 + spec.n) * 10 + j
                disps = []
                if spec.disposition and spec.disposed:
                    events.append(spec.disposed)
                    disps.append(put({
                        "__typename": "ReverseFulfillmentOrderDisposition",
                        "id": g("ReverseFulfillmentOrderDisposition", k),
                        "createdAt": iso(spec.disposed), "location": SHOP_LOC_RETURNS,
                        "quantity": ln.qty, "type": spec.disposition}))
                li = put({"__typename": "ReverseFulfillmentOrderLineItem",
                          "id": g("ReverseFulfillmentOrderLineItem", k),
                          "totalQuantity": ln.qty, "fulfillmentLineItem": order["_fli"][j],
                          "dispositions": disps, "dispositionType": spec.disposition})
                rfoli_gids.append(li)
                if spec.shipped:
                    rdli_gids.append(put({
                        "__typename": "ReverseDeliveryLineItem",
                        "id": g("ReverseDeliveryLineItem", (9900000000 + spec.n) * 10 + j),
                        "quantity": ln.qty, "reverseFulfillmentOrderLineItem": li,
                        "dispositions": disps}))
            deliveries = []
            if spec.shipped:
                events.append(spec.shipped)
                deliveries.append(put({
                    "__typename": "ReverseDelivery",
                    "id": g("ReverseDelivery", 9900000000 + spec.n),
                    "reverseFulfillmentOrder": rfo_id,
                    "reverseDeliveryLineItems": rdli_gids,
                    "deliverable": {
                        "__typename": "ReverseDeliveryShippingDeliverable",
                        "label": {"__typename": "ReverseDeliveryLabelV2",
                                  "publicFileUrl": f"https://cdn.example/labels/{spec.n}.pdf",
                                  "createdAt": iso(spec.shipped), "updatedAt": iso(spec.shipped)},
                        "tracking": {"__typename": "ReverseDeliveryTrackingV2",
                                     "number": f"RM{700000000 + spec.n}GB",
                                     "carrierName": "Royal Mail",
                                     "url": f"https://track.example/RM{700000000 + spec.n}GB"}}}))
            rfo_gids.append(put({"__typename": "ReverseFulfillmentOrder", "id": rfo_id,
                                 "status": rfo_status, "order": order["id"],
                                 "lineItems": rfoli_gids, "reverseDeliveries": deliveries,
                                 "thirdPartyConfirmation": None}))
        refund_gids = []
        if spec.refunded:
            events.append(spec.refunded)
            rf_id = g("Refund", 9100000000 + spec.n)
            rlis = []
            total = D(0)
            for j, ln in enumerate(spec.lines):
                total += ln.net + ln.tax
                rlis.append(put({
                    "__typename": "RefundLineItem",
                    "id": g("RefundLineItem", (9100000000 + spec.n) * 10 + j),
                    "lineItem": order["lineItems"][j], "quantity": ln.qty,
                    "restockType": "RETURN" if spec.refund_restock else "NO_RESTOCK",
                    "restocked": spec.refund_restock,
                    "location": SHOP_LOC_RETURNS if spec.refund_restock else None,
                    "priceSet": bag(ln.price, spec.presentment),
                    "subtotalSet": bag(ln.net, spec.presentment),
                    "totalTaxSet": bag(ln.tax, spec.presentment)}))
                nodes[order["lineItems"][j]]["refundableQuantity"] -= ln.qty
                nodes[order["lineItems"][j]]["currentQuantity"] -= ln.qty
            tx = put({"__typename": "OrderTransaction",
                      "id": g("OrderTransaction", 9200000000 + spec.n),
                      "kind": "REFUND", "status": "SUCCESS", "gateway": "shopify_payments",
                      "formattedGateway": "Shopify Payments", "test": False,
                      "amountSet": bag(total, spec.presentment),
                      "processedAt": iso(spec.refunded), "createdAt": iso(spec.refunded),
                      "parentTransaction": None})
            refund_gids.append(put({
                "__typename": "Refund", "id": rf_id, "legacyResourceId": rf_id.rsplit("/", 1)[1],
                "createdAt": iso(spec.refunded), "updatedAt": iso(spec.refunded),
                # Refund.processedAt (2026-01+): "If you don't provide a processedAt value,
                # then the current timestamp is used" (changelog set-processed-at-in-refund-create)
                "processedAt": iso(spec.refunded),
                "note": f"Return {spec.name}", "order": order["id"], "return": rid,
                "totalRefundedSet": bag(total, spec.presentment), "refundLineItems": rlis,
                "transactions": [tx], "refundShippingLines": [], "orderAdjustments": [],
                "duties": [], "staffMember": None}))
            order["refunds"].append(refund_gids[-1])
            order["totalRefundedSet"] = bag(total, spec.presentment)
            order["displayFinancialStatus"] = "PARTIALLY_REFUNDED"
        if spec.closed:
            events.append(spec.closed)
        put({"__typename": "Return", "id": rid, "name": spec.name, "status": spec.status,
             "createdAt": iso(spec.created), "requestApprovedAt": iso(spec.approved),
             "closedAt": iso(spec.closed), "order": order["id"],
             "decline": None if not spec.declined_reason else
             {"__typename": "ReturnDecline", "reason": spec.declined_reason, "note": None},
             "returnLineItems": rli_gids, "reverseFulfillmentOrders": rfo_gids,
             "refunds": refund_gids, "exchangeLineItems": [], "returnShippingFees": [],
             "totalQuantity": sum(ln.qty for ln in spec.lines),
             "transactions": [nodes[r]["transactions"][0] for r in refund_gids],
             "staffMember": None})
        order["returns"].append(rid)
        order["returnStatus"] = {
            "REQUESTED": "RETURN_REQUESTED", "OPEN": "IN_PROGRESS", "CLOSED": "RETURNED",
            "DECLINED": "NO_RETURN", "CANCELED": "NO_RETURN"}[spec.status]
        if spec.status == "OPEN" and spec.disposition:
            order["returnStatus"] = "INSPECTION_COMPLETE"
        order["_events"] += events
        order["updatedAt"] = iso(max(order["_events"]))

    # orders with no return at all (must never be reported)
    for k in range(15):
        c = w.customers[(k * 3) % 38]
        n = 500 + k
        skus = [s for s in CATALOGUE if s not in UNKNOWN_SKUS | INACTIVE_SKUS]
        order_for(None, n, [(skus[k % len(skus)], 1)], NOW - timedelta(days=3 + k * 2, hours=5),
                  g("Customer", c.shop_id), "GBP")
    for gid_ in w.orders:
        o = nodes[gid_]
        o.pop("_fli", None)
        o["_updated"] = max(o.pop("_events"))


# =================================================================================== NetSuite
def netsuite(w: World) -> None:
    t: dict[str, list[dict[str, Any]]] = {
        "transaction": [], "transactionline": [], "previoustransactionlinelink": [],
        "customer": [], "item": [], "location": [], "accountingperiod": [], "currency": [],
        "subsidiary": [], "paymentmethod": [],
    }
    w.ns = t
    t["currency"] = [{"id": 1, "name": "British Pound", "symbol": "GBP", "isbasecurrency": "T"},
                     {"id": 2, "name": "Euro", "symbol": "EUR", "isbasecurrency": "F"}]
    # Setup > Accounting > Accounting Lists > Payment Method (Records Browser: paymentmethod,
    # fields name, isinactive); the account's Shopify refunds are booked with "Shopify
    # Payments", the value the profile's mapping table names (scenario.build_world)
    t["paymentmethod"] = [{"id": 1, "name": "Cash", "isinactive": "F"},
                          {"id": 2, "name": "Check", "isinactive": "F"},
                          {"id": 9, "name": "Shopify Payments", "isinactive": "F"}]
    t["subsidiary"] = [{"id": 1, "name": "Harbour Outfitters Ltd", "currency": 1,
                        "isinactive": "F"}]
    for lid, name in NS_LOCATIONS.items():
        t["location"].append({"id": int(lid), "name": name, "isinactive": "F",
                              "makeinventoryavailable": "F" if lid == NS_LOC_QUARANTINE else "T",
                              "subsidiary": 1})
    # accounting periods 2026: months 101..112, quarters 121..124, year 130
    # (fields: Records Catalog accountingperiod -- closed, alllocked, arlocked, aplocked,
    #  isquarter, isyear, isadjust, isposting, periodname, startdate, enddate, parent)
    t["accountingperiod"].append({"id": 130, "periodname": "FY 2026", "startdate": date(2026, 1, 1),
                                  "enddate": date(2026, 12, 31), "closed": "F", "alllocked": "F",
                                  "arlocked": "F", "aplocked": "F", "isquarter": "F",
                                  "isyear": "T", "isadjust": "F", "isposting": "F",
                                  "isinactive": "F", "parent": None, "closedondate": None})
    for qn in range(1, 5):
        closed = "T" if qn <= 3 else "F"
        t["accountingperiod"].append({
            "id": 120 + qn, "periodname": f"Q{qn} 2026", "startdate": date(2026, 3 * qn - 2, 1),
            "enddate": (date(2026, 3 * qn, 28) + timedelta(days=4)).replace(day=1) -
            timedelta(days=1), "closed": closed, "alllocked": closed, "arlocked": closed,
            "aplocked": closed, "isquarter": "T", "isyear": "F", "isadjust": "F",
            "isposting": "F", "isinactive": "F", "parent": 130, "closedondate": None})
    for m in range(1, 13):
        start = date(2026, m, 1)
        end = (date(2026, m, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        closed = "T" if m <= 10 else "F"  # January..October closed and locked
        t["accountingperiod"].append({
            "id": period_of(start), "periodname": start.strftime("%b %Y"), "startdate": start,
            "enddate": end, "closed": closed, "alllocked": closed, "arlocked": closed,
            "aplocked": closed, "isquarter": "F", "isyear": "F", "isadjust": "F",
            "isposting": "T", "isinactive": "F", "parent": 120 + (m - 1) // 3 + 1,
            "closedondate": (end + timedelta(days=5)) if closed == "T" else None})
    item_ids: dict[str, int] = {}
    for k, sku in enumerate([s for s in CATALOGUE if s not in UNKNOWN_SKUS] + NS_ONLY_ITEMS):
        iid = 610 + k
        item_ids[sku] = iid
        title = CATALOGUE.get(sku, (sku.title().replace("-", " "), "", ""))[0]
        t["item"].append({"id": iid, "itemid": sku, "displayname": title,
                          "isinactive": "T" if sku in INACTIVE_SKUS else "F",
                          "itemtype": "Service" if sku in ("SHIPPING", "GIFT-CARD") else "InvtPart",
                          "upccode": None, "stockunit": None, "saleunit": None,
                          "lastmodifieddate": datetime(2025, 6, 1, 9, 0, tzinfo=UTC)})
    for c in w.customers:
        t["customer"].append({
            "id": c.ns_id, "entityid": f"CUS{c.ns_id}", "firstname": c.first,
            "lastname": c.last, "companyname": None, "email": c.email, "isperson": "T",
            "isinactive": "T" if c.inactive else "F", "externalid": f"shopify-{c.shop_id}",
            "currency": 1, "subsidiary": 1,
            "datecreated": datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
            "lastmodifieddate": datetime(2026, 9, 1, 9, 0, tzinfo=UTC) if c.inactive else
            datetime(2025, 3, 1, 9, 0, tzinfo=UTC)})

    seq = {"tx": 40000, "line": 0, "so": 5000, "ra": 700, "ir": 900, "cm": 300, "cr": 80}

    def next_no(kind: str, prefix: str) -> str:
        seq[kind] += 1
        return f"{prefix}{seq[kind]}"

    def add_tx(ttype: str, recordtype: str, tranid: str, when: datetime, entity: int,
               status: str | None, otherrefnum: str | None, lines: list[dict[str, Any]],
               created_from: int | None, tax: Decimal | None = None,
               modified: datetime | None = None, memo: str | None = None,
               location: str | None = None, posting: bool = True) -> int:
        seq["tx"] += 1
        tid = seq["tx"]
        net = sum((ln.get("foreignamount") or D(0)) for ln in lines)
        total = None if ttype == "ItemRcpt" else net + (tax or D(0))
        t["transaction"].append({
            "id": tid, "tranid": tranid, "trandate": when.date(), "type": ttype,
            "recordtype": recordtype, "status": status, "entity": entity,
            "otherrefnum": otherrefnum, "externalid": None, "memo": memo,
            "createddate": when, "lastmodifieddate": modified or when,
            "postingperiod": period_of(when.date()) if posting else None,
            "currency": 1, "exchangerate": D("1"), "foreigntotal": total,
            "taxtotal": None if ttype == "ItemRcpt" else (tax or D(0)),
            "subsidiary": 1, "location": int(location) if location else None,
            "posting": "T" if posting else "F", "voided": "F",
            "createdfrom": created_from,  # kept for the REST record view only (see fake)
        })
        seq["line"] += 1
        t["transactionline"].append({
            "id": 0, "uniquekey": seq["line"], "transaction": tid, "linesequencenumber": 0,
            "mainline": "T", "taxline": "F", "item": None, "quantity": None, "rate": None,
            "foreignamount": total, "netamount": total, "location": None,
            "createdfrom": created_from, "memo": memo, "itemtype": None, "isclosed": "F",
            "iscogs": "F", "units": None, "entity": entity})
        for k, ln in enumerate(lines, start=1):
            seq["line"] += 1
            row = {"id": k, "uniquekey": seq["line"], "transaction": tid,
                   "linesequencenumber": k, "mainline": "F", "taxline": "F",
                   "item": ln.get("item"), "quantity": ln.get("quantity"),
                   "rate": ln.get("rate"), "foreignamount": ln.get("foreignamount"),
                   "netamount": ln.get("foreignamount"),
                   "location": int(ln["location"]) if ln.get("location") else None,
                   "createdfrom": created_from, "memo": None, "itemtype": "InvtPart",
                   "isclosed": "F", "iscogs": "F", "units": None, "entity": entity}
            t["transactionline"].append(row)
            if created_from:
                t["previoustransactionlinelink"].append({
                    "previousdoc": created_from, "previousline": k, "nextdoc": tid,
                    "nextline": k, "linktype": {"ItemRcpt": "RcptRtrn", "CustCred": "RtnCred",
                                                "CashRfnd": "RtnRfnd"}.get(ttype, "OrdRtrn"),
                    "previoustype": "RtnAuth" if ttype != "RtnAuth" else "SalesOrd",
                    "nexttype": ttype})
        if tax:
            seq["line"] += 1
            t["transactionline"].append({
                "id": len(lines) + 1, "uniquekey": seq["line"], "transaction": tid,
                "linesequencenumber": len(lines) + 1, "mainline": "F", "taxline": "T",
                "item": None, "quantity": None, "rate": None, "foreignamount": tax,
                "netamount": tax, "location": None, "createdfrom": created_from,
                "memo": "VAT 20%", "itemtype": "TaxItem", "isclosed": "F", "iscogs": "F",
                "units": None, "entity": entity})
        return tid

    def erp_lines(spec: Spec, sign: int = 1, qty_over: dict[str, int] | None = None,
                  location: str | None = None, amounts: bool = True,
                  items_delta: Decimal = ZERO) -> list[dict[str, Any]]:
        out = []
        for j, ln in enumerate(spec.lines):
            sku, factor = (("SOCK-CREW", 3) if ln.sku == "SOCK-3PK" else (ln.sku, 1))
            if sku not in item_ids:
                continue
            qty = (qty_over or {}).get(ln.sku, ln.qty) * factor
            amount = ln.net + (items_delta if j == 0 else D(0))
            out.append({"item": item_ids[sku], "quantity": sign * qty,
                        "rate": q2(ln.price / factor) if amounts else None,
                        "foreignamount": sign * amount if amounts else None,
                        "location": location})
        return out

    ns_cust = {c.idx: c.ns_id for c in w.customers}
    for spec in w.specs:
        assert spec.cust is not None
        ent = ns_cust[spec.cust.idx]
        placed = (spec.created - timedelta(days=8)).replace(hour=10, minute=0, second=0)
        so_id = None
        if spec.platform:
            so_lines = [{"item": item_ids.get("SOCK-CREW" if ln.sku == "SOCK-3PK" else ln.sku),
                         "quantity": -(ln.ordered or ln.qty) * (3 if ln.sku == "SOCK-3PK" else 1),
                         "rate": ln.price, "foreignamount": -q2(ln.price * (ln.ordered or ln.qty)),
                         "location": NS_LOC_MAIN} for ln in spec.lines
                        if ln.sku not in UNKNOWN_SKUS]
            so_tax = sum((q2(q2(ln.price * (ln.ordered or ln.qty)) * D("0.20"))
                          for ln in spec.lines), D(0))
            so_id = add_tx("SalesOrd", "salesorder", next_no("so", "SO"), placed, ent, "G",
                           spec.order_name, so_lines, None, tax=-so_tax, posting=False,
                           memo=f"Shopify order {spec.order_name}")
            t["transaction"][-1]["foreigntotal"] = -t["transaction"][-1]["foreigntotal"]
            t["transaction"][-1]["taxtotal"] = so_tax
        if not spec.ra:
            continue
        net = sum((ln.net for ln in spec.lines), D(0))
        tax = sum((ln.tax for ln in spec.lines), D(0))
        ra_when = spec.ra_created or ((spec.approved + timedelta(minutes=10)) if spec.approved
                                     else spec.created + timedelta(minutes=10))
        if spec.ra_status:
            status = spec.ra_status
        elif spec.credits and any(c.from_ra for c in spec.credits):
            status = "G"
        elif spec.receipt:
            status = "F"
        elif spec.status == "REQUESTED":
            status = "A"
        else:
            status = "B"
        last = max([ra_when] + [d for d in (spec.receipt,) if d] +
                   [c.when for c in spec.credits if c.from_ra])
        ra_id = add_tx("RtnAuth", "returnauthorization", next_no("ra", "RMA"), ra_when, ent,
                       status, spec.ra_link or spec.name, erp_lines(spec),
                       so_id if spec.ra_created_from else None, tax=tax, modified=last,
                       memo=f"Shopify return {spec.ra_link or spec.name}", location=NS_LOC_MAIN,
                       posting=False)
        assert net >= 0
        if spec.receipt:
            loc = spec.receipt_location or (
                NS_LOC_MAIN if spec.disposition in (None, "RESTOCKED") else NS_LOC_QUARANTINE)
            add_tx("ItemRcpt", "itemreceipt", next_no("ir", "IR"), spec.receipt, ent, None, None,
                   erp_lines(spec, qty_over=spec.receipt_qty, location=loc, amounts=False),
                   ra_id, location=loc)
        for c in spec.credits:
            ent_c = ns_cust[39] if c.other_customer else ent
            kind = c.kind
            add_tx(kind, "creditmemo" if kind == "CustCred" else "cashrefund",
                   next_no("cm", "CM") if kind == "CustCred" else next_no("cr", "CR"),
                   c.when, ent_c, "B" if kind == "CustCred" else None, c.link or spec.name,
                   erp_lines(spec, items_delta=c.items_delta),
                   ra_id if c.from_ra else None, tax=tax + c.tax_delta,
                   memo=f"Shopify refund for {spec.name}")
    # goodwill credit memos with no link (must not be compared)
    for k in range(2):
        add_tx("CustCred", "creditmemo", next_no("cm", "CM"), NOW - timedelta(days=4 + 7 * k),
               ns_cust[k + 2], "B", None,
               [{"item": item_ids["SHIPPING"], "quantity": 1, "rate": D("4.95"),
                 "foreignamount": D("4.95"), "location": None}], None, tax=D("0.99"),
               memo="Goodwill: late delivery")
    # transactionline.quantityshiprecv (docs/vendors/netsuite.md §4.8; NetSuite2.com
    # transactionline column "quantityshiprecv"): on a return authorization line the quantity
    # received by its item receipts; on a sales order line (billed, so fulfilled) its quantity;
    # left NULL elsewhere.
    tx_type = {tx["id"]: tx["type"] for tx in t["transaction"]}
    received: dict[tuple[int, int], Decimal] = {}
    for ln in t["transactionline"]:
        if tx_type[ln["transaction"]] == "ItemRcpt" and ln["mainline"] == "F" and \
                ln["taxline"] == "F" and ln["createdfrom"]:
            key = (ln["createdfrom"], ln["id"])
            received[key] = received.get(key, D(0)) + D(ln["quantity"] or 0)
    for ln in t["transactionline"]:
        if ln["mainline"] == "T" or ln["taxline"] == "T":
            continue
        kind = tx_type[ln["transaction"]]
        if kind == "RtnAuth":
            ln["quantityshiprecv"] = received.get((ln["transaction"], ln["id"]), D(0))
        elif kind == "SalesOrd":
            ln["quantityshiprecv"] = ln["quantity"]

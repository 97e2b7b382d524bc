"""Swap Commerce simulator: the external returns API (v1 and v2), from a demo scenario.

Paths, the `x-api-key` header, the store parameter, date filters, page/items_per_page paging
and the status vocabularies follow docs/vendors/swap-commerce.md. Where
Swap's docs are silent (error bodies, v2 pagination fields) the simulator answers the way a
NestJS service (which Swap's DTO names suggest) does, and the connector does not depend on it.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...kits.odata.server import WORK, TrackedList, remember, track
from ...sandbox.faults import Faults, json_error

#: v2 field name → v1 field name, for the fields the two versions spell differently.
V1_NAMES = {
    "rma_number": "rma",
    "shopify_order_name": "order_name",
    "rma_processed": "processed",
    "delivery_status": "shipping_status",
    "return_status": "status",
}
STORE_NAME = "Northwind Outfitters"
#: The scenario's refund methods as Swap's return types (its help centre's words).
RETURN_TYPES = {"refund": "Refund", "store_credit": "Shop Now Credit",
                "store_credit_later": "Shop Later Credit"}
#: The product fields a shipment's ExternalShipmentItemDto repeats.
SHIPMENT_ITEM_FIELDS = ("product_id", "shopify_product_id", "order_number", "product_name",
                        "sku", "item_count", "cost", "return_type", "currency",
                        "main_reason_id", "main_reason_text")


def _stable_id(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()[:24]


def _money(value: Decimal) -> float | int:
    # Swap sends JSON numbers; the connector reads them back as Decimal, never float.
    return int(value) if value == value.to_integral_value() else float(value)


def _at(stage: dict | None) -> str | None:
    return stage.get("at") if stage and stage.get("status") == "done" else None


def render_return(case: dict, store: str) -> dict[str, Any]:
    """One canonical return (snapshot JSON) as Swap's v2 return record."""
    p = case["platform"]
    stages = p.get("stages", {})
    ref = p["return_ref"]
    transit = stages.get("in_transit", {})
    received = _at(stages.get("received"))
    inspected = stages.get("inspected", {}).get("status") == "done"
    credited = _at(stages.get("credited"))
    exchanged = _at(stages.get("exchanged"))
    closed = credited or exchanged
    failed = stages.get("authorised", {}).get("status") == "failed"
    events = [e for e in (p.get("created_at"), transit.get("at"), received, closed) if e]
    refund = p.get("refund") or {}
    currency = refund.get("currency", "GBP")
    fee = sum((Decimal(f["amount"]) for f in p.get("fees", [])), Decimal(0))
    unpaid = stages.get("credited", {})
    method = RETURN_TYPES.get(p.get("refund_method") or "", p.get("refund_method")) or (
        unpaid.get("detail") if unpaid.get("status") == "not_applicable" and unpaid.get("detail")
        else "Exchange" if exchanged or _is_exchange(case) else None)
    products = []
    for _n, line in enumerate(p["lines"], start=1):
        product = {
            "product_id": line["line_ref"],
            "shopify_product_id": _stable_id(line["sku"])[:12],
            "order_number": p.get("order_ref"),
            "product_name": line["sku"].replace("-", " ").title(),
            "sku": line["sku"],
            "item_count": int(Decimal(line["quantity"])),
            # "Total cost" of the line (Swap's docs), tax on top of it in this store
            "cost": _money(Decimal(line.get("unit_price") or 0) * Decimal(line["quantity"])),
            "refunded_inclusive_taxes": 0,
            "return_type": method or "Refund",
            "currency": currency,
            "main_reason_id": line.get("reason"),
            "main_reason_text": (line.get("reason") or "").replace("_", " ").capitalize() or None,
            "intake_reason": line.get("condition") if inspected else None,
            "is_faulty": line.get("condition") == "faulty",
        }
        products.append(product)
    if case.get("problems"):
        # A malformed record, as a broken integration upstream would send it.
        products[0]["item_count"] = "two"
    if transit.get("status") == "pending":
        delivery = "In-Transit"
    elif transit.get("status") == "done" or received:
        delivery = "Delivered"
    else:
        delivery = "Pre-Transit"
    if failed:
        status = "Cancelled"
    elif closed:
        status = "Closed"
    else:
        status = "Open"
    locations = {line.get("location") for line in p["lines"] if line.get("location")}
    return {
        "rma_number": ref,
        "return_id": _stable_id(store, ref),
        "shopify_return_id": None,
        "shopify_order_name": p.get("order_ref"),
        "order_id": str(5_000_000_000 + int(_stable_id(ref)[:8], 16) % 1_000_000_000),
        "date_created": p.get("created_at"),
        "date_updated": max(events) if events else p.get("created_at"),
        "submission_date": p.get("created_at"),
        "type_string": method or "Refund",
        "type": [method or "Refund"],
        "delivery_status": delivery,
        "return_status": status,
        "shipping_carrier": "Royal Mail",
        "tracking_number": "RM" + _stable_id(ref)[:10].upper(),
        "total": _money(Decimal(refund.get("items", 0))),
        "handling_fee": _money(fee),
        "total_refund_value_customer_currency": _money(
            Decimal(refund.get("items", 0)) + Decimal(refund.get("tax", 0)) - fee
        ),
        "total_refunded_taxes": _money(Decimal(refund.get("tax", 0))),
        "store_id": store,
        "store_name": STORE_NAME,
        "customer_name": p.get("customer_name"),
        "customer_email": p.get("customer_email"),
        "customer_currency": currency,
        "rma_processed": bool(closed),
        "quality_control_status": "Completed" if inspected else "Pending",
        "delivered_date": received,
        "date_closed": closed,
        "return_shipments": [
            {"shipment_id": _stable_id(ref, "shipment", location),
             "location_id": location, "destination_location_id": location,
             "carrier_id": "royal-mail", "label_type": "QR", "using_split_shipment":
             len(locations) > 1, "tracking_number": "RM" + _stable_id(ref)[:10].upper(),
             # ExternalShipmentItemDto objects, as v2 documents them (not bare ids)
             "items": [{key: pr[key] for key in SHIPMENT_ITEM_FIELDS}
                       for pr, line in zip(products, p["lines"], strict=True)
                       if line.get("location") == location]}
            for location in sorted(locations)
        ],
        "products": products,
    }


def _is_exchange(case: dict) -> bool:
    return case["platform"].get("stages", {}).get("credited", {}).get("status") == (
        "not_applicable"
    )


def as_v1(record: dict[str, Any]) -> dict[str, Any]:
    out = {V1_NAMES.get(k, k): v for k, v in record.items() if k != "return_shipments"}
    return out


class SwapSimulator:
    """The Swap Commerce returns API over a fixed set of return records.

    A page costs the same whatever the number of returns: the records are a `TrackedList`
    (kits/odata/server.py), and what a query matches is worked out once and kept with it
    until a record changes (`touch`, or a test editing one)."""

    def __init__(self, records: list[dict[str, Any]], *, api_key: str, store: str,
                 faults: Faults | None = None) -> None:
        self.records = sorted(records, key=lambda r: (r["date_created"] or "", r["rma_number"]))
        self.api_key = api_key
        self.store = store
        self.faults = faults or Faults()
        self.requests = 0

    @property
    def records(self) -> TrackedList:
        return self._records

    @records.setter
    def records(self, records: list[dict[str, Any]]) -> None:
        self._records: TrackedList = track(list(records))

    # -- what the sandbox asks of every simulator (sandbox/hosted.py) --------------------

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"store": self.store, "api_version": 2}

    def touch(self, refs: set[str], at: datetime) -> None:
        for record in self.records:
            if record["rma_number"] in refs:
                record["date_updated"] = at.isoformat()

    def expire_sessions(self) -> None:
        """An API key does not expire."""

    def native_code(self, kind: str, code: str) -> str:
        return RETURN_TYPES.get(code, code) if kind == "refund_method" else code

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def native(self) -> Any:
        return self.records

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/external/returns", self._v1, methods=["GET"]),
            Route("/v2/external/returns", self._v2, methods=["GET"]),
        ])

    async def _v1(self, request: Request) -> Response:
        return await self._serve(request, version=1)

    async def _v2(self, request: Request) -> Response:
        return await self._serve(request, version=2)

    async def _serve(self, request: Request, version: int) -> Response:
        self.requests += 1
        if request.headers.get("x-api-key") != self.api_key:
            return json_error(401, {"statusCode": 401, "message": "Invalid API key",
                                    "error": "Unauthorized"})
        fault = await self.faults.before(request, _server_error, _rate_limited)
        if fault is not None:
            return fault
        q = request.query_params
        store_param = "store" if version == 1 else "swap_store_id"
        limit = 50 if version == 1 else 100
        problems = []
        if q.get(store_param) != self.store:
            problems.append(f"{store_param} must be a store this key belongs to")
        try:
            page = int(q.get("page", "1"))
            per_page = int(q.get("items_per_page", str(limit)))
        except ValueError:
            page, per_page = 0, 0
        if page < 1:
            problems.append("page must not be less than 1")
        if not 1 <= per_page <= limit:
            problems.append(f"items_per_page must be between 1 and {limit}")
        filters = {}
        date_params = (("from_date", "to_date", "last_updated_date") if version == 1 else
                       ("from_return_submission_date", "to_return_submission_date",
                        "last_RMA_updated_date"))
        for name in date_params:
            if q.get(name):
                try:
                    filters[name] = datetime.fromisoformat(q[name].replace("Z", "+00:00"))
                except ValueError:
                    problems.append(f"{name} must be a valid ISO 8601 date string")
        if version == 1 and "from_date" not in q and "last_updated_date" not in q:
            problems.append("from_date must be a valid ISO 8601 date string")
        if problems:
            return json_error(400, {"statusCode": 400, "message": problems,
                                    "error": "Bad Request"})
        created_from, created_to, updated_since = (filters.get(n) for n in date_params)
        chosen = self._matching(created_from, created_to, updated_since)
        total = len(chosen)
        pages = max(1, -(-total // per_page))
        rows = [self.records[i] for i in chosen[(page - 1) * per_page: page * per_page]]
        WORK.shaped += len(rows)
        if version == 1:
            rows = [as_v1(r) for r in rows]
        pagination = {"page": page, "items_per_page": per_page, "total_pages": pages,
                      "total_items": total, "has_next_page": page < pages,
                      "has_previous_page": page > 1, "current_page_size": len(rows)}
        return JSONResponse({
            "orders" if version == 1 else "returns": rows,
            "version": version,
            "query_params": dict(q),
            "pagination": pagination,
        })


    def _matching(self, created_from: datetime | None, created_to: datetime | None,
                  updated_since: datetime | None) -> Sequence[int]:
        """The positions of the returns a query's dates keep, in the order served; kept
        with the records until one changes."""
        records = self.records
        if created_from is None and created_to is None and updated_since is None:
            return range(len(records))

        def column(name: str) -> tuple[list[datetime], bool]:
            def read() -> tuple[list[datetime], bool]:
                WORK.examined += len(records)
                values = [_dt(r[name]) for r in records]
                return values, all(a <= b for a, b in itertools.pairwise(values))
            return remember(records, ("swap:column", name), read)  # type: ignore[no-any-return]

        def find() -> Sequence[int]:
            span: Sequence[int] = range(len(records))
            if created_from is not None or created_to is not None:
                created, ordered = column("date_created")
                if ordered:  # as served (by creation): the window is one slice
                    lo = 0 if created_from is None else bisect.bisect_left(created,
                                                                           created_from)
                    hi = (len(created) if created_to is None
                          else bisect.bisect_right(created, created_to))
                    span = range(lo, max(lo, hi))
                else:
                    WORK.examined += len(records)
                    span = [i for i, at in enumerate(created)
                            if (created_from is None or at >= created_from)
                            and (created_to is None or at <= created_to)]
            if updated_since is None:
                return span
            updated, _ = column("date_updated")
            WORK.examined += len(span)
            return [i for i in span if updated[i] > updated_since]

        key = ("swap:matching", created_from, created_to, updated_since)
        return remember(records, key, find)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1 << 18)
def _dt(value: str | None) -> datetime:
    return datetime.fromisoformat((value or "1970-01-01T00:00:00+00:00").replace("Z", "+00:00"))


def _server_error() -> Response:
    return json_error(503, {"statusCode": 503, "message": "Service Unavailable"})


def _rate_limited(retry_after: float) -> Response:
    return json_error(429, {"statusCode": 429, "message": "ThrottlerException: Too Many Requests"},
                      headers={"Retry-After": f"{retry_after:g}"})


#: The sandbox's store and key (public demo values, not secrets).
DEMO_STORE = "store_northwind"
DEMO_API_KEY = "sandbox-swap-api-key"


def build(snapshot: dict, *, faults: Faults | None = None, **knobs: Any) -> SwapSimulator:
    """The simulator loaded with a canonical scenario's returns, rendered as Swap sends them
    (an ERP record with no platform return behind it has no Swap record)."""
    if knobs:
        raise TypeError(f"the Swap simulator takes no {', '.join(knobs)}")
    return SwapSimulator([render_return(c, DEMO_STORE) for c in snapshot["returns"]
                          if not c.get("unlinked")],
                         api_key=DEMO_API_KEY, store=DEMO_STORE, faults=faults)

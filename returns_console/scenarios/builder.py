"""Builds one healthy return (both views agreeing) in canonical snapshot JSON.

Plants then bend a healthy return in exactly one place, so each planted exception is the
only thing wrong with its return.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ..systems import DEFAULT_PAIR
from .world import (
    CONDITIONS,
    CURRENCY,
    HUBS,
    PAYMENT_METHODS,
    PRODUCTS,
    REASONS,
    REFUND_METHODS,
    SOCK_PACK,
    SOCK_PACK_FACTOR,
    TAX_RATE,
    Product,
    customer_email,
    customer_number,
)

CENT = Decimal("0.01")
#: How far into the platform's lifecycle a return has got, in order.
PROGRESS = ("authorised", "in_transit", "received", "inspected", "credited")

#: Offsets from the return's start at which each event happens on each side.
PLATFORM_AT = {
    "authorised": timedelta(0),
    "in_transit": timedelta(days=1),
    "received": timedelta(days=3),
    "inspected": timedelta(days=3, hours=2),
    "credited": timedelta(days=3, hours=3),
    "restocked": timedelta(days=3, hours=5),
}
ERP_AT = {
    "authorised": timedelta(minutes=10),
    "received": timedelta(days=3, hours=1),
    "inspected": timedelta(days=3, hours=2, minutes=30),
    "credited": timedelta(days=3, hours=4),
    "restocked": timedelta(days=3, hours=5),
}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"


@dataclass(frozen=True, slots=True)
class Shape:
    """The knobs a plant may turn before the return is built."""

    start: datetime
    progress: str = "credited"
    exchange: bool = False
    #: Record storefront / ERP restock stages (not every platform reports them).
    restock: bool = False


def _stage(status: str, at: datetime | None, *ids: str, detail: str | None = None) -> dict:
    out: dict = {"status": status, "record_ids": list(ids)}
    if at is not None:
        out["at"] = iso(at)
    if detail:
        out["detail"] = detail
    return out


def build_return(i: int, rng: random.Random, shape: Shape, customers: int,
                 platform: str = DEFAULT_PAIR[0], erp: str = DEFAULT_PAIR[1]) -> dict:
    """A healthy return: every stage reached on the platform is mirrored in the ERP."""
    ref, order = f"R-{100000 + i}", f"#{1000 + i}"  # 6 digits up to R-999999
    cust = rng.randint(1, customers)
    pool = [*PRODUCTS, SOCK_PACK]
    chosen: list[Product] = rng.sample(pool, rng.choice((1, 1, 1, 2, 2, 3)))
    reason = rng.choice(sorted(REASONS))
    condition = "damaged" if rng.random() < 0.15 else "sellable"
    hub = next(iter(HUBS))
    method = rng.choice(REFUND_METHODS)
    if method not in PAYMENT_METHODS:
        method = "store_credit"
    reached = PROGRESS.index(shape.progress)
    at = {k: shape.start + off for k, off in PLATFORM_AT.items()}
    eat = {k: shape.start + off for k, off in ERP_AT.items()}

    lines, erp_lines, items = [], [], Decimal(0)
    for n, product in enumerate(chosen, start=1):
        qty = Decimal(rng.choice((1, 1, 1, 2)))
        factor = SOCK_PACK_FACTOR if product is SOCK_PACK else Decimal(1)
        items += product.price * qty
        received = reached >= PROGRESS.index("received")
        inspected = reached >= PROGRESS.index("inspected")
        lines.append({
            "line_ref": f"{ref}-{n}", "sku": product.sku, "quantity": str(qty),
            "reason": reason, "location": hub, "unit_price": money(product.price),
            **({"received_quantity": str(qty)} if received else {}),
            **({"condition": condition} if inspected else {}),
        })
        erp_lines.append({
            "line_ref": f"{n * 10000}", "item_no": product.item_no, "uom": product.base_uom,
            "quantity": str(qty * factor), "reason": REASONS[reason],
            **({"received_quantity": str(qty * factor)} if received else {}),
            **({"disposition": CONDITIONS[condition][0],
                "location": CONDITIONS[condition][1]} if inspected else {}),
        })

    # Healthy returns refund items and tax only: what every platform API reports. Shipping,
    # discounts and fees appear where a plant bends a return.
    tax = (items * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    zero = money(Decimal(0))
    amounts = {"currency": CURRENCY, "items": money(items), "tax": money(tax),
               "shipping": zero, "discounts": zero, "fees": zero}

    pstages: dict[str, dict] = {}
    estages: dict[str, dict] = {}
    for k, name in enumerate(PROGRESS):
        if k > reached:
            break
        pstages[name] = _stage("done", at[name], f"{ref}:{name}")
    if reached == PROGRESS.index("in_transit"):
        pstages["in_transit"] = _stage("pending", at["in_transit"], detail="In-Transit")
    estages["authorised"] = _stage("done", eat["authorised"], f"RO-{i:06d}", detail="Open")
    if reached >= PROGRESS.index("received"):
        estages["received"] = _stage("done", eat["received"], f"RR-{i:06d}")
    if reached >= PROGRESS.index("inspected"):
        estages["inspected"] = _stage("done", eat["inspected"], f"RR-{i:06d}")

    credit_notes = []
    refund = None
    if shape.exchange:
        pstages["credited"] = _stage("not_applicable", None)
        estages["credited"] = _stage("not_applicable", None)
        if reached >= PROGRESS.index("inspected"):
            pstages["exchanged"] = _stage("done", at["inspected"], f"{ref}:exchange")
            estages["exchanged"] = _stage("done", eat["inspected"], f"SO-X{i:06d}")
    else:
        refund = amounts
        if reached >= PROGRESS.index("credited"):
            estages["credited"] = _stage("done", eat["credited"], f"PCM{i:06d}", detail="Open")
            credit_notes.append(credit_note(i, ref, order, customer_number(cust),
                                            eat["credited"], amounts,
                                            PAYMENT_METHODS[method]))
    if shape.restock and reached >= PROGRESS.index("credited") and condition == "sellable":
        pstages["restocked"] = _stage("done", at["restocked"])
        estages["restocked"] = _stage("done", eat["restocked"])

    return {
        "platform": {
            "system": platform, "return_ref": ref, "order_ref": order,
            "customer_email": customer_email(cust), "customer_name": f"Customer {cust}",
            "created_at": iso(shape.start), "lines": lines, "refund": refund,
            "refund_method": None if shape.exchange else method,
            "fees": [],
            "stages": pstages,
        },
        "erp": {
            "system": erp, "return_ref": ref, "order_ref": order,
            "customer_ref": customer_number(cust), "return_order_state": "open",
            "lines": erp_lines, "credit_notes": credit_notes, "stages": estages,
        },
        "problems": [],
    }


def credit_note(i: int, ref: str, order: str, customer: str, posted: datetime, amounts: dict,
                method: str, suffix: str = "") -> dict:
    return {
        "id": f"cm-{i:06d}{suffix}", "number": f"PCM{i:06d}{suffix}", "status": "posted",
        "external_ref": ref, "order_ref": order, "customer_ref": customer,
        "posting_date": posted.date().isoformat(), "posted_at": iso(posted),
        "amounts": dict(amounts), "payment_method": method,
    }

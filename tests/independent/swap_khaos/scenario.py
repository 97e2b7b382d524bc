"""One planted world for the independent Swap Commerce (Returns API v2) <-> Khaos Control Cloud
(channel protocol, system ``khaos``) check.

Written from docs/vendors/khaos-control.md ("KC §x"), the public kcc-web-services README it
cites, docs/khaos-mapping.md ("mapping"), the README's "Against the real Khaos Control",
docs/exceptions.md and docs/swap-bc-mapping.md (Swap's stages): never from the product's Khaos
code or tests. Choices where the docs are silent are marked "CHOICE:".

Time is REAL time: Khaos's channel events (pulls, stock pushes) can only happen now, so the
world is built around ``NOW`` = the moment ``build_world()`` runs. Platform dates lie in the
last ~30 days; every Khaos event happens during the test, after Khaos took the return.

The world
  * Swap store ``store_tarn_moor``: ~40 returns, a healthy majority and one planted problem per
    return otherwise; ONE waiting return per stock item for everything receipt-related (the
    product documents that two waiting returns of one item can swap).
  * Khaos: stock items (``StockUpload``) with StockID/StockCode, levels per site
    (``StockStatusUpload``), the retailer's web sales orders (imported by the retailer's own
    channel: Khaos knows their AssociatedRef = the Shopify order name), one customer account
    (``URN``) returns are imported against, return reason ids 1-6.
  * CHOICE (KC §8.2 "an imported return refused for an unknown SKU, a missing URN"): the fake
    Khaos refuses an import whose item it cannot find by StockCode, whose reason id it lacks,
    whose URN is unknown, or whose ``SourceOrder.AssociatedRef`` names an order it does not
    hold; it asks again for a refused one with ``SpecificIDs`` (KC §4 "Retrying").
  * CHOICE: a blank/absent source order is accepted (``SourceReference`` is optional in the
    kcc README's CustomerReturnItem table), a discontinued item is accepted on a return (only
    selling it is refused, KC §8.1).
  * Goods back in Khaos = the item's ``Available`` level rises by the units returned after
    the return was taken (mapping "received": ``receipt_evidence=stock_rise``).
  * Refunds that Swap makes AFTER Khaos's stock rise are applied to the fake Swap's records
    during the test (``after_rise``), so credited-after-receipt is healthy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

UTC = UTC

PROFILE = "tarnmoor"
STORE_ID = "store_tarn_moor"
STORE_NAME = "Tarn & Moor Outdoor"
API_KEY = "swp_live_tm_5e0b7a91c3d44f28b6aa"
KC_USERNAME = "tarnmoor-channel"
KC_PASSWORD = "kcc-Ql7#vR2!pZ9@tm"
URN = "TMWEB01"  # the Khaos customer account web returns go to (option urn)
SITE_RETURNS = 1  # the main warehouse, where returns go back to
SITE_OTHER = 2  # a second stock site (purchases only)

# Khaos return reason ids (System Data > Return Reasons; per installation, U31)
KHAOS_REASONS = {"1": "Wrong size", "2": "No longer wanted", "3": "Faulty",
                 "4": "Not as described", "5": "Arrived late", "6": "Stock Missing"}
# Swap reasons (main_reason_id, text) -> Khaos reason id (the profile's `reason` mapping table).
# CHOICE: this store's Swap reason ids are small numbers too (Swap does not publish their
# shape), and they do NOT line up with Khaos's: a feed that ignores the mapping table still
# offers ids Khaos has (the import succeeds with the WRONG reason, the realistic harm), so the
# rest of the channel can be scored while the shape test names the wrong ids.
SWAP_REASONS = [
    ("1", "Too small", "1"),
    ("2", "Too big", "1"),
    ("3", "Changed my mind", "2"),
    ("4", "Faulty or damaged", "3"),
    ("5", "Not as described", "4"),
]

# The Swap SKU that is not a Khaos stock code: a two-pack sold on the web, two units in Khaos.
PACK_SKU = "TM-SOCK-2PK"
PACK_ITEM = "TM-SOCK-MER"
PACK_FACTOR = 2


def hexid(n: int, *parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:n]


def digits(n: int, *parts: object) -> str:
    h = int(hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest(), 16)
    return str(h)[:n]


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# ------------------------------------------------------------------------------ Khaos items
@dataclass
class Item:
    code: str
    stock_id: str
    desc: str
    price: float
    discontinued: bool = False  # in the first bulk push
    discontinue_later: bool = False  # a later "modification by the user" push
    delete_later: bool = False  # a later push lists it under Deleted
    base: int = 20  # Available at SITE_RETURNS in the baseline push


FAMILIES = [
    ("TM-TEE", "Merino Tee", 35.0, ["S", "M", "L", "XL"]),
    ("TM-FLC", "Grid Fleece", 70.0, ["S", "M", "L", "XL"]),
    ("TM-JKT", "Storm Shell", 180.0, ["S", "M", "L", "XL"]),
    ("TM-TRS", "Trail Trouser", 75.0, ["30", "32", "34", "36"]),
    ("TM-BOOT", "Fell Boot", 140.0, ["41", "42", "43", "44", "45"]),
    ("TM-HAT", "Beanie", 22.0, ["GRN", "NVY", "RED"]),
    ("TM-GLV", "Liner Glove", 18.0, ["S", "M", "L"]),
    ("TM-PACK", "Daypack", 90.0, ["20L", "30L"]),
    ("TM-BTL", "Steel Bottle", 25.0, ["500", "750"]),
    ("TM-MAP", "Map Case", 15.0, ["STD"]),
    ("TM-SCF", "Wool Scarf", 30.0, ["GRN", "GRY", "BLU"]),
    ("TM-SHT", "Flannel Shirt", 55.0, ["S", "M", "L"]),
]


def catalogue() -> dict[str, Item]:
    items: dict[str, Item] = {}
    sid = 4100
    for fam, name, price, sizes in FAMILIES:
        for s in sizes:
            sid += 1
            code = f"{fam}-{s}"
            items[code] = Item(code, str(sid), f"{name} {s}", price,
                               base=12 + int(digits(2, code)) % 30)
    sid += 1
    items[PACK_ITEM] = Item(PACK_ITEM, str(sid), "Merino Sock (pair)", 12.0, base=60)
    return items


# ------------------------------------------------------------------------------ returns
@dataclass
class Line:
    sku: str  # what Swap sends
    qty: int
    reason: int = 0  # index into SWAP_REASONS

    @property
    def item(self) -> str:  # the Khaos stock code
        return PACK_ITEM if self.sku == PACK_SKU else self.sku

    @property
    def units(self) -> int:  # units in Khaos
        return self.qty * (PACK_FACTOR if self.sku == PACK_SKU else 1)


@dataclass
class Ret:
    ref: str
    order: str
    lines: list[Line]
    created: datetime
    status: str = "Open"
    rtype: str = "Refund"
    shipped: datetime | None = None
    delivered: datetime | None = None
    processed: datetime | None = None  # refunded / closed on Swap before the test runs
    after_rise: bool = False  # Swap processes it during the test, after Khaos's rise
    rises: list[tuple[str, int, int]] = field(default_factory=list)  # (item, +units, site)
    sale_before_rise: bool = False  # a sale lowers the level first (rise is then from lower)
    invalid: bool = False  # PAYLOAD_INVALID: item_count absent
    order_blank: bool = False  # the platform record carries no order name
    exchange: list[Line] = field(default_factory=list)
    note: str = ""
    repeat_pair: bool = False  # one of two returns of one item whose rises are identical bodies

    @property
    def served(self) -> bool:
        """Offered by the feed (mapping "What the returns feed offers": approved, valid)."""
        return self.status not in ("Cancelled", "Expired") and not self.invalid


@dataclass
class World:
    now: datetime
    items: dict[str, Item]
    returns: list[Ret]
    khaos_orders: set[str]  # web orders Khaos holds (AssociatedRef)
    never_pushed: set[str]  # stock codes Khaos does not have at all
    swap_returns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    truth: set[tuple[str, str]] = field(default_factory=set)
    plant_notes: dict[tuple[str, str], str] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    # refs expected to fail import (Khaos asks for them again with SpecificIDs)
    expect_failed: set[str] = field(default_factory=set)

    def plant(self, ref: str, code: str, why: str) -> None:
        self.truth.add((ref, code))
        self.plant_notes[(ref, code)] = why

    def ret(self, ref: str) -> Ret:
        return next(r for r in self.returns if r.ref == ref)

    def record(self, ref: str) -> dict[str, Any]:
        return next(r for r in self.swap_returns[STORE_ID] if r["rma_number"] == ref)


FIRST = ["Ailsa", "Rory", "Morag", "Callum", "Eilidh", "Fraser", "Iona", "Hamish", "Skye",
         "Finlay", "Kirsty", "Angus", "Catriona", "Euan"]
LAST = ["Macrae", "Buchanan", "Lindsay", "Munro", "Drummond", "Sinclair", "Gunn", "Ross"]


def swap_record(r: Ret, now: datetime) -> dict[str, Any]:
    """A v2 ``ExternalReturnV2Dto`` (docs/vendors/swap-commerce.md §1.4.1) for one return."""
    n = int(digits(4, r.ref))
    first, last = FIRST[n % len(FIRST)], LAST[(n // 7) % len(LAST)]
    email = f"{first.lower()}.{last.lower()}{n % 97}@example.net"
    refunded_kind = r.rtype in ("Refund", "Shop Now Credit", "Shop Later Credit")
    products = []
    total = 0.0
    items = catalogue()
    for i, ln in enumerate(r.lines):
        rid, rtext, _ = SWAP_REASONS[ln.reason]
        unit = items[ln.item].price * (PACK_FACTOR if ln.sku == PACK_SKU else 1) \
            if ln.item in items else 30.0
        cost = round(unit * ln.qty, 2)
        total += cost
        p: dict[str, Any] = {
            "product_id": "prd_" + hexid(16, r.ref, ln.sku),
            "shopify_product_id": "8" + digits(12, "prod", ln.item),
            "shopify_variant_id": "4" + digits(13, "var", ln.sku),
            "shopify_line_item_id": "1" + digits(13, "li", r.ref, i),
            "order_number": r.order,
            "original_order_name": r.order,
            "date": iso(r.created),
            "product_name": items[ln.item].desc if ln.item in items else "Leather Belt",
            "variant_name": ln.sku.rsplit("-", 1)[-1],
            "sku": ln.sku,
            "main_reason_id": rid,
            "main_reason_text": rtext,
            "sub_reason_id": None,
            "sub_reason_text": None,
            "comments": None,
            "item_count": ln.qty,
            "cost": cost,
            "return_type": r.rtype,
            "currency": "GBP",
            "vendor": STORE_NAME,
            "refunded_taxes": round(cost / 6, 2) if refunded_kind else 0,
            "refunded_inclusive_taxes": round(cost / 6, 2) if refunded_kind else 0,
            "refunded_non_inclusive_taxes": 0,
            "refunded_duties": 0,
            "intake_reason": None,
            "is_faulty": ln.reason == 3,
            "barcode": "50" + digits(11, "ean", ln.sku),
            "tax_rate": 0.2,
        }
        if r.invalid:
            p.pop("item_count")  # PLANT PAYLOAD_INVALID: the required integer is absent
        products.append(p)
    if r.delivered:
        delivery = "Delivered"
    elif r.shipped:
        delivery = "In-Transit"
    else:
        delivery = "Pre-Transit"
    closed = r.processed is not None
    status = "Closed" if closed and r.status == "Open" else r.status
    events = [t for t in (r.created, r.shipped, r.delivered, r.processed) if t]
    order_name = "" if r.order_blank else r.order
    refund = total if r.rtype == "Refund" else 0
    credit = total if r.rtype in ("Shop Now Credit", "Shop Later Credit") else 0
    exch = [
        {"sku": x.sku, "product_name": items[x.item].desc, "item_count": x.qty,
         "price": items[x.item].price * x.qty, "currency": "GBP"}
        for x in r.exchange
    ]
    return {
        "rma_number": r.ref,
        "return_id": hexid(24, "return", r.ref),
        "shopify_return_id": None,
        "shopify_order_name": order_name,
        "order_id": "5" + digits(12, "order", r.order),
        "date_created": iso(r.created),
        "date_updated": iso(max(events)),
        "submission_date": iso(r.created),
        "submitted_at": None,
        "intention_date": iso(r.created - timedelta(minutes=5)),
        "type_string": r.rtype,
        "type": [r.rtype],
        "delivery_status": delivery,
        "return_status": status,
        "shipping_carrier": "Evri",
        "tracking_number": f"H{digits(15, r.ref)}",
        "total": round(total, 2),
        "handling_fee": 0,
        "store_id": STORE_ID,
        "store_name": STORE_NAME,
        "customer_name": f"{first} {last}",
        "customer_email": email,
        "customer_locale": "en-GB",
        "customer_currency": "GBP",
        "total_additional_payment": 0,
        "total_credit_exchange_value": sum(x["price"] for x in exch),
        "total_refund_value_customer_currency": refund,
        "total_store_credit_value_customer_currency": credit,
        "rma_processed": "true" if closed else "false",
        "processed_by": "ops@tarnmoor.example" if closed else None,
        "quality_control_status": "Completed" if closed else "Pending",
        "delivered_date": iso(r.delivered),
        "date_closed": iso(r.processed) if closed else None,
        "total_refunded_taxes": round(sum(p.get("refunded_taxes", 0) for p in products), 2),
        "total_refunded_duties": 0,
        "tags": "",
        "billing_address": {"name": f"{first} {last}", "address1": f"{n % 90 + 1} Croft Road",
                            "address2": None, "city": "Keswick", "postcode": "CA12 5DQ",
                            "country_code": "GB"},
        "shipping_address": None,
        "return_shipments": [{
            "shipment_id": "shp_" + hexid(12, r.ref),
            "location_id": "loc_tm_penrith",
            "destination_location_id": "loc_tm_penrith",
            "carrier_id": "evri",
            "tracking_number": f"H{digits(15, r.ref)}",
            "items": [dict(p) for p in products],
        }],
        "products": products,
        "exchange_items": exch,
    }


def mark_processed(rec: dict[str, Any], when: datetime) -> None:
    """Swap processes the return (refund / credit / exchange sent): Closed, date_closed."""
    rec["return_status"] = "Closed"
    rec["rma_processed"] = "true"
    rec["processed_by"] = "ops@tarnmoor.example"
    rec["quality_control_status"] = "Completed"
    rec["date_closed"] = iso(when)
    rec["date_updated"] = iso(when)


def build_world(now: datetime | None = None) -> World:
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    items = catalogue()

    def h(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    def d(days: float) -> datetime:
        return now - timedelta(days=days)

    rets: list[Ret] = []
    seq = [70100]

    def add(lines: list[Line], created: datetime, **kw: Any) -> Ret:
        seq[0] += 1
        ref = f"TM-R{seq[0]}"
        r = Ret(ref, f"#TM{seq[0] + 20000}", lines, created, **kw)
        rets.append(r)
        return r

    L = Line
    # ---------------------------------------------------------------- healthy majority
    # in transit / pre-transit: Khaos takes them, nothing else yet
    add([L("TM-TEE-S", 1, 0)], d(3), shipped=d(2), note="in transit")
    add([L("TM-TEE-M", 1, 1)], d(5), shipped=d(4), note="in transit")
    add([L("TM-FLC-S", 1, 2)], d(2), shipped=d(1.5), note="in transit")
    add([L("TM-TRS-30", 1, 4)], d(8), shipped=d(6), note="in transit")
    add([L("TM-HAT-GRN", 2, 2)], d(1), shipped=h(20), note="in transit, 2 units")
    add([L("TM-BOOT-41", 1, 0)], d(1.2), note="pre-transit")
    add([L("TM-SHT-S", 1, 1)], h(30), note="pre-transit")
    add([L("TM-BTL-500", 1, 2)], d(4), shipped=d(3), rtype="Recycle", note="recycle, in transit")
    # delivered in the last day; Khaos's level rises once it has taken the return
    add([L("TM-TEE-L", 1, 0)], d(6), shipped=d(5), delivered=h(8),
        rises=[("TM-TEE-L", 1, SITE_RETURNS)], note="back, rise, still open")
    add([L("TM-FLC-M", 1, 3)], d(4), shipped=d(3), delivered=h(5),
        rises=[("TM-FLC-M", 1, SITE_RETURNS)], sale_before_rise=True,
        note="back, a sale then the return's rise")
    add([L("TM-JKT-S", 1, 4)], d(7), shipped=d(6), delivered=h(14),
        rises=[("TM-JKT-S", 1, SITE_RETURNS)], after_rise=True,
        note="back, rise, then refunded on Swap")
    add([L(PACK_SKU, 1, 2)], d(5), shipped=d(4), delivered=h(11),
        rises=[(PACK_ITEM, PACK_FACTOR, SITE_RETURNS)], after_rise=True,
        note="a two-pack: 2 units in Khaos (SKU mapping factor 2)")
    add([L("TM-TRS-32", 2, 0)], d(6), shipped=d(5), delivered=h(16),
        rises=[("TM-TRS-32", 2, SITE_RETURNS)], after_rise=True, rtype="Shop Later Credit",
        note="2 units back, store credit after the rise")
    add([L("TM-BOOT-42", 1, 0)], d(9), shipped=d(8), delivered=h(19), rtype="Exchange",
        exchange=[L("TM-BOOT-43", 1)], rises=[("TM-BOOT-42", 1, SITE_RETURNS)],
        after_rise=True, note="exchange: Khaos shows no replacement (not checked)")
    add([L("TM-PACK-20L", 1, 3), L("TM-HAT-NVY", 1, 2)], d(5), shipped=d(4), delivered=h(7),
        rises=[("TM-PACK-20L", 1, SITE_RETURNS), ("TM-HAT-NVY", 1, SITE_RETURNS)],
        note="two lines, two items, both rise")
    add([L("TM-GLV-M", 1, 1)], d(3), shipped=d(2), delivered=h(4),
        rises=[("TM-GLV-M", 1, SITE_RETURNS)], note="back, rise")
    # delivered days ago; Khaos takes it and the goods go back in now; refunded after
    add([L("TM-TEE-XL", 1, 0)], d(9), shipped=d(8), delivered=d(2.5),
        rises=[("TM-TEE-XL", 1, SITE_RETURNS)], after_rise=True,
        note="back 2.5 days ago, Khaos receipt now, refunded after")
    add([L("TM-FLC-L", 1, 1)], d(11), shipped=d(10), delivered=d(3.5),
        rises=[("TM-FLC-L", 1, SITE_RETURNS)], after_rise=True,
        note="back 3.5 days ago, receipt now, refunded after")
    add([L("TM-TRS-34", 1, 4)], d(12), shipped=d(11), delivered=d(2),
        rises=[("TM-TRS-34", 1, SITE_RETURNS)], sale_before_rise=True,
        note="back 2 days ago, sale then rise, still open")
    add([L("TM-BTL-750", 1, 3)], d(10), shipped=d(9), delivered=d(2.6),
        rises=[("TM-BTL-750", 1, SITE_RETURNS)], note="back 2.6 days ago, receipt now")
    # delivered hours ago, not yet in Khaos: within the received grace (a delay at most)
    add([L("TM-JKT-M", 1, 0)], d(4), shipped=d(3), delivered=h(6), note="back 6h, no rise yet")
    add([L("TM-BOOT-44", 1, 1)], d(3), shipped=d(2), delivered=h(3), note="back 3h, no rise yet")
    # refunded two hours ago, rise now: a credit-before-receipt gap within the credited grace
    add([L("TM-GLV-L", 1, 3)], d(5), shipped=d(4), delivered=h(20), processed=h(2),
        rises=[("TM-GLV-L", 1, SITE_RETURNS)],
        note="refunded 2h before Khaos's receipt: within the credited grace (24h)")
    # two returns of one item, both back over a day ago, each +1: the second rise's body is
    # byte-identical to the first (level 21 -> sale 20 -> 21). Any assignment of the two rises
    # receives both (so the documented timing ambiguity cannot matter); scored apart
    # (test_a_genuine_repeat_of_an_identical_push_counts).
    add([L("TM-SHT-M", 1, 0)], d(6), shipped=d(5), delivered=h(30),
        rises=[("TM-SHT-M", 1, SITE_RETURNS)], note="same-item pair A", repeat_pair=True)
    add([L("TM-SHT-M", 1, 1)], d(5), shipped=d(4), delivered=h(28),
        rises=[("TM-SHT-M", 1, SITE_RETURNS)], note="same-item pair B", repeat_pair=True)
    # never offered: cancelled / expired on Swap
    add([L("TM-JKT-L", 1, 0)], d(6), status="Cancelled", note="cancelled on Swap")
    add([L("TM-TRS-36", 1, 1)], d(25), status="Expired", note="expired on Swap")

    # ---------------------------------------------------------------- plants
    p_unknown = add([L("TM-BELT-BRN", 1, 1)], d(3), shipped=d(2),
                    note="SKU Khaos never pushed; import refused")
    p_deleted = add([L("TM-MAP-STD", 1, 2)], d(2), shipped=d(1),
                    note="item deleted in Khaos before the pull; import refused")
    p_disc = add([L("TM-HAT-RED", 1, 0)], d(4), shipped=d(3),
                 note="item discontinued in the bulk push; import accepted")
    p_disc2 = add([L("TM-BOOT-45", 1, 1)], d(2), shipped=d(1),
                  note="item discontinued by a later user modification; import accepted")
    p_noorder = add([L("TM-SCF-GRN", 1, 2)], d(3), shipped=d(2),
                    note="original order not in Khaos; import refused twice")
    p_noorder2 = add([L("TM-PACK-30L", 1, 4)], d(2), note="original order not in Khaos")
    p_rnp = add([L("TM-TEE-S", 1, 0)], d(8), shipped=d(6), delivered=d(2.5),
                note="back 2.5 days, no rise")
    p_rnp2 = add([L("TM-JKT-XL", 1, 3)], d(12), shipped=d(9), delivered=h(66),
                 note="back 66h, no rise")
    p_rnp3 = add([L("TM-TRS-30", 1, 1)], d(5), shipped=d(4), delivered=h(30),
                 note="back 30h, no rise (a rise pushed with a wrong password must not count)")
    p_qty = add([L("TM-BOOT-43", 2, 0)], d(7), shipped=d(5), delivered=d(2),
                rises=[("TM-BOOT-43", 1, SITE_RETURNS)], note="2 back on Swap, Khaos rose by 1")
    p_qty2 = add([L("TM-GLV-S", 3, 1)], d(6), shipped=d(4), delivered=h(40),
                 rises=[("TM-GLV-S", 2, SITE_RETURNS)], note="3 back on Swap, Khaos rose by 2")
    p_cbr = add([L("TM-FLC-XL", 1, 3)], d(8), shipped=d(6), delivered=d(4), processed=d(3),
                rises=[("TM-FLC-XL", 1, SITE_RETURNS)],
                note="refunded 3 days ago; Khaos's receipt (rise) only now")
    p_invalid = add([L("TM-TEE-M", 1, 0)], d(2), shipped=d(1), invalid=True,
                    note="item_count missing")
    p_noref = add([L("TM-HAT-GRN", 1, 1)], d(3), shipped=d(2), order_blank=True,
                  note="no order name on Swap")
    p_overdue = add([L("TM-JKT-XL", 1, 2)], d(21), shipped=d(20),
                    note="in transit for 20 days (in-transit grace 14 days)")

    # Items with one waiting return at a time for receipt plants: TM-TEE-S has an in-transit
    # return (healthy) and p_rnp (back, no rise): no rise is pushed for TM-TEE-S at all, so no
    # rise can be mis-assigned. Same for TM-TRS-30, TM-GLV-S (p_qty2 is the only one back),
    # TM-FLC-XL (p_noorder never imported), TM-JKT-XL (no rise).
    items["TM-HAT-RED"].discontinued = True
    items["TM-BOOT-45"].discontinue_later = True
    items["TM-MAP-STD"].delete_later = True

    khaos_orders = {r.order for r in rets} - {p_noorder.order, p_noorder2.order}
    w = World(now=now, items=items, returns=rets, khaos_orders=khaos_orders,
              never_pushed={"TM-BELT-BRN"})

    w.plant(p_unknown.ref, "SKU_UNKNOWN", "TM-BELT-BRN is not among Khaos's stock items")
    w.plant(p_unknown.ref, "RETURN_ORDER_MISSING",
            "Khaos refused the import (unknown SKU) and asked again with SpecificIDs")
    w.plant(p_deleted.ref, "SKU_UNKNOWN", "TM-MAP-STD pushed, then listed under Deleted")
    w.plant(p_deleted.ref, "RETURN_ORDER_MISSING",
            "Khaos refused the import (deleted item) and asked again with SpecificIDs")
    w.plant(p_disc.ref, "SKU_INACTIVE", "TM-HAT-RED Options.Discontinued true (bulk push)")
    w.plant(p_disc2.ref, "SKU_INACTIVE",
            "TM-BOOT-45 Options.Discontinued true in a later modification push")
    w.plant(p_noorder.ref, "RETURN_ORDER_MISSING",
            "Khaos refused the import (source order unknown), asked again, refused again")
    w.plant(p_noorder2.ref, "RETURN_ORDER_MISSING",
            "Khaos refused the import (source order unknown), asked again, refused again")
    w.plant(p_rnp.ref, "RECEIPT_NOT_POSTED", "delivered 2.5 days ago; no Available rise")
    w.plant(p_rnp2.ref, "RECEIPT_NOT_POSTED", "delivered 66h ago; no Available rise")
    w.plant(p_rnp3.ref, "RECEIPT_NOT_POSTED",
            "delivered 30h ago; the only rise came with a wrong password (401)")
    w.plant(p_qty.ref, "QUANTITY_MISMATCH", "2 units back on Swap; Available rose by 1")
    w.plant(p_qty2.ref, "QUANTITY_MISMATCH", "3 units back on Swap; Available rose by 2")
    w.plant(p_cbr.ref, "CREDIT_BEFORE_RECEIPT",
            "Swap refunded 3 days ago; Khaos's receipt (rise) is now: gap > 24h")
    w.plant(p_invalid.ref, "PAYLOAD_INVALID", "products[0].item_count absent")
    w.plant(p_noref.ref, "ORDER_REF_MISSING", "shopify_order_name empty")
    w.plant(p_overdue.ref, "STAGE_OVERDUE", "In-Transit for 20 days (grace 14 days)")
    w.expect_failed = {p_unknown.ref, p_deleted.ref, p_noorder.ref, p_noorder2.ref}

    w.swap_returns = {STORE_ID: [swap_record(r, now) for r in rets]}
    w.swap_returns[STORE_ID].sort(key=lambda x: (x["date_updated"], x["rma_number"]))
    reasons: dict[str, str] = {}
    for rid, text, kid in SWAP_REASONS:
        reasons[rid] = kid
        reasons[text] = kid
    w.mappings = {
        "skus": {PACK_SKU: {"sku": PACK_SKU, "item_no": PACK_ITEM, "factor": str(PACK_FACTOR),
                            "erp_uom": "EA"}},
        "reasons": reasons,
        "dispositions": {},
        "locations": {},
        "fees": {},
        "payment_methods": {},
        "identity_fallback": True,
    }
    return w


if __name__ == "__main__":  # pragma: no cover - a quick look at the world
    world = build_world()
    print(len(world.swap_returns[STORE_ID]), "Swap returns")
    for pair in sorted(world.truth):
        print(pair, "-", world.plant_notes[pair])

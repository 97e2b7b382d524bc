"""One planted world for the independent Shopify (GraphQL Admin API) <-> Oracle NetSuite
(SuiteTalk REST + SuiteQL) check.

Written from the vendors' documentation (shopify.dev GraphQL Admin reference and guides; the
NetSuite Help Center pages on SuiteTalk REST, SuiteQL and OAuth 2.0) and the research notes in
/work/shared/research (returns-platforms.md section 4, erp-apis.md section 4). Nothing here is
taken from the product's code, simulators or mapping docs.

The world
  * Shopify shop ``harbour-outfitters.myshopify.com`` (shop currency GBP, some orders presented
    in EUR). Every customer return is a ``Return`` on its order, with return line items,
    reverse fulfillment orders (their line items carry the dispositions: RESTOCKED,
    NOT_RESTOCKED, PROCESSING_REQUIRED, MISSING), reverse deliveries (label + tracking), and
    refunds (refund line items with restockType RETURN / NO_RESTOCK and a location; money as
    MoneyBag shopMoney + presentmentMoney).
  * NetSuite account ``7654321_SB1``: the sales order of every Shopify order, one return
    authorization (RMA) per Shopify return (``otherRefNum`` = the Shopify return's ``name``),
    item receipts and credit memos / cash refunds created from it, accounting periods (2026,
    monthly, September and October closed and locked), items, customers, locations.
  * About 100 returns: a clear majority healthy in every lifecycle state, one (or two) per
    planted exception, plus orders with no return and NetSuite documents that must not be
    reported (goodwill credit memos without a link, sales orders, ...).

Truth: ``World.truth`` is the set of (return_ref, code) the product must report under
``findings`` and nothing else. return_ref is the Shopify ``Return.name`` (e.g. "#1042-R1"); for
an ERP document whose link matches no Shopify return (ERP_RECORD_UNLINKED) it is the link value
the NetSuite document carries (its ``otherRefNum``).

Assumptions (not settled by the docs) -- repeated in the module docstrings of the fakes where
they concern an API's behaviour:
  1. Link key: the integration writes the Shopify return's ``name`` ("#1042-R1") into
     ``otherRefNum`` of the return authorization, the credit memo and the cash refund (the
     product owner's choice for this check; NetSuite leaves it to the integration). Item
     receipts carry no otherRefNum: they link through ``createdFrom`` = the RMA.
  2. The RMA's ``createdFrom`` is the NetSuite sales order of the Shopify order; that sales order
     carries the Shopify order name ("#1042") in ``otherRefNum``.
  3. The Shopify SKU is the NetSuite item's ``itemId`` (identity), except SOCK-3PK which is
     mapped to item SOCK-CREW with factor 3 in the profile's mapping table.
  4. NetSuite books Shopify money in the shop currency (``shopMoney``, GBP) even when the
     customer paid in EUR (``presentmentMoney``); NetSuite records say GBP.
  5. Prices exclude tax (``Order.taxesIncluded`` false), UK VAT 20% on every line; a credit memo
     has one line per item (net) plus ``taxTotal``; no shipping, fees or discounts are refunded.
  6. "Received" on Shopify = a disposition on the reverse fulfillment order line item (any type
     but MISSING) with its ``createdAt``; RESTOCKED = storefront stock restored (restocked
     stage); NOT_RESTOCKED / RESTOCKED = inspected; PROCESSING_REQUIRED = received, not yet
     inspected. A refund line item with restockType RETURN and ``restocked: true`` also
     restocks (at the refund's ``createdAt``).
  7. The NetSuite side moves in whole days (``tranDate`` is a date); every healthy return keeps
     at least a day between the ERP's step and the platform's next step, so no time-zone
     reading can turn a healthy return into a timing finding.
  8. A Shopify REQUESTED return is the authorised stage on the platform; the integration creates
     the RMA at once in status Pending Approval (A). A DECLINED return needs no RMA (or a
     cancelled one).
  9. The mapping table written for the profile (``World.mappings``) has the shape of the one
     the product keeps for its existing pair; its location values are NetSuite location
     internal ids and its disposition keys are Shopify's ReverseFulfillmentOrderDispositionType.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW_ISO = "2026-11-24T12:00:00Z"

# --- identities (deliberately unlike any demo) --------------------------------------------
SHOP_DOMAIN = "harbour-outfitters.myshopify.com"
SHOP_NAME = "Harbour Outfitters"
API_VERSION = "2026-01"
ACCESS_TOKEN = "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"
NS_ACCOUNT = "7654321_SB1"  # the OAuth realm form; the host form is 7654321-sb1
NS_CLIENT_ID = "b7c1e4a2d9f04e3a8c6b5d2e1f0a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
NS_CERTIFICATE_ID = "Kx7vQ2mN9pL4sR8tW1yZ3bC6dF0gH5jA"

D = Decimal
CENT = D("0.01")
VAT = D("0.20")


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def at_noon(days_ago: int) -> datetime:
    d = (NOW - timedelta(days=days_ago)).date()
    return datetime(d.year, d.month, d.day, 12, 0, tzinfo=UTC)


def iso(dt: datetime | None) -> str | None:
    # Shopify DateTime scalar: ISO-8601 UTC, e.g. "2026-11-20T12:00:00Z"
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- catalogue: SKU -> (title, variant, unit net price GBP) --------------------------------
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "TEE-NVY-S": ("Breton Tee", "Navy / S", "22.00"),
    "TEE-NVY-M": ("Breton Tee", "Navy / M", "22.00"),
    "TEE-ECR-L": ("Breton Tee", "Ecru / L", "22.00"),
    "JMP-OAT-M": ("Fisherman Jumper", "Oat / M", "68.00"),
    "JMP-OAT-L": ("Fisherman Jumper", "Oat / L", "68.00"),
    "COAT-OLV-M": ("Waxed Coat", "Olive / M", "145.00"),
    "SHRT-CHB-M": ("Chambray Shirt", "Blue / M", "45.00"),
    "SHRT-CHB-L": ("Chambray Shirt", "Blue / L", "45.00"),
    "BEAN-RST": ("Rib Beanie", "Rust", "18.00"),
    "SCRF-GRY": ("Lambswool Scarf", "Grey", "35.00"),
    "BOOT-BRN-42": ("Deck Boot", "Brown / 42", "95.00"),
    "BOOT-BRN-43": ("Deck Boot", "Brown / 43", "95.00"),
    "SOCK-3PK": ("Crew Socks 3-pack", "Charcoal", "15.00"),
    # planted: storefront SKUs with a NetSuite problem
    "TEE-STRP-XS": ("Striped Tee (legacy)", "XS", "20.00"),  # no NetSuite item
    "CAP-WAX-OLV": ("Waxed Cap", "Olive", "28.00"),  # NetSuite item inactive
}
NS_ONLY_ITEMS = ["SOCK-CREW", "GIFT-CARD", "SHIPPING"]
UNKNOWN_SKUS = {"TEE-STRP-XS"}
INACTIVE_SKUS = {"CAP-WAX-OLV"}

# Shopify locations (gid) and NetSuite locations (internal id)
SHOP_LOC_WAREHOUSE = "gid://shopify/Location/71234500011"  # "Harbour Warehouse"
SHOP_LOC_RETURNS = "gid://shopify/Location/71234500012"  # "Returns Centre"
NS_LOC_MAIN = "3"  # Main Warehouse (sellable)
NS_LOC_QUARANTINE = "5"  # Returns Quarantine (not sellable)
NS_LOCATIONS = {"3": "Main Warehouse", "5": "Returns Quarantine", "7": "Outlet Store"}

REASONS = ["SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "UNWANTED", "DEFECTIVE", "NOT_AS_DESCRIBED",
           "STYLE", "COLOR", "WRONG_ITEM"]


@dataclass
class Customer:
    idx: int
    first: str
    last: str
    shop_id: int
    ns_id: int
    inactive: bool = False

    @property
    def email(self) -> str:
        return f"{self.first.lower()}.{self.last.lower()}@example.org"


@dataclass
class Line:
    sku: str
    qty: int = 1  # returned quantity
    ordered: int = 0  # ordered quantity (default: = qty)

    @property
    def price(self) -> Decimal:
        return D(CATALOGUE[self.sku][2])

    @property
    def net(self) -> Decimal:
        return q2(self.price * self.qty)

    @property
    def tax(self) -> Decimal:
        return q2(self.net * VAT)


@dataclass
class CreditDoc:
    """A NetSuite credit for the return: credit memo (CustCred) or cash refund (CashRfnd)."""

    when: datetime
    kind: str = "CustCred"
    items_delta: Decimal = Decimal(0)  # added to the item lines' total (planted mismatch)
    tax_delta: Decimal = Decimal(0)
    link: str | None = None  # otherRefNum; default: the return name
    other_customer: bool = False  # entity is another customer (EXTERNAL_REF_CONFLICT)
    from_ra: bool = True


@dataclass
class Spec:
    """One Shopify return and what NetSuite holds for it."""

    n: int
    lines: list[Line]
    status: str  # Shopify ReturnStatus
    created: datetime
    approved: datetime | None = None
    shipped: datetime | None = None  # reverse delivery label/tracking attached
    disposition: str | None = None  # RESTOCKED | NOT_RESTOCKED | PROCESSING_REQUIRED | MISSING
    disposed: datetime | None = None
    refunded: datetime | None = None
    refund_restock: bool = False  # refund line items restockType RETURN + restocked
    closed: datetime | None = None
    presentment: str = "GBP"
    declined_reason: str | None = None
    cust: Customer | None = None
    # NetSuite side
    ra: bool = True
    ra_status: str | None = None  # override of the computed letter
    ra_link: str | None = None  # override of otherRefNum
    ra_created_from: bool = True
    ra_created: datetime | None = None
    receipt: datetime | None = None
    receipt_qty: dict[str, int] = field(default_factory=dict)
    receipt_location: str | None = None
    credits: list[CreditDoc] = field(default_factory=list)
    broken: bool = False  # Shopify record that breaks the documented schema
    platform: bool = True  # False: only NetSuite documents exist (ERP_RECORD_UNLINKED)
    note: str = ""

    @property
    def order_name(self) -> str:
        return f"#{1000 + self.n}"

    @property
    def name(self) -> str:
        return f"{self.order_name}-R1"


class World:
    def __init__(self) -> None:
        self.specs: list[Spec] = []
        self.truth: set[tuple[str, str]] = set()
        self.plant_notes: dict[tuple[str, str], str] = {}
        self.customers: list[Customer] = []
        # Shopify: every node by its gid, plus the shop
        self.nodes: dict[str, dict[str, Any]] = {}
        self.orders: list[str] = []
        self.shop: dict[str, Any] = {}
        self.locations: list[str] = []
        # NetSuite: rows per SuiteQL table (lower-case column names)
        self.ns: dict[str, list[dict[str, Any]]] = {}
        self.mappings: dict[str, Any] = {}

    def plant(self, ref: str, code: str, why: str) -> None:
        self.truth.add((ref, code))
        self.plant_notes[(ref, code)] = why


# ===================================================================================== build
_FIRST = ["Ada", "Bram", "Cleo", "Dev", "Elin", "Finn", "Gita", "Hugo", "Isla", "Jonah", "Kit",
          "Lena", "Milo", "Nia", "Oren", "Pia", "Quin", "Rhea", "Sami", "Tova"]
_LAST = ["Arden", "Bexley", "Corran", "Dunmore", "Ellery", "Fairlie", "Garth", "Holloway",
         "Ivers", "Jessop", "Kerrow", "Lowther", "Marlow", "Northam", "Oakes", "Penrose"]


def _customers() -> list[Customer]:
    out = []
    for i in range(40):
        out.append(
            Customer(i, _FIRST[i % len(_FIRST)], _LAST[(i * 7) % len(_LAST)],
                     shop_id=8812300000 + i * 17, ns_id=2100 + i)
        )
    return out


def _specs(w: World) -> list[Spec]:
    custs = w.customers
    specs: list[Spec] = []
    n = 0

    def nxt() -> int:
        nonlocal n
        n += 1
        return n

    def cust() -> Customer:
        # customers 0..37 are active; 38 is the inactive one (planted), 39 the "other" customer
        return custs[(n * 5) % 38]

    skus = [s for s in CATALOGUE if s not in UNKNOWN_SKUS | INACTIVE_SKUS]

    def lines_for(k: int) -> list[Line]:
        a = skus[k % len(skus)]
        if k % 4 == 0:
            return [Line(a, 1), Line(skus[(k + 5) % len(skus)], 1)]
        if k % 4 == 1:
            return [Line(a, 1, ordered=2)]  # partial return of a line
        if k % 4 == 2:
            return [Line(a, 2)]
        return [Line(a, 1), Line(skus[(k + 3) % len(skus)], 1, ordered=3)]

    def done(k: int, start: int, **kw: Any) -> Spec:
        """Healthy, fully processed: requested, approved, shipped, received/inspected (ERP
        receipt first, then Shopify disposition a day later), refunded two days after the
        receipt, credit memo the same day, return closed."""
        disp = kw.pop("disposition", "RESTOCKED" if k % 3 else "NOT_RESTOCKED")
        refund_restock = kw.pop("refund_restock", False)
        if refund_restock:
            disp = None  # restocked by the refund itself (restockType RETURN)
        s = Spec(
            n=nxt(), lines=kw.pop("lines", lines_for(k)), status="CLOSED",
            created=at_noon(start) - timedelta(hours=3), approved=at_noon(start),
            shipped=at_noon(start - 1), receipt=at_noon(start - 4),
            disposition=disp, disposed=at_noon(start - 5) if disp else None,
            refunded=at_noon(start - 6), refund_restock=refund_restock,
            closed=at_noon(start - 6) + timedelta(hours=1),
            credits=[CreditDoc(at_noon(start - 6), kind=kw.pop("credit_kind", "CustCred"))],
            **kw,
        )
        s.cust = cust()
        return s

    # ---------------------------------------------------------------- healthy, fully done
    for k in range(44):
        start = 12 + (k % 16)  # requested 12..27 days ago, refunded 6 days after
        kw: dict[str, Any] = {}
        if k % 9 == 4:
            kw["presentment"] = "EUR"
        if k % 7 == 3:
            kw["refund_restock"] = True
        if k in (5, 23):
            kw["credit_kind"] = "CashRfnd"
        specs.append(done(k, start, **kw))
    # refunded and credited inside October (closed period): healthy, booked in that period
    for k in range(3):
        specs.append(done(50 + k, 45 - k * 2, note="credited in October (closed) in time"))
    # the mapped pack SKU: 1 x SOCK-3PK on Shopify = 3 x SOCK-CREW in NetSuite
    specs.append(done(60, 14, lines=[Line("SOCK-3PK", 1)], disposition="NOT_RESTOCKED"))
    specs.append(done(61, 16, lines=[Line("SOCK-3PK", 2), Line("BEAN-RST", 1)]))

    # ---------------------------------------------------------------- healthy, in flight
    for k in range(4):  # requested 20-50 minutes ago: RMA pending approval
        s = Spec(n=nxt(), lines=lines_for(70 + k), status="REQUESTED",
                 created=ago(minutes=20 + 10 * k), ra_created=ago(minutes=15 + 10 * k))
        s.cust = cust()
        specs.append(s)
    for k in range(6):  # approved, label issued, parcel in transit 1-8 days
        s = Spec(n=nxt(), lines=lines_for(80 + k), status="OPEN", created=ago(2 + k, 3),
                 approved=ago(2 + k), shipped=ago(1 + k))
        s.cust = cust()
        specs.append(s)
    for k in range(3):  # received + inspected, refund still inside its grace
        s = Spec(n=nxt(), lines=lines_for(90 + k), status="OPEN", created=ago(9 + k),
                 approved=ago(9 + k) + timedelta(hours=1), shipped=ago(8 + k),
                 receipt=at_noon(2), disposition="NOT_RESTOCKED", disposed=ago(hours=5 + k))
        s.cust = cust()
        specs.append(s)
    # declined before approval: no RMA needed
    s = Spec(n=nxt(), lines=lines_for(95), status="DECLINED", created=ago(6),
             declined_reason="FINAL_SALE", ra=False)
    s.cust = cust()
    specs.append(s)
    # declined after the integration had opened an RMA: the RMA was cancelled (C)
    s = Spec(n=nxt(), lines=lines_for(96), status="DECLINED", created=ago(8),
             declined_reason="RETURN_PERIOD_ENDED", ra_status="C", ra_created=ago(8) +
             timedelta(minutes=10))
    s.cust = cust()
    specs.append(s)
    # canceled by the merchant before any work was done: RMA cancelled
    s = Spec(n=nxt(), lines=lines_for(97), status="CANCELED", created=ago(10),
             approved=ago(10) + timedelta(hours=2), ra_status="C")
    s.cust = cust()
    specs.append(s)
    return specs


def _planted(w: World) -> list[Spec]:
    custs = w.customers
    specs: list[Spec] = []
    base = 200

    def sp(i: int, **kw: Any) -> Spec:
        s = Spec(n=base + i, **kw)
        s.cust = kw.get("cust") or custs[(i * 3) % 38]
        specs.append(s)
        return s

    def closed_flow(i: int, start: int, lines: list[Line], **kw: Any) -> Spec:
        kw.setdefault("disposition", "RESTOCKED")
        kw.setdefault("receipt", at_noon(start - 4))
        kw.setdefault("disposed", at_noon(start - 5))
        kw.setdefault("refunded", at_noon(start - 6))
        kw.setdefault("closed", kw["refunded"] + timedelta(hours=1))
        credits = kw.pop("credits", None)
        s = sp(i, lines=lines, status="CLOSED", created=at_noon(start) - timedelta(hours=2),
               approved=at_noon(start), shipped=at_noon(start - 1), **kw)
        s.credits = credits if credits is not None else [CreditDoc(s.refunded or NOW)]
        return s

    # SKU_UNKNOWN: requested 25 minutes ago for a legacy SKU NetSuite has no item for (the RMA
    # could not be created; still inside the 1 h authorised grace, so only the SKU is wrong)
    s = sp(1, lines=[Line("TEE-STRP-XS", 1)], status="REQUESTED", created=ago(minutes=25),
           ra=False)
    w.plant(s.name, "SKU_UNKNOWN", "SKU TEE-STRP-XS has no NetSuite item; requested 25 min ago")
    # SKU_INACTIVE: same, the NetSuite item exists but isInactive = T
    s = sp(2, lines=[Line("CAP-WAX-OLV", 1)], status="REQUESTED", created=ago(minutes=35),
           ra=False)
    w.plant(s.name, "SKU_INACTIVE", "item CAP-WAX-OLV isinactive=T; requested 35 min ago")
    # ORDER_REF_MISSING: fully processed, but the RMA was entered standalone (no createdFrom)
    s = closed_flow(3, 15, [Line("JMP-OAT-M", 1)], ra_created_from=False)
    w.plant(s.name, "ORDER_REF_MISSING", "RMA has no createdFrom sales order")
    # CUSTOMER_NOT_FOUND: parcel in transit; the RMA's customer is inactive in NetSuite
    s = sp(4, lines=[Line("SHRT-CHB-M", 1)], status="OPEN", created=ago(3, 2), approved=ago(3),
           shipped=ago(2), cust=custs[38])
    w.plant(s.name, "CUSTOMER_NOT_FOUND", "RMA entity is a customer with isinactive=T")
    # EXTERNAL_REF_CONFLICT: the credit memo carrying this return's name belongs to another
    # customer (and no RMA)
    s = closed_flow(5, 16, [Line("SCRF-GRY", 1)],
                    credits=[CreditDoc(at_noon(10), other_customer=True, from_ra=False)])
    w.plant(s.name, "EXTERNAL_REF_CONFLICT",
            "credit memo with otherRefNum = this return is for another customer")
    # ERP_RECORD_UNLINKED + RETURN_ORDER_MISSING: the RMA's otherRefNum lost its '#'
    s = sp(6, lines=[Line("BOOT-BRN-42", 1)], status="OPEN", created=ago(4, 2), approved=ago(4),
           shipped=ago(3), ra_link="1206-R1")
    w.plant(s.name, "RETURN_ORDER_MISSING", "approved 4 days ago; its RMA says otherRefNum 1206-R1")
    w.plant("1206-R1", "ERP_RECORD_UNLINKED", "RMA otherRefNum 1206-R1 (no '#') matches no return")
    # ERP_RECORD_UNLINKED: another channel's RMA, no Shopify return at all
    s = sp(7, lines=[Line("TEE-NVY-M", 1)], status="OPEN", created=ago(5), approved=ago(5),
           platform=False, ra_link="AMZ-204-5517231")
    w.plant("AMZ-204-5517231", "ERP_RECORD_UNLINKED", "marketplace RMA, no Shopify return")
    # RETURN_ORDER_MISSING: approved 4 days ago, label issued, no RMA in NetSuite
    s = sp(8, lines=[Line("COAT-OLV-M", 1)], status="OPEN", created=ago(4, 1), approved=ago(4),
           shipped=ago(3), ra=False)
    w.plant(s.name, "RETURN_ORDER_MISSING", "approved 4 days ago; no RMA")
    # RETURN_ORDER_NOT_OPEN: received and inspected on Shopify 6 h ago, NetSuite's RMA was
    # cancelled, so no receipt can be posted against it
    s = sp(9, lines=[Line("JMP-OAT-L", 1)], status="OPEN", created=ago(6), approved=ago(6),
           shipped=ago(5), disposition="NOT_RESTOCKED", disposed=ago(hours=6), ra_status="C")
    w.plant(s.name, "RETURN_ORDER_NOT_OPEN", "received 6 h ago; RMA status C (cancelled)")
    # RECEIPT_NOT_POSTED: received on Shopify 2 days ago (PROCESSING_REQUIRED); RMA still
    # Pending Receipt, no item receipt
    s = sp(10, lines=[Line("SHRT-CHB-L", 1)], status="OPEN", created=ago(7), approved=ago(7),
           shipped=ago(6), disposition="PROCESSING_REQUIRED", disposed=ago(2))
    w.plant(s.name, "RECEIPT_NOT_POSTED", "Shopify received 2 days ago; RMA B, no item receipt")
    # CREDIT_NOTE_MISSING: refunded 4 days ago (November, open); receipt posted; no credit
    s = closed_flow(11, 10, [Line("BOOT-BRN-43", 1)], credits=[])
    w.plant(s.name, "CREDIT_NOTE_MISSING", "refunded 4 days ago; RMA F, no credit memo")
    # CREDIT_NOTE_DUPLICATE: two live credit memos carry the return's name
    s = closed_flow(12, 14, [Line("TEE-ECR-L", 2)])
    s.credits = [CreditDoc(s.refunded or NOW), CreditDoc((s.refunded or NOW) + timedelta(days=1))]
    w.plant(s.name, "CREDIT_NOTE_DUPLICATE", "two credit memos with the same otherRefNum")
    # QUANTITY_MISMATCH: 2 returned and refunded; NetSuite received 1
    s = closed_flow(13, 15, [Line("TEE-NVY-S", 2)], receipt_qty={"TEE-NVY-S": 1},
                    ra_status="D")
    w.plant(s.name, "QUANTITY_MISMATCH", "Shopify returned 2, item receipt quantity 1")
    # REFUND_AMOUNT_MISMATCH: credit memo items 10.00 lower than the refund's subtotal
    s = closed_flow(14, 13, [Line("JMP-OAT-M", 1)])
    s.credits = [CreditDoc(s.refunded or NOW, items_delta=D("-10.00"))]
    w.plant(s.name, "REFUND_AMOUNT_MISMATCH", "credit memo items 58.00 vs refunded 68.00")
    # TAX_MISMATCH: credit memo tax 1.00 lower
    s = closed_flow(15, 12, [Line("SHRT-CHB-M", 1)])
    s.credits = [CreditDoc(s.refunded or NOW, tax_delta=D("-1.00"))]
    w.plant(s.name, "TAX_MISMATCH", "credit memo tax 8.00 vs refunded 9.00")
    # DISPOSITION_LOCATION_WRONG: NOT_RESTOCKED (damaged) received into the sellable location
    s = closed_flow(16, 17, [Line("COAT-OLV-M", 1)], disposition="NOT_RESTOCKED",
                    receipt_location=NS_LOC_MAIN)
    w.plant(s.name, "DISPOSITION_LOCATION_WRONG",
            "NOT_RESTOCKED maps to location 5 (quarantine); item receipt put it in 3")
    # CREDIT_BEFORE_RECEIPT: refunded (and credited) 6 days ago, NetSuite receipt 3 days ago
    s = closed_flow(17, 12, [Line("SCRF-GRY", 1)], receipt=at_noon(3), disposed=at_noon(2),
                    refunded=at_noon(6), closed=at_noon(2) + timedelta(hours=1))
    s.credits = [CreditDoc(at_noon(6))]
    w.plant(s.name, "CREDIT_BEFORE_RECEIPT", "refund + credit memo 6 days ago, receipt 3 days ago")
    # CREDIT_WITHOUT_REFUND: Shopify declined the return, NetSuite credited it anyway
    s = sp(18, lines=[Line("BEAN-RST", 1)], status="DECLINED", created=ago(9),
           declined_reason="FINAL_SALE", ra_created=ago(9) + timedelta(minutes=5), ra_status="G",
           credits=[CreditDoc(at_noon(8))])
    w.plant(s.name, "CREDIT_WITHOUT_REFUND", "return DECLINED on Shopify; credit memo posted")
    # PREMATURE_RESTOCK: RESTOCKED on Shopify 10 days ago; NetSuite receipt 7 days ago
    s = closed_flow(19, 14, [Line("JMP-OAT-L", 1)], disposition="RESTOCKED",
                    disposed=at_noon(10), receipt=at_noon(7), refunded=at_noon(6))
    s.credits = [CreditDoc(at_noon(6))]
    w.plant(s.name, "PREMATURE_RESTOCK", "Shopify RESTOCKED 10 days ago, item receipt 7 days ago")
    # CLOSED_PERIOD: refunded 28 Oct (October is closed), credit memo dated 3 Nov (November)
    oct28 = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)
    s = closed_flow(20, 36, [Line("SHRT-CHB-L", 1)], receipt=oct28 - timedelta(days=2),
                    disposed=oct28 - timedelta(days=1), refunded=oct28)
    s.credits = [CreditDoc(datetime(2026, 11, 3, 12, 0, tzinfo=UTC))]
    w.plant(s.name, "CLOSED_PERIOD", "refunded 2026-10-28 (Oct closed); credit memo 2026-11-03")
    # STAGE_OVERDUE: label issued 24 days ago, parcel never arrived (in-transit grace 14 days)
    s = sp(21, lines=[Line("TEE-NVY-M", 1)], status="OPEN", created=ago(25, 2), approved=ago(25),
           shipped=ago(24))
    w.plant(s.name, "STAGE_OVERDUE", "in transit for 24 days")
    # PAYLOAD_INVALID: requested 30 min ago; its return line item breaks the documented schema
    # (quantity Int! and fulfillmentLineItem null); no RMA yet, inside the authorised grace
    s = sp(22, lines=[Line("BEAN-RST", 1)], status="REQUESTED", created=ago(minutes=30),
           ra=False, broken=True)
    w.plant(s.name, "PAYLOAD_INVALID", "ReturnLineItem.quantity (Int!) is null")
    return specs


def build_world(extra: Callable[[World], list[Spec]] | None = None) -> World:
    """The planted world; ``extra`` adds further specs (built like the others) -- the webhook
    check (scenario_webhooks.py) adds its returns this way, leaving this world as it was."""
    w = World()
    w.customers = _customers()
    w.customers[38].inactive = True
    w.specs = _specs(w) + _planted(w) + (extra(w) if extra else [])
    from . import _build  # the two vendors' records, built from the specs

    _build.shopify(w)
    _build.netsuite(w)
    w.mappings = {
        "skus": {
            "SOCK-3PK": {"sku": "SOCK-3PK", "item_no": "SOCK-CREW", "factor": "3",
                         "erp_uom": "Each"}
        },
        "reasons": {r: r for r in [*REASONS, "OTHER", "UNKNOWN"]},
        "dispositions": {
            "RESTOCKED": {"disposition": "RESTOCKED", "location": NS_LOC_MAIN},
            "NOT_RESTOCKED": {"disposition": "NOT_RESTOCKED", "location": NS_LOC_QUARANTINE},
            "PROCESSING_REQUIRED": {"disposition": "PROCESSING_REQUIRED",
                                    "location": NS_LOC_QUARANTINE},
        },
        "locations": {SHOP_LOC_RETURNS: NS_LOC_MAIN, SHOP_LOC_WAREHOUSE: NS_LOC_MAIN},
        "fees": {},
        "payment_methods": {"shopify_payments": "Shopify Payments"},
        "identity_fallback": True,
    }
    return w


def period_of(d: date) -> int:
    """NetSuite accounting period internal id of a date's month (2026: ids 101..112)."""
    return 100 + d.month


if __name__ == "__main__":  # pragma: no cover - a quick look at the world
    world = build_world()
    print(len([s for s in world.specs if s.platform]), "Shopify returns,",
          len(world.orders), "orders")
    print({k: len(v) for k, v in world.ns.items()})
    for pair in sorted(world.truth):
        print(pair, "-", world.plant_notes[pair])

"""One planted world for the independent Swap Commerce (Returns API v2) <-> Dynamics 365 Finance &
Operations (OData data entities, system ``d365_fo``) check.

Written from docs/vendors/d365-fo.md (cited below as "fo §x.y"), docs/vendors/swap-commerce.md
("swap §x.y") and docs/exceptions.md only: never from the product's code, fixtures or mapping
notes. Where the docs are silent the choice is marked "CHOICE:" next to the code and repeated in
fake_fo.py's docstring.

The world
  * Swap store ``store_fenwick_rowe`` (+ a decoy store on the same key), 51 returns: a majority
    healthy (bulk and hand-made F&O traps), one planted problem per return otherwise;
  * one F&O environment with two legal entities: ``frgb`` (Fenwick & Rowe UK, GBP: the profile's
    ``company``) and the decoy ``frie`` (Ireland, EUR), which is ALSO the service account's default
    company, so a read without ``cross-company=true`` sees only the decoy (fo §1.2);
  * the integration writes the Swap ``rma_number`` into the return order header's
    ``CustomersOrderReference`` (fo §5.2: hotwax stores its return id there and it is the
    connector's default ``link_field``), and the web order name (``#51001``) into
    ``CustomerRequisitionNumber``;
  * per return: a return order (RMA) in ``ReturnOrderHeadersV2``/``ReturnOrderLinesV2``, an
    arrival journal when goods were registered (``ItemArrivalJournalHeadersV2``/``LinesV2``), a
    credit note in ``SalesInvoiceHeadersV2``/``SalesInvoiceV2Lines`` whose ``SalesOrderNumber`` is
    the return order number (fo §5.7) once invoiced, and a replacement sales order for Replace*
    dispositions once the packing slip is posted (fo §6.1 step 4); every web order's original
    sales order and invoice exist too.

CHOICES of this world where the docs are silent (the fake's own are in fake_fo.py)
  a. ``CustomerRequisitionNumber`` carries the web order name (``#51001``), not an F&O sales
     order number as hotwax does (fo §5.2); every original web sale exists as an F&O sales
     order + invoice whose ``CustomersOrderReference`` is that web order name.
  b. F&O prices exclude VAT (customer group ``IsSalesTaxIncludedInPrice`` No); Swap's ``cost``
     includes it; amounts agree per line after VAT at 20 % (kids' wear 0 %).
  c. Credit notes are ``SalesInvoiceHeadersV2`` rows with negative totals whose
     ``SalesOrderNumber`` is the return order number (fo §5.7, U20); their lines negative too.
  d. A Swap Exchange is healthy in F&O as: registered with a Replace* disposition, packing slip
     posted (which creates the replacement order) and NOT invoiced: Swap moves no money on an
     exchange, so no credit note is owed (fo §6.1 step 4 vs exceptions.md "Only money the
     platform moved counts").
  e. A Swap Recycle is healthy as: registered with SCRAP, packing slip posted, never invoiced.
  f. "Received" on the ERP side = the arrival journal posted (line Registered or Quarantine);
     "inspected" = a disposition code on a Registered-or-later line; Quarantine = inspection
     pending (fo §6.2, U12). The packing slip is not needed for either.
  g. Timestamps: arrival journals post at 11:00 UTC on the delivery day; refunds (Swap
     ``date_closed``) at 10:00 the next day; credit notes are dated the refund's day, so every
     date-only comparison is unambiguous.
  h. A return order with a blank ``CustomersOrderReference`` (call-centre return) is no
     platform return's document and must not be reported (as a credit memo without a link is
     not, README); one exists in frgb.
  i. Swap returns older than ``history_days`` exist (RMA-FR-5001, 400 days old, fully done on
     both sides); the fake Swap API returns them when no date filter is sent.

``build_world()`` returns a ``World``: Swap records per store, F&O records per entity set (all
companies mixed, each carrying ``dataAreaId`` where the entity has one), the mapping table and
``truth`` (the (return_ref, code) pairs the product must report as findings) with ``plant_notes``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

UTC = UTC
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW_ISO = "2026-11-20T12:00:00Z"

# --- identities (deliberately unlike any demo) --------------------------------------------
STORE_ID = "store_fenwick_rowe"
DECOY_STORE_ID = "store_fenwick_rowe_outlet"
STORE_NAME = "Fenwick & Rowe"
API_KEY = "swp_live_fr_8c21d9e0b47f4a3e9d15"
TENANT = "3f6d2a71-0c9e-4b58-a1d4-9e27c5b80f13"
CLIENT_ID = "b8e04c2d-5a17-4f63-9c0e-71d2a94e6b35"
CLIENT_SECRET = "Fr7~kQ2.wZ9_pL4xN8vB1mT6yH3cR5sD0gJ"
COMPANY = "frgb"  # the legal entity the profile reads
DECOY_COMPANY = "frie"  # another legal entity in the same environment
DEFAULT_COMPANY = DECOY_COMPANY  # the service account's default company (fo §1.2)
ACCESSIBLE_COMPANIES = (COMPANY, DECOY_COMPANY)

BLANK_DATE = "1900-01-01T12:00:00Z"  # blank date-only field (fo §3.4: CredManCreditLimitDate)
BLANK_DATETIME = "1900-01-01T00:00:00Z"  # blank utcDateTime field (fo §3.4: AddressValidTo)

D = Decimal
CENT = D("0.01")


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def digits(n: int, *parts: object) -> str:
    h = int(hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest(), 16)
    return str(h)[:n]


def hexid(n: int, *parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:n]


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def fo_dt(dt: datetime | None) -> str:
    """An F&O utcDateTime (Edm.DateTimeOffset, 'Z', no fraction); blank = 1900-01-01."""
    if dt is None:
        return BLANK_DATETIME
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fo_date(d: date | datetime | None) -> str:
    """An F&O date-only field: Edm.DateTimeOffset at noon UTC (fo §3.4); blank = 1900-01-01."""
    if d is None:
        return BLANK_DATE
    if isinstance(d, datetime):
        d = d.astimezone(UTC).date()
    return f"{d.isoformat()}T12:00:00Z"


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def at(days_ago: int, hh: int, mm: int = 0) -> datetime:
    """A moment on the calendar day `days_ago` days before NOW, at hh:mm UTC."""
    day = (NOW - timedelta(days=days_ago)).date()
    return datetime.combine(day, time(hh, mm), UTC)


def num(x: Decimal | int | float) -> int | float:
    """A JSON number the way both vendors send them (no trailing zeros, no strings)."""
    d = D(str(x))
    if d == d.to_integral_value():
        return int(d)
    return float(d.normalize())


# --- catalogue ------------------------------------------------------------------------------
# item number: (name, variant, unit GROSS price (UK web prices include VAT), VAT rate)
CATALOGUE: dict[str, tuple[str, str, str, str]] = {
    "TEE-WHT-M": ("Organic Tee", "White / M", "24.00", "0.20"),
    "TEE-BLK-M": ("Organic Tee", "Black / M", "24.00", "0.20"),
    "HOOD-GRY-M": ("Fell Hoodie", "Grey / M", "60.00", "0.20"),
    "HOOD-GRY-L": ("Fell Hoodie", "Grey / L", "60.00", "0.20"),
    "JEAN-IND-32": ("Selvedge Jeans", "Indigo / 32", "96.00", "0.20"),
    "JEAN-IND-34": ("Selvedge Jeans", "Indigo / 34", "96.00", "0.20"),
    "JKT-RAIN-NVY-M": ("Rain Jacket", "Navy / M", "120.00", "0.20"),
    "JKT-RAIN-NVY-L": ("Rain Jacket", "Navy / L", "120.00", "0.20"),
    "SNK-TRL-42": ("Trail Sneaker", "EU 42", "84.00", "0.20"),
    "SNK-TRL-43": ("Trail Sneaker", "EU 43", "84.00", "0.20"),
    "SOCK-CREW": ("Crew Sock", "One pair", "3.60", "0.20"),
    "BAG-TOTE-NAT": ("Canvas Tote", "Natural", "36.00", "0.20"),
    "KIDS-TEE-YEL-5": ("Kids Tee", "Yellow / 5Y", "18.00", "0.00"),  # UK zero-rated
    "SCARF-WOOL-GRN": ("Wool Scarf", "Green", "48.00", "0.20"),
    "CAP-BSB-NVY": ("Baseball Cap", "Navy", "24.00", "0.20"),
}
# ProductDefaultOrderSettings flags (fo §5.8, U23) per company
SALES_STOPPED = {COMPANY: {"JKT-RAIN-NVY-L"}, DECOY_COMPANY: {"HOOD-GRY-M"}}
PROCUREMENT_STOPPED = {COMPANY: {"SCARF-WOOL-GRN"}, DECOY_COMPANY: set()}
BULK_ITEMS = [
    "TEE-WHT-M",
    "TEE-BLK-M",
    "HOOD-GRY-M",
    "HOOD-GRY-L",
    "JEAN-IND-32",
    "JEAN-IND-34",
    "JKT-RAIN-NVY-M",
    "SNK-TRL-42",
    "SNK-TRL-43",
    "BAG-TOTE-NAT",
    "CAP-BSB-NVY",
]

# Swap reasons (id, text) -> F&O return reason code (ReturnReasonCodeBiEntities, fo §5.5)
REASONS = [
    ("rsn_too_small", "Too small", "SIZE"),
    ("rsn_too_big", "Too big", "SIZE"),
    ("rsn_changed_mind", "Changed my mind", "UNWANTED"),
    ("rsn_faulty", "Faulty or damaged", "DEFECT"),
    ("rsn_not_as_described", "Not as described", "DESCR"),
]
UNMAPPED_REASON = ("rsn_arrived_late", "Arrived too late")
FO_REASON_CODES = [
    ("SIZE", "WEB", "Wrong size"),
    ("UNWANTED", "WEB", "No longer wanted"),
    ("DEFECT", "QUAL", "Defective"),
    ("DESCR", "WEB", "Not as described"),
    ("DAMAGED", "QUAL", "Damaged in transit"),
]
# disposition code -> (description, DispositionAction) (fo §5.4, §5.5)
FO_DISPOSITIONS = {
    "RESELL": ("Return to stock and credit", "Credit"),
    "CREDONLY": ("Credit only, keep item", "CreditOnly"),
    "SCRAP": ("Scrap and credit", "Scrap"),
    "REPLCRED": ("Replace and credit", "ReplaceCredit"),
    "REPLSCRAP": ("Replace and scrap", "ReplaceScrap"),
    "RETCUST": ("Return to customer", "ReturnToCust"),
}
DECOY_ONLY_DISPOSITION = ("GRADE-B", "Grade B outlet stock", "Credit")

SWAP_LOCATION = "loc_fr_northampton_dc"  # Swap shipment destination_location_id
FO_SITE = "NHM"
FO_RETURN_WAREHOUSE = "RET"
FO_QUARANTINE_WAREHOUSE = "RET-Q"
FO_MAIN_WAREHOUSE = "NHM-DC"

FIRST = ["Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Mia", "Noah", "Freya", "Leo",
         "Ivy", "Arthur", "Rosie", "Oscar", "Evie", "Theo", "Poppy", "Jack", "Lily", "Alfie"]
LAST = ["Hughes", "Patel", "Murray", "Clarke", "Walsh", "Bennett", "Reid", "Lloyd", "Fraser",
        "Doyle", "Shaw", "Kerr", "Hale", "Moss", "Quinn"]
CITIES = [("Northampton", "NN1 2AA"), ("Leeds", "LS1 5AB"), ("Cardiff", "CF10 1AA"),
          ("Glasgow", "G1 2FF"), ("Norwich", "NR1 3QU"), ("Exeter", "EX1 1GE")]


@dataclass
class Customer:
    account: str  # F&O CustomerAccount
    first: str
    last: str
    email: str
    city: str
    postcode: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Line:
    sku: str  # what Swap sends
    qty: int  # platform units
    item: str  # the F&O item number the line really is
    factor: int = 1  # F&O units per platform unit (mapping factor)

    @property
    def display(self) -> tuple[str, str]:
        n, v, _, _ = CATALOGUE[self.item]
        return n, v

    @property
    def unit_gross(self) -> Decimal:  # platform price per platform unit
        return D(CATALOGUE[self.item][2]) * self.factor

    @property
    def vat(self) -> Decimal:
        return D(CATALOGUE[self.item][3])

    @property
    def unit_net_erp(self) -> Decimal:  # F&O sales price per F&O unit, excluding VAT
        return q2(D(CATALOGUE[self.item][2]) / (1 + self.vat))

    @property
    def erp_qty(self) -> int:
        return self.qty * self.factor

    @property
    def gross(self) -> Decimal:
        return q2(self.unit_gross * self.qty)

    @property
    def net(self) -> Decimal:
        return q2(self.unit_net_erp * self.erp_qty)

    @property
    def tax(self) -> Decimal:
        return self.gross - self.net


@dataclass
class CN:
    """A posted credit note (the return order's invoice, fo §5.7)."""

    on: date
    unit_net: dict[str, Decimal] = field(default_factory=dict)  # item -> price override
    vat: dict[str, Decimal] = field(default_factory=dict)  # item -> tax rate override


@dataclass
class RO:
    """The F&O side of one return: a return order and what happened to it (fo §6.1, §6.2)."""

    created: datetime
    arrival: datetime | None = None  # arrival journal posted (lines Registered / Quarantine)
    arrival_unposted: bool = False  # an arrival journal exists but is not posted
    quarantine: bool = False  # the arrival sent the lines to quarantine
    quarantine_end: datetime | None = None  # quarantine order ended: lines Registered
    disposition: str = "RESELL"
    packing_slip: datetime | None = None  # lines Received
    cns: list[CN] = field(default_factory=list)  # credit notes (lines Invoiced)
    canceled: datetime | None = None  # canceled while Created
    qty: dict[str, int] = field(default_factory=dict)  # item -> F&O quantity override
    unit: dict[str, str] = field(default_factory=dict)  # item -> SalesUnitSymbol override
    lines: bool = True  # False: header only (its line could not be created)
    split: bool = False  # a 2-unit line registered in two lots (fo §5.3: split lines)
    reason: str | None = None  # CustomerReturnReasonCode override
    ref: str | None = None  # CustomersOrderReference override
    replacement: bool = False  # replacement sales order created at packing slip


@dataclass
class Spec:
    ref: str
    order: str
    cust: Customer
    lines: list[Line]
    created: datetime
    rtype: str = "Refund"
    shipped: datetime | None = None
    delivered: datetime | None = None
    qc: datetime | None = None
    processed: datetime | None = None  # the refund / credit is issued when processed
    status_override: str | None = None
    exchange: list[Line] = field(default_factory=list)
    invalid: bool = False
    reason: tuple[str, str, str] | None = None  # Swap reason (id, text, F&O code)
    ros: list[RO] = field(default_factory=list)
    platform: bool = True  # False: F&O documents with no platform return at all
    note: str = ""


class World:
    def __init__(self) -> None:
        self.swap_returns: dict[str, list[dict[str, Any]]] = {STORE_ID: [], DECOY_STORE_ID: []}
        self.fo: dict[str, list[dict[str, Any]]] = {}
        self.truth: set[tuple[str, str]] = set()
        self.plant_notes: dict[tuple[str, str], str] = {}
        self.expected_delays: dict[str, str] = {}
        self.mappings: dict[str, Any] = {}
        self.customers: list[Customer] = []
        self._seq: dict[str, int] = {}
        self._cust_i = 0

    def seq(self, series: str, start: int) -> int:
        self._seq[series] = self._seq.get(series, start - 1) + 1
        return self._seq[series]

    #: A return order line whose disposition code the company does not define (ref, code).
    unknown_disposition: tuple[str, str] | None = None

    def plant(self, ref: str, code: str, why: str) -> None:
        self.truth.add((ref, code))
        self.plant_notes[(ref, code)] = why

    def add(self, entity_set: str, rec: dict[str, Any]) -> dict[str, Any]:
        self.fo.setdefault(entity_set, []).append(rec)
        return rec


# ===================================================================================== Swap
def _reason_of(spec: Spec) -> tuple[str, str, str]:
    if spec.reason:
        return spec.reason
    return REASONS[int(digits(4, "reason", spec.ref)) % len(REASONS)]


def _swap_item(spec: Spec, line: Line, idx: int, refunded: bool) -> dict[str, Any]:
    name, variant = line.display
    rid, rtext, _ = _reason_of(spec)
    tax = line.tax if refunded else D(0)
    item: dict[str, Any] = {
        "product_id": "prd_" + hexid(16, spec.ref, line.sku),
        "shopify_product_id": "8" + digits(12, "prod", line.item),
        "shopify_variant_id": "4" + digits(13, "var", line.sku),
        "shopify_line_item_id": "1" + digits(13, "li", spec.ref, idx),
        "order_number": spec.order,
        "original_order_name": spec.order,
        "date": iso(spec.created),
        "product_name": name,
        "variant_name": variant,
        "full_sku_description": f"{name} - {variant}",
        "sku": line.sku,
        "main_reason_id": rid,
        "main_reason_text": rtext,
        "sub_reason_id": None,
        "sub_reason_text": None,
        "comments": "" if idx % 2 else None,
        "item_count": line.qty,
        # swap §1.4.5: product `cost` is the line TOTAL; tax-inclusive (UK store)
        "cost": num(line.gross),
        "return_type": spec.rtype,
        "currency": "GBP",
        "vendor": STORE_NAME,
        "collection": ["AW26"] if idx % 2 == 0 else [],
        "product_alt_type": None,
        "grams": 450,
        "intake_reason": None,
        "tags": "",
        "is_faulty": False,
        "refunded_taxes": num(tax),
        "refunded_duties": 0,
        "refunded_inclusive_taxes": num(tax),
        "refunded_inclusive_duties": 0,
        "refunded_non_inclusive_taxes": 0,
        "refunded_non_inclusive_duties": 0,
        "barcode": "50" + digits(11, "ean", line.sku),
        "original_tax_amount": num(line.tax),
        "tax_rate": num(line.vat),
        "tax_title": "GB VAT",
        "image_url": f"https://cdn.fenwickrowe.example/p/{hexid(10, line.item)}.jpg",
    }
    if spec.invalid:
        # PLANT PAYLOAD_INVALID: the required integer `item_count` is absent
        item.pop("item_count")
    return item


def _address(c: Customer) -> dict[str, Any]:
    return {
        "name": c.name,
        "address1": f"{10 + len(c.name)} Mill Lane",
        "address2": None,
        "city": c.city,
        "postcode": c.postcode,
        "state_province_code": None,
        "country_code": "GB",
    }


def swap_record(spec: Spec, store_id: str = STORE_ID) -> dict[str, Any]:
    refunded_kind = spec.rtype in ("Refund", "Shop Now Credit", "Shop Later Credit")
    lines_gross = sum((ln.gross for ln in spec.lines), D(0))
    lines_tax = sum((ln.tax for ln in spec.lines), D(0))
    products = [_swap_item(spec, ln, i, refunded_kind) for i, ln in enumerate(spec.lines)]
    if spec.delivered:
        delivery = "Delivered"
    elif spec.shipped:
        delivery = "In-Transit"
    else:
        delivery = "Pre-Transit"
    if spec.status_override:
        status = spec.status_override
    elif spec.processed:
        status = "Closed"
    else:
        status = "Open"
    # CHOICE (as in the swap_d365_bc check): money fields carry the return's value from
    # submission on; the refund / store credit is issued when the return is processed
    # (`rma_processed` "true", `return_status` Closed, `date_closed`).
    refund_value = lines_gross if spec.rtype == "Refund" else D(0)
    credit_value = lines_gross if spec.rtype in ("Shop Now Credit", "Shop Later Credit") else D(0)
    exch_value = sum((ln.gross for ln in spec.exchange), D(0))
    shipments = [
        {
            "shipment_id": "shp_" + hexid(12, spec.ref),
            "location_id": SWAP_LOCATION,
            "destination_location_id": SWAP_LOCATION,
            "display_name_returns_portal": "Royal Mail drop-off",
            "carrier_id": "royal_mail",
            "postage_fee": 0,
            "label_type": "QR",
            "shipping_service": "Tracked 48 Returns",
            "display_name": "Royal Mail Tracked Returns",
            "using_split_shipment": False,
            "label_provider_type": None,
            "tracking_number": f"RM{digits(9, spec.ref)}GB",
            "tracking_url": f"https://track.example/rm/{digits(9, spec.ref)}",
            "package": {"length": 30, "width": 20, "height": 10, "weight": 0.6},
            "items": [dict(it) for it in products],
        }
    ]
    exchange_items = [
        {
            "sku": ln.sku,
            "product_name": ln.display[0],
            "variant_name": ln.display[1],
            "shopify_variant_id": "4" + digits(13, "var", ln.sku),
            "item_count": ln.qty,
            "price": num(ln.gross),
            "currency": "GBP",
        }
        for ln in spec.exchange
    ]
    events = [t for t in (spec.created, spec.shipped, spec.delivered, spec.qc, spec.processed) if t]
    order_date = spec.created - timedelta(days=12, hours=3)
    c = spec.cust
    return {
        "rma_number": spec.ref,
        "return_id": hexid(24, "return", spec.ref),
        "shopify_return_id": None,
        "shopify_order_name": spec.order,
        "order_id": "5" + digits(12, "order", spec.order),
        "date_created": iso(spec.created),
        "date_updated": iso(max(events)),
        "submission_date": iso(spec.created),
        "submitted_at": None,
        "intention_date": iso(spec.created - timedelta(minutes=7)),
        "type_string": spec.rtype,
        "type": [spec.rtype],
        "delivery_status": delivery,
        "return_status": status,
        "shipping_carrier": "Royal Mail",
        "tracking_number": shipments[0]["tracking_number"],
        "shipment_from_address_country": "GB",
        "shipment_from_address_city": c.city,
        "shipment_from_address_parcel_weight": 0.6,
        "shipment_from_address_state": "",
        "total": num(lines_gross),
        "handling_fee": 0,
        "store_id": store_id,
        "store_name": STORE_NAME if store_id == STORE_ID else "Fenwick & Rowe Outlet",
        "customer_name": c.name,
        "customer_email": c.email,
        "customer_national_id": None,
        "customer_locale": "en-GB",
        "customer_currency": "GBP",
        "total_additional_payment": 0,
        "total_credit_exchange_value": num(exch_value),
        "total_refund_value_customer_currency": num(refund_value),
        "total_store_credit_value_customer_currency": num(credit_value),
        "shop_now_revenue": num(credit_value if spec.rtype == "Shop Now Credit" else 0),
        "shop_later_revenue": num(credit_value if spec.rtype == "Shop Later Credit" else 0),
        "store_credit_revenue": num(credit_value),
        "exchange_revenue": num(exch_value if spec.rtype == "Exchange" else 0),
        "refund_revenue": num(refund_value),
        "shopify_order_date": iso(order_date),
        "rma_processed": "true" if spec.processed else "false",
        "processed_by": "ops@fenwickrowe.example" if spec.processed else None,
        "order_alt_type": None,
        "quality_control_status": "Completed" if spec.qc else "Pending",
        "delivered_date": iso(spec.delivered),
        "elapsed_days_purchase_to_return": (spec.created - order_date).days,
        "elapsed_days_return_to_delivery": (spec.delivered - spec.created).days
        if spec.delivered
        else None,
        "elapsed_days_delivery_closed": (spec.processed - spec.delivered).days
        if (spec.processed and spec.delivered)
        else None,
        "date_closed": iso(spec.processed) if status == "Closed" else None,
        "total_refunded_taxes": num(lines_tax if refunded_kind else D(0)),
        "total_refunded_duties": 0,
        "tags": "",
        "billing_address": _address(c),
        "shipping_address": _address(c),
        "return_shipments": shipments,
        "products": products,
        "exchange_items": exchange_items,
        "portal_quick_link": f"https://returns.fenwickrowe.example/r/{hexid(8, spec.ref)}",
        "rma": spec.ref,
        "order_name": spec.order,
        "processed": "true" if spec.processed else "false",
        "shipping_status": delivery,
        "status": status,
    }


# ============================================================================ F&O builder
class FO:
    """Accumulates the F&O records of one legal entity (dataAreaId)."""

    def __init__(self, world: World, company: str, currency: str) -> None:
        self.w = world
        self.co = company
        self.currency = currency
        self.original_so: dict[str, str] = {}  # web order name -> F&O sales order number

    # numbering: a return order is a sales order of type "Returned order" (fo §5.2, §6.1), so
    # return orders and sales orders share one number sequence; RMA numbers have their own.
    def so_number(self) -> str:
        return f"{self.w.seq(self.co + 'SO', 10401):06d}"

    def rma_number(self) -> str:
        return f"{self.w.seq(self.co + 'RMA', 701):05d}"

    def lot(self) -> str:
        return f"{self.co.upper()}-{self.w.seq(self.co + 'LOT', 300001):06d}"

    def voucher(self) -> str:
        return f"SINV{self.w.seq(self.co + 'VOU', 880001):06d}"

    def base(self) -> dict[str, Any]:
        return {"dataAreaId": self.co}

    # -- original web sale ------------------------------------------------------------------
    def original_sale(self, order: str, c: Customer, lines: list[Line], when: datetime) -> None:
        if order in self.original_so:
            return
        so = self.so_number()
        self.original_so[order] = so
        self.w.add(
            "SalesOrderHeadersV2",
            {
                **self.base(),
                "SalesOrderNumber": so,
                "OrderingCustomerAccountNumber": c.account,
                "InvoiceCustomerAccountNumber": c.account,
                "CustomersOrderReference": order,
                "CustomerRequisitionNumber": "",
                "SalesOrderName": c.name,
                "SalesOrderStatus": "Invoiced",
                "SalesOrderOriginCode": "WEB",
                "CurrencyCode": self.currency,
                "DefaultShippingSiteId": FO_SITE,
                "DefaultShippingWarehouseId": FO_MAIN_WAREHOUSE,
                "RequestedShippingDate": fo_date(when),
                "ReturnOrderNumber": "",
                "Email": c.email,
            },
        )
        for i, ln in enumerate(lines):
            self.w.add(
                "SalesOrderLines",
                {
                    **self.base(),
                    "SalesOrderNumber": so,
                    "InventoryLotId": self.lot(),
                    "LineCreationSequenceNumber": i + 1,
                    "ItemNumber": ln.item,
                    "LineDescription": " ".join(ln.display),
                    "OrderedSalesQuantity": ln.erp_qty,
                    "SalesUnitSymbol": "ea",
                    "SalesPrice": num(ln.unit_net_erp),
                    "LineAmount": num(ln.net),
                    "SalesOrderLineStatus": "Invoiced",
                    "ShippingSiteId": FO_SITE,
                    "ShippingWarehouseId": FO_MAIN_WAREHOUSE,
                },
            )
        self.invoice(
            so,
            order,
            "",
            c,
            [(ln, ln.erp_qty, ln.unit_net_erp, ln.vat, None) for ln in lines],
            when.date(),
            sign=1,
            kind="INV",
        )

    # -- invoices and credit notes (SalesInvoiceHeadersV2 / SalesInvoiceV2Lines, fo §5.7) ---
    def invoice(
        self,
        so: str,
        ref: str,
        requisition: str,
        c: Customer,
        lines: list[tuple[Line, int, Decimal, Decimal, str | None]],
        on: date,
        *,
        sign: int,
        kind: str,
    ) -> str:
        no = f"{'CRN' if kind == 'CRN' else 'INV'}-{self.w.seq(self.co + kind, 20001):06d}"
        total_net = D(0)
        total_tax = D(0)
        for i, (ln, qty, unit, rate, lot) in enumerate(lines):
            net = q2(unit * qty)
            tax = q2(net * rate)
            total_net += net
            total_tax += tax
            self.w.add(
                "SalesInvoiceV2Lines",
                {
                    **self.base(),
                    "InvoiceNumber": no,
                    "InvoiceDate": fo_date(on),
                    "LineNumber": i + 1,
                    "SalesOrderNumber": so,
                    "InventoryLotId": lot or "",
                    "ItemNumber": ln.item,
                    "ProductName": " ".join(ln.display),
                    "InvoicedQuantity": num(sign * qty),
                    "SalesUnitSymbol": "ea",
                    "SalesPrice": num(unit),
                    "LineAmount": num(sign * net),
                    "LineTotalTaxAmount": num(sign * tax),
                    "LineTotalDiscountAmount": 0,
                    "LineTotalChargesAmount": 0,
                    "ItemSalesTaxGroupCode": "ZERO" if rate == 0 else "STD",
                    "SalesTaxGroupCode": "UK-DOM",
                    "CurrencyCode": self.currency,
                },
            )
        self.w.add(
            "SalesInvoiceHeadersV2",
            {
                **self.base(),
                "InvoiceNumber": no,
                "InvoiceDate": fo_date(on),
                "LedgerVoucher": self.voucher(),
                "SalesOrderNumber": so,
                "CustomersOrderReference": ref,
                "CustomerRequisitionNumber": requisition,
                "InvoiceCustomerAccountNumber": c.account,
                "OrderingCustomerAccountNumber": c.account,
                "InvoiceAddressName": c.name,
                "CurrencyCode": self.currency,
                "TotalInvoiceAmount": num(sign * (total_net + total_tax)),
                "TotalTaxAmount": num(sign * total_tax),
                "TotalChargeAmount": 0,
                "TotalDiscountAmount": 0,
                "PaymentTermsName": "Net10",
                "DueDate": fo_date(on + timedelta(days=10)),
            },
        )
        return no

    # -- a return order and its life (fo §6.1 / §6.2) -----------------------------------------
    def return_order(self, spec: Spec, ro: RO) -> str:
        w = self.w
        c = spec.cust
        no = self.so_number()
        rma = self.rma_number()
        ref = ro.ref if ro.ref is not None else spec.ref
        reason = ro.reason if ro.reason is not None else _reason_of(spec)[2]
        # the line statuses this history leaves (fo §6.2)
        if ro.canceled:
            status = "Canceled"
        elif ro.cns:
            status = "Invoiced"
        elif ro.packing_slip:
            status = "Received"
        elif ro.arrival and ro.quarantine and not ro.quarantine_end:
            status = "Quarantine"
        elif ro.arrival:
            status = "Registered"
        else:
            status = "Awaiting"
        header_status = {
            "Canceled": "Canceled",
            "Invoiced": "Closed",
            "Awaiting": "Created",
        }.get(status, "Open")
        order_status = {
            "Canceled": "Canceled",
            "Invoiced": "Invoiced",
            "Received": "Delivered",
        }.get(status, "Backorder")
        disposition = "" if status in ("Quarantine", "Awaiting", "Canceled") else ro.disposition
        line_recs: list[dict[str, Any]] = []
        seq = 0
        if ro.lines:
            for ln in spec.lines:
                qty = ro.qty.get(ln.item, ln.erp_qty)
                parts = [1] * qty if (ro.split and qty > 1) else [qty]
                for part in parts:
                    seq += 1
                    net = q2(ln.unit_net_erp * part)
                    tax = q2(net * ln.vat)
                    arrived = status not in ("Awaiting", "Canceled")
                    returned = status in ("Received", "Invoiced")
                    line_recs.append(
                        {
                            **self.base(),
                            "ReturnOrderNumber": no,
                            "ReturnInventoryLotId": self.lot(),
                            "LineCreationSequenceNumber": seq,
                            "RMANumber": rma,
                            "ItemNumber": ln.item,
                            "LineDescription": " ".join(ln.display),
                            "ExternalItemNumber": ln.sku,
                            # fo §5.3 / U15: return quantities are negative
                            "ReturnSalesQuantity": num(-part),
                            "ReturnedSalesQuantity": num(-part) if returned else 0,
                            "SalesUnitSymbol": ro.unit.get(ln.item, "ea"),
                            "SalesPrice": num(ln.unit_net_erp),
                            "LineAmount": num(-net),
                            "TotalTaxAmount": num(-tax),
                            "ReturnUnitCost": num(q2(ln.unit_net_erp * D("0.42"))),
                            "ReturnSiteId": FO_SITE,
                            "ReturnWarehouseId": FO_RETURN_WAREHOUSE,
                            "ReturnStatus": status,
                            "ReturnDispositionCode": disposition,
                            "ExpectedReturnArrivalDate": fo_date(ro.created + timedelta(days=7)),
                            "ActualReturnArrivalDate": fo_date(ro.arrival if arrived else None),
                            "ReturnClosedDate": fo_date(ro.cns[0].on if ro.cns else None),
                            "ReferenceType": "Sales" if status != "Canceled" else "None",
                            "ReferenceNumber": no,
                            "CustomerAccountNumber": c.account,
                            "InvoiceCustomerAccountNumber": c.account,
                            "ReturnAddressName": "Fenwick & Rowe Returns",
                            "ReturnAddressCity": "Northampton",
                            "ReturnAddressZipCode": "NN4 7YB",
                            "ReturnAddressCountryRegionId": "GBR",
                            "ReturnAddressCountryRegionISOCode": "GB",
                            "ReturnAddressStreet": "Brackmills Industrial Estate",
                        }
                    )
        for rec in line_recs:
            w.add("ReturnOrderLinesV2", rec)
        lines_net = sum((D(str(-r["LineAmount"])) for r in line_recs), D(0))
        lines_tax = sum((D(str(-r["TotalTaxAmount"])) for r in line_recs), D(0))
        replacement_no = ""
        if ro.replacement and ro.packing_slip:
            replacement_no = self.replacement_order(spec, ref, ro.packing_slip)
        w.add(
            "ReturnOrderHeadersV2",
            {
                **self.base(),
                "ReturnOrderNumber": no,
                "RMANumber": rma,
                "CustomerAccountNumber": c.account,
                "InvoiceCustomerAccountNumber": c.account,
                "CustomerReturnReasonCode": reason,
                "CustomersOrderReference": ref,
                "CustomerRequisitionNumber": spec.order,
                "ReturnDeadline": fo_date(ro.created + timedelta(days=30)),
                "DefaultReturnSiteId": FO_SITE,
                "DefaultReturnWarehouseId": FO_RETURN_WAREHOUSE,
                "CurrencyCode": self.currency,
                "LanguageId": "en-gb",
                "Email": c.email,
                "ReturnStatus": header_status,
                "ReturnOrderStatus": order_status,
                "IsReturnProcessingStopped": "No",
                "ReplacementSalesOrderNumber": replacement_no,
                "IsReplacementSalesOrderCreated": "Yes" if replacement_no else "No",
                "OrderTotalAmount": num(-(lines_net + lines_tax)),
                "OrderTotalTaxAmount": num(-lines_tax),
                "OrderTotalChargesAmount": 0,
                "TotalDiscountAmount": 0,
                "ReturnAddressName": "Fenwick & Rowe Returns",
                "ReturnAddressStreet": "Brackmills Industrial Estate",
                "ReturnAddressCity": "Northampton",
                "ReturnAddressZipCode": "NN4 7YB",
                "ReturnAddressCountryRegionId": "GBR",
                "ReturnAddressCountryRegionISOCode": "GB",
                "FormattedReturnAddress": "Brackmills Industrial Estate\nNorthampton NN4 7YB\nGBR",
            },
        )
        # arrival journal (fo §5.6)
        if (ro.arrival or ro.arrival_unposted) and line_recs:
            self.arrival_journal(spec, ro, no, rma, line_recs)
        # credit notes
        for cn in ro.cns:
            inv_lines = []
            for rec, ln in _line_pairs(line_recs, spec.lines):
                qty = -int(rec["ReturnSalesQuantity"])
                unit = cn.unit_net.get(ln.item, ln.unit_net_erp)
                rate = cn.vat.get(ln.item, ln.vat)
                inv_lines.append((ln, qty, unit, rate, rec["ReturnInventoryLotId"]))
            self.invoice(no, ref, spec.order, c, inv_lines, cn.on, sign=-1, kind="CRN")
        return no

    def arrival_journal(
        self, spec: Spec, ro: RO, ro_no: str, rma: str, line_recs: list[dict[str, Any]]
    ) -> None:
        jno = f"WARR-{self.w.seq(self.co + 'JRN', 5001):06d}"
        posted = ro.arrival is not None and not ro.arrival_unposted
        when = ro.arrival or (ro.created + timedelta(days=3))
        disp = "" if ro.quarantine else ro.disposition
        self.w.add(
            "ItemArrivalJournalHeadersV2",
            {
                **self.base(),
                "JournalNumber": jno,
                "JournalNameId": "WArr",
                "Description": f"Arrival {rma}",
                "IsPosted": "Yes" if posted else "No",
                "PostedDateTime": fo_dt(when if posted else None),
                "PostedUserId": "svc-wms" if posted else "",
                "DefaultAccountNumber": spec.cust.account,
                "DefaultReturnItemNumber": rma,
                "DefaultTransactionReferenceType": "Sales",
                "DefaultTransactionReferenceNumber": ro_no,
                "DefaultReturnDispositionCodeId": disp,
                "DefaultReceivingSiteId": FO_SITE,
                "DefaultReceivingWarehouseId": FO_RETURN_WAREHOUSE,
                "IsQuarantineOrderCreatedForReceivedItem": "Yes" if ro.quarantine else "No",
                "PackingSlipId": "",
            },
        )
        for i, rec in enumerate(line_recs):
            self.w.add(
                "ItemArrivalJournalLinesV2",
                {
                    **self.base(),
                    "JournalNumber": jno,
                    "LineNumber": i + 1,
                    "ItemNumber": rec["ItemNumber"],
                    "ItemQuantity": -rec["ReturnSalesQuantity"],  # positive (fo §5.6)
                    "IsReturnOrder": "Yes",
                    "ReturnItemNumber": rma,
                    "ReturnDispositionCodeId": disp,
                    "TransactionReferenceType": "Sales",
                    "TransactionReferenceNumber": ro_no,
                    "TransactionDate": fo_date(when),
                    "ReceivingInventorySiteId": FO_SITE,
                    "ReceivingWarehouseId": FO_RETURN_WAREHOUSE,
                    "IsQuarantineOrderCreatedForReceivedItem": "Yes" if ro.quarantine else "No",
                },
            )

    def replacement_order(self, spec: Spec, ref: str, when: datetime) -> str:
        so = self.so_number()
        # CHOICE: the replacement order copies the return's customer reference and requisition
        self.w.add(
            "SalesOrderHeadersV2",
            {
                **self.base(),
                "SalesOrderNumber": so,
                "OrderingCustomerAccountNumber": spec.cust.account,
                "InvoiceCustomerAccountNumber": spec.cust.account,
                "CustomersOrderReference": ref,
                "CustomerRequisitionNumber": spec.order,
                "SalesOrderName": spec.cust.name,
                "SalesOrderStatus": "Backorder",
                "SalesOrderOriginCode": "RMA",
                "CurrencyCode": self.currency,
                "DefaultShippingSiteId": FO_SITE,
                "DefaultShippingWarehouseId": FO_MAIN_WAREHOUSE,
                "RequestedShippingDate": fo_date(when + timedelta(days=1)),
                "ReturnOrderNumber": "",
                "Email": spec.cust.email,
            },
        )
        for i, ln in enumerate(spec.exchange):
            self.w.add(
                "SalesOrderLines",
                {
                    **self.base(),
                    "SalesOrderNumber": so,
                    "InventoryLotId": self.lot(),
                    "LineCreationSequenceNumber": i + 1,
                    "ItemNumber": ln.item,
                    "LineDescription": " ".join(ln.display),
                    "OrderedSalesQuantity": ln.erp_qty,
                    "SalesUnitSymbol": "ea",
                    "SalesPrice": num(ln.unit_net_erp),
                    "LineAmount": num(ln.net),
                    "SalesOrderLineStatus": "Backorder",
                    "ShippingSiteId": FO_SITE,
                    "ShippingWarehouseId": FO_MAIN_WAREHOUSE,
                },
            )
        return so

    # -- master data (fo §5.5, §5.8, §5.9) ---------------------------------------------------
    def master_data(self, customers: list[Customer], on_hold: dict[str, str]) -> None:
        w, co = self.w, self.co
        for grp, desc in (("WEB", "Web shop customers"), ("TRADE", "Trade customers")):
            w.add(
                "CustomerGroups",
                {**self.base(), "CustomerGroupId": grp, "Description": desc,
                 "PaymentTermId": "Net10", "IsSalesTaxIncludedInPrice": "No"},
            )
        for c in customers:
            w.add(
                "CustomersV3",
                {
                    **self.base(),
                    "CustomerAccount": c.account,
                    "OrganizationName": c.name,
                    "NameAlias": c.last,
                    "PersonFirstName": c.first,
                    "PersonLastName": c.last,
                    "PartyType": "Person",
                    "CustomerGroupId": "WEB",
                    "InvoiceAccount": "",
                    "PaymentMethod": "CARD",
                    "SalesCurrencyCode": self.currency,
                    "CreditLimit": 0,
                    "OnHoldStatus": on_hold.get(c.account, "No"),
                    "PrimaryContactEmail": c.email,
                    "AddressCity": c.city,
                    "AddressZipCode": c.postcode,
                    "AddressCountryRegionId": "GBR" if co == COMPANY else "IRL",
                    "AddressTimeZone": None,
                    "AddressValidTo": BLANK_DATETIME,
                    "DeliveryAddressValidFrom": BLANK_DATETIME,
                    "CredManCreditLimitDate": BLANK_DATE,
                },
            )
        for no, (name, variant, gross, vat) in CATALOGUE.items():
            net = q2(D(gross) / (1 + D(vat)))
            w.add(
                "ReleasedProductsV2",
                {
                    **self.base(),
                    "ItemNumber": no,
                    "ProductNumber": no,
                    "ProductName": f"{name} {variant}",
                    "SearchName": no,
                    "ProductSearchName": f"{name} {variant}".upper(),
                    "ProductType": "Item",
                    "ProductSubType": "Product",
                    "ItemModelGroupId": "FIFO",
                    "InventoryUnitSymbol": "ea",
                    "SalesUnitSymbol": "ea",
                    "SalesPrice": num(net),
                    "ProductLifecycleStateId": "",
                    "IsPOSRegistrationBlocked": "No",
                    "IsIntercompanySalesUsageBlocked": "No",
                    "SalesSalesTaxItemGroupCode": "ZERO" if vat == "0.00" else "STD",
                },
            )
            w.add(
                "ProductDefaultOrderSettings",
                {
                    **self.base(),
                    "ItemNumber": no,
                    "IsSalesProcessingStopped": "Yes" if no in SALES_STOPPED[co] else "No",
                    "IsInventoryProcessingStopped": "No",
                    "IsProcurementProcessingstopped": "Yes"
                    if no in PROCUREMENT_STOPPED[co]
                    else "No",
                    "SalesSiteId": FO_SITE,
                    "SalesWarehouseId": FO_MAIN_WAREHOUSE,
                    "InventorySiteId": FO_SITE,
                    "InventoryWarehouseId": FO_MAIN_WAREHOUSE,
                },
            )
        w.add("OperationalSites", {**self.base(), "SiteId": FO_SITE, "SiteName": "Northampton"})
        for wh, name, quar, typ in (
            (FO_MAIN_WAREHOUSE, "Northampton DC", FO_QUARANTINE_WAREHOUSE, "Standard"),
            (FO_RETURN_WAREHOUSE, "Returns hall", FO_QUARANTINE_WAREHOUSE, "Standard"),
            (FO_QUARANTINE_WAREHOUSE, "Returns quarantine", "", "Quarantine"),
        ):
            w.add(
                "Warehouses",
                {**self.base(), "WarehouseId": wh, "WarehouseName": name,
                 "OperationalSiteId": FO_SITE, "QuarantineWarehouseId": quar,
                 "WarehouseType": typ},
            )
        for code, (desc, action) in FO_DISPOSITIONS.items():
            w.add(
                "ReturnDispositionCodes",
                {**self.base(), "DispositionCode": code, "DispositionDescription": desc,
                 "DispositionAction": action, "KittingDispositionCodeId": ""},
            )
        if co == DECOY_COMPANY:
            code, desc, action = DECOY_ONLY_DISPOSITION
            w.add(
                "ReturnDispositionCodes",
                {**self.base(), "DispositionCode": code, "DispositionDescription": desc,
                 "DispositionAction": action, "KittingDispositionCodeId": ""},
            )
        for code, grp, desc in FO_REASON_CODES:
            w.add(
                "ReturnReasonCodeBiEntities",
                {**self.base(), "ReasonCodeId": code, "ReasonCodeGroupId": grp,
                 "Description": desc},
            )
        methods = [("CARD", "Card (Shopify Payments)", "Other", "Bank"),
                   ("STORECRED", "Store credit / gift card", "Other", "Ledger"),
                   ("BANK", "Bank transfer", "Electronic", "Bank"),
                   ("CHECK", "Cheque", "Check", "Bank")]
        if co == DECOY_COMPANY:
            methods.append(("Shop Now Credit", "Shop Now credit (IE)", "Other", "Ledger"))
        for name, desc, ptype, acct in methods:
            w.add(
                "CustomerPaymentMethods",
                {**self.base(), "Name": name, "Description": desc, "PaymentType": ptype,
                 "AccountType": acct},
            )


def _line_pairs(
    line_recs: list[dict[str, Any]], lines: list[Line]
) -> list[tuple[dict[str, Any], Line]]:
    by_item = {ln.item: ln for ln in lines}
    return [(rec, by_item[rec["ItemNumber"]]) for rec in line_recs]


def fiscal_calendar(w: World) -> None:
    """One shared fiscal calendar "Fiscal" (calendar years) and a ledger per legal entity with
    its own period statuses (fo §5.9). Ledger FRGB: everything up to September 2026 closed;
    ledger FRIE (decoy): up to October 2026 closed."""
    closed_until = {"FRGB": date(2026, 9, 30), "FRIE": date(2026, 10, 31)}
    legal = {"FRGB": COMPANY, "FRIE": DECOY_COMPANY}
    for year in (2025, 2026, 2027):
        periods: list[tuple[str, date, date, str, str, str]] = [
            ("Period 0", date(year, 1, 1), date(year, 1, 1), "Opening", "Q1", "Opening")
        ]
        for m in range(1, 13):
            start = date(year, m, 1)
            end = (date(year + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
            periods.append(
                (f"Period {m}", start, end, "Operating", f"Q{(m - 1) // 3 + 1}",
                 start.strftime("%b"))
            )
        periods.append(
            ("Closing", date(year, 12, 31), date(year, 12, 31), "Closing", "Q4", "Closing")
        )
        for name, start, end, typ, quarter, short in periods:
            w.add(
                "FiscalPeriods",
                {"Calendar": "Fiscal", "FiscalYear": str(year), "StartDate": fo_date(start),
                 "EndDate": fo_date(end), "PeriodName": name, "Type": typ,
                 "Quarter": quarter, "Month": start.strftime("%B") if typ == "Operating" else "",
                 "ShortName": short},
            )
            for ledger, until in closed_until.items():
                closed = end <= until
                lvl = "None" if closed else "All"
                w.add(
                    "LedgerFiscalPeriods",
                    {"LedgerName": ledger, "Calendar": "Fiscal", "YearName": str(year),
                     "PeriodName": name, "LegalEntityId": legal[ledger],
                     "PeriodStatus": "Closed" if closed else "Open",
                     "SalesAccessLevel": lvl, "CustAccessLevel": lvl,
                     "InventAccessLevel": lvl, "LedgerAccessLevel": lvl,
                     "SalesUserGroupInfo": "", "CustUserGroupInfo": "",
                     "InventUserGroupInfo": "", "LedgerUserGroupInfo": ""},
                )


# ============================================================================ world builder
def _customers() -> list[Customer]:
    out = []
    for i in range(48):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        city, pc = CITIES[i % len(CITIES)]
        out.append(
            Customer(
                account=f"FR-{100101 + i}",
                first=first,
                last=last,
                email=f"{first.lower()}.{last.lower()}{i + 1}@mail.example.com",
                city=city,
                postcode=pc,
            )
        )
    return out


def _done(
    ref: str,
    order: str,
    cust: Customer,
    lines: list[Line],
    days_ago: int,
    *,
    rtype: str = "Refund",
    quarantine: bool = False,
    packing_slip: bool = True,
    disposition: str = "RESELL",
    **kw: Any,
) -> Spec:
    """A finished return: delivered, registered in F&O (arrival journal), graded, refunded and
    credited on time. Times of day are fixed so that every date-only F&O field compares without
    doubt: arrival on day D, grading and refund on day D+1 after the packing slip, the credit
    note dated D+1."""
    created = at(days_ago, 9)
    shipped = created + timedelta(days=1, hours=2)
    delivered = at(days_ago - 4, 8)
    arrival = at(days_ago - 4, 11)
    qc = at(days_ago - 5, 8)
    processed = at(days_ago - 5, 10)
    ro = RO(
        created=created + timedelta(minutes=20),
        arrival=arrival,
        quarantine=quarantine,
        quarantine_end=at(days_ago - 4, 16) if quarantine else None,
        disposition=disposition,
        packing_slip=at(days_ago - 5, 7) if packing_slip else None,
        cns=[CN(on=processed.date())] if rtype not in ("Recycle", "Exchange") else [],
    )
    return Spec(
        ref=ref, order=order, cust=cust, lines=lines, created=created, rtype=rtype,
        shipped=shipped, delivered=delivered, qc=qc, processed=processed, ros=[ro], **kw,
    )


def build_world() -> World:
    w = World()
    w.customers = _customers()
    main = FO(w, COMPANY, "GBP")
    decoy = FO(w, DECOY_COMPANY, "EUR")
    cust = w.customers
    on_hold_cust = cust[40]  # OnHoldStatus All in frgb (CustVendorBlocked, fo §5.8)
    payment_hold_cust = cust[41]  # OnHoldStatus Payment in frgb
    order_no = iter(range(51001, 59999))
    cust_i = iter(range(10_000))

    def order() -> str:
        return f"#{next(order_no)}"

    def c() -> Customer:
        return cust[next(cust_i) % 40]  # the last 8 customers are kept for special cases

    def L(item: str, qty: int = 1, sku: str | None = None, factor: int = 1) -> Line:
        return Line(sku=sku or item, qty=qty, item=item, factor=factor)

    specs: list[Spec] = []

    # ---- bulk healthy returns, fully processed ------------------------------------------------
    for i in range(12):
        item = BULK_ITEMS[i % len(BULK_ITEMS)]
        days = 48 - 3 * i  # 48 .. 15 days ago; several refunded in October
        lines = [L(item, 2 if i % 5 == 2 else 1)]
        if i == 7:
            lines.append(L("TEE-BLK-M"))
        specs.append(
            _done(
                f"RMA-FR-{6001 + i}", order(), c(), lines, days,
                rtype="Shop Later Credit" if i % 4 == 3 else "Refund",
                quarantine=(i % 6 == 4),  # sent to quarantine, inspected, ended (fo §6.1 step 3)
                packing_slip=(i % 3 != 1),  # packing slip skipped (fo §6.1 step 4)
            )
        )

    # ---- hand-made healthy returns (F&O traps) ------------------------------------------------
    # partial arrival: 2 units registered in two lots -> two return lines, same item (fo §5.3)
    s = _done("RMA-FR-6101", order(), c(), [L("JEAN-IND-32", 2)], 30)
    s.ros[0].split = True
    s.note = "two F&O lines for one platform line; quantities sum to 2"
    specs.append(s)
    # exchange: Replace and credit; the packing slip created the replacement sales order
    s = Spec(
        ref="RMA-FR-6102", order=order(), cust=c(), lines=[L("TEE-WHT-M")], created=at(9, 9),
        rtype="Exchange", shipped=at(8, 11), delivered=at(5, 8), qc=at(4, 8),
        processed=at(4, 10), exchange=[L("TEE-BLK-M")],
        ros=[RO(created=at(9, 9, 20), arrival=at(5, 11), disposition="REPLCRED",
                packing_slip=at(4, 7), replacement=True)],
    )
    s.note = "Exchange: REPLCRED, packing slip posted, replacement sales order open, no credit"
    specs.append(s)
    # Recycle: registered with a scrap disposition, packing slip executed it, never invoiced
    s = Spec(
        ref="RMA-FR-6103", order=order(), cust=c(), lines=[L("CAP-BSB-NVY")], created=at(8, 9),
        rtype="Recycle", shipped=at(7, 11), delivered=at(4, 8), qc=at(3, 8),
        processed=at(3, 10),
        ros=[RO(created=at(8, 9, 20), arrival=at(4, 11), disposition="SCRAP",
                packing_slip=at(3, 7))],
    )
    s.note = "Recycle: SCRAP disposition, packing slip posted, no credit note owed"
    specs.append(s)
    # cancelled on the platform; the return order was cancelled while Created (fo §6.1 Cancel)
    specs.append(
        Spec(ref="RMA-FR-6104", order=order(), cust=c(), lines=[L("TEE-BLK-M")],
             created=at(10, 9), status_override="Cancelled",
             ros=[RO(created=at(10, 9, 20), canceled=at(9, 10))])
    )
    # in transit, return order Created, lines Awaiting ("Expected")
    specs.append(
        Spec(ref="RMA-FR-6105", order=order(), cust=c(), lines=[L("JEAN-IND-34")],
             created=at(3, 9), shipped=at(2, 11), ros=[RO(created=at(3, 9, 20))])
    )
    # created 40 minutes ago: nothing in F&O yet (within the 1 h authorised grace)
    specs.append(
        Spec(ref="RMA-FR-6106", order=order(), cust=c(), lines=[L("BAG-TOTE-NAT")],
             created=ago(minutes=40))
    )
    w.expected_delays["RMA-FR-6106"] = "RETURN_ORDER_MISSING within the 1 h grace"
    # delivered 10 h ago, not registered yet (within the 24 h received grace)
    specs.append(
        Spec(ref="RMA-FR-6107", order=order(), cust=c(), lines=[L("HOOD-GRY-L")],
             created=ago(5), shipped=ago(4), delivered=ago(hours=10),
             ros=[RO(created=ago(5) + timedelta(minutes=20))])
    )
    w.expected_delays["RMA-FR-6107"] = "RECEIPT_NOT_POSTED within the 24 h grace"
    # arrived 28 h ago into quarantine, inspection pending (within the 72 h inspected grace)
    specs.append(
        Spec(ref="RMA-FR-6108", order=order(), cust=c(), lines=[L("SNK-TRL-42")],
             created=ago(6), shipped=ago(5), delivered=ago(hours=30),
             ros=[RO(created=ago(6) + timedelta(minutes=20), arrival=ago(hours=28),
                     quarantine=True)])
    )
    # registered 40 h ago with RESELL, packing slip not yet posted, Swap grading pending
    specs.append(
        Spec(ref="RMA-FR-6109", order=order(), cust=c(), lines=[L("JKT-RAIN-NVY-M")],
             created=ago(6), shipped=ago(5), delivered=ago(hours=43),
             ros=[RO(created=ago(6) + timedelta(minutes=20), arrival=ago(hours=40))])
    )
    # graded 6 h ago, refund not yet issued (within the 24 h credited grace)
    specs.append(
        Spec(ref="RMA-FR-6110", order=order(), cust=c(), lines=[L("SNK-TRL-43")],
             created=ago(7), shipped=ago(6), delivered=ago(2, 4), qc=ago(hours=6),
             ros=[RO(created=ago(7) + timedelta(minutes=20), arrival=ago(2, 1))])
    )
    # refunded in September (closed since) and credited the same day: booked in its period
    s = Spec(
        ref="RMA-FR-6111", order=order(), cust=c(), lines=[L("SCARF-WOOL-GRN")],
        created=datetime(2026, 9, 8, 9, 0, tzinfo=UTC),
        shipped=datetime(2026, 9, 9, 11, 0, tzinfo=UTC),
        delivered=datetime(2026, 9, 12, 8, 0, tzinfo=UTC),
        qc=datetime(2026, 9, 13, 8, 0, tzinfo=UTC),
        processed=datetime(2026, 9, 13, 10, 0, tzinfo=UTC),
        ros=[RO(created=datetime(2026, 9, 8, 9, 20, tzinfo=UTC),
                arrival=datetime(2026, 9, 12, 11, 0, tzinfo=UTC),
                packing_slip=datetime(2026, 9, 13, 7, 0, tzinfo=UTC),
                cns=[CN(on=date(2026, 9, 13))])],
    )
    specs.append(s)
    # customer on hold for payments only: a credit note can still be posted (fo §5.8, U24)
    specs.append(_done("RMA-FR-6112", order(), payment_hold_cust, [L("HOOD-GRY-M")], 21))
    # item with procurement stopped (not sales / inventory): still returnable (fo U23)
    specs.append(_done("RMA-FR-6113", order(), c(), [L("SCARF-WOOL-GRN")], 19))
    # mapped SKU: a 2-pack on the storefront is 2 ea of SOCK-CREW in F&O (mapping factor 2)
    specs.append(
        _done("RMA-FR-6114", order(), c(), [L("SOCK-CREW", 1, sku="SOCK-2PK", factor=2)], 17)
    )
    # two lines, one sent to quarantine and ended; both credited
    specs.append(
        _done("RMA-FR-6115", order(), c(), [L("JEAN-IND-34"), L("CAP-BSB-NVY")], 25,
              quarantine=True)
    )
    # zero-rated children's item
    specs.append(_done("RMA-FR-6116", order(), c(), [L("KIDS-TEE-YEL-5")], 16))
    # a first return order cancelled while Created, a second one carried through: one live
    s = _done("RMA-FR-6117", order(), c(), [L("SNK-TRL-42")], 22)
    s.ros.insert(0, RO(created=s.created + timedelta(minutes=5), canceled=s.created
                       + timedelta(minutes=15)))
    s.note = "a Canceled return order next to the live one: not a duplicate"
    specs.append(s)
    # an old return, credited 400 days ago: outside history_days (365) on both sides
    specs.append(_done("RMA-FR-5001", order(), c(), [L("TEE-WHT-M")], 400))

    # ---- planted exceptions: one problem per return -----------------------------------------
    # RETURN_ORDER_MISSING: in transit 5 days, nothing in F&O
    specs.append(
        Spec(ref="RMA-FR-6201", order=order(), cust=c(), lines=[L("SNK-TRL-43")],
             created=at(6, 9), shipped=at(5, 11))
    )
    w.plant("RMA-FR-6201", "RETURN_ORDER_MISSING",
            "fo §6.1 step 1: no ReturnOrderHeadersV2 in frgb carries the ref 6 days after the "
            "return was created (a decoy-company return order does)")
    # RECEIPT_NOT_POSTED: delivered 50 h ago; an arrival journal exists but is not posted
    specs.append(
        Spec(ref="RMA-FR-6202", order=order(), cust=c(), lines=[L("HOOD-GRY-M")],
             created=ago(7), shipped=ago(6), delivered=ago(hours=50),
             ros=[RO(created=ago(7) + timedelta(minutes=20), arrival_unposted=True)])
    )
    w.plant("RMA-FR-6202", "RECEIPT_NOT_POSTED",
            "fo §6.1 step 2 / §5.6: delivered 50 h ago; line still Awaiting, the arrival journal "
            "has IsPosted=No")
    # CREDIT_NOTE_MISSING: refunded 6 days ago, packing slip posted, return order not invoiced
    s = _done("RMA-FR-6203", order(), c(), [L("JEAN-IND-34")], 11)
    s.ros[0].cns = []
    specs.append(s)
    w.plant("RMA-FR-6203", "CREDIT_NOTE_MISSING",
            "fo §6.1 step 5 / §5.7: refunded 6 days ago; lines Received (packing slip) but no "
            "SalesInvoiceHeadersV2 with SalesOrderNumber = the return order")
    # CREDIT_NOTE_DUPLICATE: the return order was created twice (no idempotency, fo §7.1) and
    # both were received and invoiced: two credit notes carry the link
    s = _done("RMA-FR-6204", order(), c(), [L("HOOD-GRY-L")], 27)
    first = s.ros[0]
    s.ros.append(
        RO(created=first.created + timedelta(minutes=3), arrival=first.arrival,
           packing_slip=first.packing_slip, cns=[CN(on=first.cns[0].on + timedelta(days=2))])
    )
    specs.append(s)
    w.plant("RMA-FR-6204", "CREDIT_NOTE_DUPLICATE",
            "fo §7.1 (no idempotency) / §5.7: two return orders with the ref, each invoiced: two "
            "credit notes for one refund")
    w.plant("RMA-FR-6204", "QUANTITY_MISMATCH",
            "same duplicate: the two live return orders return 2 units of HOOD-GRY-L for 1 on "
            "the platform (both registered)")
    # CREDIT_WITHOUT_REFUND: Recycle (no money moves) but registered with SCRAP, whose action
    # credits the customer (fo §5.5), and invoiced
    s = _done("RMA-FR-6205", order(), c(), [L("BAG-TOTE-NAT")], 14, rtype="Recycle",
              disposition="SCRAP")
    s.ros[0].cns = [CN(on=s.processed.date())]
    specs.append(s)
    w.plant("RMA-FR-6205", "CREDIT_WITHOUT_REFUND",
            "fo §5.5 (Scrap = credited, scrapped): a Recycle return invoiced with a credit note")
    # QUANTITY_MISMATCH: 2 returned and delivered, the return order is for 1 (registered 1)
    specs.append(
        Spec(ref="RMA-FR-6206", order=order(), cust=c(), lines=[L("HOOD-GRY-L", 2)],
             created=ago(6), shipped=ago(5), delivered=ago(hours=46),
             ros=[RO(created=ago(6) + timedelta(minutes=20), arrival=ago(hours=44),
                     qty={"HOOD-GRY-L": 1})])
    )
    w.plant("RMA-FR-6206", "QUANTITY_MISMATCH",
            "fo §5.3: platform 2 delivered; ReturnSalesQuantity -1, registered 1")
    # REFUND_AMOUNT_MISMATCH: zero-rated item refunded 18.00, credit note 15.00 (tax 0 both)
    s = _done("RMA-FR-6207", order(), c(), [L("KIDS-TEE-YEL-5")], 13)
    s.ros[0].cns[0].unit_net = {"KIDS-TEE-YEL-5": D("15.00")}
    specs.append(s)
    w.plant("RMA-FR-6207", "REFUND_AMOUNT_MISMATCH",
            "fo §5.7: items refunded 18.00, credit note TotalInvoiceAmount -15.00 (VAT 0 both)")
    # TAX_MISMATCH: credit note taxed at 0 % (wrong item sales tax group), items equal
    s = _done("RMA-FR-6208", order(), c(), [L("HOOD-GRY-M")], 12)
    s.ros[0].cns[0].vat = {"HOOD-GRY-M": D("0")}
    specs.append(s)
    w.plant("RMA-FR-6208", "TAX_MISMATCH",
            "fo §5.7: tax refunded 10.00, credit note TotalTaxAmount 0 (items 50.00 both)")
    # CREDIT_BEFORE_RECEIPT: refunded on day -15, arrival journal posted day -12
    specs.append(
        Spec(ref="RMA-FR-6209", order=order(), cust=c(), lines=[L("JEAN-IND-32")],
             created=at(20, 9), shipped=at(19, 11), delivered=at(16, 8), qc=at(15, 8),
             processed=at(15, 10),
             ros=[RO(created=at(20, 9, 20), arrival=at(12, 11), packing_slip=at(12, 15),
                     cns=[CN(on=at(12, 16).date())])])
    )
    w.plant("RMA-FR-6209", "CREDIT_BEFORE_RECEIPT",
            "exceptions.md note: refund day -15, F&O arrival (ActualReturnArrivalDate / journal "
            "PostedDateTime) day -12, credit note day -12")
    # CLOSED_PERIOD: refunded 28 Sep 2026 (period 9 closed in ledger FRGB), credited 2 Oct
    specs.append(
        Spec(ref="RMA-FR-6210", order=order(), cust=c(), lines=[L("SNK-TRL-43")],
             created=datetime(2026, 9, 18, 9, 0, tzinfo=UTC),
             shipped=datetime(2026, 9, 19, 11, 0, tzinfo=UTC),
             delivered=datetime(2026, 9, 24, 8, 0, tzinfo=UTC),
             qc=datetime(2026, 9, 28, 8, 0, tzinfo=UTC),
             processed=datetime(2026, 9, 28, 10, 0, tzinfo=UTC),
             ros=[RO(created=datetime(2026, 9, 18, 9, 20, tzinfo=UTC),
                     arrival=datetime(2026, 9, 24, 11, 0, tzinfo=UTC),
                     packing_slip=datetime(2026, 9, 25, 9, 0, tzinfo=UTC),
                     cns=[CN(on=date(2026, 10, 2))])])
    )
    w.plant("RMA-FR-6210", "CLOSED_PERIOD",
            "fo §5.9: refund 2026-09-28 in Period 9 (PeriodStatus Closed, ledger FRGB); credit "
            "note InvoiceDate 2026-10-02")
    # CUSTOMER_NOT_FOUND: the return order's customer is on hold for All (fo §5.8, U24)
    specs.append(
        Spec(ref="RMA-FR-6211", order=order(), cust=on_hold_cust, lines=[L("JEAN-IND-32")],
             created=at(4, 9), shipped=at(3, 11), ros=[RO(created=at(4, 9, 20))])
    )
    w.plant("RMA-FR-6211", "CUSTOMER_NOT_FOUND",
            f"fo §5.8 / U24: CustomersV3 {on_hold_cust.account} OnHoldStatus All in frgb "
            "(No in the decoy company)")
    # SKU_INACTIVE: sales processing stopped for the item (fo §5.8, U23)
    specs.append(
        Spec(ref="RMA-FR-6212", order=order(), cust=c(), lines=[L("JKT-RAIN-NVY-L")],
             created=at(5, 9), shipped=at(4, 11), ros=[RO(created=at(5, 9, 20))])
    )
    w.plant("RMA-FR-6212", "SKU_INACTIVE",
            "fo §5.8 / U23: ProductDefaultOrderSettings JKT-RAIN-NVY-L IsSalesProcessingStopped "
            "Yes in frgb")
    # SKU_UNKNOWN: legacy SKU, no released product, no mapping; header created, line failed
    specs.append(
        Spec(ref="RMA-FR-6213", order=order(), cust=c(),
             lines=[L("BAG-TOTE-NAT", sku="TOTE-NATURAL-OLD")], created=at(4, 9),
             shipped=at(3, 11), ros=[RO(created=at(4, 9, 20), lines=False)])
    )
    w.plant("RMA-FR-6213", "SKU_UNKNOWN",
            "fo §5.8: Swap SKU TOTE-NATURAL-OLD is no ReleasedProductsV2 item and has no "
            "mapping; the return order has a header and no lines")
    # UOM_MISMATCH: mapped SKU (2-pack = 2 ea), but the F&O line counts 1 "PK"
    specs.append(
        Spec(ref="RMA-FR-6214", order=order(), cust=c(),
             lines=[L("SOCK-CREW", 1, sku="SOCK-2PK", factor=2)], created=ago(6),
             shipped=ago(5), delivered=ago(hours=40),
             ros=[RO(created=ago(6) + timedelta(minutes=20), arrival=ago(hours=37),
                     qty={"SOCK-CREW": 1}, unit={"SOCK-CREW": "PK"})])
    )
    w.plant("RMA-FR-6214", "UOM_MISMATCH",
            "fo §5.3 SalesUnitSymbol: mapping SOCK-2PK -> 2 ea SOCK-CREW; the return line is 1 PK")
    # DISPOSITION_UNMAPPED: registered with a disposition code frgb does not have
    specs.append(
        Spec(ref="RMA-FR-6215", order=order(), cust=c(), lines=[L("JEAN-IND-34")],
             created=ago(6), shipped=ago(5), delivered=ago(hours=30), qc=ago(hours=20),
             ros=[RO(created=ago(6) + timedelta(minutes=20), arrival=ago(hours=27),
                     disposition="GRADE-B")])
    )
    # The docs decided against this plant (docs/d365fo-mapping.md, "Independent check"):
    # F&O validates a disposition code against the legal entity's codes when it is set
    # (fo §5.5; ax2012 WMSJournalTable::validateDispositionCodeId), so the state cannot be
    # made through F&O, and DISPOSITION_UNMAPPED is about the platform's grade having no
    # mapping (docs/exceptions.md), which `sellable` has. The record stays: the product
    # must say, as a notice, that the code's action is unknown (test_swap_d365_fo).
    w.unknown_disposition = ("RMA-FR-6215", "GRADE-B")
    # REASON_UNMAPPED: a Swap reason with no mapping entry and no F&O reason code
    specs.append(
        Spec(ref="RMA-FR-6216", order=order(), cust=c(), lines=[L("TEE-WHT-M")],
             created=at(3, 9), shipped=at(2, 11), reason=(*UNMAPPED_REASON, ""),
             ros=[RO(created=at(3, 9, 20), reason="")])
    )
    w.plant("RMA-FR-6216", "REASON_UNMAPPED",
            "fo §5.5: Swap reason rsn_arrived_late has no mapping entry and is no "
            "ReturnReasonCodeBiEntities code; the header's CustomerReturnReasonCode is blank")
    # EXCHANGE_ORDER_MISSING: exchange processed 5 days ago; REPLCRED registered but no packing
    # slip, so no replacement sales order (fo §6.1 step 4)
    specs.append(
        Spec(ref="RMA-FR-6217", order=order(), cust=c(), lines=[L("JEAN-IND-32")],
             created=at(10, 9), rtype="Exchange", shipped=at(9, 11), delivered=at(7, 8),
             qc=at(6, 8), processed=at(5, 10), exchange=[L("JEAN-IND-34")],
             ros=[RO(created=at(10, 9, 20), arrival=at(7, 11), disposition="REPLCRED")])
    )
    w.plant("RMA-FR-6217", "EXCHANGE_ORDER_MISSING",
            "fo §6.1 step 4: Exchange processed 5 days ago; REPLCRED line Registered, "
            "ReplacementSalesOrderNumber blank, no sales order")
    # STAGE_OVERDUE: Swap graded 5 days ago; the F&O line is still in Quarantine
    specs.append(
        Spec(ref="RMA-FR-6218", order=order(), cust=c(), lines=[L("SNK-TRL-42")],
             created=at(9, 9), shipped=at(8, 11), delivered=at(6, 8), qc=at(5, 8),
             ros=[RO(created=at(9, 9, 20), arrival=at(6, 11), quarantine=True)])
    )
    w.plant("RMA-FR-6218", "STAGE_OVERDUE",
            "fo §6.2 / U12: Quarantine = inspection pending for 6 days (grace 72 h) while Swap "
            "graded it 5 days ago (and has not refunded)")
    # PAYMENT_METHOD_UNMAPPED: Shop Now Credit has no payment-method mapping and is no F&O
    # CustomerPaymentMethods name in frgb
    specs.append(_done("RMA-FR-6219", order(), c(), [L("TEE-BLK-M")], 18,
                       rtype="Shop Now Credit"))
    w.plant("RMA-FR-6219", "PAYMENT_METHOD_UNMAPPED",
            "fo §5.8: return type Shop Now Credit is not in the payment-method mapping and not a "
            "CustomerPaymentMethods name in frgb (only in the decoy)")
    # PAYLOAD_INVALID: products lack the required item_count (created 30 min ago)
    specs.append(
        Spec(ref="RMA-FR-6220", order=order(), cust=c(), lines=[L("TEE-BLK-M")],
             created=ago(minutes=30), invalid=True)
    )
    w.plant("RMA-FR-6220", "PAYLOAD_INVALID", "swap §1.4.4: products[0].item_count missing")
    # RETURN_ORDER_NOT_OPEN: goods delivered 50 h ago, the return order was cancelled
    specs.append(
        Spec(ref="RMA-FR-6221", order=order(), cust=c(), lines=[L("CAP-BSB-NVY")],
             created=ago(8), shipped=ago(7), delivered=ago(hours=50),
             ros=[RO(created=ago(8) + timedelta(minutes=20), canceled=ago(4))])
    )
    w.plant("RMA-FR-6221", "RETURN_ORDER_NOT_OPEN",
            "fo §6.1 Cancel / §6.2: the only return order is Canceled (header and line) while "
            "the parcel was delivered 50 h ago; nothing can be registered on it")
    # ERP_RECORD_UNLINKED (1): another channel's return order, Created
    specs.append(
        Spec(ref="EBAY-3391-R", order=order(), cust=c(), lines=[L("CAP-BSB-NVY")],
             created=at(9, 9), platform=False, ros=[RO(created=at(9, 9, 20))])
    )
    w.plant("EBAY-3391-R", "ERP_RECORD_UNLINKED",
            "return order CustomersOrderReference EBAY-3391-R matches no Swap return")
    # ERP_RECORD_UNLINKED (2): registered, packed and credited under a ref Swap never issued
    specs.append(_done("RMA-FR-9102", order(), c(), [L("TEE-WHT-M")], 14, platform=False))
    w.plant("RMA-FR-9102", "ERP_RECORD_UNLINKED",
            "invoiced return order + credit note whose CustomersOrderReference matches no Swap "
            "return")

    for spec in specs:
        if spec.platform:
            w.swap_returns[STORE_ID].append(swap_record(spec))
        main.original_sale(spec.order, spec.cust, spec.lines, spec.created - timedelta(days=11))
        for ro in spec.ros:
            main.return_order(spec, ro)

    # ---- noise in frgb --------------------------------------------------------------------
    # a call-centre return order with no customer reference, invoiced: not the platform's
    manual = _done("", "#49877", cust[43], [L("SCARF-WOOL-GRN")], 20, platform=False)
    manual.ros[0].ref = ""
    main.original_sale(manual.order, manual.cust, manual.lines, manual.created - timedelta(days=9))
    main.return_order(manual, manual.ros[0])
    # ordinary open web sales orders
    for k in range(4):
        main.original_sale(f"#{59100 + k}", cust[k + 10], [L(BULK_ITEMS[k])], ago(1, k))

    main.master_data(cust, {on_hold_cust.account: "All", payment_hold_cust.account: "Payment"})

    # ---- decoy legal entity frie (EUR): must never be reported -------------------------------
    decoy.master_data(cust[:44], {cust[0].account: "All"})
    ghosts = [
        # a second credit for a healthy return (would look like a duplicate)
        _done("RMA-FR-6001", "#51001", cust[0], [L("HOOD-GRY-M")], 30),
        # a return order for the return that has none in frgb (would hide RETURN_ORDER_MISSING)
        Spec(ref="RMA-FR-6201", order="#61002", cust=cust[1], lines=[L("SNK-TRL-43")],
             created=at(6, 9), ros=[RO(created=at(6, 9, 20))]),
        # a credit note for the return whose credit note is missing in frgb
        _done("RMA-FR-6203", "#61003", cust[2], [L("JEAN-IND-34")], 11),
        # an Irish return that matches nothing on the platform
        _done("RMA-IE-7701", "#61004", cust[3], [L("CAP-BSB-NVY")], 10),
    ]
    for g in ghosts:
        decoy.original_sale(g.order, g.cust, g.lines, g.created - timedelta(days=11))
        for ro in g.ros:
            decoy.return_order(g, ro)

    fiscal_calendar(w)

    # ---- decoy Swap store on the same key ----------------------------------------------------
    for k in range(3):
        g = _done(f"RMA-FO-{7001 + k}", f"#8{1000 + k}", cust[k + 30], [L("TEE-BLK-M")], 10 + k)
        w.swap_returns[DECOY_STORE_ID].append(swap_record(g, DECOY_STORE_ID))

    # ---- the profile's mapping table -----------------------------------------------------------
    reasons: dict[str, str] = {}
    for rid, text, code in REASONS:
        reasons[rid] = code
        reasons[text] = code
    w.mappings = {
        # only the SKU that differs from its item number; everything else is identity
        "skus": {
            "SOCK-2PK": {"sku": "SOCK-2PK", "item_no": "SOCK-CREW", "factor": "2", "erp_uom": "ea"}
        },
        "reasons": reasons,
        "dispositions": {
            "sellable": {"disposition": "RESELL", "location": FO_RETURN_WAREHOUSE},
            "resellable": {"disposition": "RESELL", "location": FO_RETURN_WAREHOUSE},
        },
        "locations": {SWAP_LOCATION: FO_RETURN_WAREHOUSE},
        "fees": {},
        "payment_methods": {"Refund": "CARD", "Shop Later Credit": "STORECRED"},
        "identity_fallback": True,
    }
    w.swap_returns[STORE_ID].sort(key=lambda r: (r["date_updated"], r["rma_number"]))
    return w


if __name__ == "__main__":  # pragma: no cover - a quick look at the world
    world = build_world()
    print(len(world.swap_returns[STORE_ID]), "Swap returns")
    print({k: len(v) for k, v in world.fo.items()})
    for pair in sorted(world.truth):
        print(pair, "-", world.plant_notes[pair])

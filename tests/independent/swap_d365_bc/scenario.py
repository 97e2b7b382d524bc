"""One planted world for the independent Swap Commerce (Returns API v2) <-> Business Central
(API v2.0) check.

Everything here is written from the vendors' public documentation (and the product owner's
stated decisions in the brief), never from the product's own code, fixtures or docs.

Where the vendors' documentation is silent, the choice made is written next to the code
(search for "CHOICE:"). The same list is repeated in the final report.

The world:
  * Swap store ``store_harbour`` (plus a decoy store ``store_harbour_outlet`` on the same key);
  * Business Central environment with two companies: ``Harbour Outfitters Ltd.`` (the one the
    profile names) and a decoy ``Harbour Outfitters EU B.V.`` whose documents must never be
    reported;
  * ~104 platform returns (a bulk of healthy, fully posted ones so that Swap needs more than one
    page of 100), hand-made healthy returns in every lifecycle state, and one return per planted
    exception code (two for CREDIT_NOTE_MISSING and ERP_RECORD_UNLINKED).

``build_world()`` returns a ``World`` with the Swap records, the Business Central entity sets
per company, the mapping table, and ``truth``: the set of (return_ref, code) pairs the product
must report under ``findings``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

UTC = UTC
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW_ISO = "2026-11-20T12:00:00Z"

# --- identities (deliberately unlike any demo) --------------------------------------------
STORE_ID = "store_harbour"
DECOY_STORE_ID = "store_harbour_outlet"
STORE_NAME = "Harbour Outfitters"
API_KEY = "swp_live_hb_3b9f0c1e8d7a4b62a1f5"
TENANT = "harbour-outfitters.co.uk"  # BC accepts the tenant id or its domain
ENVIRONMENT = "Production"
CLIENT_ID = "5d0c7e2a-91b4-4c55-8f0e-3a6b2c1d9e77"
CLIENT_SECRET = "hb~Q8sK2.vR7_tL0pZ3xW9yN4mJ6"
COMPANY = "Harbour Outfitters Ltd."
DECOY_COMPANY = "Harbour Outfitters EU B.V."

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = "0001-01-01"
_NS = uuid.UUID("0b7e8f57-6d0f-4a8e-9d7c-2f6a1e0c4b11")

D = Decimal
CENT = D("0.01")


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def gid(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


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


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def num(x: Decimal | int | float) -> int | float:
    """A JSON number the way both vendors send them (no trailing zeros, no strings)."""
    d = D(str(x))
    if d == d.to_integral_value():
        return int(d)
    return float(d.normalize())


# --- catalogue ------------------------------------------------------------------------------
# item number: (display name, variant, unit GROSS price (UK prices include VAT), VAT rate)
CATALOGUE: dict[str, tuple[str, str, str, str]] = {
    "TEE-WHT-S": ("Organic Tee", "White / S", "24.00", "0.20"),
    "TEE-WHT-M": ("Organic Tee", "White / M", "24.00", "0.20"),
    "TEE-BLK-M": ("Organic Tee", "Black / M", "24.00", "0.20"),
    "HOOD-GRY-M": ("Harbour Hoodie", "Grey / M", "60.00", "0.20"),
    "HOOD-GRY-L": ("Harbour Hoodie", "Grey / L", "60.00", "0.20"),
    "JEAN-IND-32": ("Selvedge Jeans", "Indigo / 32", "96.00", "0.20"),
    "JEAN-IND-34": ("Selvedge Jeans", "Indigo / 34", "96.00", "0.20"),
    "JKT-RAIN-NVY-M": ("Rain Jacket", "Navy / M", "120.00", "0.20"),
    "JKT-RAIN-NVY-L": ("Rain Jacket", "Navy / L", "120.00", "0.20"),
    "SNK-TRL-42": ("Trail Sneaker", "EU 42", "84.00", "0.20"),
    "SNK-TRL-43": ("Trail Sneaker", "EU 43", "84.00", "0.20"),
    "SOCK-CREW": ("Crew Sock", "One pair", "7.20", "0.20"),
    "BAG-TOTE-NAT": ("Canvas Tote", "Natural", "36.00", "0.20"),
    "KIDS-TEE-YEL-5": ("Kids Tee", "Yellow / 5Y", "18.00", "0.00"),  # UK zero-rated
    "SCARF-WOOL-GRN": ("Wool Scarf", "Green", "48.00", "0.20"),
    "CAP-BSB-NVY": ("Baseball Cap", "Navy", "24.00", "0.20"),
}
BLOCKED_ITEMS = {"JKT-RAIN-NVY-L"}
ACTIVE_BULK_ITEMS = [
    "TEE-WHT-S",
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
    "SCARF-WOOL-GRN",
    "CAP-BSB-NVY",
]

# Swap reasons (id, text) -> BC customerReturnReasons code.
REASONS = [
    ("rsn_too_small", "Too small", "SIZE"),
    ("rsn_too_big", "Too big", "SIZE"),
    ("rsn_changed_mind", "Changed my mind", "UNWANTED"),
    ("rsn_faulty", "Faulty or damaged", "DEFECT"),
    ("rsn_not_as_described", "Not as described", "DESCR"),
]
SWAP_LOCATION = "loc_hb_bristol_dc"  # Swap shipment destination_location_id
BC_RETURNS_LOCATION = "RETURNS"

FIRST = [
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Harry",
    "Mia",
    "Noah",
    "Freya",
    "Leo",
    "Ivy",
    "Arthur",
    "Rosie",
    "Oscar",
    "Evie",
    "Theo",
    "Poppy",
    "Jack",
    "Lily",
    "Alfie",
]
LAST = [
    "Hughes",
    "Patel",
    "Murray",
    "Clarke",
    "Walsh",
    "Bennett",
    "Reid",
    "Lloyd",
    "Fraser",
    "Doyle",
    "Shaw",
    "Kerr",
    "Hale",
    "Moss",
    "Quinn",
]
CITIES = [
    ("Bristol", "BS1 4DJ"),
    ("Leeds", "LS1 5AB"),
    ("Cardiff", "CF10 1AA"),
    ("Glasgow", "G1 2FF"),
    ("Norwich", "NR1 3QU"),
    ("Exeter", "EX1 1GE"),
]


@dataclass
class Customer:
    number: str
    name: str
    email: str
    city: str
    postcode: str
    blocked: str = "_x0020_"  # BC blank enum value, OData-escaped

    @property
    def id(self) -> str:
        return gid("customer", self.number)


@dataclass
class Line:
    sku: str  # what Swap sends
    qty: int
    item: str  # the BC item number the line really is
    factor: int = 1  # BC units per platform unit (mapping factor)

    @property
    def display(self) -> tuple[str, str]:
        n, v, _, _ = CATALOGUE[self.item]
        return n, v

    @property
    def unit_gross(self) -> Decimal:
        # platform price per platform unit
        return D(CATALOGUE[self.item][2]) * self.factor

    @property
    def vat(self) -> Decimal:
        return D(CATALOGUE[self.item][3])

    @property
    def unit_net_erp(self) -> Decimal:
        # BC unit price (net, per BC unit): BC prices exclude VAT for this customer posting setup
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
class CM:
    """A Business Central credit memo for a return."""

    posted: date | None  # None = draft
    status: str = "Open"  # Open / Paid / Canceled / Draft
    modified: datetime | None = None
    paid_at: datetime | None = None
    applied: bool = True  # invoiceId/invoiceNumber -> original posted invoice
    unit_net: dict[str, Decimal] = field(default_factory=dict)  # item -> net unit override
    vat: dict[str, Decimal] = field(default_factory=dict)  # item -> VAT rate override
    ref: str | None = None  # externalDocumentNumber override


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
    split_shipments: bool = False
    invalid: bool = False
    # ERP side
    ro: str | None = None  # None | "open" | "received" | "deleted"
    ro_status: str = "Released"
    ro_created: datetime | None = None
    ro_qty: dict[str, int] = field(default_factory=dict)  # item -> BC quantity override
    ro_lines: bool = True  # False: header only (its line could not be created)
    receipt: datetime | None = None  # posting moment of the return receipt
    your_ref: bool = True  # integration writes the web order name into yourReference
    cms: list[CM] = field(default_factory=list)
    exch_doc: str | None = None  # None | "order" | "invoice"
    erp_ref: str | None = None  # externalDocumentNumber override (ERP-only records)
    platform: bool = True  # False: the ERP documents have no platform return at all
    note: str = ""


class World:
    def __init__(self) -> None:
        self.swap_returns: dict[str, list[dict[str, Any]]] = {STORE_ID: [], DECOY_STORE_ID: []}
        self.companies: list[dict[str, Any]] = []
        self.truth: set[tuple[str, str]] = set()
        self.plant_notes: dict[tuple[str, str], str] = {}
        self.expected_delays: dict[str, str] = {}
        self.mappings: dict[str, Any] = {}
        self._seq: dict[str, int] = {}
        self.customers: list[Customer] = []
        self._cust_i = 0

    # -- helpers ------------------------------------------------------------------------
    def seq(self, series: str, start: int) -> int:
        self._seq[series] = self._seq.get(series, start - 1) + 1
        return self._seq[series]

    def plant(self, ref: str, code: str, why: str) -> None:
        self.truth.add((ref, code))
        self.plant_notes[(ref, code)] = why

    def company(self, name: str) -> dict[str, Any]:
        return next(c for c in self.companies if c["name"] == name)

    def next_customer(self) -> Customer:
        c = self.customers[self._cust_i % len(self.customers)]
        self._cust_i += 1
        return c


# ===================================================================================== Swap
def _reason(i: int) -> tuple[str, str, str]:
    return REASONS[i % len(REASONS)]


def _swap_item(spec: Spec, line: Line, idx: int, refunded: bool) -> dict[str, Any]:
    name, variant = line.display
    rid, rtext, _ = _reason(idx + len(spec.ref))
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
        # CHOICE: product/item `cost` is the line TOTAL ("Total cost" in Swap's v1 webhook
        # doc), in the customer's currency, tax-inclusive (UK Shopify store).
        "cost": num(line.gross),
        "return_type": spec.rtype,
        "currency": "GBP",
        "vendor": "Harbour Outfitters",
        "collection": ["Autumn 26"] if idx % 2 == 0 else [],
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
        # undocumented extras a real tenant may send
        "image_url": f"https://cdn.harbour.example/p/{hexid(10, line.item)}.jpg",
        "hs_code": None,
    }
    if spec.invalid:
        # PLANT PAYLOAD_INVALID: the required `item_count` (ExternalShipmentItemDto, integer,
        # required) is absent: the quantity being returned cannot be known.
        item.pop("item_count")
    return item


def _address(c: Customer) -> dict[str, Any]:
    return {
        "name": c.name,
        "address1": f"{10 + len(c.name)} Quay Street",
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

    # CHOICE: money fields carry the return's value from submission on; the refund (or store
    # credit) is actually issued when the return is processed (`rma_processed` set,
    # `return_status` "Closed", `date_closed` set). Store credit is NOT in
    # total_refund_value_customer_currency but in total_store_credit_value_customer_currency.
    refund_value = lines_gross if spec.rtype == "Refund" else D(0)
    credit_value = lines_gross if spec.rtype in ("Shop Now Credit", "Shop Later Credit") else D(0)
    exch_value = sum((ln.gross for ln in spec.exchange), D(0))

    # shipments (v2: split shipments); every shipment's items[] are ExternalShipmentItemDto
    groups = [[p] for p in products] if spec.split_shipments else [products]
    shipments = []
    for si, items in enumerate(groups):
        shipments.append(
            {
                "shipment_id": "shp_" + hexid(12, spec.ref, si),
                "location_id": SWAP_LOCATION,
                "destination_location_id": SWAP_LOCATION,
                "display_name_returns_portal": "Royal Mail drop-off",
                "carrier_id": "royal_mail",
                "postage_fee": 0,
                "label_type": "QR",
                "shipping_service": "Tracked 48 Returns",
                "display_name": "Royal Mail Tracked Returns",
                "using_split_shipment": spec.split_shipments,
                "label_provider_type": None,
                "tracking_number": f"RM{digits(9, spec.ref, si)}GB",
                "tracking_url": None
                if si
                else f"https://track.example/rm/{digits(9, spec.ref, si)}",
                "package": None if si else {"length": 30, "width": 20, "height": 10, "weight": 0.6},
                "items": [dict(it) for it in items],
            }
        )

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
    updated = max(events)
    order_date = spec.created - timedelta(days=12, hours=3)
    cust = spec.cust
    rec: dict[str, Any] = {
        "rma_number": spec.ref,
        "return_id": hexid(24, "return", spec.ref),
        "shopify_return_id": None
        if len(spec.ref) % 3
        else "gid://shopify/Return/" + digits(10, spec.ref),
        "shopify_order_name": spec.order,
        "order_id": "5" + digits(12, "order", spec.order),
        "date_created": iso(spec.created),
        "date_updated": iso(updated),
        "submission_date": iso(spec.created),
        "submitted_at": None,  # "Backward compatibility with v1": null on this tenant
        "intention_date": iso(spec.created - timedelta(minutes=7)),
        "type_string": spec.rtype,
        "type": [spec.rtype],
        "delivery_status": delivery,
        "return_status": status,
        "shipping_carrier": "Royal Mail",
        "tracking_number": shipments[0]["tracking_number"],
        "shipment_from_address_country": "GB",
        "shipment_from_address_city": cust.city,
        "shipment_from_address_parcel_weight": 0.6,
        "shipment_from_address_state": "",
        "total": num(lines_gross),
        "handling_fee": 0,
        "store_id": store_id,
        "store_name": STORE_NAME if store_id == STORE_ID else "Harbour Outlet",
        "customer_name": cust.name,
        "customer_email": cust.email,
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
        # CHOICE: `rma_processed` (documented only as a required "string") is the string
        # "true"/"false"; the moment of processing (= refund) is `date_closed`. (A first run with
        # an ISO timestamp here made the product reject every record as PAYLOAD_INVALID.)
        "rma_processed": "true" if spec.processed else "false",
        "processed_by": "ops@harbour.example" if spec.processed else None,
        "order_alt_type": None,
        # CHOICE: quality_control_status "Completed" once graded, else "Pending".
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
        "tags": "autumn-26" if len(spec.ref) % 2 else "",
        "billing_address": _address(cust) if len(spec.ref) % 4 else None,
        "shipping_address": _address(cust),
        "return_shipments": shipments,
        "products": products,
        "exchange_items": exchange_items,
        "portal_quick_link": f"https://returns.harbour.example/r/{hexid(8, spec.ref)}",
        # v1-era fields that v2 responses still carry alongside
        "rma": spec.ref,
        "order_name": spec.order,
        "processed": "true" if spec.processed else "false",
        "shipping_status": delivery,
        "status": status,
        # undocumented fields
        "result_type": {"Refund": "refund", "Recycle": "recycle", "Exchange": "exchange"}.get(
            spec.rtype, "store_credit"
        ),
        "screen_type": "Mobile" if len(spec.ref) % 2 else "Desktop",
        "exchange_products": exchange_items,
        "_links": {
            "dashboard": f"https://app.swap.example/returns/{hexid(24, 'return', spec.ref)}"
        },
    }
    return rec


# ===================================================================================== BC
def _etag(*parts: object) -> str:
    import base64

    raw = f"36;{digits(20, *parts)};".encode()
    return 'W/"' + base64.b64encode(b"J" + raw + b"'").decode() + '"'


def _bc_customer(c: Customer, modified: datetime) -> dict[str, Any]:
    _first, _, _last = c.name.partition(" ")
    return {
        "id": c.id,
        "number": c.number,
        "displayName": c.name,
        "type": "Person",
        "addressLine1": f"{10 + len(c.name)} Quay Street",
        "addressLine2": "",
        "city": c.city,
        "state": "",
        "country": "GB",
        "postalCode": c.postcode,
        "phoneNumber": "",
        "email": c.email,
        "website": "",
        "salespersonCode": "",
        "balanceDue": 0,
        "creditLimit": 0,
        "taxLiable": True,
        "taxAreaId": ZERO_GUID,
        "taxAreaDisplayName": "",
        "taxRegistrationNumber": "",
        "currencyId": ZERO_GUID,
        "currencyCode": "GBP",
        "paymentTermsId": gid("pt", "COD"),
        "shipmentMethodId": ZERO_GUID,
        "paymentMethodId": gid("pm", "CARD"),
        "blocked": c.blocked,
        "lastModifiedDateTime": iso(modified),
    }


def _bc_item(no: str, company: str) -> dict[str, Any]:
    name, variant, gross, vat = CATALOGUE[no]
    net = q2(D(gross) / (1 + D(vat)))
    return {
        "id": gid(company, "item", no),
        "number": no,
        "displayName": f"{name} {variant}",
        "displayName2": "",
        "type": "Inventory",
        "itemCategoryId": ZERO_GUID,
        "itemCategoryCode": "",
        "blocked": no in BLOCKED_ITEMS,
        "gtin": "50" + digits(11, "ean", no),
        "inventory": 12,
        "unitPrice": num(net),
        "priceIncludesTax": False,
        "unitCost": num(q2(net * D("0.42"))),
        "taxGroupId": ZERO_GUID,
        "taxGroupCode": "ZERO" if vat == "0.00" else "STANDARD",
        "baseUnitOfMeasureId": gid(company, "uom", "PCS"),
        "baseUnitOfMeasureCode": "PCS",
        "generalProductPostingGroupId": gid(company, "gpp", "RETAIL"),
        "generalProductPostingGroupCode": "RETAIL",
        "inventoryPostingGroupId": gid(company, "ipg", "FINISHED"),
        "inventoryPostingGroupCode": "FINISHED",
        "lastModifiedDateTime": iso(datetime(2026, 3, 2, 9, 14, tzinfo=UTC)),
    }


class BCBuilder:
    """Accumulates Business Central entity sets for one company."""

    def __init__(self, world: World, name: str, *, currency: str = "GBP") -> None:
        self.world = world
        self.name = name
        self.currency = currency
        self.company_id = gid("company", name)
        self.sets: dict[str, list[dict[str, Any]]] = {
            k: []
            for k in (
                "salesReturnOrders",
                "salesReturnOrderLines",
                "returnReceipts",
                "salesCreditMemos",
                "salesCreditMemoLines",
                "salesOrders",
                "salesOrderLines",
                "salesInvoices",
                "salesInvoiceLines",
                "items",
                "customers",
                "locations",
                "paymentMethods",
                "customerReturnReasons",
                "accountingPeriods",
                "unitsOfMeasure",
                "salesShipments",
            )
        }
        self.invoice_by_order: dict[str, dict[str, Any]] = {}

    def as_company(self, created: datetime) -> dict[str, Any]:
        return {
            "id": self.company_id,
            "systemVersion": "27.1.41698.43215",
            "timestamp": int(digits(8, self.name)),
            "name": self.name,
            "displayName": self.name,
            "businessProfileId": "",
            "systemCreatedAt": iso(created),
            "systemCreatedBy": ZERO_GUID,
            "systemModifiedAt": iso(created),
            "systemModifiedBy": ZERO_GUID,
            "_sets": self.sets,
        }

    # -- lines --------------------------------------------------------------------------
    def _doc_line(
        self,
        doc_id: str,
        seq: int,
        ln: Line,
        *,
        unit_net: Decimal | None = None,
        vat: Decimal | None = None,
        qty: int | None = None,
        kind: str = "cm",
    ) -> dict[str, Any]:
        qty = ln.erp_qty if qty is None else qty
        unit = ln.unit_net_erp if unit_net is None else unit_net
        rate = ln.vat if vat is None else vat
        net = q2(unit * qty)
        tax = q2(net * rate)
        rec = {
            "id": gid(self.name, kind, "line", doc_id, seq),
            "documentId": doc_id,
            "sequence": seq,
            "itemId": gid(self.name, "item", ln.item),
            "accountId": ZERO_GUID,
            "lineType": "Item",
            "lineObjectNumber": ln.item,
            "description": " ".join(ln.display),
            "unitOfMeasureId": gid(self.name, "uom", "PCS"),
            "unitOfMeasureCode": "PCS",
            "unitPrice": num(unit),
            "quantity": qty,
            "discountAmount": 0,
            "discountPercent": 0,
            "discountAppliedBeforeTax": False,
            "amountExcludingTax": num(net),
            "taxCode": "ZERO" if rate == 0 else "STANDARD",
            "taxPercent": num(rate * 100),
            "totalTaxAmount": num(tax),
            "amountIncludingTax": num(net + tax),
            "invoiceDiscountAllocation": 0,
            "netAmount": num(net),
            "netTaxAmount": num(tax),
            "netAmountIncludingTax": num(net + tax),
            "shipmentDate": BLANK_DATE,
            "itemVariantId": ZERO_GUID,
            "locationId": gid(self.name, "loc", BC_RETURNS_LOCATION),
        }
        if kind != "cm":
            rec["description2"] = ""
        return rec

    @staticmethod
    def _totals(lines: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
        net = sum((D(str(x["amountExcludingTax"])) for x in lines), D(0))
        tax = sum((D(str(x["totalTaxAmount"])) for x in lines), D(0))
        return net, tax

    def _header_common(self, c: Customer) -> dict[str, Any]:
        return {
            "customerId": c.id,
            "customerNumber": c.number,
            "customerName": c.name,
            "billToName": c.name,
            "billToCustomerId": c.id,
            "billToCustomerNumber": c.number,
            "sellToAddressLine1": f"{10 + len(c.name)} Quay Street",
            "sellToAddressLine2": "",
            "sellToCity": c.city,
            "sellToCountry": "GB",
            "sellToState": "",
            "sellToPostCode": c.postcode,
            "billToAddressLine1": f"{10 + len(c.name)} Quay Street",
            "billToAddressLine2": "",
            "billToCity": c.city,
            "billToCountry": "GB",
            "billToState": "",
            "billToPostCode": c.postcode,
            "shortcutDimension1Code": "WEB",
            "shortcutDimension2Code": "",
            "currencyId": ZERO_GUID,
            # API v2.0 salesCreditMemos/salesInvoices/salesOrders translate the blank local
            # currency to its code; the newer salesReturnOrders/returnReceipts pages expose the
            # raw field (blank for local currency).
            "currencyCode": self.currency,
            "paymentTermsId": gid("pt", "COD"),
            "shipmentMethodId": ZERO_GUID,
            "salesperson": "",
            "pricesIncludeTax": False,
            "discountAmount": 0,
            "discountAppliedBeforeTax": True,
            "phoneNumber": "",
            "email": c.email,
        }

    # -- documents ------------------------------------------------------------------------
    def original_invoice(
        self, order: str, c: Customer, lines: list[Line], posted: datetime
    ) -> dict[str, Any]:
        no = self.seq_no("PS-INV", 103001)
        inv_id = gid(self.name, "inv", no)
        so_no = f"SO-{self.world.seq(self.name + 'SO', 20001)}"
        doc_lines = [
            self._doc_line(inv_id, 10000 * (i + 1), ln, kind="inv") for i, ln in enumerate(lines)
        ]
        net, tax = self._totals(doc_lines)
        rec = {
            "id": inv_id,
            "number": no,
            "externalDocumentNumber": order,
            "invoiceDate": posted.date().isoformat(),
            "postingDate": posted.date().isoformat(),
            "dueDate": posted.date().isoformat(),
            "promisedPayDate": BLANK_DATE,
            "customerPurchaseOrderReference": "",
            **self._header_common(c),
            "shipToName": c.name,
            "shipToContact": "",
            "shipToAddressLine1": "",
            "shipToAddressLine2": "",
            "shipToCity": "",
            "shipToCountry": "",
            "shipToState": "",
            "shipToPostCode": "",
            "orderId": ZERO_GUID,
            "orderNumber": so_no,
            "totalAmountExcludingTax": num(net),
            "totalTaxAmount": num(tax),
            "totalAmountIncludingTax": num(net + tax),
            "status": "Paid",
            "lastModifiedDateTime": iso(posted + timedelta(days=2, hours=1)),
            "disputeStatusId": ZERO_GUID,
            "disputeStatus": "",
            "remainingAmount": 0,
        }
        self.sets["salesInvoices"].append(rec)
        self.sets["salesInvoiceLines"].extend(doc_lines)
        self.invoice_by_order[order] = rec
        return rec

    def seq_no(self, series: str, start: int) -> str:
        return f"{series}{self.world.seq(self.name + series, start)}"

    def return_order(self, spec: Spec, ref: str) -> str:
        no = self.seq_no("SRO-", 1001)
        ro_id = gid(self.name, "ro", no)
        c = spec.cust
        created = spec.ro_created or (spec.created + timedelta(minutes=20))
        received_all = spec.ro == "received" or (spec.ro == "deleted")
        lines = []
        for i, ln in enumerate(spec.lines):
            qty = spec.ro_qty.get(ln.item, ln.erp_qty)
            rcv = qty if (received_all and spec.receipt) else 0
            unit = ln.unit_net_erp
            amount = q2(unit * qty)
            lines.append(
                {
                    "id": gid(self.name, "ro", "line", no, i),
                    "documentType": "Return_x0020_Order",
                    "documentNumber": no,
                    "sequence": 10000 * (i + 1),
                    "lineType": "Item",
                    "lineObjectNumber": ln.item,
                    "description": " ".join(ln.display),
                    "description2": "",
                    "unitOfMeasureCode": "PCS",
                    "quantity": qty,
                    "unitPrice": num(unit),
                    "lineDiscountPercent": 0,
                    "lineDiscountAmount": 0,
                    "lineAmount": num(amount),
                    "taxPercent": num(ln.vat * 100),
                    "amountIncludingTax": num(amount + q2(amount * ln.vat)),
                    "returnQtyToReceive": qty - rcv,
                    "returnQtyReceived": rcv,
                    "shortcutDimension1Code": "WEB",
                    "shortcutDimension2Code": "",
                    "lastModifiedDateTime": iso(
                        spec.receipt + timedelta(minutes=5) if rcv else created
                    ),
                }
            )
        modified = created
        if spec.receipt and received_all:
            modified = spec.receipt + timedelta(minutes=5)
        header = {
            "id": ro_id,
            "number": no,
            "externalDocumentNumber": ref,
            "documentDate": created.date().isoformat(),
            "postingDate": created.date().isoformat(),
            "dueDate": created.date().isoformat(),
            "sellToCustomerNumber": c.number,
            "sellToCustomerName": c.name,
            "billToName": c.name,
            "billToCustomerNumber": c.number,
            "shipToName": c.name,
            "shipToContact": "",
            "sellToAddress": f"{10 + len(c.name)} Quay Street",
            "sellToAddress2": "",
            "sellToCity": c.city,
            "sellToCountryRegionCode": "GB",
            "sellToCounty": "",
            "sellToPostCode": c.postcode,
            "shipToAddress": f"{10 + len(c.name)} Quay Street",
            "shipToAddress2": "",
            "shipToCity": c.city,
            "shipToCountryRegionCode": "GB",
            "shipToCounty": "",
            "shipToPostCode": c.postcode,
            "billToAddress": f"{10 + len(c.name)} Quay Street",
            "billToAddress2": "",
            "billToCity": c.city,
            "billToCountryRegionCode": "GB",
            "billToCounty": "",
            "billToPostCode": c.postcode,
            "currencyCode": "" if self.currency == "GBP" else self.currency,
            "pricesIncludingVAT": False,
            "paymentTermsCode": "COD",
            "shipmentMethodCode": "",
            "salespersonCode": "",
            "orderDate": created.date().isoformat(),
            "requestedDeliveryDate": BLANK_DATE,
            "yourReference": spec.order if spec.your_ref else "",
            "locationCode": BC_RETURNS_LOCATION,
            "shortcutDimension1Code": "WEB",
            "shortcutDimension2Code": "",
            "customerPostingGroup": "DOMESTIC",
            "genBusPostingGroup": "DOMESTIC",
            "vatBusPostingGroup": "DOMESTIC",
            "sellToContact": "",
            "billToContact": "",
            "responsibilityCenter": "",
            "status": spec.ro_status,
            "lastModifiedDateTime": iso(modified),
        }
        if spec.ro != "deleted":
            self.sets["salesReturnOrders"].append(header)
            if spec.ro_lines:
                self.sets["salesReturnOrderLines"].extend(lines)
        return no

    def receipt(self, spec: Spec, ref: str, ro_no: str) -> None:
        no = self.seq_no("PRR-", 104001)
        c = spec.cust
        created = spec.ro_created or (spec.created + timedelta(minutes=20))
        assert spec.receipt is not None
        self.sets["returnReceipts"].append(
            {
                "id": gid(self.name, "rr", no),
                "number": no,
                "externalDocumentNumber": ref,
                "sellToCustomerNumber": c.number,
                "sellToCustomerName": c.name,
                "billToName": c.name,
                "billToCustomerNumber": c.number,
                "shipToName": c.name,
                "shipToContact": "",
                "sellToAddress": f"{10 + len(c.name)} Quay Street",
                "sellToAddress2": "",
                "sellToCity": c.city,
                "sellToCountryRegionCode": "GB",
                "sellToCounty": "",
                "sellToPostCode": c.postcode,
                "shipToAddress": f"{10 + len(c.name)} Quay Street",
                "shipToAddress2": "",
                "shipToCity": c.city,
                "shipToCountryRegionCode": "GB",
                "shipToCounty": "",
                "shipToPostCode": c.postcode,
                "billToAddress": f"{10 + len(c.name)} Quay Street",
                "billToAddress2": "",
                "billToCity": c.city,
                "billToCountryRegionCode": "GB",
                "billToCounty": "",
                "billToPostCode": c.postcode,
                "documentDate": created.date().isoformat(),
                "postingDate": spec.receipt.date().isoformat(),
                "dueDate": created.date().isoformat(),
                "currencyCode": "" if self.currency == "GBP" else self.currency,
                "pricesIncludingVAT": False,
                "paymentTermsCode": "COD",
                "shipmentMethodCode": "",
                "salespersonCode": "",
                "orderNumber": ro_no,
                "yourReference": spec.order if spec.your_ref else "",
                "locationCode": BC_RETURNS_LOCATION,
                "shortcutDimension1Code": "WEB",
                "shortcutDimension2Code": "",
                "customerPostingGroup": "DOMESTIC",
                "genBusPostingGroup": "DOMESTIC",
                "vatBusPostingGroup": "DOMESTIC",
                "sellToContact": "",
                "billToContact": "",
                "responsibilityCenter": "",
                "lastModifiedDateTime": iso(spec.receipt),
            }
        )

    def credit_memo(self, spec: Spec, ref: str, cm: CM, reason_code: str) -> None:
        draft = cm.posted is None or cm.status == "Draft"
        no = self.seq_no("S-CR", 1001) if draft else self.seq_no("PS-CR", 104001)
        cm_id = gid(self.name, "cm", no)
        doc_lines = [
            self._doc_line(
                cm_id,
                10000 * (i + 1),
                ln,
                unit_net=cm.unit_net.get(ln.item),
                vat=cm.vat.get(ln.item),
            )
            for i, ln in enumerate(spec.lines)
        ]
        net, tax = self._totals(doc_lines)
        c = spec.cust
        inv = self.invoice_by_order.get(spec.order)
        posted = cm.posted or (cm.modified.date() if cm.modified else NOW.date())
        modified = cm.modified or datetime.combine(posted, datetime.min.time(), UTC) + timedelta(
            hours=15, minutes=12
        )
        if cm.paid_at:
            modified = cm.paid_at
        rec = {
            "id": cm_id,
            "number": no,
            "externalDocumentNumber": cm.ref if cm.ref is not None else ref,
            "creditMemoDate": posted.isoformat(),
            "postingDate": posted.isoformat(),
            "dueDate": posted.isoformat(),
            **self._header_common(c),
            "totalAmountExcludingTax": num(net),
            "totalTaxAmount": num(tax),
            "totalAmountIncludingTax": num(net + tax),
            "status": "Draft" if draft else cm.status,
            "lastModifiedDateTime": iso(modified),
            "invoiceId": inv["id"] if (cm.applied and inv) else ZERO_GUID,
            "invoiceNumber": inv["number"] if (cm.applied and inv) else "",
            "customerReturnReasonId": gid(self.name, "crr", reason_code),
        }
        self.sets["salesCreditMemos"].append(rec)
        self.sets["salesCreditMemoLines"].extend(doc_lines)

    def exchange_doc(self, spec: Spec, ref: str, kind: str, when: datetime) -> None:
        c = spec.cust
        if kind == "order":
            no = f"SO-{self.world.seq(self.name + 'SO', 20001)}"
            so_id = gid(self.name, "so", no)
            doc_lines = [
                self._doc_line(so_id, 10000 * (i + 1), ln, kind="so")
                for i, ln in enumerate(spec.exchange)
            ]
            net, tax = self._totals(doc_lines)
            self.sets["salesOrders"].append(
                {
                    "id": so_id,
                    "number": no,
                    "externalDocumentNumber": ref,
                    "orderDate": when.date().isoformat(),
                    "postingDate": when.date().isoformat(),
                    **self._header_common(c),
                    "shipToName": c.name,
                    "shipToContact": "",
                    "shipToAddressLine1": f"{10 + len(c.name)} Quay Street",
                    "shipToAddressLine2": "",
                    "shipToCity": c.city,
                    "shipToCountry": "GB",
                    "shipToState": "",
                    "shipToPostCode": c.postcode,
                    "partialShipping": True,
                    "requestedDeliveryDate": BLANK_DATE,
                    "totalAmountExcludingTax": num(net),
                    "totalTaxAmount": num(tax),
                    "totalAmountIncludingTax": num(net + tax),
                    "fullyShipped": False,
                    "status": "Open",
                    "lastModifiedDateTime": iso(when),
                }
            )
            self.sets["salesOrderLines"].extend(doc_lines)
        else:
            no = self.seq_no("PS-INV", 103001)
            inv_id = gid(self.name, "inv", no)
            doc_lines = [
                self._doc_line(inv_id, 10000 * (i + 1), ln, kind="inv")
                for i, ln in enumerate(spec.exchange)
            ]
            net, tax = self._totals(doc_lines)
            self.sets["salesInvoices"].append(
                {
                    "id": inv_id,
                    "number": no,
                    "externalDocumentNumber": ref,
                    "invoiceDate": when.date().isoformat(),
                    "postingDate": when.date().isoformat(),
                    "dueDate": when.date().isoformat(),
                    "promisedPayDate": BLANK_DATE,
                    "customerPurchaseOrderReference": "",
                    **self._header_common(c),
                    "shipToName": c.name,
                    "shipToContact": "",
                    "shipToAddressLine1": "",
                    "shipToAddressLine2": "",
                    "shipToCity": "",
                    "shipToCountry": "",
                    "shipToState": "",
                    "shipToPostCode": "",
                    "orderId": ZERO_GUID,
                    "orderNumber": f"SO-{self.world.seq(self.name + 'SO', 20001)}",
                    "totalAmountExcludingTax": num(net),
                    "totalTaxAmount": num(tax),
                    "totalAmountIncludingTax": num(net + tax),
                    "status": "Open",
                    "lastModifiedDateTime": iso(when),
                    "disputeStatusId": ZERO_GUID,
                    "disputeStatus": "",
                    "remainingAmount": num(net + tax),
                }
            )
            self.sets["salesInvoiceLines"].extend(doc_lines)

    def goodwill_credit(
        self, c: Customer, amount: Decimal, posted: date, status: str = "Open"
    ) -> None:
        """A credit memo with no external document number (goodwill): not a return document."""
        no = self.seq_no("PS-CR", 104001)
        cm_id = gid(self.name, "cm", no)
        line = {
            "id": gid(self.name, "cm", "line", cm_id, 10000),
            "documentId": cm_id,
            "sequence": 10000,
            "itemId": ZERO_GUID,
            "accountId": gid(self.name, "acc", "6910"),
            "lineType": "Account",
            "lineObjectNumber": "6910",
            "description": "Goodwill gesture",
            "unitOfMeasureId": ZERO_GUID,
            "unitOfMeasureCode": "",
            "unitPrice": num(amount),
            "quantity": 1,
            "discountAmount": 0,
            "discountPercent": 0,
            "discountAppliedBeforeTax": False,
            "amountExcludingTax": num(amount),
            "taxCode": "ZERO",
            "taxPercent": 0,
            "totalTaxAmount": 0,
            "amountIncludingTax": num(amount),
            "invoiceDiscountAllocation": 0,
            "netAmount": num(amount),
            "netTaxAmount": 0,
            "netAmountIncludingTax": num(amount),
            "shipmentDate": BLANK_DATE,
            "itemVariantId": ZERO_GUID,
            "locationId": ZERO_GUID,
        }
        self.sets["salesCreditMemos"].append(
            {
                "id": cm_id,
                "number": no,
                "externalDocumentNumber": "",
                "creditMemoDate": posted.isoformat(),
                "postingDate": posted.isoformat(),
                "dueDate": posted.isoformat(),
                **self._header_common(c),
                "totalAmountExcludingTax": num(amount),
                "totalTaxAmount": 0,
                "totalAmountIncludingTax": num(amount),
                "status": status,
                "lastModifiedDateTime": iso(
                    datetime.combine(posted, datetime.min.time(), UTC) + timedelta(hours=16)
                ),
                "invoiceId": ZERO_GUID,
                "invoiceNumber": "",
                "customerReturnReasonId": ZERO_GUID,
            }
        )
        self.sets["salesCreditMemoLines"].append(line)

    def web_order(self, order: str, c: Customer, lines: list[Line], when: datetime) -> None:
        """An ordinary open web sales order: externalDocumentNumber is the web order name."""
        no = f"SO-{self.world.seq(self.name + 'SO', 20001)}"
        so_id = gid(self.name, "so", no)
        doc_lines = [
            self._doc_line(so_id, 10000 * (i + 1), ln, kind="so") for i, ln in enumerate(lines)
        ]
        net, tax = self._totals(doc_lines)
        self.sets["salesOrders"].append(
            {
                "id": so_id,
                "number": no,
                "externalDocumentNumber": order,
                "orderDate": when.date().isoformat(),
                "postingDate": when.date().isoformat(),
                **self._header_common(c),
                "shipToName": c.name,
                "shipToContact": "",
                "shipToAddressLine1": f"{10 + len(c.name)} Quay Street",
                "shipToAddressLine2": "",
                "shipToCity": c.city,
                "shipToCountry": "GB",
                "shipToState": "",
                "shipToPostCode": c.postcode,
                "partialShipping": False,
                "requestedDeliveryDate": BLANK_DATE,
                "totalAmountExcludingTax": num(net),
                "totalTaxAmount": num(tax),
                "totalAmountIncludingTax": num(net + tax),
                "fullyShipped": False,
                "status": "Draft" if len(order) % 2 else "Open",
                "lastModifiedDateTime": iso(when),
            }
        )
        self.sets["salesOrderLines"].extend(doc_lines)

    def master_data(self, customers: list[Customer], items: list[str]) -> None:
        base = datetime(2026, 1, 12, 8, 30, tzinfo=UTC)
        for i, c in enumerate(customers):
            self.sets["customers"].append(_bc_customer(c, base + timedelta(days=i)))
        for no in items:
            self.sets["items"].append(_bc_item(no, self.name))
        # a service item and a non-inventory item (enum with escaped hyphen)
        for no, typ, desc, price in (
            ("FEE-RETURN", "Service", "Return handling fee", "2.50"),
            ("SHIPPING", "Service", "Shipping charge", "3.95"),
            ("GIFTWRAP", "Non_x002D_Inventory", "Gift wrap", "3.00"),
        ):
            rec = _bc_item("CAP-BSB-NVY", self.name)
            rec.update(
                {
                    "id": gid(self.name, "item", no),
                    "number": no,
                    "displayName": desc,
                    "type": typ,
                    "unitPrice": num(D(price)),
                    "inventory": 0,
                    "gtin": "",
                    "taxGroupCode": "STANDARD",
                }
            )
            self.sets["items"].append(rec)
        for code, name in (
            (BC_RETURNS_LOCATION, "Returns bay, Bristol"),
            ("MAIN", "Bristol DC"),
            ("QUAR", "Quarantine"),
        ):
            self.sets["locations"].append(
                {
                    "id": gid(self.name, "loc", code),
                    "code": code,
                    "displayName": name,
                    "contact": "",
                    "addressLine1": "Avonmouth Way",
                    "addressLine2": "",
                    "city": "Bristol",
                    "state": "",
                    "country": "GB",
                    "postalCode": "BS11 9YA",
                    "phoneNumber": "",
                    "email": "",
                    "website": "",
                    "lastModifiedDateTime": iso(base),
                }
            )
        for code, name in (
            ("CARD", "Card (Shopify Payments)"),
            ("STORECRED", "Store credit / gift card"),
            ("BANK", "Bank transfer"),
            ("CASH", "Cash"),
        ):
            self.sets["paymentMethods"].append(
                {
                    "id": gid("pm", code) if self.name == COMPANY else gid(self.name, "pm", code),
                    "code": code,
                    "displayName": name,
                    "lastModifiedDateTime": iso(base),
                }
            )
        for code, desc in (
            ("SIZE", "Wrong size"),
            ("UNWANTED", "No longer wanted"),
            ("DEFECT", "Defective"),
            ("DESCR", "Not as described"),
            ("DAMAGED", "Damaged in transit"),
        ):
            self.sets["customerReturnReasons"].append(
                {
                    "id": gid(self.name, "crr", code),
                    "code": code,
                    "description": desc,
                    "lastModifiedDateTime": iso(base),
                }
            )
        for code, name, intl, sym in (
            ("PCS", "Piece", "H87", "pcs"),
            ("PACK", "Pack", "PK", ""),
            ("BOX", "Box", "BX", ""),
        ):
            self.sets["unitsOfMeasure"].append(
                {
                    "id": gid(self.name, "uom", code),
                    "code": code,
                    "displayName": name,
                    "internationalStandardCode": intl,
                    "symbol": sym,
                    "lastModifiedDateTime": iso(base),
                }
            )
        # Fiscal year October..September. FY 2024/25 and FY 2025/26 are closed (year-end close
        # run in early November 2026); FY 2026/27 is open.
        start = date(2024, 10, 1)
        for k in range(36):
            y, m = start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1
            sd = date(y, m, 1)
            closed = sd < date(2026, 10, 1)
            self.sets["accountingPeriods"].append(
                {
                    "id": gid(self.name, "ap", sd.isoformat()),
                    "startingDate": sd.isoformat(),
                    "name": sd.strftime("%B"),
                    "newFiscalYear": m == 10,
                    "closed": closed,
                    "dateLocked": closed,
                    "lastModifiedDateTime": iso(
                        datetime(2026, 11, 6, 17, 40, tzinfo=UTC) if closed else base
                    ),
                }
            )


# ============================================================================ world builder
def _customers() -> list[Customer]:
    out = []
    for i in range(60):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        city, pc = CITIES[i % len(CITIES)]
        out.append(
            Customer(
                number=f"C{20001 + i}",
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}{i + 1}@mail.example.com",
                city=city,
                postcode=pc,
            )
        )
    return out


def _add(world: World, bc: BCBuilder, spec: Spec) -> None:
    ref = spec.erp_ref or spec.ref
    if spec.platform:
        world.swap_returns[STORE_ID].append(swap_record(spec))
    # original web order (posted invoice, externalDocumentNumber = web order name)
    if spec.order and spec.order not in bc.invoice_by_order:
        bc.original_invoice(spec.order, spec.cust, spec.lines, spec.created - timedelta(days=11))
    ro_no = None
    if spec.ro:
        ro_no = bc.return_order(spec, ref)
    if spec.receipt:
        assert ro_no is not None
        bc.receipt(spec, ref, ro_no)
    reason = _reason(len(spec.ref))[2]
    for cm in spec.cms:
        bc.credit_memo(spec, ref, cm, reason)
    if spec.exch_doc:
        when = (spec.processed or spec.created) + timedelta(hours=3)
        bc.exchange_doc(spec, ref, spec.exch_doc, when)


def _done(
    ref: str,
    order: str,
    cust: Customer,
    lines: list[Line],
    created_days_ago: float,
    *,
    rtype: str = "Refund",
    paid: bool = False,
    path: str = "deleted",
    **kw: Any,
) -> Spec:
    """A finished return: delivered, received, graded, refunded and credited on time."""
    created = ago(created_days_ago)
    shipped = created + timedelta(days=1, hours=2)
    delivered = created + timedelta(days=4, hours=-2)
    receipt = delivered + timedelta(hours=3)
    qc = delivered + timedelta(hours=20)
    processed = qc + timedelta(hours=2)
    cms = kw.pop("cms", None)
    if cms is None:
        if rtype in ("Recycle", "Exchange"):
            cms = []  # no money moves: no credit note owed
        else:
            paid_at = (
                processed + timedelta(days=9)
                if paid and processed + timedelta(days=9) < NOW
                else None
            )
            cms = [
                CM(
                    posted=processed.date(),
                    status="Paid" if paid_at else "Open",
                    modified=processed + timedelta(hours=1),
                    paid_at=paid_at,
                )
            ]
    return Spec(
        ref=ref,
        order=order,
        cust=cust,
        lines=lines,
        created=created,
        rtype=rtype,
        shipped=shipped,
        delivered=delivered,
        qc=qc,
        processed=processed,
        ro=path,
        receipt=receipt,
        cms=cms,
        **kw,
    )


def build_world() -> World:
    w = World()
    w.customers = _customers()
    main = BCBuilder(w, COMPANY)
    decoy = BCBuilder(w, DECOY_COMPANY, currency="EUR")
    cust = w.customers
    blocked_customer = cust[44]
    blocked_customer.blocked = "Invoice"
    order_no = iter(range(51001, 59999))

    def order() -> str:
        return f"#{next(order_no)}"

    def L(item: str, qty: int = 1, sku: str | None = None, factor: int = 1) -> Line:
        return Line(sku=sku or item, qty=qty, item=item, factor=factor)

    def c() -> Customer:
        # skip the blocked customer for everything but its plant
        nxt = w.next_customer()
        return w.next_customer() if nxt is blocked_customer else nxt

    specs: list[Spec] = []

    # ---- bulk healthy returns: fully posted, return order deleted (60) -----------------
    for i in range(60):
        item = ACTIVE_BULK_ITEMS[i % len(ACTIVE_BULK_ITEMS)]
        qty = 2 if i % 7 == 3 else 1
        specs.append(
            _done(
                f"RMA-HB-{4001 + i}",
                order(),
                c(),
                [L(item, qty)],
                created_days_ago=48 - i * 0.6,
                paid=(i % 3 == 0),
                rtype="Shop Later Credit" if i % 11 == 5 else "Refund",
            )
        )

    # ---- hand-made healthy returns --------------------------------------------------------
    specs.append(_done("RMA-HB-4101", order(), c(), [L("JEAN-IND-32")], 30))
    specs.append(_done("RMA-HB-4102", order(), c(), [L("SNK-TRL-42")], 33, paid=True))
    specs.append(_done("RMA-HB-4103", order(), c(), [L("TEE-WHT-S"), L("HOOD-GRY-L")], 26))
    specs.append(
        _done(
            "RMA-HB-4104",
            order(),
            c(),
            [L("JEAN-IND-34"), L("CAP-BSB-NVY")],
            24,
            split_shipments=True,
        )
    )
    # lower-case SKU, no mapping entry: BC item numbers are upper-case, matched case-insensitively
    specs.append(_done("RMA-HB-4105", order(), c(), [L("HOOD-GRY-M", sku="hood-gry-m")], 22))
    # mapped SKU: a 2-pack on the storefront is 2 PCS of SOCK-CREW in BC (mapping factor 2)
    specs.append(
        _done("RMA-HB-4106", order(), c(), [L("SOCK-CREW", 2, sku="SOCK-2PK", factor=2)], 21)
    )
    # received on the return order, credited on a separate credit memo: the return order stays
    specs.append(_done("RMA-HB-4107", order(), c(), [L("SCARF-WOOL-GRN")], 19, path="received"))
    # a credit memo cancelled (wrong amount) and a correct one: only one live credit note
    s = _done("RMA-HB-4108", order(), c(), [L("JKT-RAIN-NVY-M")], 28)
    first_posted = s.processed.date()
    s.cms = [
        CM(
            posted=first_posted,
            status="Canceled",
            unit_net={"JKT-RAIN-NVY-M": D("80.00")},
            modified=s.processed + timedelta(days=1, hours=2),
        ),
        CM(
            posted=first_posted + timedelta(days=1),
            status="Open",
            modified=s.processed + timedelta(days=1, hours=3),
        ),
    ]
    specs.append(s)
    specs.append(
        _done("RMA-HB-4109", order(), c(), [L("TEE-BLK-M", 2)], 18, rtype="Shop Later Credit")
    )
    # Shop Now credit with an exchange: replacement sales order still open in BC
    specs.append(
        _done(
            "RMA-HB-4110",
            order(),
            c(),
            [L("SNK-TRL-42")],
            14,
            rtype="Shop Now Credit",
            exchange=[L("SNK-TRL-43")],
            exch_doc="order",
        )
    )
    # exchange fully shipped + invoiced: its sales order is gone, the posted invoice remains
    specs.append(
        _done(
            "RMA-HB-4111",
            order(),
            c(),
            [L("HOOD-GRY-L")],
            27,
            rtype="Shop Now Credit",
            exchange=[L("HOOD-GRY-M")],
            exch_doc="invoice",
        )
    )
    # Recycle: goods received, no money moves, no credit note owed
    specs.append(
        _done("RMA-HB-4112", order(), c(), [L("TEE-WHT-M")], 17, rtype="Recycle", path="received")
    )
    # Recycle still in transit
    specs.append(
        Spec(
            ref="RMA-HB-4113",
            order=order(),
            cust=c(),
            lines=[L("CAP-BSB-NVY")],
            created=ago(3),
            rtype="Recycle",
            shipped=ago(2, 4),
            ro="open",
        )
    )
    # in transit, return order released
    specs.append(
        Spec(
            ref="RMA-HB-4114",
            order=order(),
            cust=c(),
            lines=[L("JEAN-IND-32")],
            created=ago(3, 5),
            shipped=ago(2, 2),
            ro="open",
        )
    )
    # in transit 6 days, return order pending approval (escaped enum)
    specs.append(
        Spec(
            ref="RMA-HB-4115",
            order=order(),
            cust=c(),
            lines=[L("SNK-TRL-43")],
            created=ago(7),
            shipped=ago(6),
            ro="open",
            ro_status="Pending_x0020_Approval",
        )
    )
    # label issued 2 days ago, not yet shipped, return order open
    specs.append(
        Spec(
            ref="RMA-HB-4116",
            order=order(),
            cust=c(),
            lines=[L("TEE-WHT-S", 2)],
            created=ago(2),
            ro="open",
            ro_status="Open",
        )
    )
    # created 40 minutes ago, nothing in BC yet (within the 1 h authorised grace: a delay at most)
    specs.append(
        Spec(
            ref="RMA-HB-4117",
            order=order(),
            cust=c(),
            lines=[L("BAG-TOTE-NAT")],
            created=ago(minutes=40),
        )
    )
    w.expected_delays["RMA-HB-4117"] = "RETURN_ORDER_MISSING within the 1 h grace"
    # delivered 10 h ago, receipt not yet posted (within the 24 h received grace)
    specs.append(
        Spec(
            ref="RMA-HB-4118",
            order=order(),
            cust=c(),
            lines=[L("HOOD-GRY-M")],
            created=ago(5),
            shipped=ago(4),
            delivered=ago(hours=10),
            ro="open",
        )
    )
    w.expected_delays["RMA-HB-4118"] = "RECEIPT_NOT_POSTED within the 24 h grace"
    # received in BC, grading pending (40 h, within the 72 h inspected grace)
    specs.append(
        Spec(
            ref="RMA-HB-4119",
            order=order(),
            cust=c(),
            lines=[L("JEAN-IND-34")],
            created=ago(6),
            shipped=ago(5),
            delivered=ago(hours=40),
            ro="received",
            receipt=ago(hours=38),
        )
    )
    # graded 6 h ago, refund not yet issued (within the 24 h credited grace)
    specs.append(
        Spec(
            ref="RMA-HB-4120",
            order=order(),
            cust=c(),
            lines=[L("SNK-TRL-42")],
            created=ago(7),
            shipped=ago(6),
            delivered=ago(2),
            qc=ago(hours=6),
            ro="received",
            receipt=ago(1, 20),
        )
    )
    # cancelled on the platform before anything happened: nothing owed, nothing in BC
    specs.append(
        Spec(
            ref="RMA-HB-4121",
            order=order(),
            cust=c(),
            lines=[L("TEE-BLK-M")],
            created=ago(10),
            status_override="Cancelled",
        )
    )
    # refunded in September (a period closed since) and credited the same day: booked in period
    s = Spec(
        ref="RMA-HB-4122",
        order=order(),
        cust=c(),
        lines=[L("SCARF-WOOL-GRN")],
        created=datetime(2026, 9, 10, 9, 30, tzinfo=UTC),
        shipped=datetime(2026, 9, 11, 13, 0, tzinfo=UTC),
        delivered=datetime(2026, 9, 14, 10, 0, tzinfo=UTC),
        qc=datetime(2026, 9, 15, 9, 0, tzinfo=UTC),
        processed=datetime(2026, 9, 15, 11, 0, tzinfo=UTC),
        ro="deleted",
        receipt=datetime(2026, 9, 14, 14, 0, tzinfo=UTC),
    )
    s.cms = [
        CM(posted=date(2026, 9, 15), status="Paid", paid_at=datetime(2026, 10, 3, 8, 0, tzinfo=UTC))
    ]
    specs.append(s)
    # zero-rated children's item
    specs.append(_done("RMA-HB-4123", order(), c(), [L("KIDS-TEE-YEL-5")], 16))
    specs.append(
        _done(
            "RMA-HB-4124",
            order(),
            c(),
            [L("JKT-RAIN-NVY-M")],
            20,
            rtype="Shop Later Credit",
            paid=True,
        )
    )
    specs.append(_done("RMA-HB-4125", order(), c(), [L("SNK-TRL-43", 2)], 23))
    # plain variant exchange: received, no money moves, replacement sales order open in BC
    specs.append(
        _done(
            "RMA-HB-4126",
            order(),
            c(),
            [L("TEE-WHT-M")],
            12,
            rtype="Exchange",
            exchange=[L("TEE-WHT-S")],
            path="received",
            exch_doc="order",
        )
    )

    # ---- planted exceptions: one code per return -------------------------------------------
    # SKU_UNKNOWN: a legacy storefront SKU with no item and no mapping; the integration created
    # the BC return order header but its line failed (no such item), so the order has no lines.
    specs.append(
        Spec(
            ref="RMA-HB-4201",
            order=order(),
            cust=c(),
            lines=[L("BAG-TOTE-NAT", sku="TOTE-NATURAL-OLD")],
            created=ago(4),
            shipped=ago(3),
            ro="open",
            ro_lines=False,
        )
    )
    w.plant(
        "RMA-HB-4201",
        "SKU_UNKNOWN",
        "Swap SKU TOTE-NATURAL-OLD: no BC item, no mapping (BC return order header only)",
    )
    # SKU_INACTIVE: the item is blocked in BC (items.blocked = true)
    specs.append(
        Spec(
            ref="RMA-HB-4202",
            order=order(),
            cust=c(),
            lines=[L("JKT-RAIN-NVY-L")],
            created=ago(5),
            shipped=ago(4),
            ro="open",
        )
    )
    w.plant("RMA-HB-4202", "SKU_INACTIVE", "item JKT-RAIN-NVY-L has blocked=true")
    # ORDER_REF_MISSING: fully posted but the ERP documents carry no link to the web order
    # (credit memo not applied to the original invoice, receipt yourReference blank)
    specs.append(_done("RMA-HB-4203", order(), c(), [L("TEE-WHT-M")], 25, your_ref=False, cms=None))
    specs[-1].cms[0].applied = False
    w.plant(
        "RMA-HB-4203",
        "ORDER_REF_MISSING",
        "credit memo invoiceId zero GUID / invoiceNumber blank; receipt yourReference blank",
    )
    # CUSTOMER_NOT_FOUND: customer blocked for invoicing
    specs.append(
        Spec(
            ref="RMA-HB-4204",
            order=order(),
            cust=blocked_customer,
            lines=[L("JEAN-IND-32")],
            created=ago(4),
            shipped=ago(3),
            ro="open",
        )
    )
    w.plant(
        "RMA-HB-4204", "CUSTOMER_NOT_FOUND", f"customer {blocked_customer.number} blocked = Invoice"
    )
    # RETURN_ORDER_MISSING: in transit for 5 days, nothing in BC
    specs.append(
        Spec(
            ref="RMA-HB-4205",
            order=order(),
            cust=c(),
            lines=[L("SNK-TRL-42")],
            created=ago(6),
            shipped=ago(5),
        )
    )
    w.plant(
        "RMA-HB-4205",
        "RETURN_ORDER_MISSING",
        "no BC document carries the ref 6 days after creation",
    )
    # RECEIPT_NOT_POSTED: delivered 50 h ago, return order still open with nothing received
    specs.append(
        Spec(
            ref="RMA-HB-4206",
            order=order(),
            cust=c(),
            lines=[L("HOOD-GRY-M")],
            created=ago(7),
            shipped=ago(6),
            delivered=ago(hours=50),
            ro="open",
        )
    )
    w.plant(
        "RMA-HB-4206",
        "RECEIPT_NOT_POSTED",
        "delivered 50 h ago; no return receipt, returnQtyReceived 0",
    )
    # CREDIT_NOTE_MISSING: refunded 6+ days ago, received in BC, no credit memo at all
    specs.append(
        Spec(
            ref="RMA-HB-4207",
            order=order(),
            cust=c(),
            lines=[L("JEAN-IND-34")],
            created=ago(12),
            shipped=ago(11),
            delivered=ago(8),
            qc=ago(7, 2),
            processed=ago(7),
            ro="received",
            receipt=ago(7, 20),
        )
    )
    w.plant("RMA-HB-4207", "CREDIT_NOTE_MISSING", "refunded 7 days ago; no credit memo")
    # CREDIT_NOTE_MISSING: refunded, only a DRAFT credit memo exists (never posted)
    specs.append(
        Spec(
            ref="RMA-HB-4208",
            order=order(),
            cust=c(),
            lines=[L("SNK-TRL-43")],
            created=ago(11),
            shipped=ago(10),
            delivered=ago(7),
            qc=ago(6, 2),
            processed=ago(6),
            ro="received",
            receipt=ago(6, 20),
            cms=[CM(posted=None, status="Draft", modified=ago(5, 23))],
        )
    )
    w.plant("RMA-HB-4208", "CREDIT_NOTE_MISSING", "refunded 6 days ago; only a Draft credit memo")
    # CREDIT_NOTE_DUPLICATE: two posted (live) credit memos with the same ref
    s = _done("RMA-HB-4209", order(), c(), [L("HOOD-GRY-L")], 29)
    s.cms = [
        CM(posted=s.processed.date(), status="Paid", paid_at=s.processed + timedelta(days=8)),
        CM(
            posted=s.processed.date() + timedelta(days=2),
            status="Open",
            modified=s.processed + timedelta(days=2, hours=1),
        ),
    ]
    specs.append(s)
    w.plant(
        "RMA-HB-4209",
        "CREDIT_NOTE_DUPLICATE",
        "two posted credit memos (Paid + Open) carry the ref",
    )
    # CREDIT_WITHOUT_REFUND: a Recycle return (no money moves) credited in BC anyway
    s = _done("RMA-HB-4210", order(), c(), [L("SCARF-WOOL-GRN")], 16, rtype="Recycle")
    s.cms = [
        CM(posted=s.processed.date(), status="Open", modified=s.processed + timedelta(hours=2))
    ]
    specs.append(s)
    w.plant(
        "RMA-HB-4210",
        "CREDIT_WITHOUT_REFUND",
        "Recycle return (no refund) has a posted credit memo",
    )
    # QUANTITY_MISMATCH: 2 returned and delivered, BC return order for 1 (1 received)
    specs.append(
        Spec(
            ref="RMA-HB-4211",
            order=order(),
            cust=c(),
            lines=[L("HOOD-GRY-L", 2)],
            created=ago(6),
            shipped=ago(5),
            delivered=ago(hours=46),
            ro="received",
            ro_qty={"HOOD-GRY-L": 1},
            receipt=ago(hours=44),
        )
    )
    w.plant(
        "RMA-HB-4211",
        "QUANTITY_MISMATCH",
        "platform 2 delivered; BC return order quantity 1, received 1",
    )
    # REFUND_AMOUNT_MISMATCH: zero-rated item refunded 18.00, credited 15.00 (tax 0 both sides)
    specs.append(
        _done(
            "RMA-HB-4212",
            order(),
            c(),
            [L("KIDS-TEE-YEL-5")],
            15,
            cms=[
                CM(
                    posted=(ago(15) + timedelta(days=4, hours=20)).date(),
                    unit_net={"KIDS-TEE-YEL-5": D("15.00")},
                )
            ],
        )
    )
    w.plant(
        "RMA-HB-4212",
        "REFUND_AMOUNT_MISMATCH",
        "items: refunded 18.00, credited 15.00 (VAT 0 both sides)",
    )
    # TAX_MISMATCH: credited at 5 % VAT instead of 20 % (items equal, tax 10.00 vs 2.50)
    specs.append(
        _done(
            "RMA-HB-4213",
            order(),
            c(),
            [L("HOOD-GRY-M")],
            13,
            cms=[
                CM(
                    posted=(ago(13) + timedelta(days=4, hours=20)).date(),
                    vat={"HOOD-GRY-M": D("0.05")},
                )
            ],
        )
    )
    w.plant(
        "RMA-HB-4213", "TAX_MISMATCH", "tax: refunded 10.00, credit memo 2.50 (items 50.00 both)"
    )
    # CREDIT_BEFORE_RECEIPT: credit memo posted 3 days before the BC return receipt
    s = Spec(
        ref="RMA-HB-4214",
        order=order(),
        cust=c(),
        lines=[L("JEAN-IND-32")],
        created=ago(20),
        shipped=ago(19),
        delivered=ago(16),
        qc=ago(15, 3),
        processed=ago(15, 1),
        ro="received",
        receipt=ago(12),
    )
    s.cms = [CM(posted=ago(15).date(), status="Open", modified=ago(15, -1))]
    specs.append(s)
    w.plant(
        "RMA-HB-4214",
        "CREDIT_BEFORE_RECEIPT",
        "credit memo posted day -15, return receipt posted day -12",
    )
    # CLOSED_PERIOD: refunded 28 Sep 2026 (FY 2025/26, closed), credit memo posted 2 Oct 2026
    s = Spec(
        ref="RMA-HB-4215",
        order=order(),
        cust=c(),
        lines=[L("SNK-TRL-43")],
        created=datetime(2026, 9, 18, 10, 0, tzinfo=UTC),
        shipped=datetime(2026, 9, 19, 12, 0, tzinfo=UTC),
        delivered=datetime(2026, 9, 24, 11, 0, tzinfo=UTC),
        qc=datetime(2026, 9, 28, 8, 0, tzinfo=UTC),
        processed=datetime(2026, 9, 28, 10, 0, tzinfo=UTC),
        ro="deleted",
        receipt=datetime(2026, 9, 25, 9, 0, tzinfo=UTC),
    )
    s.cms = [
        CM(
            posted=date(2026, 10, 2),
            status="Open",
            modified=datetime(2026, 10, 2, 15, 0, tzinfo=UTC),
        )
    ]
    specs.append(s)
    w.plant(
        "RMA-HB-4215",
        "CLOSED_PERIOD",
        "refund 2026-09-28 in a closed period; credit posted 2026-10-02",
    )
    # ERP_RECORD_UNLINKED (1): another channel's return order
    specs.append(
        Spec(
            ref="EBAY-3391-R",
            order=order(),
            cust=c(),
            lines=[L("CAP-BSB-NVY")],
            created=ago(9),
            ro="open",
            platform=False,
        )
    )
    w.plant(
        "EBAY-3391-R",
        "ERP_RECORD_UNLINKED",
        "open BC return order whose ref matches no Swap return",
    )
    # ERP_RECORD_UNLINKED (2): posted receipt + credit memo under a ref Swap never issued
    s = _done("RMA-HB-9102", order(), c(), [L("TEE-WHT-S")], 14, platform=False)
    specs.append(s)
    w.plant(
        "RMA-HB-9102",
        "ERP_RECORD_UNLINKED",
        "posted receipt + credit memo whose ref matches no Swap return",
    )
    # PAYLOAD_INVALID: products lack the required item_count (created 30 min ago, nothing in BC)
    specs.append(
        Spec(
            ref="RMA-HB-4218",
            order=order(),
            cust=c(),
            lines=[L("TEE-BLK-M")],
            created=ago(minutes=30),
            invalid=True,
        )
    )
    w.plant("RMA-HB-4218", "PAYLOAD_INVALID", "products[0].item_count (required integer) missing")
    # EXCHANGE_ORDER_MISSING: Shop Now exchange processed 5 days ago, no replacement order in BC
    specs.append(
        _done(
            "RMA-HB-4219",
            order(),
            c(),
            [L("TEE-WHT-S")],
            9,
            rtype="Shop Now Credit",
            exchange=[L("TEE-WHT-M")],
        )
    )
    w.plant(
        "RMA-HB-4219",
        "EXCHANGE_ORDER_MISSING",
        "Shop Now Credit with exchange_items, processed 5 days ago; "
        "no BC sales order/invoice with the ref",
    )
    # EXCHANGE_ORDER_MISSING: a plain "Exchange" return (type listed in Swap's webhook type
    # conditions), received and processed 6 days ago; no replacement order in BC
    specs.append(
        _done(
            "RMA-HB-4220",
            order(),
            c(),
            [L("JEAN-IND-32")],
            11,
            rtype="Exchange",
            exchange=[L("JEAN-IND-34")],
            path="received",
        )
    )
    w.plant(
        "RMA-HB-4220",
        "EXCHANGE_ORDER_MISSING",
        "type Exchange with exchange_items, processed 6 days ago; "
        "no BC sales order/invoice with the ref",
    )

    for spec in specs:
        _add(w, main, spec)

    # ---- noise in the main company -----------------------------------------------------------
    # goodwill credit memos (no externalDocumentNumber): not return documents
    main.goodwill_credit(cust[3], D("15.00"), ago(12).date())
    main.goodwill_credit(cust[9], D("5.00"), date(2025, 12, 19), status="Paid")
    # ordinary open web orders: externalDocumentNumber is the web order name
    for k in range(6):
        main.web_order(f"#{59100 + k}", cust[k + 10], [L(ACTIVE_BULK_ITEMS[k])], ago(1, k))
    main.master_data(w.customers, list(CATALOGUE))

    # ---- decoy company (same environment, EUR): must never be reported -------------------------
    decoy.master_data(w.customers[:20], list(CATALOGUE))
    ghost = [
        # a second, different credit for a healthy return (would look like a duplicate)
        _done("RMA-HB-4101", "#51001", cust[0], [L("JEAN-IND-32")], 30),
        # a credit for the return whose credit note is missing in the real company
        _done("RMA-HB-4207", "#51002", cust[1], [L("JEAN-IND-34")], 12),
        # an EU return that matches nothing on the platform
        _done("RMA-EU-5501", "#61001", cust[2], [L("CAP-BSB-NVY")], 10),
        Spec(
            ref="RMA-HB-4205",
            order="#51003",
            cust=cust[4],
            lines=[L("SNK-TRL-42")],
            created=ago(6),
            ro="open",
        ),
    ]
    for g in ghost:
        g.platform = False
        _add(w, decoy, g)

    # ---- decoy Swap store on the same key ----------------------------------------------------
    for k in range(4):
        g = _done(f"RMA-HO-{7001 + k}", f"#8{1000 + k}", cust[k + 30], [L("TEE-BLK-M")], 10 + k)
        w.swap_returns[DECOY_STORE_ID].append(swap_record(g, DECOY_STORE_ID))

    w.companies = [
        decoy.as_company(datetime(2024, 2, 1, tzinfo=UTC)),  # listed first on purpose
        main.as_company(datetime(2023, 5, 2, tzinfo=UTC)),
    ]

    # ---- the profile's mapping table ---------------------------------------------------------
    reasons: dict[str, str] = {}
    for rid, text, code in REASONS:
        reasons[rid] = code
        reasons[text] = code
    w.mappings = {
        # only the one SKU that differs from its item number; everything else is identity
        # (upper-cased) as the product owner decided
        "skus": {
            "SOCK-2PK": {"sku": "SOCK-2PK", "item_no": "SOCK-CREW", "factor": "2", "erp_uom": "PCS"}
        },
        "reasons": reasons,
        "dispositions": {
            "sellable": {"disposition": "RESELL", "location": BC_RETURNS_LOCATION},
            "resellable": {"disposition": "RESELL", "location": BC_RETURNS_LOCATION},
        },
        "locations": {SWAP_LOCATION: BC_RETURNS_LOCATION},
        "fees": {},
        "payment_methods": {
            "Refund": "CARD",
            "Shop Now Credit": "STORECRED",
            "Shop Later Credit": "STORECRED",
        },
        "identity_fallback": True,
    }
    # stable order: Swap lists by date_updated
    w.swap_returns[STORE_ID].sort(key=lambda r: (r["date_updated"], r["rma_number"]))
    return w


if __name__ == "__main__":  # pragma: no cover - a quick look at the world
    world = build_world()
    print(len(world.swap_returns[STORE_ID]), "Swap returns")
    main_sets = world.company(COMPANY)["_sets"]
    print({k: len(v) for k, v in main_sets.items()})
    for pair in sorted(world.truth):
        print(pair, "-", world.plant_notes[pair])

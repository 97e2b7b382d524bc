"""The demo company's reference data: catalogue, customers, codes, periods, mappings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    price: Decimal
    item_no: str
    base_uom: str = "PCS"


PRODUCTS: tuple[Product, ...] = (
    Product("TEE-BLK-M", "Organic tee, black, M", Decimal("24.00"), "TEE-BLK-M"),
    Product("TEE-WHT-L", "Organic tee, white, L", Decimal("24.00"), "TEE-WHT-L"),
    Product("JKT-RAIN-S", "Rain jacket, S", Decimal("89.00"), "JKT-RAIN-S"),
    Product("JKT-RAIN-M", "Rain jacket, M", Decimal("89.00"), "JKT-RAIN-M"),
    Product("JNS-SLM-32", "Slim jeans, 32", Decimal("65.00"), "JNS-SLM-32"),
    Product("JNS-SLM-34", "Slim jeans, 34", Decimal("65.00"), "JNS-SLM-34"),
    Product("SNK-RUN-42", "Running shoe, 42", Decimal("110.00"), "1000-SNK-42"),
    Product("SNK-RUN-44", "Running shoe, 44", Decimal("110.00"), "1000-SNK-44"),
    Product("CAP-WOOL", "Wool cap", Decimal("19.50"), "CAP-WOOL"),
    Product("BAG-TOTE", "Canvas tote", Decimal("15.00"), "BAG-TOTE"),
)

#: Sold in packs of three on the storefront, stocked as single pieces in the ERP.
SOCK_PACK = Product("SOCK-3PK", "Socks, pack of 3", Decimal("12.00"), "SOCK-W")
SOCK_PACK_FACTOR = Decimal(3)

#: Items present in the ERP but blocked.
BLOCKED_ITEMS = (Product("TEE-RED-S", "Organic tee, red, S (discontinued)", Decimal("24.00"),
                         "TEE-RED-S"),)

UNKNOWN_SKU = "TEE-GRN-XL"
FEE_ITEM = "FEE-RETURN"

REASONS = {"too_small": "SIZE", "too_big": "SIZE", "changed_mind": "UNWANTED",
           "faulty": "DEFECT", "not_as_described": "DESCR"}
CONDITIONS = {"sellable": ("RESELL", "MAIN"), "damaged": ("QUARANTINE", "QUAR"),
              "faulty": ("SUPPLIER", "QUAR")}
HUBS = {"uk-returns": "RETURNS"}
#: A hub no location mapping covers.
UNMAPPED_HUB = "de-returns"
#: Refund methods in the scenario's own words (each platform's simulator says them in its
#: own: a card refund, store credit issued at once, store credit issued later), and the ERP
#: payment method each maps to. Store credit is money too: it is posted to the ERP payment
#: method its mapping names.
PAYMENT_METHODS = {"refund": "CARD", "store_credit": "GIFTCARD"}
#: The ways a healthy return is paid back, as drawn (a draw of the unmapped one is read as
#: store credit, so the draws stay as they were when all three were mapped).
REFUND_METHODS = ("refund", "store_credit_later", "store_credit")
#: A way of paying back that no mapping covers (one that moves money all the same).
UNMAPPED_METHOD = "store_credit_later"
FEE_TYPE = "handling_fee"
ERP_LOCATIONS = ("MAIN", "QUAR", "RETURNS")
CURRENCY = "GBP"
TAX_RATE = Decimal("0.20")


def periods(now: datetime) -> list[dict]:
    """Monthly periods from a year back to two months ahead. Last month stays open for late
    postings; every month before it is closed."""
    current = date(now.year, now.month, 1)
    last_open = month_start(now, -1)
    out = []
    for offset in range(-12, 3):
        start = month_start(now, offset)
        out.append({"start": start.isoformat(), "name": start.strftime("%b %Y"),
                    "closed": start < last_open})
    assert current >= last_open
    return out


def month_start(now: datetime, offset: int = 0) -> date:
    """The first day of the month `offset` months from `now`'s."""
    year, month = divmod(now.month - 1 + offset, 12)
    return date(now.year + year, month + 1, 1)


def customer_number(i: int) -> str:
    return f"C{i:05d}"


def customer_email(i: int) -> str:
    return f"customer{i:05d}@example.com"


def reference_data(customers: int, now: datetime) -> dict:
    """The `mappings`, `erp_master` and `policy` sections of a snapshot."""
    items = [
        {"number": p.item_no, "base_uom": p.base_uom} for p in PRODUCTS
    ] + [
        {"number": SOCK_PACK.item_no, "base_uom": "PCS"},
        {"number": FEE_ITEM, "type": "service", "base_uom": "EA"},
    ] + [{"number": p.item_no, "base_uom": p.base_uom, "blocked": True} for p in BLOCKED_ITEMS]
    skus = [
        {"sku": p.sku, "item_no": p.item_no} for p in PRODUCTS if p.sku != p.item_no
    ] + [{"sku": SOCK_PACK.sku, "item_no": SOCK_PACK.item_no,
          "factor": str(SOCK_PACK_FACTOR), "erp_uom": "PCS"}]
    return {
        "policy": {"tolerance": "0.00"},
        "mappings": {
            "skus": skus,
            "reasons": dict(REASONS),
            "dispositions": {k: {"disposition": d, "location": loc}
                             for k, (d, loc) in CONDITIONS.items()},
            "locations": dict(HUBS),
            # Deliberately empty: the demo's one handling fee has no service item yet
            # (FEE_ITEM_UNMAPPED), so an operator can remap it to FEE-RETURN.
            "fees": {},
            "payment_methods": dict(PAYMENT_METHODS),
            "identity_fallback": True,
        },
        "erp_master": {
            "items": items,
            "customers": [
                {"number": customer_number(i), "email": customer_email(i)}
                for i in range(1, customers + 1)
            ],
            "locations": list(ERP_LOCATIONS),
            "reasons": sorted(set(REASONS.values())),
            "payment_methods": sorted(set(PAYMENT_METHODS.values())),
            "periods": periods(now),
        },
    }

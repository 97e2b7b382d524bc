"""One plant per exception code: how to bend a healthy return so that it shows that code,
and only that code. The scenario records each as ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TypedDict, Unpack

from ..domain.catalogue import NEEDS
from ..domain.codes import Code
from .builder import Shape, credit_note, iso, money
from .world import (
    BLOCKED_ITEMS,
    FEE_TYPE,
    SOCK_PACK,
    TAX_RATE,
    UNKNOWN_SKU,
    UNMAPPED_HUB,
    UNMAPPED_METHOD,
    customer_number,
    month_start,
)

#: Bends a healthy return into the exception; may return a case of its own that carries the
#: exception instead (kept next to the bent one), e.g. an ERP record under a mistyped link.
Mutate = Callable[[dict, datetime], dict | None]


@dataclass(frozen=True, slots=True)
class Plant:
    code: Code
    #: Where on the timeline the return must be for the exception to show (days before now).
    shape: Callable[[datetime], Shape]
    mutate: Mutate
    delay: bool = False
    note: str = ""
    #: What the pair of systems must be able to report for this plant to show (see
    #: CAPABILITIES); a scenario for a pair that cannot leaves the plant out.
    needs: frozenset[str] = frozenset()
    #: Facts of a pair that cannot show this variant of the code (it shows others).
    hidden_by: frozenset[str] = frozenset()


#: Things not every system's API reports.
CAPABILITIES = frozenset({
    "platform_restock",  # the platform says when stock went back on sale (Shopify: yes)
    "platform_location",  # the platform names the location goods go to (Swap v2: yes)
    "platform_condition",  # the platform grades what came back (Swap: yes; Shopify: no)
    "platform_in_transit",  # the platform knows a parcel is on its way back (both: yes)
    "erp_credit_order_ref",  # an ERP credit note names its web order (BC, NetSuite: yes)
    # refund amounts, receipt at the retailer, exchanges (Swap, Shopify: yes)
    "platform_money", "platform_received", "platform_exchange",
})
#: Not in the default scenario: a second way to show STAGE_OVERDUE, for a platform that
#: cannot show the first (a parcel in transit): "platform_inspection_queue", received
#: goods wait in a state of their own until inspected (Shopify: a disposition that says so).
#: Nor "platform_restock_by_line": the platform says, line by line, how many received units
#: went back on sale and how many did not (Shopify's dispositions), so a receipt the ERP
#: lacks can be made from it; a second RECEIPT_NOT_POSTED, inspected on the platform.


class _Knobs(TypedDict, total=False):
    """The knobs of a Shape other than its start."""

    progress: str
    exchange: bool
    restock: bool


def _ago(days: float = 8, **kw: Unpack[_Knobs]) -> Callable[[datetime], Shape]:
    return lambda now: Shape(start=now - timedelta(days=days), **kw)


def _first_line(case: dict) -> tuple[dict, dict]:
    """Cut the return to its first line on both sides (so a changed SKU collides with no
    other line) and hand that line back."""
    for side in ("platform", "erp"):
        del case[side]["lines"][1:]
    _reprice(case)
    return case["platform"]["lines"][0], case["erp"]["lines"][0]


def _reprice(case: dict) -> None:
    """Refund and credit notes recomputed from the platform's lines (both sides agree)."""
    refund = case["platform"]["refund"]
    if refund is None:
        return
    items = sum((Decimal(ln["unit_price"]) * Decimal(ln["quantity"])
                 for ln in case["platform"]["lines"]), Decimal(0))
    refund.update(items=money(items), tax=money(items * TAX_RATE))
    for note in case["erp"].get("credit_notes", []):
        note["amounts"] = dict(refund)


def sku_unknown(case: dict, now: datetime) -> None:
    # The ERP return order was created without the line it could not resolve.
    line = dict(case["platform"]["lines"][0], sku=UNKNOWN_SKU,
                line_ref=case["platform"]["return_ref"] + "-9")
    case["platform"]["lines"].append(line)
    refund, value = case["platform"]["refund"], Decimal(line["unit_price"]) * Decimal(
        line["quantity"])
    refund["items"] = money(Decimal(refund["items"]) + value)
    refund["tax"] = money(Decimal(refund["tax"]) + value * Decimal("0.2"))


def sku_inactive(case: dict, now: datetime) -> None:
    blocked = BLOCKED_ITEMS[0]
    pline, eline = _first_line(case)
    pline["sku"] = blocked.sku
    eline.update(item_no=blocked.item_no, uom=blocked.base_uom, quantity=pline["quantity"],
                 received_quantity=pline["quantity"])


def uom_mismatch(case: dict, now: datetime) -> None:
    pline, eline = _first_line(case)
    qty = Decimal(pline["quantity"])
    pline["sku"] = SOCK_PACK.sku
    eline.update(item_no=SOCK_PACK.item_no, uom="PACK", quantity=str(qty),
                 received_quantity=str(qty))


def order_ref_missing(case: dict, now: datetime) -> None:
    case["erp"]["order_ref"] = None


def customer_not_found(case: dict, now: datetime) -> None:
    case["erp"]["customer_ref"] = "C99999"
    for cn in case["erp"]["credit_notes"]:
        cn["customer_ref"] = "C99999"


def external_ref_conflict(case: dict, now: datetime) -> None:
    case["erp"]["credit_notes"][0]["order_ref"] = "#999"


def external_ref_conflict_customer(case: dict, now: datetime) -> None:
    own = case["erp"]["customer_ref"]
    other = customer_number(1) if own != customer_number(1) else customer_number(2)
    case["erp"]["credit_notes"][0]["customer_ref"] = other


def reason_unmapped(case: dict, now: datetime) -> None:
    for line in case["platform"]["lines"]:
        line["reason"] = "arrived_late"
    for line in case["erp"]["lines"]:
        line.pop("reason", None)


def disposition_unmapped(case: dict, now: datetime) -> None:
    pline, _ = _first_line(case)
    pline["condition"] = "missing_tags"


def location_unmapped(case: dict, now: datetime) -> None:
    for line in case["platform"]["lines"]:
        line["location"] = UNMAPPED_HUB


def fee_item_unmapped(case: dict, now: datetime) -> None:
    fee = Decimal("3.00")
    case["platform"]["fees"] = [{"type": FEE_TYPE, "amount": money(fee)}]
    for amounts in [case["platform"]["refund"], case["erp"]["credit_notes"][0]["amounts"]]:
        amounts["fees"] = money(fee)


def payment_method_unmapped(case: dict, now: datetime) -> None:
    case["platform"]["refund_method"] = UNMAPPED_METHOD


def payload_invalid(case: dict, now: datetime) -> None:
    case["problems"] = [{
        "side": "platform", "record_id": case["platform"]["return_ref"],
        "stage": "credited",
        "error": "products[1].item_count: Input should be a valid integer, got 'two'",
    }]


def _erp_only_authorised(case: dict) -> None:
    case["erp"]["stages"] = {"authorised": case["erp"]["stages"]["authorised"]}
    for line in case["erp"]["lines"]:
        for key in ("received_quantity", "disposition", "location"):
            line.pop(key, None)


def return_order_missing(case: dict, now: datetime) -> None:
    case["erp"] = {"system": case["erp"]["system"]}


def return_order_not_open(case: dict, now: datetime) -> None:
    _erp_only_authorised(case)
    case["erp"]["return_order_state"] = "on_hold"
    case["erp"]["stages"]["authorised"]["detail"] = "awaiting approval"


def receipt_not_posted(case: dict, now: datetime) -> None:
    _erp_only_authorised(case)


def receipt_not_posted_inspected(case: dict, now: datetime) -> None:
    """Received days ago and inspected only hours ago on the platform (its refund not yet
    due), never received in the ERP."""
    _erp_only_authorised(case)
    case["platform"]["stages"]["inspected"]["at"] = iso(now - timedelta(hours=6))


def credit_note_missing(case: dict, now: datetime) -> None:
    case["erp"]["credit_notes"] = []
    case["erp"]["stages"].pop("credited", None)


def credit_note_duplicate(case: dict, now: datetime) -> None:
    first = case["erp"]["credit_notes"][0]
    second = dict(first, id=first["id"] + "-2", number=first["number"] + "-2",
                  posted_at=iso(datetime.fromisoformat(first["posted_at"]) + timedelta(hours=6)))
    case["erp"]["credit_notes"].append(second)


def exchange_order_missing(case: dict, now: datetime) -> None:
    case["erp"]["stages"].pop("exchanged", None)


def quantity_mismatch(case: dict, now: datetime) -> None:
    pline, _ = _first_line(case)
    pline["quantity"] = pline["received_quantity"] = str(Decimal(pline["quantity"]) + 1)
    price = Decimal(pline["unit_price"])
    refund = case["platform"]["refund"]
    refund["items"] = money(Decimal(refund["items"]) + price)
    refund["tax"] = money(Decimal(refund["tax"]) + price * Decimal("0.2"))
    case["erp"]["credit_notes"][0]["amounts"] = dict(refund)


def refund_amount_mismatch(case: dict, now: datetime) -> None:
    # Refunded at the promotion price; the credit memo was raised at list price.
    refund, items = case["platform"]["refund"], Decimal(0)
    for line in case["platform"]["lines"]:
        price = (Decimal(line["unit_price"]) * Decimal("0.9")).quantize(Decimal("0.01"))
        line["unit_price"] = money(price)
        items += price * Decimal(line["quantity"])
    refund["items"] = money(items)


def tax_mismatch(case: dict, now: datetime) -> None:
    amounts = case["erp"]["credit_notes"][0]["amounts"]
    amounts["tax"] = money(Decimal(amounts["tax"]) - Decimal("1.00"))


def disposition_location_wrong(case: dict, now: datetime) -> None:
    pline, eline = _first_line(case)
    pline["condition"] = "damaged"
    eline.update(disposition="QUARANTINE", location="MAIN")
    case["platform"]["stages"].pop("restocked", None)
    case["erp"]["stages"].pop("restocked", None)


def credit_without_refund(case: dict, now: datetime) -> None:
    # A Recycle return moves no money, yet the integration posted a credit memo for it.
    platform = case["platform"]
    platform["refund"] = None
    platform["refund_method"] = None
    platform["stages"]["credited"] = {"status": "not_applicable", "record_ids": [],
                                      "detail": "Recycle"}


def credit_before_receipt(case: dict, now: datetime) -> None:
    # Refunded at drop-off, three days before the warehouse received the goods.
    stages = case["platform"]["stages"]
    stages["credited"]["at"] = stages["in_transit"]["at"]


def premature_restock(case: dict, now: datetime) -> None:
    # Back on the storefront the day it was handed to the carrier.
    transit = case["platform"]["stages"]["in_transit"]["at"]
    case["platform"]["stages"]["restocked"] = {"status": "done", "at": transit}
    case["erp"]["stages"].pop("restocked", None)
    for line in case["platform"]["lines"]:
        line["condition"] = "sellable"
    for line in case["erp"]["lines"]:
        line.update(disposition="RESELL", location="MAIN")


def closed_period(case: dict, now: datetime) -> None:
    """The shape already puts the refund on the last evening of the closed month and the
    credit memo on the first night of the open one: nothing else to bend."""


def stage_overdue(case: dict, now: datetime) -> None:
    case["erp"]["stages"] = {"authorised": case["erp"]["stages"]["authorised"]}


def uninspected(case: dict, now: datetime) -> None:
    """The shape leaves the goods received and never inspected: nothing else to bend."""


def erp_record_unlinked(case: dict, now: datetime) -> dict:
    """The integration drafted the credit memo under a mistyped reference: the draft matches
    no return, while the return itself (received, refund not yet due) is linked right. The
    fix is the operator's "fix reference" on the draft (an ERP lets a draft's link change; a
    posted document's not). Returns the planted case: the
    draft's own, under the typo."""
    ref = case["platform"]["return_ref"]
    typo = f"{ref}0"  # a stray digit: the one mistake no other return can share
    received = datetime.fromisoformat(case["erp"]["stages"]["received"]["at"])
    index = int("".join(ch for ch in ref if ch.isdigit()) or 0)
    draft = credit_note(index, typo, case["platform"]["order_ref"], case["erp"]["customer_ref"],
                        received + timedelta(hours=2), case["platform"]["refund"],
                        "GIFTCARD", suffix="-D")
    draft.update(status="draft", number=f"S-CR{index:06d}", posted_at=None)
    return {
        "platform": {"system": case["platform"]["system"], "return_ref": typo},
        "erp": {"system": case["erp"]["system"], "return_ref": typo,
                "order_ref": case["platform"]["order_ref"],
                "customer_ref": case["erp"]["customer_ref"], "lines": [],
                "credit_notes": [draft],
                "stages": {"credited": {"status": "pending",
                                        "at": iso(received + timedelta(hours=2)),
                                        "record_ids": [draft["number"]], "detail": "Draft"}}},
        "problems": [],
        "unlinked": True,
    }


def credit_note_missing_delay(case: dict, now: datetime) -> None:
    credit_note_missing(case, now)


def _closed_period_shape(now: datetime) -> Shape:
    # Refund at 23:00 on the last day of the newest closed month (two months back); the ERP
    # books it an hour later, in the first open month.
    first = datetime.combine(month_start(now, -1), time(), tzinfo=now.tzinfo)
    return Shape(start=first - timedelta(days=3, hours=4))


PLANTS: tuple[Plant, ...] = (
    # Not yet refunded: once credited, the credit memo would lack the unknown line too.
    Plant(Code.SKU_UNKNOWN, _ago(3.5, progress="received"), sku_unknown),
    Plant(Code.SKU_INACTIVE, _ago(), sku_inactive),
    Plant(Code.UOM_MISMATCH, _ago(), uom_mismatch),
    # the ERP's record lacks the order: not for an ERP whose record is what we gave it
    Plant(Code.ORDER_REF_MISSING, _ago(), order_ref_missing,
          hidden_by=frozenset({"erp_without_own_records"})),
    Plant(Code.CUSTOMER_NOT_FOUND, _ago(), customer_not_found),
    Plant(Code.EXTERNAL_REF_CONFLICT, _ago(), external_ref_conflict,
          needs=frozenset({"erp_credit_order_ref"})),
    Plant(Code.REASON_UNMAPPED, _ago(), reason_unmapped),
    Plant(Code.DISPOSITION_UNMAPPED, _ago(), disposition_unmapped,
          needs=NEEDS[Code.DISPOSITION_UNMAPPED]),
    Plant(Code.LOCATION_UNMAPPED, _ago(), location_unmapped,
          needs=NEEDS[Code.LOCATION_UNMAPPED]),
    Plant(Code.FEE_ITEM_UNMAPPED, _ago(), fee_item_unmapped,
          needs=NEEDS[Code.FEE_ITEM_UNMAPPED]),
    Plant(Code.PAYMENT_METHOD_UNMAPPED, _ago(), payment_method_unmapped,
          needs=NEEDS[Code.PAYMENT_METHOD_UNMAPPED]),
    Plant(Code.PAYLOAD_INVALID, _ago(), payload_invalid),
    Plant(Code.RETURN_ORDER_MISSING, _ago(2, progress="in_transit"), return_order_missing),
    Plant(Code.RETURN_ORDER_NOT_OPEN, _ago(4.3, progress="received"), return_order_not_open,
          needs=NEEDS[Code.RETURN_ORDER_NOT_OPEN]),
    Plant(Code.RECEIPT_NOT_POSTED, _ago(4.3, progress="received"), receipt_not_posted,
          needs=NEEDS[Code.RECEIPT_NOT_POSTED]),
    Plant(Code.RECEIPT_NOT_POSTED, _ago(4.3, progress="inspected"), receipt_not_posted_inspected,
          needs=NEEDS[Code.RECEIPT_NOT_POSTED] | {"platform_restock_by_line"},
          note="inspected on the platform (every unit's fate settled), no receipt in the "
          "ERP: the receipt a re-queue can make"),
    Plant(Code.CREDIT_NOTE_MISSING, _ago(6), credit_note_missing),
    Plant(Code.CREDIT_NOTE_DUPLICATE, _ago(), credit_note_duplicate),
    Plant(Code.EXCHANGE_ORDER_MISSING, _ago(6, progress="inspected", exchange=True),
          exchange_order_missing, needs=NEEDS[Code.EXCHANGE_ORDER_MISSING]),
    Plant(Code.QUANTITY_MISMATCH, _ago(), quantity_mismatch),
    Plant(Code.REFUND_AMOUNT_MISMATCH, _ago(), refund_amount_mismatch,
          needs=NEEDS[Code.REFUND_AMOUNT_MISMATCH]),
    Plant(Code.TAX_MISMATCH, _ago(), tax_mismatch,
          needs=NEEDS[Code.TAX_MISMATCH]),
    Plant(Code.DISPOSITION_LOCATION_WRONG, _ago(), disposition_location_wrong,
          needs=NEEDS[Code.DISPOSITION_LOCATION_WRONG]),
    Plant(Code.CREDIT_WITHOUT_REFUND, _ago(), credit_without_refund,
          needs=NEEDS[Code.CREDIT_WITHOUT_REFUND]),
    Plant(Code.CREDIT_BEFORE_RECEIPT, _ago(), credit_before_receipt),
    Plant(Code.PREMATURE_RESTOCK, _ago(), premature_restock,
          needs=NEEDS[Code.PREMATURE_RESTOCK]),
    Plant(Code.CLOSED_PERIOD, _closed_period_shape, closed_period),
    Plant(Code.STAGE_OVERDUE, _ago(20, progress="in_transit"), stage_overdue,
          needs=frozenset({"platform_in_transit"})),
    Plant(Code.STAGE_OVERDUE, _ago(20, progress="received"), uninspected,
          needs=frozenset({"platform_inspection_queue"}),
          note="received 17 days ago, never inspected"),
    Plant(Code.ERP_RECORD_UNLINKED, _ago(3, progress="received"), erp_record_unlinked),
    Plant(Code.CREDIT_NOTE_MISSING, lambda now: Shape(start=now - timedelta(days=3, hours=5)),
          credit_note_missing_delay, delay=True, note="refunded 2 h ago: within grace"),
    # an ERP whose credit notes name the customer but not the web order (F&O's invoice
    # journal): the conflict it can show is the customer's
    Plant(Code.EXTERNAL_REF_CONFLICT, _ago(), external_ref_conflict_customer,
          needs=frozenset({"erp_credit_customer_only"}),
          note="the credit note was posted to another customer's account"),
)

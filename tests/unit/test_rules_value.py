"""Rules of kind `value` (spec section 2): both sides have the record but disagree."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from returns_console.domain.catalogue import CATALOGUE
from returns_console.domain.codes import Action, Code, Component, Kind, Side
from tests.factories import (
    assert_catalogue_contract,
    codes,
    context,
    healthy,
    only,
    reference,
    run,
)

# The seed-1 healthy return: 2 x TEE-WHT-L received on both sides, graded sellable and put
# in MAIN; refund = credit note = GBP items 178.00, tax 35.60, shipping 4.95, discounts 0.00,
# fees 2.50.




def credit(case: dict) -> dict:
    return case["erp"]["credit_notes"][0]["amounts"]


def refund(case: dict) -> dict:
    return case["platform"]["refund"]


def add(amounts: dict, component: str, delta: str) -> None:
    amounts[component] = f"{Decimal(amounts[component]) + Decimal(delta):f}"


def set_line(case: dict, sku: str, item_no: str, qty: str, erp_qty: str,
             uom: str | None = "PCS") -> None:
    """Replace the single line on both sides (received in full on both)."""
    case["platform"]["lines"][0].update(sku=sku, quantity=qty, received_quantity=qty)
    case["erp"]["lines"][0].update(item_no=item_no, uom=uom, quantity=erp_qty,
                                   received_quantity=erp_qty)


# ------------------------------------------------------------------ bent returns, per code


def short_receipt() -> dict:
    case = healthy()
    case["erp"]["lines"][0]["received_quantity"] = "1"
    return case


def shipping_not_credited() -> dict:
    case = healthy()
    credit(case)["shipping"] = "0.00"
    return case


def tax_short() -> dict:
    case = healthy()
    add(credit(case), "tax", "-1.00")
    return case


def damaged_on_sale() -> dict:
    case = healthy()
    case["platform"]["lines"][0]["condition"] = "damaged"
    case["erp"]["lines"][0].update(disposition="QUARANTINE", location="MAIN")
    for side in ("platform", "erp"):
        case[side]["stages"].pop("restocked")
    return case


BENT: dict[Code, Callable[[], dict]] = {
    Code.QUANTITY_MISMATCH: short_receipt,
    Code.REFUND_AMOUNT_MISMATCH: shipping_not_credited,
    Code.TAX_MISMATCH: tax_short,
    Code.DISPOSITION_LOCATION_WRONG: damaged_on_sale,
}


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_each_bent_return_yields_exactly_its_code(code: Code) -> None:
    assert codes(BENT[code]()) == {code}


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_finding_carries_the_section_4_fields_consistent_with_the_catalogue(code: Code) -> None:
    finding = only(BENT[code](), code)
    entry = CATALOGUE[code]
    assert_catalogue_contract(finding, code, Kind.VALUE)
    assert (finding.stage, finding.severity, finding.owner) == (
        entry.stage, entry.severity, entry.owner)
    assert finding.platform_value is not None
    assert finding.erp_value is not None
    assert finding.age_hours > 0
    assert finding.delay is False


# ------------------------------------------------------------------ QUANTITY_MISMATCH


def test_quantity_mismatch_names_the_line_and_both_quantities() -> None:
    finding = only(short_receipt(), Code.QUANTITY_MISMATCH)
    assert (finding.line_ref, finding.platform_value, finding.erp_value) == (
        "TEE-WHT-L", "2", "1")
    assert finding.amount_at_risk == Decimal("24.00")


def test_return_order_quantity_differs_before_receipt() -> None:
    case = healthy(days_ago=2, progress="in_transit")
    case["erp"]["lines"][0]["quantity"] = "1"
    assert codes(case) == {Code.QUANTITY_MISMATCH}
    assert "on the return order" in only(case, Code.QUANTITY_MISMATCH).message


def test_erp_returning_an_item_not_on_the_platform_is_quantity_mismatch() -> None:
    case = healthy()
    case["erp"]["lines"].append({"line_ref": "20000", "item_no": "CAP-WOOL", "uom": "PCS",
                                 "quantity": "1", "received_quantity": "1"})
    assert codes(case) == {Code.QUANTITY_MISMATCH}
    finding = only(case, Code.QUANTITY_MISMATCH)
    assert (finding.side, finding.platform_value, finding.erp_value) == (Side.ERP, "0", "1")


def test_a_wrong_quantity_on_the_returns_own_document_offers_no_reference_fix() -> None:
    """Issue 10.7: a quantity mismatch suggested `fix reference`, which cannot change a
    quantity. The ERP document is this return's; what fits is correcting it in the ERP, so
    no console action, and the step says which (a receipt: undo it; an order: correct it)."""
    received = only(short_receipt(), Code.QUANTITY_MISMATCH)
    assert received.action is Action.NONE
    assert received.todo and "receipt" in received.todo
    case = healthy(days_ago=2, progress="in_transit")
    case["erp"]["lines"][0]["quantity"] = "1"
    ordered = only(case, Code.QUANTITY_MISMATCH)
    assert ordered.action is Action.NONE
    assert ordered.todo and "return document" in ordered.todo


def test_the_erps_own_words_say_what_to_do_with_a_wrong_quantity() -> None:
    ref = reference()
    ref["erp_master"]["instead"] = {"QUANTITY_MISMATCH.received": "Undo Return Receipt."}
    assert only(short_receipt(), Code.QUANTITY_MISMATCH, context(ref)).todo == \
        "Undo Return Receipt."


def test_an_item_the_platform_return_lacks_may_be_another_returns_record() -> None:
    """An ERP document returning an item the platform return does not have: the link may
    be wrong, so `fix reference` is what fits."""
    case = healthy()
    case["erp"]["lines"].append({"line_ref": "20000", "item_no": "CAP-WOOL", "uom": "PCS",
                                 "quantity": "1", "received_quantity": "1"})
    assert only(case, Code.QUANTITY_MISMATCH).action is Action.FIX_REFERENCE


def test_packs_convert_to_erp_pieces_through_the_sku_mapping() -> None:
    """SOCK-3PK maps to SOCK-W x3 in PCS: 2 packs on the platform are 6 PCS in the ERP."""
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="2", erp_qty="6")
    assert codes(case) == set()


def test_packs_received_as_unconverted_pieces_are_quantity_mismatch() -> None:
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="2", erp_qty="2")
    assert codes(case) == {Code.QUANTITY_MISMATCH}
    finding = only(case, Code.QUANTITY_MISMATCH)
    assert (finding.platform_value, finding.erp_value) == ("6", "2")
    assert "PCS" in finding.message


def test_packs_counted_in_unit_pack_are_uom_mismatch_not_quantity_mismatch() -> None:
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="2", erp_qty="2", uom="PACK")
    assert codes(case) == {Code.UOM_MISMATCH}


def test_two_skus_mapping_to_one_item_are_summed() -> None:
    """A pack of three and a single sock both map to SOCK-W: 1 x 3 + 2 x 1 = 5 PCS."""
    ref = reference()
    ref["mappings"]["skus"].append({"sku": "SOCK-1", "item_no": "SOCK-W", "erp_uom": "PCS"})
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="1", erp_qty="5")
    single = dict(case["platform"]["lines"][0], line_ref="R-100001-2", sku="SOCK-1",
                  quantity="2", received_quantity="2")
    case["platform"]["lines"].append(single)
    assert codes(case, context(ref)) == set()
    case["erp"]["lines"][0].update(quantity="3", received_quantity="3")
    assert codes(case, context(ref)) == {Code.QUANTITY_MISMATCH}
    assert only(case, Code.QUANTITY_MISMATCH, context(ref)).platform_value == "5"


def test_one_item_split_over_two_erp_lines_is_summed() -> None:
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="2", erp_qty="4")
    case["erp"]["lines"].append(dict(case["erp"]["lines"][0], line_ref="20000", quantity="2",
                                     received_quantity="2"))
    assert codes(case) == set()


def test_erp_receipt_compares_with_the_platform_received_quantity() -> None:
    case = healthy()
    case["platform"]["lines"][0]["received_quantity"] = "1"
    case["erp"]["lines"][0]["received_quantity"] = "1"
    assert codes(case) == set()


# ------------------------------------------------------------------ REFUND_AMOUNT_MISMATCH

NON_TAX = [Component.ITEMS, Component.SHIPPING, Component.DISCOUNTS, Component.FEES]


@pytest.mark.parametrize("component", NON_TAX, ids=str)
def test_refund_amount_mismatch_names_the_differing_component(component: Component) -> None:
    case = healthy()
    add(refund(case), component.value, "1.00")
    assert codes(case) == {Code.REFUND_AMOUNT_MISMATCH}
    finding = only(case, Code.REFUND_AMOUNT_MISMATCH)
    assert finding.component == component.value
    platform, erp = Decimal(finding.platform_value), Decimal(finding.erp_value)
    assert platform - erp == Decimal("1.00")
    assert finding.amount_at_risk == Decimal("1.00")
    assert finding.currency == "GBP"


def test_money_values_are_strings_in_the_json() -> None:
    doc = only(shipping_not_credited(), Code.REFUND_AMOUNT_MISMATCH).to_json()
    assert (doc["component"], doc["platform_value"], doc["erp_value"]) == (
        "shipping", "4.95", "0.00")


def test_same_total_split_differently_still_mismatches_per_component() -> None:
    case = healthy()
    add(credit(case), "items", "4.95")
    credit(case)["shipping"] = "0.00"
    found = [f for f in run(case) if f.code is Code.REFUND_AMOUNT_MISMATCH]
    assert sorted(f.component for f in found) == ["items", "shipping"]


def test_tax_difference_alone_is_not_a_refund_amount_mismatch() -> None:
    assert Code.REFUND_AMOUNT_MISMATCH not in codes(tax_short())


@pytest.mark.parametrize(
    "tolerance, delta, found",
    [
        ("0", "0.01", {Code.REFUND_AMOUNT_MISMATCH}),
        ("0.01", "0.01", set()),
        ("0.01", "-0.01", set()),
        ("0.01", "0.02", {Code.REFUND_AMOUNT_MISMATCH}),
        ("0.01", "-0.02", {Code.REFUND_AMOUNT_MISMATCH}),
    ],
)
def test_refund_amounts_compare_within_the_configured_tolerance(tolerance, delta, found) -> None:
    case = healthy()
    add(credit(case), "items", delta)
    assert codes(case, context(tolerance=tolerance)) == found


def test_refund_in_another_currency_is_a_currency_mismatch() -> None:
    case = healthy()
    credit(case)["currency"] = "EUR"
    assert codes(case) == {Code.REFUND_AMOUNT_MISMATCH}
    finding = only(case, Code.REFUND_AMOUNT_MISMATCH)
    assert (finding.component, finding.platform_value, finding.erp_value) == (
        "currency", "GBP", "EUR")


def test_currency_mismatch_is_not_also_reported_per_component() -> None:
    case = healthy()
    credit(case)["currency"] = "EUR"
    add(credit(case), "tax", "1.00")
    add(credit(case), "items", "1.00")
    assert [f.component for f in run(case)] == ["currency"]


def test_compares_against_the_posted_credit_note_not_a_cancelled_one() -> None:
    case = healthy()
    wrong = dict(case["erp"]["credit_notes"][0], id="cm-old", number="PCMOLD",
                 status="cancelled", amounts=dict(credit(case), items="1.00"))
    case["erp"]["credit_notes"].insert(0, wrong)
    assert codes(case) == set()


# ------------------------------------------------------------------ TAX_MISMATCH


def test_tax_mismatch_names_the_tax_component() -> None:
    finding = only(tax_short(), Code.TAX_MISMATCH)
    assert (finding.component, finding.platform_value, finding.erp_value) == (
        "tax", "35.60", "34.60")


@pytest.mark.parametrize(
    "tolerance, delta, found",
    [("0", "0.01", {Code.TAX_MISMATCH}), ("0.01", "0.01", set()),
     ("0.01", "0.02", {Code.TAX_MISMATCH})],
)
def test_tax_compares_within_the_configured_tolerance(tolerance, delta, found) -> None:
    case = healthy()
    add(credit(case), "tax", delta)
    assert codes(case, context(tolerance=tolerance)) == found


def test_other_components_differing_are_not_a_tax_mismatch() -> None:
    assert Code.TAX_MISMATCH not in codes(shipping_not_credited())


# ------------------------------------------------------------------ DISPOSITION_LOCATION_WRONG


def test_damaged_stock_in_a_sellable_location_is_wrong() -> None:
    finding = only(damaged_on_sale(), Code.DISPOSITION_LOCATION_WRONG)
    assert finding.line_ref == "TEE-WHT-L"
    assert finding.platform_value == "damaged → QUAR"
    assert finding.erp_value == "MAIN"
    assert finding.side is Side.ERP


def test_sellable_stock_in_quarantine_is_wrong() -> None:
    case = healthy()
    case["erp"]["lines"][0].update(location="QUAR")
    assert codes(case) == {Code.DISPOSITION_LOCATION_WRONG}


@pytest.mark.parametrize("condition, location", [("damaged", "QUAR"), ("faulty", "QUAR"),
                                                 ("sellable", "MAIN")])
def test_stock_where_its_condition_belongs_is_fine(condition: str, location: str) -> None:
    case = damaged_on_sale()
    case["platform"]["lines"][0]["condition"] = condition
    case["erp"]["lines"][0].update(location=location,
                                   disposition={"damaged": "QUARANTINE", "faulty": "SUPPLIER",
                                                "sellable": "RESELL"}[condition])
    assert codes(case) == set()


def test_stock_not_yet_put_away_is_not_in_a_wrong_location() -> None:
    case = damaged_on_sale()
    case["erp"]["lines"][0].pop("location")
    assert Code.DISPOSITION_LOCATION_WRONG not in codes(case)


def test_damaged_unit_on_sale_next_to_a_sellable_unit_of_the_same_item_is_wrong() -> None:
    case = healthy()
    case["platform"]["lines"][0].update(quantity="1", received_quantity="1")
    case["platform"]["lines"].append(dict(case["platform"]["lines"][0],
                                          line_ref="R-100001-2", condition="damaged"))
    case["erp"]["lines"][0].update(quantity="1", received_quantity="1")
    case["erp"]["lines"].append(dict(case["erp"]["lines"][0], line_ref="20000"))
    assert {f["location"] for f in case["erp"]["lines"]} == {"MAIN"}
    assert Code.DISPOSITION_LOCATION_WRONG in codes(case)

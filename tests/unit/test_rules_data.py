"""Rules of kind `data` (spec section 2): one healthy return, bent in one place per test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from returns_console.domain.catalogue import CATALOGUE
from returns_console.domain.codes import Code, Kind, Side, Stage
from tests.factories import (
    assert_catalogue_contract,
    codes,
    context,
    healthy,
    only,
    reference,
    run,
)

# The seed-1 healthy return: R-100001 for order #1001, customer C00009, one line of
# 2 x TEE-WHT-L (item TEE-WHT-L, PCS), reason changed_mind, hub uk-returns, graded
# sellable, refunded by shopify_payments with a 2.50 handling fee, created 8 days ago.




def set_line(case: dict, sku: str, item_no: str, qty: str = "1", erp_qty: str | None = None,
             uom: str | None = "PCS") -> None:
    """Replace the single line on both sides."""
    erp_qty = erp_qty or qty
    case["platform"]["lines"][0].update(sku=sku, quantity=qty, received_quantity=qty)
    case["erp"]["lines"][0].update(item_no=item_no, uom=uom, quantity=erp_qty,
                                   received_quantity=erp_qty)


def add_platform_line(case: dict, sku: str) -> None:
    """A second platform line the ERP return order was created without."""
    line = dict(case["platform"]["lines"][0], sku=sku, line_ref="R-100001-9")
    case["platform"]["lines"].append(line)


def ctx_with(edit: Callable[[dict], None]):
    ref = reference()
    edit(ref)
    return context(ref)


def block_customer(how: str) -> Callable[[dict], None]:
    def edit(ref: dict) -> None:
        for customer in ref["erp_master"]["customers"]:
            if customer["number"] == "C00009":
                customer["blocked"] = how
    return edit


# ------------------------------------------------------------------ bent returns, per code


def unknown_sku() -> dict:
    case = healthy()
    add_platform_line(case, "TEE-GRN-XL")
    return case


def blocked_sku() -> dict:
    case = healthy()
    set_line(case, "TEE-RED-S", "TEE-RED-S")
    return case


def pack_counted_as_packs() -> dict:
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="2", uom="PACK")
    return case


def erp_without_order_ref() -> dict:
    case = healthy()
    case["erp"]["order_ref"] = None
    return case


def unknown_erp_customer() -> dict:
    case = healthy()
    case["erp"]["customer_ref"] = "C99999"
    case["erp"]["credit_notes"][0]["customer_ref"] = "C99999"
    return case


def credit_note_of_other_order() -> dict:
    case = healthy()
    case["erp"]["credit_notes"][0]["order_ref"] = "#999"
    return case


def unmapped_reason() -> dict:
    case = healthy()
    case["platform"]["lines"][0]["reason"] = "arrived_late"
    case["erp"]["lines"][0].pop("reason")
    return case


def unmapped_condition() -> dict:
    case = healthy()
    case["platform"]["lines"][0]["condition"] = "missing_tags"
    return case


def unmapped_location() -> dict:
    case = healthy()
    case["platform"]["lines"][0]["location"] = "swap-de-hub"
    return case


def unmapped_fee() -> dict:
    case = healthy()
    case["platform"]["fees"] = [{"type": "restocking_fee", "amount": "2.50"}]
    return case


def unmapped_payment_method() -> dict:
    case = healthy()
    case["platform"]["refund_method"] = "klarna"
    return case


def invalid_payload() -> dict:
    case = healthy()
    case["problems"] = [{
        "side": "platform", "record_id": "R-100001", "stage": "credited",
        "error": "products[1].item_count: Input should be a valid integer, got 'two'",
    }]
    return case


BENT: dict[Code, Callable[[], dict]] = {
    Code.SKU_UNKNOWN: unknown_sku,
    Code.SKU_INACTIVE: blocked_sku,
    Code.UOM_MISMATCH: pack_counted_as_packs,
    Code.ORDER_REF_MISSING: erp_without_order_ref,
    Code.CUSTOMER_NOT_FOUND: unknown_erp_customer,
    Code.EXTERNAL_REF_CONFLICT: credit_note_of_other_order,
    Code.REASON_UNMAPPED: unmapped_reason,
    Code.DISPOSITION_UNMAPPED: unmapped_condition,
    Code.LOCATION_UNMAPPED: unmapped_location,
    Code.FEE_ITEM_UNMAPPED: unmapped_fee,
    Code.PAYMENT_METHOD_UNMAPPED: unmapped_payment_method,
    Code.PAYLOAD_INVALID: invalid_payload,
}


def test_the_healthy_return_these_tests_bend_has_no_finding() -> None:
    assert run(healthy()) == []


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_each_bent_return_yields_exactly_its_code(code: Code) -> None:
    assert codes(BENT[code]()) == {code}


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_finding_carries_the_section_4_fields_consistent_with_the_catalogue(code: Code) -> None:
    finding = only(BENT[code](), code)
    assert_catalogue_contract(finding, code, Kind.DATA)
    assert finding.severity is CATALOGUE[code].severity
    assert finding.age_hours >= 0
    assert finding.delay is False
    assert finding.to_json()["detected_at"] == "2026-11-21T10:00:00Z"


def test_age_of_a_data_finding_counts_from_the_return_s_creation() -> None:
    assert only(unknown_sku(), Code.SKU_UNKNOWN).age_hours == pytest.approx(8 * 24)


# ------------------------------------------------------------------ SKU_UNKNOWN


def test_sku_unknown_names_the_line_and_has_no_erp_value() -> None:
    finding = only(unknown_sku(), Code.SKU_UNKNOWN)
    assert (finding.line_ref, finding.platform_value, finding.erp_value) == (
        "TEE-GRN-XL", "TEE-GRN-XL", None)
    assert "TEE-GRN-XL" in finding.message


def test_sku_mapped_to_an_item_the_erp_lacks_is_unknown() -> None:
    case = healthy()
    add_platform_line(case, "CAP-WOOL")
    ctx = ctx_with(lambda ref: ref["mappings"]["skus"].append(
        {"sku": "CAP-WOOL", "item_no": "CAP-WOOL-OLD"}))
    assert codes(case, ctx) == {Code.SKU_UNKNOWN}
    assert "CAP-WOOL-OLD" in only(case, Code.SKU_UNKNOWN, ctx).message


def test_sku_mapped_to_a_differently_numbered_item_is_known() -> None:
    case = healthy()
    set_line(case, "SNK-RUN-42", "1000-SNK-42")
    assert codes(case) == set()


def test_sku_without_mapping_is_unknown_when_identity_fallback_is_off() -> None:
    ctx = ctx_with(lambda ref: ref["mappings"].update(identity_fallback=False))
    assert Code.SKU_UNKNOWN in codes(healthy(), ctx)


# ------------------------------------------------------------------ SKU_INACTIVE


def test_sku_inactive_names_sku_and_blocked_item() -> None:
    finding = only(blocked_sku(), Code.SKU_INACTIVE)
    assert (finding.line_ref, finding.platform_value, finding.erp_value) == (
        "TEE-RED-S", "TEE-RED-S", "TEE-RED-S")


def test_same_sku_is_fine_once_the_item_is_unblocked() -> None:
    def unblock(ref: dict) -> None:
        for item in ref["erp_master"]["items"]:
            item["blocked"] = False
    assert codes(blocked_sku(), ctx_with(unblock)) == set()


def test_sku_mapped_away_from_a_blocked_item_is_not_inactive() -> None:
    ctx = ctx_with(lambda ref: ref["mappings"]["skus"].append(
        {"sku": "TEE-RED-S", "item_no": "TEE-WHT-L"}))
    case = healthy()
    case["platform"]["lines"][0]["sku"] = "TEE-RED-S"
    assert codes(case, ctx) == set()


# ------------------------------------------------------------------ UOM_MISMATCH


def test_pack_line_counted_in_packs_is_uom_mismatch_not_quantity_mismatch() -> None:
    found = codes(pack_counted_as_packs())
    assert Code.QUANTITY_MISMATCH not in found
    assert found == {Code.UOM_MISMATCH}
    finding = only(pack_counted_as_packs(), Code.UOM_MISMATCH)
    assert finding.line_ref == "SOCK-3PK"
    assert finding.side is Side.ERP
    assert finding.erp_value == "2 PACK"
    assert "PCS" in finding.message


def test_line_in_another_unit_than_the_item_base_unit_is_uom_mismatch() -> None:
    case = healthy()
    case["erp"]["lines"][0]["uom"] = "BOX"
    assert codes(case) == {Code.UOM_MISMATCH}


@pytest.mark.parametrize("uom, qty", [("PCS", "6"), (None, "6")])
def test_pack_line_in_the_mapped_unit_or_no_unit_is_not_uom_mismatch(uom, qty) -> None:
    case = healthy()
    set_line(case, "SOCK-3PK", "SOCK-W", qty="2", erp_qty=qty, uom=uom)
    assert codes(case) == set()


# ------------------------------------------------------------------ ORDER_REF_MISSING


def test_order_ref_missing_on_the_erp_record() -> None:
    finding = only(erp_without_order_ref(), Code.ORDER_REF_MISSING)
    assert (finding.side, finding.platform_value, finding.erp_value) == (
        Side.ERP, "#1001", None)


def test_order_ref_missing_on_the_platform() -> None:
    case = healthy()
    case["platform"]["order_ref"] = None
    assert codes(case) == {Code.ORDER_REF_MISSING}
    assert only(case, Code.ORDER_REF_MISSING).side is Side.PLATFORM


def test_erp_record_linked_to_another_order_is_order_ref_missing() -> None:
    case = healthy()
    case["erp"]["order_ref"] = "#1002"
    assert codes(case) == {Code.ORDER_REF_MISSING}
    finding = only(case, Code.ORDER_REF_MISSING)
    assert (finding.platform_value, finding.erp_value) == ("#1001", "#1002")


@pytest.mark.parametrize("erp_ref", ["1001", "#1001 "])
def test_order_refs_differing_only_in_hash_or_blanks_are_the_same(erp_ref: str) -> None:
    case = healthy()
    case["erp"]["order_ref"] = erp_ref
    assert codes(case) == set()


def test_no_order_ref_complaint_while_the_erp_has_no_record_at_all() -> None:
    case = healthy(days_ago=2, progress="in_transit")
    case["erp"] = {"system": "d365_bc"}
    assert Code.ORDER_REF_MISSING not in codes(case)


# ------------------------------------------------------------------ CUSTOMER_NOT_FOUND


def test_customer_not_found_names_the_erp_customer() -> None:
    finding = only(unknown_erp_customer(), Code.CUSTOMER_NOT_FOUND)
    assert finding.erp_value == "C99999"
    assert "C99999" in finding.message


def test_customer_not_found_from_an_unknown_email_when_erp_has_no_customer() -> None:
    case = healthy()
    case["erp"]["customer_ref"] = None
    case["platform"]["customer_email"] = "nobody@example.com"
    assert codes(case) == {Code.CUSTOMER_NOT_FOUND}


def test_customer_found_by_email_case_insensitively() -> None:
    case = healthy()
    case["erp"]["customer_ref"] = None
    case["platform"]["customer_email"] = "Customer00009@EXAMPLE.com"
    assert codes(case) == set()


@pytest.mark.parametrize("how", ["invoice", "all"])
def test_customer_blocked_for_invoicing_is_customer_not_found(how: str) -> None:
    assert codes(healthy(), ctx_with(block_customer(how))) == {Code.CUSTOMER_NOT_FOUND}


def test_customer_blocked_for_shipping_only_can_still_be_credited() -> None:
    assert codes(healthy(), ctx_with(block_customer("ship"))) == set()


def test_cancelled_return_with_unknown_customer_is_not_reported() -> None:
    case = unknown_erp_customer()
    case["platform"]["stages"]["authorised"]["status"] = "failed"
    assert Code.CUSTOMER_NOT_FOUND not in codes(case)


# ------------------------------------------------------------------ EXTERNAL_REF_CONFLICT


def test_external_ref_conflict_with_another_order() -> None:
    finding = only(credit_note_of_other_order(), Code.EXTERNAL_REF_CONFLICT)
    assert (finding.platform_value, finding.erp_value) == ("#1001", "#999")
    assert finding.line_ref == "PCM000001"


def test_external_ref_conflict_with_another_customer() -> None:
    case = healthy()
    case["erp"]["credit_notes"][0]["customer_ref"] = "C00010"
    assert codes(case) == {Code.EXTERNAL_REF_CONFLICT}
    finding = only(case, Code.EXTERNAL_REF_CONFLICT)
    assert (finding.platform_value, finding.erp_value) == ("C00009", "C00010")


def test_credit_note_order_ref_without_hash_is_no_conflict() -> None:
    case = healthy()
    case["erp"]["credit_notes"][0]["order_ref"] = "1001"
    assert codes(case) == set()


def test_cancelled_credit_note_of_another_order_is_no_conflict() -> None:
    case = healthy()
    other = dict(case["erp"]["credit_notes"][0], id="cm-x", number="PCMX", order_ref="#999",
                 status="cancelled")
    case["erp"]["credit_notes"].append(other)
    assert codes(case) == set()


# ------------------------------------------------------------------ REASON_UNMAPPED


def test_reason_unmapped_names_the_reason() -> None:
    finding = only(unmapped_reason(), Code.REASON_UNMAPPED)
    assert (finding.line_ref, finding.platform_value) == ("TEE-WHT-L", "arrived_late")


def test_reason_mapped_to_a_code_the_erp_lacks_is_unmapped() -> None:
    ctx = ctx_with(lambda ref: ref["mappings"]["reasons"].update(changed_mind="NOLONGER"))
    assert codes(healthy(), ctx) == {Code.REASON_UNMAPPED}


@pytest.mark.parametrize("reason", ["DEFECT", None], ids=["erp-code-as-is", "no-reason"])
def test_reason_that_is_an_erp_code_or_absent_is_not_unmapped(reason: str | None) -> None:
    case = healthy()
    case["platform"]["lines"][0]["reason"] = reason
    assert codes(case) == set()


def test_erp_code_as_reason_is_unmapped_without_identity_fallback() -> None:
    case = healthy()
    case["platform"]["lines"][0]["reason"] = "DEFECT"
    ctx = ctx_with(lambda ref: ref["mappings"].update(identity_fallback=False))
    # membership: with the fallback off, unmapped SKUs may be reported too
    assert Code.REASON_UNMAPPED in codes(case, ctx)


# ------------------------------------------------------------------ DISPOSITION_UNMAPPED


def test_disposition_unmapped_names_the_condition() -> None:
    finding = only(unmapped_condition(), Code.DISPOSITION_UNMAPPED)
    assert (finding.line_ref, finding.platform_value) == ("TEE-WHT-L", "missing_tags")


def test_mapped_condition_in_its_location_is_not_unmapped() -> None:
    case = healthy()
    case["platform"]["lines"][0]["condition"] = "faulty"
    case["erp"]["lines"][0].update(disposition="SUPPLIER", location="QUAR")
    assert codes(case) == set()


def test_line_not_yet_graded_has_no_disposition_to_map() -> None:
    case = healthy(days_ago=3.05, progress="received")
    assert "condition" not in case["platform"]["lines"][0]
    assert codes(case) == set()


# ------------------------------------------------------------------ LOCATION_UNMAPPED


def test_location_unmapped_names_the_location() -> None:
    finding = only(unmapped_location(), Code.LOCATION_UNMAPPED)
    assert (finding.line_ref, finding.platform_value) == ("TEE-WHT-L", "swap-de-hub")


def test_location_mapped_to_a_code_the_erp_lacks_is_unmapped() -> None:
    ctx = ctx_with(lambda ref: ref["mappings"]["locations"].update(
        {"uk-returns": "RTN-OLD"}))
    assert codes(healthy(), ctx) == {Code.LOCATION_UNMAPPED}


def test_location_that_is_an_erp_location_code_is_not_unmapped() -> None:
    case = healthy()
    case["platform"]["lines"][0]["location"] = "RETURNS"
    assert codes(case) == set()


# ------------------------------------------------------------------ FEE_ITEM_UNMAPPED


def test_fee_item_unmapped_names_fee_and_amount() -> None:
    finding = only(unmapped_fee(), Code.FEE_ITEM_UNMAPPED)
    assert (finding.line_ref, finding.platform_value) == ("restocking_fee", "2.50")


def test_fee_mapped_to_a_blocked_service_item_is_unmapped() -> None:
    def block_fee_item(ref: dict) -> None:
        for item in ref["erp_master"]["items"]:
            if item["number"] == "FEE-RETURN":
                item["blocked"] = True
    assert codes(healthy(), ctx_with(block_fee_item)) == {Code.FEE_ITEM_UNMAPPED}


def test_mapped_fee_is_not_unmapped() -> None:
    case = healthy()
    assert case["platform"]["fees"] == [{"type": "handling_fee", "amount": "2.50"}]
    assert Code.FEE_ITEM_UNMAPPED not in codes(case)


# ------------------------------------------------------------------ PAYMENT_METHOD_UNMAPPED


def test_payment_method_unmapped_names_the_method() -> None:
    finding = only(unmapped_payment_method(), Code.PAYMENT_METHOD_UNMAPPED)
    assert finding.platform_value == "klarna"


@pytest.mark.parametrize("method", ["paypal", "CARD", None],
                         ids=["mapped", "erp-code-as-is", "no-method"])
def test_known_or_absent_payment_method_is_not_unmapped(method: str | None) -> None:
    case = healthy()
    case["platform"]["refund_method"] = method
    assert codes(case) == set()


# ------------------------------------------------------------------ PAYLOAD_INVALID


def test_payload_invalid_shows_the_validation_error_at_its_stage() -> None:
    finding = only(invalid_payload(), Code.PAYLOAD_INVALID)
    assert finding.stage is Stage.CREDITED
    assert finding.side is Side.PLATFORM
    assert finding.platform_value.startswith("products[1].item_count")
    assert finding.erp_value is None
    assert "got 'two'" in finding.message


def test_each_invalid_record_is_its_own_finding() -> None:
    case = invalid_payload()
    case["problems"].append({"side": "erp", "record_id": "PCM000001",
                             "error": "amount: not a number"})
    found = [f for f in run(case) if f.code is Code.PAYLOAD_INVALID]
    assert [(f.side, f.erp_value) for f in found] == [
        (Side.PLATFORM, None), (Side.ERP, "amount: not a number")]


def test_no_problems_no_payload_invalid() -> None:
    assert Code.PAYLOAD_INVALID not in codes(healthy())


def test_an_amount_at_risk_before_any_refund_says_its_currency() -> None:
    """A platform that creates its refund only when paid (Shopify) still knows the
    currency of the return's lines: the amount at risk is never a bare number."""
    case = healthy(progress="received")
    add_platform_line(case, "TEE-GRN-XL")
    case["platform"]["refund"] = None
    case["platform"]["currency"] = "EUR"
    finding = only(case, Code.SKU_UNKNOWN)
    assert finding.amount_at_risk is not None and finding.currency == "EUR"

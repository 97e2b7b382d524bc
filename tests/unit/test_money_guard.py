"""Money is sacred (issue 9): a re-queue creates a credit note only for a refund the platform
made, and an ERP credit for a return the platform has not refunded is itself a finding."""

from __future__ import annotations

import pytest

from returns_console.domain.actions import plan_requeue_credit
from returns_console.domain.codes import Action, Code
from returns_console.domain.reference import ErpMaster, Mappings
from tests.factories import codes, context, healthy, only, parse, reference, run


def _plan(case: dict, **master: object):
    ref = reference()
    return plan_requeue_credit(parse(case), Mappings.model_validate(ref["mappings"]),
                               ErpMaster.model_validate({**ref["erp_master"], **master}))


def _no_credit(case: dict) -> dict:
    case["erp"]["credit_notes"] = []
    case["erp"]["stages"].pop("credited", None)
    return case


@pytest.mark.parametrize("progress", ["in_transit", "received", "inspected"])
def test_requeue_refuses_a_return_the_platform_has_not_refunded(progress: str) -> None:
    """Before: a return still in transit or never refunded got a credit memo posted."""
    case = _no_credit(healthy(progress=progress))
    assert case["platform"]["refund"] is not None  # what it would refund, not what it did
    plan = _plan(case)
    assert not plan.allowed and plan.credit is None
    assert "has not refunded" in plan.refusal


def test_requeue_refuses_a_return_that_moves_no_money() -> None:
    case = _no_credit(healthy())
    case["platform"]["refund"] = None
    case["platform"]["stages"]["credited"] = {"status": "not_applicable", "detail": "Recycle"}
    plan = _plan(case)
    assert not plan.allowed and "no refund is owed" in plan.refusal


def test_requeue_allows_a_refunded_return_with_no_credit_note() -> None:
    assert _plan(_no_credit(healthy())).allowed


def test_requeue_is_refused_where_the_erp_cannot_create_credit_notes() -> None:
    plan = _plan(_no_credit(healthy()), creates=["receipt"],
                 instead={"CREDIT_NOTE_MISSING": "Post it by hand."})
    assert not plan.allowed and "Post it by hand." in plan.refusal


def _recycled_but_credited() -> dict:
    case = healthy()
    case["platform"]["refund"] = None
    case["platform"]["refund_method"] = None
    case["platform"]["fees"] = []
    case["platform"]["stages"]["credited"] = {"status": "not_applicable", "detail": "Recycle"}
    return case


def test_a_credit_for_a_return_that_moves_no_money_is_credit_without_refund() -> None:
    found = only(_recycled_but_credited(), Code.CREDIT_WITHOUT_REFUND)
    assert found.severity == "critical" and found.owner == "finance"
    assert found.amount_at_risk is not None and found.erp_value
    assert codes(_recycled_but_credited()) == {Code.CREDIT_WITHOUT_REFUND}


def test_a_credit_before_the_refund_is_a_delay_within_grace_then_an_error() -> None:
    case = healthy(days_ago=8)
    case["platform"]["stages"].pop("credited")
    assert codes(case) >= {Code.CREDIT_WITHOUT_REFUND}
    fresh = healthy(days_ago=8)
    fresh["platform"]["stages"].pop("credited")
    posted = fresh["erp"]["credit_notes"][0]
    found = [f for f in run(fresh, context(now=_just_after(posted["posted_at"])))
             if f.code is Code.CREDIT_WITHOUT_REFUND]
    assert [f.delay for f in found] == [True]


def _just_after(iso: str):
    from datetime import datetime, timedelta
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) + timedelta(hours=1)


def test_amounts_are_not_compared_before_the_platform_refunds() -> None:
    case = healthy()
    case["platform"]["stages"].pop("credited")
    case["erp"]["credit_notes"][0]["amounts"]["tax"] = "1.00"
    assert Code.TAX_MISMATCH not in codes(case)


@pytest.mark.parametrize("code", [Code.RETURN_ORDER_MISSING, Code.RECEIPT_NOT_POSTED])
def test_a_requeue_the_erp_cannot_do_is_not_offered_and_the_finding_says_what_to_do(
        code: Code) -> None:
    case = healthy(progress="received", days_ago=8)
    if code is Code.RETURN_ORDER_MISSING:
        case["erp"] = {"system": case["erp"]["system"]}
    else:
        case["erp"]["stages"] = {"authorised": case["erp"]["stages"]["authorised"]}
        for line in case["erp"]["lines"]:
            line.pop("received_quantity", None)
    ref = reference()
    ref["erp_master"]["creates"] = ["credit_note"]
    ref["erp_master"]["instead"] = {code.value: "Do it in the ERP."}
    found = [f for f in run(case, context(ref)) if f.code is code]
    assert found and all(f.action is Action.NONE and f.todo == "Do it in the ERP."
                         for f in found)
    # without what the ERP can do (a snapshot), the catalogue's action stands
    assert all(f.action is Action.REQUEUE_POSTING and f.todo is None
               for f in run(case) if f.code is code)


def test_item_numbers_follow_the_erps_case_rule() -> None:
    """A storefront SKU `tee-wht-l` is item TEE-WHT-L where the ERP ignores case."""
    case = healthy()
    case["platform"]["lines"][0]["sku"] = "tee-wht-l"
    assert Code.SKU_UNKNOWN in codes(case)  # an ERP that tells case apart
    ref = reference()
    ref["erp_master"]["items_ignore_case"] = True
    assert codes(case, context(ref)) == set()

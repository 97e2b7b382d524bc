"""Rules of kind `sync` (spec section 2): the ERP lacks a posting the platform calls for.

A missing posting within its stage's grace period is a delay; past it, an error.
Default grace: authorised 1 h, received 24 h, credited 24 h, exchanged 24 h.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from returns_console.domain.catalogue import CATALOGUE
from returns_console.domain.codes import Code, Kind, Side, Stage
from tests.factories import assert_catalogue_contract, codes, context, healthy, only

# healthy() timeline, from its start (days_ago before NOW): platform authorised +0,
# in transit +1 d, received +3 d, inspected +3 d 2 h, refunded / exchanged +3 d 3 h / +3 d 2 h;
# ERP return order +10 min, receipt +3 d 1 h, credit note +3 d 4 h.

H = 1 / 24  # one hour, in days




# ------------------------------------------------------------------ bent returns, per code
# Each takes the return's age in days, so the same bend can sit within or past grace.


def no_return_order(days_ago: float = 2 * H) -> dict:
    """Approved on the platform; the ERP has nothing at all."""
    case = healthy(days_ago=days_ago, progress="authorised")
    case["erp"] = {"system": "d365_bc"}
    return case


def erp_only_authorised(case: dict) -> dict:
    case["erp"]["stages"] = {"authorised": case["erp"]["stages"]["authorised"]}
    for line in case["erp"]["lines"]:
        for key in ("received_quantity", "disposition", "location"):
            line.pop(key, None)
    return case


def no_receipt(days_ago: float = 4.3) -> dict:
    """Received on the platform (72 h after start); the ERP has only the return order."""
    return erp_only_authorised(healthy(days_ago=days_ago, progress="received"))


def closed_return_order(days_ago: float = 4.3, state: str = "closed") -> dict:
    case = no_receipt(days_ago)
    case["erp"]["return_order_state"] = state
    case["erp"]["stages"]["authorised"]["detail"] = state.capitalize()
    return case


def no_credit_note(days_ago: float = 6) -> dict:
    """Refunded on the platform (75 h after start); no credit note in the ERP."""
    case = healthy(days_ago=days_ago)
    case["erp"]["credit_notes"] = []
    case["erp"]["stages"].pop("credited")
    return case


def second_credit_note(case: dict, **changes: object) -> dict:
    first = case["erp"]["credit_notes"][0]
    second = dict(first, **{"id": "cm-000001-2", "number": "PCM000001-2",
                            "posted_at": "2026-11-16T20:00:00Z", **changes})
    case["erp"]["credit_notes"].append(second)
    return case


def duplicate_credit_note() -> dict:
    return second_credit_note(healthy())


def no_exchange_order(days_ago: float = 6) -> dict:
    """Exchange shipped on the platform (74 h after start); no replacement order in the ERP."""
    case = healthy(days_ago=days_ago, progress="inspected", exchange=True)
    case["erp"]["stages"].pop("exchanged")
    return case


BENT: dict[Code, Callable[[], dict]] = {
    Code.RETURN_ORDER_MISSING: no_return_order,
    Code.RETURN_ORDER_NOT_OPEN: closed_return_order,
    Code.RECEIPT_NOT_POSTED: no_receipt,
    Code.CREDIT_NOTE_MISSING: no_credit_note,
    Code.CREDIT_NOTE_DUPLICATE: duplicate_credit_note,
    Code.EXCHANGE_ORDER_MISSING: no_exchange_order,
}


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_each_bent_return_yields_exactly_its_code(code: Code) -> None:
    assert codes(BENT[code]()) == {code}


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_finding_carries_the_section_4_fields_consistent_with_the_catalogue(code: Code) -> None:
    finding = only(BENT[code](), code)
    entry = CATALOGUE[code]
    assert_catalogue_contract(finding, code, Kind.SYNC)
    assert (finding.stage, finding.severity, finding.owner) == (
        entry.stage, entry.severity, entry.owner)
    assert finding.side is Side.ERP
    assert finding.age_hours > 0


# ------------------------------------------------------------------ grace periods

# code, bend, platform stage done this long after the return's start (hours)
LAGGING = [
    pytest.param(code, bend, offset, id=code.value)
    for code, bend, offset in (
        (Code.RETURN_ORDER_MISSING, no_return_order, 0),
        (Code.RECEIPT_NOT_POSTED, no_receipt, 72),
        (Code.CREDIT_NOTE_MISSING, no_credit_note, 75),
        (Code.EXCHANGE_ORDER_MISSING, no_exchange_order, 74),
    )
]
GRACE = {Code.RETURN_ORDER_MISSING: 1, Code.RECEIPT_NOT_POSTED: 24,
         Code.CREDIT_NOTE_MISSING: 24, Code.EXCHANGE_ORDER_MISSING: 24}


def lag(bend, offset: float, hours: float) -> dict:
    """The bent return with the platform stage done `hours` before NOW."""
    return bend(days_ago=(offset + hours) * H)


@pytest.mark.parametrize("code, bend, offset", LAGGING)
def test_lag_within_grace_is_a_delay_only(code: Code, bend, offset: float) -> None:
    case = lag(bend, offset, GRACE[code] * 0.5)
    assert codes(case) == set()
    assert codes(case, delays=True) == {code}


@pytest.mark.parametrize("code, bend, offset", LAGGING)
def test_same_lag_past_grace_is_an_error(code: Code, bend, offset: float) -> None:
    case = lag(bend, offset, GRACE[code] * 1.5)
    assert codes(case) == {code}
    assert codes(case, delays=True) == set()


@pytest.mark.parametrize("code, bend, offset", LAGGING)
def test_lag_age_counts_from_the_platform_stage(code: Code, bend, offset: float) -> None:
    finding = only(lag(bend, offset, GRACE[code] * 1.5), code)
    assert finding.age_hours == pytest.approx(GRACE[code] * 1.5)


@pytest.mark.parametrize("code, bend, offset", LAGGING)
def test_grace_is_configurable_per_stage(code: Code, bend, offset: float) -> None:
    case = lag(bend, offset, GRACE[code] * 1.5)
    stage = CATALOGUE[code].stage
    ctx = context(grace_hours={stage.value: GRACE[code] * 2})
    assert codes(case, ctx) == set()
    assert codes(case, ctx, delays=True) == {code}


def test_delay_finding_keeps_the_catalogue_severity_and_is_flagged_as_delay() -> None:
    finding = only(lag(no_credit_note, 75, 2), Code.CREDIT_NOTE_MISSING, delay=True)
    assert finding.severity is CATALOGUE[Code.CREDIT_NOTE_MISSING].severity
    assert finding.to_json()["delay"] is True


# ------------------------------------------------------------------ RETURN_ORDER_MISSING


def test_return_order_missing_shows_the_platform_approval() -> None:
    finding = only(no_return_order(), Code.RETURN_ORDER_MISSING)
    assert finding.platform_value == "approved"
    assert finding.erp_value is None


def test_cancelled_return_needs_no_return_order() -> None:
    case = no_return_order()
    case["platform"]["stages"]["authorised"]["status"] = "failed"
    assert codes(case) == set()
    assert codes(case, delays=True) == set()


def test_return_order_present_is_not_missing() -> None:
    assert codes(healthy(days_ago=2 * H, progress="authorised")) == set()


def test_failed_return_order_posting_is_return_order_missing() -> None:
    case = no_return_order()
    case["erp"]["stages"] = {"authorised": {"status": "failed", "record_ids": []}}
    assert Code.RETURN_ORDER_MISSING in codes(case)


# ------------------------------------------------------------------ RETURN_ORDER_NOT_OPEN


@pytest.mark.parametrize("state", ["on_hold", "closed", "cancelled"])
def test_receipt_against_a_return_order_that_is_not_open(state: str) -> None:
    case = closed_return_order(state=state)
    assert codes(case) == {Code.RETURN_ORDER_NOT_OPEN}
    finding = only(case, Code.RETURN_ORDER_NOT_OPEN)
    assert (finding.platform_value, finding.erp_value) == ("received", state)


def test_a_released_return_order_can_take_the_receipt() -> None:
    """Posting a receipt does not need a released order reopened: the receipt is simply
    missing, not blocked."""
    assert codes(closed_return_order(state="released")) == {Code.RECEIPT_NOT_POSTED}


def test_closed_return_order_that_already_took_the_receipt_is_fine() -> None:
    case = healthy(days_ago=4.3, progress="received")
    case["erp"]["return_order_state"] = "closed"
    assert codes(case) == set()


def test_closed_return_order_before_the_goods_arrive_is_not_reported_yet() -> None:
    case = healthy(days_ago=2, progress="in_transit")
    case["erp"]["return_order_state"] = "closed"
    assert Code.RETURN_ORDER_NOT_OPEN not in codes(case)


# ------------------------------------------------------------------ RECEIPT_NOT_POSTED


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_pending_or_failed_erp_receipt_is_not_posted(status: str) -> None:
    case = no_receipt()
    case["erp"]["stages"]["received"] = {"status": status, "record_ids": []}
    assert codes(case) == {Code.RECEIPT_NOT_POSTED}
    assert only(case, Code.RECEIPT_NOT_POSTED).erp_value == status


def test_posted_receipt_is_not_missing() -> None:
    assert codes(healthy(days_ago=4.3, progress="received")) == set()


def test_no_return_order_at_all_is_return_order_missing_not_receipt_not_posted() -> None:
    case = healthy(days_ago=4.3, progress="received")
    case["erp"] = {"system": "d365_bc"}
    assert codes(case) == {Code.RETURN_ORDER_MISSING}


def test_goods_still_in_transit_need_no_receipt() -> None:
    case = erp_only_authorised(healthy(days_ago=2, progress="in_transit"))
    assert codes(case) == set()
    assert codes(case, delays=True) == set()


# ------------------------------------------------------------------ CREDIT_NOTE_MISSING


def test_credit_note_missing_carries_the_refund_total() -> None:
    finding = only(no_credit_note(), Code.CREDIT_NOTE_MISSING)
    # 178.00 items + 35.60 tax + 4.95 shipping - 2.50 fees
    assert finding.platform_value == "216.05"
    assert finding.erp_value is None


def test_only_a_draft_credit_note_is_still_missing() -> None:
    case = healthy(days_ago=6)
    case["erp"]["credit_notes"][0].update(status="draft", posted_at=None)
    assert codes(case) == {Code.CREDIT_NOTE_MISSING}
    finding = only(case, Code.CREDIT_NOTE_MISSING)
    assert finding.erp_value == "draft"
    assert "draft" in finding.message


def test_only_a_cancelled_credit_note_is_missing() -> None:
    case = healthy(days_ago=6)
    case["erp"]["credit_notes"][0]["status"] = "cancelled"
    assert codes(case) == {Code.CREDIT_NOTE_MISSING}


def test_not_yet_refunded_needs_no_credit_note() -> None:
    case = healthy(days_ago=3.2, progress="inspected")
    assert case["erp"]["credit_notes"] == []
    assert codes(case) == set()
    assert codes(case, delays=True) == set()


# ------------------------------------------------------------------ CREDIT_NOTE_DUPLICATE


def test_two_posted_credit_notes_are_a_duplicate() -> None:
    finding = only(duplicate_credit_note(), Code.CREDIT_NOTE_DUPLICATE)
    assert (finding.platform_value, finding.erp_value) == ("1", "2")
    assert "PCM000001" in finding.message and "PCM000001-2" in finding.message
    assert str(finding.amount_at_risk) == "216.05"


def test_three_posted_credit_notes_are_one_duplicate_finding_counting_three() -> None:
    case = duplicate_credit_note()
    second_credit_note(case, id="cm-000001-3", number="PCM000001-3")
    assert codes(case) == {Code.CREDIT_NOTE_DUPLICATE}
    assert only(case, Code.CREDIT_NOTE_DUPLICATE).erp_value == "3"


def test_second_credit_note_cancelled_is_not_a_duplicate() -> None:
    case = second_credit_note(healthy(), status="cancelled")
    assert codes(case) == set()


def test_one_credit_note_is_not_a_duplicate() -> None:
    assert Code.CREDIT_NOTE_DUPLICATE not in codes(healthy())


# ------------------------------------------------------------------ EXCHANGE_ORDER_MISSING


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_pending_or_failed_exchange_order_is_missing(status: str) -> None:
    case = no_exchange_order()
    case["erp"]["stages"]["exchanged"] = {"status": status, "record_ids": []}
    assert codes(case) == {Code.EXCHANGE_ORDER_MISSING}


def test_exchange_with_its_replacement_order_is_fine() -> None:
    assert codes(healthy(days_ago=6, progress="inspected", exchange=True)) == set()


def test_exchange_not_yet_shipped_needs_no_replacement_order() -> None:
    case = healthy(days_ago=3.05, progress="received", exchange=True)
    assert "exchanged" not in case["platform"]["stages"]
    assert codes(case) == set()
    assert codes(case, delays=True) == set()


def test_exchange_order_missing_stage_is_exchanged() -> None:
    assert only(no_exchange_order(), Code.EXCHANGE_ORDER_MISSING).stage is Stage.EXCHANGED

"""Rules of kind `timing` (spec section 2): things happened in the wrong order, or are late.

Within the grace period of its stage a timing exception is a delay: shown, not alarmed on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from returns_console.domain.catalogue import CATALOGUE
from returns_console.domain.codes import Code, Kind, Owner, Severity, Side, Stage
from tests.factories import NOW, assert_catalogue_contract, codes, context, healthy, only, run

# healthy(days_ago=8) starts 2026-11-13T10:00Z. Platform: authorised 13th 10:00, in transit
# 14th 10:00, received 16th 10:00, inspected 12:00, refunded 13:00, restocked 15:00.
# ERP: return order 13th 10:10, receipt 16th 11:00, inspected 12:30, credit note 14:00
# (posting date 16th), restocked 15:00. Periods before October 2026 are closed.

H = 1 / 24  # one hour, in days




def everything(case: dict, ctx=None) -> set[Code]:
    """Codes reported at all, as errors or as delays."""
    return codes(case, ctx) | codes(case, ctx, delays=True)


def stage(case: dict, side: str, name: str) -> dict:
    return case[side]["stages"][name]


# ------------------------------------------------------------------ bent returns, per code


def refunded_at_drop_off() -> dict:
    """Refunded when the parcel was dropped off, two days before the ERP receipt."""
    case = healthy()
    stage(case, "platform", "credited")["at"] = "2026-11-14T10:00:00Z"
    return case


def restocked_in_transit() -> dict:
    case = healthy()
    stage(case, "platform", "restocked")["at"] = "2026-11-14T10:00:00Z"
    case["erp"]["stages"].pop("restocked")
    return case


def in_closed_september() -> dict:
    """Refund 25 Sep 13:00, credit note posted 25 Sep 14:00: all in the closed September."""
    case = healthy(days_ago=60)
    assert stage(case, "platform", "credited")["at"] == "2026-09-25T13:00:00Z"
    assert case["erp"]["credit_notes"][0]["posting_date"] == "2026-09-25"
    return case


def book_credit(case: dict, posting_date: str, posted_at: str) -> dict:
    case["erp"]["credit_notes"][0].update(posting_date=posting_date, posted_at=posted_at)
    return case


def credit_booked_in_october() -> dict:
    return book_credit(in_closed_september(), "2026-10-01", "2026-10-01T09:00:00Z")


def in_transit_for(hours: float, **kw: object) -> dict:
    """Parcel in transit (pending since one day after the start) for `hours`."""
    return healthy(days_ago=(24 + hours) * H, progress="in_transit", **kw)


BENT: dict[Code, Callable[[], dict]] = {
    Code.CREDIT_BEFORE_RECEIPT: refunded_at_drop_off,
    Code.PREMATURE_RESTOCK: restocked_in_transit,
    Code.CLOSED_PERIOD: credit_booked_in_october,
    Code.STAGE_OVERDUE: lambda: in_transit_for(20 * 24),
}


def test_the_returns_these_tests_bend_have_no_finding() -> None:
    for case in (healthy(), in_closed_september(), in_transit_for(24)):
        assert run(case) == []


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_each_bent_return_yields_exactly_its_code(code: Code) -> None:
    assert codes(BENT[code]()) == {code}


@pytest.mark.parametrize("code", list(BENT), ids=str)
def test_finding_carries_the_section_4_fields_consistent_with_the_catalogue(code: Code) -> None:
    finding = only(BENT[code](), code)
    assert_catalogue_contract(finding, code, Kind.TIMING)
    if code is not Code.STAGE_OVERDUE:
        assert finding.severity is CATALOGUE[code].severity
    assert finding.age_hours > 0
    assert finding.delay is False


# ------------------------------------------------------------------ CREDIT_BEFORE_RECEIPT


def test_credit_before_receipt_even_when_the_amounts_agree() -> None:
    case = refunded_at_drop_off()
    assert case["platform"]["refund"] == case["erp"]["credit_notes"][0]["amounts"]
    assert codes(case) == {Code.CREDIT_BEFORE_RECEIPT}


def test_credit_before_receipt_shows_both_timestamps_and_ages_from_the_refund() -> None:
    finding = only(refunded_at_drop_off(), Code.CREDIT_BEFORE_RECEIPT)
    assert (finding.platform_value, finding.erp_value) == (
        "2026-11-14T10:00:00Z", "2026-11-16T11:00:00Z")
    assert finding.age_hours == pytest.approx(7 * 24)


def test_erp_credit_note_posted_before_the_erp_receipt_is_credit_before_receipt() -> None:
    case = book_credit(healthy(), "2026-11-14", "2026-11-14T12:00:00Z")
    assert codes(case) == {Code.CREDIT_BEFORE_RECEIPT}


def test_refund_after_the_erp_receipt_is_fine() -> None:
    assert Code.CREDIT_BEFORE_RECEIPT not in everything(healthy())


def test_refund_without_return_needs_no_receipt() -> None:
    case = refunded_at_drop_off()
    stage(case, "erp", "received").update(status="not_applicable")
    assert Code.CREDIT_BEFORE_RECEIPT not in everything(case)


def test_an_erp_credit_on_a_declined_return_is_not_credit_before_receipt() -> None:
    """No goods are coming back for a return the platform declined: a credit memo there is
    money the platform never paid (CREDIT_WITHOUT_REFUND), not an early refund."""
    case = book_credit(healthy(), "2026-11-14", "2026-11-14T12:00:00Z")
    stage(case, "platform", "authorised")["status"] = "failed"
    for name in ("in_transit", "received", "inspected", "credited"):
        case["platform"]["stages"].pop(name, None)
    case["platform"]["refund"] = None
    assert Code.CREDIT_BEFORE_RECEIPT not in everything(case)
    assert Code.CREDIT_WITHOUT_REFUND in everything(case)


def refunded_awaiting_receipt(hours: float) -> dict:
    """Refunded `hours` ago; the ERP has the credit note but no receipt yet."""
    case = healthy(days_ago=(75 + hours) * H)
    case["erp"]["stages"] = {k: v for k, v in case["erp"]["stages"].items()
                             if k in ("authorised", "credited")}
    return case


def test_refund_awaiting_the_receipt_within_grace_is_a_delay() -> None:
    case = refunded_awaiting_receipt(2)
    assert codes(case) == set()
    assert Code.CREDIT_BEFORE_RECEIPT in codes(case, delays=True)


def test_refund_awaiting_the_receipt_past_grace_is_an_error() -> None:
    case = refunded_awaiting_receipt(30)
    assert Code.CREDIT_BEFORE_RECEIPT in codes(case)
    assert Code.CREDIT_BEFORE_RECEIPT not in codes(case, delays=True)
    # the receipt itself is also overdue
    assert Code.RECEIPT_NOT_POSTED in codes(case)


def test_refund_shortly_before_the_erp_receipt_is_within_grace_and_not_reported() -> None:
    """A gap shorter than the credited grace that has closed is the integration's normal
    lag (e.g. a receipt posted with the credit memo an hour after the refund), not a
    liability gap: reporting it would flag most returns of such a flow."""
    case = healthy()
    stage(case, "platform", "credited")["at"] = "2026-11-16T10:30:00Z"  # receipt 11:00
    assert Code.CREDIT_BEFORE_RECEIPT not in everything(case)


def test_refund_before_a_receipt_still_missing_is_a_delay_within_grace() -> None:
    case = healthy()
    stage(case, "platform", "credited")["at"] = "2026-11-21T08:00:00Z"
    case["erp"]["stages"].pop("received")
    case["erp"]["credit_notes"] = []
    case["erp"]["stages"].pop("credited")
    assert Code.CREDIT_BEFORE_RECEIPT in codes(case, delays=True)
    assert Code.CREDIT_BEFORE_RECEIPT not in codes(case)


# ------------------------------------------------------------------ PREMATURE_RESTOCK


def test_premature_restock_shows_both_timestamps() -> None:
    finding = only(restocked_in_transit(), Code.PREMATURE_RESTOCK)
    assert (finding.platform_value, finding.erp_value) == (
        "2026-11-14T10:00:00Z", "2026-11-16T12:30:00Z")


def test_erp_restock_before_the_erp_inspection_is_premature() -> None:
    case = healthy()
    case["platform"]["stages"].pop("restocked")
    stage(case, "erp", "restocked")["at"] = "2026-11-16T11:00:00Z"
    assert codes(case) == {Code.PREMATURE_RESTOCK}


def test_restock_after_inspection_is_fine() -> None:
    assert Code.PREMATURE_RESTOCK not in everything(healthy())


def restocked_before_inspection(minutes_ago: int) -> dict:
    """Received 4.8 h ago, not yet inspected anywhere, restocked `minutes_ago`."""
    case = healthy(days_ago=3.2, progress="received")
    at = NOW - timedelta(minutes=minutes_ago)
    case["platform"]["stages"]["restocked"] = {"status": "done", "at": at.isoformat()}
    return case


def test_restocked_not_yet_inspected_within_grace_is_a_delay() -> None:
    case = restocked_before_inspection(30)
    assert codes(case) == set()
    assert codes(case, delays=True) == {Code.PREMATURE_RESTOCK}


def test_restocked_not_yet_inspected_past_grace_is_an_error() -> None:
    case = restocked_before_inspection(120)
    assert codes(case) == {Code.PREMATURE_RESTOCK}
    assert "not inspected" in only(case, Code.PREMATURE_RESTOCK).message


# ------------------------------------------------------------------ CLOSED_PERIOD


def test_refund_in_closed_month_credit_booked_next_month_is_closed_period() -> None:
    finding = only(credit_booked_in_october(), Code.CLOSED_PERIOD)
    assert (finding.platform_value, finding.erp_value) == ("2026-09-25", "2026-10-01")
    assert "Sep 2026" in finding.message


def test_refund_in_closed_month_with_no_credit_is_closed_period() -> None:
    case = in_closed_september()
    case["erp"]["credit_notes"] = []
    case["erp"]["stages"].pop("credited")
    found = codes(case)
    # the missing credit note is its own sync finding
    assert found == {Code.CLOSED_PERIOD, Code.CREDIT_NOTE_MISSING}
    assert only(case, Code.CLOSED_PERIOD).erp_value is None


def test_refund_and_credit_in_the_same_closed_month_is_fine() -> None:
    assert everything(in_closed_september()) == set()


def test_refund_on_the_closed_month_s_last_evening_booked_after_midnight() -> None:
    case = in_closed_september()
    stage(case, "platform", "credited")["at"] = "2026-09-30T23:00:00Z"
    book_credit(case, "2026-10-01", "2026-10-01T00:00:00Z")
    assert codes(case) == {Code.CLOSED_PERIOD}


def test_refund_on_the_closed_month_s_last_evening_booked_that_evening_is_fine() -> None:
    case = in_closed_september()
    stage(case, "platform", "credited")["at"] = "2026-09-30T23:00:00Z"
    book_credit(case, "2026-09-30", "2026-09-30T23:30:00Z")
    assert codes(case) == set()


def test_refund_in_an_open_month_credited_the_next_month_is_fine() -> None:
    case = healthy(days_ago=40)  # refunded 15 Oct
    book_credit(case, "2026-11-02", "2026-11-02T09:00:00Z")
    assert Code.CLOSED_PERIOD not in everything(case)


# ------------------------------------------------------------------ STAGE_OVERDUE


def test_stage_overdue_names_its_stage_owner_and_both_sides() -> None:
    finding = only(in_transit_for(20 * 24), Code.STAGE_OVERDUE)
    assert finding.stage is Stage.IN_TRANSIT
    assert finding.owner is Owner.OPERATIONS
    assert finding.side is Side.PLATFORM
    assert (finding.platform_value, finding.erp_value) == ("In-Transit", "not_started")
    assert finding.age_hours == pytest.approx(20 * 24)


def test_in_transit_within_its_grace_is_not_overdue() -> None:
    case = in_transit_for(13 * 24)  # grace 14 days
    assert everything(case) == set()


# grace overridden to 10 h; medium past 3 x grace, high past 7 x grace
@pytest.mark.parametrize(
    "hours, severity",
    [(11, Severity.LOW), (29, Severity.LOW), (30, Severity.LOW), (31, Severity.MEDIUM),
     (69, Severity.MEDIUM), (70, Severity.MEDIUM), (71, Severity.HIGH), (500, Severity.HIGH)],
)
def test_overdue_severity_rises_with_age(hours: float, severity: Severity) -> None:
    ctx = context(grace_hours={"in_transit": 10})
    finding = only(in_transit_for(hours), Code.STAGE_OVERDUE, ctx)
    assert finding.severity is severity


def test_overdue_severity_thresholds_follow_the_policy_factors() -> None:
    ctx = context(grace_hours={"in_transit": 10}, overdue_medium_factor=2,
                  overdue_high_factor=4)
    assert only(in_transit_for(25), Code.STAGE_OVERDUE, ctx).severity is Severity.MEDIUM
    assert only(in_transit_for(45), Code.STAGE_OVERDUE, ctx).severity is Severity.HIGH


@pytest.mark.parametrize(
    "hours, severity",
    [(80, Severity.LOW), (250, Severity.MEDIUM), (600, Severity.HIGH)],
)
def test_received_not_inspected_is_overdue_at_the_inspected_stage(hours, severity) -> None:
    case = healthy(days_ago=(72 + hours) * H, progress="received")
    finding = only(case, Code.STAGE_OVERDUE)
    assert (finding.stage, finding.owner, finding.severity) == (
        Stage.INSPECTED, Owner.OPERATIONS, severity)


def test_received_not_inspected_within_grace_is_not_overdue() -> None:
    case = healthy(days_ago=(72 + 60) * H, progress="received")
    assert everything(case) == set()


@pytest.mark.parametrize(
    "hours, severity",
    [(30, Severity.LOW), (100, Severity.MEDIUM), (200, Severity.HIGH)],
)
def test_inspected_not_refunded_is_overdue_and_owned_by_finance(hours, severity) -> None:
    case = healthy(days_ago=(74 + hours) * H, progress="inspected")
    assert codes(case) == {Code.STAGE_OVERDUE}
    finding = only(case, Code.STAGE_OVERDUE)
    assert (finding.stage, finding.owner, finding.severity) == (
        Stage.CREDITED, Owner.FINANCE, severity)


def inspected_only_on_platform(hours: float) -> dict:
    """Inspected on the platform `hours` ago (an exchange: no refund due); not in the ERP."""
    case = healthy(days_ago=(74 + hours) * H, progress="inspected", exchange=True)
    case["erp"]["stages"].pop("inspected")
    return case


def test_erp_inspection_lagging_within_grace_is_a_delay() -> None:
    case = inspected_only_on_platform(10)
    assert codes(case) == set()
    finding = only(case, Code.STAGE_OVERDUE, delay=True)
    assert (finding.stage, finding.side) == (Stage.INSPECTED, Side.ERP)


def test_erp_inspection_lagging_past_grace_is_an_error() -> None:
    case = inspected_only_on_platform(80)
    assert codes(case) == {Code.STAGE_OVERDUE}
    assert codes(case, delays=True) == set()
    assert only(case, Code.STAGE_OVERDUE).side is Side.ERP


def test_cancelled_return_is_never_overdue() -> None:
    case = in_transit_for(20 * 24)
    stage(case, "platform", "authorised")["status"] = "failed"
    assert Code.STAGE_OVERDUE not in everything(case)


def test_return_delivered_is_not_overdue_in_transit() -> None:
    assert Code.STAGE_OVERDUE not in everything(healthy(days_ago=40))

"""The month-end close view (issue 10.13): what stops an accounting period from closing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from returns_console.domain.close import close_period, find_period
from returns_console.domain.codes import Code
from returns_console.domain.reconcile import reconcile_case
from returns_console.domain.reference import AccountingPeriod, ErpMaster
from tests.factories import NOW, context, healthy, parse

MASTER = ErpMaster(periods=(AccountingPeriod(start=date(2026, 10, 1), name="Oct 2026",
                                             closed=True),
                            AccountingPeriod(start=date(2026, 11, 1), name="Nov 2026"),
                            AccountingPeriod(start=date(2026, 12, 1), name="Dec 2026")))
NOV = find_period(MASTER, "2026-11", NOW.date())


def close(*cases: dict):
    parsed = [parse(c) for c in cases]
    findings = [f for c in parsed for f in reconcile_case(c, context())]
    return close_period(parsed, findings, MASTER, NOV)


def refunded(**note: object) -> dict:
    """A return refunded in November (8 days before NOW, 2026-11-21)."""
    case = healthy(days_ago=8)
    case["erp"]["credit_notes"][0].update(note)
    return case


def test_a_healthy_month_has_nothing_blocking_it() -> None:
    view = close(refunded())
    assert view.refunded == 1 and view.blockers == []
    assert view.to_json()["blocking_returns"] == 0


def test_refunds_with_no_credit_note_or_a_draft_block_the_period() -> None:
    missing = refunded()
    missing["erp"]["credit_notes"] = []
    missing["erp"]["stages"].pop("credited")
    draft = refunded(status="draft", posted_at=None)
    draft["platform"]["return_ref"] = draft["erp"]["return_ref"] = "R-DRAFT"
    view = close(missing, draft)
    assert sorted(b.reason for b in view.blockers) == ["draft_not_posted", "no_credit_note"]
    totals = view.totals()["GBP"]
    assert totals["total"] == Decimal("2") * healthy_total()
    assert totals["tax"] == Decimal("71.20")
    assert view.by_owner() == {"finance": {"GBP": totals["total"]}}


def healthy_total() -> Decimal:
    return parse(healthy()).platform.refund.total


def test_a_credit_posted_into_a_later_period_blocks_the_refunds_period() -> None:
    view = close(refunded(posting_date="2026-12-02", posted_at="2026-12-02T00:00:00Z"))
    (blocker,) = view.blockers
    assert blocker.reason == "credit_in_later_period"
    assert blocker.posting_period == "Dec 2026 (open)" and blocker.document


def test_a_credit_posted_in_the_period_that_disagrees_blocks_it_with_the_difference() -> None:
    case = refunded()
    case["erp"]["credit_notes"][0]["amounts"]["tax"] = "34.60"
    (blocker,) = close(case).blockers
    assert (blocker.reason, blocker.code) == ("mismatch", Code.TAX_MISMATCH)
    assert blocker.money.total == Decimal("1.00") and blocker.money.tax == Decimal("1.00")
    assert blocker.posting_period == "Nov 2026 (open)"


def test_periods_by_month_by_name_and_the_calendar_when_the_erp_has_none() -> None:
    assert (NOV.start, NOV.end, NOV.closed) == (date(2026, 11, 1), date(2026, 11, 30), False)
    assert find_period(MASTER, "oct 2026", NOW.date()).closed
    assert find_period(MASTER, None, NOW.date()) == NOV
    calendar = find_period(ErpMaster(), "2026-02", NOW.date())
    assert (calendar.end, calendar.from_erp) == (date(2026, 2, 28), False)
    with pytest.raises(ValueError, match="no accounting period"):
        find_period(MASTER, "Q4", NOW.date())

"""Planning operator actions (pure): what changes, which returns it touches, and refusals
with a reason (nothing is ever sent for a refused plan)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from returns_console.domain.actions import (
    plan_fix_reference,
    plan_remap_code,
    plan_remap_sku,
    plan_requeue_credit,
)
from returns_console.domain.codes import Code
from returns_console.services.check import check_snapshot
from returns_console.services.snapshot_io import load_snapshot

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
REPORT = check_snapshot(SNAPSHOT)
CASES = list(SNAPSHOT.returns)
MASTER, MAPPINGS = SNAPSHOT.erp_master, SNAPSHOT.mappings


def finding(code: Code):
    return next(f for f in REPORT.findings if f.code == code)


def case_of(ref: str):
    return next(c for c in CASES if c.return_ref == ref)


def active_item() -> str:
    return next(n for n, i in MASTER.items.items() if not i.blocked and i.type == "inventory")


def test_remap_sku_touches_every_return_with_that_sku_and_fixes_the_finding() -> None:
    sku = finding(Code.SKU_UNKNOWN).platform_value
    plan = plan_remap_sku(MAPPINGS, MASTER, CASES, sku, active_item())
    assert plan.allowed
    assert finding(Code.SKU_UNKNOWN).return_ref in plan.returns
    assert all(any(ln.sku == sku for ln in case_of(r).platform.lines) for r in plan.returns)
    assert plan.mappings is not None and plan.mappings.skus[sku].item_no == active_item()
    fixed = check_snapshot(SNAPSHOT.model_copy(update={"mappings": plan.mappings}))
    assert not [f for f in fixed.findings if f.code == Code.SKU_UNKNOWN
                and f.platform_value == sku]


@pytest.mark.parametrize(("item", "why"), [("NO-SUCH-ITEM", "does not exist"),
                                           (None, "blocked")])
def test_remap_sku_refuses_unknown_and_blocked_items(item, why) -> None:
    if item is None:
        item = next(n for n, i in MASTER.items.items() if i.blocked)
    plan = plan_remap_sku(MAPPINGS, MASTER, CASES, "ANY-SKU", item)
    assert not plan.allowed and why in plan.refusal and plan.mappings is None


@pytest.mark.parametrize("factor", ["0", "-1", "abc", "NaN"])
def test_remap_sku_refuses_a_factor_that_is_not_a_positive_number(factor) -> None:
    assert not plan_remap_sku(MAPPINGS, MASTER, CASES, "X", active_item(), factor).allowed


def test_remap_code_checks_the_erp_list_and_touches_returns_with_that_code() -> None:
    f = finding(Code.REASON_UNMAPPED)
    code = f.platform_value
    reason = sorted(MASTER.reasons)[0]
    plan = plan_remap_code(MAPPINGS, MASTER, CASES, "reason", code, reason)
    assert plan.allowed and f.return_ref in plan.returns
    assert plan.mappings.reasons[code] == reason
    bad = plan_remap_code(MAPPINGS, MASTER, CASES, "reason", code, "NOT-A-REASON")
    assert not bad.allowed and "not a reason code" in bad.refusal


def test_a_disposition_needs_an_existing_location() -> None:
    assert "location" in plan_remap_code(MAPPINGS, MASTER, CASES, "disposition", "damaged",
                                         "SCRAP").refusal
    assert "does not exist" in plan_remap_code(MAPPINGS, MASTER, CASES, "disposition",
                                               "damaged", "SCRAP", "NOWHERE").refusal


def test_fix_reference_refuses_empty_and_already_used_references() -> None:
    f = finding(Code.ERP_RECORD_UNLINKED)
    case = case_of(f.return_ref)
    record = next(n.raw_ref for n in case.erp.credit_notes if n.raw_ref) if any(
        n.raw_ref for n in case.erp.credit_notes) else "d365_bc:salesCreditMemos:x"
    assert "empty" in plan_fix_reference(case, record, "  ", CASES).refusal
    taken = next(c for c in CASES if c.erp.credit_notes and not c.unlinked
                 and c.return_ref != f.return_ref)
    plan = plan_fix_reference(case, record, taken.return_ref, CASES)
    assert not plan.allowed and "already used" in plan.refusal
    free = next(c for c in CASES if not c.erp.stages and not c.erp.credit_notes)
    ok = plan_fix_reference(case, record, free.return_ref, CASES, current=f.return_ref)
    assert ok.allowed and ok.after == {"link": free.return_ref}


def test_requeue_builds_the_credit_from_the_platform_with_mappings_applied() -> None:
    f = finding(Code.CREDIT_NOTE_MISSING)
    case = case_of(f.return_ref)
    plan = plan_requeue_credit(case, MAPPINGS, MASTER)
    assert plan.allowed, plan.refusal
    credit = plan.credit
    assert credit.link == f.return_ref and credit.currency == case.platform.refund.currency
    assert len(credit.lines) == len(case.platform.lines)
    for line, source in zip(credit.lines, case.platform.lines, strict=True):
        mapped = MAPPINGS.sku(source.sku)
        assert line.item_no == mapped.item_no
        assert line.quantity == source.quantity * mapped.factor
    assert isinstance(credit.lines[0].quantity, Decimal)


def test_requeue_refuses_when_a_credit_note_exists_or_nothing_was_refunded() -> None:
    with_note = next(c for c in CASES if c.erp.credit_notes and c.platform.refund)
    plan = plan_requeue_credit(with_note, MAPPINGS, MASTER)
    assert not plan.allowed and "already has credit note" in plan.refusal
    exchange = next(c for c in CASES if c.platform.refund is None and not c.erp.credit_notes)
    assert "no refund" in plan_requeue_credit(exchange, MAPPINGS, MASTER).refusal


def test_fix_reference_suggests_the_typo_first_and_warns_on_amount_or_customer() -> None:
    """Issue 10.6: suggestions ranked by edit distance, then date and amount; a link to a
    return refunding another amount, or another customer's, is warned about."""
    from returns_console.domain.actions import suggest_links

    unlinked = next(c for c in CASES if c.unlinked)
    meant = unlinked.return_ref[:-1]  # the planted typo: one digit too many
    assert suggest_links(unlinked, CASES)[0] == meant
    record = "d365_bc:salesCreditMemos:" + unlinked.erp.credit_notes[0].id
    right = plan_fix_reference(unlinked, record, meant, CASES)
    assert right.allowed and not [c for c in right.changes if c.startswith("warning")]
    other = next(c for c in CASES if c.platform.refund and not c.unlinked and c.erp.customer_ref
                 and c.platform.refund.total != unlinked.erp.credit_notes[0].amounts.total
                 and c.erp.customer_ref != unlinked.erp.customer_ref
                 and not c.erp.credit_notes)
    wrong = plan_fix_reference(unlinked, record, other.return_ref, CASES)
    warnings = [c for c in wrong.changes if c.startswith("warning")]
    assert any("refunded" in w for w in warnings) and any("customer" in w for w in warnings)


WAYS = ("StockCode", "OtherRef", "Barcode", "WebCode")  # Khaos's MappingTypes (KC §4)


def test_remap_sku_by_another_way_is_refused_where_the_erp_has_none() -> None:
    plan = plan_remap_sku(MAPPINGS, MASTER, CASES, "ANY-SKU", active_item(),
                          match_by="Barcode")
    assert not plan.allowed and "only by their number" in plan.refusal
    plan = plan_remap_sku(MAPPINGS, MASTER, CASES, "ANY-SKU", active_item(),
                          match_by="Colour", ways=WAYS)
    assert not plan.allowed and "Barcode" in plan.refusal


def test_remap_sku_by_barcode_is_not_checked_against_items_named_by_stock_code() -> None:
    """An item Khaos finds by barcode cannot be looked up among items it names by stock
    code: mapped as given, said in the plan, and no SKU finding made of it after."""
    master = MASTER.model_copy(update={"items_by": "StockCode"})
    sku = finding(Code.SKU_UNKNOWN).platform_value
    plan = plan_remap_sku(MAPPINGS, master, CASES, sku, "5012345678900", match_by="barcode",
                          ways=WAYS)
    assert plan.allowed, plan.refusal
    mapped = plan.mappings.skus[sku]
    assert (mapped.item_no, mapped.match_by) == ("5012345678900", "Barcode")
    assert any("not checked" in change for change in plan.changes)
    fixed = check_snapshot(SNAPSHOT.model_copy(update={"mappings": plan.mappings,
                                                       "erp_master": master}))
    assert not [f for f in fixed.findings if f.code in (Code.SKU_UNKNOWN, Code.SKU_INACTIVE)
                and f.platform_value == sku]
    # by its stock code, the same number is checked and refused
    checked = plan_remap_sku(MAPPINGS, master, CASES, sku, "5012345678900",
                             match_by="StockCode", ways=WAYS)
    assert not checked.allowed and "does not exist" in checked.refusal

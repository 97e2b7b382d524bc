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


# -- re-queue of a missing receipt ------------------------------------------------------------


def _awaiting_receipt(*, inspected: bool = True, back: str | None = "1",
                      kept: str | None = "0"):
    """The planted RECEIPT_NOT_POSTED return, inspected on the platform (or not) with its
    lines' units settled as `back` restocked and `kept` not."""
    from dataclasses import replace

    from returns_console.domain.codes import Stage, StageStatus
    from returns_console.domain.model import StageView

    case = case_of(finding(Code.RECEIPT_NOT_POSTED).return_ref)
    p = case.platform
    stages = dict(p.stages)
    if inspected:
        stages[Stage.INSPECTED] = StageView(status=StageStatus.DONE,
                                            at=p.stages[Stage.RECEIVED].at)
    else:
        stages.pop(Stage.INSPECTED, None)
    settled = Decimal(back or 0) + Decimal(kept or 0)
    lines = tuple(replace(ln, restocked_quantity=None if back is None else Decimal(back),
                          not_restocked_quantity=None if kept is None else Decimal(kept),
                          quantity=max(ln.quantity, settled),
                          received_quantity=max(ln.received_quantity or 0, settled))
                  for ln in p.lines)
    erp = dict(case.erp.stages)  # the return order as a live read keeps it (a raw ref)
    erp[Stage.AUTHORISED] = replace(erp[Stage.AUTHORISED], raw_ref="erp:returnOrders:7",
                                    record_ids=("RMA7",))
    return replace(case, platform=replace(p, stages=stages, lines=lines),
                   erp=replace(case.erp, stages=erp))


def _receipt_master(creates=frozenset({"credit_note", "receipt"})):
    return MASTER.model_copy(update={"creates": creates})


def test_a_receipt_receives_what_the_platform_received_in_erp_units() -> None:
    from returns_console.domain.actions import plan_requeue_receipt

    case = _awaiting_receipt(back="1", kept="1")
    plan = plan_requeue_receipt(case, MAPPINGS, _receipt_master())
    assert plan.allowed, plan.refusal
    assert plan.parameters["creates"] == "receipt" and plan.receipt is not None
    for line, source in zip(plan.receipt.lines, case.platform.lines, strict=True):
        factor = MAPPINGS.sku(source.sku).factor
        assert (line.quantity, line.restocked) == (2 * factor, factor)


@pytest.mark.parametrize(("case", "why"), [
    (lambda: _awaiting_receipt(inspected=False), "not finished deciding"),
    (lambda: _awaiting_receipt(back=None), "does not say per line"),
    (lambda: _awaiting_receipt(back="0", kept="0"), "nothing to receive"),
])
def test_a_receipt_waits_for_the_platform_to_settle_every_unit(case, why) -> None:
    from returns_console.domain.actions import plan_requeue_receipt

    plan = plan_requeue_receipt(case(), MAPPINGS, _receipt_master())
    assert not plan.allowed and why in plan.refusal and plan.receipt is None


def test_a_receipt_is_only_for_goods_the_platform_received() -> None:
    from dataclasses import replace

    from returns_console.domain.actions import plan_requeue_receipt
    from returns_console.domain.codes import Stage

    case = _awaiting_receipt()
    stages = {k: v for k, v in case.platform.stages.items() if k is not Stage.RECEIVED}
    plan = plan_requeue_receipt(replace(case, platform=replace(case.platform, stages=stages)),
                                MAPPINGS, _receipt_master())
    assert not plan.allowed and "has not received the goods" in plan.refusal


def test_a_receipt_is_refused_where_the_erp_cannot_make_one_or_has_one() -> None:
    from dataclasses import replace

    from returns_console.domain.actions import plan_requeue_receipt
    from returns_console.domain.codes import Stage, StageStatus
    from returns_console.domain.model import StageView

    case = _awaiting_receipt()
    plan = plan_requeue_receipt(case, MAPPINGS, _receipt_master(frozenset({"credit_note"})))
    assert not plan.allowed and "cannot make receipts" in plan.refusal
    received = {**case.erp.stages, Stage.RECEIVED: StageView(status=StageStatus.DONE,
                                                             record_ids=("RR-1",))}
    plan = plan_requeue_receipt(replace(case, erp=replace(case.erp, stages=received)),
                                MAPPINGS, _receipt_master())
    assert not plan.allowed and "RR-1" in plan.refusal and "received already" in plan.refusal
    held = replace(case, erp=replace(case.erp, return_order_state="on_hold"))
    plan = plan_requeue_receipt(held, MAPPINGS, _receipt_master())
    assert not plan.allowed and "awaits approval" in plan.refusal


def test_a_receipt_never_takes_more_than_arrived_and_one_item_is_one_line() -> None:
    """More units settled than arrived (a platform that counts a unit twice) is refused;
    two SKUs of one ERP item are one receipt line, their units added."""
    from dataclasses import replace

    from returns_console.domain.actions import plan_requeue_receipt

    case = _awaiting_receipt(back="1", kept="1")
    over = replace(case, platform=replace(case.platform, lines=tuple(
        replace(ln, received_quantity=Decimal(1)) for ln in case.platform.lines)))
    plan = plan_requeue_receipt(over, MAPPINGS, _receipt_master())
    assert not plan.allowed and "than arrived" in plan.refusal
    first = case.platform.lines[0]
    twice = replace(case, platform=replace(case.platform, lines=(
        first, replace(first, line_ref=first.line_ref + "-b"))))
    plan = plan_requeue_receipt(twice, MAPPINGS, _receipt_master())
    assert plan.allowed, plan.refusal
    (line,) = plan.receipt.lines
    factor = MAPPINGS.sku(first.sku).factor
    assert (line.quantity, line.restocked) == (4 * factor, 2 * factor)

"""Rules of kind `sync`: the ERP is missing a posting the platform's progress calls for.

A missing posting within its stage's grace period is a delay (shown, not alarmed on);
past it, an error.
"""

from __future__ import annotations

from decimal import Decimal

from ..codes import (
    AUTHORISED,
    CREDITED,
    EXCHANGED,
    FAILED,
    NOT_STARTED,
    PENDING,
    RECEIVED,
    Code,
    Side,
    Stage,
)
from ..findings import Finding
from ..view import CaseView

NONE: tuple[Finding, ...] = ()
_NOT_THERE = (NOT_STARTED, PENDING, FAILED)
#: Return order states that cannot take a receipt. A released order can (posting a
#: receipt does not need it reopened); one awaiting approval, closed or cancelled cannot.
NOT_OPEN_STATES = ("on_hold", "closed", "cancelled")


def _lagging(
    v: CaseView, code: Code, stage: Stage, message: str, *,
    platform_value: object = None, erp_value: object = None,
) -> list[Finding] | tuple[Finding, ...]:
    """The ERP has not done `stage` although the platform has: an error past grace."""
    since = v.pdone.get(stage)
    overdue = v.overdue(stage, since)
    if overdue is None:
        return NONE
    return [
        v.finding(code, message, stage=stage, since=since, side=Side.ERP, delay=not overdue,
                  platform_value=platform_value, erp_value=erp_value)
    ]


def return_order_missing(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Approved on the platform, no return order in the ERP."""
    if v.cancelled or AUTHORISED not in v.pdone:
        return NONE
    if v.estage(AUTHORISED).status not in _NOT_THERE:
        return NONE
    return _lagging(
        v,
        Code.RETURN_ORDER_MISSING,
        AUTHORISED,
        f"Return {v.p.return_ref} is approved on the platform; {v.erp_name} has no return order",
        platform_value=v.pstage(AUTHORISED).detail or "approved",
    )


def return_order_not_open(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Goods received, but the ERP return order is closed or cancelled and cannot take them."""
    state = v.e.return_order_state
    if state not in NOT_OPEN_STATES or RECEIVED in v.edone:
        return NONE
    if RECEIVED not in v.pdone:
        return NONE
    return [
        v.finding(
            Code.RETURN_ORDER_NOT_OPEN,
            f"Goods for {v.p.return_ref} arrived but the {v.erp_name} return order is "
            f"{state.replace('_', ' ')}",
            since=v.pstage(RECEIVED).at,
            side=Side.ERP,
            platform_value="received",
            erp_value=state,
        )
    ]


def receipt_not_posted(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Received on the platform, no receipt posted in the ERP."""
    if v.cancelled or RECEIVED not in v.pdone:
        return NONE
    if v.estage(RECEIVED).status not in _NOT_THERE:
        return NONE
    if v.estage(AUTHORISED).status in _NOT_THERE:
        return NONE  # RETURN_ORDER_MISSING already says why
    if v.e.return_order_state in NOT_OPEN_STATES:
        return NONE  # RETURN_ORDER_NOT_OPEN already says why
    return _lagging(
        v,
        Code.RECEIPT_NOT_POSTED,
        RECEIVED,
        f"Goods for {v.p.return_ref} arrived; {v.erp_name} has no posted receipt",
        platform_value="received",
        erp_value=v.estage(RECEIVED).detail or v.estage(RECEIVED).status.value,
    )


def credit_note_missing(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Refunded on the platform, no posted credit note in the ERP."""
    if CREDITED not in v.pdone:
        return NONE
    notes = v.active_credit_notes
    if any(cn.status == "posted" for cn in notes):
        return NONE
    draft = notes[0] if notes else None
    message = (
        f"Refunded on the platform; {v.erp_name} credit memo {draft.number or draft.id} "
        "is still a draft"
        if draft
        else f"Refunded on the platform; {v.erp_name} has no credit note for {v.p.return_ref}"
    )
    refund = v.p.refund
    return _lagging(
        v,
        Code.CREDIT_NOTE_MISSING,
        CREDITED,
        message,
        platform_value=refund.total if refund else "refunded",
        erp_value="draft" if draft else None,
    )


def credit_note_duplicate(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Two or more live ERP credit notes carry this return's link key."""
    notes = v.active_credit_notes
    if len(notes) < 2:
        return NONE
    numbers = ", ".join(cn.number or cn.id for cn in notes)
    extra = sum((cn.amounts.total for cn in notes[1:] if cn.amounts), Decimal(0))
    return [
        v.finding(
            Code.CREDIT_NOTE_DUPLICATE,
            f"{len(notes)} {v.erp_name} credit notes carry {v.p.return_ref}: {numbers}",
            side=Side.ERP,
            since=notes[1].posted_at,
            platform_value=1,
            erp_value=len(notes),
            amount=extra or None,
        )
    ]


def exchange_order_missing(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """An exchange on the platform with no replacement sales order in the ERP."""
    if EXCHANGED not in v.pdone:
        return NONE
    if v.estage(EXCHANGED).status not in _NOT_THERE:
        return NONE
    return _lagging(
        v,
        Code.EXCHANGE_ORDER_MISSING,
        EXCHANGED,
        f"Exchange for {v.p.return_ref} shipped; {v.erp_name} has no replacement order",
        platform_value="exchanged",
    )

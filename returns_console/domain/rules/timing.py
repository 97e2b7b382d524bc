"""Rules of kind `timing`: things happened in the wrong order, or are late.

Within the grace period of its stage a timing exception is a delay: shown, not alarmed on.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

from ..catalogue import STAGE_OWNERS
from ..codes import (
    CREDITED,
    IN_TRANSIT,
    INSPECTED,
    NOT_APPLICABLE,
    NOT_STARTED,
    PENDING,
    RECEIVED,
    RESTOCKED,
    Code,
    Severity,
    Side,
    Stage,
)
from ..findings import Finding
from ..view import CaseView, hours

NONE: tuple[Finding, ...] = ()
_MARGIN = timedelta(milliseconds=1)


def _gap(
    v: CaseView, stage: Stage, first: datetime, then: datetime | None
) -> tuple[bool, datetime] | None:
    """How long `then` came after `first` (or has not come yet).

    Returns None when there is no gap worth naming, else (delay?, when it ended or now).
    """
    end = then if then is not None else v.ctx.now
    if end <= first:
        if then is None:
            v.holds_until(first)
        return None
    within = end - first <= v.ctx.policy.grace[stage]
    if within and then is not None:
        return None  # a short gap that has closed is the integration's normal lag
    if within:
        v.holds_after(first, v.ctx.policy.grace[stage])
    # Past grace it is an error, and stays one once closed: the gap existed.
    return (within, end)


def credit_before_receipt(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Money out before the ERP had the goods back, even if amounts later agree. Not on a
    return the platform declined or cancelled: no goods are coming, and an ERP credit
    there is CREDIT_WITHOUT_REFUND."""
    if v.cancelled:
        return NONE
    refunded = v.pdone.get(CREDITED)
    for cn in v.active_credit_notes:
        at = cn.posted_at
        if at is not None and cn.status == "posted" and (refunded is None or at < refunded):
            refunded = at
    if refunded is None:
        return NONE
    received = v.edone.get(RECEIVED)
    if received is not None and received <= refunded:
        return NONE  # the common case: received, then refunded
    if v.estage(RECEIVED).status is NOT_APPLICABLE:
        return NONE
    gap = _gap(v, CREDITED, refunded, received)
    if gap is None:
        return NONE
    delay, end = gap
    return [
        v.finding(
            Code.CREDIT_BEFORE_RECEIPT,
            f"Refunded {hours(end - refunded):.1f} h before the {v.erp_name} receipt"
            if received
            else f"Refunded {v.hours_since(refunded, 1):.1f} h ago; "
                 f"no {v.erp_name} receipt yet",
            platform_value=refunded,
            erp_value=received,
            since=refunded,
            delay=delay,
        )
    ]


def premature_restock(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Stock offered for sale again before the ERP recorded its inspection."""
    restocks = [at for at in (v.pdone.get(RESTOCKED), v.edone.get(RESTOCKED))
                if at is not None]
    if not restocks:
        return NONE
    restocked = min(restocks)
    inspected = v.edone.get(INSPECTED)
    gap = _gap(v, RESTOCKED, restocked, inspected)
    if gap is None:
        return NONE
    delay, end = gap
    return [
        v.finding(
            Code.PREMATURE_RESTOCK,
            f"Restocked {hours(end - restocked):.1f} h before the {v.erp_name} inspection"
            if inspected
            else f"Restocked {v.hours_since(restocked, 1):.1f} h ago; "
                 f"not inspected in {v.erp_name}",
            platform_value=restocked,
            erp_value=inspected,
            since=restocked,
            delay=delay,
        )
    ]


def closed_period(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """The credit belongs to an accounting period that is closed and the ERP has not booked
    it there: it needs a manual journal in the open period."""
    master = v.ctx.master
    refunded_at = v.pdone.get(CREDITED)
    if refunded_at is not None:
        day = refunded_at.date()
    else:
        draft = next((cn for cn in v.active_credit_notes if cn.status == "draft"), None)
        if draft is None or draft.posting_date is None:
            return NONE
        day = draft.posting_date
    period = master.period_for(day)
    if period is None or not period.closed:
        return NONE
    posted_on = [cn.posting_date for cn in v.active_credit_notes
                 if cn.status == "posted" and cn.posting_date]
    if any(master.period_for(posting_date) == period for posting_date in posted_on):
        return NONE
    booked = posted_on[0] if posted_on else None
    name = period.name or period.start.isoformat()
    return [
        v.finding(
            Code.CLOSED_PERIOD,
            f"The credit belongs to closed period {name} ({day.isoformat()}); "
            + (f"{v.erp_name} booked it on {booked.isoformat()}" if booked
               else f"{v.erp_name} has not booked it"),
            platform_value=day.isoformat(),
            erp_value=booked.isoformat() if booked else None,
            since=refunded_at,
        )
    ]


def _overdue_severity(v: CaseView, stage: Stage, since: datetime,
                      elapsed_hours: float) -> Severity:
    policy = v.ctx.policy
    grace = policy.grace_hours[stage] or 1.0
    ratio = elapsed_hours / grace
    for factor, severity in ((policy.overdue_high_factor, Severity.HIGH),
                             (policy.overdue_medium_factor, Severity.MEDIUM)):
        if ratio > factor:
            return severity
        # A millisecond early: the float ratio may round across the line before the clock
        # (a line past any date is never crossed: no hold).
        with suppress(OverflowError):
            v.holds_after(since, timedelta(hours=factor * grace) - _MARGIN)
    return Severity.LOW


def stage_overdue(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A stage started but not finished past its grace, where no more specific code says why.

    Checked: parcel in transit too long; goods received but never inspected (platform), or
    inspected on the platform but not in the ERP; inspected but the customer not refunded.
    """
    if v.cancelled:
        return NONE
    # (stage, side, since, message, a delay is shown): the clocks running, then judged
    running: list[tuple[Stage, Side, datetime | None, str, bool]] = []
    pdone, edone = v.pdone, v.edone
    waiting = (NOT_STARTED, PENDING)
    transit = v.pstage(IN_TRANSIT)
    if transit.status is PENDING and RECEIVED not in pdone:
        running.append((IN_TRANSIT, Side.PLATFORM, transit.at, "In transit", False))
    if (RECEIVED in pdone and INSPECTED not in pdone and CREDITED not in pdone
            and v.pstage(INSPECTED).status in waiting):
        running.append((INSPECTED, Side.PLATFORM, pdone[RECEIVED], "Received, not inspected",
                        False))
    if INSPECTED in pdone:
        if (RECEIVED in edone and INSPECTED not in edone
                and v.estage(INSPECTED).status in waiting):
            running.append((INSPECTED, Side.ERP, pdone[INSPECTED],
                            f"Inspected on the platform, not in {v.erp_name}", True))
        if v.pstage(CREDITED).status in waiting and not v.active_credit_notes:
            running.append((CREDITED, Side.PLATFORM, pdone[INSPECTED],
                            "Inspected, customer not refunded", False))
    if not running:
        return NONE  # the common case: no clock of this rule is running
    out = []
    for stage, side, since, message, delay_allowed in running:
        if since is None:
            continue
        late = v.overdue(stage, since)
        if not late and not delay_allowed:
            continue
        elapsed = v.hours_since(since, 0)
        out.append(
            v.finding(
                Code.STAGE_OVERDUE,
                f"{message} for {elapsed:.0f} h",
                stage=stage,
                side=side,
                since=since,
                severity=_overdue_severity(v, stage, since, elapsed),
                owner=STAGE_OWNERS[stage],
                delay=not late,
                platform_value=v.pstage(stage).detail or v.pstage(stage).status.value,
                erp_value=v.estage(stage).detail or v.estage(stage).status.value,
            )
        )
    return out or NONE

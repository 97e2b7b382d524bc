"""One return's history as a single list of events, both systems merged in time order.

The stage board says *where* each side is; the timeline says *when*, which is what the
timing exceptions (credit before receipt, restock before inspection, overdue stages) are
about. Pure: the console renders it, the engine never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from .codes import STAGE_ORDER, Side, Stage, StageStatus
from .model import CreditNote, ReturnCase, StageView

#: What a stage record is on each side, in the operator's words.
_PLATFORM_WHAT: dict[Stage, str] = {
    Stage.AUTHORISED: "return approved",
    Stage.IN_TRANSIT: "parcel on its way",
    Stage.RECEIVED: "goods arrived",
    Stage.INSPECTED: "condition graded",
    Stage.CREDITED: "refund issued",
    Stage.EXCHANGED: "replacement shipped",
    Stage.RESTOCKED: "back on sale",
}
_ERP_WHAT: dict[Stage, str] = {
    Stage.AUTHORISED: "return order",
    Stage.IN_TRANSIT: "return order waiting",
    Stage.RECEIVED: "receipt posted",
    Stage.INSPECTED: "disposition applied",
    Stage.CREDITED: "credit note",
    Stage.EXCHANGED: "replacement order",
    Stage.RESTOCKED: "stock sellable",
}
_NOTE_STATUS: dict[str, StageStatus] = {
    "posted": StageStatus.DONE,
    "draft": StageStatus.PENDING,
    "cancelled": StageStatus.NOT_APPLICABLE,
}
#: Statuses that say something happened even when the system gave no time for it.
_HAPPENED = (StageStatus.PENDING, StageStatus.DONE, StageStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Event:
    """One dated (or undatable) thing one system recorded about a return."""

    at: datetime | None
    side: Side
    stage: Stage
    status: StageStatus
    what: str
    record_ids: tuple[str, ...] = ()


def timeline(case: ReturnCase) -> list[Event]:
    """Every stage record of both sides plus each credit note's posting, oldest first.

    Ties put the platform first (it moves first in real life), then lifecycle order; events
    with no time come last, so the dated story reads top to bottom without gaps.
    """
    events = _stage_events(case.platform.stages, Side.PLATFORM)
    events += _stage_events(case.erp.stages, Side.ERP)
    events += [e for e in map(_note_event, case.erp.credit_notes)
               if e is not None and not _repeats(e, events)]
    return sorted(events, key=_order)


def _stage_events(stages: dict[Stage, StageView], side: Side) -> list[Event]:
    """A stage counts when it has a time, or an undated status that says it happened."""
    words = _PLATFORM_WHAT if side is Side.PLATFORM else _ERP_WHAT
    return [
        Event(view.at, side, stage, view.status, _what(words[stage], view.detail),
              view.record_ids)
        for stage, view in stages.items()
        if view.at is not None or view.status in _HAPPENED
    ]


def _what(base: str, detail: str | None) -> str:
    return f"{base} ({detail})" if detail else base


def _note_event(note: CreditNote) -> Event | None:
    """A credit note's posting, when it says when; a date alone counts from its midnight."""
    at = note.posted_at or _midnight(note.posting_date)
    if at is None:
        return None
    label = note.number or note.id
    return Event(at, Side.ERP, Stage.CREDITED, _NOTE_STATUS[note.status],
                 f"credit note {label} {note.status}", (label,))


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def _repeats(note: Event, events: list[Event]) -> bool:
    """The ERP's credited stage is often built from the note itself: the same document in
    the same state (a draft's stage is dated by its last change, the note by its posting
    date, so the times may differ). Showing it twice would read as a duplicate credit note,
    which is an exception."""
    return any(e.side is Side.ERP and e.stage is Stage.CREDITED and e.status is note.status
               and set(note.record_ids) <= set(e.record_ids) for e in events)


def _order(event: Event) -> tuple[bool, datetime, int, int]:
    return (
        event.at is None,
        event.at or datetime.min.replace(tzinfo=UTC),
        0 if event.side is Side.PLATFORM else 1,
        STAGE_ORDER[event.stage],
    )

"""The return's timeline: both systems' stage records and credit note postings, in time order.

healthy() starts 2026-11-13T10:00Z. Platform: authorised 13th 10:00, in transit 14th 10:00,
received 16th 10:00, inspected 12:00, refunded 13:00, restocked 15:00. ERP: return order
13th 10:10, receipt 16th 11:00, inspected 12:30, credit note PCM000001 14:00 (posting date
16th), restocked 15:00.
"""

from __future__ import annotations

from datetime import UTC, datetime

from returns_console.domain.codes import Side, Stage, StageStatus
from returns_console.domain.timeline import Event, timeline
from tests.factories import healthy, parse

P, E = Side.PLATFORM, Side.ERP


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _sides_and_stages(events: list[Event]) -> list[tuple[Side, Stage]]:
    return [(e.side, e.stage) for e in events]


def test_both_sides_merge_in_time_order_and_a_tie_puts_the_platform_first() -> None:
    events = timeline(parse(healthy()))
    assert _sides_and_stages(events) == [
        (P, Stage.AUTHORISED), (E, Stage.AUTHORISED), (P, Stage.IN_TRANSIT),
        (P, Stage.RECEIVED), (E, Stage.RECEIVED), (P, Stage.INSPECTED), (E, Stage.INSPECTED),
        (P, Stage.CREDITED), (E, Stage.CREDITED), (P, Stage.RESTOCKED), (E, Stage.RESTOCKED),
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert events[1] == Event(_at(13, 10, 10), E, Stage.AUTHORISED, StageStatus.DONE,
                              "return order (Open)", ("RO-000001",))


def test_a_tie_on_one_side_follows_the_lifecycle() -> None:
    case = healthy()
    for name in ("received", "inspected"):
        case["erp"]["stages"][name]["at"] = "2026-11-16T11:00:00Z"
    erp = [e.stage for e in timeline(parse(case)) if e.side is E and e.at == _at(16, 11)]
    assert erp == [Stage.RECEIVED, Stage.INSPECTED]


def test_a_credit_note_the_credited_stage_already_shows_is_not_listed_twice() -> None:
    events = timeline(parse(healthy()))
    credited = [e for e in events if e.side is E and e.stage is Stage.CREDITED]
    assert [e.record_ids for e in credited] == [("PCM000001",)]


def test_every_other_credit_note_posting_is_its_own_event() -> None:
    case = healthy()
    second = {**case["erp"]["credit_notes"][0], "id": "cm-2", "number": "PCM000001-2",
              "posted_at": "2026-11-18T09:00:00Z"}
    case["erp"]["credit_notes"].append(second)
    last = timeline(parse(case))[-1]
    assert last == Event(_at(18, 9), E, Stage.CREDITED, StageStatus.DONE,
                         "credit note PCM000001-2 posted", ("PCM000001-2",))


def test_a_posting_date_alone_counts_from_its_midnight_and_a_draft_is_pending() -> None:
    case = healthy()
    note = case["erp"]["credit_notes"][0]
    note.update(number="PCM9", status="draft", posting_date="2026-11-17")
    del note["posted_at"]
    event = next(e for e in timeline(parse(case)) if e.record_ids == ("PCM9",))
    assert (event.at, event.status) == (_at(17, 0), StageStatus.PENDING)


def test_a_credit_note_without_any_date_is_not_an_event() -> None:
    case = healthy()
    note = case["erp"]["credit_notes"][0]
    note.update(number="PCM9", status="draft")
    del note["posted_at"], note["posting_date"]
    assert all(e.record_ids != ("PCM9",) for e in timeline(parse(case)))


def test_undated_happenings_come_last_and_untouched_stages_not_at_all() -> None:
    case = healthy()
    del case["erp"]["stages"]["received"]["at"]
    case["erp"]["stages"]["exchanged"] = {"status": "not_started"}
    events = timeline(parse(case))
    assert _sides_and_stages(events)[-1] == (E, Stage.RECEIVED)
    assert events[-1].at is None
    assert all(e.at is not None for e in events[:-1])
    assert Stage.EXCHANGED not in {e.stage for e in events}


def test_a_return_nobody_has_touched_has_no_events() -> None:
    case = healthy()
    case["platform"]["stages"] = {}
    case["erp"]["stages"] = {}
    case["erp"]["credit_notes"] = []
    assert timeline(parse(case)) == []


def test_a_draft_credit_note_is_listed_once_though_its_dates_differ() -> None:
    """Issue 10 polish: after a fix, the timeline listed the (draft) credit note twice: the
    credited stage dated by its last change, the note by its posting date."""
    case = healthy()
    note = case["erp"]["credit_notes"][0]
    note.update(status="draft", posted_at=None)
    case["erp"]["stages"]["credited"].update(status="pending",
                                             record_ids=[note["number"]])
    events = [e for e in timeline(parse(case)) if e.stage == "credited" and e.side == "erp"]
    assert len(events) == 1

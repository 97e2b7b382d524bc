"""Orders and returns sort as people read them (issue 10.9: `#10283` sorted before `#1030`)."""

from returns_console.tui.queue_model import natural


def test_references_sort_by_their_numbers() -> None:
    refs = ["#10283", "#1030", "#999", "R-100057", "R-1000570", "R-10006", "#1030-B"]
    assert sorted(refs, key=natural) == ["#999", "#1030", "#1030-B", "#10283", "R-10006",
                                         "R-100057", "R-1000570"]


def test_a_filtered_queue_is_in_the_same_order_as_sorting_the_filtered_findings() -> None:
    """The queue keeps each order once and filters in it (no sort per keystroke): every
    view must still list exactly what filtering then sorting lists, ties included."""
    from pathlib import Path

    from returns_console.services.check import check_snapshot
    from returns_console.services.snapshot_io import load_snapshot
    from returns_console.tui.queue_model import SORTABLE, Queue, View, _sort_key

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
    findings = check_snapshot(load_snapshot(fixture)).findings
    queue = Queue(findings, {}, {})
    for column in SORTABLE:
        for reverse in (False, True):
            for text in ("", "high", "r-1000", "credit"):
                for owner in ("all", "finance", "operations"):
                    view = View(owner=owner, text=text, sort=column, reverse=reverse)
                    words = text.casefold().split()
                    kept = [k for k in queue.keys
                            if all(w in queue._hay[k] for w in words)
                            and owner in ("all", queue.by_key[k].owner.value)]
                    kept.sort(key=_sort_key(column, queue), reverse=reverse)
                    assert queue.shown(view) == kept, (column, reverse, text, owner)

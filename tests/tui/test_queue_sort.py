"""Orders and returns sort as people read them (issue 10.9: `#10283` sorted before `#1030`)."""

from decimal import Decimal

from returns_console.tui.queue_model import Queue, natural


def sort_key(column: str, queue: Queue):
    """Each column's order spelled out one key at a time: what the queue's own sort (every
    key's value made at once) must agree with."""
    by = queue.by_key

    def at_risk(k: str) -> tuple:
        f = by[k]
        return (f.amount_at_risk or Decimal(0), f.severity.rank, f.age_hours)

    getters = {
        "return": lambda k: natural(by[k].return_ref),
        "order": lambda k: natural(by[k].order_ref or ""),
        "code": lambda k: by[k].code.value, "stage": lambda k: by[k].stage.value,
        "kind": lambda k: by[k].kind.value,
        "severity": lambda k: (by[k].severity.rank, by[k].amount_at_risk or Decimal(0)),
        "owner": lambda k: by[k].owner.value, "age": lambda k: by[k].age_hours,
        "at risk": at_risk, "triage": lambda k: queue.triage_of(k),
    }
    return getters.get(column, at_risk)


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
    from returns_console.tui.queue_model import SORTABLE, View

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
                    kept.sort(key=sort_key(column, queue), reverse=reverse)
                    assert queue.shown(view) == kept, (column, reverse, text, owner)


def test_typing_and_erasing_find_what_a_fresh_queue_finds() -> None:
    """Keys kept from earlier texts (typing narrows them, erasing finds them again) give
    what filtering from scratch gives, whatever is typed, erased or pasted in between."""
    import random
    from pathlib import Path

    from returns_console.services.check import check_snapshot
    from returns_console.services.snapshot_io import load_snapshot
    from returns_console.tui.queue_model import RECENT, View

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
    findings = check_snapshot(load_snapshot(fixture)).findings
    rng = random.Random(13)
    queue = Queue(findings, {}, {})
    alphabet = "acdeinorstu1- "
    text = ""
    for step in range(3 * RECENT * 4):
        move = rng.random()
        if move < 0.55:
            text += rng.choice(alphabet)
        elif move < 0.9:
            text = text[:-rng.randint(1, 3)]
        else:  # pasted, or the cursor moved back into a word
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(alphabet) + text[at:]
        sort = rng.choice(["at risk", "return"])
        view = View(text=text, sort=sort, reverse=sort == "at risk")
        fresh = Queue(findings, {}, {})
        assert queue.select(view) == fresh.select(view), (step, text)

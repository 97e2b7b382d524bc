"""Orders and returns sort as people read them (issue 10.9: `#10283` sorted before `#1030`)."""

from returns_console.tui.queue_model import natural


def test_references_sort_by_their_numbers() -> None:
    refs = ["#10283", "#1030", "#999", "R-100057", "R-1000570", "R-10006", "#1030-B"]
    assert sorted(refs, key=natural) == ["#999", "#1030", "#1030-B", "#10283", "R-10006",
                                         "R-100057", "R-1000570"]

"""The expectation checker itself: a wrong expectation must fail, or the corpus proves nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from returns_console.domain.codes import Stage, StageStatus
from returns_console.domain.model import NOT_STARTED, StageView
from tests.conformance.checker import check, variants


@dataclass
class _View:
    amount: Decimal = Decimal("48.00")
    when: datetime = datetime(2025, 1, 10, tzinfo=UTC)
    day: date = date(2025, 1, 10)
    items: tuple = ("a", "b")
    none: object = None
    stages: dict = field(default_factory=lambda: {
        Stage.CREDITED: StageView(status=StageStatus.DONE)})

    def stage(self, stage: Stage) -> StageView:
        return self.stages.get(stage, NOT_STARTED)


def test_right_expectations_pass() -> None:
    assert check(_View(), {
        "amount": "48", "when": "2025-01-10T00:00:00Z", "day": "2025-01-10",
        "items": {"$len": 2}, "items.1": "b", "none": None, "missing": {"$absent": True},
        "stages.credited.status": "done", "stages.received.status": "not_started",
        "amount.x": {"$absent": True}, "items.0": "a",
    }, "ok") == []


def test_wrong_expectations_fail() -> None:
    wrong = {"amount": "48.01", "when": "2025-01-10T00:00:01Z", "day": "nonsense",
             "items": {"$len": 3}, "none": {"$ne": None}, "missing": None,
             "stages.credited.status": "not_applicable",
             "stages.received.status": {"$in": ["done"]}}
    assert len(check(_View(), wrong, "bad")) == len(wrong)


def test_variants_patch_a_copy() -> None:
    case = {"record": {"a": {"b": [1, 2]}, "c": 1}, "expect": {"x": 1},
            "variants": [{"name": "v", "patch": {"a.b.1": 5, "c": {"$delete": True}},
                          "expect": {"y": 2}}]}
    runs = variants(case, "record")
    assert [r[0] for r in runs] == ["base", "v"]
    assert runs[1][1] == {"a": {"b": [1, 5]}} and runs[1][2] == {"x": 1, "y": 2}
    assert case["record"] == {"a": {"b": [1, 2]}, "c": 1}

"""`quick_init`: the canonical model's records made through their slots' descriptors keep
every behaviour of the dataclass's own `__init__`."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import TypeAdapter

from returns_console.domain.codes import Stage, StageStatus
from returns_console.domain.model import ErpView, StageView
from returns_console.domain.money import MoneyBreakdown


def test_defaults_and_factories_as_declared() -> None:
    one, two = ErpView(system="x"), ErpView(system="x")
    assert one.stages == {} and one.stages is not two.stages  # a factory's, each its own
    assert one.lines == () and one.return_document is True
    assert StageView().status is StageStatus.NOT_STARTED
    assert MoneyBreakdown(currency="GBP").fees == Decimal(0)


def test_arguments_are_checked_as_the_dataclass_checks_them() -> None:
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'system'"):
        ErpView()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        StageView(bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        StageView(StageStatus.DONE)  # type: ignore[misc]  # keyword-only


def test_frozen_equal_hashable_replaceable_picklable() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    view = StageView(status=StageStatus.DONE, at=at, record_ids=("a",), detail="d")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.detail = "e"  # type: ignore[misc]
    assert view == StageView(status=StageStatus.DONE, at=at, record_ids=("a",), detail="d")
    assert hash(view) == hash(dataclasses.replace(view))
    assert dataclasses.replace(view, detail="e").detail == "e"
    assert pickle.loads(pickle.dumps(view)) == view
    money = MoneyBreakdown(currency="GBP", items=Decimal("1.50"))
    assert (money + money).items == Decimal("3.00")
    assert ErpView.__init__.__qualname__ == "ErpView.__init__"


def test_validated_at_the_boundary_as_before() -> None:
    got = TypeAdapter(ErpView).validate_python(
        {"system": "d365_bc", "stages": {"received": {"status": "done"}}})
    assert got.stages[Stage.RECEIVED].status is StageStatus.DONE
    with pytest.raises(ValueError):
        TypeAdapter(StageView).validate_python({"status": "done", "bogus": 1})


def test_a_finding_positional_with_fields_outside_init() -> None:
    """`Finding`: positional arguments, keyword ones after them, and the fields outside
    `__init__` (what `from_json` read) at their defaults, so `replace` drops them."""
    from returns_console.domain.codes import Action, Code, Kind, Owner, Severity
    from returns_console.domain.findings import Finding

    at = datetime(2026, 12, 1, tzinfo=UTC)
    found = Finding(Code.RECEIPT_NOT_POSTED, Stage.RECEIVED, Kind.SYNC, Severity.HIGH,
                    Owner.OPERATIONS, Action.NONE, "R-1", "#1", None, "a", None, "msg", at,
                    0.0, "swap", "d365_bc", since=at)
    assert (found.delay, found.todo, found.stored, found.known_id) == (False, None, None,
                                                                        None)
    back = Finding.from_json(found.to_json(), now=at)
    assert back.known_id == found.id and back.stored is not None
    assert dataclasses.replace(back, message="other").known_id is None
    assert back == found and hash(back) == hash(found)
    with pytest.raises(TypeError):
        Finding(Code.RECEIPT_NOT_POSTED)  # type: ignore[call-arg]

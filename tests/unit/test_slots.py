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

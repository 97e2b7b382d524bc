"""Loading conformance cases and checking their declarative expectations.

A case is a JSON object with `cites`, `behaviour`, an input (system-specific), `expect` and
optionally `variants` and `xfail`:

- `expect` maps a dotted path to an expected value. Paths walk attributes, dict keys and list
  indices (`lines.0.unit_price`, `views.RMA-1.stages.received.status`); `stages.<stage>` reads
  the view's `stage()` (a stage the view does not hold is `not_started`).
- Values compare by type: Decimals numerically (`"48.00"` == Decimal("48")), datetimes and
  dates from ISO text, enums by value, `null` as None.
- An expected object is an operator: `{"$len": n}`, `{"$absent": true}` (key or attribute
  missing), `{"$present": true}`, `{"$ne": v}`, `{"$in": [..]}`, `{"$contains": "text"}`
  (substring of str(value), or membership in a list).
- `variants`: a list of `{"name", "patch": {dotted path into the input: value}, "expect"}`;
  each is the base input with the patch applied, checked against base `expect` + its own.
- `xfail`: a reason (the product disagrees with the docs); the runner marks the case
  xfail(strict=True).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

MISSING = object()
REPO = Path(__file__).resolve().parents[2]
OPERATORS = frozenset({"$len", "$absent", "$present", "$ne", "$in", "$contains"})


def load_cases(folder: Path) -> list[Any]:
    """Every case file in `folder`, as pytest params (id = file name, xfail applied)."""
    params = []
    for path in sorted(folder.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        case["_file"] = path.name
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(reason=case["xfail"], strict=True))
        params.append(pytest.param(case, id=path.stem, marks=marks))
    return params


def check_citation(case: dict) -> None:
    cites, behaviour = case.get("cites"), case.get("behaviour")
    assert isinstance(cites, str | list) and cites, f"{case['_file']}: no 'cites'"
    text = " ".join(cites) if isinstance(cites, list) else cites
    assert "docs/vendors/" in text and "§" in text, (
        f"{case['_file']}: cite a docs/vendors § section")
    assert any(mark in text for mark in ("http", ".com", ".site", "learn:", "github")), (
        f"{case['_file']}: cite the original public source too")
    assert isinstance(behaviour, str) and behaviour.strip(), f"{case['_file']}: no 'behaviour'"
    for doc, sections in re.findall(r"(docs/vendors/[\w.-]+\.md)((?:[ ,]*§[\d.]+[a-z]?)+)", text):
        headings = {h.rstrip(".") for h in re.findall(r"^#{2,4} ([\d.]+[a-z]?) ",
                                                       (REPO / doc).read_text(), re.M)}
        for section in re.findall(r"§([\d.]+[a-z]?)", sections):
            assert section.rstrip(".") in headings, f"{case['_file']}: {doc} has no §{section}"


def variants(case: dict, input_key: str) -> list[tuple[str, Any, dict]]:
    """(name, input, expectations) for the case itself and each of its variants."""
    base = case[input_key]
    expect = dict(case.get("expect") or {})
    runs = [("base", base, expect)] if expect or not case.get("variants") else []
    for i, variant in enumerate(case.get("variants") or []):
        data = copy.deepcopy(base)
        for path, value in (variant.get("patch") or {}).items():
            data = _patched(data, path.split("."), value)
        runs.append((variant.get("name", f"variant {i}"), data,
                     expect | (variant.get("expect") or {})))
    return runs


def _patched(data: Any, parts: list[str], value: Any) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(data, list):
        index = int(head)
        if rest:
            data[index] = _patched(data[index], rest, value)
        else:
            data[index] = value
        return data
    if rest:
        data[head] = _patched(data.get(head, {}), rest, value)
    elif value == {"$delete": True}:
        data.pop(head, None)
    else:
        data[head] = value
    return data


def resolve(root: Any, path: str) -> Any:
    node = root
    parts = path.split(".")
    i = 0
    while i < len(parts):
        part = parts[i]
        if node is MISSING:
            return MISSING
        if part == "stages" and hasattr(node, "stage") and i + 1 < len(parts):
            from returns_console.domain.codes import Stage

            node = node.stage(Stage(parts[i + 1]))
            i += 2
            continue
        node = _step(node, part)
        i += 1
    return node


def _step(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        if part in node:
            return node[part]
        for key, value in node.items():  # enum keys, or a key spelt with other case
            if str(getattr(key, "value", key)) == part:
                return value
        return MISSING
    if isinstance(node, list | tuple):
        try:
            return node[int(part)]
        except (ValueError, IndexError):
            return MISSING
    return getattr(node, part, MISSING)


def matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and expected and set(expected) <= OPERATORS:
        return all(_operator(actual, op, arg) for op, arg in expected.items())
    if actual is MISSING:
        return False
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(actual, Enum):
        actual = actual.value
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, Decimal | int | float) and isinstance(expected, str | int | float):
        try:
            return Decimal(str(actual)) == Decimal(str(expected))
        except ArithmeticError:
            return False
    if isinstance(actual, datetime) and isinstance(expected, str):
        try:
            wanted = datetime.fromisoformat(expected.replace("Z", "+00:00"))
        except ValueError:
            return False
        return actual == wanted and (actual.tzinfo is None) == (wanted.tzinfo is None)
    if isinstance(actual, date) and isinstance(expected, str):
        try:
            return actual == date.fromisoformat(expected)
        except ValueError:
            return False
    if isinstance(actual, frozenset | set) and isinstance(expected, list):
        return actual == set(expected)
    if isinstance(actual, tuple) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            matches(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected


def _operator(actual: Any, op: str, arg: Any) -> bool:
    if op == "$absent":
        return (actual is MISSING) is bool(arg)
    if op == "$present":
        return (actual is not MISSING) is bool(arg)
    if actual is MISSING:
        return False
    if op == "$len":
        return len(actual) == arg
    if op == "$ne":
        return not matches(actual, arg)
    if op == "$in":
        return any(matches(actual, option) for option in arg)
    if op == "$contains":
        if isinstance(actual, str):
            return str(arg) in actual
        if isinstance(actual, list | tuple | set | frozenset | dict):
            return any(matches(item, arg) or (isinstance(item, str) and str(arg) in item)
                       for item in actual)
        return str(arg) in str(actual)
    raise AssertionError(f"unknown operator {op}")


def check(root: Any, expect: dict, label: str) -> list[str]:
    """Every unmet expectation, as a line naming the path, wanted and found."""
    failures = []
    for path, expected in expect.items():
        actual = resolve(root, path)
        if not matches(actual, expected):
            shown = "<missing>" if actual is MISSING else repr(actual)
            failures.append(f"{label}: {path}: expected {expected!r}, got {shown}")
    return failures

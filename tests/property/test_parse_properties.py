"""Property tests: any JSON in, no crash out.

parse_cases either returns cases that reconcile without an exception or raises pydantic's
ValidationError; load_snapshot either returns a Snapshot or raises UserError with a one-line
message. Never anything else.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from returns_console.domain.model import parse_cases
from returns_console.domain.reconcile import reconcile
from returns_console.domain.snapshot import Snapshot
from returns_console.errors import UserError
from returns_console.scenarios.builder import Shape, build_return
from returns_console.scenarios.catalogue import build_scenario
from returns_console.scenarios.plants import PLANTS
from returns_console.services.snapshot_io import dump_snapshot, load_snapshot
from tests.factories import NOW, context

CTX = context()

#: Field names of the canonical model and the snapshot, so that arbitrary dictionaries often
#: look almost right and get past the first layer of validation.
FIELD_NAMES = sorted({
    "platform", "erp", "problems", "system", "return_ref", "order_ref", "customer_email",
    "customer_name", "created_at", "lines", "refund", "refund_method", "fees", "stages",
    "raw_ref", "customer_ref", "return_order_state", "credit_notes", "line_ref", "sku",
    "quantity", "uom", "received_quantity", "reason", "condition", "location", "unit_price",
    "item_no", "disposition", "type", "amount", "id", "number", "status", "external_ref",
    "posting_date", "posted_at", "amounts", "payment_method", "currency", "items", "tax",
    "shipping", "discounts", "side", "record_id", "stage", "error", "at",
    "record_ids", "detail", "authorised", "in_transit", "received", "inspected", "credited",
    "exchanged", "restocked", "format", "profile", "as_of", "policy", "mappings",
    "erp_master", "returns", "fetched_at", "tolerance", "grace_hours",
})

#: Strings that are nearly valid values somewhere in the model.
VALUE_STRINGS = [
    "done", "pending", "not_started", "failed", "not_applicable", "posted", "draft",
    "cancelled", "open", "closed", "released", "platform", "erp", "GBP", "EUR", "swap",
    "d365_bc", "2026-11-21T10:00:00Z", "2026-11-21", "2026-11-21T10:00:00", "0.10", "-1",
    "1E+2", "TEE-BLK-M", "SOCK-3PK", "returns-console/snapshot@1", "",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(VALUE_STRINGS)
)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=10)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=25,
)


def _no_crash(data: object) -> None:
    """The property: ValidationError, or cases that reconcile and serialise."""
    try:
        cases = parse_cases(data)
    except ValidationError:
        return
    result = reconcile(cases, CTX)
    json.dumps([f.to_json() for f in result.findings + result.delays])


# ------------------------------------------------------------------ parse_cases


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_parse_cases(value: object) -> None:
    _no_crash(value)
    _no_crash([value])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"platform": json_values, "erp": json_values},
    optional={"problems": json_values},
), max_size=3))
def test_arbitrary_return_shaped_json_never_crashes_parse_cases(value: list) -> None:
    _no_crash(value)


def _base_case(rnd: random.Random, kind: int, seed: int) -> dict:
    """A healthy return at any stage, or one carrying a planted exception."""
    if kind < len(PLANTS):
        plant = PLANTS[kind]
        case = build_return(7, random.Random(seed), plant.shape(NOW), 60)
        plant.mutate(case, NOW)
        return case
    progress = rnd.choice(("authorised", "in_transit", "received", "inspected", "credited"))
    shape = Shape(start=NOW - timedelta(days=rnd.uniform(0, 30)), progress=progress,
                  exchange=rnd.random() < 0.2)
    return build_return(7, random.Random(seed), shape, 60)


def _paths(node: object, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON document, as a path of keys and indices."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield (*prefix, i)
            yield from _paths(child, (*prefix, i))


_DELETE = object()

base_cases = st.builds(
    _base_case,
    st.randoms(use_true_random=False),
    st.integers(min_value=0, max_value=len(PLANTS) + 10),
    st.integers(min_value=0, max_value=10_000),
)


@settings(max_examples=150, deadline=None)
@given(base_cases, st.data(), json_values | st.just(_DELETE))
def test_a_healthy_case_with_one_field_replaced_never_crashes(
    case: dict, data: st.DataObject, value: object
) -> None:
    path = data.draw(st.sampled_from(sorted(_paths(case), key=repr)), label="path")
    parent = case
    for step in path[:-1]:
        parent = parent[step]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    _no_crash([case])


#: Decimal-looking strings: signs, fractions and exponents of any size.
decimal_strings = st.from_regex(
    r"\A[+-]?\d{1,4}(\.\d{1,4})?([eE][+-]?\d{1,10})?\Z", fullmatch=True
)

DECIMAL_SLOTS = (
    ("platform", "refund", "items"),
    ("platform", "refund", "tax"),
    ("platform", "lines", 0, "quantity"),
    ("platform", "lines", 0, "received_quantity"),
    ("platform", "lines", 0, "unit_price"),
    ("erp", "lines", 0, "quantity"),
    ("erp", "lines", 0, "received_quantity"),
    ("erp", "credit_notes", 0, "amounts", "shipping"),
)


@settings(max_examples=100, deadline=None)
@example(slot=("platform", "refund", "items"), text="1E+1000000")
@given(slot=st.sampled_from(DECIMAL_SLOTS), text=decimal_strings)
def test_any_decimal_string_in_a_money_or_quantity_field_never_crashes(
    slot: tuple, text: str
) -> None:
    case = build_return(7, random.Random(1), Shape(start=NOW - timedelta(days=8)), 60)
    parent = case
    for step in slot[:-1]:
        parent = parent[step]
    parent[slot[-1]] = text
    _no_crash([case])


# ------------------------------------------------------------------ load_snapshot


@contextmanager
def _file(content: bytes | str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snapshot.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        yield path


def _load_ok(content: bytes | str, one_line: bool = True) -> Snapshot | None:
    """The property: a Snapshot, or UserError with a (one-line) message."""
    with _file(content) as path:
        try:
            snapshot = load_snapshot(path)
        except UserError as exc:
            message = str(exc)
            assert message
            if one_line:
                assert "\n" not in message and "\r" not in message, message
            assert exc.exit_code == 2
            return None
    assert isinstance(snapshot, Snapshot)
    return snapshot


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_load_snapshot_on_arbitrary_bytes(content: bytes) -> None:
    _load_ok(content)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | st.sampled_from(["", "{}", "[]", "null", "{", '{"a":}', "1e999"]))
def test_load_snapshot_on_arbitrary_text(content: str) -> None:
    _load_ok(content)


snapshot_like = st.fixed_dictionaries(
    {},
    optional={
        "format": st.just("returns-console/snapshot@1") | json_values,
        "platform": st.just({"system": "swap"}) | json_values,
        "erp": st.just({"system": "d365_bc"}) | json_values,
        "as_of": st.just("2026-11-21T10:00:00Z") | json_values,
        "profile": json_values,
        "policy": json_values,
        "mappings": json_values,
        "erp_master": json_values,
        "returns": json_values,
    },
)


@settings(max_examples=100, deadline=None)
@given(json_values | snapshot_like)
def test_load_snapshot_on_arbitrary_json_gives_a_snapshot_or_user_error(value: object) -> None:
    _load_ok(json.dumps(value), one_line=False)


#: Dictionary keys with line breaks and other control characters, where a user's JSON
#: becomes part of the error message's field path.
control_keys = st.text(alphabet=st.sampled_from("ab\n\r\t\x00\u2028"), min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@example({"platform": {"system": "swap", "\n": 0}})
@given(json_values | snapshot_like | st.fixed_dictionaries(
    {"platform": st.dictionaries(control_keys, json_values, min_size=1, max_size=2)
     .map(lambda extra: {"system": "swap", **extra})}
))
def test_load_snapshot_error_on_arbitrary_json_is_one_line(value: object) -> None:
    _load_ok(json.dumps(value))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=30, max_value=45))
def test_load_snapshot_reads_back_what_dump_snapshot_wrote(seed: int, size: int) -> None:
    snapshot = Snapshot.model_validate(build_scenario(NOW, returns=size, seed=seed).snapshot)
    loaded = _load_ok(dump_snapshot(snapshot))
    assert loaded == snapshot


@settings(max_examples=10, deadline=None)
@example(depth=100_000, opener="[")
@given(depth=st.integers(min_value=sys.getrecursionlimit(), max_value=100_000),
       opener=st.sampled_from(['[', '{"a":']))
def test_load_snapshot_on_deeply_nested_json(depth: int, opener: str) -> None:
    _load_ok(opener * depth)


@settings(max_examples=10, deadline=None)
@example(digits=4301, wrap=False)
@given(digits=st.integers(min_value=4301, max_value=20_000), wrap=st.booleans())
def test_load_snapshot_on_huge_integer_literals(digits: int, wrap: bool) -> None:
    number = "1" * digits
    _load_ok('{"platform": {"system": "swap"}, "erp": {"system": "d365_bc"}, '
             f'"policy": {{"tolerance": {number}}}}}' if wrap else number)


_SMALL_SCENARIO = build_scenario(NOW, returns=30, seed=3).snapshot

#: Grace periods a policy may carry: any non-negative JSON number.
grace_values = st.floats(min_value=0, allow_nan=False) | st.integers(min_value=0)


@settings(max_examples=50, deadline=None)
@example(stage="received", hours=float("inf"))
@given(stage=st.sampled_from(["authorised", "in_transit", "received", "inspected",
                              "credited", "exchanged", "restocked"]),
       hours=grace_values)
def test_a_loaded_snapshot_always_reconciles(stage: str, hours: float) -> None:
    document = copy.deepcopy(_SMALL_SCENARIO)
    document["policy"]["grace_hours"] = {stage: hours}
    snapshot = _load_ok(json.dumps(document))
    if snapshot is not None:
        result = reconcile(snapshot.returns, snapshot.context())
        assert result.returns_checked == len(snapshot.returns)


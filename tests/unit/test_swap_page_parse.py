"""Issue 13: the Swap connector validates a page of returns in one pydantic call and maps
them with one ViewMaker per page. Every view, problem and raw record must be exactly what
parsing each record alone makes (`SwapConnector.parse`: its own validation, its own
ViewMaker): on the sandbox's data, on the conformance cases, on hand-made malformed records
and on bent ones. Outputs are compared by `repr` too, so Decimal('4.8') against
Decimal('4.80') or another tzinfo counts as a change. (When the page path landed it was also
compared, the same way, with a frozen copy of the per-record code it replaced: equal.)
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from returns_console.connectors.base import PlatformBatch
from returns_console.sandbox.demo import build_sandbox
from returns_console.systems.swap import records as swap_records
from returns_console.systems.swap.connector import SwapConnector, SwapSettings
from returns_console.systems.swap.simulator import as_v1
from tests.conformance.checker import variants
from tests.contracts.kit import bent, json_values

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)
SEED = 20261121
CASES = Path(__file__).resolve().parents[1] / "conformance" / "swap" / "cases"
BASE = SwapSettings(base_url="http://x", store="store", api_key="k", api_version=2)
#: The default profile, and one that reads every setting the mapping looks at otherwise.
SETTINGS = {
    "default": BASE,
    "tuned": replace(BASE, reason_key="main_reason_text", default_location="HUB",
                     qc_done=("Completed", "Graded"), refund_types=(" refund ", "SHOP NOW CREDIT"),
                     exchange_types=("exchange",), instant_credit_types=("shop now credit",)),
}


@cache
def sandbox_records() -> list[dict[str, Any]]:
    """The sandbox's Swap records as the connector receives them (malformed ones planted)."""
    box = build_sandbox(NOW, returns=1500, seed=SEED)
    return json.loads(json.dumps(list(box.platform.records)), parse_float=Decimal)


def reference(settings: SwapSettings, rows: list[Any]) -> list[tuple[Any, Any, Any]]:
    """Each record parsed alone, as `parse` does (no page call, no shared ViewMaker)."""
    connector = SwapConnector(settings)
    return [(raw, *connector.parse(raw)) for raw in rows]


def assert_same(got: list[tuple[Any, Any, Any]], want: list[tuple[Any, Any, Any]]) -> None:
    assert len(got) == len(want)
    for (raw, view, problem), (want_raw, want_view, want_problem) in zip(got, want,
                                                                        strict=True):
        assert raw is want_raw
        assert (view, problem) == (want_view, want_problem)
        assert repr((view, problem)) == repr((want_view, want_problem))


def pages(rows: list[Any], size: int = 100) -> list[list[Any]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_sandbox_pages_parse_as_record_by_record(name: str) -> None:
    chosen = SETTINGS[name]
    connector = SwapConnector(chosen)
    rows = sandbox_records()
    got = [item for page in pages(rows) for item in connector._parse_all(page)]
    assert_same(got, reference(chosen, rows))
    problems = [problem for _, _, problem in got if problem is not None]
    assert problems, "the sandbox plants malformed records"
    mixed = [page for page in pages(got) if any(p for _, _, p in page)]
    assert all(any(p is None for _, _, p in page) for page in mixed), (
        "a page with a malformed record still parses its good ones")


def test_v1_pages_parse_as_record_by_record() -> None:
    chosen = replace(BASE, api_version=1)
    rows = [as_v1(r) for r in sandbox_records()[:400]]
    got = [item for page in pages(rows, 50) for item in SwapConnector(chosen)._parse_all(page)]
    assert_same(got, reference(chosen, rows))


def test_from_raw_parses_the_cache_as_record_by_record() -> None:
    rows = sandbox_records()
    kept = PlatformBatch(raw={f"swap:{r.get('rma_number')}": r for r in rows},
                         fetched_at=NOW, cursor="c")
    batch = SwapConnector(BASE).from_raw(kept)
    want = reference(BASE, list(kept.raw.values()))
    assert repr(batch.views) == repr([view for _, view, _ in want])
    problems: dict[str, list[Any]] = {}
    for _, view, problem in want:
        if problem is not None:
            problems.setdefault(view.return_ref, []).append(problem)
    assert repr(batch.problems) == repr(problems)
    assert batch.raw == kept.raw and list(batch.raw) == list(kept.raw)


def conformance_records() -> list[tuple[int, Any]]:
    found = []
    for path in sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        found += [(case.get("api_version", 2), record)
                  for _, record, _ in variants(case, "record")]
    return found


@pytest.mark.parametrize("version", [1, 2])
def test_the_conformance_records_as_one_page(version: int) -> None:
    rows = [record for v, record in conformance_records() if v == version]
    assert rows
    for chosen in (replace(s, api_version=version) for s in SETTINGS.values()):
        assert_same(SwapConnector(chosen)._parse_all(rows), reference(chosen, rows))


def malformed() -> list[Any]:
    """Records that do not validate, or validate only thanks to the loose readers, next to
    good ones: shapes the sandbox does not send."""
    good = sandbox_records()[0]

    def edited(**changes: Any) -> dict[str, Any]:
        record = copy.deepcopy(good)
        for key, value in changes.items():
            if value is KeyError:
                record.pop(key, None)
            else:
                record[key] = value
        return record

    product = good["products"][0]
    two_places = [{"destination_location_id": "A", "items": [{"sku": product["sku"]}]},
                  {"destination_location_id": "B", "items": ["other-id", 7, None]},
                  {"destination_location_id": None, "items": "not a list"}, "junk"]
    return [
        None, 5, "text", [], {}, good,
        edited(rma_number=KeyError), edited(rma_number=""), edited(rma_number=7),
        edited(rma_number=KeyError, return_id=42), edited(products=KeyError),
        edited(products=[]), edited(products=[{**product, "item_count": -1}]),
        edited(products=[{**product, "item_count": "two"}, {**product, "sku": ""}]),
        edited(products="nope"), edited(date_created="yesterday"), edited(date_created=None),
        edited(return_status="Lost"), edited(delivery_status="Somewhere"),
        edited(products=[{**product, "cost": "abc"}]),
        edited(products=[{**product, "cost": "12.345", "item_count": 3}]),
        edited(products=[{**product, "cost": 10, "item_count": 0}]),
        edited(rma_processed="2026-01-02T03:04:05Z"), edited(rma_processed="perhaps"),
        edited(rma_processed={"a": 1}), edited(rma_processed=0),
        edited(handling_fee="1.5", total_refunded_taxes=True),
        edited(customer_name=12, customer_email=["x"], shopify_order_name=3.5),
        edited(type=" refund , Exchange,, ", type_string="Recycle"),
        edited(type=[], type_string=" Shop Later Credit ,Warranty"),
        edited(type=None, type_string="  Exchange ", products=[{**product, "return_type": None}]),
        edited(type="Recycle", type_string=5),
        edited(type=["", 5, " Exchange "], exchange_items=[{"sku": "Z"}]),
        edited(return_shipments=two_places), edited(return_shipments="none"),
        edited(return_shipments=[]), edited(quality_control_status="Graded"),
        edited(date_updated="not a date", delivered_date="", date_closed=None),
        edited(rma="V1-REF", order_name="#V1", status="Open", processed="yes",
               shipping_status="In-Transit"),
        {"rma": "ONLY-V1", "status": "Closed"}, {"rma_number": None, "return_id": "x1"},
        {"return_id": [1], "shopify_order_name": "#9"},
    ]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_malformed_records_are_the_same_problems_and_the_good_ones_still_parse(
        name: str) -> None:
    chosen = SETTINGS[name]
    rows = malformed()
    got = SwapConnector(chosen)._parse_all(rows)
    assert_same(got, reference(chosen, rows))
    assert sum(p is not None for _, _, p in got) >= 15
    assert sum(p is None for _, _, p in got) >= 15


def test_a_page_call_that_fails_falls_back_to_each_record(monkeypatch) -> None:
    class Failing:
        def validate_python(self, value: Any) -> Any:
            raise ValidationError.from_exception_data("page", [])

    monkeypatch.setattr(swap_records, "_page_adapter", Failing)
    rows = malformed() + sandbox_records()[:150]
    assert_same(SwapConnector(BASE)._parse_all(rows), reference(BASE, rows))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10_000),
                                st.lists(st.integers(0, 50), min_size=1, max_size=4),
                                json_values), min_size=1, max_size=6),
       name=st.sampled_from(sorted(SETTINGS)))
def test_a_page_of_bent_records_parses_as_record_by_record(edits, name: str) -> None:
    records = sandbox_records()
    rows = [bent(records[n % len(records)], path, value) for n, path, value in edits]
    rows.append(records[len(edits)])
    chosen = SETTINGS[name]
    assert_same(SwapConnector(chosen)._parse_all(rows), reference(chosen, rows))


def test_an_amount_too_large_to_price_is_a_problem_not_a_crash() -> None:
    records = sandbox_records()
    huge = copy.deepcopy(records[0])
    huge["products"][0]["cost"] = 1e30
    got = SwapConnector(BASE)._parse_all([huge, records[1]])
    assert got[0][2] is not None and "out of range" in got[0][2].error
    assert got[0][1].return_ref == huge["rma_number"]
    assert_same(got[1:], reference(BASE, [records[1]]))
    view, problem = SwapConnector(BASE).parse(huge)
    assert problem is not None and view.return_ref == huge["rma_number"]


@settings(max_examples=200, deadline=None)
@given(value=json_values | st.decimals() | st.sampled_from([True, False, 0, 1.5, "", "x"]))
def test_loose_text_reads_text_and_null_and_numbers_as_text(value) -> None:
    """`LooseText` (a field for display or matching only) takes text and null as they are,
    a number as its text, and reads anything else (a bool, an object, a list) as absent,
    rather than invalidating the return."""
    got = TypeAdapter(swap_records.LooseText).validate_python(value)
    if value is None or isinstance(value, str):
        want = value
    elif isinstance(value, bool):
        want = None
    elif isinstance(value, int | float | Decimal):
        want = str(value)
    else:
        want = None
    assert type(got) is type(want) and got == want

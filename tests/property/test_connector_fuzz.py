"""Any JSON in, no crash out: whatever a system sends, its connector answers with views
and PayloadProblems, never an exception (style.md: property tests for every connector)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returns_console.scenarios.catalogue import build_scenario
from returns_console.systems.d365_bc.connector import BcSettings, _Assembler
from returns_console.systems.d365_bc.simulator import render_company
from returns_console.systems.swap.connector import SwapConnector, SwapSettings
from returns_console.systems.swap.simulator import render_return
from tests.contracts.kit import bent, json_values

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SCENARIO = build_scenario(NOW, returns=30, capabilities=frozenset({"platform_location"}))
SWAP_RECORDS = [render_return(c, "store") for c in SCENARIO.snapshot["returns"]
                if not c.get("unlinked")]
BC = render_company(SCENARIO.snapshot, tenant="t", environment="e")

SWAP = SwapConnector(SwapSettings(base_url="http://x", store="store", api_key="k",
                                  api_version=2))
BC_SETTINGS = BcSettings(base_url="http://x", tenant="t", environment="e", client_id="c",
                         client_secret="s")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_swap_parse_never_raises_on_any_json(value) -> None:
    view, problem = SWAP.parse(value)
    assert view.system == "swap"
    assert problem is not None or isinstance(value, dict)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(0, len(SWAP_RECORDS) - 1), path=st.lists(st.integers(0, 50), min_size=1,
                                                               max_size=4), value=json_values)
def test_swap_parse_of_a_bent_record_is_a_view_or_a_problem(n, path, value) -> None:
    view, problem = SWAP.parse(bent(SWAP_RECORDS[n], path, value))
    assert view.return_ref
    if problem is not None:
        assert "\n" not in problem.error


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entity_set=st.sampled_from(sorted(BC.sets)), n=st.integers(0, 10_000),
       path=st.lists(st.integers(0, 50), min_size=1, max_size=4), value=json_values)
def test_business_central_assembly_of_a_bent_record_never_raises(entity_set, n, path,
                                                                 value) -> None:
    rows = {name: copy.deepcopy(records) for name, records in BC.sets.items()}
    records = rows[entity_set]
    if records:
        records[n % len(records)] = bent(records[n % len(records)], path, value)
    batch = _Assembler(BC_SETTINGS, NOW, None).assemble(rows)
    assert batch.views
    json.dumps([p.error for found in batch.problems.values() for p in found])


@settings(max_examples=60, deadline=None)
@given(entity_set=st.sampled_from(sorted(BC.sets)), value=json_values)
def test_business_central_assembly_of_any_json_in_a_set_never_raises(entity_set, value) -> None:
    rows = {name: copy.deepcopy(records) for name, records in BC.sets.items()}
    rows[entity_set] = [value]
    _Assembler(BC_SETTINGS, NOW, None).assemble(rows)


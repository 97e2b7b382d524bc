"""Swap Commerce conformance: documented payloads through `SwapConnector.parse`.

Each case in cases/*.json gives one return record as Swap sends it (`record`, v2 field names
unless `api_version` is 1) and what the parsed view must hold; `problem` is the
PayloadProblem (null = the record is valid). See tests/conformance/checker.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from returns_console.systems.swap.connector import SwapConnector, SwapSettings
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")


class Parsed:
    """What a path is resolved against: the view's fields, plus `problem`."""

    def __init__(self, view: Any, problem: Any) -> None:
        self.view = view
        self.problem = problem

    def stage(self, stage):
        return self.view.stage(stage)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
def test_swap_case(case: dict) -> None:
    check_citation(case)
    connector = SwapConnector(SwapSettings(base_url="http://x", store="s", api_key="k",
                                           api_version=case.get("api_version", 2),
                                           **{k: tuple(v) if isinstance(v, list) else v
                                              for k, v in case.get("settings", {}).items()}))
    failures: list[str] = []
    for name, record, expect in variants(case, "record"):
        assert expect, f"{case['_file']} ({name}): no expectations"
        view, problem = connector.parse(record)
        failures += check(Parsed(view, problem), expect, name)
        if "problem" not in expect and problem is not None:
            failures.append(f"{name}: unexpected problem: {problem.error}")
    assert not failures, "\n".join(failures)

"""Shopify conformance: returns as the Admin API types them (docs/vendors/shopify-admin-
subset.graphql) and behaves (docs/vendors/shopify.md) through `ShopifyConnector.parse`.

Each case in cases/*.json gives one return record as the connector reads it (the three
parts of `queries.py` laid together) and what the view must hold; `problem` is the first
PayloadProblem's text (null: none). Shopify's reference pages show no full sample response
for these objects (shopify.md §8.4): the records follow the schema's types, the behaviours
the cited sections. See tests/conformance/checker.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from returns_console.systems.shopify.connector import ShopifyConnector, ShopifySettings
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")


class Parsed:
    """What a path is resolved against: the view's fields, plus `problem`."""

    def __init__(self, view: Any, problems: list) -> None:
        self.view = view
        self.problem = problems[0].error if problems else None

    def stage(self, stage):
        return self.view.stage(stage)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES)
def test_shopify_case(case: dict) -> None:
    check_citation(case)
    connector = ShopifyConnector(ShopifySettings(base_url="https://shop.example",
                                                 access_token="shpat_x"))
    failures: list[str] = []
    for name, record, expect in variants(case, "record"):
        assert expect, f"{case['_file']} ({name}): no expectations"
        view, problems = connector.parse(record)
        failures += check(Parsed(view, problems), expect, name)
        if "problem" not in expect and problems:
            failures.append(f"{name}: unexpected problem: {problems[0].error}")
    assert not failures, "\n".join(failures)

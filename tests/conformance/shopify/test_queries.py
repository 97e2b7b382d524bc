"""Every GraphQL document the Shopify connector sends is one Shopify would run: valid
against Shopify's own schema for the pinned version (returns_console/systems/shopify/schema.graphql,
generated from a dump of the live 2026-07 schema: docs/vendors/shopify.md §0), and asking
no more than the 1,000 points a single query may (§5: "regardless of plan limits",
enforced before execution), at the batch sizes the connector uses. Costs are reckoned with
Shopify's table (§5) as `kits/graphql/server.py` reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from returns_console.kits.graphql.server import Endpoint
from returns_console.systems.shopify import queries as q

SCHEMA = Path(__file__).resolve().parents[3] / "returns_console" / "systems" / "shopify" / \
    "schema.graphql"


@pytest.fixture(scope="module")
def shopify() -> Endpoint:
    return Endpoint(SCHEMA.read_text(encoding="utf-8"), dict)


DOCUMENTS = {
    "changed orders": (q.changed_orders(), {"query": "updated_at:>'2026-11-01T00:00:00Z'"}),
    "an order's returns": (q.order_returns(), {"id": "gid://shopify/Order/1"}),
    **{f"returns by id: {part}": (q.by_ids(fields), {"ids": ["gid://shopify/Return/1"]
                                                       * q.BATCH[part]})
       for part, fields in q.PARTS.items()},
    "one return's lines, alone": (q.by_ids(q.return_core(q.ALONE)),
                                  {"ids": ["gid://shopify/Return/1"]}),
    "one return's dispositions, alone": (q.by_ids(q.return_dispositions(q.RFOS, q.ALONE,
                                                                         q.ALONE_DELIVERIES)),
                                         {"ids": ["gid://shopify/Return/1"]}),
    "one return's refunds, alone": (q.by_ids(q.return_refunds(q.REFUNDS, q.ALONE,
                                                              q.TRANSACTIONS)),
                                    {"ids": ["gid://shopify/Return/1"]}),
    # the app's running exports, by the pinned version (2026-01+, and before)
    "running exports": (q.running_bulks("2026-07"), {}),
    "the current export (before 2026-01)": (q.running_bulks("2025-10"), {}),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_document_is_valid_and_within_the_single_query_limit(shopify: Endpoint,
                                                               name: str) -> None:
    document, variables = DOCUMENTS[name]
    parsed = parse(document)
    assert [e.message for e in validate(shopify.schema, parsed)] == []
    assert shopify.cost(parsed, variables) <= q.MAX_QUERY_COST


@pytest.mark.parametrize("part", sorted(q.PARTS))
def test_each_batch_is_as_big_as_the_limit_allows(shopify: Endpoint, part: str) -> None:
    """Fewer returns per query than fit would cost requests for nothing."""
    parsed = parse(q.by_ids(q.PARTS[part]))
    one = shopify.cost(parsed, {"ids": ["x"]})
    assert q.BATCH[part] == q.MAX_QUERY_COST // one


def test_the_hinted_orders_document_is_valid_and_its_batch_as_big_as_fits(
        shopify: Endpoint) -> None:
    """Webhooks name orders, reverse fulfillment orders and refunds: one document asks
    each for its returns' ids, as many ids a query as the single-query limit allows."""
    parsed = parse(q.hinted_orders())
    assert [e.message for e in validate(shopify.schema, parsed)] == []
    one = shopify.cost(parsed, {"ids": ["x"]})
    assert shopify.cost(parsed, {"ids": ["x"] * q.HINT_BATCH}) <= q.MAX_QUERY_COST
    assert q.MAX_QUERY_COST // one == q.HINT_BATCH


def test_a_page_of_changed_orders_is_as_big_as_the_limit_allows(shopify: Endpoint) -> None:
    """A page of orders (each with its returns' ids) fits under the 1,000 points one query
    may ask, and one order more would not: a full read asks no more pages than it must."""
    cost = shopify.cost(parse(q.changed_orders()), {"query": "updated_at:>'2026-11-01'"})
    more = shopify.cost(parse(q.changed_orders(q.ORDERS_PER_PAGE + 1)), {})
    assert cost <= q.MAX_QUERY_COST < more

"""The GraphQL kit's bulk queries (docs/vendors/shopify.md §7) on a small schema: a query
run whole, its connections unpaged, written as JSON Lines with children after their parent
naming it in `__parentId`; and the documented restrictions refused with a reason."""

from __future__ import annotations

import json

from graphql import parse

from returns_console.kits.graphql import bulk
from tests.kits.test_graphql_server import endpoint


def test_a_bulk_query_runs_whole_and_children_follow_their_parent() -> None:
    server = endpoint(n=260)  # more than any page may hold (250)
    data, why = server.run_whole("{ things { edges { node { id name parts { edges { node "
                                 "{ id } } } } } } }")
    assert why is None and data is not None
    body, count, roots = bulk.jsonl(data)
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert roots == 260 and count == len(rows) == 260 + sum(i % 3 for i in range(260))
    assert rows[0] == {"id": "t0", "name": "thing 0"}
    assert rows[1:4] == [{"id": "t1", "name": "thing 1"},
                         {"id": "p1.0", "__parentId": "t1"},
                         {"id": "t2", "name": "thing 2"}]
    # `nodes` is read like `edges { node }`; a filter still applies
    data, _ = server.run_whole('{ things(query: "thing 25") { nodes { id } } }')
    assert data is not None
    assert [r["id"] for r in bulk.lines(data)] == ["t25"] + [f"t{i}" for i in range(250, 260)]


def test_the_documented_restrictions_are_refused_with_a_reason() -> None:
    server = endpoint()
    assert server.run_whole("{ shop { id } }")[1] == (
        "Bulk queries must contain at least one connection.")
    assert "exactly one query" in str(server.run_whole(
        'mutation { rename(id: "t1", name: "x") { id } }')[1])
    assert "Invalid bulk query" in str(server.run_whole("{ nope }")[1])
    deep = ("{ things { nodes { parts { nodes { id } } } } }")
    assert bulk.refusal(server.schema, parse(deep)) is None
    assert bulk.MAX_NESTING == 2 and bulk.MAX_CONNECTIONS == 5

"""The GraphQL server kit (what simulators are built on) on its own, and the client kit
against it: a schema's queries validated and executed, cursor connections paged to the
end, requested cost reckoned from the document, the bucket spent and given back, and a
client paced by it never throttled. Time is a fake clock."""

from __future__ import annotations

import json

import httpx
import pytest
from graphql import GraphQLError as SchemaError

from returns_console.connectors.http import HttpClient, RetryPolicy
from returns_console.kits.graphql.client import GraphQLClient, GraphQLError
from returns_console.kits.graphql.cost import CostBucket
from returns_console.kits.graphql.server import (
    CostRules,
    Endpoint,
    ServerBucket,
    connection,
    decode_cursor,
    encode_cursor,
)

SDL = """
type Query {
  things(first: Int, after: String, last: Int, before: String, reverse: Boolean,
         query: String): ThingConnection!
  shop: Shop!
}
type Mutation { rename(id: ID!, name: String!): Thing }
type Shop { id: ID! name: String! }
type Thing {
  id: ID!
  name: String!
  parts(first: Int, after: String, last: Int, before: String, reverse: Boolean): PartConnection!
}
type Part { id: ID! }
type PartConnection { nodes: [Part!]! edges: [PartEdge!]! pageInfo: PageInfo! }
type PartEdge { cursor: String! node: Part! }
type ThingConnection { nodes: [Thing!]! edges: [ThingEdge!]! pageInfo: PageInfo! }
type ThingEdge { cursor: String! node: Thing! }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String
                endCursor: String }
"""
PAGED = """query Things($after: String, $q: String) {
  things(first: 4, after: $after, query: $q) {
    nodes { id parts(first: 5) { nodes { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def things(n: int) -> list[dict]:
    return [{"id": f"t{i}", "name": f"thing {i}",
             "parts": [{"id": f"p{i}.{j}"} for j in range(i % 3)]} for i in range(n)]


def endpoint(n: int = 10, clock: Clock | None = None, **bucket) -> Endpoint:
    data = {"things": things(n), "shop": {"id": "s1", "name": "Northwind"}}
    return Endpoint(SDL, lambda: data, filters={
        "Query.things": lambda items, args: [t for t in items if not args.get("query")
                                             or args["query"] in t["name"]]},
        bucket=ServerBucket(clock=clock or Clock(), **bucket))


def ask(e: Endpoint, query: str, **variables) -> tuple[int, dict]:
    return e.answer(json.dumps({"query": query, "variables": variables}).encode())


def test_a_query_is_executed_with_only_what_it_asked_for() -> None:
    status, body = ask(endpoint(), "{ shop { name } first: things(first: 1) { nodes { id } } }")
    assert status == 200
    assert body["data"] == {"shop": {"name": "Northwind"},
                            "first": {"nodes": [{"id": "t0"}]}}
    assert set(body["extensions"]["cost"]) == {"requestedQueryCost", "actualQueryCost",
                                               "throttleStatus"}


def test_unknown_fields_and_bad_json_are_errors_as_a_server_gives_them() -> None:
    status, body = ask(endpoint(), "{ things(first: 1) { nodes { price } } }")
    assert status == 200 and "data" not in body
    assert "Cannot query field 'price'" in body["errors"][0]["message"]
    assert endpoint().answer(b"{not json")[0] == 400
    assert endpoint().answer(b'{"variables": {}}')[0] == 400
    status, body = ask(endpoint(), "{ things(first: 1) { nodes { id } }")
    assert body["errors"][0]["extensions"]["code"] == "PARSE_ERROR"


def test_connections_page_by_cursor_both_ways() -> None:
    items = list(range(10))
    page = connection(items, {"first": 4})
    assert page["nodes"] == [0, 1, 2, 3] and page["pageInfo"]["hasNextPage"]
    after = connection(items, {"first": 4, "after": page["pageInfo"]["endCursor"]})
    assert after["nodes"] == [4, 5, 6, 7]
    tail = connection(items, {"first": 4, "after": after["pageInfo"]["endCursor"]})
    assert tail["nodes"] == [8, 9] and not tail["pageInfo"]["hasNextPage"]
    assert connection(items, {"last": 3})["nodes"] == [7, 8, 9]
    back = connection(items, {"first": 3, "reverse": True})
    assert back["nodes"] == [9, 8, 7]
    assert connection(items, {"first": 3, "reverse": True,
                              "after": back["pageInfo"]["endCursor"]})["nodes"] == [6, 5, 4]
    assert decode_cursor(page["edges"][1]["cursor"]) == 1
    assert connection([], {"first": 5})["pageInfo"] == {
        "hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
        "endCursor": None}


def test_requested_cost_follows_the_rules() -> None:
    """Objects 1, scalars 0, a connection 2 plus its size times one node's selection,
    nested connections multiplied through; a mutation 10 on top."""
    e = endpoint()
    _, body = ask(e, "{ shop { id name } }")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    _, body = ask(e, "{ things(first: 10) { nodes { id } } }")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * 1
    _, body = ask(e, PAGED)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 4 * (1 + 2 + 5 * 1)
    _, body = ask(e, 'mutation { rename(id: "t1", name: "x") { id } }')
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 1
    _, body = ask(e, "{ things(first: 250) { edges { node { parts(first: 250) "
                     "{ nodes { id } } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_the_bucket_throttles_and_gives_back_what_was_not_used() -> None:
    clock = Clock()
    e = endpoint(clock=clock, maximum=100, restore_rate=10)
    _, body = ask(e, PAGED)  # asks 34, 4 things with 3 parts among them: spends less
    cost = body["extensions"]["cost"]
    assert cost["actualQueryCost"] < cost["requestedQueryCost"]
    assert cost["throttleStatus"]["currentlyAvailable"] == 100 - cost["actualQueryCost"]
    answers = [ask(e, PAGED)[1] for _ in range(20)]
    throttled = [b for b in answers if "errors" in b]
    assert throttled and throttled[0]["errors"] == [
        {"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    assert throttled[0]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 34
    clock.now += 10
    assert "data" in ask(e, PAGED)[1]


async def test_the_client_pages_a_filtered_connection_and_is_never_throttled() -> None:
    clock = Clock()
    e = endpoint(n=60, clock=clock, maximum=100, restore_rate=10)
    http = HttpClient("gql", "https://shop.example.test/admin/api", retry=RetryPolicy(
        attempts=1, initial=0, maximum=0, jitter=0), sleep=clock.sleep,
        transport=httpx.MockTransport(lambda r: _reply(e, r)))
    gql = GraphQLClient(http, "graphql.json", bucket=CostBucket(clock=clock,
                                                                 sleep=clock.sleep))
    seen = [n["id"] async for p in gql.pages(PAGED, {"q": "thing 1"}, ["things"])
            for n in p.nodes]
    assert seen == ["t1"] + [f"t{i}" for i in range(10, 20)]
    seen = [n["id"] async for p in gql.pages(PAGED, {}, ["things"]) for n in p.nodes]
    assert seen == [f"t{i}" for i in range(60)]
    assert gql.throttled == 0 and clock.now > 0  # it waited for the bucket, unasked
    with pytest.raises(GraphQLError, match="GRAPHQL_VALIDATION_FAILED"):
        await gql.execute("{ shop { owner } }")


def test_rules_are_the_vendors_to_set() -> None:
    e = Endpoint(SDL, dict, rules=CostRules(object=2, connection=3))
    assert e.cost(_parse("{ things(first: 2) { nodes { id } } }"), {}) == 3 + 2 * 2


def _reply(e: Endpoint, request: httpx.Request) -> httpx.Response:
    status, body = e.answer(request.content)
    return httpx.Response(status, json=body)


def _parse(text: str):
    from graphql import parse

    return parse(text)


def test_what_a_request_cannot_do_to_the_cost_or_the_server() -> None:
    """A variable's default counts in the cost; a negative or oversized page is an error,
    not a bucket that gains points; a variable of the wrong type is an error, not a crash;
    `nodes` and `edges` cost alike."""
    e = endpoint(n=60)
    _, body = ask(e, "query($n: Int = 50) { things(first: $n) { nodes { id } } }")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 50
    assert len(body["data"]["things"]["nodes"]) == 50
    _, body = ask(e, "{ things(first: -50) { nodes { id } } }")
    assert "between 0 and 250" in body["errors"][0]["message"]
    assert body["extensions"]["cost"]["requestedQueryCost"] >= 0
    _, body = ask(e, "query($n: Int) { things(first: $n) { nodes { id } } }", n="abc")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    _, by_nodes = ask(e, "{ things(first: 5) { nodes { id } } }")
    _, by_edges = ask(e, "{ things(first: 5) { edges { node { id } } } }")
    assert by_nodes["extensions"]["cost"]["actualQueryCost"] >= 5
    assert (by_nodes["extensions"]["cost"]["actualQueryCost"]
            <= by_edges["extensions"]["cost"]["actualQueryCost"])


def test_page_info_and_bad_cursors() -> None:
    items = list(range(10))
    assert connection(items, {"first": 0})["pageInfo"]["hasNextPage"] is True
    page = connection(items, {"first": 3})
    after = connection(items, {"first": 3, "after": page["pageInfo"]["endCursor"]})
    assert after["pageInfo"]["hasPreviousPage"] is True
    before = connection(items, {"last": 2, "before": after["edges"][0]["cursor"]})
    assert before["nodes"] == [1, 2] and before["pageInfo"]["hasNextPage"] is True
    for bad in ("", "bm90IGpzb24=", "eyJsYXN0X2lkIjogMWU0MDB9", encode_cursor(99)):
        with pytest.raises(SchemaError):
            connection(items, {"first": 3, "after": bad})


def test_a_list_asked_for_by_keys_costs_one_object_per_key() -> None:
    sdl = SDL.replace("  shop: Shop!\n", "  shop: Shop!\n  byIds(ids: [ID!]!): [Thing]!\n")
    e = Endpoint(sdl, dict)
    assert e.cost(_parse('query($ids: [ID!]!) { byIds(ids: $ids) { id } }'),
                  {"ids": ["a", "b", "c"]}) == 3


def test_fragments_on_the_types_of_an_interface_cost_the_dearest_of_them() -> None:
    """One object is only one of an interface's types: Shopify reckons "Interface/Union:
    Maximum of possible selections", so a document naming several types in fragments is
    charged for the dearest, and fragments on the same type add up."""
    sdl = (SDL.replace("type Thing {", "interface Node { id: ID! }\ntype Thing implements Node {")
           .replace("type Shop {", "type Shop implements Node {")
           .replace("  shop: Shop!\n", "  shop: Shop!\n  nodes(ids: [ID!]!): [Node]!\n"))
    e = Endpoint(sdl, dict)
    thing = "... on Thing { parts(first: 5) { nodes { id } } }"  # 2 + 5
    shop = "... on Shop { name }"  # 0
    query = "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id {} }} }}"
    one = {"ids": ["a"]}
    assert e.cost(_parse(query.format(f"{thing} {shop}")), one) == 1 + 7
    assert e.cost(_parse(query.format(shop)), one) == 1
    assert e.cost(_parse(query.format(f"{thing} {thing}")), one) == 1 + 14
    assert e.cost(_parse(query.format(f"{thing} {shop}")), {"ids": ["a", "b"]}) == 2 * 8


def test_a_union_costs_its_dearest_member_and_an_object_only_its_own_fragments() -> None:
    """A union's object is one of its members (the dearest counts); on an object, a
    fragment on another type never applies, one on an interface it implements does."""
    sdl = (SDL.replace("type Thing {", "interface Node { id: ID! }\ntype Thing implements Node {")
           .replace("type Shop {", "type Shop implements Node {")
           .replace("  shop: Shop!\n", "  shop: Shop!\n  any(id: ID!): Any\n"
                    "  thing(id: ID!): Thing\n")
           + "union Any = Thing | Shop\n")
    e = Endpoint(sdl, dict)
    parts = "parts(first: 5) { nodes { id } }"  # 2 + 5
    union = f'{{ any(id: "a") {{ ... on Thing {{ {parts} }} ... on Shop {{ name }} }} }}'
    assert e.cost(_parse(union), {}) == 1 + 7
    thing = (f'{{ thing(id: "a") {{ ... on Shop {{ name }} '
             f'... on Node {{ ... on Thing {{ {parts} }} }} }} }}')
    assert e.cost(_parse(thing), {}) == 1 + 7

"""The GraphQL client kit on its own (httpx.MockTransport, no system): cursor paging to
the end, the error envelope, and cost-based throttling paced from the server's own figures
(a leaky bucket modelled here as the docs describe it: the requested cost taken at the
start, the unused part given back). Time is a fake clock: no test waits for real."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from returns_console.connectors.errors import InvalidPayloadError, RateLimitedError
from returns_console.connectors.http import HttpClient, RetryPolicy
from returns_console.kits.graphql.client import GraphQLClient, GraphQLError
from returns_console.kits.graphql.cost import CostBucket

ROOT = "https://shop.example.test/admin/api/2025-07"
ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)
PAGED = """query Things($first: Int!, $after: String) {
  things(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
}"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Shop:
    """A GraphQL endpoint with a cost bucket: `maximum` points, `rate` a second back, each
    operation asks `requested` and spends `actual`; a query the bucket cannot hold is
    THROTTLED (HTTP 200, as the errors envelope says). Pages of `things`, `size` each."""

    def __init__(self, clock: Clock, *, things: int = 7, size: int = 3, maximum: float = 100,
                 rate: float = 10, requested: float = 40, actual: float = 25) -> None:
        self.clock, self.things, self.size = clock, things, size
        self.maximum, self.rate, self.requested, self.actual = maximum, rate, requested, actual
        self.available, self.at = maximum, clock.now
        self.seen: list[dict] = []
        self.throttled = 0
        self.script: list[httpx.Response] = []

    def _level(self) -> float:
        return min(self.maximum, self.available + (self.clock.now - self.at) * self.rate)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.seen.append(body)
        if self.script:
            return self.script.pop(0)
        level = self._level()
        status = {"maximumAvailable": self.maximum, "restoreRate": self.rate}
        if level < self.requested:
            self.throttled += 1
            self.available, self.at = level, self.clock.now
            return httpx.Response(200, json={
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {"cost": {"requestedQueryCost": self.requested,
                                        "actualQueryCost": None, "throttleStatus": {
                                            **status, "currentlyAvailable": level}}}})
        self.available, self.at = level - self.actual, self.clock.now
        start = int((body.get("variables") or {}).get("after") or 0)
        ids = list(range(start, min(start + self.size, self.things)))
        more = start + self.size < self.things
        return httpx.Response(200, json={
            "data": {"things": {"nodes": [{"id": f"gid://x/Thing/{i}"} for i in ids],
                                "pageInfo": {"hasNextPage": more,
                                             "endCursor": str(start + self.size) if more
                                             else None}}},
            "extensions": {"cost": {"requestedQueryCost": self.requested,
                                    "actualQueryCost": self.actual, "throttleStatus": {
                                        **status, "currentlyAvailable": self.available}}}})


def client(shop: Shop, clock: Clock, **kw: Any) -> GraphQLClient:
    http = HttpClient("graphql-test", ROOT, transport=httpx.MockTransport(shop), retry=ONCE,
                      sleep=clock.sleep)
    return GraphQLClient(http, "graphql.json", bucket=CostBucket(clock=clock,
                                                                 sleep=clock.sleep), **kw)


async def all_pages(gql: GraphQLClient) -> list[str]:
    return [n["id"] async for page in gql.pages(PAGED, {"first": 3}, ["things"])
            for n in page.nodes]


async def test_a_connection_is_paged_to_the_end_by_its_cursor() -> None:
    clock = Clock()
    shop = Shop(clock, things=7, size=3)
    gql = client(shop, clock)
    assert await all_pages(gql) == [f"gid://x/Thing/{i}" for i in range(7)]
    assert [s["variables"]["after"] for s in shop.seen] == [None, "3", "6"]
    assert all(s["query"] == PAGED and s["variables"]["first"] == 3 for s in shop.seen)


async def test_paced_by_the_bucket_the_server_never_throttles() -> None:
    """Forty queries against a 100-point bucket refilling 10 a second, each asking 40 and
    spending 25: the client waits before sending instead of being told to, and waits no
    longer than the bucket needs (its waits add up to what the spending requires)."""
    clock = Clock()
    shop = Shop(clock, things=40, size=1)
    gql = client(shop, clock, first_cost=40)
    assert len(await all_pages(gql)) == 40
    assert shop.throttled == 0 and gql.throttled == 0
    # 40 x 25 points spent, 100 in the bucket to start: the rest comes back at 10 a second;
    # a query starts only once 40 are there, so the last waits for 15 more than it spends.
    assert clock.now == pytest.approx((40 * 25 - 100 + 15) / 10, abs=1.0)


async def test_a_throttled_answer_is_waited_out_as_its_own_figures_say() -> None:
    """Another process spent the bucket: the first answer is THROTTLED with the bucket's
    level; the client waits exactly until the requested cost is back, then succeeds."""
    clock = Clock()
    shop = Shop(clock, things=2, size=5)
    shop.available = 4.0  # someone else's spending
    gql = client(shop, clock)
    assert len(await all_pages(gql)) == 2
    assert shop.throttled == 1 and gql.throttled == 1
    assert clock.slept == [pytest.approx((40 + 1 - 4) / 10)]  # one point of margin


async def test_throttled_again_and_again_is_a_rate_limit_error() -> None:
    clock = Clock()
    shop = Shop(clock)
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    shop.script = [httpx.Response(200, json=throttled) for _ in range(10)]
    with pytest.raises(RateLimitedError, match="throttled 5 times"):
        await client(shop, clock).execute("{ shop { id } }")


async def test_errors_are_one_line_with_their_codes_and_no_secret() -> None:
    clock = Clock()
    shop = Shop(clock)
    shop.script = [httpx.Response(200, json={"errors": [
        {"message": "Access denied for returns field. Token shpat_0123456789abcdef0123",
         "extensions": {"code": "ACCESS_DENIED"}},
        {"message": "\x1b[2Jcleared", "path": ["returns"]}], "data": None})]
    with pytest.raises(GraphQLError) as caught:
        await client(shop, clock).execute("{ returns { id } }")
    text = str(caught.value)
    assert "[ACCESS_DENIED]:" in text and "Access denied for returns field" in text
    assert "shpat_" not in text
    assert "\x1b" not in text and caught.value.codes == ("ACCESS_DENIED", "")


async def test_an_error_never_repeats_what_the_request_carried() -> None:
    """The token went in a header: a server that quotes it back is not repeated."""
    clock = Clock()
    shop = Shop(clock)
    shop.script = [httpx.Response(200, json={"errors": [
        {"message": "bad credentials abcdef0123secretvalue"}]})]
    http = HttpClient("graphql-test", ROOT, transport=httpx.MockTransport(shop), retry=ONCE,
                      headers={"X-Shopify-Access-Token": "abcdef0123secretvalue"})
    gql = GraphQLClient(http, "graphql.json", bucket=CostBucket(clock=clock,
                                                                 sleep=clock.sleep))
    with pytest.raises(GraphQLError) as caught:
        await gql.execute("{ shop { id } }")
    assert "abcdef0123secretvalue" not in str(caught.value)
    assert "[]" not in str(caught.value)


async def test_a_cursor_that_does_not_move_is_an_invalid_answer_not_a_loop() -> None:
    clock = Clock()
    shop = Shop(clock)
    stuck = {"data": {"things": {"nodes": [{"id": "a"}],
                                 "pageInfo": {"hasNextPage": True, "endCursor": "c1"}}}}
    shop.script = [httpx.Response(200, json=stuck) for _ in range(3)]
    with pytest.raises(InvalidPayloadError, match="no new cursor"):
        await all_pages(client(shop, clock))


async def test_a_throttle_without_figures_is_waited_out_a_second_at_a_time() -> None:
    clock = Clock()
    shop = Shop(clock)
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    shop.script = [httpx.Response(200, json=throttled), httpx.Response(200, json=throttled)]
    await client(shop, clock).execute("{ things(first: 1) { nodes { id } } }")
    assert clock.slept[:2] == [1.0, 1.0]


async def test_queries_in_flight_together_are_paced_and_never_throttled() -> None:
    """Forty queries at once on one client (four in flight at a time, each answer taking
    a moment): an answer's figure does not count the queries sent after it, so the client
    takes those off itself; the first query goes alone, until the bucket is known."""
    import asyncio

    from returns_console.kits.graphql.server import Endpoint, ServerBucket

    clock = Clock()
    sdl = """type Query { things(first: Int, after: String, last: Int, before: String,
               reverse: Boolean): ThingConnection! }
             type Thing { id: ID! }
             type ThingConnection { nodes: [Thing!]! pageInfo: PageInfo! }
             type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean!
                             startCursor: String endCursor: String }"""
    data = {"things": [{"id": str(i)} for i in range(30)]}
    endpoint = Endpoint(sdl, lambda: data, bucket=ServerBucket(maximum=100, restore_rate=10,
                                                               clock=clock))

    async def answer(request: httpx.Request) -> httpx.Response:
        status, body = endpoint.answer(request.content)  # charged when it arrives
        await asyncio.sleep(0)  # others are sent meanwhile
        await asyncio.sleep(0)
        return httpx.Response(status, json=body)

    http = HttpClient("graphql-test", ROOT, transport=httpx.MockTransport(answer), retry=ONCE,
                      concurrency=4)
    gql = GraphQLClient(http, "graphql.json", bucket=CostBucket(clock=clock,
                                                                 sleep=clock.sleep))
    query = "{ things(first: 20) { nodes { id } } }"
    await asyncio.gather(*(gql.execute(query) for _ in range(40)))
    assert gql.throttled == 0


@pytest.mark.parametrize("answer", [
    [1, 2], {"data": None}, {"data": {"things": {"nodes": "no"}}},
    {"data": {"things": {"nodes": [], "pageInfo": {"hasNextPage": True}}}},
])
async def test_an_answer_of_the_wrong_shape_is_invalid_payload(answer: Any) -> None:
    clock = Clock()
    shop = Shop(clock)
    shop.script = [httpx.Response(200, json=answer)]
    with pytest.raises(InvalidPayloadError):
        await all_pages(client(shop, clock))


def test_the_bucket_is_refilled_at_its_rate_up_to_its_size() -> None:
    clock = Clock()
    bucket = CostBucket(clock=clock, sleep=clock.sleep)
    assert bucket.available() is None and bucket.wait_for(500) == 0.0  # not known yet
    bucket.answered(0, {"maximumAvailable": 1000, "currentlyAvailable": 100,
                        "restoreRate": 50})
    assert bucket.wait_for(300) == pytest.approx((300 + 1 - 100) / 50)  # one point of margin
    clock.now += 100
    assert bucket.available() == 1000
    assert bucket.wait_for(5000) == 0.0  # bigger than the bucket: waits for a full one only
    bucket.answered(0, {"currentlyAvailable": "not a number"})
    assert bucket.available() == 1000
    bucket.answered(0, None)
    assert isinstance(bucket.available(), float)
    # figures no bucket can have are not believed into a wait without end
    bucket.answered(0, {"currentlyAvailable": "-1E+400", "restoreRate": 1e-300})
    assert bucket.wait_for(10) <= 60.0

"""A Shopify full read through a bulk operation (docs/vendors/shopify.md §7): the orders,
their returns and lines exported as JSON Lines and downloaded from a signed link, the
other two parts read by id, gives what the paged read gives; it is picked by size
(`ordersCount` against `bulk_min_orders`), and any way it does not complete is a paged
read instead, never less. An export of the console's own already running (an earlier
process's, or a start whose answer was lost) is waited for instead of wasted; another's is
left alone."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from returns_console.connectors.http import CallLog
from returns_console.services.connections import open_platform
from returns_console.systems.shopify import bulk
from returns_console.systems.shopify import queries as q
from returns_console.systems.shopify.connector import BULK_NOT_USED, _moment
from tests.contracts import kit


def read(box, wrap=None, **options):
    """A full read of the sandbox's Shopify (its transport wrapped by `wrap`, if given),
    with the waits between retries and polls recorded, not waited."""
    profile = kit.tuned(box.profile(kit.IN_PROCESS), shopify=options)
    log = CallLog()
    waits: list[float] = []
    transport = kit.in_process(box)

    async def go():
        platform = open_platform(profile, box.secret, log,
                                 wrap(transport) if wrap else transport)

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        platform.http._sleep = sleep
        try:
            return await platform.fetch_returns()
        finally:
            await platform.aclose()
    return asyncio.run(go()), log, waits


def queries(log: CallLog) -> list[str]:
    return [c.url for c in log]


def same(a, b) -> None:
    assert {v.return_ref: v for v in a.views} == {v.return_ref: v for v in b.views}
    assert a.raw == b.raw and a.problems == b.problems and a.cursor == b.cursor


PAGED_REQUESTS: list[int] = []


@pytest.fixture(scope="module")
def paged():
    box = kit.sandbox("shopify", "netsuite", returns=30)
    batch, log, _ = read(box, bulk_full_read="never")
    PAGED_REQUESTS.append(log.count())
    return batch


def test_a_bulk_read_gives_what_a_paged_read_gives_in_fewer_requests(paged) -> None:
    box = kit.sandbox("shopify", "netsuite", returns=30)
    bulked, log, _ = read(box, bulk_full_read="always")
    same(bulked, paged)
    # the export was used, not read the paged way after it (its start, poll, download
    # and count would come on top): the orders page and the core part are not asked for
    assert log.count() <= PAGED_REQUESTS[0]
    ops = box.platform.bulk.operations
    assert len(ops) == 1 and next(iter(ops.values()))["status"] == "COMPLETED"
    # the file was fetched without the access token, its signature masked in the log
    assert box.platform.bulk.downloads and all(
        "x-shopify-access-token" not in headers for headers in box.platform.bulk.downloads)
    files = [u for u in queries(log) if "/bulk-files/" in u]
    assert files and all("X-Goog-Signature=***" in u for u in files)


def test_auto_exports_only_when_the_saving_at_the_stores_rate_is_worth_it(paged) -> None:
    """30 orders save about 30 x 15 points: at the sandbox's Enterprise rate (2,000 points
    a second) about 0.2 s, against the 60 s an export is taken to cost."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    small, _, _ = read(box)
    assert not box.platform.bulk.operations
    same(small, paged)
    large, _, _ = read(box, bulk_min_saving_s=0.1)
    assert len(box.platform.bulk.operations) == 1
    same(large, paged)
    assert small.notes == [] and large.notes == []


def test_polls_wait_longer_each_time_up_to_the_most(paged) -> None:
    box = kit.sandbox("shopify", "netsuite", returns=30)
    box.platform.bulk.polls = 4
    bulked, _, waits = read(box, bulk_full_read="always")
    same(bulked, paged)
    assert waits[:4] == [bulk.FIRST_POLL, 2 * bulk.FIRST_POLL, 4 * bulk.FIRST_POLL,
                         8 * bulk.FIRST_POLL]


@pytest.mark.parametrize("trouble", ["in_progress", "failed", "no_file", "cut_short"])
def test_an_export_that_does_not_complete_is_a_paged_read(paged, trouble) -> None:
    box = kit.sandbox("shopify", "netsuite", returns=30)
    operations = box.platform.bulk
    if trouble == "in_progress":  # another operation of the app's is running
        operations.operations["gid://shopify/BulkOperation/99"] = {
            "__typename": "BulkOperation", "id": "gid://shopify/BulkOperation/99",
            "status": "RUNNING"}
    elif trouble == "failed":
        operations.fail_next = "INTERNAL_SERVER_ERROR"
    elif trouble == "no_file":  # the link no longer opens (expired, or refused)
        operations.files = _Refusing()
    else:  # the file holds fewer objects than the operation counted
        operations.files = _Shortened()
    bulked, _, _ = read(box, bulk_full_read="always")
    same(bulked, paged)
    # the source says why the quicker way was not taken (check's JSON and table show it)
    (note,) = bulked.notes
    assert note.startswith(BULK_NOT_USED) and {
        "in_progress": "OPERATION_IN_PROGRESS", "failed": "FAILED (INTERNAL_SERVER_ERROR)",
        "no_file": "could not be fetched", "cut_short": "not what Shopify counted"}[
        trouble] in note


class _Shortened(dict):
    def __setitem__(self, key, value) -> None:  # its last line lost
        super().__setitem__(key, b"\n".join(value.splitlines()[:-1]) + b"\n")


class _Refusing(dict):
    def __setitem__(self, key, value) -> None:  # the file is never there to fetch
        pass


def test_an_export_of_nothing_has_no_file_and_no_returns() -> None:
    """§7: `url` is null when the query produced no results."""
    core = bulk.lay_out(b"", bulk.BulkCore(), _moment)
    assert core is not None and core.ids == [] and core.newest is None


def test_lines_are_laid_out_under_their_parents_and_a_stray_line_is_refused() -> None:
    body = b"\n".join([
        b'{"id":"gid://shopify/Order/1","updatedAt":"2026-11-20T10:00:00Z"}',
        b'{"id":"gid://shopify/Return/7","name":"#1001-R1","__parentId":"gid://shopify/Order/1"}',
        b'{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/8","quantity":1,'
        b'"__parentId":"gid://shopify/Return/7"}',
        b'{"__typename":"ExchangeLineItem","id":"gid://shopify/ExchangeLineItem/9",'
        b'"__parentId":"gid://shopify/Return/7"}',
        b'{"id":"gid://shopify/Order/2","updatedAt":"2026-11-21T10:00:00Z"}', b""])
    core = bulk.lay_out(body, bulk.BulkCore(), _moment)
    assert core is not None and core.ids == ["gid://shopify/Return/7"]
    record = core.records["gid://shopify/Return/7"]
    assert [n["id"] for n in record["returnLineItems"]["nodes"]] == [
        "gid://shopify/ReturnLineItem/8"]
    assert [n["id"] for n in record["exchangeLineItems"]["nodes"]] == [
        "gid://shopify/ExchangeLineItem/9"]
    assert core.newest is not None and core.newest.day == 21
    orphan = b'{"id":"gid://shopify/ReturnLineItem/8","__parentId":"gid://shopify/Return/5"}'
    assert bulk.lay_out(orphan, bulk.BulkCore(), _moment) is None
    assert bulk.lay_out(b"not json", bulk.BulkCore(), _moment) is None


def test_what_a_bulk_query_cannot_carry_is_refused_as_shopify_documents() -> None:
    """§7: at most five connections, two levels deep below the top one; the connector's
    own query is within both."""
    from graphql import parse

    from returns_console.kits.graphql.bulk import refusal
    from returns_console.systems.shopify import queries as q

    schema = kit.sandbox("shopify", "netsuite").platform.endpoint.schema
    assert refusal(schema, parse(q.bulk_orders("2026-01-01T00:00:00Z"))) is None
    too_deep = ("{ orders { edges { node { returns { edges { node { reverseFulfillmentOrders "
                "{ edges { node { lineItems { edges { node { id } } } } } } } } } } } } }")
    assert "nested more than 2" in str(refusal(schema, parse(too_deep)))
    assert "top level `node`" in str(refusal(schema, parse('{ node(id: "x") { id } }')))


def test_children_before_their_parent_are_joined_by_id() -> None:
    """`groupObjects: false` (the 2026-01 default) does not promise a child follows its
    parent (shopify.md §7)."""
    body = b"\n".join([
        b'{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/8",'
        b'"__parentId":"gid://shopify/Return/7"}',
        b'{"id":"gid://shopify/Return/7","name":"#1001-R1","__parentId":"gid://shopify/Order/1"}',
        b'{"id":"gid://shopify/Order/1","updatedAt":"2026-11-20T10:00:00Z"}'])
    core = bulk.lay_out(body, bulk.BulkCore(), _moment)
    assert core is not None and core.ids == ["gid://shopify/Return/7"]
    assert core.records["gid://shopify/Return/7"]["returnLineItems"]["nodes"] == [
        {"__typename": "ReturnLineItem", "id": "gid://shopify/ReturnLineItem/8"}]


def test_an_export_without_the_returns_a_page_shows_is_not_trusted(paged) -> None:
    """Whether an export carries an order's returns is not settled by the docs (§7): an
    export missing them would read as a shop without returns, so it is checked whole and,
    short, read the paged way."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    losing_returns(box, lambda node: True)
    bulked, _, _ = read(box, bulk_full_read="always")
    assert len(box.platform.bulk.operations) == 1
    same(bulked, paged)


def test_a_read_stopped_by_its_deadline_cancels_its_export() -> None:
    """An export left running would be in the way of the app's next full read
    (OPERATION_IN_PROGRESS, §7): a read cancelled while it polls cancels it."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    box.platform.bulk.polls = 1000
    profile = kit.tuned(box.profile(kit.IN_PROCESS), shopify={"bulk_full_read": "always"})

    async def go() -> None:
        platform = open_platform(profile, box.secret, CallLog(), kit.in_process(box))
        try:
            await asyncio.wait_for(platform.fetch_returns(), 1.5)
        finally:
            await platform.aclose()

    with pytest.raises(TimeoutError):
        asyncio.run(go())
    (op,) = box.platform.bulk.operations.values()
    assert op["status"] == "CANCELED"


def test_an_export_without_returns_is_caught_where_most_orders_have_none(paged) -> None:
    """Most orders have no return, and a paged read's first pages are its oldest orders:
    a sample of them could agree with an export that lost every return. The export is
    checked whole, against Shopify's count of the orders with a return."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    store = box.platform.store
    for n in range(400):  # older orders, none returned
        store.orders.insert(0, {"__typename": "Order", "id": f"gid://shopify/Order/9{n:05d}",
                                "name": f"#9{n:05d}", "updatedAt": "2026-11-01T00:00:00Z",
                                "createdAt": "2026-11-01T00:00:00Z", "returns": []})
    losing_returns(box, lambda node: True)
    bulked, _, _ = read(box, bulk_full_read="always")
    assert len(box.platform.bulk.operations) == 1
    same(bulked, paged)


def losing_returns(box, lost) -> None:
    """The simulator's exports drop the returns of each order `lost(order)` says."""
    real = box.platform.endpoint.run_whole

    def run_whole(query: str):
        data, why = real(query)
        for edge in (data or {}).get("orders", {}).get("edges", []):
            if lost(edge["node"]):
                edge["node"]["returns"] = {"edges": [], "nodes": []}
        return data, why

    box.platform.endpoint.run_whole = run_whole


def test_an_export_that_lost_one_orders_returns_is_not_used(paged) -> None:
    """Orders whose returns were declined or cancelled may count as NO_RETURN and make up
    for one the export lost: each order Shopify marks as returned must come with its
    returns (`returnStatus` in the export)."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    first: list[str] = []

    def the_first_returned(node) -> bool:
        if not first and node.get("returnStatus") != "NO_RETURN":
            first.append(node["id"])
        return node["id"] in first

    losing_returns(box, the_first_returned)
    bulked, _, _ = read(box, bulk_full_read="always")
    same(bulked, paged)


def test_the_check_report_says_why_the_export_was_not_used() -> None:
    """A read that went the paged way after an export failed is complete (status ok), and
    the source's notes say why, in the JSON and under the table."""
    import io

    from returns_console.services.live import fetch_live, live_report
    from returns_console.table_output import render_table

    box = kit.sandbox("shopify", "netsuite", returns=30)
    box.platform.bulk.fail_next = "TIMEOUT"
    profile = kit.tuned(box.profile(kit.IN_PROCESS), shopify={"bulk_full_read": "always"})
    data = asyncio.run(fetch_live(profile, box.secret, transport=kit.in_process(box)))
    report = live_report(profile, data, box.mappings())
    platform = report.to_json()["platform"]
    assert platform["status"] == "ok"
    assert platform["notes"] == [f"{BULK_NOT_USED}: the export ended FAILED (TIMEOUT)"]
    out = io.StringIO()
    render_table(report, out)
    assert "the export ended FAILED (TIMEOUT)" in out.getvalue()
    assert "notes" not in report.to_json()["erp"]


# -- an export of the app's already running (shopify.md §7, "An export already running") --

#: Another of the app's exports: a different query (another feature, another tool).
FOREIGN = "{ orders { edges { node { id name } } } }"


def window(**before) -> str:
    """A bulk query's moment: `before` earlier than now (a full read's is 60 days)."""
    return (datetime.now(UTC) - timedelta(**before)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def fresh():
    """A full read through an export the read started itself."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    return read(box, bulk_full_read="always")[0]


@pytest.mark.parametrize("given_back", ["as_sent", "reformatted"])
def test_an_export_of_ours_left_running_is_waited_for_not_wasted(paged, fresh,
                                                                 given_back) -> None:
    """A process started the export moments ago and went away: its window began a little
    earlier, and Shopify refuses a second one (OPERATION_IN_PROGRESS). It is polled and
    read as one started now; whether `query` comes back byte for byte is not documented,
    so it is compared token by token."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    text = q.bulk_orders(window(days=60, minutes=10))
    if given_back == "reformatted":  # whitespace and commas are not part of a document
        text = re.sub(r"\s+", " ", text).replace("id updatedAt", "id, updatedAt")
    earlier = box.platform.bulk.start(text)
    bulked, _, _ = read(box, bulk_full_read="always")
    same(bulked, fresh)
    same(bulked, paged)
    assert bulked.notes == []
    ops = box.platform.bulk.operations
    assert list(ops) == [earlier] and ops[earlier]["status"] == "COMPLETED"


@pytest.mark.parametrize("running", ["another_query", "a_later_window"])
def test_an_export_not_ours_is_left_alone_and_the_read_is_paged(paged, running) -> None:
    """Another feature's export, or ours over a window that begins after the read's (it
    lacks orders the read needs): read the paged way, the export neither used nor
    cancelled."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    text = FOREIGN if running == "another_query" else q.bulk_orders(window(days=59))
    theirs = box.platform.bulk.start(text)
    bulked, _, _ = read(box, bulk_full_read="always")
    same(bulked, paged)
    (note,) = bulked.notes
    assert note.startswith(BULK_NOT_USED) and "OPERATION_IN_PROGRESS" in note
    ops = box.platform.bulk.operations
    assert list(ops) == [theirs] and ops[theirs]["status"] in bulk.RUNNING


def test_an_export_older_than_the_read_is_left_alone_and_the_read_is_paged(paged) -> None:
    """Ours, but created hours ago: its file is the store as it was then, where the read is
    stamped now (what changed since would be missed until the next full read: a review
    finding). Read the paged way; the export neither used nor cancelled."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    old = box.platform.bulk.start(q.bulk_orders(window(days=60, hours=2)))
    box.platform.bulk.operations[old]["createdAt"] = window(hours=2)
    bulked, _, _ = read(box, bulk_full_read="always")
    same(bulked, paged)
    (note,) = bulked.notes
    assert note.startswith(BULK_NOT_USED) and "OPERATION_IN_PROGRESS" in note
    assert box.platform.bulk.operations[old]["status"] in bulk.RUNNING


class _AnswerLost(httpx.AsyncBaseTransport):
    """Shopify gets each request; the answer to the first `lost` starts of an export
    never comes back (a timeout after the server had started it)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lost: int) -> None:
        self.inner, self.lost, self.starts = inner, lost, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if b"bulkOperationRunQuery" in request.content:
            self.starts += 1
            if self.starts <= self.lost:
                await response.aclose()
                raise httpx.ReadTimeout("timed out", request=request)
        return response


@pytest.mark.parametrize("lost", [1, 99])
def test_a_start_whose_answer_was_lost_waits_for_the_export_it_started(paged, fresh,
                                                                        lost) -> None:
    """The start reached Shopify and timed out: the client's retry is refused for the
    export it started (OPERATION_IN_PROGRESS), or every answer is lost. Either way that
    export is the read's: no second one, no paged read."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    wrapped: list[_AnswerLost] = []

    def losing(inner):
        wrapped.append(_AnswerLost(inner, lost))
        return wrapped[0]

    bulked, _, _ = read(box, wrap=losing, bulk_full_read="always")
    assert wrapped[0].starts >= 2  # the start was sent again
    same(bulked, fresh)
    same(bulked, paged)
    assert bulked.notes == []
    (op,) = box.platform.bulk.operations.values()
    assert op["status"] == "COMPLETED"


def test_an_adopted_export_is_bounded_by_the_same_wait_and_cancelled_past_it(paged) -> None:
    """Ours, so left running past `bulk_max_wait_s` it would block the next read."""
    box = kit.sandbox("shopify", "netsuite", returns=30)
    box.platform.bulk.polls = 10**9
    earlier = box.platform.bulk.start(q.bulk_orders(window(days=60, minutes=10)))
    bulked, _, _ = read(box, bulk_full_read="always", bulk_max_wait_s=0.01)
    same(bulked, paged)
    assert box.platform.bulk.operations[earlier]["status"] == "CANCELED"
    (note,) = bulked.notes
    assert "ran longer than 0.01 s and was cancelled" in note


def test_before_2026_01_the_running_export_is_found_through_current_bulk_operation() -> None:
    """`bulkOperations` is 2026-01's; before, `currentBulkOperation(type: QUERY)` (one
    query operation at a time) names the app's latest, which the simulator still serves
    (deprecated in 2026-01)."""
    assert q.running_bulks("2025-10") == q.CURRENT_BULK
    assert q.running_bulks("2026-01") == q.running_bulks("2026-07") == q.RUNNING_BULKS
    box = kit.sandbox("shopify", "netsuite", returns=30)
    moment = window(days=60)
    earlier = box.platform.bulk.start(q.bulk_orders(window(days=60, minutes=10)))
    profile = box.profile(kit.IN_PROCESS)

    async def nothing(_seconds: float) -> None:
        return None

    async def go():
        platform = open_platform(profile, box.secret, CallLog(), kit.in_process(box))
        try:
            return await bulk.read(platform.gql, bulk.downloader(platform.http), moment,
                                   nothing, poll_max=30, budget=180, parse_moment=_moment,
                                   running=q.running_bulks("2025-10"))
        finally:
            await platform.aclose()

    core = asyncio.run(go())
    assert isinstance(core, bulk.BulkCore) and core.ids
    assert list(box.platform.bulk.operations) == [earlier]


def test_an_adopted_exports_orders_before_the_reads_window_are_left_out() -> None:
    """Its window began earlier: the orders changed before the read's own start, with their
    returns and lines, are not the read's (counted in the file all the same)."""
    lines = [
        b'{"id":"gid://shopify/Order/1","updatedAt":"2026-11-20T10:00:00Z",'
        b'"returnStatus":"RETURNED"}',
        b'{"id":"gid://shopify/Return/7","name":"#1001-R1","__parentId":"gid://shopify/Order/1"}',
        b'{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/8",'
        b'"__parentId":"gid://shopify/Return/7"}',
        b'{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/12",'
        b'"__parentId":"gid://shopify/Return/11"}',
        b'{"id":"gid://shopify/Order/3","updatedAt":"2026-11-10T10:00:00Z",'
        b'"returnStatus":"RETURNED"}',
        b'{"id":"gid://shopify/Return/11","name":"#1003-R1","__parentId":"gid://shopify/Order/3"}',
    ]
    since = datetime(2026, 11, 15, tzinfo=UTC)
    core = bulk.lay_out(b"\n".join(lines), bulk.BulkCore(), _moment, expected=len(lines),
                        since=since)
    assert core is not None and core.ids == ["gid://shopify/Return/7"]
    assert core.flagged == {"gid://shopify/Order/1"} and not core.flagged_without_returns
    whole = bulk.lay_out(b"\n".join(lines), bulk.BulkCore(), _moment, expected=len(lines))
    assert whole is not None and sorted(whole.ids) == ["gid://shopify/Return/11",
                                                      "gid://shopify/Return/7"]

"""A bulk export's file is streamed (docs/vendors/shopify.md §7; systems/shopify/bulk.py):
read chunk by chunk as it arrives and laid out line by line, so what a read holds is what
it keeps of the file (the core records), never the file itself (a large shop's is hundreds
of MB). Read in chunks it gives exactly what it gives read whole; a line split across
chunks is joined, a last line without a newline is read, a line longer than `MAX_LINE` is
refused without being held, and a download cut off midway is read again from its start."""

from __future__ import annotations

import asyncio
import json
import random
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from returns_console.connectors.http import CallLog, HttpClient, RetryPolicy
from returns_console.services.connections import open_platform
from returns_console.systems.shopify import bulk
from returns_console.systems.shopify.connector import _moment
from tests.contracts import kit

EXPORT = [  # a child before its parent, a repeated line, UTF-8 beyond ASCII
    b'{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/8","quantity":1,'
    b'"__parentId":"gid://shopify/Return/7"}',
    b'{"id":"gid://shopify/Order/1","updatedAt":"2026-11-20T10:00:00Z",'
    b'"returnStatus":"RETURNED"}',
    b'{"id":"gid://shopify/Return/7","name":"#1001-R1","__parentId":"gid://shopify/Order/1"}',
    b'{"id":"gid://shopify/Order/2","updatedAt":"2026-11-21T10:00:00Z",'
    b'"returnStatus":"NO_RETURN"}',
    b'{"__typename":"ExchangeLineItem","id":"gid://shopify/ExchangeLineItem/9",'
    b'"__parentId":"gid://shopify/Return/7"}',
    b'{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/8","quantity":1,'
    b'"__parentId":"gid://shopify/Return/7"}',
    b'{"id":"gid://shopify/Order/3","updatedAt":"2026-11-19T10:00:00Z",'
    b'"returnStatus":"RETURNED"}',
    '{"id":"gid://shopify/Return/11","name":"#1003-R1 Café ☕",'
    '"__parentId":"gid://shopify/Order/3"}'.encode(),
]
#: Line ends as they may come (\r\n among \n), a blank line, and no newline at the end.
BODY = b"\n".join(EXPORT[:4]) + b"\r\n\n" + b"\r\n".join(EXPORT[4:])


def summary(core: bulk.BulkCore | None) -> Any:
    if core is None:
        return None
    return (core.ids, core.records, core.newest, core.flagged, core.flagged_without_returns)


def whole(body: bytes, expected: int | None) -> Any:
    core = bulk.BulkCore()
    core.started = "2026-11-22T00:00:00Z"
    return summary(bulk.lay_out(body, core, _moment, expected=expected))


def streamed(chunks: list[bytes], expected: int | None) -> Any:
    async def arriving() -> AsyncIterator[bytes]:
        for chunk in chunks:
            await asyncio.sleep(0)
            yield chunk

    core = bulk.BulkCore()
    core.started = "2026-11-22T00:00:00Z"
    return summary(asyncio.run(bulk.lay_out_stream(arriving(), core, _moment,
                                                   expected=expected)))


def cut(body: bytes, sizes: Iterator[int]) -> list[bytes]:
    chunks, at = [], 0
    while at < len(body):
        size = next(sizes)
        chunks.append(body[at:at + size])
        at += size
    return chunks


def every(size: int) -> Iterator[int]:
    while True:
        yield size


def test_an_export_read_in_chunks_is_laid_out_as_it_is_read_whole() -> None:
    expected = whole(BODY, len(EXPORT))
    assert expected is not None
    ids, records, _, flagged, _ = expected
    assert ids == ["gid://shopify/Return/7", "gid://shopify/Return/11"]
    assert [n["id"] for n in records["gid://shopify/Return/7"]["returnLineItems"]["nodes"]] \
        == ["gid://shopify/ReturnLineItem/8"]  # the repeated line counted once
    assert records["gid://shopify/Return/11"]["name"] == "#1003-R1 Café ☕"  # the last line
    assert flagged == {"gid://shopify/Order/1", "gid://shopify/Order/3"}
    # every line split across chunks somewhere (a character of several bytes, a \r\n), in
    # chunks of one byte and up, and at random places
    shuffle = random.Random(7)
    cuttings = [cut(BODY, every(size)) for size in (1, 2, 3, 5, 8, 13, 64, 200)]
    cuttings += [cut(BODY, iter(lambda: shuffle.randint(1, 90), None)) for _ in range(50)]
    cuttings.append([BODY[:40], b"", BODY[40:]])  # an empty chunk among them
    for chunks in cuttings:
        assert streamed(chunks, len(EXPORT)) == expected
    # and what is refused whole is refused in chunks
    orphan = (b'\n{"__typename":"ReturnLineItem","id":"gid://shopify/ReturnLineItem/12",'
              b'"__parentId":"gid://shopify/Return/99"}')
    for body, count in ((BODY, len(EXPORT) - 1), (BODY, len(EXPORT) + 1),
                        (BODY + orphan, len(EXPORT) + 1), (BODY + b"\nnot json", None)):
        assert whole(body, count) is None
        assert streamed(cut(body, every(7)), count) is None


def test_a_line_over_the_cap_is_refused_as_soon_as_it_is_longer(monkeypatch) -> None:
    """A line of `MAX_LINE` bytes is read, one byte more is refused whole or in chunks; one
    that never ends is refused after the cap's worth of it, not read to its end."""
    monkeypatch.setattr(bulk, "MAX_LINE", 1024)
    start = b'{"id":"gid://shopify/Order/1","updatedAt":"2026-11-20T10:00:00Z"'
    fits = start + b" " * (1024 - len(start) - 1) + b"}"
    assert len(fits) == 1024
    over = start + b" " * (1025 - len(start) - 1) + b"}"
    for body in (fits, fits + b"\n"):
        assert whole(body, 1) is not None
        assert streamed(cut(body, every(100)), 1) is not None
    for body in (over, over + b"\n", b"\n" + over):
        assert whole(body, 1) is None
        assert streamed(cut(body, every(100)), 1) is None
        assert streamed([body], 1) is None

    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield b'{"id":"gid://shopify/Order/1","name":"'
        for _ in range(100_000):
            pulled += 1
            yield b"x" * 256

    core = asyncio.run(bulk.lay_out_stream(endless(), bulk.BulkCore(), _moment, expected=1))
    assert core is None and pulled <= 5


def test_a_file_refused_at_a_line_is_not_read_further() -> None:
    pulled = 0

    async def arriving() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield EXPORT[1] + b"\nnot json\n"
        for _ in range(1000):
            pulled += 1
            yield EXPORT[3] + b"\n"

    core = asyncio.run(bulk.lay_out_stream(arriving(), bulk.BulkCore(), _moment))
    assert core is None and pulled <= 1


def _export(orders: int, returned_every: int) -> Iterator[bytes]:
    """A large shop's export: orders, one in `returned_every` with a return of two lines."""
    for n in range(orders):
        order = f"gid://shopify/Order/{5_000_000_000 + n}"
        returned = n % returned_every == 0
        yield json.dumps({"id": order, "updatedAt": "2026-11-20T10:00:00Z",
                          "returnStatus": "RETURNED" if returned else "NO_RETURN"}).encode()
        if returned:
            ret = f"gid://shopify/Return/{7_000_000 + n}"
            yield json.dumps({"id": ret, "name": f"#{n}-R1", "status": "OPEN",
                              "__parentId": order}).encode()
            for k in range(2):
                yield json.dumps({"__typename": "ReturnLineItem",
                                  "id": f"gid://shopify/ReturnLineItem/{n * 10 + k}",
                                  "quantity": 1, "returnReason": "SIZE_TOO_SMALL",
                                  "__parentId": ret}).encode()


def test_a_large_export_is_read_in_far_less_memory_than_the_file() -> None:
    """What reading the file costs beyond what it keeps (the core records) is a small part
    of the file's size: the file is never held (whole it would cost its size, and its
    lines and parsed objects several times more), and of an order without a return only
    its id is kept, as a number. The file itself is made as it is sent, never whole."""
    orders, returned_every = 40_000, 20
    size = sum(len(line) + 1 for line in _export(orders, returned_every))
    count = sum(1 for _ in _export(orders, returned_every))

    async def sent(chunk: int = 65_536) -> AsyncIterator[bytes]:
        pending = bytearray()
        for line in _export(orders, returned_every):
            pending += line + b"\n"
            while len(pending) >= chunk:
                yield bytes(pending[:chunk])
                del pending[:chunk]
        yield bytes(pending)

    async def go() -> tuple[bulk.BulkCore | None, int, int]:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            core = await bulk.lay_out_stream(sent(), bulk.BulkCore(), _moment, expected=count)
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return core, kept - before, peak - before

    core, kept, peak = asyncio.run(go())
    assert core is not None and len(core.ids) == orders // returned_every
    assert size > 5_000_000
    assert peak - kept < size / 3, (size, kept, peak)


# -- the download --------------------------------------------------------------------


class _Body(httpx.AsyncByteStream):
    """A body sent `size` bytes at a time; cut off (a dropped connection) after `drop_at`
    bytes when given."""

    def __init__(self, body: bytes, size: int, drop_at: int | None = None) -> None:
        self.body, self.size, self.drop_at = body, size, drop_at
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for at in range(0, len(self.body), self.size):
            if self.drop_at is not None and at >= self.drop_at:
                raise httpx.ReadError("connection reset by peer")
            self.sent += 1
            yield self.body[at:at + self.size]


def _shop(answer) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    http = HttpClient("shopify", "https://shop.example.test/admin/api/2026-01",
                      transport=httpx.MockTransport(answer), sleep=sleep,
                      retry=RetryPolicy(initial=0.01, maximum=0.01, jitter=0),
                      headers={"X-Shopify-Access-Token": "shpat_secret"})
    return http, waits


LINK = "https://storage.example.test/bulk/file.jsonl?X-Goog-Signature=s3cr3t&X-Goog-Date=1"


def fetched(http: HttpClient, url: str = LINK, expected: int = len(EXPORT)) -> Any:
    async def take(chunks: AsyncIterator[bytes]) -> bulk.BulkCore | None:
        core = bulk.BulkCore()
        core.started = "2026-11-22T00:00:00Z"
        return await bulk.lay_out_stream(chunks, core, _moment, expected=expected)

    async def go() -> Any:
        try:
            return summary(await bulk.downloader(http)(url, take))
        except bulk.Unfetched:
            return "unfetched"
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_the_file_is_streamed_to_the_layout_without_the_token() -> None:
    seen: list[httpx.Request] = []
    bodies: list[_Body] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        bodies.append(_Body(BODY, 9))
        return httpx.Response(200, stream=bodies[-1])

    http, _ = _shop(answer)
    log = http.log
    assert fetched(http) == whole(BODY, len(EXPORT))
    (request,) = seen
    assert request.url.host == "storage.example.test"
    assert "x-shopify-access-token" not in request.headers
    assert bodies[0].sent == -(-len(BODY) // 9)  # sent in pieces, every one read
    (call,) = list(log)
    assert call.status == 200 and "X-Goog-Signature=***" in call.url and "s3cr3t" not in call.url


def test_a_download_is_laid_out_as_it_arrives_and_stopped_at_a_refused_line() -> None:
    """Not fetched whole and then read: a bad line early in a large file ends the download
    there (the rest is never sent), and it is not fetched again."""
    bodies: list[_Body] = []
    bad = EXPORT[1] + b"\nnot json\n" + (EXPORT[3] + b"\n") * 20_000

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(_Body(bad, 1024))
        return httpx.Response(200, stream=bodies[-1])

    http, _ = _shop(answer)
    assert fetched(http, expected=20_002) is None  # refused: not what Shopify counted
    (body,) = bodies
    assert body.sent <= 2 < len(bad) // 1024


def test_a_download_cut_off_midway_is_read_again_from_its_start() -> None:
    attempts: list[_Body] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(_Body(BODY, 16, drop_at=len(BODY) // 2 if not attempts else None))
        return httpx.Response(200, stream=attempts[-1])

    http, waits = _shop(answer)
    log = http.log
    assert fetched(http) == whole(BODY, len(EXPORT))  # not the first half twice
    assert len(attempts) == 2 and len(waits) == 1
    first, second = list(log)
    assert first.status is None and first.error and second.status == 200


@pytest.mark.parametrize(("statuses", "tries"), [
    ([503, 200], 2),  # a server's trouble: tried again, as any read is
    ([429, 200], 2),
    ([404], 1),  # the link expired, or not this host's: not tried again
    ([403], 1),
    ([206], 1),  # only a 200 is the file
])
def test_only_a_200_is_the_file(statuses, tries) -> None:
    sent: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses[len(sent)]
        sent.append(status)
        return httpx.Response(status, stream=_Body(BODY if status == 200 else b"no", 50))

    http, _ = _shop(answer)
    got = fetched(http)
    assert len(sent) == tries
    assert got == (whole(BODY, len(EXPORT)) if statuses[-1] == 200 else "unfetched")


def test_a_link_that_is_not_https_is_not_fetched() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing is fetched")

    for url in ("http://storage.example.test/bulk/file.jsonl", "ftp://storage.example.test/x",
                "not a link"):
        http, _ = _shop(answer)
        assert fetched(http, url) == "unfetched"


# -- the whole read, through the sandbox ---------------------------------------------


class _Trickling(httpx.AsyncBaseTransport):
    """The sandbox, its export files sent a few bytes at a time, the first one cut off
    midway."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[_Body] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if "/bulk-files/" not in request.url.path or response.status_code != 200:
            return response
        body = await response.aread()
        self.bodies.append(_Body(body, 5, drop_at=len(body) // 3 if not self.bodies else None))
        return httpx.Response(200, headers={"content-type": "application/jsonl"},
                              stream=self.bodies[-1])


def _fetch_returns(box, transport: httpx.AsyncBaseTransport, **options: Any):
    profile = kit.tuned(box.profile(kit.IN_PROCESS), shopify=options)
    log = CallLog()

    async def go():
        platform = open_platform(profile, box.secret, log, transport)

        async def sleep(seconds: float) -> None:
            pass

        platform.http._sleep = sleep
        try:
            return await platform.fetch_returns()
        finally:
            await platform.aclose()

    return asyncio.run(go()), log


def test_a_bulk_read_of_a_file_sent_in_pieces_gives_what_a_paged_read_gives() -> None:
    box = kit.sandbox("shopify", "netsuite", returns=30)
    paged, _ = _fetch_returns(box, kit.in_process(box), bulk_full_read="never")
    trickling = _Trickling(kit.in_process(box))
    bulked, log = _fetch_returns(box, trickling, bulk_full_read="always")
    assert bulked.notes == []  # the export was used
    assert {v.return_ref: v for v in bulked.views} == {v.return_ref: v for v in paged.views}
    assert bulked.raw == paged.raw and bulked.problems == paged.problems
    assert bulked.cursor == paged.cursor
    _cut, second = trickling.bodies
    assert second.sent > 100  # read a few bytes at a time, after the first was cut off
    files = [c for c in log if "/bulk-files/" in c.url]
    assert [c.status for c in files] == [None, 200]
    assert all("X-Goog-Signature=***" in c.url for c in files)

"""A full read's first step through a bulk query operation (docs/vendors/shopify.md §7):
the changed orders, their returns and each return's lines and exchange lines, run by
Shopify as one operation that the rate limit does not pace, polled until it completes and
downloaded as JSON Lines from a signed storage link, streamed: each line is laid out as
it arrives and only what the read keeps of it is held, never the file (a large shop's is
hundreds of MB). The parts a bulk query cannot carry (reverse fulfillment lines with their
dispositions, refund lines) are read by id after it, as a paged read reads them.

An export of the app's already running is waited for instead of starting one when it is
one this read would have started (the same query, its window beginning no later): an
earlier process's left running, or this start's own, its answer lost (`_begin`).

Any way it does not complete (another of the app's operations running, not one it would
have started; the operation failing, expiring, being cancelled or outlasting its budget, a
file that is not what the operation said it wrote) gives the reason: the caller reads the
paged way instead, never less, and says why in the source's notes.
"""

from __future__ import annotations

import asyncio
import re
import time
from array import array
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from contextlib import aclosing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from tenacity import AsyncRetrying, retry_if_exception

from ...connectors.errors import (
    ConnectorError,
    InvalidPayloadError,
    NetworkError,
    RateLimitedError,
    RequestError,
    ServerError,
)
from ...connectors.http import (
    CallRecord,
    HttpClient,
    NoAuth,
    _should_retry,
    _stop,
    _transport_reason,
    _Wait,
    decode_json,
    redact_url,
    retry_after_seconds,
)
from ...kits.graphql.client import GraphQLClient
from . import queries as q
from .mapping import SYSTEM

#: The first wait between polls, doubled up to `poll_max` (Shopify: minutes, not seconds,
#: for big exports; a small one completes in seconds).
FIRST_POLL = 0.5
DONE = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
#: An export under way, which a new one may be refused for (OPERATION_IN_PROGRESS).
RUNNING = frozenset({"CREATED", "RUNNING"})
#: How much earlier than the read an export adopted may have been created (clock skew
#: between us and Shopify): what a refresh's hints re-read (two minutes before the read)
#: then covers what changed after it.
ADOPT_SKEW = timedelta(minutes=2)
#: Points a full read saves an order by exporting its first step: one with returns (its
#: page entry and its returns' core part), 15.4-16.5 measured by
#: benchmarks/shopify_bulk_bench.py at 200 to 3,000 returns; one without, its page entry
#: (an object and an empty connection, by Shopify's cost table: §5).
POINTS_PER_ORDER_WITH_RETURNS = 15
POINTS_PER_ORDER = 3
#: How long a cancelled read waits for Shopify to take the export's cancellation.
CANCEL_WAIT = 5.0
#: A return's children the export may hold, by `__typename`, and where each goes.
_CHILDREN = {"ReturnLineItem": "returnLineItems", "UnverifiedReturnLineItem": "returnLineItems",
             "ExchangeLineItem": "exchangeLineItems"}
#: The longest line the export's file may hold: a return with its fields is a few KB, so a
#: longer one is not a file this query wrote, and it is refused rather than held whole.
MAX_LINE = 16 * 1024 * 1024


class BulkCore:
    """What the operation gave: the returns' ids in the order read, their core records
    (the shape `queries.return_core` answers, connections whole), the newest `updatedAt`
    (never later than the operation's start), and what Shopify says of the orders' returns."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.newest: datetime | None = None
        self.started: str | None = None
        #: Orders Shopify says have a return (`returnStatus` not NO_RETURN), and those of
        #: them the file holds no return of (an export that lost them).
        self.flagged: set[str] = set()
        self.flagged_without_returns: set[str] = set()


#: What reads the file as it arrives: its chunks in, the core records (None: the file is
#: not what the operation said it wrote).
Take = Callable[[AsyncIterator[bytes]], Awaitable[BulkCore | None]]
#: What fetches the file at a link and gives its chunks to a `Take`, afresh each time it
#: is fetched again (a download cut off midway is read again from its start): what the
#: `Take` made, or `Unfetched`.
Download = Callable[[str, Take], Awaitable[BulkCore | None]]


class Unfetched(Exception):
    """The export's file could not be had: a link that is not https (or http to a sandbox),
    an answer other than a 200, or no whole answer within the retries."""


async def read(gql: GraphQLClient, download: Download, moment: str,
               sleep: Callable[[float], Any], *, poll_max: float, budget: float,
               parse_moment: Callable[[Any], datetime | None],
               clock: Callable[[], float] = time.monotonic,
               running: str = q.RUNNING_BULKS,
               not_before: datetime | None = None) -> BulkCore | str:
    """Run the bulk query of the orders changed since `moment` (or wait for the one of
    ours already running: `_begin`): its core records, or why it is not used (it did not
    complete within `budget` seconds of polling, when it is cancelled, or otherwise).
    `running` is the document that finds the app's running exports (`queries.running_bulks`
    of the pinned version); `not_before`: an export created earlier is not adopted (it
    holds the store as it was then, where the read is stamped now)."""
    begun = await _begin(gql, moment, running, parse_moment, not_before)
    if isinstance(begun, str):
        return begun
    operation = await _poll(gql, begun.gid, sleep, poll_max=poll_max, budget=budget,
                            clock=clock)
    if isinstance(operation, str):
        return operation
    return await _core(operation, download, parse_moment, since=begun.since)


@dataclass(frozen=True)
class _Begun:
    """The export a read waits for. `since`: where an adopted export's window began before
    the read's, the read's own start, before which its orders are left out."""

    gid: str
    since: datetime | None = None


async def _begin(gql: GraphQLClient, moment: str, running: str,
                 parse_moment: Callable[[Any], datetime | None],
                 not_before: datetime | None = None) -> _Begun | str:
    """The export started, or ours adopted: refused as in progress, or a start whose answer
    was lost (a timeout or 5xx after Shopify had it, which the client tries again, or gives
    up on), may mean one of ours is running, which would block this read's export and be
    wasted; it is waited for as one started now (docs/vendors/shopify.md §7, "An export
    already running")."""
    try:
        reply = await gql.execute(q.RUN_BULK, {"query": q.bulk_orders(moment)})
    except (NetworkError, ServerError) as exc:
        unsent = isinstance(exc, NetworkError) and not exc.maybe_sent
        adopted = None if unsent else await _adopt(gql, running, moment, parse_moment,
                                                   not_before)
        if adopted is None:
            raise
        return adopted
    started = (reply.data or {}).get("bulkOperationRunQuery")
    if not isinstance(started, Mapping):
        return "Shopify did not start the export"
    refused = started.get("userErrors")
    if refused:  # OPERATION_IN_PROGRESS (another of the app's), LIMIT_REACHED, INVALID
        first = refused[0] if isinstance(refused, list) and refused else {}
        first = first if isinstance(first, Mapping) else {}
        if first.get("code") == "OPERATION_IN_PROGRESS":
            adopted = await _adopt(gql, running, moment, parse_moment, not_before)
            if adopted is not None:
                return adopted
        said = f"{first.get('code') or ''} {first.get('message') or ''}".strip()
        return f"Shopify refused the export ({said or 'no reason given'})"
    operation = started.get("bulkOperation")
    if not isinstance(operation, Mapping) or not isinstance(operation.get("id"), str):
        return "Shopify did not start the export"
    return _Begun(operation["id"])


async def _adopt(gql: GraphQLClient, running: str, moment: str,
                 parse_moment: Callable[[Any], datetime | None],
                 not_before: datetime | None = None) -> _Begun | None:
    """One of the app's running exports that this read would have started: the same query
    (`_window`) over a window that begins at or before the read's (its orders before the
    read's start are left out), created no earlier than `not_before` (an older one holds
    the store as it was then: what changed since would be missed until the next full read;
    it is left alone and the read is paged). None: none, or the running ones could not be
    asked about; another's export is never touched."""
    ours = parse_moment(moment)
    try:
        reply = await gql.execute(running)
    except ConnectorError:
        return None
    for operation in _operations(reply.data):
        if operation.get("status") not in RUNNING or not isinstance(operation.get("id"), str):
            continue
        if not_before is not None:
            created = parse_moment(operation.get("createdAt"))
            if created is None or created < not_before:
                continue  # an earlier process's: the store as it was then
        window = _window(operation.get("query"))
        began = parse_moment(window) if window is not None else None
        if ours is not None and began is not None and began <= ours:
            return _Begun(operation["id"], since=ours if began < ours else None)
    return None


def _operations(data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The operations an answer of `running_bulks` holds: `currentBulkOperation`'s one, or
    each `bulkOperations` connection's nodes."""
    for value in data.values():
        if not isinstance(value, Mapping):
            continue
        nodes = value.get("nodes")
        for node in nodes if isinstance(nodes, list) else [value]:
            if isinstance(node, Mapping):
                yield node


#: What `queries.bulk_orders` filters its orders with, the moment in between.
_SINCE = re.compile(r"updated_at:>'([^']+)'")


def _window(text: Any) -> str | None:
    """The moment an export's query begins its window at, when the query is
    `queries.bulk_orders` of that moment. Compared token by token (GraphQL's lexical
    tokens, string values decoded): whether Shopify gives `query` back byte for byte is
    not documented, and whitespace, commas and comments are not part of a document."""
    found = _tokens(text) if isinstance(text, str) else None
    if found is None:
        return None
    from graphql.language import TokenKind

    windows = [m.group(1) for kind, value in found if kind is TokenKind.STRING and value
               and (m := _SINCE.fullmatch(value))]
    if len(windows) != 1 or _tokens(q.bulk_orders(windows[0])) != found:
        return None
    return windows[0]


def _tokens(text: str) -> list[tuple[Any, str | None]] | None:
    """A document's lexical tokens (None: not GraphQL). graphql-core is imported here, only
    when an export is found running: a read that starts its own never needs it."""
    from graphql import GraphQLSyntaxError
    from graphql.language import Lexer, Source, TokenKind

    lexer = Lexer(Source(text))
    tokens: list[tuple[Any, str | None]] = []
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            tokens.append((token.kind, token.value))
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None
    return tokens


async def _poll(gql: GraphQLClient, gid: str, sleep: Callable[[float], Any], *,
                poll_max: float, budget: float, clock: Callable[[], float]
                ) -> Mapping[str, Any] | str:
    """The export polled until it is done (its last answer), or why not: cancelled when it
    runs past `budget`, or when the read stops while it polls (left running, it would be
    in the way of the app's next export)."""
    wait, began = FIRST_POLL, clock()
    try:
        while True:
            if clock() - began > budget:
                await _cancel(gql, gid)
                return f"the export ran longer than {budget:g} s and was cancelled"
            await sleep(wait)
            polled = await gql.execute(q.POLL_BULK, {"id": gid})
            operation = (polled.data or {}).get("bulkOperation")
            if not isinstance(operation, Mapping):
                return "Shopify no longer knows the export"
            if operation.get("status") in DONE:
                return operation
            wait = min(poll_max, wait * 2)
    except BaseException:  # the deadline, or a poll not answered: leave no export
        await _cancel(gql, gid)  # running, or the app's next read finds it in the way
        raise


async def _core(operation: Mapping[str, Any], download: Download,
                parse_moment: Callable[[Any], datetime | None], *,
                since: datetime | None) -> BulkCore | str:
    """A finished export's core records from its file, or why it is not used."""
    status = operation.get("status")
    if status != "COMPLETED":  # FAILED (errorCode says why), CANCELED, EXPIRED
        code = operation.get("errorCode")
        return f"the export ended {status}" + (f" ({code})" if code else "")
    expected = _count(operation.get("objectCount"))
    core = BulkCore()
    core.started = operation.get("createdAt") if isinstance(
        operation.get("createdAt"), str) else None
    url = operation.get("url")
    if url is None:  # §7: no url when the query produced no results
        return core if expected == 0 else "the export has no file but counts objects"
    if not isinstance(url, str) or expected is None:
        return "the export's answer could not be read"

    async def take(chunks: AsyncIterator[bytes]) -> BulkCore | None:
        return await lay_out_stream(chunks, core, parse_moment, expected=expected,
                                    since=since)

    try:
        laid = await download(url, take)
    except Unfetched:
        return "the export's file could not be fetched"
    return laid if laid is not None else "the export's file is not what Shopify counted"


async def _cancel(gql: GraphQLClient, gid: str) -> None:
    """Best effort, briefly: an export left running is in the app's next read's way."""
    with suppress(Exception):
        await asyncio.wait_for(asyncio.shield(gql.execute(q.CANCEL_BULK, {"id": gid})),
                               CANCEL_WAIT)


def _count(value: Any) -> int | None:
    """`objectCount` as sent (an UnsignedInt64: a string)."""
    try:
        return int(str(value))
    except ValueError:
        return None


class _Refused(Exception):
    """The file is not what the operation said it wrote (raised where that is first seen,
    so the rest of it is not read)."""


class _Lines:
    """A file's bytes, chunk by chunk as they arrive, as its lines: a line split across
    chunks joined, the last one read without a newline, split where `bytes.splitlines`
    splits (at LF, CR and CR LF) and without its line break. A line longer than `MAX_LINE`
    is refused (`_Refused`) as soon as that many bytes of it have come."""

    def __init__(self) -> None:
        self._cap = MAX_LINE
        self._held: list[bytes] = []  # the start of a line not ended yet
        self._size = 0

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        for piece in chunk.splitlines(keepends=True):
            if not piece.endswith((b"\n", b"\r")):  # only a chunk's last piece
                self._held.append(piece)
                self._size += len(piece)
                if self._size > self._cap:
                    raise _Refused
                continue
            if self._held:
                self._held.append(piece)
                piece = b"".join(self._held)
                self._held, self._size = [], 0
            line = piece.rstrip(b"\r\n")
            if len(line) > self._cap:
                raise _Refused
            yield line

    def end(self) -> Iterator[bytes]:
        if self._held:
            line = b"".join(self._held)
            self._held, self._size = [], 0
            yield line


class _Orders:
    """The ids of the file's orders, held small: most of a large export's lines are orders
    with no return, of which only the id is kept, and a string and its place in a set are
    about as large as the order's line. Shopify's order gids (`gid://shopify/Order/` and a
    number) are held as 8-byte numbers, any other id as itself."""

    def __init__(self) -> None:
        self._numbers = array("q")
        self._others: set[str] = set()

    def add(self, gid: str) -> None:
        number = _order_number(gid)
        if number is None:
            self._others.add(gid)
        else:
            self._numbers.append(number)

    def among(self, gids: set[str]) -> set[str]:
        """Those of `gids` that are orders of the file (one pass over the numbers)."""
        wanted = {n: gid for gid in gids if (n := _order_number(gid)) is not None}
        found = {gid for gid in gids if gid in self._others}
        for number in self._numbers:
            if number in wanted:
                found.add(wanted[number])
        return found


_ORDER_GID = "gid://shopify/Order/"


def _order_number(gid: str) -> int | None:
    """The number of an order gid written one way only (no sign, no leading zero, within
    an 8-byte number), so two ids have one number only if they are the same id; None for
    any other id."""
    tail = gid[len(_ORDER_GID):] if gid.startswith(_ORDER_GID) else ""
    if not (0 < len(tail) <= 18 and tail.isascii() and tail.isdigit()) or \
            (tail[0] == "0" and tail != "0"):
        return None
    return int(tail)


class _Layout:
    """The JSON Lines laid out as they come (see `lay_out`), holding of each line only what
    the layout needs: of an order (a line without `__parentId`) its id, whether Shopify
    marks it returned and its `updatedAt` folded into the newest; a line with a parent
    whole until the file ends (a child may come before its parent, and only the whole file
    says which parents are orders), when those become the core records and are let go of.
    The core is not touched before the file has ended. With `since`, an order changed at or
    before it is left out with its returns (an adopted export whose window began earlier
    than the read's: the read holds what its own export would)."""

    def __init__(self, parse_moment: Callable[[Any], datetime | None],
                 expected: int | None, since: datetime | None = None) -> None:
        self._moment = parse_moment
        self._expected = expected
        self._since = since
        self._count = 0
        self._orders = _Orders()
        self._before = _Orders()
        self._flagged: set[str] = set()
        self._newest: datetime | None = None
        self._parented: deque[dict[str, Any]] = deque()

    def add(self, raw: bytes) -> None:
        """One line (`_Refused`: not JSON, not a node, or one more than counted)."""
        if not raw.strip():
            return
        try:
            line = decode_json(raw)  # as every body is read: control characters visible
        except ValueError:
            raise _Refused from None
        parent = line.get("__parentId") if isinstance(line, dict) else None
        if not isinstance(line, dict) or not isinstance(line.get("id"), str) or \
                not isinstance(parent, str | None):
            raise _Refused
        self._count += 1
        if self._expected is not None and self._count > self._expected:
            raise _Refused  # more than the operation wrote: not its file
        if "__parentId" not in line:  # an order
            updated = self._moment(line.get("updatedAt"))
            if self._since is not None and updated is not None and updated < self._since:
                self._before.add(line["id"])
                return
            self._orders.add(line["id"])
            if line.get("returnStatus") not in (None, "NO_RETURN"):
                self._flagged.add(line["id"])
            if updated is not None and (self._newest is None or updated > self._newest):
                self._newest = updated
        elif parent is not None:  # a return, or a return's line (`null`: neither, as before)
            self._parented.append(line)

    def done(self, core: BulkCore) -> BulkCore | None:
        """The file has ended: `core` filled in, or None (another number of objects than
        counted, a line whose parent the file does not have, a child of a type the query
        did not ask for)."""
        if self._expected is not None and self._count != self._expected:
            return None  # cut short, or not this operation's file
        rows = self._parented
        parents = {row["__parentId"] for row in rows}
        orders = self._orders.among(parents)
        left_out = self._before.among(parents) if self._since is not None else set()
        core.flagged |= self._flagged
        if self._newest is not None and (core.newest is None or self._newest > core.newest):
            core.newest = self._newest
        with_returns: set[str] = set()
        children: deque[dict[str, Any]] = deque()
        while rows:  # in the order read, each let go of as it is laid out
            row = rows.popleft()
            if row["__parentId"] in left_out:  # a return of an order left out, and its
                left_out.add(row["id"])  # lines with it
                continue
            if row["__parentId"] not in orders:
                children.append(row)
            elif "/Return/" in row["id"] and row["id"] not in core.records:
                record = {"__typename": "Return", **row}  # as a read by id names it
                del record["__parentId"]
                record["returnLineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
                record["exchangeLineItems"] = {"nodes": [],
                                               "pageInfo": {"hasNextPage": False}}
                core.records[row["id"]] = record
                core.ids.append(row["id"])
                with_returns.add(row["__parentId"])
        seen: set[str] = set()
        while children:
            row = children.popleft()
            if row["__parentId"] in left_out:
                continue
            owner = core.records.get(row["__parentId"])
            key = _CHILDREN.get(str(row.get("__typename")))
            if owner is None or key is None:
                return None
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            del row["__parentId"]
            owner[key]["nodes"].append(row)
        started = self._moment(core.started)
        if started is not None and core.newest is not None and core.newest > started:
            core.newest = started  # an order changed during the export may not be in it
        core.flagged_without_returns = core.flagged - with_returns
        return core


async def lay_out_stream(chunks: AsyncIterable[bytes], core: BulkCore,
                         parse_moment: Callable[[Any], datetime | None], *,
                         expected: int | None = None,
                         since: datetime | None = None) -> BulkCore | None:
    """`lay_out` of a file read chunk by chunk as it arrives, each line laid out as it
    ends: what is held is what the layout keeps, never the file. A refused line (and a line
    longer than `MAX_LINE`) stops the reading there."""
    lines, layout = _Lines(), _Layout(parse_moment, expected, since)
    try:
        async for chunk in chunks:
            for line in lines.feed(chunk):
                layout.add(line)
        for line in lines.end():
            layout.add(line)
    except _Refused:
        return None
    return layout.done(core)


def lay_out(body: bytes, core: BulkCore, parse_moment: Callable[[Any], datetime | None],
            *, expected: int | None = None, since: datetime | None = None
            ) -> BulkCore | None:
    """The JSON Lines as core records: an order's line gives its `updatedAt`; a return's
    line (its `__parentId` an order) is its record; a line whose parent is a return is one
    of its lines or exchange lines (by `__typename`). Joined by id, not by place: with
    `groupObjects: false` (2026-01's default) a child need not follow its parent; a line
    repeated counts once. None when a line is not JSON (or longer than `MAX_LINE`), names a
    parent the file does not have, is of a type the query did not ask for, or the file
    holds another number of objects than the operation said (`expected`). An order changed
    at or before `since` is left out with its returns (an adopted export's window began
    earlier than the read's). A file held whole; a download is laid out as it arrives
    (`lay_out_stream`), the same way."""
    lines, layout = _Lines(), _Layout(parse_moment, expected, since)
    try:
        for line in lines.feed(body):
            layout.add(line)
        for line in lines.end():
            layout.add(line)
    except _Refused:
        return None
    return layout.done(core)


#: What a streamed response's stream is once it is closed: httpx's response and its stream
#: refer to each other, a cycle only the collector frees, which a bulk read pauses.
_CLOSED = httpx.ByteStream(b"")


def downloader(http: HttpClient) -> Download:
    """A GET of the signed link with a client of its own: no access token (it is another
    host's, and the link is its own credential), the same transport, retry policy and log;
    the link's signature is masked wherever the URL is shown (`redact_url`). Only https,
    unless the API itself is reached over http (a sandbox); only a 200 is the file. The
    body is streamed: its chunks go to the `Take` as they arrive, and a download that fails
    (a timeout, a dropped connection, a 429 or 5xx) is tried again as any read is, its file
    read again from the start. `Unfetched` when it cannot be had."""

    async def download(url: str, take: Take) -> BulkCore | None:
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            raise Unfetched from None
        plain = httpx.URL(str(http.client.base_url)).scheme == "http"
        if target.scheme != "https" and not (plain and target.scheme == "http"):
            raise Unfetched
        origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
        client = HttpClient(SYSTEM, origin, auth=NoAuth(), retry=http.retry, log=http.log,
                            transport=http.transport, sleep=http.sleep, timeout=300.0)
        policy = http.retry
        retrying = AsyncRetrying(stop=_stop(policy), wait=_Wait(policy),
                                 retry=retry_if_exception(_should_retry(policy)),
                                 sleep=http.sleep, reraise=True)
        try:  # a refusal here is the link's (expired, or not this host's), not the token's
            async for attempt in retrying:
                with attempt:
                    return await _fetch(client, target.raw_path.decode("ascii"), take,
                                        attempt.retry_state.attempt_number)
        except ConnectorError:
            raise Unfetched from None
        finally:
            await client.aclose()
        raise AssertionError("unreachable")  # pragma: no cover

    return download


async def _fetch(http: HttpClient, path: str, take: Take, attempt: int) -> BulkCore | None:
    """One attempt: the GET, its body given to `take` as it arrives; logged as the client
    logs a call (the URL redacted, the time to the body's end or to where `take` stopped).
    A typed error for what is not the file, retryable as the client's are."""
    request = http.client.build_request("GET", path)
    shown = redact_url(request.url)
    started = time.perf_counter()
    status: int | None = None
    try:
        response = await http.client.send(request, stream=True)
        try:
            status = response.status_code
            if status != 200:
                raise _not_the_file(http.system, response, shown)
            # closed here, not whenever the collector finds it, where `take` stops early
            body = cast("AsyncGenerator[bytes, None]", response.aiter_bytes())
            async with aclosing(body) as chunks:
                laid = await take(chunks)
        finally:
            await response.aclose()
            response.stream = _CLOSED
    except httpx.TimeoutException:
        _record(http, shown, None, started, attempt, "timeout")
        raise NetworkError(http.system, f"GET {shown} timed out") from None
    except httpx.TransportError as exc:
        reason = _transport_reason(exc)
        _record(http, shown, None, started, attempt, reason)
        raise NetworkError(http.system, f"cannot read {shown}: {reason}",
                           refused=isinstance(exc, httpx.ConnectError)) from None
    except httpx.DecodingError:  # a Content-Encoding its body does not match
        _record(http, shown, status, started, attempt, "undecodable body")
        raise InvalidPayloadError(http.system, f"GET {shown} answered a body that could "
                                  "not be decoded", status=status) from None
    except ConnectorError:
        _record(http, shown, status, started, attempt, None)
        raise
    _record(http, shown, status, started, attempt, None)
    return laid


def _not_the_file(system: str, response: httpx.Response, shown: str) -> ConnectorError:
    """Any answer but a 200, its body unread: tried again as the client tries a read again
    (429, 408, 5xx), or not."""
    status = response.status_code
    where = f"GET {shown}"
    if status == 429:
        return RateLimitedError(system, f"{where} was rate limited (429)",
                                retry_after=retry_after_seconds(response))
    if status >= 500 or status == 408:
        return ServerError(system, f"{where} failed ({status})", status=status,
                           retry_after=retry_after_seconds(response))
    return RequestError(system, f"{where} answered {status}, not the file", status=status)


def _record(http: HttpClient, shown: str, status: int | None, started: float, attempt: int,
            error: str | None) -> None:
    http.log.add(CallRecord(at=datetime.now(UTC), system=http.system, method="GET", url=shown,
                            status=status, ms=(time.perf_counter() - started) * 1000,
                            attempt=attempt, error=error))

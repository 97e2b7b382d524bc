"""Reading a platform by the shape its API has: paged (pull), pushed to our inbox (events),
or asked one reference at a time (look-up), giving the same PlatformBatch every time.

The registry says which shapes a system has (`Capabilities.reads`, the main one first):

- **pull**: the connector pages its list endpoint, from the last cursor when there is one.
  A system that can be listed is read that way even if it also pushes (a list is complete;
  deliveries may be missed while nobody listens).
- **events**: the connector turns the inbox's deliveries (kept by `returns-console listen`)
  into views, from where the last read stopped (the cursor is the inbox position). The
  data is as fresh as the newest delivery, which is what the source's time says.
- **look-up**: the references the ERP knows that the platform batch does not hold are
  asked for one by one, as fast as the system's documented rate allows, for at most
  LOOKUP_WINDOW seconds a refresh: what is left is the backlog, shown with the time it will
  take, and continued by the next refresh.

A read that could not be complete says so (the source is `degraded`, never all clear): an
event source nothing was ever received from, a look-up backlog still to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sqlite3
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import systems
from ..connectors.base import EventSource, HintSource, LookupPlatform, PlatformBatch, ReadAgain
from ..connectors.errors import AuthError, ConnectorError
from ..store.inbox import Inbox
from ..systems.spec import ReadShape

#: At most this long is spent looking references up in one refresh (the rest waits).
LOOKUP_WINDOW = 60.0
#: A reference the platform did not know is asked again after this long (the return may
#: have been created there since), after every reference never asked.
RECHECK_AFTER = timedelta(hours=6)
#: Deliveries are hints from a little before the last read began (both stamps our clock's):
#: one received while that read was under way may not be in what it read.
HINTS_OVERLAP = timedelta(minutes=2)
#: Hints received this long before a full read began are let go after it: the full read
#: saw everything they named, and no later read asks for them.
HINTS_KEPT = timedelta(days=1)
#: Marks a cursor written here (the inbox position and the look-ups made).
CURSOR_MARK = "read:"


class NoInbox(ConnectorError):
    """An event source read without an inbox to read from."""


@dataclass(slots=True)
class PlatformRead:
    """A platform batch and what the operator must know about how complete it is."""

    batch: PlatformBatch
    #: Why the batch may be incomplete (empty: it is as complete as the API allows).
    gaps: list[str] = field(default_factory=list)
    #: When its data was last new (a pushed source: its newest delivery).
    fresh_at: datetime | None = None


def main_shape(system: str) -> ReadShape:
    """How a system's returns mainly reach us (pull for systems the registry does not know)."""
    spec = systems.find(system)
    reads = spec.capabilities.reads if spec else (ReadShape.PULL,)
    if ReadShape.PULL in reads:
        return ReadShape.PULL
    return reads[0]


def reads_inbox(system: str) -> bool:
    """True when the system's returns come from our inbox (it pushes and cannot be listed)."""
    return main_shape(system) is ReadShape.EVENTS


def takes_hints(system: str) -> bool:
    """True when the system is listed and also pushes what changed (hints for the pull)."""
    spec = systems.find(system)
    return bool(spec and spec.capabilities.pushes_hints and main_shape(system) is ReadShape.PULL)


def takes_deliveries(system: str) -> bool:
    """True when `listen` receives the system's deliveries: read from an inbox, or hints."""
    return reads_inbox(system) or takes_hints(system)


def inbox_for(system: str, path: Path, erp: str | None = None) -> Inbox | None:
    """The inbox at `path` when `system`'s deliveries (or those of the ERP `erp`) are read
    from one (opening it creates the file)."""
    wanted = takes_deliveries(system) or (erp is not None and reads_inbox(erp))
    return Inbox(path) if wanted else None


def hinted_fetch(connector: Any, system: str, inbox: Inbox | None,
                 read_at: datetime | None) -> Callable[..., Awaitable[PlatformBatch]]:
    """The pull's fetch: for a system that sends hints, an incremental read is handed the
    deliveries received since the last read began (`read_at`, less HINTS_OVERLAP: both
    stamps are our clock's; without one, since the cursor less its overlap); a full read
    needs none. An inbox that cannot be read now gives no hints (the pull still runs)."""
    if inbox is None or not takes_hints(system) or not isinstance(connector, HintSource):
        return connector.fetch_returns

    async def fetch(*, updated_since: datetime | None = None) -> PlatformBatch:
        if updated_since is None:
            began = datetime.now(UTC)
            batch = await connector.fetch_returns()
            with contextlib.suppress(sqlite3.Error):  # `listen` busy: let go next time
                await asyncio.to_thread(inbox.forget_before, system,
                                        began - HINTS_KEPT - HINTS_OVERLAP)
            return batch
        since = updated_since if read_at is None else read_at - HINTS_OVERLAP
        try:
            forgotten = inbox.forgotten_before(system)
            hints = inbox.received_since(system, since)
        except sqlite3.Error:  # `listen` holds it longer than a write waits: next time
            forgotten, hints = None, []
        if forgotten is not None and since < forgotten:
            # another reader's full read let go of hints this read would need
            raise ReadAgain(f"{system}'s deliveries before {forgotten:%Y-%m-%d %H:%M} were "
                            "let go after a full read: read everything again")
        return await connector.fetch_returns(updated_since=updated_since, hints=hints)

    return fetch


def looks_up(system: str) -> bool:
    spec = systems.find(system)
    return bool(spec and ReadShape.LOOKUP in spec.capabilities.reads
                and ReadShape.PULL not in spec.capabilities.reads)


@dataclass(slots=True)
class ReadMark:
    """Where a pushed or looked-up read stands: the last inbox seq read, and when each
    reference the platform did not know was last asked for. Kept as the batch's cursor."""

    inbox: int = 0
    asked: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, cursor: str | None) -> ReadMark:
        if not cursor or not cursor.startswith(CURSOR_MARK):
            return cls()
        try:
            data = json.loads(cursor[len(CURSOR_MARK):])
            return cls(int(data.get("inbox", 0)),
                       {str(k): str(v) for k, v in dict(data.get("asked", {})).items()})
        except (ValueError, TypeError, AttributeError):
            return cls()  # another version's: read from the start

    def text(self) -> str:
        return CURSOR_MARK + json.dumps({"inbox": self.inbox, "asked": self.asked},
                                        sort_keys=True, separators=(",", ":"))


def inbox_position(cursor: str | None) -> int:
    """The inbox seq an event source's batch was read up to (0: from the start)."""
    return ReadMark.of(cursor).inbox


def lookup_budget(system: str, window: float | None = None) -> int | None:
    """How many look-ups fit into `window` (LOOKUP_WINDOW) seconds at the system's
    documented rate (None: no rate, no limit beyond the concurrency bound)."""
    window = LOOKUP_WINDOW if window is None else window
    spec = systems.find(system)
    rate = spec.capabilities.rate_per_second if spec else None
    if not rate:
        return None
    burst = spec.capabilities.burst if spec else 1
    return max(1, int(burst + rate * window))


def backlog_text(name: str, left: int, rate: float | None) -> str:
    took = f", about {_duration(left / rate)} at {rate:g} requests/s" if rate else ""
    return (f"{left} return{'s' if left != 1 else ''} the ERP knows of still to look up in "
            f"{name}{took}; the next refresh continues")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{math.ceil(minutes)} min"
    return f"{minutes / 60:.1f} h"


async def read_platform(connector: Any, system: str, earlier: PlatformBatch | None, *,
                        inbox: Inbox | None = None,
                        erp_refs: Callable[[], Awaitable[Collection[str] | None]] | None = None,
                        incremental: Callable[[], Awaitable[PlatformBatch]] | None = None,
                        now: Callable[[], datetime] | None = None) -> PlatformRead:
    """Read `system` by its main shape. `earlier` is the last batch (None for a full read);
    `incremental` does a pull read (the caller's, which knows the cache); `erp_refs` gives
    the references the ERP knows, once it has read them (for look-ups; None when the ERP
    could not be read)."""
    clock = now or (lambda: datetime.now(UTC))
    shape = main_shape(system)
    name = systems.display_name(system)
    if shape is ReadShape.PULL:
        if incremental is None:
            raise ValueError("a pull read needs its incremental reader")
        return PlatformRead(await incremental())
    read = PlatformRead(earlier or PlatformBatch())
    if shape is ReadShape.EVENTS:
        read = _from_inbox(connector, system, name, earlier, inbox, clock)
    if looks_up(system):
        await _look_up(connector, system, name, read, erp_refs, clock)
    return read


def _from_inbox(connector: Any, system: str, name: str, earlier: PlatformBatch | None,
                inbox: Inbox | None, clock: Callable[[], datetime]) -> PlatformRead:
    if inbox is None or not isinstance(connector, EventSource):
        raise NoInbox(system, f"{name} pushes its returns to us, and this run has no inbox to "
                      "read them from")
    mark = ReadMark.of(earlier.cursor if earlier is not None else None)
    if mark.inbox > inbox.last_seq(system):  # another inbox than the one last read
        earlier, mark = None, ReadMark()
    events = inbox.events(system, since_seq=mark.inbox)
    batch = connector.from_events(events, earlier)
    mark.inbox = (events[-1].seq or mark.inbox) if events else mark.inbox
    batch.cursor = mark.text()
    batch.fetched_at = clock()
    read = PlatformRead(batch, fresh_at=inbox.last_received(system))
    if read.fresh_at is None:
        read.gaps.append(f"nothing has been received from {name} yet: run `returns-console "
                         f"listen` and register its address with {name}")
    return read


async def _look_up(connector: Any, system: str, name: str, read: PlatformRead,
                   erp_refs: Callable[[], Awaitable[Collection[str] | None]] | None,
                   clock: Callable[[], datetime]) -> None:
    if erp_refs is None:
        return
    if not isinstance(connector, LookupPlatform):
        raise TypeError(f"{system} declares look-ups and its connector has no lookup()")
    mark = ReadMark.of(read.batch.cursor)
    known = {ref for view in read.batch.views for ref in (view.return_ref, *view.aliases)}
    # a return delivered unreadably is known too: asking again gives the same body
    known |= set(read.batch.problems)
    named = await erp_refs()
    if named is None:  # the ERP was not read: what was asked when stays as it was
        if read.batch.fetched_at is None:
            read.batch.fetched_at = clock()
        return
    missing = set(named) - known
    now = clock()
    due = (now - RECHECK_AFTER).isoformat()
    # never asked first, then the ones asked longest ago; one asked lately waits
    wanted = sorted((ref for ref in missing if mark.asked.get(ref, "") <= due),
                    key=lambda ref: (mark.asked.get(ref, ""), ref))
    mark.asked = {ref: at for ref, at in mark.asked.items() if ref in missing}
    if read.batch.fetched_at is None:
        read.batch.fetched_at = now
    if not wanted:
        read.batch.cursor = mark.text()
        return
    budget = lookup_budget(system)
    now_refs = wanted if budget is None else wanted[:budget]
    try:
        found = await connector.lookup(now_refs)
    except ConnectorError as exc:
        if isinstance(exc, AuthError):
            raise  # a wrong key is the source down, said as such
        read.gaps.append(f"looking returns up in {name} failed ({exc.detail or exc}); the "
                         "next refresh tries again")
        read.batch.cursor = mark.text()
        return
    found.fetched_at = found.fetched_at or clock()
    read.batch = connector.merge(read.batch, found) if read.batch.views or read.batch.raw \
        else found
    answered = {ref for view in found.views for ref in (view.return_ref, *view.aliases)}
    stamp = now.isoformat()
    mark.asked.update((ref, stamp) for ref in now_refs if ref not in answered)
    read.batch.cursor = mark.text()
    left = len(wanted) - len(now_refs)
    if left:
        spec = systems.find(system)
        read.gaps.append(backlog_text(name, left, spec.capabilities.rate_per_second
                                      if spec else None))

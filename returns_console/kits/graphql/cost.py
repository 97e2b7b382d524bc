"""Cost-based throttling, the client side: spend the server's bucket, never overrun it.

A GraphQL API that limits by calculated query cost (Shopify's Admin API: a leaky bucket
per app and store, refilled at a restore rate; each query's requested cost taken when it
starts, the unused part given back when it ends) tells the client where its bucket stands
in every answer (`extensions.cost.throttleStatus`). `CostBucket` keeps that picture and
holds a query back until the bucket, refilled since the last answer, holds its cost.

Several queries may be in flight at once: an answer's figure may not count those sent
after it (nor arrive in order), so the level taken from an answer is its figure less the
cost of every query still in flight (counting some twice at worst: a little slower, never
throttled). Until the first answer the bucket is unknown: one query goes alone, and the
others wait for what its answer says.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

#: A wait shorter than this is no wait (see connectors/pacing.py).
_SLACK = 1e-6
#: Points waited for beyond a query's cost: the server's clock and this side's tell the
#: refill apart by a hair, and a bucket a hair short is a throttled query.
MARGIN = 1.0
#: The longest single wait for the bucket: a server's figures that would make it longer
#: (a restore rate near zero) are not believed beyond this.
LONGEST_WAIT = 60.0
#: The wait after a throttled answer that says nothing of the bucket (Shopify: "The
#: recommended backoff time is one second", docs/vendors/shopify.md §5).
BLIND_WAIT = 1.0


class CostBucket:
    """The server's bucket as its answers describe it, less what is in flight.

    `acquire(cost)` waits until the bucket holds `cost`, then counts it as in flight;
    `answered(cost, throttle)` takes it off again and sets the picture from the answer's
    throttle status. Waiters are served in arrival order, one at a time."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self._clock = clock
        #: How this bucket waits (a throttle with no figures is waited out with it too).
        self.sleep = sleep
        self._lock = asyncio.Lock()
        #: What the bucket held at `_at` (in-flight queries not taken off), its size and
        #: its restore rate (None: not known).
        self._available: float | None = None
        self._maximum: float | None = None
        self._rate: float | None = None
        self._at = clock()
        #: The requested cost of the queries sent and not answered yet.
        self._inflight = 0.0
        self._sending = 0
        self._settled: asyncio.Event | None = None
        self._answer: asyncio.Event | None = None
        #: Seconds spent waiting for the bucket so far (the bench reports it).
        self.waited = 0.0

    @property
    def restore_rate(self) -> float | None:
        """Points a second the server restores, as its last answer said (None: not yet)."""
        return self._rate

    @property
    def known(self) -> bool:
        return self._available is not None and bool(self._rate)

    def available(self) -> float | None:
        """What the bucket holds now for a new query, as far as this side knows (None: not
        known yet)."""
        if self._available is None:
            return None
        held = self._available
        if self._rate:
            held += (self._clock() - self._at) * self._rate
        if self._maximum is not None:
            held = min(self._maximum, held)
        return held - self._inflight

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` (0: now, or not known)."""
        held = self.available()
        if held is None or not self._rate:
            return 0.0
        cost += MARGIN
        if self._maximum is not None:
            cost = min(cost, self._maximum)  # a bigger query waits for a full bucket, no more
        return min(LONGEST_WAIT, max(0.0, (cost - held) / self._rate))

    async def acquire(self, cost: float) -> None:
        async with self._lock:
            while not self.known and self._sending:
                # the first answer says how things stand: nothing else goes before it
                if self._settled is None:
                    self._settled = asyncio.Event()
                await self._settled.wait()
            while True:
                wait = self.wait_for(cost)
                if wait <= _SLACK:
                    self._inflight += cost
                    self._sending += 1
                    return
                started = self._clock()
                if self._sending:
                    # an answer due may free what is in flight: wake on it, or at `wait`
                    await self._first(self.sleep(wait), self._next_answer().wait())
                else:
                    await self.sleep(wait)
                self.waited += max(0.0, self._clock() - started)

    def _next_answer(self) -> asyncio.Event:
        if self._answer is None:
            self._answer = asyncio.Event()
        return self._answer

    @staticmethod
    async def _first(*waits: Awaitable[object]) -> None:
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    def answered(self, cost: float, throttle: Mapping[str, Any] | None) -> None:
        """A query of `cost` was answered (or failed): no longer in flight; its answer's
        `throttleStatus` (`maximumAvailable`, `currentlyAvailable`, `restoreRate`) sets the
        picture (anything unreadable leaves it as it was)."""
        self._inflight = max(0.0, self._inflight - cost)
        self._sending = max(0, self._sending - 1)
        self._observe(throttle)
        if self._answer is not None:
            self._answer.set()
            self._answer = None
        if self._settled is not None and (self.known or not self._sending):
            self._settled.set()
            self._settled = None

    def _observe(self, throttle: Mapping[str, Any] | None) -> None:
        if not isinstance(throttle, Mapping):
            return
        available = _number(throttle.get("currentlyAvailable"))
        maximum = _number(throttle.get("maximumAvailable"))
        rate = _number(throttle.get("restoreRate"))
        if available is None:
            return
        if maximum is not None and maximum > 0:
            self._maximum = maximum
        if rate is not None and rate > 0:
            self._rate = rate
        self._available, self._at = available, self._clock()

    def refused(self, cost: float) -> float:
        """The server throttled a query of `cost`: the bucket held less than that, whatever
        its rounded figures said (they may show exactly the cost), so the next try waits
        for one more point at least. The seconds to wait before trying again without the
        bucket's figures (a throttle that gave none), else 0: `acquire` waits."""
        if not self.known:
            return BLIND_WAIT
        held = self.available()
        if held is not None and held > cost - 1:
            self._available = (self._available or 0.0) - (held - (cost - 1))
        return 0.0

    def __repr__(self) -> str:
        return (f"CostBucket(available={self._available}, maximum={self._maximum}, "
                f"restore={self._rate}/s, in flight={self._inflight})")


def _number(value: Any) -> float | None:
    """A finite number from an answer (int, float, Decimal or numeric text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, int | float | Decimal | str) else None
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and math.isfinite(number) else None

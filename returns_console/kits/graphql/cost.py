"""Cost-based throttling, the client side: spend the server's bucket, never overrun it.

A GraphQL API that limits by calculated query cost (Shopify's Admin API: a leaky bucket
per app and store, refilled at a restore rate; each query's requested cost taken when it
starts, the unused part given back when it ends) tells the client where its bucket stands
in every answer (`extensions.cost.throttleStatus`). `CostBucket` keeps that picture and
holds a query back until the bucket, refilled since the last answer, holds its cost: the
server never has to say "throttled". Until the first answer the bucket is unknown and a
query goes at once (the first answer says how things stand).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

#: A wait shorter than this is no wait (see connectors/pacing.py).
_SLACK = 1e-6
#: Points waited for beyond a query's cost: the server's clock and this side's tell the
#: refill apart by a hair, and a bucket a hair short is a throttled query.
MARGIN = 1.0


class CostBucket:
    """The server's bucket as its last answer described it, less what was sent since.

    `acquire(cost)` waits until the bucket holds `cost`, then counts it as taken; `observe`
    sets the picture again from an answer's throttle status (what the server says beats
    what this side worked out). Waiters are served in arrival order, one at a time."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        #: What the bucket held at `_at`, its size and its restore rate (None: not known).
        self._available: float | None = None
        self._maximum: float | None = None
        self._rate: float | None = None
        self._at = clock()
        #: Seconds spent waiting for the bucket so far (the bench reports it).
        self.waited = 0.0

    @property
    def known(self) -> bool:
        return self._available is not None and bool(self._rate)

    def available(self) -> float | None:
        """What the bucket holds now, as far as this side knows (None: not known yet)."""
        if self._available is None or not self._rate:
            return self._available
        held = self._available + (self._clock() - self._at) * self._rate
        return held if self._maximum is None else min(self._maximum, held)

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` (0: now, or not known)."""
        held = self.available()
        if held is None or not self._rate:
            return 0.0
        cost += MARGIN
        if self._maximum is not None:
            cost = min(cost, self._maximum)  # a bigger query waits for a full bucket, no more
        return max(0.0, (cost - held) / self._rate)

    async def acquire(self, cost: float) -> None:
        async with self._lock:
            while True:
                wait = self.wait_for(cost)
                if wait <= _SLACK:
                    held = self.available()
                    if held is not None:
                        self._available, self._at = held - cost, self._clock()
                    return
                self.waited += wait
                await self._sleep(wait)

    def observe(self, throttle: Mapping[str, Any] | None) -> None:
        """An answer's `throttleStatus` (`maximumAvailable`, `currentlyAvailable`,
        `restoreRate`); anything unreadable leaves the picture as it was."""
        if not isinstance(throttle, Mapping):
            return
        available = _number(throttle.get("currentlyAvailable"))
        maximum = _number(throttle.get("maximumAvailable"))
        rate = _number(throttle.get("restoreRate"))
        if available is None:
            return
        self._available, self._at = available, self._clock()
        if maximum is not None and maximum > 0:
            self._maximum = maximum
        if rate is not None and rate > 0:
            self._rate = rate

    def refused(self, cost: float) -> None:
        """The server throttled a query of `cost`: the bucket held less than that, whatever
        its rounded figures said (they may show exactly the cost), so the next try waits
        for one more point at least."""
        held = self.available()
        if held is not None and held > cost - 1:
            self._available, self._at = cost - 1, self._clock()

    def __repr__(self) -> str:
        return (f"CostBucket(available={self._available}, maximum={self._maximum}, "
                f"restore={self._rate}/s)")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
    return float(value)

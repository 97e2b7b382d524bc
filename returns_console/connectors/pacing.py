"""Pacing: how often requests to one system may start, beside how many may run at once.

Some APIs count requests over time rather than in flight (Happy Returns lets a client
start one request every two seconds, refilling a leaky bucket); sending faster only earns
429s and retries. A `Pacer` spaces the starts so the server's bucket never overflows, and
when the server says "wait" anyway, every request of the client waits, not just the one
that was told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: A wait shorter than this is no wait: a timer may fire a hair early, and a float sum a
#: hair short; sleeping again for a nanosecond would only cost a turn of the event loop.
_SLACK = 1e-6


class Pacer:
    """A token bucket: up to `burst` requests back to back, then `rate_per_second` on average.

    Kept as the bucket's theoretical arrival time (the time the bucket will be empty again
    once every granted start has drained), so each start time is a sum, never a
    floating-point refill that drifts. Waiters are served one at a time, in arrival order:
    the head holds the lock while it sleeps, so a later request can never overtake it.
    """

    def __init__(self, rate_per_second: float, burst: int = 1, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if not rate_per_second > 0:
            raise ValueError("rate_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_second = float(rate_per_second)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._interval = 1.0 / self.rate_per_second
        # How far ahead of the bucket's drain a start may be: the burst less the one itself.
        self._tolerance = (burst - 1) * self._interval
        self._tat = clock()  # at or before now: the bucket is full
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Requests inside `acquire()` now, not yet allowed to start."""
        return self._waiting

    async def acquire(self) -> None:
        """Wait until one more request may start, then count it as started."""
        self._waiting += 1
        try:
            async with self._lock:
                while True:
                    now = self._clock()
                    wait = self._tat - self._tolerance - now
                    if wait <= _SLACK:
                        self._tat = max(self._tat, now) + self._interval
                        return
                    # Looked at again after the sleep: a pause may have come in meanwhile.
                    await self._sleep(wait)
        finally:
            self._waiting -= 1

    def pause_for(self, seconds: float) -> None:
        """The server said to wait `seconds` (a 429's Retry-After): no request starts before
        then, and then only one, at the steady rate after it. The server's bucket is full,
        whatever this one thought, so the burst is spent."""
        until = self._clock() + max(0.0, seconds)
        self._tat = max(self._tat, until + self._tolerance)

    def backlog_seconds(self, n: int) -> float:
        """Seconds from now until the last of `n` more requests may start, if no other request
        comes first: how long a look-up backlog will take at this rate. Requests already
        waiting in `acquire()` come first; add `waiting` to `n` to count them."""
        if n <= 0:
            return 0.0
        now = self._clock()
        last = max(self._tat, now) + (n - 1) * self._interval - self._tolerance
        return max(0.0, last - now)

    def __repr__(self) -> str:
        return f"Pacer({self.rate_per_second:g}/s, burst={self.burst})"

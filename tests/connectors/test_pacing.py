"""The request pacer: a burst, then a steady rate; FIFO under concurrency; a 429 holds all.

No test looks at the wall clock: time is virtual, and moves only when every task waits on
it, so the assertions are on the start times the pacer computed, exactly.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from returns_console.connectors.errors import RateLimitedError
from returns_console.connectors.http import HttpClient, RetryPolicy
from returns_console.connectors.pacing import Pacer

FAST = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, jitter=0.0)


class VirtualTime:
    """A clock and a sleep for it: sleeps end in deadline order, and time jumps to the next
    deadline only once nothing else can run (no event loop timer is ever used)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), self._seq, future))
        await future

    async def run(self, *aws: Awaitable[Any]) -> list[Any]:
        gathered = asyncio.gather(*aws)
        while True:
            for _ in range(200):  # let every task run until it waits on this clock
                if gathered.done():
                    return gathered.result()
                await asyncio.sleep(0)
            assert self._timers, "every task waits, and on nothing this clock can end"
            when, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            future.set_result(None)

    def pacer(self, rate: float, burst: int = 1) -> Pacer:
        return Pacer(rate, burst, clock=self, sleep=self.sleep)


async def test_a_burst_then_the_steady_rate() -> None:
    vt = VirtualTime()
    pacer = vt.pacer(0.5, burst=3)
    starts: list[float] = []

    async def six() -> None:
        for _ in range(6):
            await pacer.acquire()
            starts.append(vt.now)

    await vt.run(six())
    assert starts == [0, 0, 0, 2, 4, 6]
    assert vt.waits == [2, 2, 2]


async def test_an_idle_bucket_refills_to_the_burst_and_no_further() -> None:
    vt = VirtualTime()
    pacer = vt.pacer(1.0, burst=2)
    starts: list[float] = []

    async def go(n: int) -> None:
        for _ in range(n):
            await pacer.acquire()
            starts.append(vt.now)

    await vt.run(go(2))
    vt.now = 100.0  # a long quiet spell
    await vt.run(go(4))
    assert starts == [0, 0, 100, 100, 101, 102]


async def test_twenty_concurrent_tasks_start_paced_and_in_order() -> None:
    vt = VirtualTime()
    pacer = vt.pacer(2.0, burst=2)
    started: list[tuple[int, float]] = []

    async def task(i: int) -> None:
        await pacer.acquire()
        started.append((i, vt.now))

    await vt.run(*(task(i) for i in range(20)))
    assert [i for i, _ in started] == list(range(20))
    assert [t for _, t in started] == [0, 0] + [0.5 * k for k in range(1, 19)]
    assert pacer.waiting == 0


async def test_pause_for_holds_every_waiting_request_and_spends_the_burst() -> None:
    vt = VirtualTime()
    pacer = vt.pacer(1.0, burst=2)
    started: list[tuple[str, float]] = []

    async def request(name: str) -> None:
        await pacer.acquire()
        started.append((name, vt.now))

    async def server_says_wait() -> None:
        await vt.sleep(0.5)
        pacer.pause_for(10)  # a 429 arrived at 0.5: nothing before 10.5

    await vt.run(server_says_wait(), *(request(n) for n in "abcde"))
    # a and b were the burst; c was waiting for 1.0 when the 429 came
    assert started == [("a", 0), ("b", 0), ("c", 10.5), ("d", 11.5), ("e", 12.5)]


async def test_a_shorter_pause_does_not_shorten_a_longer_one() -> None:
    vt = VirtualTime()
    pacer = vt.pacer(1.0)
    pacer.pause_for(30)
    pacer.pause_for(5)
    await vt.run(pacer.acquire())
    assert vt.now == 30


async def test_backlog_seconds_is_when_the_last_of_n_may_start() -> None:
    vt = VirtualTime()
    pacer = vt.pacer(0.5, burst=3)
    assert pacer.backlog_seconds(0) == 0
    assert pacer.backlog_seconds(3) == 0  # the burst
    assert pacer.backlog_seconds(4) == 2
    assert pacer.backlog_seconds(10) == 14
    await vt.run(pacer.acquire())
    assert pacer.backlog_seconds(2) == 0
    assert pacer.backlog_seconds(3) == 2
    vt.now = 1.0  # half an interval later
    assert pacer.backlog_seconds(3) == 1
    pacer.pause_for(30)
    assert pacer.backlog_seconds(1) == 30
    assert pacer.backlog_seconds(4) == 36


@pytest.mark.parametrize(("rate", "burst", "used", "n"),
                         [(0.5, 1, 0, 5), (2.0, 3, 1, 7), (4.0, 2, 5, 1), (1.0, 4, 2, 9)])
async def test_backlog_seconds_agrees_with_acquire(rate: float, burst: int, used: int,
                                                   n: int) -> None:
    vt = VirtualTime()
    pacer = vt.pacer(rate, burst)
    for _ in range(used):
        await vt.run(pacer.acquire())
    before, promised = vt.now, pacer.backlog_seconds(n)
    for _ in range(n):
        await vt.run(pacer.acquire())
    assert vt.now - before == pytest.approx(promised)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        Pacer(rate, burst)


# -- in HttpClient ----------------------------------------------------------------------------


def paced(vt: VirtualTime, handler, pacer: Pacer, **kw: Any) -> HttpClient:
    return HttpClient("happy_returns", "https://api.example.test/v1", retry=FAST,
                      sleep=vt.sleep, pacer=pacer, transport=httpx.MockTransport(handler), **kw)


async def test_a_429_retry_waits_for_the_pause_and_the_next_request_for_the_rate() -> None:
    vt = VirtualTime()
    sent: list[tuple[str, float]] = []
    answers = [httpx.Response(429, headers={"Retry-After": "3"}),
               httpx.Response(200, json={}), httpx.Response(200, json={})]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, vt.now))
        return answers.pop(0)

    http = paced(vt, handler, vt.pacer(0.5))

    async def flow() -> None:
        async with http:
            await http.get_json("/returns/1")
            await http.get_json("/returns/2")

    await vt.run(flow())
    assert sent == [("/v1/returns/1", 0), ("/v1/returns/1", 3), ("/v1/returns/2", 5)]
    assert [c.status for c in http.log] == [429, 200, 200]
    assert vt.waits == [3, 2]  # the retry's Retry-After, then the pacer's interval


async def test_a_429_holds_the_other_requests_not_only_its_retry() -> None:
    vt = VirtualTime()
    sent: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        first = not any(p == path for p, _ in sent)
        sent.append((path, vt.now))
        if path == "a" and first:
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200, json={})

    http = paced(vt, handler, vt.pacer(1.0), concurrency=4)

    async def flow() -> None:
        async with http:
            await asyncio.gather(*(http.get_json(f"/r/{p}") for p in "abc"))

    await vt.run(flow())
    # unpaused, b and c would have gone at 1 and 2; a's retry queues behind them
    assert sent == [("a", 0), ("b", 5), ("c", 6), ("a", 7)]


async def test_every_attempt_is_paced() -> None:
    vt = VirtualTime()
    sent: list[float] = []
    answers = [httpx.Response(503), httpx.Response(502), httpx.Response(200, json={})]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(vt.now)
        return answers.pop(0)

    http = paced(vt, handler, vt.pacer(1.0))

    async def flow() -> None:
        async with http:
            await http.get_json("/returns")

    await vt.run(flow())
    assert sent == pytest.approx([0, 1, 2])


async def test_a_retry_after_beyond_the_cap_does_not_hold_the_client() -> None:
    vt = VirtualTime()
    sent: list[float] = []
    answers = [httpx.Response(429, headers={"Retry-After": "3600"}),
               httpx.Response(200, json={})]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(vt.now)
        return answers.pop(0)

    http = paced(vt, handler, vt.pacer(0.5))

    async def flow() -> None:
        async with http:
            with pytest.raises(RateLimitedError):
                await http.get_json("/returns/1")
            await http.get_json("/returns/2")

    await vt.run(flow())
    # the next request fails or succeeds now: it does not hang for an hour
    assert sent == pytest.approx([0, 2])


async def test_a_429_without_retry_after_keeps_the_rate() -> None:
    vt = VirtualTime()
    sent: list[float] = []
    answers = [httpx.Response(429), httpx.Response(200, json={})]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(vt.now)
        return answers.pop(0)

    http = paced(vt, handler, vt.pacer(0.5))

    async def flow() -> None:
        async with http:
            await http.get_json("/returns")

    await vt.run(flow())
    assert sent == pytest.approx([0, 2])

"""Five receiver processes get the same fifty deliveries at once (a sender retrying while
the first attempt is still in flight, behind a load balancer): each is stored exactly once,
and exactly one process is told it was new."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from returns_console.inbox.receiver import receiver
from returns_console.store.inbox import Inbox
from tests import processes

from .fake_source import SUFFIX, SYSTEM, FakeSource, delivery

PROCESSES = 5
DELIVERIES = 50
#: Only so a stuck worker fails the test instead of hanging it; nothing is timed.
JOIN_TIMEOUT_S = 300


def poster(me: int, path: str, start: Any, stored: Any) -> None:
    """One receiver process: opens the (perhaps not yet existing) inbox, then posts every
    delivery through its own receiver, in its own order."""
    start.wait(timeout=JOIN_TIMEOUT_S)
    inbox = Inbox(Path(path))
    app = receiver(inbox, {SYSTEM: FakeSource().webhook()})
    order = list(range(DELIVERIES))
    order = order[me * 7 % DELIVERIES:] + order[:me * 7 % DELIVERIES]

    async def post_all() -> int:
        new = 0
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
            for n in order:
                body, headers = delivery(f"d-{n:03d}", "parcel.seen", {"ticket": f"T-{n}"})
                answer = await http.post(f"/hooks/{SYSTEM}/{SUFFIX}", content=body,
                                         headers=headers)
                assert answer.status_code == 200, answer.text
                new += answer.json()["stored"] is True
        return new

    stored[me] = asyncio.run(post_all())


def test_five_processes_posting_the_same_deliveries_store_each_once(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    ctx = processes.context()
    start = ctx.Barrier(PROCESSES)
    stored = ctx.Array("i", PROCESSES)
    procs = [ctx.Process(target=poster, args=(n, str(path), start, stored))
             for n in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(JOIN_TIMEOUT_S)
    stuck = [p for p in procs if p.is_alive()]
    for p in stuck:
        p.kill()
        p.join()
    assert not stuck, f"{len(stuck)} posters never finished"
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    inbox = Inbox(path)
    kept = inbox.events(SYSTEM)
    assert inbox.count(SYSTEM) == DELIVERIES
    assert sorted(e.delivery_id for e in kept) == [f"d-{n:03d}" for n in range(DELIVERIES)]
    assert sum(stored[:]) == DELIVERIES  # exactly one "new" answer per delivery
    seqs = [e.seq or 0 for e in kept]
    assert seqs == sorted(seqs) and len(set(seqs)) == DELIVERIES

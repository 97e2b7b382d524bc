"""Whether work on an event loop lets other coroutines run while it goes on: counted in the
turns of a coroutine beside it (one a pass of the loop), never in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Turns:
    """`beside(work)` runs `work` with a coroutine that counts its turns; `mark(phase)`,
    called from inside the work (a patched function), notes the count at that moment."""

    def __init__(self) -> None:
        self.count = 0
        self.seen: dict[str, list[int]] = {}

    def mark(self, phase: str) -> None:
        self.seen.setdefault(phase, []).append(self.count)

    async def beside(self, work: Awaitable[T]) -> T:
        done = asyncio.Event()

        async def count() -> None:
            while not done.is_set():
                self.count += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(count())
        try:
            return await work
        finally:
            done.set()
            await other

    def spread(self, phase: str) -> int:
        """How many turns the other coroutine had between a phase's first and last mark."""
        at = self.seen[phase]
        return at[-1] - at[0]

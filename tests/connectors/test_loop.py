"""The app's event loop: a blocking call handed to a thread gets a thread of its own that
ends with it (a live worker would keep writers from forking; store/forked.py)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from returns_console.connectors.loop import THREAD_NAME, ThreadPerCall, run


def _callers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_a_look_up_leaves_no_thread_once_done() -> None:
    async def look_up() -> tuple[int, list[threading.Thread]]:
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
        for _ in range(100):  # the thread's last steps after its result is set
            if not _callers():
                break
            await asyncio.sleep(0.01)
        return len(found), _callers()

    count, left = run(look_up())
    assert count >= 1
    assert left == []


def test_calls_run_at_once_and_their_results_and_errors_come_back() -> None:
    both = threading.Barrier(2, timeout=10)

    def meet(value: int) -> int:
        both.wait()  # two calls in flight together, not one after the other
        return value * 2

    def fail() -> None:
        raise ValueError("refused")

    async def calls() -> list[int]:
        loop = asyncio.get_running_loop()
        got = await asyncio.gather(loop.run_in_executor(None, meet, 1),
                                   loop.run_in_executor(None, meet, 2))
        with pytest.raises(ValueError, match="refused"):
            await loop.run_in_executor(None, fail)
        return list(got)

    assert run(calls()) == [2, 4]


def test_shutdown_waits_for_calls_in_flight_and_refuses_new_ones() -> None:
    executor = ThreadPerCall()
    release = threading.Event()
    future = executor.submit(release.wait, 10)
    release.set()
    executor.shutdown(wait=True)
    assert future.result() is True
    assert not _callers()
    with pytest.raises(RuntimeError):
        executor.submit(int)


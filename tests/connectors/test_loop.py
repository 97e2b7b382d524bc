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



def test_the_awaiting_coroutine_goes_on_only_once_the_calls_thread_has_ended() -> None:
    """Right after `await asyncio.to_thread(...)` a writer may fork (an inbox's clean-up,
    then the cache's write): the call's thread must be gone by then, not returning (review
    finding: it was still listed in most of 300 tries)."""
    from returns_console.store.forked import fork_safe

    async def calls() -> int:
        listed = 0
        for _ in range(200):
            await asyncio.to_thread(sum, range(2000))
            listed += bool(_callers()) or not fork_safe()
        return listed

    assert run(calls()) == 0


def test_a_thread_that_cannot_start_fails_its_call_not_the_loop(monkeypatch) -> None:
    real = threading._start_new_thread  # type: ignore[attr-defined]

    def refused(*args, **kwargs):
        monkeypatch.setattr(threading, "_start_new_thread", real)
        raise RuntimeError("can't start new thread")

    async def work() -> str:
        monkeypatch.setattr(threading, "_start_new_thread", refused)
        with pytest.raises(RuntimeError, match="can't start"):
            await asyncio.to_thread(int)
        return await asyncio.to_thread(str, "done")

    assert run(work()) == "done"  # the loop closes without joining a thread never started


def test_a_call_that_failed_keeps_nothing_alive_while_collection_is_paused() -> None:
    import gc
    import weakref

    class Big:
        pass

    def fail(_: Big) -> None:
        raise ValueError("refused")

    async def calls() -> weakref.ref:
        big = Big()
        ref = weakref.ref(big)
        with pytest.raises(ValueError):
            await asyncio.to_thread(fail, big)
        del big
        return ref

    gc.disable()
    try:
        assert run(calls())() is None
    finally:
        gc.enable()

"""The event loop the connectors run in: blocking calls the loop hands to a thread (a host
name's look-up, `getaddrinfo`; `asyncio.to_thread`) each get a thread that ends with the
call, and the coroutine awaiting it goes on only once that thread is gone.

asyncio's default executor keeps its worker threads alive for the loop's whole life once a
host name has been looked up. A live thread makes forking unsafe (it may hold a lock the
child would wait on for good), so a check against a real URL wrote its record index in a
thread beside the check instead of in a forked process on the other core (`store.forked`).
Such calls are few (one look-up per host and connection, an inbox's clean-up), so a thread
each costs nothing that counts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: The name of the threads a call runs in (seen in `threading.enumerate()`).
THREAD_NAME = "loop-call"


class ThreadPerCall(ThreadPoolExecutor):
    """An executor whose every call runs in its own thread, which ends when the call does
    (asyncio accepts only a ThreadPoolExecutor as its default; no pool is kept). Submitted
    from a running event loop, the call's outcome is handed over in the loop's thread once
    the call's thread has ended: whoever awaits it never sees that thread alive (it would
    keep a fork from being made: the awaiting coroutine would otherwise go on while the
    thread was still returning)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._running: set[threading.Thread] = set()
        self._guard = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        thread = threading.Thread(target=_Call(self, future, fn, args, kwargs, loop).run,
                                  name=THREAD_NAME, daemon=True)
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            thread.start()
            self._running.add(thread)  # once started (a thread that never ran is no call)
        return future

    def _ended(self, thread: threading.Thread) -> None:
        with self._guard:
            self._running.discard(thread)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._guard:
            self._closed = True
            running = list(self._running)
        if wait:
            for thread in running:
                thread.join()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)


class _Call:
    """One call and where its outcome goes (as the stdlib's work item: it lets go of the
    call, its arguments and its outcome once handed over, so an error's traceback keeps
    none of them alive while garbage collection is paused)."""

    __slots__ = ("args", "executor", "fn", "future", "kwargs", "loop", "outcome")

    def __init__(self, executor: ThreadPerCall, future: Future[Any], fn: Callable[..., Any],
                 args: tuple[Any, ...], kwargs: dict[str, Any],
                 loop: asyncio.AbstractEventLoop | None) -> None:
        self.executor, self.future, self.fn = executor, future, fn
        self.args, self.kwargs, self.loop = args, kwargs, loop
        self.outcome: tuple[bool, Any] | None = None

    def run(self) -> None:
        thread = threading.current_thread()
        try:
            if self.future.set_running_or_notify_cancel():
                try:
                    self.outcome = (True, self.fn(*self.args, **self.kwargs))
                except BaseException as exc:
                    self.outcome = (False, exc)
        finally:
            self.fn = self.args = self.kwargs = None  # type: ignore[assignment]
            self.executor._ended(thread)
            handed = False
            if self.loop is not None and self.outcome is not None:
                try:  # in the loop's thread, once this one has ended
                    self.loop.call_soon_threadsafe(self._hand_over, thread)
                    handed = True
                except RuntimeError:  # the loop is closed: nobody awaits it there
                    pass
            if not handed:
                self._settle()

    def _hand_over(self, thread: threading.Thread) -> None:
        thread.join()  # it has nothing left to do but end: a moment
        self._settle()

    def _settle(self) -> None:
        outcome, self.outcome = self.outcome, None
        future, self.future = self.future, None  # type: ignore[assignment]
        if outcome is None or future is None:
            return
        ok, value = outcome
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def runner() -> asyncio.Runner:
    """An `asyncio.Runner` whose loop runs blocking calls as `run` does (for a loop kept
    for many calls)."""
    made = asyncio.Runner()
    made.get_loop().set_default_executor(ThreadPerCall())
    return made


def run(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)`, with the loop's blocking calls each in a thread of its own."""
    with runner() as made:
        return made.run(work)

"""The event loop the connectors run in: blocking calls the loop hands to a thread (a host
name's look-up, `getaddrinfo`) each get a thread that ends with the call.

asyncio's default executor keeps its worker threads alive for the loop's whole life once a
host name has been looked up. A live thread makes forking unsafe (it may hold a lock the
child would wait on for good), so a check against a real URL wrote its record index in a
thread beside the check instead of in a forked process on the other core (`store.forked`).
Look-ups are few (one per host and connection), so a thread each costs nothing that counts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: The name of the threads a look-up runs in (seen in `threading.enumerate()`).
THREAD_NAME = "loop-call"


class ThreadPerCall(ThreadPoolExecutor):
    """An executor whose every call runs in its own thread, which ends when the call does
    (asyncio accepts only a ThreadPoolExecutor as its default; no pool is kept)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._running: set[threading.Thread] = set()
        self._guard = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")

            def call() -> None:
                try:
                    if future.set_running_or_notify_cancel():
                        try:
                            result = fn(*args, **kwargs)
                        except BaseException as exc:
                            future.set_exception(exc)
                        else:
                            future.set_result(result)
                finally:
                    with self._guard:
                        self._running.discard(thread)

            thread = threading.Thread(target=call, name=THREAD_NAME, daemon=True)
            self._running.add(thread)
            thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._guard:
            self._closed = True
            running = list(self._running)
        if wait:
            for thread in running:
                thread.join()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)


def run(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)`, with the loop's blocking calls each in a thread of its own."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(ThreadPerCall())
        return runner.run(work)

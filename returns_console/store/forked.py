"""Writes in a forked process: the database works on the second core while this process
goes on reading and checking (a thread would share one interpreter with the check).

A fork is made only where it is safe: from the main thread, beside no thread that could hold
a lock the child needs, and with no SQLite connection of the parent's open to the file the
child writes (SQLite keeps its file locks per process: a child would inherit the parent's
bookkeeping of them, take none of its own, and a parent closing its connection meanwhile
could checkpoint and delete the write-ahead log under it; `Cache.fork` closes and reopens
its connection around the fork). The child opens its own connection, writes, reports a
failure through a pipe and leaves with `os._exit` (no exit handlers of the parent's run
twice).
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Threads that may be running when a writer is forked: the progress line (it holds
#: nothing the child needs). Any other thread means a thread instead of a fork: a thread
#: may hold a lock at the moment of the fork that the child would then wait on for good
#: (SQLite's own, when it is an inbox's `to_thread`, or a host name's look-up). The app's
#: event loop runs each such call in a thread that ends with it (`connectors.loop`), so
#: they are only in the way while they run.
IDLE_THREADS = ("progress",)
#: The longest a writer is waited for once its result is needed (then it is stopped).
WAIT_S = 600.0


def fork_safe() -> bool:
    """Whether a writer may be forked now: from the main thread, beside no other thread
    but those of IDLE_THREADS."""
    if not hasattr(os, "fork"):
        return False
    main = threading.main_thread()
    return threading.current_thread() is main and all(
        t is main or t.name in IDLE_THREADS for t in threading.enumerate())


@dataclass(slots=True)
class Child:
    """A forked writer: its pid, and the pipe its failure's text comes back on."""

    pid: int
    said: int

    def result(self, wait_s: float = WAIT_S) -> tuple[int | None, str]:
        """(exit code or None when it did not finish within `wait_s` and was stopped,
        what it said of its failure)."""
        try:
            code = exit_code(self.pid, wait_s)
            text = os.read(self.said, 4096).decode("utf-8", "replace") if code else ""
        finally:
            os.close(self.said)
        return code, text


def start(work: Callable[[], None]) -> Child | None:
    """`work` in a forked child (call only when `fork_safe()`); None when the system would
    not fork (the caller writes another way)."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # out of memory or processes: not this check's failure
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: work, and leave without running the parent's exits
        code = 1
        try:
            os.close(read_end)
            try:
                work()
                code = 0
            except BaseException as exc:  # the parent reports it
                os.write(write_end, f"{type(exc).__name__}: {exc}".encode()[:4096])
        finally:
            os._exit(code)
    os.close(write_end)
    return Child(pid, read_end)


def exit_code(pid: int, wait_s: float) -> int | None:
    """A forked writer's exit code, waiting up to `wait_s` for it; None (and the child
    stopped) when it has not finished by then."""
    stop = time.monotonic() + wait_s
    try:
        handle: int | None = os.pidfd_open(pid)  # readable the moment it exits (Linux)
    except (AttributeError, OSError):
        handle = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            left = stop - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            if handle is not None:
                select.select([handle], [], [], left)
            else:
                time.sleep(min(left, 0.01))
    finally:
        if handle is not None:
            os.close(handle)

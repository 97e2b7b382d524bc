"""Yield points for long work that shares the interpreter with someone typing.

The console refreshes in a thread of its own process. Python runs one thread at a time and
the two take turns of 5 ms, so while a refresh ran a keystroke's 20 ms of drawing took
40-100 ms. The console says when a person is at the keys (`hold`); the long loops of a
read (parsing pages, assembling, checking returns) call `breathe()` between steps, which
lets go of the interpreter until the keys pause. Off the main thread only: the main thread
is the one typed at (and `check` runs everything on it, never held).
"""

from __future__ import annotations

import threading
import time

#: The longest one breath waits.
LONGEST = 0.2
#: After a wait, the work runs at least this long before it waits again: a person typing
#: (or a key held down, or a wheel spun) without pause slows a refresh, never stops it.
RUNS_AT_LEAST = 0.04

_until = 0.0
_main = threading.main_thread().ident
_woke = threading.local()


def hold(seconds: float) -> None:
    """Work in other threads waits at its next `breathe()` for `seconds` from now."""
    global _until
    _until = max(_until, time.monotonic() + seconds)


def breathe() -> None:
    """Wait while a person is at the keys (see `hold`); at once otherwise, and at once
    again until this thread has run RUNS_AT_LEAST since its last wait."""
    if not _until:
        return
    now = time.monotonic()
    wait = _until - now
    if wait <= 0 or threading.get_ident() == _main \
            or now - getattr(_woke, "at", -RUNS_AT_LEAST) < RUNS_AT_LEAST:
        return
    time.sleep(min(wait, LONGEST))
    _woke.at = time.monotonic()

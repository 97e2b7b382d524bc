"""Pausing Python's cyclic garbage collector around bulk work.

Reading and reconciling tens of thousands of returns allocates millions of small objects;
each of the collector's full passes then walks all of them, which costs seconds and finds
nothing (this code makes no reference cycles worth collecting mid-run). Reference counting
still frees everything as usual; the collector runs again when the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def keep_for_good(*, collect: bool = True) -> None:
    """What is alive now is kept for a long time (a console's last read, its report): the
    collector's full passes skip it from here on (`gc.freeze`).

    Without this, each full pass in a long-running console walks every kept object: at
    30,000 returns those passes took 0.1-0.25 s each, growing with the heap, and one that
    fell on a keystroke held the interpreter for all of it. First one collection of what is
    not frozen yet (what was made since the last freeze: a refresh's objects, its reference
    cycles among them, such as its HTTP client's): frozen garbage would never be freed. The
    kept data holds no reference cycles (reference counting frees it when the next read
    replaces it); a cycle alive now and dropped later stays allocated, which is why this
    is called after a refresh, when what is alive is what the console keeps.
    `collect=False` skips the collection where it would cost more than it frees (before
    the console's first frame, with only start-up's few cycles to find)."""
    if collect:
        gc.collect()
    gc.freeze()


def give_back() -> None:
    """Hand the heap pages freed since to the operating system (glibc's `malloc_trim`; a
    no-op elsewhere). A refresh's temporaries (response bodies, JSON text, parsed pages) are
    freed, but the C allocator keeps their pages, so a long-running console's resident
    memory would stay at its largest refresh's."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None

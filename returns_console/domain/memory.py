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


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

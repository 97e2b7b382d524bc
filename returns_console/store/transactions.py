"""One SQLite write transaction on its own connection, for read-modify-write across processes.

`BEGIN IMMEDIATE` takes the write lock before the first read, so a second writer (another
thread, another process) waits for this one and then reads what it wrote, instead of both
reading the same old state and one overwriting the other.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 30.0


@contextmanager
def write_transaction(path: Path, *, rows: bool = False,
                      durable: bool = False) -> Iterator[sqlite3.Connection]:
    """COMMIT on the way out, ROLLBACK on an exception; `rows`: rows as sqlite3.Row;
    `durable`: synced to disk before COMMIT returns (what a sender was told is stored)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    if rows:
        conn.row_factory = sqlite3.Row
    try:
        if durable:
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()

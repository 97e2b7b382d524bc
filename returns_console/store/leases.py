"""Leases: one ERP write per key at a time, across every process using the same audit log.

A re-queue is "look in the ERP, record pending, create": two operators (two consoles, a
console and cron, ten `act` processes) doing that at once each see no credit memo and each
create one. A thread lock holds only inside one process; a lease is a row in the audit
database's `leases` table, keyed unique, taken in a write transaction (`BEGIN IMMEDIATE`,
so two takers queue on the lock and the second sees the first's row) and held until the
outcome is written. What is leased is the write's key (e.g. the link a credit memo carries),
so writes to other returns run in parallel.

A holder that died leaves its row: a later taker takes it over when the holder is gone (its
pid is not running on this host) or, for a holder on another host, when the lease is older
than `STALE_AFTER`. Operators on machines that do not share the audit log are not covered:
the ERP look-up before each write is all that stands between them.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .transactions import write_transaction

#: A lease held from another host is taken over after this long (a write takes seconds).
STALE_AFTER = timedelta(minutes=15)

_SCHEMA = ("CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY NOT NULL, "
           "holder TEXT NOT NULL, taken_at TEXT NOT NULL, what TEXT)")


class Leases:
    """Leases in the database at `path` (the audit log's file); a connection per call."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self._clock = clock or (lambda: datetime.now(UTC))
        path.parent.mkdir(parents=True, exist_ok=True)

    def take(self, key: str, what: str = "") -> str | None:
        """The lease on `key`: a token to `release` it with, or None while a live holder
        has it."""
        token = f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex}"
        with self._transaction() as conn:
            row = conn.execute("SELECT holder, taken_at FROM leases WHERE key = ?",
                               [key]).fetchone()
            if row is not None and self._alive(row[0], row[1]):
                return None
            conn.execute("INSERT OR REPLACE INTO leases (key, holder, taken_at, what) "
                         "VALUES (?, ?, ?, ?)", [key, token, self._clock().isoformat(), what])
        return token

    def release(self, key: str, token: str) -> None:
        """Give the lease back (only the holder's own: a taken-over lease is not dropped)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM leases WHERE key = ? AND holder = ?", [key, token])

    def held(self) -> dict[str, str]:
        """Every lease row, key → holder (for diagnosis and tests)."""
        with self._transaction() as conn:
            return dict(conn.execute("SELECT key, holder FROM leases").fetchall())

    @contextmanager
    def hold(self, key: str, what: str = "") -> Iterator[bool]:
        """`with leases.hold(key) as mine:` mine is False when another holder has it;
        released on the way out, whatever happened inside."""
        token = self.take(key, what)
        try:
            yield token is not None
        finally:
            if token is not None:
                self.release(key, token)

    def _alive(self, holder: str, taken_at: str) -> bool:
        host, _, rest = holder.partition("|")
        pid_text = rest.partition("|")[0]
        if host == socket.gethostname() and pid_text.isdigit():
            return _running(int(pid_text))
        try:
            taken = datetime.fromisoformat(taken_at)
        except ValueError:
            return False
        return self._clock() - taken < STALE_AFTER

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with write_transaction(self.path) as conn:
            conn.execute(_SCHEMA)
            yield conn


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True

"""The inbox: deliveries systems pushed to us, each kept once, in the order they arrived.

Senders retry (on a timeout, on any answer but 200, daily for a week), so the same delivery
comes again and again, from as many receiver processes as are running. A delivery is keyed
by (system, delivery id) and inserted with `INSERT OR IGNORE` inside `BEGIN IMMEDIATE`: the
first copy is stored, every later one changes nothing, whichever process it reaches. The
sequence number, given under the write lock, is the arrival order connectors read in.

Bodies are kept as the bytes received (a signature covers those bytes; a connector parses
them, perhaps a later version of it, and reading the same event twice must give the same
answer). One SQLite file in WAL, FULL sync: a delivery answered 200 is one the sender will
never send again, so it must survive a power cut. Holds no connection between calls.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..connectors.base import OWN_TOPIC_PREFIX, InboxEvent
from .transactions import write_transaction

#: A bigger body is refused whole, never cut (a cut body is not the one that was signed).
MAX_BODY = 5 * 1024 * 1024
BUSY_TIMEOUT_S = 30.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "system TEXT NOT NULL, delivery_id TEXT NOT NULL, topic TEXT NOT NULL, "
    "received_at TEXT NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL, "
    "UNIQUE (system, delivery_id))",
    "CREATE INDEX IF NOT EXISTS inbox_system_seq ON inbox (system, seq)",
    "CREATE INDEX IF NOT EXISTS inbox_system_received ON inbox (system, received_at)",
    # per system, the moment before which its deliveries were let go (hints only)
    "CREATE TABLE IF NOT EXISTS forgotten (system TEXT PRIMARY KEY, before TEXT NOT NULL)",
)
_COLUMNS = "seq, system, delivery_id, topic, received_at, body, headers"


class BodyTooLarge(ValueError):
    """A delivery over the cap: refused, nothing stored."""


class Inbox:
    """The inbox in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path, *, max_body: int = MAX_BODY) -> None:
        self.path = Path(path)
        self.max_body = max_body
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            _enable_wal(conn)
        with self._write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def receive(self, event: InboxEvent) -> bool:
        """Keep `event`: True when it is new, False when its delivery id is already here
        (then nothing changes, not even the time it was last received). Its `seq` is
        ignored: the inbox numbers what it stores."""
        _check(event, self.max_body)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO inbox (system, delivery_id, topic, received_at, body, "
                "headers) VALUES (?, ?, ?, ?, ?, ?)",
                [event.system, event.delivery_id, event.topic, _stamp(event.received_at),
                 bytes(event.body), json.dumps(dict(event.headers), sort_keys=True)])
            return cursor.rowcount == 1

    def receive_if_latest(self, events: Sequence[InboxEvent], system: str, topic: str,
                          seq: int) -> bool:
        """Keep `events` in one transaction only while `system`'s newest event of `topic` is
        still the one numbered `seq` (0: none yet): an answer decided from what the inbox
        held is recorded only if nobody recorded another meanwhile, whichever process
        answered it. False: nothing kept (decide again from what is there now)."""
        for event in events:
            _check(event, self.max_body)
        with self._write() as conn:
            row = conn.execute("SELECT MAX(seq) FROM inbox WHERE system = ? AND topic = ?",
                               [system, topic]).fetchone()
            if int(row[0] or 0) != seq:
                return False
            for event in events:
                conn.execute(
                    "INSERT OR IGNORE INTO inbox (system, delivery_id, topic, received_at, "
                    "body, headers) VALUES (?, ?, ?, ?, ?, ?)",
                    [event.system, event.delivery_id, event.topic, _stamp(event.received_at),
                     bytes(event.body), json.dumps(dict(event.headers), sort_keys=True)])
            return True

    def events(self, system: str, *, since_seq: int = 0,
               limit: int | None = None) -> list[InboxEvent]:
        """`system`'s events after `since_seq`, in arrival order, each with its `seq`
        (the last one read is where the next read continues from)."""
        sql = f"SELECT {_COLUMNS} FROM inbox WHERE system = ? AND seq > ? ORDER BY seq"
        args: list[object] = [system, since_seq]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(limit, 0))
        with self._connect() as conn:
            return [_event(row) for row in conn.execute(sql, args)]

    def received_since(self, system: str, moment: datetime, *,
                       limit: int | None = None) -> list[InboxEvent]:
        """`system`'s events received at or after `moment`, in arrival order (a listed
        system's hints: what changed since its last read, by our clock)."""
        sql = (f"SELECT {_COLUMNS} FROM inbox WHERE system = ? AND received_at >= ? "
               "ORDER BY seq")
        args: list[object] = [system, _stamp(moment)]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(limit, 0))
        with self._connect() as conn:
            return [_event(row) for row in conn.execute(sql, args)]

    def last_received(self, system: str) -> datetime | None:
        """When `system`'s newest event arrived (its freshness), None before the first; the
        console's own instructions kept for it are not something it sent."""
        with self._connect() as conn:
            row = conn.execute("SELECT MAX(received_at) FROM inbox WHERE system = ? AND "
                               "topic NOT LIKE ?", [system, OWN_TOPIC_PREFIX + "%"]).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def last_seq(self, system: str) -> int:
        """The arrival number of `system`'s newest event (0 before the first)."""
        with self._connect() as conn:
            row = conn.execute("SELECT MAX(seq) FROM inbox WHERE system = ?",
                               [system]).fetchone()
        return int(row[0] or 0)

    def forget_before(self, system: str, moment: datetime) -> int:
        """Let go of `system`'s deliveries received before `moment` (only for a system whose
        deliveries are hints a full read has covered: never one whose state they are),
        the newest kept (what its freshness shows), and remember the moment: a reader whose
        last read is older must read everything again (`forgotten_before`). How many went."""
        stamp = _stamp(moment)
        with self._write() as conn:
            gone = conn.execute(
                "DELETE FROM inbox WHERE system = ? AND received_at < ? AND seq < "
                "(SELECT MAX(seq) FROM inbox WHERE system = ?)", [system, stamp, system]
            ).rowcount
            conn.execute("INSERT INTO forgotten (system, before) VALUES (?, ?) ON CONFLICT "
                         "(system) DO UPDATE SET before = MAX(before, excluded.before)",
                         [system, stamp])
            return gone

    def forgotten_before(self, system: str) -> datetime | None:
        """The moment before which `system`'s deliveries may have been let go (None: none
        ever were)."""
        with self._connect() as conn:
            row = conn.execute("SELECT before FROM forgotten WHERE system = ?",
                               [system]).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def count(self, system: str) -> int:
        """How many distinct deliveries of `system` are kept."""
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM inbox WHERE system = ?",
                                    [system]).fetchone()[0])

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        finally:
            conn.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction, taking the lock before anything is read, so concurrent
        writers queue instead of meeting halfway."""
        return write_transaction(self.path, durable=True)


def _check(event: InboxEvent, max_body: int) -> None:
    if not event.system or not event.delivery_id:
        raise ValueError("an inbox event needs a system and a delivery id")
    if event.received_at.tzinfo is None:
        raise ValueError("an inbox event's received_at needs a time zone")
    if len(event.body) > max_body:
        raise BodyTooLarge(f"a delivery of {len(event.body)} bytes is over the inbox's cap "
                           f"of {max_body}: not stored")


def _stamp(moment: datetime) -> str:
    """UTC, fixed width: text order is time order, so MAX() is the latest."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _event(row: tuple[int, str, str, str, str, bytes, str]) -> InboxEvent:
    seq, system, delivery_id, topic, received_at, body, headers = row
    return InboxEvent(system=system, delivery_id=delivery_id, topic=topic,
                      received_at=datetime.fromisoformat(received_at), body=bytes(body),
                      headers=json.loads(headers), seq=seq)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switching a new file to WAL answers "locked" at once, without the busy wait, while
    another process opens the same new file: retry for as long as a write would wait."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)

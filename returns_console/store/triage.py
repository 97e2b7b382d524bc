"""Each exception's triage state (acknowledged, snoozed, assigned, noted, tagged, closed),
per profile, keyed by the finding's stable id so it follows the exception across refreshes.
Kept next to the audit log (the audit log says who changed it and when; this says what it is
now). Plain `sqlite3` (sqlite-utils cost every process start 120 ms to import); the table is
the one it always was."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .transactions import write_transaction

STATES = ("new", "acknowledged", "snoozed", "closed")
_SCHEMA = ("CREATE TABLE IF NOT EXISTS [triage] ([profile] TEXT, [finding_id] TEXT, "
           "[return_ref] TEXT, [code] TEXT, [state] TEXT, [snoozed_until] TEXT, "
           "[assignee] TEXT, [note] TEXT, [tags] TEXT, [updated_at] TEXT, "
           "[closed_reason] TEXT, PRIMARY KEY ([profile], [finding_id]))")


@dataclass(frozen=True, slots=True)
class Triage:
    finding_id: str
    return_ref: str
    code: str
    state: str = "new"
    snoozed_until: str | None = None
    assignee: str | None = None
    note: str | None = None
    tags: tuple[str, ...] = ()
    updated_at: str | None = None
    #: Why it was closed ("no longer found by the refresh of …").
    closed_reason: str | None = None
    history: tuple[str, ...] = field(default=(), compare=False)

    def label(self, now: datetime | None = None) -> str:
        """What the queue's triage column shows."""
        state = self.state
        if state == "snoozed" and self.snoozed_until:
            moment = _moment(self.snoozed_until)
            if now is not None and moment is not None and moment <= now:
                state = "new"
            else:
                state = f"snoozed→{self.snoozed_until[5:10]}"
        text = {"acknowledged": "ack"}.get(state, state)
        if self.assignee:
            text += f" @{self.assignee}"
        if self.tags:
            text += " #" + " #".join(self.tags)
        return text

    def describe(self) -> str:
        """Everything the operators said of it, for the return screen."""
        words = {"acknowledged": "acknowledged", "snoozed": f"snoozed until "
                 f"{self.snoozed_until}", "closed": "closed", "new": "new"}
        parts = [words.get(self.state, self.state)]
        if self.assignee:
            parts.append(f"assigned to {self.assignee}")
        if self.tags:
            parts.append("tags " + " ".join(f"#{t}" for t in self.tags))
        if self.note:
            parts.append(f"note: {self.note}")
        return " · ".join(parts)

    def to_json(self) -> dict:
        out = asdict(self)
        out["tags"] = list(self.tags)
        out.pop("history")
        return out


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(slots=True)
class Change:
    """A triage change under way: `old` as stored now; set `new` to write it."""

    old: Triage
    new: Triage | None = None


class TriageStore:
    """One small table; a connection per call, so any thread may use it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Raw SQL in one write transaction: ten processes starting on a new file at once
        # queue on the lock (a create that reads the schema first and then upgrades to a
        # write is answered "locked" at once by SQLite rather than made to wait).
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            _wal(conn)
        finally:
            conn.close()
        with write_transaction(self.path) as tx:
            tx.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call (in WAL), committed and closed after it."""
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            _wal(conn)
            yield conn
            conn.commit()
        finally:
            conn.close()

    def all(self, profile: str) -> dict[str, Triage]:
        with self._db() as conn:
            rows = _rows(conn, 'select * from "triage" where profile = ?', [profile])
            return {r["finding_id"]: _triage(r) for r in rows}

    def get(self, profile: str, finding_id: str) -> Triage | None:
        with self._db() as conn:
            rows = _rows(conn, 'select * from "triage" where profile = ? and finding_id = ?',
                         [profile, finding_id])
        return _triage(rows[0]) if rows else None

    def put(self, profile: str, triage: Triage) -> None:
        """Insert or update the exception's row (the columns `Triage` has), in one
        transaction of its own."""
        row = triage.to_json()
        row["tags"] = json.dumps(row["tags"])
        row["updated_at"] = row["updated_at"] or _now()
        values = {"profile": profile, **row}
        names = ", ".join(f'"{k}"' for k in values)
        sets = ", ".join(f'"{k}" = excluded."{k}"' for k in values
                         if k not in ("profile", "finding_id"))
        with self._db() as conn:
            conn.execute("BEGIN")
            try:
                conn.execute(f'INSERT INTO "triage" ({names}) VALUES '
                             f"({', '.join('?' for _ in values)}) "
                             f'ON CONFLICT("profile", "finding_id") DO UPDATE SET {sets}',
                             list(values.values()))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def changing(self, profile: str, finding_id: str, default: Triage) -> Iterator[Change]:
        """One atomic read-modify-write of an exception's triage, across processes: the row
        is read inside a write transaction (`BEGIN IMMEDIATE`), so a second writer waits and
        then reads the first one's result instead of overwriting it (ten parallel tags used
        to keep three). Set `change.new` to write it; an exception rolls back."""
        with write_transaction(self.path, rows=True) as conn:
            row = conn.execute("SELECT * FROM triage WHERE profile = ? AND finding_id = ?",
                               [profile, finding_id]).fetchone()
            change = Change(_triage(dict(row)) if row is not None else default)
            yield change
            if change.new is not None:
                _write(conn, profile, change.new)

    def close_missing(self, profile: str, present: set[str], when: str) -> list[Triage]:
        """Exceptions a refresh no longer finds: closed, and handed back to be audited.
        One transaction, so an operator's change made meanwhile is not overwritten."""
        def closing(t: Triage) -> Triage | None:
            if t.finding_id in present or t.state == "closed":
                return None
            return replace(t, state="closed", updated_at=_now(),
                           closed_reason=f"no longer found by the check of {when}")
        return self._change_all(profile, closing)

    def reopen_present(self, profile: str, present: set[str], when: str) -> list[Triage]:
        """Exceptions closed because a check no longer found them, found again: open."""
        def reopening(t: Triage) -> Triage | None:
            if (t.finding_id in present and t.state == "closed"
                    and (t.closed_reason or "").startswith("no longer found")):
                return replace(t, state="new", closed_reason=None, updated_at=_now())
            return None
        return self._change_all(profile, reopening)

    def _change_all(self, profile: str, change: Callable[[Triage], Triage | None]
                    ) -> list[Triage]:
        """`change` over every row of a profile, in one write transaction; the changed."""
        changed = []
        with write_transaction(self.path, rows=True) as conn:
            for row in conn.execute("SELECT * FROM triage WHERE profile = ?",
                                    [profile]).fetchall():
                new = change(_triage(dict(row)))
                if new is not None:
                    _write(conn, profile, new)
                    changed.append(new)
        return changed


def _wal(conn: sqlite3.Connection) -> None:
    """Switching a new file to WAL answers "locked" at once, without the busy wait, while
    another process opens the same new file (ten `act triage` at once): retry for as long
    as a write would wait."""
    deadline = time.monotonic() + 30
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _write(conn: sqlite3.Connection, profile: str, triage: Triage) -> None:
    values = triage.to_json()
    values["tags"] = json.dumps(values["tags"])
    values["updated_at"] = values["updated_at"] or _now()
    values = {"profile": profile, **values}
    names = ", ".join(f"[{k}]" for k in values)
    conn.execute(f"INSERT OR REPLACE INTO triage ({names}) VALUES "
                 f"({', '.join('?' for _ in values)})", list(values.values()))


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _triage(row: dict) -> Triage:
    tags = json.loads(row.get("tags") or "[]")
    return Triage(finding_id=row["finding_id"], return_ref=row["return_ref"] or "",
                  code=row["code"] or "", state=row["state"] or "new",
                  snoozed_until=row.get("snoozed_until"), assignee=row.get("assignee"),
                  note=row.get("note"), tags=tuple(tags), updated_at=row.get("updated_at"),
                  closed_reason=row.get("closed_reason"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

"""Each exception's triage state (acknowledged, snoozed, assigned, noted, tagged, closed),
per profile, keyed by the finding's stable id so it follows the exception across refreshes.
Kept next to the audit log (the audit log says who changed it and when; this says what it is
now)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

STATES = ("new", "acknowledged", "snoozed", "closed")


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


class TriageStore:
    """One small table; a connection per call, so any thread may use it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db["triage"].create(
                {"profile": str, "finding_id": str, "return_ref": str, "code": str,
                 "state": str, "snoozed_until": str, "assignee": str, "note": str,
                 "tags": str, "updated_at": str, "closed_reason": str},
                pk=("profile", "finding_id"), if_not_exists=True)

    def _db(self) -> _Connection:
        return _Connection(self.path)

    def all(self, profile: str) -> dict[str, Triage]:
        with self._db() as db:
            rows = db["triage"].rows_where("profile = ?", [profile])
            return {r["finding_id"]: _triage(r) for r in rows}

    def get(self, profile: str, finding_id: str) -> Triage | None:
        with self._db() as db:
            rows = list(db["triage"].rows_where("profile = ? and finding_id = ?",
                                                [profile, finding_id]))
        return _triage(rows[0]) if rows else None

    def put(self, profile: str, triage: Triage) -> None:
        row = triage.to_json()
        row["tags"] = json.dumps(row["tags"])
        row["updated_at"] = row["updated_at"] or _now()
        with self._db() as db:
            db["triage"].upsert({"profile": profile, **row}, pk=("profile", "finding_id"))

    def close_missing(self, profile: str, present: set[str], when: str) -> list[Triage]:
        """Exceptions a refresh no longer finds: closed, and handed back to be audited."""
        closed = []
        for ident, triage in self.all(profile).items():
            if ident in present or triage.state == "closed":
                continue
            done = replace(triage, state="closed", updated_at=_now(),
                           closed_reason=f"no longer found by the check of {when}")
            self.put(profile, done)
            closed.append(done)
        return closed


    def reopen_present(self, profile: str, present: set[str], when: str) -> list[Triage]:
        """Exceptions closed because a check no longer found them, found again: open."""
        back = []
        for ident, triage in self.all(profile).items():
            if (ident in present and triage.state == "closed"
                    and (triage.closed_reason or "").startswith("no longer found")):
                again = replace(triage, state="new", closed_reason=None, updated_at=_now())
                self.put(profile, again)
                back.append(again)
        return back


class _Connection:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> sqlite_utils.Database:
        conn = sqlite3.connect(self.path, timeout=30)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.conn.commit()
        self.db.conn.close()


def _triage(row: dict) -> Triage:
    tags = json.loads(row.get("tags") or "[]")
    return Triage(finding_id=row["finding_id"], return_ref=row["return_ref"] or "",
                  code=row["code"] or "", state=row["state"] or "new",
                  snoozed_until=row.get("snoozed_until"), assignee=row.get("assignee"),
                  note=row.get("note"), tags=tuple(tags), updated_at=row.get("updated_at"),
                  closed_reason=row.get("closed_reason"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

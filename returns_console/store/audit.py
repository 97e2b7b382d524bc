"""The audit log of operator actions: who did what, to which return, what was sent, and how
it ended (spec section 3: "Nothing is changed without a row").

Append-only and tamper-evident. Every row carries `hash = sha256(prev_hash + canonical JSON
of its other columns)`, so an edited row, a deleted row or a deleted tail shows up in
`verify()`. The tail is anchored twice, in `audit_head` (same transaction as the row) and in
the file `<db>.head` next to the database, because deleting the last row leaves no hole in
the chain itself. Triggers refuse UPDATE and DELETE on `audit` for anyone going through
SQLite casually; the hash chain is what catches someone who drops them.

What this is not: protection against someone who studies the scheme and rewrites the chain
and both anchors. Exports kept elsewhere are the answer to that.

Concurrency: each call opens its own connection (30 s busy timeout) and closes it, and every
append reads the last hash, inserts and moves both anchors inside one `BEGIN IMMEDIATE`
transaction, so two processes (console and cron) or two worker threads never fork the chain
or lose a row. One AuditLog may therefore be shared by threads; the TUI may equally create
one per worker call, it costs nothing to build. 1,000 appends take about 2 s (two fsyncs
each: the row and the head file).

Plain `sqlite3` (sqlite-utils cost every process start 120 ms to import): the schema
statements below are the ones sqlite-utils wrote, character for character, so a log it
created opens unchanged, and one created now is the same file it would have made.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import hmac
import io
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from ..redaction import redact, redact_value

COLUMNS = ("seq", "at", "operator", "profile", "systems", "return_ref", "action", "parameters",
           "before", "after", "request", "outcome", "erp_record_id", "error", "completes",
           "batch", "prev_hash", "hash")
JSON_COLUMNS = frozenset({"parameters", "before", "after", "request"})
PENDING = "pending"
#: A deferred write: the ERP has the change but takes it up later (a channel that collects
#: it on its schedule). Completes its pending row; a final outcome completes it in turn,
#: once the ERP is seen to take the change up (or refuse it).
HANDED_OVER = "handed_over"
FINAL_OUTCOMES = ("succeeded", "failed", "refused", "resolved")
GENESIS = "0" * 64
#: The prefix of a keyed row's hash (HMAC-SHA256 with the audit key).
KEYED = "k1:"
BUSY_TIMEOUT_S = 30.0

# Never written, whatever a caller passes in `request`: headers by name, keys by substring.
_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key",
                           "api_key", "apikey", "cookie", "set-cookie"})
_SECRET_PARTS = ("secret", "password", "passwd", "token")
_URL_KEYS = frozenset({"path", "url"})

# As sqlite-utils created them (`CREATE ... IF NOT EXISTS` is stored without the clause).
_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS "audit" (\n   "seq" INTEGER PRIMARY KEY,\n'
    '   "at" TEXT NOT NULL,\n   "operator" TEXT NOT NULL,\n   "profile" TEXT NOT NULL,\n'
    '   "systems" TEXT NOT NULL,\n   "return_ref" TEXT,\n   "action" TEXT NOT NULL,\n'
    '   "parameters" TEXT NOT NULL,\n   "before" TEXT,\n   "after" TEXT,\n'
    '   "request" TEXT,\n   "outcome" TEXT NOT NULL,\n   "erp_record_id" TEXT,\n'
    '   "error" TEXT,\n   "completes" INTEGER,\n   "batch" TEXT,\n'
    '   "prev_hash" TEXT NOT NULL,\n   "hash" TEXT NOT NULL\n)',
    'CREATE TABLE IF NOT EXISTS "audit_head" (\n   "id" INTEGER PRIMARY KEY,\n'
    '   "seq" INTEGER NOT NULL,\n   "hash" TEXT NOT NULL\n)',
    'CREATE INDEX IF NOT EXISTS "idx_audit_completes"\n    ON "audit" ("completes")',
    'CREATE INDEX IF NOT EXISTS "idx_audit_return_ref"\n    ON "audit" ("return_ref")',
)
_SCHEMA_EXTRAS = (
    # The guard for casual edits (a DB browser, a script); the hash chain catches the rest.
    "CREATE TRIGGER IF NOT EXISTS audit_append_only_edit BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_append_only_remove BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)
_INSERT = (f"INSERT INTO audit ({', '.join(f'[{c}]' for c in COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in COLUMNS)})")
_SET_HEAD = "INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row as written; the JSON columns parsed. `at` stays the stored text, e.g.
    "2026-11-21T10:00:00Z" (UTC, to the second)."""

    seq: int
    at: str
    operator: str
    profile: str
    systems: str
    return_ref: str | None
    action: str
    parameters: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request: dict[str, Any] | None
    outcome: str
    erp_record_id: str | None
    error: str | None
    completes: int | None
    batch: str | None
    prev_hash: str
    hash: str


@dataclass(slots=True)
class Verification:
    """What `verify()` found: one plain sentence per problem, none when the log is whole."""

    ok: bool
    rows: int
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Head:
    seq: int
    hash: str
    prev_hash: str | None = None


class AuditKeyMissing(RuntimeError):
    """Appending to a keyed log without its key: refused, as an unkeyed row after keyed
    ones is what a rewrite looks like."""


class AuditLog:
    """The audit log in one SQLite file (WAL). Holds no connection between calls."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] | None = None,
                 key: bytes | None = None, adopt: bool = True) -> None:
        """`clock` is for tests; rows are stamped in UTC, to the second. With `key`, every
        row appended is keyed (HMAC), so rewriting the chain needs the key as well as the
        file; the first keyed row vouches for the unkeyed rows before it."""
        self.path = Path(path)
        self.key = key
        self.head_path = head_path(self.path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            _enable_wal(conn)
            # Under the write lock: two processes creating the same new file must not meet
            # halfway (a statement that reads the schema, then writes, is refused at once).
            conn.execute("BEGIN IMMEDIATE")
            try:
                _create_schema(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        if key is not None and adopt:  # verifying writes nothing
            self._adopt_key()

    def _adopt_key(self) -> None:
        """A key on a log that is not keyed at its end: one keyed row now says "keyed from
        here" and vouches for every row before it, so that, where a key exists, a log not
        keyed at its end can only be a rewrite made without the key."""
        tail = self.head()
        if tail is None or is_keyed(tail[1]):
            return
        self.record(operator="returns-console", profile="-", systems="-", return_ref=None,
                    action="audit_key", parameters={"keyed_after_row": tail[0]},
                    outcome="succeeded")

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between calls; this only stops further use."""
        self._closed = True

    # -- writing --------------------------------------------------------------------------

    def begin(self, *, operator: str, profile: str, systems: str, return_ref: str | None,
              action: str, parameters: dict[str, Any], before: dict[str, Any] | None = None,
              request: dict[str, Any] | None = None, batch: str | None = None) -> int:
        """Before an action is sent: a `pending` row. Returns its seq for `complete()`."""
        return self._append(lambda _db: {
            "operator": operator, "profile": profile, "systems": systems,
            "return_ref": return_ref, "action": action, "parameters": parameters,
            "before": before, "after": None, "request": request, "outcome": PENDING,
            "erp_record_id": None, "error": None, "completes": None, "batch": batch})

    def complete(self, seq: int, *, outcome: str, after: dict[str, Any] | None = None,
                 erp_record_id: str | None = None, error: str | None = None,
                 operator: str | None = None) -> int:
        """The outcome of pending row `seq`, as a new row (rows are never changed). Who,
        where and what are copied from that row; `operator` names someone else resolving
        it (e.g. after a crash). A pending row may first be `handed_over` (a deferred
        write); that row then takes the final outcome."""
        if outcome != HANDED_OVER:
            _check_outcome(outcome)

        def fields(conn: sqlite3.Connection) -> dict[str, Any]:
            rows = list(_query(conn, "SELECT * FROM audit WHERE seq = ?", [seq]))
            if not rows:
                raise ValueError(f"no audit row {seq} to complete")
            started = rows[0]
            if started["outcome"] == HANDED_OVER and outcome == HANDED_OVER:
                raise ValueError(f"audit row {seq} was already handed over")
            if started["outcome"] not in (PENDING, HANDED_OVER):
                raise ValueError(f"audit row {seq} is {started['outcome']}, not pending")
            done = list(_query(conn, "SELECT seq FROM audit WHERE completes = ? LIMIT 1",
                               [seq]))
            if done:
                raise ValueError(f"audit row {seq} was already completed by row "
                                 f"{done[0]['seq']}")
            return {"operator": operator or started["operator"], "profile": started["profile"],
                    "systems": started["systems"], "return_ref": started["return_ref"],
                    "action": started["action"], "parameters": {}, "before": None,
                    "after": after, "request": None, "outcome": outcome,
                    "erp_record_id": erp_record_id, "error": error, "completes": seq,
                    "batch": started["batch"]}

        return self._append(fields)

    def record(self, *, operator: str, profile: str, systems: str, return_ref: str | None,
               action: str, parameters: dict[str, Any], outcome: str,
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
               request: dict[str, Any] | None = None, erp_record_id: str | None = None,
               error: str | None = None, batch: str | None = None) -> int:
        """One finished row where nothing was pending: a refusal (nothing sent), a local
        step recorded after the fact (auto-close); or a deferred write's `handed_over` whose
        pending row another process settled first (it then awaits pickup as any other)."""
        if outcome != HANDED_OVER:
            _check_outcome(outcome)
        return self._append(lambda _db: {
            "operator": operator, "profile": profile, "systems": systems,
            "return_ref": return_ref, "action": action, "parameters": parameters,
            "before": before, "after": after, "request": request, "outcome": outcome,
            "erp_record_id": erp_record_id, "error": error, "completes": None,
            "batch": batch})

    def _append(self, build: Callable[[sqlite3.Connection], dict[str, Any]]) -> int:
        """Read the tail, insert, move both anchors: one write transaction, so concurrent
        writers queue on the lock instead of forking the chain. The head file is replaced
        before COMMIT, under the lock, so writers never overwrite it out of order; a kill
        between the two leaves it one row ahead of a tail it still names (its prev_hash),
        which `verify()` recognises as an unfinished write, not a deletion."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                values = build(conn)
                _check_text(values, ("operator", "profile", "systems", "action"))
                if not isinstance(values["parameters"], dict):
                    raise TypeError("parameters must be a dict")
                # No credential is ever stored, whatever a server echoed into an error or a
                # record, or a caller passed in: by name, by shape (bearer, basic, JWT ...).
                values["request"] = redact_value(_without_secrets(values["request"]))
                for name in ("before", "after"):
                    values[name] = redact_value(_without_secrets(values[name]))
                values["parameters"] = redact_value(values["parameters"])
                if values["error"] is not None:
                    values["error"] = redact(str(values["error"]))
                prev = _continue_from(*_tail_and_heads(conn, self.head_path))
                row: dict[str, Any] = {"seq": prev.seq + 1, "at": _stamp(self._clock())}
                for name in COLUMNS[2:-2]:
                    value = values[name]
                    row[name] = _canonical(value) if name in JSON_COLUMNS and (
                        value is not None) else value
                if self.key is None and is_keyed(prev.hash):
                    raise AuditKeyMissing(
                        f"the audit log {self.path} is keyed, and its key is not at hand: "
                        "set RETURNS_CONSOLE_AUDIT_KEY or restore it in the OS keyring; "
                        "nothing was written")
                row["prev_hash"] = prev.hash
                row["hash"] = row_hash(row, self.key)
                conn.execute(_INSERT, [row[c] for c in COLUMNS])
                conn.execute(_SET_HEAD, [row["seq"], row["hash"]])
                _write_head_file(self.head_path, _Head(row["seq"], row["hash"], prev.hash))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return row["seq"]

    # -- reading --------------------------------------------------------------------------

    def head(self) -> tuple[int, str] | None:
        """The last row's (seq, hash), None when the log is empty."""
        with self._connect() as conn:
            rows = list(_query(conn, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
        return (rows[0]["seq"], rows[0]["hash"]) if rows else None

    def hash_of(self, seq: int) -> str | None:
        """Row `seq`'s hash, None when there is no such row."""
        with self._connect() as conn:
            rows = list(_query(conn, "SELECT hash FROM audit WHERE seq = ?", [seq]))
        return rows[0]["hash"] if rows else None

    def open_pending(self) -> list[AuditEntry]:
        """Pending rows no row completes: actions a crash (or a kill) left without an
        outcome, to be resolved by asking the ERP what happened."""
        with self._connect() as conn:
            return [_entry(r) for r in _query(
                conn, "SELECT * FROM audit AS a WHERE a.outcome = ? AND NOT EXISTS "
                "(SELECT 1 FROM audit AS c WHERE c.completes = a.seq) ORDER BY a.seq",
                [PENDING])]

    def awaiting_pickup(self) -> list[AuditEntry]:
        """Deferred writes the ERP has not been seen to take up yet: `handed_over` rows no
        row completes."""
        with self._connect() as conn:
            return [_entry(r) for r in _query(
                conn, "SELECT * FROM audit AS a WHERE a.outcome = ? AND NOT EXISTS "
                "(SELECT 1 FROM audit AS c WHERE c.completes = a.seq) ORDER BY a.seq",
                [HANDED_OVER])]

    def entries(self, *, since: datetime | None = None, return_ref: str | None = None,
                action: str | None = None, outcome: str | None = None,
                limit: int | None = None) -> list[AuditEntry]:
        """Rows matching every filter given, oldest first. `since` is inclusive (a naive
        time is UTC); `limit` keeps the NEWEST `limit` matches (a view of the latest
        actions), still returned oldest first."""
        where: list[str] = []
        args: list[str | int] = []
        for column, value in (("return_ref", return_ref), ("action", action),
                              ("outcome", outcome)):
            if value is not None:
                where.append(f"[{column}] = ?")
                args.append(value)
        if since is not None:
            where.append("at >= ?")
            args.append(_stamp(since if since.tzinfo else since.replace(tzinfo=UTC)))
        sql = "SELECT * FROM audit" + (f" WHERE {' AND '.join(where)}" if where else "")
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?)"
            args.append(max(limit, 0))
        with self._connect() as conn:
            return [_entry(r) for r in _query(conn, sql + " ORDER BY seq", args)]

    def verify(self) -> Verification:
        """Recompute the chain and compare its tail with both anchors."""
        with self._connect() as conn:
            # The tail and its anchors under the write lock, so no append is half-seen;
            # the walk after needs no lock: rows up to that tail never change.
            conn.execute("BEGIN IMMEDIATE")
            try:
                last, table, file_head, file_error = _tail_and_heads(conn, self.head_path)
            finally:
                conn.execute("ROLLBACK")
            problems, rows = _walk(_query(conn, "SELECT * FROM audit WHERE seq <= ? ORDER BY "
                                          "seq", [last.seq]), self.key)
        if self.key is not None and rows and not is_keyed(last.hash):
            problems.append(f"the log is not keyed at its end (row {last.seq}), yet there is "
                            "an audit key: rewritten without it? (Or the key is new here: the "
                            "next action keys the log from its end, and verify passes then.)")
        problems += _head_problems(last, rows, table, file_head, file_error, self.head_path)
        return Verification(ok=not problems, rows=rows, problems=problems)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call: no connection crosses threads, and none is left
        holding the file. FULL sync: a row the action was sent on must survive a power cut.
        Recursive triggers on, as sqlite-utils set them: the append-only triggers then fire
        for a row an `INSERT OR REPLACE` would delete too."""
        if self._closed:
            raise ValueError(f"the audit log {self.path} was closed")
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA recursive_triggers=on")
            yield conn
        finally:
            conn.close()


# -- helpers other layers use -----------------------------------------------------------


def head_path(db_path: Path) -> Path:
    """The file anchoring the tail of the log at `db_path`."""
    return db_path.with_name(db_path.name + ".head")


def verify_file(path: Path, key: bytes | None = None) -> Verification | None:
    """`verify()` without creating anything: None when there is no log and never was one;
    a problem when the database is gone but its head file says it had rows."""
    if path.exists():
        with AuditLog(path, key=key, adopt=False) as log:
            return log.verify()
    head, error = _read_head_file(head_path(path))
    if head is None and error is None:
        return None
    said = (f"it had {head.seq} rows" if head is not None
            else f"it existed ({error})")
    return Verification(False, 0, [f"the audit log {path} is missing, but its head file "
                                   f"says {said} (deleted?)"])


def current_operator(configured: str | None) -> str:
    """Who is acting: the config's `operator`, else the OS user, else "unknown" (a
    container without a passwd entry must still be able to act and be audited)."""
    if configured and configured.strip():
        return configured.strip()
    try:
        name = getpass.getuser()
    except Exception:  # KeyError or OSError, by platform and Python version
        return "unknown"
    return name.strip() or "unknown"


def export_rows(entries: Iterable[AuditEntry], fmt: Literal["csv", "json"]) -> str:
    """Every column. CSV: a header row, JSON columns as JSON text, null as an empty cell.
    JSON: a list of objects with the JSON columns as values."""
    if fmt == "json":
        rows = [{c: getattr(e, c) for c in COLUMNS} for e in entries]
        return json.dumps(rows, indent=2, ensure_ascii=False, default=_plain) + "\n"
    if fmt != "csv":
        raise ValueError(f"export format {fmt!r}: csv or json")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow([_cell(c, getattr(e, c)) for c in COLUMNS])
    return out.getvalue()


def row_hash(row: dict[str, Any], key: bytes | None = None) -> str:
    """sha256 of prev_hash + the canonical JSON of every other column, as stored; with a
    key, `k1:` + its HMAC-SHA256 instead, which only the key's holder can compute."""
    body = {c: row[c] for c in COLUMNS if c not in ("prev_hash", "hash")}
    text = (row["prev_hash"] + _canonical(body)).encode()
    if key is None:
        return hashlib.sha256(text).hexdigest()
    return KEYED + hmac.new(key, text, hashlib.sha256).hexdigest()


def is_keyed(digest: str | None) -> bool:
    return bool(digest) and str(digest).startswith(KEYED)


# -- internals ---------------------------------------------------------------------------


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switching a new file to WAL answers "locked" at once, without the busy wait, while
    another process opens the same new file: retry for as long as a write would wait. (A
    file already in WAL is left as it is, without asking for the mode again.)"""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=wal")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _create_schema(conn: sqlite3.Connection) -> None:
    """Inside the caller's write transaction."""
    for statement in (*_SCHEMA, *_SCHEMA_EXTRAS):
        conn.execute(statement)


def _query(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()
           ) -> Iterator[dict[str, Any]]:
    """Rows as dicts by column name, fetched as they are iterated."""
    cursor = conn.execute(sql, tuple(params))
    names = [d[0] for d in cursor.description]
    return (dict(zip(names, row, strict=True)) for row in cursor)


def _check_outcome(outcome: str) -> None:
    if outcome not in FINAL_OUTCOMES:
        raise ValueError(f"outcome {outcome!r}: one of {', '.join(FINAL_OUTCOMES)}")


def _check_text(values: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if not isinstance(values[name], str) or not values[name].strip():
            raise ValueError(f"an audit row needs a non-empty {name}")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """JSON for what actions carry: Decimal money as text, never float."""
    if isinstance(value, Decimal | UUID | Path):
        return str(value)
    if isinstance(value, datetime):
        return _stamp(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} cannot go into the audit log as JSON")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_plain)


def _without_secrets(value: Any) -> Any:
    """The caller passes a request without secrets; this makes sure of it."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            name = str(key).lower()
            if name in _SECRET_NAMES or any(part in name for part in _SECRET_PARTS):
                continue
            if name in _URL_KEYS and isinstance(item, str):
                kept[key] = _url_without_secrets(item)
            else:
                kept[key] = _without_secrets(item)
        return kept
    if isinstance(value, list | tuple):
        return [_without_secrets(item) for item in value]
    return value


def _url_without_secrets(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in _SECRET_NAMES
            and not any(part in k.lower() for part in _SECRET_PARTS)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept, safe="$,()'")))


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(**{c: json.loads(row[c]) if c in JSON_COLUMNS and row[c] is not None
                         else row[c] for c in COLUMNS})


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in JSON_COLUMNS:
        return _canonical(value)
    return str(value)


def _read_head_file(path: Path) -> tuple[_Head | None, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _Head(int(data["seq"]), str(data["hash"]), data.get("prev_hash")), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _write_head_file(path: Path, head: _Head) -> None:
    """Atomic (temp file + os.replace) and synced. Only ever called under the write lock,
    so one temp name will do."""
    temp = path.with_name(path.name + ".tmp")
    data = {"seq": head.seq, "hash": head.hash, "prev_hash": head.prev_hash}
    with open(temp, "w", encoding="utf-8") as out:
        out.write(json.dumps(data) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def _tail_and_heads(conn: sqlite3.Connection, file: Path
                    ) -> tuple[_Head, _Head | None, _Head | None, str | None]:
    """The last row (seq 0 and the genesis hash when empty), the head record, the head file
    and why the head file could not be read."""
    rows = list(_query(conn, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
    last = _Head(rows[0]["seq"], rows[0]["hash"]) if rows else _Head(0, GENESIS)
    heads = list(_query(conn, "SELECT seq, hash FROM audit_head WHERE id = 1"))
    table = _Head(heads[0]["seq"], heads[0]["hash"]) if heads else None
    return (last, table, *_read_head_file(file))


def _unfinished(file_head: _Head | None, last: _Head, table: _Head | None) -> bool:
    """The head file names the row after the tail and links to it, and the head record
    agrees with the tail: a write killed between the head file and COMMIT."""
    table_ok = table == _Head(last.seq, last.hash) or (table is None and last.seq == 0)
    return (file_head is not None and table_ok and file_head.seq == last.seq + 1
            and file_head.prev_hash == last.hash)


def _continue_from(last: _Head, table: _Head | None, file_head: _Head | None,
                   _error: str | None) -> _Head:
    """Where the next row links on. Normally the last row; but when an anchor is ahead of
    it (rows deleted from the end) the numbering goes on after the anchor, so the hole
    stays visible to `verify()` instead of being papered over by the next append."""
    ahead = [h for h in (table, file_head) if h is not None and h.seq > last.seq]
    if file_head in ahead and _unfinished(file_head, last, table):
        ahead.remove(file_head)
    return max([last, *ahead], key=lambda h: h.seq)


def _walk(rows: Iterable[dict[str, Any]], key: bytes | None = None
          ) -> tuple[list[str], int]:
    problems: list[str] = []
    count, prev = 0, _Head(0, GENESIS)
    keyed_from: int | None = None
    for row in rows:
        count += 1
        seq = row["seq"]
        if seq > prev.seq + 1:
            problems.append(_missing(prev.seq + 1, seq - 1))
        elif row["prev_hash"] != prev.hash:
            problems.append(
                "row 1 does not start the chain (its link to a previous row is set)"
                if seq == 1 else
                f"row {seq} does not link to row {prev.seq} (rows deleted and the rest "
                f"renumbered, or row {prev.seq} rewritten?)")
        keyed = is_keyed(row["hash"])
        if keyed and keyed_from is None:
            keyed_from = seq
        if keyed and key is None:
            if keyed_from == seq:
                problems.append(f"rows from {seq} on are keyed: verifying them needs the audit "
                                "key (RETURNS_CONSOLE_AUDIT_KEY or the OS keyring)")
            prev = _Head(seq, row["hash"])
            continue
        if not keyed and keyed_from is not None:
            problems.append(f"row {seq} is not keyed, after keyed rows: written without the "
                            "key (the log rewritten?)")
        try:
            intact = row_hash(row, key if keyed else None) == row["hash"]
        except (TypeError, ValueError):
            intact = False
        if not intact:
            problems.append(f"row {seq} was changed after it was written"
                            + (" (or the audit key is not the one it was written with)"
                               if keyed else ""))
        prev = _Head(seq, row["hash"])
    return problems, count


def _missing(first: int, last: int) -> str:
    if first == last:
        return f"row {first} is missing (deleted?)"
    return f"rows {first} to {last} are missing (deleted?)"


def _head_problems(last: _Head, rows: int, table: _Head | None, file_head: _Head | None,
                   file_error: str | None, file: Path) -> list[str]:
    problems = []
    if rows and table is None:
        problems.append("the head record in the database is missing (deleted?)")
    if file_error is not None:
        problems.append(f"the head file {file} cannot be read ({file_error})")
    elif rows and file_head is None:
        problems.append(f"the head file {file} is missing (deleted?)")
    if _unfinished(file_head, last, table):
        file_head = None
    named: dict[tuple[int, str], list[str]] = {}
    for head, name in ((table, "the head record"), (file_head, "the head file")):
        if head is not None and (head.seq, head.hash) != (last.seq, last.hash):
            named.setdefault((head.seq, head.hash), []).append(name)
    for (seq, _hash), names in named.items():
        who = " and ".join(names)
        says = "say" if len(names) > 1 else "says"
        if seq > last.seq:
            problems.append(f"{_missing(last.seq + 1, seq)}: the log ends at row {last.seq}, "
                            f"but {who} {says} it ends at row {seq}")
        elif seq == last.seq:
            problems.append(f"row {seq} was changed after it was written ({who} {says} it "
                            "had another hash)")
        else:
            problems.append(f"{who} {says} the log ends at row {seq}, but it goes on to row "
                            f"{last.seq} (rows added by another program?)")
    return problems

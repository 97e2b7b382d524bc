"""The last good data per profile and side, so a source that is down is shown stale, not
empty. One row per (profile, side) holding the canonical views, problems, master data and
raw payloads as JSON columns, with the time they were fetched and the incremental cursor.

JSON goes through pydantic-core (Rust) both ways, views validated straight from their column;
a full ERP read's pages are kept as the bytes the ERP sent (table `pages`), so a check never
serialises its records again: a cache of 10,000 returns saves and loads in about a second.

Plain `sqlite3` (sqlite-utils cost every process start 120 ms to import). The tables are
created with the statements sqlite-utils wrote, character for character, and a cache an older
version made is upgraded as sqlite-utils did: `paged` added when opened, any other column a
write names added by that write (the `alter=True` of its upserts), in the same transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import from_json, to_json

from ..connectors.base import ErpBatch, PlatformBatch
from ..domain.model import ErpView, PayloadProblem, PlatformView
from ..domain.pace import breathe
from ..domain.reference import ErpMaster
from . import forked
from .records import INDEXED, ordered


@cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    """Made when first read: building the five cost 80 ms at import, and the console's
    first frame needs only the report (`load_report`), not the sources."""
    return TypeAdapter({"views": list[PlatformView], "erp_views": dict[str, ErpView],
                        "problems": dict[str, list[PayloadProblem]], "notices": list[str],
                        "unseen": ErpView}[kind])



# As sqlite-utils created them (`CREATE ... IF NOT EXISTS` is stored without the clause).
_SOURCES = (
    'CREATE TABLE IF NOT EXISTS "sources" (\n   "profile" TEXT,\n   "side" TEXT,\n'
    '   "system" TEXT,\n   "fetched_at" TEXT,\n   "cursor" TEXT,\n   "views" TEXT,\n'
    '   "problems" TEXT,\n   "raw" TEXT,\n   "master" TEXT,\n   "notices" TEXT,\n'
    '   "unseen" TEXT,\n   "source" TEXT,\n   "paged" INTEGER,\n'
    '   PRIMARY KEY ("profile", "side")\n)')
_PAGES = (
    'CREATE TABLE IF NOT EXISTS "pages" (\n   "profile" TEXT,\n   "side" TEXT,\n'
    '   "n" INTEGER,\n   "entity" TEXT,\n   "body" BLOB,\n'
    '   PRIMARY KEY ("profile", "side", "n")\n)')
#: Made by the first report saved (a cache without it has no report).
_REPORTS = ('CREATE TABLE IF NOT EXISTS "reports" (\n   "profile" TEXT PRIMARY KEY,\n'
            '   "report" TEXT\n)')
#: Platform raw records per stored chunk (each parsed in one call that holds the interpreter:
#: about 15 ms here).
RAW_CHUNK = 500
#: The type sqlite-utils gave a column it added for a value of this type (else TEXT).
_KINDS: dict[type, str] = {int: "INTEGER", bool: "INTEGER", float: "FLOAT", bytes: "BLOB"}


def _json(value: Any) -> str:
    return to_json(value).decode()


#: How many `Cache` objects of this process have each file open (a writer is forked only
#: from the one: see `Cache.fork`).
_OPEN: dict[Path, int] = {}


class Cache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._key = path.resolve()
        _OPEN[self._key] = _OPEN.get(self._key, 0) + 1
        self._writers: list[threading.Thread] = []
        self._children: list[forked.Child] = []
        self._errors: list[BaseException] = []
        self.conn = _open(path)
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode=wal")
        self.conn.execute(_SOURCES)
        # A cache an older version made has no `paged` column.
        if "paged" not in _columns(self.conn, "sources"):
            _add_column(self.conn, "sources", "paged", "INTEGER")
        self.conn.execute(_PAGES)

    def close(self) -> list[str]:
        """Finish writing and close; what could not be written comes back as warnings (a
        cache that failed to update must not cost the check its answer)."""
        try:
            self.wait()
            return []
        except (sqlite3.Error, OSError, ValueError) as exc:
            return [f"the local cache was not updated: {type(exc).__name__}: {exc}"]
        finally:
            self.conn.close()
            _OPEN[self._key] = _OPEN.get(self._key, 1) - 1

    def save_later(self, side: str, profile: str, system: str,
                   batch: PlatformBatch | ErpBatch, *, views: bool = True,
                   source: str | None = None) -> None:
        """Write beside the caller (its own connection) while it goes on reconciling;
        `wait()` or `close()` finishes it."""

        def write() -> None:
            other = Cache.__new__(Cache)
            other.path, other._writers, other._errors = self.path, [], []
            other._children, other._key = [], self._key
            other.conn = _open(self.path)
            try:
                if side == "platform":
                    # The caller names the side its batch comes from (services/live.py).
                    assert isinstance(batch, PlatformBatch)
                    other.save_platform(profile, system, batch, views=views, source=source)
                else:
                    assert isinstance(batch, ErpBatch)
                    other.save_erp(profile, system, batch, views=views, source=source)
            finally:
                other.conn.close()

        self._later(f"{profile}:{side}", write)

    def connect(self) -> sqlite3.Connection:
        """A connection of its own to this cache (another thread's or process's)."""
        return _open(self.path)

    def warn(self, error: BaseException) -> None:
        """A failure to report as `close()` reports a background write's."""
        self._errors.append(error)

    def run_later(self, name: str, work: Callable[[sqlite3.Connection], None]) -> None:
        """`work` on a connection of its own beside the caller, like `save_later`;
        `wait()` or `close()` finishes it and reports its failure."""

        def run() -> None:
            conn = _open(self.path)
            try:
                work(conn)
            finally:
                conn.close()

        self._later(name, run)

    def fork(self, work: Callable[[], None]) -> forked.Child | None:
        """`work` (which opens its own connection) in a forked process: the database on
        the second core, not sharing this interpreter with the check. Only where it is
        safe (store/forked.py): this process's one connection to the file is closed across
        the fork and opened again, so the child's SQLite takes its own locks. None where a
        fork is not safe or not made."""
        if (not forked.fork_safe() or _OPEN.get(self._key) != 1
                or self.conn.in_transaction):
            return None
        self.conn.close()
        try:
            return forked.start(work)
        finally:
            self.conn = _open(self.path)

    def _later(self, name: str, work: Callable[[], None]) -> None:
        """`work` in a forked process where that is safe (`fork`), else in a thread of its
        own; a failure is reported by `wait()`, never lost."""
        child = self.fork(work)
        if child is not None:
            self._children.append(child)
            return

        def run() -> None:
            try:
                work()
            except BaseException as exc:
                self._errors.append(exc)

        thread = threading.Thread(target=run, name=f"cache:{name}", daemon=False)
        thread.start()
        self._writers.append(thread)

    def wait(self) -> None:
        """Finish background writes; re-raise the first that failed."""
        while self._writers:
            self._writers.pop().join()
        while self._children:
            code, said = self._children.pop().result()
            if code != 0:
                self._errors.append(sqlite3.OperationalError(
                    (said or "the cache was not written") if code is not None else
                    f"the cache's writer did not finish within {forked.WAIT_S:g} s"))
        if self._errors:
            error, self._errors = self._errors[0], []
            raise error

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction for a row and its pages: a writer in between (a cron
        `check` on the same cache) cannot pair an old row with newer pages."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def _put(self, profile: str, side: str, system: str, batch: PlatformBatch | ErpBatch,
             source: str | None = None, **extra: str | int | None) -> None:
        _upsert(self.conn, "sources",
                {"profile": profile, "side": side, "system": system, "source": source,
                 "fetched_at": batch.fetched_at.isoformat() if batch.fetched_at else None,
                 "cursor": batch.cursor, "views": _json(batch.views),
                 "problems": _json(batch.problems), "raw": _json(batch.raw),
                 **_full_at(batch), **extra},
                pk=("profile", "side"))

    def _get(self, profile: str, side: str, source: str | None = None) -> dict[str, Any] | None:
        rows = _rows(self.conn, 'select * from "sources" where profile = ? and side = ?',
                     [profile, side])
        # A row an older version wrote, without the columns read here, is no cache at all;
        # nor is one read from another system, store or company than the profile names now.
        if not rows or not (rows[0].get("raw") or rows[0].get("paged") == INDEXED):
            return None
        if source is not None and rows[0].get("source") != source:
            return None
        return rows[0]

    def save_platform(self, profile: str, system: str, batch: PlatformBatch, *,
                      views: bool = True, source: str | None = None) -> None:
        """`views=False` keeps only the raw records (the connector parses them again).

        The raw records go in chunks of RAW_CHUNK (table `pages`): one JSON document of
        30,000 records took a second to parse in one call, and the console's keystrokes
        waited that second for the interpreter (a call into Rust does not let go of it)."""
        raw = batch.raw
        batch = PlatformBatch(views=batch.views if views else [],
                              problems=batch.problems if views else {}, raw={},
                              fetched_at=batch.fetched_at, cursor=batch.cursor,
                              full_at=batch.full_at)
        items = list(raw.items())
        with self.conn:  # chunks first, then the row that says to read them (see save_erp)
            self.conn.execute("delete from pages where profile = ? and side = 'platform'",
                              [profile])
            self.conn.executemany(
                "insert into pages (profile, side, n, entity, body) values (?, ?, ?, ?, ?)",
                [(profile, "platform", n, "raw", to_json(dict(items[at:at + RAW_CHUNK])))
                 for n, at in enumerate(range(0, len(items), RAW_CHUNK))])
        self._put(profile, "platform", system, batch, source, paged=1)

    def load_platform(self, profile: str, source: str | None = None) -> PlatformBatch | None:
        with self._snapshot():
            row = self._get(profile, "platform", source)
            if row is None:
                return None
            raw: dict[str, Any] = {}
            if row.get("paged") == INDEXED:
                indexed = self._indexed(profile, "platform")
                if indexed is None:
                    return None
                raw = indexed
            else:
                raw = from_json(row["raw"])
            if row.get("paged") == 1:  # in chunks, each parsed in a call of its own
                for (body,) in self.conn.execute(
                        "select body from pages where profile = ? and side = 'platform' "
                        "order by n", [profile]):
                    breathe()  # a person typing in the console goes first (domain/pace.py)
                    raw.update(from_json(body))
        return PlatformBatch(
            views=_adapter("views").validate_json(row["views"]),
            problems=_adapter("problems").validate_json(row["problems"]),
            raw=raw, fetched_at=_when(row["fetched_at"]), cursor=row["cursor"],
            full_at=_when(row.get("full_at")),
        )

    def save_erp(self, profile: str, system: str, batch: ErpBatch, *,
                 views: bool = True, source: str | None = None) -> None:
        """`views=False` keeps only the raw records (the views are the connector's to
        assemble again from them): a third less to write on every check. A full read's
        pages are kept as the ERP sent them (no record is serialised again)."""
        pages = batch.pages if not views else None
        if not views:
            batch = ErpBatch(master=batch.master, problems=batch.problems,
                             raw={} if pages else batch.raw,
                             fetched_at=batch.fetched_at, cursor=batch.cursor,
                             notices=batch.notices, unseen=batch.unseen,
                             full_at=batch.full_at)
        # Pages first, then the row that says to read them: a crash in between leaves the
        # old row, which either ignores pages or reads newer ones (a cache, not a ledger).
        with self.conn:
            self.conn.execute("delete from pages where profile = ? and side = 'erp'",
                              [profile])
            if pages:
                self.conn.executemany(
                    "insert into pages (profile, side, n, entity, body) values (?, ?, ?, ?, ?)",
                    [(profile, "erp", n, name, body) for n, (name, body) in enumerate(pages)])
        self._put(profile, "erp", system, batch, source,
                  master=batch.master.model_dump_json(), notices=_json(batch.notices),
                  unseen=_json(batch.unseen) if batch.unseen is not None else None,
                  paged=1 if pages else 0)

    def load_erp(self, profile: str, source: str | None = None) -> ErpBatch | None:
        with self._snapshot():
            row = self._get(profile, "erp", source)
            if row is None:
                return None
            pages = None
            if row.get("paged") == INDEXED:
                indexed = self._indexed(profile, "erp")
                if indexed is None:
                    return None
                raw = indexed
            else:
                raw = from_json(row["raw"])
            if row.get("paged") == 1:  # a page at a time (megabytes each), giving way between
                pages = []
                for entity, body in self.conn.execute(
                        "select entity, body from pages where profile = ? and side = 'erp' "
                        "order by n", [profile]):
                    breathe()
                    pages.append((entity, body))
        return ErpBatch(
            pages=pages,
            views=_adapter("erp_views").validate_json(row["views"]),
            master=ErpMaster.model_validate_json(row["master"]),
            problems=_adapter("problems").validate_json(row["problems"]),
            raw=raw, fetched_at=_when(row["fetched_at"]), cursor=row["cursor"],
            full_at=_when(row.get("full_at")),
            notices=_adapter("notices").validate_json(row["notices"] or "[]"),
            unseen=_adapter("unseen").validate_json(row["unseen"]) if row.get("unseen") else None,
        )

    def _indexed(self, profile: str, side: str) -> dict[str, Any] | None:
        """A side's raw records from the record index, in the batch's order (a check
        writing them again does it in one transaction); None without the index's tables."""
        if not self.conn.execute("select 1 from sqlite_master where type = 'table' and "
                                 "name = 'record_seq'").fetchone():
            return None
        raw: dict[str, Any] = {}
        for n, (ref, body) in enumerate(ordered(self.conn, profile, side)):
            if n % RAW_CHUNK == 0:
                breathe()  # a person typing in the console goes first (domain/pace.py)
            raw[ref] = from_json(body)
        return raw

    def save_report(self, profile: str, report: dict[str, Any]) -> None:
        """The last report's findings, as `check --format json` prints them: the console
        opens on them at once, before any source answers."""
        self.conn.execute(_REPORTS)
        _upsert(self.conn, "reports", {"profile": profile, "report": _json(report)},
                pk=("profile",))

    def save_report_after_writes(self, profile: str, report: dict[str, Any]) -> None:
        """`save_report` once the background writes are done (one writer at a time). A
        failure, theirs or its own, is kept for `close()` to warn of: a cache that was not
        updated must not cost the check its answer."""
        try:
            self.wait()
            self.save_report(profile, report)
        except (sqlite3.Error, OSError, ValueError) as exc:
            self._errors.append(exc)

    def load_report(self, profile: str) -> dict[str, Any] | None:
        if not self.conn.execute("select 1 from sqlite_master where type = 'table' and "
                                 "name = 'reports'").fetchone():
            return None
        rows = _rows(self.conn, 'select * from "reports" where profile = ?', [profile])
        return from_json(rows[0]["report"]) if rows else None

    def cursor(self, profile: str, side: str) -> str | None:
        row = self._get(profile, side)
        return row["cursor"] if row else None

    def full_at(self, profile: str, side: str) -> datetime | None:
        """When the side's records were last read whole (None: not known)."""
        row = self._get(profile, side)
        return _when(row.get("full_at")) if row else None


def _full_at(batch: PlatformBatch | ErpBatch) -> dict[str, str]:
    """The column of when the records were last read whole, when known: a write that
    names it adds it to a cache made before it (as every later column was added)."""
    return {"full_at": batch.full_at.isoformat()} if batch.full_at else {}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _open(path: Path) -> sqlite3.Connection:
    """One connection: wait up to 30 s for another writer (overlapping cron runs), and
    NORMAL sync under WAL (a cache can be fetched again; it stays consistent after a crash)."""
    conn = sqlite3.connect(path, timeout=30, check_same_thread=True)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1].lower() for row in conn.execute(f'PRAGMA table_info("{table}")')}


def _add_column(conn: sqlite3.Connection, table: str, name: str, kind: str) -> None:
    conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {kind};')


def _upsert(conn: sqlite3.Connection, table: str, row: dict[str, Any],
            pk: tuple[str, ...], *, begin: bool = True) -> None:
    """Insert `row`, or update the columns it names in the row with its key (the others
    keep their values), in one transaction. A column the table lacks (a cache an older
    version made) is added first, in the same transaction, typed by its value as
    sqlite-utils typed it: its `upsert(..., alter=True)`."""
    if any(row.get(n) is None for n in pk):
        raise ValueError(f"an upsert into {table} needs a value for each of {pk}")
    names = list(row)
    columns = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    key = ", ".join(f'"{n}"' for n in pk)
    sets = ", ".join(f'"{n}" = excluded."{n}"' for n in names if n not in pk)
    sql = (f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) ON CONFLICT({key}) '
           + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING"))
    values = list(row.values())
    if not begin:  # in the caller's transaction
        _upsert_in(conn, table, row, sql, values)
        return
    # IMMEDIATE: the write lock from the start (waiting for another writer as `_open`
    # says), so a column added on the way (`full_at`, the first time) is added under it:
    # the platform's and the ERP's background writers both adding it, each in a deferred
    # transaction begun before the other's ALTER, made the second fail at once ("locked")
    conn.execute("BEGIN IMMEDIATE")
    try:
        _upsert_in(conn, table, row, sql, values)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _upsert_in(conn: sqlite3.Connection, table: str, row: dict[str, Any], sql: str,
               values: list[Any]) -> None:
    """`_upsert`'s statement in the open transaction, adding a missing column first."""
    try:
        conn.execute(sql, values)
    except sqlite3.OperationalError as exc:
        if " column" not in str(exc):
            raise
        have = _columns(conn, table)
        for name, value in row.items():
            if name.lower() not in have:
                _add_column(conn, table, name, _KINDS.get(type(value), "TEXT"))
        conn.execute(sql, values)


def put_indexed(conn: sqlite3.Connection, profile: str, side: str, system: str,
                batch: PlatformBatch | ErpBatch, source: str | None) -> None:
    """The row of a side whose raw records the record index holds (`paged` = INDEXED), in
    the caller's transaction (the one that completes the index): one copy of them."""
    # `raw` empty: a version before the index sees no cache here (it reads everything
    # again), rather than reading `pages` as its own
    row: dict[str, Any] = {
        "profile": profile, "side": side, "system": system, "source": source,
        "fetched_at": batch.fetched_at.isoformat() if batch.fetched_at else None,
        "cursor": batch.cursor, "views": "{}" if isinstance(batch, ErpBatch) else "[]",
        "problems": "{}", "raw": "", "paged": INDEXED, **_full_at(batch)}
    conn.execute("delete from pages where profile = ? and side = ?", [profile, side])
    if isinstance(batch, ErpBatch):
        row.update(master=batch.master.model_dump_json(), notices=_json(batch.notices),
                   unseen=_json(batch.unseen) if batch.unseen is not None else None)
    _upsert(conn, "sources", row, pk=("profile", "side"), begin=False)


def advance_indexed(conn: sqlite3.Connection, profile: str, side: str, cursor: str | None,
                    fetched_at: datetime | None) -> None:
    """A row that points at the index's records moved on with them (a refresh through the
    index), in the caller's transaction."""
    conn.execute("update sources set cursor = ?, fetched_at = ? where profile = ? and "
                 "side = ? and paged = ?",
                 [cursor, fetched_at.isoformat() if fetched_at else None, profile, side,
                  INDEXED])

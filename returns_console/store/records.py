"""An index of the last read, record by record, for `check` processes that refresh it.

The cache (cache.py) keeps each side's read whole: fast to write, but a new process that
refreshes must load, parse and assemble all of it to lay a few changes over it. This index
keeps every raw record in a row of its own, filed under tags its connector chose (its link
keys, and what lets the connector find who refers to whom), and each link key's findings
with the moment they may change (`until`). A refresh then reads only the records of the
keys an incremental read touched, checks only those returns, and takes every other
return's findings from here (services/keyed_check.py).

It has its own cursors and its own notion of the world it was checked against (mappings,
policy, clock, this program's code). A cache row written by a `check` (`paged` = INDEXED)
holds no records of its own but points at these, while they are at least as new as its
cursor; the console's own rows keep their copy. Anything the index cannot vouch for makes
the caller forget it and check everything.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_core import from_json, to_json

# Plain rowid tables: record bodies run to kilobytes (a WITHOUT ROWID table wants small
# rows). A record's place in its batch's order is a row of its own (`record_seq`): a full
# read's order is written again whole, which rewriting every body would make slow.
_TABLES = (
    # `digest`: the body's (`_digest`), so a full read tells what differs without reading
    # every stored body back
    'CREATE TABLE IF NOT EXISTS "records" (id INTEGER PRIMARY KEY, profile TEXT, side TEXT, '
    "ref TEXT, body BLOB, digest BLOB)",
    'CREATE UNIQUE INDEX IF NOT EXISTS "records_ref" ON "records" (profile, side, ref)',
    'CREATE TABLE IF NOT EXISTS "record_seq" (id INTEGER PRIMARY KEY, seq INTEGER)',
    'CREATE TABLE IF NOT EXISTS "record_tags" (tag TEXT, id INTEGER, PRIMARY KEY (tag, id)) '
    "WITHOUT ROWID",
    'CREATE INDEX IF NOT EXISTS "record_tags_id" ON "record_tags" (id)',
    'CREATE TABLE IF NOT EXISTS "outcomes" (profile TEXT, key TEXT, findings BLOB, '
    "until TEXT, counts TEXT, PRIMARY KEY (profile, key))",
    # `writer`: the run whose records these are (a run writes its findings only over its
    # own records: two checks at once must not pair one's findings with the other's reads)
    'CREATE TABLE IF NOT EXISTS "indexed" (profile TEXT PRIMARY KEY, state TEXT, '
    "writer TEXT)",
    # `tagger`: what tagged a side's records (a new version may tag them otherwise);
    # `writer`: the run whose records they are (two checks at once may each write a side)
    'CREATE TABLE IF NOT EXISTS "record_sides" (profile TEXT, side TEXT, tagger TEXT, '
    "writer TEXT, PRIMARY KEY (profile, side))",
)
_LAYOUT = {"records": {"id", "profile", "side", "ref", "body", "digest"},
           "record_seq": {"id", "seq"},
           "record_tags": {"tag", "id"}, "indexed": {"profile", "state", "writer"},
           "record_sides": {"profile", "side", "tagger", "writer"}}
_ALL = ("records", "record_seq", "record_tags", "outcomes", "indexed", "record_sides")
T = TypeVar("T")
#: `paged` of a cache row (store/cache.py `sources`) whose raw records are this index's.
INDEXED = 2
#: SQLite's default limit on the parameters of one statement is 999 on older builds.
_CHUNK = 500


@dataclass(slots=True)
class Outcome:
    """One link key's returns as last checked: their findings (each as `check --format
    json` prints it, plus `since`), when they may change with nothing else changing (None:
    not before its records do), and what they count for the report (records per side,
    unreadable records per side, returns)."""

    key: str
    findings: list[dict[str, Any]]
    until: str | None
    counts: dict[str, int]


class StoredSide:
    """One side's records in the index (connectors read it through `StoredRecords`)."""

    def __init__(self, conn: sqlite3.Connection, profile: str, side: str,
                 notices: list[str]) -> None:
        self.conn, self.profile, self.side = conn, profile, side
        self.notices = notices

    def get(self, refs: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in _chunks(list(dict.fromkeys(refs))):
            marks = ",".join("?" * len(part))
            for ref, body in self.conn.execute(
                    f"select ref, body from records where profile = ? and side = ? "
                    f"and ref in ({marks})", [self.profile, self.side, *part]):
                out[ref] = from_json(body)
        return out

    def tagged(self, tags: Iterable[str]) -> list[tuple[int, str, Any]]:
        found: dict[str, tuple[int, str, Any]] = {}
        for part in _chunks(list(dict.fromkeys(tags))):
            marks = ",".join("?" * len(part))
            self._found(f"tag in ({marks})", part, found)
        return sorted(found.values(), key=lambda row: row[0])

    def tagged_refs(self, tags: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for part in _chunks(list(dict.fromkeys(tags))):
            marks = ",".join("?" * len(part))
            out.update(ref for (ref,) in self.conn.execute(
                f"select r.ref from records r where r.id in (select id from record_tags "
                f"where tag in ({marks})) and +r.profile = ? and +r.side = ?",
                [*part, self.profile, self.side]))
        return out

    def unchanged(self, records: Mapping[str, Any]) -> set[str]:
        # a body is written as to_json writes it (`_write`): the bytes compare
        out: set[str] = set()
        for part in _chunks(list(records)):
            marks = ",".join("?" * len(part))
            out.update(ref for ref, body in self.conn.execute(
                f"select ref, body from records where profile = ? and side = ? "
                f"and ref in ({marks})", [self.profile, self.side, *part])
                if body == to_json(records[ref]))
        return out

    def tagged_between(self, low: str, high: str) -> list[tuple[int, str, Any]]:
        found: dict[str, tuple[int, str, Any]] = {}
        self._found("tag >= ? and tag < ?", [low, high], found)  # a range of the tags' key
        return sorted(found.values(), key=lambda row: row[0])

    def _found(self, where: str, args: list[str],
               found: dict[str, tuple[int, str, Any]]) -> None:
        for seq, ref, body in self.conn.execute(
                # the tags first (their index), then those records (by rowid)
                f"select q.seq, r.ref, r.body from records r join record_seq q "
                f"on q.id = r.id where r.id in (select id from record_tags "
                f"where {where}) and +r.profile = ? and +r.side = ?",
                [*args, self.profile, self.side]):
            if ref not in found:
                found[ref] = (seq, ref, from_json(body))

    def refs(self, prefix: str) -> set[str]:
        # a range over the primary key, not LIKE (which would scan)
        return {ref for (ref,) in self.conn.execute(
            "select ref from records where profile = ? and side = ? and ref >= ? "
            "and ref < ?", [self.profile, self.side, prefix, prefix + "\U0010ffff"])}


class RecordIndex:
    """The index's tables in the cache's database, on the caller's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        for table, columns in _LAYOUT.items():
            have = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
            if have and have != columns:  # another layout (an index is only a cache)
                with conn:
                    for name in _ALL:
                        conn.execute(f'DROP TABLE IF EXISTS "{name}"')
                    # the cache's rows that pointed at the records point at nothing now
                    _demote(conn, "paged = ?", [INDEXED])
                break
        for statement in _TABLES:
            conn.execute(statement)

    def state(self, profile: str) -> dict[str, Any] | None:
        row = self.conn.execute('select state from "indexed" where profile = ?',
                                [profile]).fetchone()
        return from_json(row[0]) if row and row[0] else None

    def side(self, profile: str, side: str, notices: list[str]) -> StoredSide:
        return StoredSide(self.conn, profile, side, notices)

    def forget(self, profile: str) -> None:
        """No index for `profile`: its next check reads and checks everything."""
        with self.conn:
            self.conn.execute('delete from "indexed" where profile = ?', [profile])

    def replace_side(self, profile: str, side: str, raw: dict[str, Any],
                     tags_of: Callable[[str, Any], Iterable[str]], *, writer: str,
                     tagger: str) -> None:
        """One side's records made those of `raw` (raw_ref → record, in the batch's order),
        each filed under the tags `tags_of` gives it, for the run `writer`: the index is
        not usable until that run's `write_outcomes`, and the side's cache row, which may
        name a newer read than these records, no longer points at them. Only what differs
        is written (a full read is mostly the records stored already: writing 40 MB again
        cost seconds), unless another `tagger` (version) filed them: then every tag again."""
        with self.conn:
            # what is stored is read under the write lock: a refresh committed between the
            # comparison and the writes would leave this read's records half laid over its
            # (a caller's transaction open on this connection is the caller's to hold)
            if not self.conn.in_transaction:
                self.conn.execute("BEGIN IMMEDIATE")
            # each stored body's digest, not the body: a writer in a thread of the check
            # held every stored body of the side at once (about 40 MB at 10,000 returns),
            # and reading them back took longer than the rest of the comparison
            stored = {ref: (rid, digest) for rid, ref, digest in self.conn.execute(
                "select id, ref, digest from records where profile = ? and side = ?",
                [profile, side])}
            row = self.conn.execute("select tagger from record_sides where profile = ? and "
                                    "side = ?", [profile, side]).fetchone()
            retag = row is None or row[0] != tagger
            changed: dict[str, Any] = {}
            bodies: dict[str, bytes] = {}
            same = True  # stored in this order already (a full read mostly is)
            for ref, record in raw.items():
                body = to_json(record)
                old = stored.pop(ref, None)
                if old is None or old[1] != _digest(body):
                    changed[ref] = record
                    bodies[ref] = body
                    same = same and old is not None
            same = same and not stored and self._in_order(profile, side, list(raw))
            self.conn.execute('insert or replace into "indexed" (profile, state, writer) '
                              "values (?, null, ?)", [profile, writer])
            _demote(self.conn, "profile = ? and side = ? and paged = ?",
                    [profile, side, INDEXED])
            self._drop(profile, side, list(stored))
            self._write(profile, side, changed, tags_of, bodies)
            if retag:
                self._retag(profile, side, raw, tags_of)
            if not same:
                self._order(profile, side, list(raw))
            self.conn.execute("insert or replace into record_sides (profile, side, tagger, "
                              "writer) values (?, ?, ?, ?)", [profile, side, tagger, writer])

    def apply(self, profile: str, side: str, upserts: dict[str, Any], deletes: set[str],
              tags_of: Callable[[str, Any], Iterable[str]]) -> None:
        """A refresh's records: changed ones keep their place in the batch's order, new
        ones come after the rest (as a merged batch orders them). In the caller's
        transaction."""
        self._drop(profile, side, list(deletes - set(upserts)))
        known = self._ids(profile, side, list(upserts))
        self._write(profile, side, upserts, tags_of)
        (last,) = self.conn.execute(
            "select max(q.seq) from record_seq q join records r on r.id = q.id "
            "where r.profile = ? and r.side = ?", [profile, side]).fetchone()
        after = (last if last is not None else -1) + 1
        ids = self._ids(profile, side, [ref for ref in upserts if ref not in known])
        self.conn.executemany("insert or replace into record_seq (id, seq) values (?, ?)",
                              [(ids[ref], after + n) for n, ref in enumerate(
                                  ref for ref in upserts if ref not in known)])

    def write_outcomes(self, profile: str, state: dict[str, Any],
                       outcomes: Iterable[Outcome], *, writer: str,
                       also: Callable[[sqlite3.Connection], None] | None = None) -> bool:
        """Every key's outcome and the index's state, with `also`, in one transaction,
        when the records are still those the run `writer` wrote (else False: another run
        wrote its own since, and its findings are the ones to keep)."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            row = self.conn.execute('select writer from "indexed" where profile = ?',
                                    [profile]).fetchone()
            if row is None or row[0] != writer or not self._sides_of(profile, writer):
                return False
            self.conn.execute('delete from "outcomes" where profile = ?', [profile])
            self._put_outcomes(profile, outcomes)
            self._put_state(profile, state)
            if also is not None:
                also(self.conn)
        return True

    def _sides_of(self, profile: str, writer: str) -> bool:
        """Whether both sides' records are the run `writer`'s (another run at once may have
        written one of them after this one did)."""
        writers = [w for (w,) in self.conn.execute(
            "select writer from record_sides where profile = ?", [profile])]
        return len(writers) == 2 and all(w == writer for w in writers)

    def records_of(self, profile: str, side: str, writer: str) -> dict[str, Any] | None:
        """A side's records (raw_ref -> record, in the batch's order) while they are still
        those the run `writer` wrote, else None; read in one transaction."""
        began = not self.conn.in_transaction
        if began:
            self.conn.execute("BEGIN")
        try:
            row = self.conn.execute("select writer from record_sides where profile = ? and "
                                    "side = ?", [profile, side]).fetchone()
            if row is None or row[0] != writer:
                return None
            return {ref: from_json(body) for ref, body in ordered(self.conn, profile, side)}
        finally:
            if began:
                self.conn.execute("COMMIT")

    def put_outcomes(self, profile: str, keys: set[str], outcomes: Iterable[Outcome]) -> None:
        """The outcomes of `keys` replaced (a key with no return now has none)."""
        for part in _chunks(list(keys)):
            marks = ",".join("?" * len(part))
            self.conn.execute(f'delete from "outcomes" where profile = ? and key in ({marks})',
                              [profile, *part])
        self._put_outcomes(profile, outcomes)

    def put_state(self, profile: str, state: dict[str, Any]) -> None:
        self._put_state(profile, state)

    def outcomes(self, profile: str) -> Iterator[Outcome]:
        for key, findings, until, counts in self.conn.execute(
                'select key, findings, until, counts from "outcomes" where profile = ?',
                [profile]):
            yield Outcome(key, from_json(findings), until, from_json(counts))

    def due(self, profile: str, now: str) -> set[str]:
        """Keys whose findings may differ at `now` with nothing else changed."""
        return {key for (key,) in self.conn.execute(
            'select key from "outcomes" where profile = ? and until is not null and '
            "until <= ?", [profile, now])}

    def count_keys(self, profile: str) -> int:
        (n,) = self.conn.execute('select count(*) from "outcomes" where profile = ?',
                                 [profile]).fetchone()
        return int(n)

    def _ids(self, profile: str, side: str, refs: list[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for part in _chunks(refs):
            marks = ",".join("?" * len(part))
            ids.update(self.conn.execute(
                f"select ref, id from records where profile = ? and side = ? and ref in "
                f"({marks})", [profile, side, *part]).fetchall())
        return ids

    def _drop(self, profile: str, side: str, refs: list[str]) -> None:
        """Records gone, with their tags and places."""
        ids = list(self._ids(profile, side, refs).values())
        for part in _chunks(ids):
            marks = ",".join("?" * len(part))
            for table in ("record_tags", "record_seq", "records"):
                self.conn.execute(f'delete from "{table}" where id in ({marks})', part)

    def _write(self, profile: str, side: str, records: dict[str, Any],
               tags_of: Callable[[str, Any], Iterable[str]],
               bodies: dict[str, bytes] | None = None) -> None:
        """Records written (one with the same raw_ref replaced in place), tags again."""
        if not records:
            return
        ids = self._ids(profile, side, list(records))
        for part in _chunks(list(ids.values())):
            marks = ",".join("?" * len(part))
            self.conn.execute(f"delete from record_tags where id in ({marks})", part)
        def body_of(ref: str) -> tuple[bytes, bytes]:
            body = bodies[ref] if bodies else to_json(records[ref])
            return body, _digest(body)

        self.conn.executemany(
            "update records set body = ?, digest = ? where id = ?",
            [(*body_of(ref), rid) for ref, rid in ids.items()])
        self.conn.executemany(
            "insert into records (profile, side, ref, body, digest) values (?, ?, ?, ?, ?)",
            [(profile, side, ref, *body_of(ref)) for ref in records if ref not in ids])
        ids = self._ids(profile, side, list(records)) if len(records) <= _CHUNK else dict(
            self.conn.execute("select ref, id from records where profile = ? and side = ?",
                              [profile, side]).fetchall())
        self.conn.executemany(
            "insert or ignore into record_tags (tag, id) values (?, ?)",
            [(tag, ids[ref]) for ref, record in records.items()
             for tag in set(tags_of(ref, record))])

    def _in_order(self, profile: str, side: str, refs: list[str]) -> bool:
        """Whether a side's records are placed in the order of `refs` (all of them)."""
        return [ref for (ref,) in self.conn.execute(
            "select r.ref from records r join record_seq q on q.id = r.id "
            "where r.profile = ? and r.side = ? order by q.seq", [profile, side])] == refs

    def _order(self, profile: str, side: str, refs: list[str]) -> None:
        """A side's records placed in the order of `refs` (all of them)."""
        ids = dict(self.conn.execute("select ref, id from records where profile = ? and "
                                     "side = ?", [profile, side]).fetchall())
        self.conn.execute("delete from record_seq where id in (select id from records "
                          "where profile = ? and side = ?)", [profile, side])
        self.conn.executemany("insert into record_seq (id, seq) values (?, ?)",
                              [(ids[ref], n) for n, ref in enumerate(refs)])

    def _put_outcomes(self, profile: str, outcomes: Iterable[Outcome]) -> None:
        self.conn.executemany(
            'insert or replace into "outcomes" (profile, key, findings, until, counts) '
            "values (?, ?, ?, ?, ?)",
            [(profile, o.key, to_json(o.findings), o.until, to_json(o.counts).decode())
             for o in outcomes])

    def _put_state(self, profile: str, state: dict[str, Any]) -> None:
        self.conn.execute('update "indexed" set state = ? where profile = ?',
                          [to_json(state).decode(), profile])

    def _retag(self, profile: str, side: str, raw: dict[str, Any],
               tags_of: Callable[[str, Any], Iterable[str]]) -> None:
        """Every record of a side filed again (another version tagged them)."""
        self.conn.execute("delete from record_tags where id in (select id from records "
                          "where profile = ? and side = ?)", [profile, side])
        ids = dict(self.conn.execute("select ref, id from records where profile = ? and "
                                     "side = ?", [profile, side]).fetchall())
        self.conn.executemany(
            "insert or ignore into record_tags (tag, id) values (?, ?)",
            [(tag, ids[ref]) for ref, record in raw.items() for tag in set(tags_of(ref,
                                                                                  record))])


def _demote(conn: sqlite3.Connection, where: str, args: list[Any]) -> None:
    """The cache's rows (`sources`, where they exist) matching `where` dropped: no cache."""
    if conn.execute("select 1 from sqlite_master where type = 'table' and name = 'sources'"
                    ).fetchone():
        conn.execute(f"delete from sources where {where}", args)


def _digest(body: bytes) -> bytes:
    """What tells one stored body from another (128 bits: no two differ unnoticed)."""
    return hashlib.blake2b(body, digest_size=16).digest()


def ordered(conn: sqlite3.Connection, profile: str, side: str) -> Iterator[tuple[str, bytes]]:
    """(raw_ref, body) of a side's every record, in the batch's order (tables exist)."""
    yield from conn.execute(
        "select r.ref, r.body from records r join record_seq q on q.id = r.id "
        "where r.profile = ? and r.side = ? order by q.seq", [profile, side])


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for at in range(0, len(items), _CHUNK):
        yield items[at:at + _CHUNK]

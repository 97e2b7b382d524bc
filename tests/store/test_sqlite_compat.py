"""Files the sqlite-utils versions of the cache, the audit log and the triage store wrote open
and work unchanged now that they use plain `sqlite3` (issue 13).

Every statement below is the `sqlite_master.sql` of a file made by the code as it was with
sqlite-utils 4.2.1 (captured before the change): running it again rebuilds the same schema,
and the rows are the ones that code stored. A file made now must have the same schema, text
for text, and one an older version left is upgraded exactly as sqlite-utils upgraded it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from returns_console.connectors.base import ErpBatch, PlatformBatch
from returns_console.domain.model import ErpView, PlatformView
from returns_console.store.audit import AuditLog, head_path, row_hash
from returns_console.store.cache import Cache
from returns_console.store.triage import Triage, TriageStore

WHEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

# -- the schemas sqlite-utils made (sqlite_master: type, name, table, sql) -------------------

SOURCES = ('CREATE TABLE "sources" (\n   "profile" TEXT,\n   "side" TEXT,\n   "system" TEXT,\n'
           '   "fetched_at" TEXT,\n   "cursor" TEXT,\n   "views" TEXT,\n   "problems" TEXT,\n'
           '   "raw" TEXT,\n   "master" TEXT,\n   "notices" TEXT,\n   "unseen" TEXT,\n'
           '   "source" TEXT,\n   "paged" INTEGER,\n   PRIMARY KEY ("profile", "side")\n)')
PAGES = ('CREATE TABLE "pages" (\n   "profile" TEXT,\n   "side" TEXT,\n   "n" INTEGER,\n'
         '   "entity" TEXT,\n   "body" BLOB,\n   PRIMARY KEY ("profile", "side", "n")\n)')
REPORTS = 'CREATE TABLE "reports" (\n   "profile" TEXT PRIMARY KEY,\n   "report" TEXT\n)'
CACHE = [
    ("table", "sources", "sources", SOURCES),
    ("index", "sqlite_autoindex_sources_1", "sources", None),
    ("table", "pages", "pages", PAGES),
    ("index", "sqlite_autoindex_pages_1", "pages", None),
]
CACHE_WITH_REPORTS = [*CACHE, ("table", "reports", "reports", REPORTS),
                      ("index", "sqlite_autoindex_reports_1", "reports", None)]

# The first cache (before views, `paged`, `source` ...): one JSON `data` column.
FIRST_SOURCES = ('CREATE TABLE "sources" (\n   "profile" TEXT,\n   "side" TEXT,\n'
                 '   "system" TEXT,\n   "fetched_at" TEXT,\n   "cursor" TEXT,\n   "data" TEXT,\n'
                 '   PRIMARY KEY ("profile", "side")\n)')
# ... and as sqlite-utils upgraded it: `paged` on opening, then what each write named.
FIRST_OPENED = FIRST_SOURCES.replace('"data" TEXT,', '"data" TEXT, "paged" INTEGER,')
FIRST_AFTER_PLATFORM = FIRST_SOURCES.replace(
    '"data" TEXT,', '"data" TEXT, "paged" INTEGER, "source" TEXT, "views" TEXT, '
    '"problems" TEXT, "raw" TEXT,')
FIRST_AFTER_ERP = FIRST_SOURCES.replace(
    '"data" TEXT,', '"data" TEXT, "paged" INTEGER, "source" TEXT, "views" TEXT, '
    '"problems" TEXT, "raw" TEXT, "master" TEXT, "notices" TEXT, "unseen" TEXT,')

AUDIT = [
    ("table", "audit", "audit",
     'CREATE TABLE "audit" (\n   "seq" INTEGER PRIMARY KEY,\n   "at" TEXT NOT NULL,\n'
     '   "operator" TEXT NOT NULL,\n   "profile" TEXT NOT NULL,\n   "systems" TEXT NOT NULL,\n'
     '   "return_ref" TEXT,\n   "action" TEXT NOT NULL,\n   "parameters" TEXT NOT NULL,\n'
     '   "before" TEXT,\n   "after" TEXT,\n   "request" TEXT,\n   "outcome" TEXT NOT NULL,\n'
     '   "erp_record_id" TEXT,\n   "error" TEXT,\n   "completes" INTEGER,\n'
     '   "batch" TEXT,\n   "prev_hash" TEXT NOT NULL,\n   "hash" TEXT NOT NULL\n)'),
    ("table", "audit_head", "audit_head",
     'CREATE TABLE "audit_head" (\n   "id" INTEGER PRIMARY KEY,\n'
     '   "seq" INTEGER NOT NULL,\n   "hash" TEXT NOT NULL\n)'),
    ("index", "idx_audit_completes", "audit",
     'CREATE INDEX "idx_audit_completes"\n    ON "audit" ("completes")'),
    ("index", "idx_audit_return_ref", "audit",
     'CREATE INDEX "idx_audit_return_ref"\n    ON "audit" ("return_ref")'),
    ("trigger", "audit_append_only_edit", "audit",
     "CREATE TRIGGER audit_append_only_edit BEFORE UPDATE ON audit BEGIN SELECT "
     "RAISE(ABORT, 'the audit log is append-only'); END"),
    ("trigger", "audit_append_only_remove", "audit",
     "CREATE TRIGGER audit_append_only_remove BEFORE DELETE ON audit BEGIN SELECT "
     "RAISE(ABORT, 'the audit log is append-only'); END"),
]

TRIAGE = [
    ("table", "triage", "triage",
     "CREATE TABLE [triage] ([profile] TEXT, [finding_id] TEXT, [return_ref] TEXT, [code] TEXT, "
     "[state] TEXT, [snoozed_until] TEXT, [assignee] TEXT, [note] TEXT, [tags] TEXT, "
     "[updated_at] TEXT, [closed_reason] TEXT, PRIMARY KEY ([profile], [finding_id]))"),
    ("index", "sqlite_autoindex_triage_1", "triage", None),
]

# -- rows the sqlite-utils code stored -----------------------------------------------------

MASTER = ('{"items":{},"customers":{},"locations":[],"reasons":[],"payment_methods":[],'
          '"periods":[],"items_ignore_case":false,"creates":null,"instead":{}}')
PLATFORM_ROW = {
    "profile": "p", "side": "platform", "system": "swap",
    "fetched_at": "2026-11-21T10:00:00+00:00", "cursor": "c1",
    "views": '[{"system":"swap","return_ref":"R-1","order_ref":null,"customer_email":null,'
             '"customer_name":null,"created_at":null,"lines":[],"refund":null,'
             '"refund_method":null,"fees":[],"stages":{},"raw_ref":null}]',
    "problems": "{}", "raw": "{}", "master": None, "notices": None, "unseen": None,
    "source": "s1", "paged": None}
ERP_ROW = {
    "profile": "p", "side": "erp", "system": "d365_bc", "fetched_at": None, "cursor": "c2",
    "views": "{}", "problems": "{}", "raw": "{}", "master": MASTER, "notices": "[]",
    "unseen": None, "source": "s2", "paged": 1}

HASH_1 = "e9a9b00c6cb3564d8c3ebc67646701f5e7d9c0a07bf7a4bff17c653487471c6f"
HASH_2 = "69103fcbc11213d00938fcf8e6bf2d2394fde76cf2441aa935d79e173b469e6c"
AUDIT_ROWS = [
    (1, "2026-11-30T14:05:53Z", "ann", "acme", "swap|d365_bc", "R-1", "note", '{"n":1}', None,
     None, None, "pending", None, None, None, None, "0" * 64, HASH_1),
    (2, "2026-11-30T14:05:53Z", "ann", "acme", "swap|d365_bc", "R-1", "note", "{}", None,
     '{"x":1}', None, "succeeded", None, None, 1, None, HASH_1, HASH_2),
]


def schema(path: Path) -> list[tuple[str, str, str, str | None]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "ORDER BY rowid").fetchall()
    finally:
        conn.close()


def journal_mode(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def old_file(path: Path, objects: list[tuple[str, str, str, str | None]],
             rows: dict[str, list[dict | tuple]]) -> Path:
    """A file as the sqlite-utils code left it: its schema, WAL, its rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=wal")
        for _kind, _name, _table, sql in objects:
            if sql is not None:
                conn.execute(sql)
        for table, table_rows in rows.items():
            for row in table_rows:
                if isinstance(row, dict):
                    names = ", ".join(f'"{k}"' for k in row)
                    conn.execute(f'INSERT INTO "{table}" ({names}) VALUES '
                                 f"({', '.join('?' for _ in row)})", list(row.values()))
                else:
                    conn.execute(f'INSERT INTO "{table}" VALUES '
                                 f"({', '.join('?' for _ in row)})", list(row))
    finally:
        conn.close()
    assert schema(path) == objects
    return path


# -- files made now are the files sqlite-utils made -----------------------------------------


def test_new_files_have_the_schema_sqlite_utils_gave_them(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    assert schema(tmp_path / "cache.sqlite3") == CACHE
    cache.save_report("p", {"findings": []})
    assert schema(tmp_path / "cache.sqlite3") == CACHE_WITH_REPORTS
    assert cache.close() == []

    with AuditLog(tmp_path / "audit.sqlite3") as log:
        log.record(operator="ann", profile="acme", systems="swap", return_ref=None,
                   action="note", parameters={}, outcome="succeeded")
    assert schema(tmp_path / "audit.sqlite3") == AUDIT

    TriageStore(tmp_path / "triage.sqlite3")
    assert schema(tmp_path / "triage.sqlite3") == TRIAGE
    for name in ("cache", "audit", "triage"):
        assert journal_mode(tmp_path / f"{name}.sqlite3") == "wal"


# -- the cache ----------------------------------------------------------------------------


def test_a_cache_sqlite_utils_wrote_reads_and_writes(tmp_path: Path) -> None:
    path = old_file(tmp_path / "cache.sqlite3", CACHE_WITH_REPORTS, {
        "sources": [PLATFORM_ROW, ERP_ROW],
        "pages": [{"profile": "p", "side": "erp", "n": 0, "entity": "items", "body": b"{}"}],
        "reports": [{"profile": "p", "report": '{"findings":[]}'}]})
    cache = Cache(path)
    platform = cache.load_platform("p", "s1")
    assert platform is not None
    assert [v.return_ref for v in platform.views] == ["R-1"]
    assert (platform.fetched_at, platform.cursor) == (WHEN, "c1")
    assert cache.load_platform("p", "another source") is None
    erp = cache.load_erp("p", "s2")
    assert erp is not None
    assert erp.pages == [("items", b"{}")] and erp.cursor == "c2" and erp.unseen is None
    assert cache.load_report("p") == {"findings": []}
    assert cache.cursor("p", "erp") == "c2"

    # Writes: an upsert updates the columns it names, the others keep their values.
    cache.save_platform("p", "swap", PlatformBatch(
        views=[PlatformView(system="swap", return_ref="R-2")], fetched_at=WHEN, cursor="c3"),
        source="s1")
    cache.save_erp("p", "d365_bc", ErpBatch(raw={"k": {"id": "a"}}, cursor="c4",
                                            unseen=ErpView(system="d365_bc")), source="s2")
    cache.save_report("p", {"findings": [1]})
    cache.save_later("platform", "q", "swap", PlatformBatch(raw={"x": {}}, fetched_at=WHEN))
    assert cache.close() == []

    again = Cache(path)
    assert [v.return_ref for v in again.load_platform("p").views] == ["R-2"]
    erp = again.load_erp("p")
    assert erp.pages is None and erp.raw == {"k": {"id": "a"}} and erp.cursor == "c4"
    assert erp.unseen == ErpView(system="d365_bc")
    assert again.load_report("p") == {"findings": [1]}
    assert again.load_platform("q").raw == {"x": {}}
    assert again.close() == []
    assert schema(path) == CACHE_WITH_REPORTS
    rows = sqlite3.connect(path).execute(
        "SELECT profile, side, source, paged FROM sources ORDER BY rowid").fetchall()
    # platform rows now keep their raw records in chunks (`pages`), and say so
    assert rows == [("p", "platform", "s1", 1), ("p", "erp", "s2", 0),
                    ("q", "platform", None, 1)]


def test_the_first_cache_is_upgraded_as_sqlite_utils_upgraded_it(tmp_path: Path) -> None:
    """`paged` is added on opening; the other columns by the first write naming them."""
    path = old_file(tmp_path / "cache.sqlite3",
                    [("table", "sources", "sources", FIRST_SOURCES),
                     ("index", "sqlite_autoindex_sources_1", "sources", None)],
                    {"sources": [{"profile": "p", "side": "platform", "system": "swap",
                                  "fetched_at": None, "cursor": "c0", "data": "{}"}]})
    cache = Cache(path)
    assert schema(path) == [("table", "sources", "sources", FIRST_OPENED), *CACHE[1:]]
    assert cache.load_platform("p") is None  # no `raw`: no cache at all
    assert cache.load_report("p") is None

    cache.save_platform("p", "swap", PlatformBatch(fetched_at=WHEN, cursor="c1"), source="s1")
    assert schema(path)[0][3] == FIRST_AFTER_PLATFORM
    cache.save_erp("p", "d365_bc", ErpBatch(raw={"k": {"id": "a"}}, cursor="c2",
                                            unseen=ErpView(system="d365_bc")), source="s2")
    assert schema(path)[0][3] == FIRST_AFTER_ERP
    cache.save_report("p", {"x": 1})
    assert schema(path) == [("table", "sources", "sources", FIRST_AFTER_ERP),
                            *CACHE_WITH_REPORTS[1:]]
    assert cache.load_platform("p", "s1").cursor == "c1"
    assert cache.load_erp("p", "s2").unseen == ErpView(system="d365_bc")
    assert cache.load_report("p") == {"x": 1}
    assert cache.close() == []
    # The column the first version wrote is kept, untouched.
    assert sqlite3.connect(path).execute(
        "SELECT data FROM sources WHERE side = 'platform'").fetchone() == ("{}",)


# -- the audit log --------------------------------------------------------------------------


def test_an_audit_log_sqlite_utils_wrote_verifies_and_its_chain_goes_on(tmp_path: Path) -> None:
    path = old_file(tmp_path / "audit.sqlite3", AUDIT, {
        "audit": AUDIT_ROWS, "audit_head": [{"id": 1, "seq": 2, "hash": HASH_2}]})
    head_path(path).write_text(json.dumps({"seq": 2, "hash": HASH_2, "prev_hash": HASH_1})
                               + "\n", encoding="utf-8")
    with AuditLog(path) as log:
        found = log.verify()
        assert (found.ok, found.rows, found.problems) == (True, 2, [])
        assert log.head() == (2, HASH_2)
        assert log.hash_of(1) == HASH_1
        assert [(e.seq, e.outcome, e.completes, e.after) for e in log.entries()] == [
            (1, "pending", None, None), (2, "succeeded", 1, {"x": 1})]
        assert log.open_pending() == []

        seq = log.begin(operator="bob", profile="acme", systems="swap|d365_bc",
                        return_ref="R-2", action="note", parameters={"n": 2})
        assert [e.seq for e in log.open_pending()] == [3]
        done = log.complete(seq, outcome="failed", error="refused")
        assert log.open_pending() == []
        rows = log.entries(return_ref="R-2")
        assert [(e.seq, e.prev_hash) for e in rows] == [(3, HASH_2), (4, rows[0].hash)]
        assert done == 4
        assert log.verify().ok
    assert schema(path) == AUDIT
    assert json.loads(head_path(path).read_text())["seq"] == 4
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    stored = [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY seq")]
    conn.close()
    assert [tuple(r.values()) for r in stored[:2]] == AUDIT_ROWS  # old rows untouched
    for row in stored:
        assert row_hash(row) == row["hash"]


# -- the triage store -----------------------------------------------------------------------


def test_a_triage_store_sqlite_utils_wrote_reads_and_writes(tmp_path: Path) -> None:
    path = old_file(tmp_path / "triage.sqlite3", TRIAGE, {"triage": [
        ("acme", "f1", "R-1", "X", "new", None, None, None, '["a"]', "2026-11-21T10:00:00Z",
         None)]})
    store = TriageStore(path)
    old = Triage(finding_id="f1", return_ref="R-1", code="X", tags=("a",),
                 updated_at="2026-11-21T10:00:00Z")
    assert store.get("acme", "f1") == old
    assert store.all("acme") == {"f1": old}
    assert store.get("other", "f1") is None

    store.put("acme", Triage(finding_id="f1", return_ref="R-1", code="X", state="acknowledged",
                             assignee="ann", tags=("a", "b")))
    store.put("acme", Triage(finding_id="f2", return_ref="R-2", code="Y"))
    with store.changing("acme", "f2", Triage(finding_id="f2", return_ref="", code="")) as change:
        change.new = Triage(finding_id="f2", return_ref="R-2", code="Y", note="seen")
    got = store.all("acme")
    assert (got["f1"].state, got["f1"].assignee, got["f1"].tags) == ("acknowledged", "ann",
                                                                     ("a", "b"))
    assert got["f1"].updated_at and got["f2"].note == "seen"
    assert schema(path) == TRIAGE
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM triage").fetchone() == (2,)
    assert conn.execute("SELECT tags FROM triage WHERE finding_id = 'f1'").fetchone() == (
        '["a", "b"]',)
    conn.close()

"""The audit log: append-only rows, a hash chain that shows edits and deletions, secrets
kept out, and no row lost when two processes write at once."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import returns_console.store.audit as audit_module
from returns_console.store.audit import (
    COLUMNS,
    AuditLog,
    current_operator,
    export_rows,
    head_path,
    verify_file,
)

ROOT = Path(__file__).resolve().parents[2]
WHO = {"operator": "ann", "profile": "acme", "systems": "swap|d365_bc"}
START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


class Clock:
    """Moves one minute per reading, so every row has its own time."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        moment, self.now = self.now, self.now + timedelta(minutes=1)
        return moment


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit.sqlite3"


@pytest.fixture
def log(path: Path) -> Iterator[AuditLog]:
    with AuditLog(path, clock=Clock()) as opened:
        yield opened


def note(log: AuditLog, n: int, **extra: object) -> int:
    return log.record(**WHO, return_ref=f"R-{n}", action="note", parameters={"n": n},
                      outcome="succeeded", **extra)


def filled(log: AuditLog, rows: int) -> AuditLog:
    for n in range(1, rows + 1):
        note(log, n)
    return log


def raw(path: Path) -> sqlite3.Connection:
    """A tamperer's connection: drops the append-only triggers first."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_append_only_edit")
    conn.execute("DROP TRIGGER IF EXISTS audit_append_only_remove")
    return conn


# -- writing ---------------------------------------------------------------------------------


def test_begin_then_complete_appends_a_second_row_that_names_the_first(log: AuditLog) -> None:
    seq = log.begin(**WHO, return_ref="R-1", action="fix_reference",
                    parameters={"record": "salesCreditMemos:1", "link": "R-1"},
                    before={"link": "R-0"}, request={"method": "PATCH", "path": "/memos(1)",
                                                     "body": {"externalDocumentNumber": "R-1"}},
                    batch="b1")
    assert seq == 1
    assert [e.seq for e in log.open_pending()] == [1]

    done = log.complete(seq, outcome="succeeded", after={"link": "R-1"}, erp_record_id="PCM-7")
    assert done == 2
    assert log.open_pending() == []
    first, second = log.entries()
    assert first.outcome == "pending" and first.completes is None
    assert first.parameters == {"record": "salesCreditMemos:1", "link": "R-1"}
    assert first.before == {"link": "R-0"} and first.after is None
    assert first.request["body"] == {"externalDocumentNumber": "R-1"}
    assert second.completes == 1 and second.outcome == "succeeded"
    assert (second.operator, second.profile, second.systems, second.return_ref,
            second.action, second.batch) == ("ann", "acme", "swap|d365_bc", "R-1",
                                             "fix_reference", "b1")
    assert second.after == {"link": "R-1"} and second.erp_record_id == "PCM-7"
    assert (first.at, second.at) == ("2026-11-21T10:00:00Z", "2026-11-21T10:01:00Z")


def test_record_writes_one_finished_row(log: AuditLog) -> None:
    seq = log.record(**WHO, return_ref="R-2", action="requeue_posting",
                     parameters={"link": "R-2"}, outcome="refused",
                     error="credit memo PCM-1 already exists", batch="b2")
    (row,) = log.entries()
    assert (row.seq, row.outcome, row.error, row.completes, row.batch) == (
        seq, "refused", "credit memo PCM-1 already exists", None, "b2")
    assert log.open_pending() == []


def test_open_pending_is_what_a_crash_left(log: AuditLog) -> None:
    a = log.begin(**WHO, return_ref="R-1", action="requeue_posting", parameters={})
    b = log.begin(**WHO, return_ref="R-2", action="requeue_posting", parameters={})
    log.begin(**WHO, return_ref="R-3", action="remap_sku", parameters={"sku": "X"})
    log.complete(b, outcome="failed", error="503 from the ERP")
    assert [e.return_ref for e in log.open_pending()] == ["R-1", "R-3"]
    log.complete(a, outcome="resolved", operator="bob", error="checked by hand")
    resolved = log.entries(outcome="resolved")[0]
    assert resolved.operator == "bob" and resolved.completes == a
    assert [e.return_ref for e in log.open_pending()] == ["R-3"]


def test_a_row_is_completed_once_and_only_a_pending_one(log: AuditLog) -> None:
    seq = log.begin(**WHO, return_ref="R-1", action="note", parameters={})
    log.complete(seq, outcome="succeeded")
    with pytest.raises(ValueError, match="already completed by row 2"):
        log.complete(seq, outcome="failed")
    with pytest.raises(ValueError, match="not pending"):
        log.complete(2, outcome="failed")
    with pytest.raises(ValueError, match="no audit row 99"):
        log.complete(99, outcome="failed")
    with pytest.raises(ValueError, match="outcome 'pending'"):
        log.record(**WHO, return_ref=None, action="note", parameters={}, outcome="pending")
    with pytest.raises(ValueError, match="needs a non-empty operator"):
        log.begin(**{**WHO, "operator": " "}, return_ref=None, action="note", parameters={})
    assert len(log.entries()) == 2 and log.verify().ok


def test_money_and_times_go_in_as_text(log: AuditLog) -> None:
    log.record(**WHO, return_ref="R-1", action="remap_sku", outcome="succeeded",
               parameters={"factor": Decimal("3"), "when": START, "amount": Decimal("9.60")})
    assert log.entries()[0].parameters == {"factor": "3", "when": "2026-11-21T10:00:00Z",
                                           "amount": "9.60"}


def test_stamps_are_utc_to_the_second(path: Path) -> None:
    local = datetime(2026, 11, 21, 11, 30, 15, 999_999,
                     tzinfo=datetime.now().astimezone().tzinfo)
    with AuditLog(path, clock=lambda: local) as log:
        note(log, 1)
        stored = sqlite3.connect(path).execute("SELECT at FROM audit").fetchone()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stored)
    assert datetime.fromisoformat(stored.replace("Z", "+00:00")) == local.replace(microsecond=0)


def test_secrets_never_reach_the_log(log: AuditLog, path: Path) -> None:
    request = {
        "method": "POST", "path": "/v2/returns?api_key=k-123&page=2",
        "headers": {"Authorization": "Bearer t-123", "X-API-Key": "k-123", "Cookie": "s=1",
                    "If-Match": 'W/"1"'},
        "body": {"client_secret": "s-123", "refresh_token": "t-456", "Password": "p-1",
                 "lines": [{"sku": "TEE", "access_token": "t-789"}], "note": "fine"},
    }
    log.begin(**WHO, return_ref="R-1", action="requeue_posting", parameters={},
              request=request)
    stored = log.entries()[0].request
    assert stored == {"method": "POST", "path": "/v2/returns?page=2",
                      "headers": {"If-Match": 'W/"1"'},
                      "body": {"lines": [{"sku": "TEE"}], "note": "fine"}}
    text = b"".join(f.read_bytes() for f in path.parent.iterdir() if f.is_file())
    for secret in (b"k-123", b"t-123", b"s-123", b"t-456", b"p-1", b"t-789"):
        assert secret not in text
    assert request["headers"]["Authorization"] == "Bearer t-123"  # the caller's is untouched


def test_the_module_never_updates_or_deletes_a_row() -> None:
    source = Path(audit_module.__file__).read_text()
    assert not re.search(r"\bUPDATE\s+\[?\w+\]?\s+SET\b", source, re.IGNORECASE)
    assert not re.search(r"\bDELETE\s+FROM\b", source, re.IGNORECASE)
    assert not re.search(r"\bREPLACE\s+INTO\s+audit\b(?!_head)", source, re.IGNORECASE)
    assert not re.search(r"\.(update|upsert|upsert_all|delete|delete_where|transform)\(",
                         source)


def test_the_database_refuses_edits_and_deletions(log: AuditLog, path: Path) -> None:
    filled(log, 2)
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET error = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.close()
    assert log.verify().ok and len(log.entries()) == 2


# -- reading ---------------------------------------------------------------------------------


def test_entries_filter_and_keep_the_newest_when_limited(log: AuditLog) -> None:
    filled(log, 5)
    log.record(**WHO, return_ref="R-2", action="tag", parameters={}, outcome="failed")
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in log.entries(return_ref="R-2")] == [2, 6]
    assert [e.seq for e in log.entries(action="tag")] == [6]
    assert [e.seq for e in log.entries(outcome="succeeded")] == [1, 2, 3, 4, 5]
    assert [e.seq for e in log.entries(since=START + timedelta(minutes=3))] == [4, 5, 6]
    naive = datetime(2026, 11, 21, 10, 4)
    assert [e.seq for e in log.entries(since=naive)] == [5, 6]
    assert [e.seq for e in log.entries(limit=2)] == [5, 6]
    assert [e.seq for e in log.entries(outcome="succeeded", limit=2)] == [4, 5]


def test_export_csv_and_json_carry_every_column(log: AuditLog) -> None:
    seq = log.begin(**WHO, return_ref="R-1", action="fix_reference", parameters={"link": "L"},
                    request={"method": "PATCH", "path": "/x"})
    log.complete(seq, outcome="failed", error="412, the record changed")
    entries = log.entries()

    rows = list(csv.DictReader(io.StringIO(export_rows(entries, "csv"))))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["at"] == "2026-11-21T10:00:00Z" and rows[0]["after"] == ""
    assert json.loads(rows[0]["request"]) == {"method": "PATCH", "path": "/x"}
    assert rows[1]["completes"] == "1" and rows[1]["error"] == "412, the record changed"
    assert rows[1]["hash"] == entries[1].hash

    objects = json.loads(export_rows(entries, "json"))
    assert [tuple(o) for o in objects] == [COLUMNS, COLUMNS]
    assert objects[0]["parameters"] == {"link": "L"} and objects[0]["after"] is None
    assert objects[1]["at"] == "2026-11-21T10:01:00Z"
    assert export_rows([], "json") == "[]\n"
    assert export_rows([], "csv") == ",".join(COLUMNS) + "\n"


def test_current_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    assert current_operator(" Ann Smith ") == "Ann Smith"
    monkeypatch.setattr(audit_module.getpass, "getuser", lambda: "ann")
    assert current_operator(None) == current_operator("  ") == "ann"

    def nobody() -> str:
        raise OSError("no user")

    monkeypatch.setattr(audit_module.getpass, "getuser", nobody)
    assert current_operator(None) == "unknown"


# -- verify ----------------------------------------------------------------------------------


def test_an_untouched_log_verifies(log: AuditLog, path: Path) -> None:
    assert log.verify().ok and log.verify().rows == 0
    filled(log, 10)
    result = AuditLog(path).verify()
    assert (result.ok, result.rows, result.problems) == (True, 10, [])
    rows = sqlite3.connect(path).execute("SELECT seq, prev_hash, hash FROM audit").fetchall()
    assert rows[0][1] == "0" * 64
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, 10))
    assert json.loads(head_path(path).read_text())["seq"] == 10


def test_verify_catches_an_edited_row(log: AuditLog, path: Path) -> None:
    filled(log, 9)
    raw(path).execute("UPDATE audit SET [after] = '{\"link\":\"forged\"}' WHERE seq = 7")
    result = log.verify()
    assert not result.ok and result.rows == 9
    assert result.problems == ["row 7 was changed after it was written"]


def test_verify_catches_a_row_rewritten_with_its_hash(log: AuditLog, path: Path) -> None:
    """A tamperer who recomputes the edited row's hash breaks the link to the next one."""
    filled(log, 5)
    conn = raw(path)
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("SELECT * FROM audit WHERE seq = 3").fetchone())
    row["error"] = "nothing happened"
    conn.execute("UPDATE audit SET error = ?, hash = ? WHERE seq = 3",
                 [row["error"], audit_module.row_hash(row)])
    assert log.verify().problems == [
        "row 4 does not link to row 3 (rows deleted and the rest renumbered, or row 3 "
        "rewritten?)"]


def test_verify_catches_a_deleted_row(log: AuditLog, path: Path) -> None:
    filled(log, 10)
    raw(path).execute("DELETE FROM audit WHERE seq = 8")
    result = log.verify()
    assert (result.ok, result.rows) == (False, 9)
    assert result.problems == ["row 8 is missing (deleted?)"]
    raw(path).execute("DELETE FROM audit WHERE seq IN (2, 3)")
    assert log.verify().problems == ["rows 2 to 3 are missing (deleted?)",
                                     "row 8 is missing (deleted?)"]


def test_verify_catches_a_deleted_last_row(log: AuditLog, path: Path) -> None:
    filled(log, 8)
    raw(path).execute("DELETE FROM audit WHERE seq = 8")
    assert log.verify().problems == [
        "row 8 is missing (deleted?): the log ends at row 7, but the head record and the "
        "head file say it ends at row 8"]


def test_the_head_file_catches_a_deleted_last_row_and_head_record(
        log: AuditLog, path: Path) -> None:
    filled(log, 8)
    conn = raw(path)
    conn.execute("DELETE FROM audit WHERE seq = 8")
    conn.execute("DELETE FROM audit_head")
    assert log.verify().problems == [
        "the head record in the database is missing (deleted?)",
        "row 8 is missing (deleted?): the log ends at row 7, but the head file says it ends "
        "at row 8"]


def test_the_next_append_keeps_a_deleted_tail_visible(log: AuditLog, path: Path) -> None:
    """Writing on must not paper over the hole: numbering goes on after the anchor."""
    filled(log, 8)
    conn = raw(path)
    conn.execute("DELETE FROM audit WHERE seq = 8")
    conn.execute("DELETE FROM audit_head")
    assert note(log, 9) == 9
    assert log.verify().problems == ["row 8 is missing (deleted?)"]


def test_a_missing_or_unreadable_head_file_is_reported(log: AuditLog, path: Path) -> None:
    filled(log, 3)
    head_path(path).unlink()
    assert log.verify().problems == [f"the head file {head_path(path)} is missing (deleted?)"]
    head_path(path).write_text("{not json")
    (problem,) = log.verify().problems
    assert problem.startswith(f"the head file {head_path(path)} cannot be read")
    note(log, 4)  # the next append writes it again
    assert log.verify().ok


def test_a_write_killed_before_commit_is_not_a_deletion(log: AuditLog, path: Path) -> None:
    """The head file is replaced just before COMMIT: a kill in between leaves it naming the
    row after the tail and linking to it. That row was never written, so nothing was sent."""
    filled(log, 3)
    tail = log.entries()[-1]
    head_path(path).write_text(json.dumps({"seq": 4, "hash": "f" * 64,
                                           "prev_hash": tail.hash}))
    assert log.verify().ok
    assert note(log, 4) == 4
    assert log.verify().ok


def test_a_deleted_database_is_reported_by_its_head_file(path: Path) -> None:
    assert verify_file(path) is None and not path.exists()
    with AuditLog(path) as log:
        filled(log, 3)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    result = verify_file(path)
    assert result is not None and not result.ok
    assert result.problems == [f"the audit log {path} is missing, but its head file says it "
                               "had 3 rows (deleted?)"]
    with AuditLog(path) as log:
        assert note(log, 4) == 4
        assert log.verify().problems[0] == "rows 1 to 3 are missing (deleted?)"


# -- concurrency and speed -------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from returns_console.store.audit import AuditLog
path, name, go, other = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
log = AuditLog(path)
while not go.exists():
    time.sleep(0.001)
for n in range(200):
    if n == 10:  # halfway: wait for the other's first ten, so the two surely overlap
        go.with_name(name + ".half").touch()
        deadline = time.monotonic() + 60
        while not go.with_name(other + ".half").exists() and time.monotonic() < deadline:
            time.sleep(0.001)
    log.record(operator=name, profile="p", systems="swap|d365_bc", return_ref=f"R-{n}",
               action="note", parameters={"n": n}, outcome="succeeded")
"""


def test_two_processes_writing_at_once_lose_no_row(path: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(go),
                                 other], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for name, other in (("ann", "bob"), ("bob", "ann"))]
    time.sleep(0.3)  # both create the same new file, then write together
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err

    log = AuditLog(path)
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, 401))
    # they overlapped: each one's first ten rows came before either one's eleventh
    tenth = {who: [e.seq for e in entries if e.operator == who][9] for who in ("ann", "bob")}
    eleventh = {who: [e.seq for e in entries if e.operator == who][10] for who in ("ann", "bob")}
    assert max(tenth.values()) < min(eleventh.values())
    for name in ("ann", "bob"):
        assert [e.parameters["n"] for e in entries if e.operator == name] == list(range(200))
    assert log.verify() == audit_module.Verification(ok=True, rows=400, problems=[])


@pytest.mark.slow
def test_a_thousand_appends_are_all_kept_in_order_and_verify(log: AuditLog) -> None:
    """How fast is benchmarks/audit_bench.py's question (no wall clock in the suite)."""
    filled(log, 1000)
    assert [e.seq for e in log.entries()] == list(range(1, 1001))
    assert log.verify().rows == 1000

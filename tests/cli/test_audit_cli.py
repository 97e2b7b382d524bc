"""`returns-console audit verify` and `audit export` as a person runs them: a real process,
its own RETURNS_CONSOLE_HOME."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from returns_console.locations import resolve
from returns_console.store.audit import COLUMNS, AuditLog

ROOT = Path(__file__).resolve().parents[2]
WHO = {"operator": "ann", "profile": "acme", "systems": "swap|d365_bc"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def run(home: Path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNS_CONSOLE_")}
        env["RETURNS_CONSOLE_HOME"] = str(home)
        return subprocess.run([sys.executable, "-m", "returns_console", *args],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    return run


@pytest.fixture
def db(home: Path) -> Path:
    return resolve(environ={"RETURNS_CONSOLE_HOME": str(home)}).audit_db


def written(db: Path) -> AuditLog:
    """Five rows, one a day from 30 October to 3 November 2026 at 12:00 UTC."""
    days = iter(datetime(2026, 10, 30, 12, tzinfo=UTC) + timedelta(days=n) for n in range(9))
    log = AuditLog(db, clock=lambda: next(days))
    seq = log.begin(**WHO, return_ref="R-1", action="fix_reference", parameters={"link": "L1"},
                    request={"method": "PATCH", "path": "/salesCreditMemos(1)"})
    log.complete(seq, outcome="succeeded", erp_record_id="PCM-1", after={"link": "L1"})
    for n in (2, 3, 4):
        log.record(**WHO, return_ref=f"R-{n}", action="note", parameters={"n": n},
                   outcome="succeeded")
    return log


def test_no_log_yet(run, db: Path) -> None:
    done = run("audit", "verify")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"no audit log yet at {db}\n", "")
    assert run("audit", "export").stdout == ",".join(COLUMNS) + "\n"
    assert json.loads(run("audit", "export", "--format", "json").stdout) == []
    assert not db.exists()  # asking is not creating


NO_KEY = ("note: no audit key here (RETURNS_CONSOLE_AUDIT_KEY or the OS keyring): keyed rows "
          "were not checked, and unkeyed ones only prove their chain; keep `audit head` "
          "elsewhere (README: Security)")


def test_verify_an_intact_log(run, db: Path) -> None:
    written(db)
    done = run("audit", "verify")
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"audit log OK: 5 rows, chain intact\n{NO_KEY}\n", "")


def test_verify_mentions_actions_left_pending(run, db: Path) -> None:
    written(db).begin(**WHO, return_ref="R-9", action="requeue_posting", parameters={})
    done = run("audit", "verify")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "audit log OK: 6 rows, chain intact", NO_KEY,
        "note: 1 action started with no outcome recorded yet (row 6)"]


def test_verify_a_tampered_log_lists_each_problem_and_exits_1(run, db: Path) -> None:
    written(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER audit_append_only_edit")
    conn.execute("DROP TRIGGER audit_append_only_remove")
    conn.execute("UPDATE audit SET error = 'never happened' WHERE seq = 2")
    conn.execute("DELETE FROM audit WHERE seq IN (3, 5)")
    conn.close()
    done = run("audit", "verify")
    assert done.returncode == 1 and done.stderr == ""
    assert done.stdout.splitlines() == [
        "row 2 was changed after it was written",
        "row 3 is missing (deleted?)",
        "row 5 is missing (deleted?): the log ends at row 4, but the head record and the "
        "head file say it ends at row 5"]


def test_verify_a_deleted_database(run, db: Path) -> None:
    written(db)
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    done = run("audit", "verify")
    assert done.returncode == 1
    assert "is missing, but its head file says it had 5 rows" in done.stdout


def test_export_csv_since_a_date(run, db: Path) -> None:
    written(db)
    done = run("audit", "export", "--since", "2026-11-01")
    assert done.returncode == 0 and done.stderr == ""
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["seq"] for r in rows] == ["3", "4", "5"]
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["at"] == "2026-11-01T12:00:00Z"
    assert all(len(r["hash"]) == 64 for r in rows)


def test_export_json_since_a_time_to_a_file(run, db: Path, tmp_path: Path) -> None:
    written(db)
    out = tmp_path / "audit.json"
    done = run("audit", "export", "--format", "json", "--since", "2026-10-31T12:00:00+01:00",
               "--out", str(out))
    assert done.returncode == 0 and done.stdout == f"wrote 4 audit rows to {out}\n"
    rows = json.loads(out.read_text())
    assert [r["seq"] for r in rows] == [2, 3, 4, 5]
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["completes"] == 1 and rows[0]["after"] == {"link": "L1"}
    assert rows[0]["erp_record_id"] == "PCM-1"


def test_export_everything_as_json(run, db: Path) -> None:
    written(db)
    rows = json.loads(run("audit", "export", "--format", "json").stdout)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["request"] == {"method": "PATCH", "path": "/salesCreditMemos(1)"}


@pytest.mark.parametrize(("args", "expected"), [
    (("audit", "export", "--since", "last week"), "--since 'last week' is not an ISO 8601"),
    (("audit", "export", "--format", "xml"), "'xml' is not one of 'csv', 'json'"),
])
def test_bad_input_is_one_line_and_exit_2(run, args: tuple[str, ...], expected: str) -> None:
    done = run(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("returns-console: ") and expected in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreadable_log_is_one_line_and_exit_2(run, db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_text("this is not a database, but it is long enough to look like a header\n" * 9)
    for args in (("audit", "verify"), ("audit", "export")):
        done = run(*args)
        assert done.returncode == 2, done
        assert done.stderr == f"returns-console: cannot read the audit log at {db}: file is " \
                              "not a database\n"


def _rechain(db: Path, keep: int) -> None:
    """An insider's rewrite: drop the rows after `keep`, edit one, chain every row anew with
    the same (unkeyed) scheme and move both anchors, so the log is consistent again."""
    from returns_console.store.audit import GENESIS, head_path, row_hash

    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER audit_append_only_edit")
    conn.execute("DROP TRIGGER audit_append_only_remove")
    conn.execute("DELETE FROM audit WHERE seq > ?", [keep])
    conn.execute("UPDATE audit SET error = 'never happened' WHERE seq = 1")
    prev = GENESIS
    for row in conn.execute("SELECT * FROM audit ORDER BY seq").fetchall():
        fields = dict(row)
        fields["prev_hash"] = prev
        fields["hash"] = prev = row_hash(fields)
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
                     [fields["prev_hash"], fields["hash"], fields["seq"]])
    conn.execute("UPDATE audit_head SET seq = ?, hash = ?", [keep, prev])
    conn.close()
    head_path(db).write_text(json.dumps({"seq": keep, "hash": prev}))


def test_a_head_kept_elsewhere_catches_a_rewritten_or_truncated_log(run, db: Path) -> None:
    """Issue 11.7: truncating the log and both anchors consistently, or chaining anew after
    an edit, passed `audit verify`. A head printed by `audit head` and kept elsewhere does
    not: the rows up to it can no longer change unnoticed."""
    written(db)
    head = run("audit", "head")
    assert head.returncode == 0 and head.stdout.startswith("5:")
    kept = head.stdout.strip()
    assert run("audit", "verify", "--head", kept).returncode == 0
    _rechain(db, keep=3)
    plain = run("audit", "verify")
    assert plain.returncode == 0  # consistent again: the chain alone cannot tell
    caught = run("audit", "verify", "--head", kept)
    assert caught.returncode == 1
    assert "row 5 of the kept head is not in the log (truncated?)" in caught.stdout
    assert run("audit", "verify", "--head", "3:" + "0" * 64).returncode == 1


def test_a_kept_head_makes_a_deleted_log_a_failure(run, db: Path) -> None:
    written(db)
    kept = run("audit", "head").stdout.strip()
    from returns_console.store.audit import head_path

    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                 head_path(db)):
        path.unlink(missing_ok=True)
    assert run("audit", "verify").returncode == 0  # no log and no head: "no log yet"
    gone = run("audit", "verify", "--head", kept)
    assert gone.returncode == 1 and "is missing" in gone.stdout
    bad = run("audit", "verify", "--head", "five")
    assert bad.returncode == 2 and "SEQ:HASH" in bad.stderr


KEY = "audit-key-held-elsewhere-0123456789"


def test_a_keyed_chain_cannot_be_rewritten_without_the_key(run, db: Path) -> None:
    """Issue 11.7: with the chain keyed (HMAC, key in the keyring or
    RETURNS_CONSOLE_AUDIT_KEY, never beside the log), chaining anew after an edit needs the
    key as well as the file; an insider with the file only is caught."""
    written(db)  # five unkeyed rows (a log from before the key)
    keyed = AuditLog(db, key=KEY.encode())
    keyed.record(**WHO, return_ref="R-7", action="note", parameters={"value": "x"},
                 outcome="succeeded")
    assert AuditLog(db, key=KEY.encode()).verify().ok  # the keyed row vouches for the rest
    with pytest.raises(Exception, match="is keyed, and its key is not at hand"):
        AuditLog(db).record(**WHO, return_ref="R-8", action="note", parameters={},
                            outcome="succeeded")
    _rechain(db, keep=6)  # the insider's rewrite, with everything but the key
    found = AuditLog(db, key=KEY.encode(), adopt=False).verify()
    assert not found.ok
    assert any("not keyed at its end" in p for p in found.problems), found.problems


def test_verify_with_the_key_from_the_environment(run, db: Path, home: Path) -> None:
    log = AuditLog(db, key=KEY.encode())
    log.record(**WHO, return_ref="R-1", action="note", parameters={}, outcome="succeeded")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNS_CONSOLE_")}
    env.update(RETURNS_CONSOLE_HOME=str(home), RETURNS_CONSOLE_AUDIT_KEY=KEY)
    done = subprocess.run([sys.executable, "-m", "returns_console", "audit", "verify"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout == "audit log OK: 1 rows, chain intact\n", \
        done.stdout
    env["RETURNS_CONSOLE_AUDIT_KEY"] = "not-the-key-at-all-000000"
    wrong = subprocess.run([sys.executable, "-m", "returns_console", "audit", "verify"],
                           capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert wrong.returncode == 1 and "not the one it was written with" in wrong.stdout
    nokey = run("audit", "verify")
    assert nokey.returncode == 1 and "verifying them needs the audit key" in nokey.stdout


def test_a_log_deleted_with_its_head_where_one_was_kept_is_a_failure(run, db: Path,
                                                                      home: Path) -> None:
    """Issue 11.7: deleting the database and its head file read as "no audit log yet",
    exit 0. Where this machine has kept a log (the config folder remembers it), it fails."""
    from returns_console.services.actions import Actions
    from returns_console.store.audit import head_path

    places = resolve(environ={"RETURNS_CONSOLE_HOME": str(home)})

    class Session:
        profile_name, systems, read_only = "acme", "swap|d365_bc", False

    actions = Actions(Session(), audit_path=db, triage_path=db.with_name("triage.sqlite3"),
                      operator="ann", witness=places.audit_witness)
    with actions._audit_log() as log:
        log.record(**WHO, return_ref="R-1", action="note", parameters={}, outcome="succeeded")
    assert places.audit_witness.exists()
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                 head_path(db)):
        path.unlink(missing_ok=True)
    done = run("audit", "verify")
    assert done.returncode == 1 and "is missing, but this machine has kept one" in done.stdout

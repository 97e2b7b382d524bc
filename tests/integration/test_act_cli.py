"""`returns-console act` against `returns-console sandbox` in its own process: re-queue is
idempotent, a crash between `pending` and the outcome is resolved at the next start by asking
the ERP, and the audit log holds every step."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from .test_live_check import SECRETS, _setup, cli
from .test_live_check import served as served

CRASH = "RETURNS_CONSOLE_CRASH_AT"


def _missing_credit(home: Path) -> str:
    done = cli("check", "--profile", "sandbox", "--format", "json", home=home, **SECRETS)
    report = json.loads(done.stdout)
    return next(f["return_ref"] for f in report["findings"]
                if f["code"] == "CREDIT_NOTE_MISSING")


def _creates(port: int) -> list[dict]:
    journal = httpx.get(f"http://127.0.0.1:{port}/_sandbox/writes").json()
    return [w for w in journal if w["method"] == "POST"
            and w["path"].rstrip("/").endswith("salesCreditMemos")]


def _audit(home: Path) -> list[dict]:
    done = cli("audit", "export", "--format", "json", home=home)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_requeue_twice_creates_exactly_one_credit_memo(tmp_path: Path, served) -> None:
    port, _ = served
    _setup(tmp_path, port)
    ref = _missing_credit(tmp_path)
    first = cli("act", "requeue", ref, "--yes", home=tmp_path, **SECRETS)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created and posted" in first.stdout
    again = cli("act", "requeue", ref, "--yes", home=tmp_path, **SECRETS)
    assert again.returncode == 1
    assert "already has credit note" in again.stderr  # the reason for exit 1
    assert len(_creates(port)) == 1
    check = cli("check", "--profile", "sandbox", "--format", "json", home=tmp_path, **SECRETS)
    assert ref not in {f["return_ref"] for f in json.loads(check.stdout)["findings"]
                       if f["code"] == "CREDIT_NOTE_MISSING"}


def test_a_crash_between_pending_and_outcome_is_resolved_at_the_next_start(
        tmp_path: Path, served) -> None:
    port, _ = served
    _setup(tmp_path, port)
    ref = _missing_credit(tmp_path)
    crashed = cli("act", "requeue", ref, "--yes", home=tmp_path, **SECRETS,
                  **{CRASH: "after_post"})
    assert crashed.returncode == -9  # SIGKILL: no outcome row could be written
    rows = _audit(tmp_path)
    assert [r["outcome"] for r in rows] == ["pending"]
    restart = cli("act", "requeue", ref, "--yes", home=tmp_path, **SECRETS)
    assert f"recovered: requeue_posting on {ref}" in restart.stderr
    assert "succeeded" in restart.stderr
    # the refusal is the reason for exit 1: on stderr, as the README says
    assert restart.returncode == 1 and "already has credit note" in restart.stderr
    assert "already has credit note" not in restart.stdout
    assert len(_creates(port)) == 1
    rows = _audit(tmp_path)
    # the second re-queue was refused when planned (a credit exists): audited, nothing sent
    assert [r["outcome"] for r in rows] == ["pending", "succeeded", "refused"]
    assert rows[1]["completes"] == rows[0]["seq"] and "resolved at start" in rows[1]["error"]
    verify = cli("audit", "verify", home=tmp_path)
    assert verify.returncode == 0, verify.stdout


def test_read_only_refuses_on_the_command_line_and_sends_nothing(tmp_path: Path,
                                                                 served) -> None:
    port, _ = served
    _setup(tmp_path, port)
    ref = _missing_credit(tmp_path)
    done = cli("--read-only", "act", "requeue", ref, "--yes", home=tmp_path, **SECRETS)
    assert done.returncode == 1 and "read-only" in done.stderr
    assert _creates(port) == []
    assert [r["outcome"] for r in _audit(tmp_path)] == ["refused"]


def test_requeue_from_the_command_line_never_credits_an_unrefunded_return(
        tmp_path: Path, served) -> None:
    """Issue 9.9, through the CLI: a return the platform has received but not refunded (its
    receipt missing in BC) gets no credit memo, and the refusal is audited."""
    port, _ = served
    _setup(tmp_path, port)
    done = cli("check", "--profile", "sandbox", "--format", "json", home=tmp_path, **SECRETS)
    findings = json.loads(done.stdout)["findings"]
    ref = next(f["return_ref"] for f in findings if f["code"] == "RECEIPT_NOT_POSTED")
    assert all(f["action"] == "none" and "Business Central" in f["todo"]
               for f in findings if f["code"] == "RECEIPT_NOT_POSTED")
    refused = cli("act", "requeue", ref, "--yes", home=tmp_path, **SECRETS)
    assert refused.returncode == 1
    assert "has not refunded" in refused.stderr and "refused" not in refused.stdout
    assert _creates(port) == []


def test_act_without_yes_and_no_terminal_says_it_needs_yes(tmp_path: Path, served) -> None:
    """Issue 10.9: on a closed stdin `act` used to exit 130 'aborted'."""
    port, _ = served
    _setup(tmp_path, port)
    done = cli("act", "remap-sku", "TEE-GRN-XL", "TEE-BLK-M", "--factor", "1", home=tmp_path,
               **SECRETS)
    assert done.returncode == 2
    assert "--yes" in done.stderr and "nothing was changed" in done.stderr

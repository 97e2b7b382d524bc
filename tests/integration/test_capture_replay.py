"""`capture` then `check --replay` / `open --replay` (issue 9): what the sandbox's APIs
answered, kept without secrets or personal data, reconciles offline to the same findings."""

from __future__ import annotations

import json
from pathlib import Path

from .test_live_check import SECRETS, _setup, cli
from .test_live_check import served as served

NOW = "2026-11-21T10:00:00Z"


def _found(report: dict) -> set[tuple[str, str, bool]]:
    return ({(f["return_ref"], f["code"], False) for f in report["findings"]}
            | {(f["return_ref"], f["code"], True) for f in report["delays"]})


def test_capture_then_replay_gives_the_live_findings_and_keeps_no_secret(
        tmp_path: Path, served) -> None:
    port, _ = served
    _setup(tmp_path, port)
    live = cli("check", "--profile", "sandbox", "--format", "json", "--full", "--now", NOW,
               home=tmp_path, **SECRETS)
    assert live.returncode == 1, live.stderr
    folder = tmp_path / "ticket-4711"
    done = cli("capture", "--profile", "sandbox", "--out", str(folder), home=tmp_path,
               **SECRETS)
    assert done.returncode == 0, done.stderr
    assert "captured" in done.stdout and "check --replay" in done.stdout

    kept = "\n".join(p.read_text() for p in folder.iterdir())
    for secret in SECRETS.values():
        assert secret not in kept
    assert "Bearer " not in kept and "x-api-key" not in kept.lower()
    # the demo's customers are customerNNNNN@example.com, "Customer N"
    assert "@example.com" not in kept and '"Customer ' not in kept
    assert "@example.invalid" in kept  # pseudonyms, the same on both sides

    # offline: another home, no secrets, the sandbox may as well be gone
    replayed = cli("check", "--replay", str(folder), "--format", "json", "--now", NOW,
                   home=tmp_path / "elsewhere")
    assert replayed.returncode == 1, replayed.stderr
    want, got = json.loads(live.stdout), json.loads(replayed.stdout)
    assert _found(got) == _found(want)
    assert got["platform"]["status"] == got["erp"]["status"] == "ok"
    assert got["returns_checked"] == want["returns_checked"]


def test_a_folder_that_is_no_capture_is_one_clear_line(tmp_path: Path) -> None:
    done = cli("check", "--replay", str(tmp_path), home=tmp_path)
    assert done.returncode == 2
    assert "is not a capture" in done.stderr and "Traceback" not in done.stderr

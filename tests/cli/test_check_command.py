"""`returns-console check`: the headless contract of spec section 4, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from returns_console.domain.catalogue import CATALOGUE
from returns_console.domain.codes import Code

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "canonical" / "scenario.json"
TRUTH = ROOT / "fixtures" / "canonical" / "scenario.truth.json"
REQUIRED = {
    "code", "stage", "kind", "severity", "owner", "return_ref", "order_ref", "line_ref",
    "platform_value", "erp_value", "message", "detected_at", "age_hours", "action",
}


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "returns_console", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120,
    )


@pytest.fixture(scope="module")
def report() -> dict:
    done = cli("check", "--snapshot", str(FIXTURE), "--format", "json")
    assert done.returncode == 1, done.stderr  # critical findings present, default --fail-on
    assert done.stderr == ""
    return json.loads(done.stdout)


def test_reports_every_code_of_the_catalogue_and_only_the_planted_ones(report: dict) -> None:
    truth = json.loads(TRUTH.read_text())
    found = {(f["return_ref"], f["code"], False) for f in report["findings"]}
    found |= {(f["return_ref"], f["code"], True) for f in report["delays"]}
    assert found == {(t["return_ref"], t["code"], t["delay"]) for t in truth}
    assert {f["code"] for f in report["findings"]} == {c.value for c in Code}


def test_healthy_returns_have_no_finding(report: dict) -> None:
    planted = {t["return_ref"] for t in json.loads(TRUTH.read_text())}
    flagged = {f["return_ref"] for f in report["findings"] + report["delays"]}
    assert flagged <= planted
    assert report["returns_checked"] - len(planted) >= 0.7 * report["returns_checked"]


def test_findings_carry_the_contract_fields(report: dict) -> None:
    assert report["platform"]["system"] == "swap" and report["platform"]["status"] == "ok"
    assert report["erp"]["system"] == "d365_bc" and report["erp"]["status"] == "ok"
    for finding in report["findings"]:
        assert finding.keys() >= REQUIRED
        entry = CATALOGUE[Code(finding["code"])]
        assert finding["kind"] == entry.kind.value
        # the catalogue's action, or none with the step to take in the ERP instead
        assert finding["action"] == entry.action.value or (
            finding["action"] == "none" and finding.get("todo"))
        if entry.stage is not None:
            assert finding["stage"] == entry.stage.value
        assert isinstance(finding["age_hours"], float | int)


def test_money_travels_as_strings(report: dict) -> None:
    money = [f for f in report["findings"] if f["code"] == "TAX_MISMATCH"]
    assert money and all(isinstance(f["platform_value"], str) for f in money)
    assert money[0]["component"] == "tax"


def test_same_snapshot_same_output() -> None:
    a = cli("check", "--snapshot", str(FIXTURE), "--format", "json")
    b = cli("check", "--snapshot", str(FIXTURE), "--format", "json")
    assert a.stdout == b.stdout


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 1), ("low", 1)])
def test_fail_on_sets_the_exit_code(fail_on: str, code: int) -> None:
    done = cli("check", "--snapshot", str(FIXTURE), "--fail-on", fail_on, "--format", "json")
    assert done.returncode == code


def test_exit_zero_when_nothing_reaches_the_threshold(tmp_path: Path) -> None:
    snapshot = json.loads(FIXTURE.read_text())
    planted = {t["return_ref"] for t in json.loads(TRUTH.read_text())}
    snapshot["returns"] = [r for r in snapshot["returns"]
                           if r["platform"]["return_ref"] not in planted]
    path = tmp_path / "healthy.json"
    path.write_text(json.dumps(snapshot))
    done = cli("check", "--snapshot", str(path), "--fail-on", "low", "--format", "json")
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["findings"] == []


def test_table_format_is_for_people() -> None:
    done = cli("check", "--snapshot", str(FIXTURE), "--format", "table")
    assert done.returncode == 1
    assert "CREDIT_NOTE_MISSING" in done.stdout
    count = len(json.loads(cli("check", "--snapshot", str(FIXTURE), "--format",
                               "json").stdout)["findings"])
    assert f"{count} finding(s)" in done.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("{not json", "is not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"platform": {"system": "swap"}}', "erp: Field required"),
        ("BAD_ENUM", "returns[0].platform.stages.authorised.status"),
        ("BAD_DECIMAL", "returns[0].platform.lines[0].quantity"),
        ("EXTRA_FIELD", "returns[0].erp.surprise"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path: Path, content: str | None,
                                                 expected: str) -> None:
    path = tmp_path / "snap.json"
    if content is not None:
        snapshot = json.loads(FIXTURE.read_text())
        case = snapshot["returns"][0]
        if content == "BAD_ENUM":
            case["platform"]["stages"]["authorised"]["status"] = "finished"
        elif content == "BAD_DECIMAL":
            case["platform"]["lines"][0]["quantity"] = "two"
        elif content == "EXTRA_FIELD":
            case["erp"]["surprise"] = 1
        else:
            snapshot = None
        path.write_text(content if snapshot is None else json.dumps(snapshot))
    done = cli("check", "--snapshot", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [("check",), ("check", "--format", "xml", "--snapshot", "x"), ("nope",),
     ("check", "--snapshot", str(FIXTURE), "--now", "yesterday")],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("returns-console: ")


def test_demo_prints_the_demo_findings() -> None:
    """Every code the Swap Commerce and Business Central pair can show (neither reports
    when stock went back on sale, so PREMATURE_RESTOCK cannot be seen there)."""
    done = cli("demo", "--format", "json")
    assert done.returncode == 0, done.stderr
    codes = {f["code"] for f in json.loads(done.stdout)["findings"]}
    assert codes == {c.value for c in Code} - {"PREMATURE_RESTOCK"}


def test_committed_fixture_matches_the_scenario_builder(tmp_path: Path) -> None:
    """The fixture is generated, not hand-edited: regenerate and compare."""
    done = cli("scenario", "--now", "2026-11-21T10:00:00Z", "--returns", "100",
               "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "scenario.json").read_text()) == json.loads(FIXTURE.read_text())
    assert json.loads((tmp_path / "scenario.truth.json").read_text()) == json.loads(
        TRUTH.read_text()
    )


def test_committed_native_fixtures_match_the_sandbox(tmp_path: Path) -> None:
    """fixtures/demo/native is what the sandbox serves at the reference clock, in each API's
    own JSON: regenerated, it must not have drifted."""
    done = cli("scenario", "--native", "--now", "2026-11-21T10:00:00Z", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    committed = ROOT / "fixtures" / "demo" / "native"
    for name in ("swap.json", "d365_bc.json", "truth.json"):
        assert json.loads((tmp_path / name).read_text()) == json.loads(
            (committed / name).read_text()), name


def test_a_mostly_unreadable_source_is_degraded_and_never_all_clear(tmp_path: Path) -> None:
    """Issue 9.2: when a real share of a source's records could not be read, its status is
    `degraded` with the count, and `check` exits non-zero whatever --fail-on says."""
    snapshot = json.loads(FIXTURE.read_text())
    healthy = [c for c in snapshot["returns"]
               if c["platform"]["return_ref"] not in
               {t["return_ref"] for t in json.loads(TRUTH.read_text())}][:20]
    for case in healthy[:4]:  # 4 of 20: 20% unreadable
        case["problems"] = [{"side": "platform", "record_id": case["platform"]["return_ref"],
                             "error": "return_status: Input should be 'Open', ..."}]
    snapshot["returns"] = healthy
    path = tmp_path / "degraded.json"
    path.write_text(json.dumps(snapshot))
    done = cli("check", "--snapshot", str(path), "--format", "json", "--fail-on", "critical")
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert out["platform"]["status"] == "degraded" and out["platform"]["unreadable"] == 4
    assert "4 of 20" in out["platform"]["error"]
    assert out["erp"]["status"] == "ok"
    assert not any(f["severity"] == "critical" for f in out["findings"])  # only degraded
    table = cli("check", "--snapshot", str(path), "--format", "table")
    assert table.returncode == 1 and "degraded" in table.stdout
    # one unreadable record in twenty is a finding, not a degraded source
    for case in healthy[1:4]:
        del case["problems"]
    path.write_text(json.dumps(snapshot))
    done = cli("check", "--snapshot", str(path), "--format", "json", "--fail-on", "critical")
    assert json.loads(done.stdout)["platform"]["status"] == "ok" and done.returncode == 0


def test_close_lists_what_blocks_the_period_as_json_csv_and_a_table() -> None:
    """Issue 10.13: `returns-console close --period 2026-11`, headless."""
    done = cli("close", "--snapshot", str(FIXTURE), "--period", "2026-11", "--format", "json")
    assert done.returncode == 1, done.stderr  # something blocks November
    view = json.loads(done.stdout)
    assert view["period"] == {"name": "Nov 2026", "start": "2026-11-01", "end": "2026-11-30",
                              "closed": False, "from_erp": True}
    reasons = {b["reason"] for b in view["blockers"]}
    assert {"no_credit_note", "mismatch"} <= reasons
    assert view["at_risk"]["GBP"]["total"] and view["by_owner"]["finance"]["GBP"]
    codes = {b["code"] for b in view["blockers"] if b["code"]}
    assert "CREDIT_WITHOUT_REFUND" in codes
    csv_out = cli("close", "--snapshot", str(FIXTURE), "--period", "2026-11", "--format", "csv")
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("return_ref,order_ref,reason,code,owner")
    assert len(lines) == len(view["blockers"]) + 1
    table = cli("close", "--snapshot", str(FIXTURE), "--period", "Nov 2026")
    assert "Close Nov 2026" in table.stdout and "block the close" in table.stdout
    bad = cli("close", "--snapshot", str(FIXTURE), "--period", "Q4")
    assert bad.returncode == 2 and "no accounting period" in bad.stderr


def test_check_table_fits_an_80_column_terminal_and_never_cuts_a_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10.9: at 80 columns the table becomes a list, every finding's return reference
    whole, nothing wider than the terminal."""
    import io

    from returns_console.services.check import check_snapshot
    from returns_console.services.snapshot_io import load_snapshot
    from returns_console.table_output import render_table

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    report = check_snapshot(load_snapshot(FIXTURE))
    out = Terminal()
    render_table(report, out)
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert all(len(line) <= 80 for line in text.splitlines())
    for f in report.findings:
        assert f" {f.return_ref} " in text

"""Findings come back from the report the console keeps exactly as they were written."""

from __future__ import annotations

from pathlib import Path

import pytest

from returns_console.domain.findings import Finding
from returns_console.services.check import CheckReport, check_snapshot
from returns_console.services.snapshot_io import load_snapshot

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"


def test_every_finding_of_a_report_comes_back_equal() -> None:
    report = check_snapshot(load_snapshot(FIXTURE))
    back = CheckReport.from_json(report.to_json())
    assert back.findings == report.findings and back.result.delays == report.result.delays
    assert [f.to_json() for f in back.findings] == [f.to_json() for f in report.findings]


def test_a_value_no_member_has_is_refused_as_before() -> None:
    data = check_snapshot(load_snapshot(FIXTURE)).findings[0].to_json()
    with pytest.raises(ValueError):
        Finding.from_json({**data, "code": "NO_SUCH_CODE"})
    with pytest.raises(ValueError):
        Finding.from_json({**data, "detected_at": "yesterday"}, {})

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


def test_a_finding_read_back_aged_writes_the_json_a_later_run_would() -> None:
    """The record index's findings come back aged to a later moment: their JSON (copied from
    what was stored) is what the finding aged to that moment writes, key for key, in the
    same order; and a finding changed with `replace` is written from its fields."""
    from dataclasses import replace
    from datetime import timedelta

    for finding in check_snapshot(load_snapshot(FIXTURE)).findings:
        later = finding.detected_at + timedelta(hours=30, minutes=7)
        stored = {**finding.to_json(), "since": finding.since.isoformat()
                  if finding.since else None}
        back = Finding.from_json(stored, {}, later)
        expected = finding.aged(later).to_json()
        assert list(back.to_json().items()) == list(expected.items())
        changed = replace(back, message="changed")
        assert changed.stored is None and changed.to_json()["message"] == "changed"


def test_a_finding_read_back_keeps_its_id_until_it_changes() -> None:
    """The console keys its queue by id: a finding read back takes the id it was written
    with (no hash at start), the same id hashing its fields gives; `replace` drops it, so a
    finding whose identity changed hashes its own."""
    from dataclasses import replace

    for finding in check_snapshot(load_snapshot(FIXTURE)).findings:
        back = Finding.from_json(finding.to_json(), {})
        assert back.known_id == finding.id and back.id == finding.id
        other = replace(back, return_ref=back.return_ref + "-X")
        assert other.known_id is None
        assert other.id == replace(finding, return_ref=finding.return_ref + "-X").id != back.id
    data = check_snapshot(load_snapshot(FIXTURE)).findings[0].to_json()
    del data["id"]  # a report without ids (written by hand, or by another tool): hashed
    assert Finding.from_json(data).id == check_snapshot(load_snapshot(FIXTURE)).findings[0].id

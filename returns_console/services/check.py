"""The headless check: reconcile a snapshot and report it in the shape of spec section 4."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import systems
from ..domain.codes import Severity, StageStatus
from ..domain.findings import Finding, severity_at_least
from ..domain.reconcile import Result, reconcile
from ..domain.snapshot import Snapshot, SourceInfo

#: A source is `degraded` when more than this share of its records could not be read: a
#: stray malformed record is a PAYLOAD_INVALID finding, a real share of them means the
#: check cannot vouch for that source, so it never reads as all clear.
DEGRADED_SHARE = 0.05


@dataclass(slots=True)
class SourceStatus:
    system: str
    status: str  # ok | degraded | stale | down
    fetched_at: datetime | None
    records: int
    error: str | None = None
    #: Records read but not readable (each a PAYLOAD_INVALID finding).
    unreadable: int = 0
    #: What the read wants a person to know that is no finding (`PlatformBatch.notes`).
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceStatus:
        notes = data.get("notes")
        return cls(data["system"], data["status"], _moment(data.get("fetched_at")),
                   int(data.get("records") or 0), data.get("error"),
                   int(data.get("unreadable") or 0),
                   [str(n) for n in notes] if isinstance(notes, list) else [])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "system": self.system,
            "status": self.status,
            "fetched_at": _iso(self.fetched_at),
            "records": self.records,
            "unreadable": self.unreadable,
        }
        if self.error:
            out["error"] = self.error
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def count_unreadable(self, unreadable: int, records: int) -> None:
        """Mark the source degraded when a real share of what it sent could not be read."""
        self.unreadable = unreadable
        if records and unreadable / records > DEGRADED_SHARE and self.status == "ok":
            self.status = "degraded"
            self.error = (f"{unreadable} of {records} records could not be read "
                          f"(PAYLOAD_INVALID); findings for this source are incomplete")

    @property
    def degraded(self) -> bool:
        return self.status == "degraded"


@dataclass(slots=True)
class CheckReport:
    generated_at: datetime
    profile: str
    platform: SourceStatus
    erp: SourceStatus
    result: Result
    #: Both views of every return checked, for drill-down (not part of the JSON output).
    cases: list = field(default_factory=list, repr=False)
    #: The ERP's master data the check used (its accounting periods for the close view).
    master: Any = field(default=None, repr=False)
    #: Its JSON made already (a finished report written to the cache, then printed).
    made: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings

    def failing(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.result.findings if severity_at_least(f, threshold)]

    def exit_code(self, fail_on: Severity) -> int:
        """1 when a finding is at or above `fail_on`, and whenever a source is not `ok`
        (degraded, or stale: not read now, its cached data shown): a source that could not
        be read is never all clear."""
        unread = any(side.status != "ok" for side in (self.platform, self.erp))
        return 1 if unread or self.failing(fail_on) else 0

    def to_json(self) -> dict[str, Any]:
        if self.made is not None:
            return self.made
        findings = self.result.findings
        return {
            "generated_at": _iso(self.generated_at),
            "profile": self.profile,
            "platform": self.platform.to_json(),
            "erp": self.erp.to_json(),
            "returns_checked": self.result.returns_checked,
            "summary": summarise(findings),
            "findings": [f.to_json() for f in findings],
            "delays": [f.to_json() for f in self.result.delays],
        }


    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckReport:
        """Back from `to_json` (the console's cache of the last report): findings, delays
        and sources; the cases behind them are not part of it."""
        moments: dict[str, datetime] = {}  # one report's findings share their moments
        result = Result(findings=[Finding.from_json(f, moments) for f in data["findings"]],
                        delays=[Finding.from_json(f, moments) for f in data.get("delays", [])],
                        returns_checked=int(data.get("returns_checked") or 0))
        return cls(generated_at=_moment(data["generated_at"]) or datetime.now(UTC),
                   profile=data["profile"], platform=SourceStatus.from_json(data["platform"]),
                   erp=SourceStatus.from_json(data["erp"]), result=result)


def summarise(findings: list[Finding]) -> dict[str, Any]:
    def count(attr: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in findings:
            key = getattr(f, attr).value
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    at_risk = sum((f.amount_at_risk for f in findings if f.amount_at_risk is not None), 0)
    return {
        "findings": len(findings),
        "by_severity": count("severity"),
        "by_kind": count("kind"),
        "by_owner": count("owner"),
        "by_code": count("code"),
        "amount_at_risk": f"{at_risk:f}" if at_risk else "0",
    }


def check_snapshot(
    snapshot: Snapshot, *, now: datetime | None = None, workers: int = 1
) -> CheckReport:
    ctx = snapshot.context(now, names=systems.names())
    result = reconcile(snapshot.returns, ctx, workers=workers)
    report = CheckReport(
        generated_at=datetime.now(UTC) if now is None and snapshot.as_of is None else ctx.now,
        profile=snapshot.profile,
        platform=_ok(snapshot.platform, len(snapshot.returns)),
        erp=_ok(snapshot.erp, erp_record_count(snapshot.returns)),
        result=result,
        cases=list(snapshot.returns),
        master=snapshot.erp_master,
    )
    count_unreadable(report, snapshot.returns)
    return report


def count_unreadable(report: CheckReport, cases) -> None:
    """Each side's unreadable records (PAYLOAD_INVALID) against what it sent."""
    bad = {"platform": 0, "erp": 0}
    for case in cases:
        for problem in case.problems:
            bad[problem.side.value] += 1
    report.platform.count_unreadable(bad["platform"], report.platform.records)
    report.erp.count_unreadable(bad["erp"], report.erp.records + bad["erp"])


def erp_record_count(cases) -> int:
    """ERP documents behind the views: a return order counts one, each credit note one (a
    view of stages the ERP cannot show, and nothing else, is no document)."""
    count = 0
    for case in cases:  # a plain loop: 10,000 returns twice a check
        erp = case.erp
        count += len(erp.credit_notes)
        for stage in erp.stages.values():
            if stage.status is not _NA:
                count += 1
                break
    return count


_NA = StageStatus.NOT_APPLICABLE


def _ok(source: SourceInfo, records: int) -> SourceStatus:
    return SourceStatus(source.system, "ok", source.fetched_at, records)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

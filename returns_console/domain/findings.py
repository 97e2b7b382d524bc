"""A finding: one named disagreement between the platform and the ERP on one return.

Carries every field of spec section 4 plus a few the console uses (component, side, delay,
amount at risk). Plain dataclass: the engine makes many and they are never validated twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from .codes import STAGE_ORDER, Action, Code, Kind, Owner, Severity, Side, Stage
from .slots import quick_init


@dataclass(frozen=True, slots=True)
class Finding:
    code: Code
    stage: Stage
    kind: Kind
    severity: Severity
    owner: Owner
    action: Action
    return_ref: str
    order_ref: str | None
    line_ref: str | None
    platform_value: str | None
    erp_value: str | None
    message: str
    detected_at: datetime
    age_hours: float
    platform_system: str
    erp_system: str
    #: Within its grace period: a delay to show, not an error to alarm on.
    delay: bool = False
    #: For money mismatches, the component that differs.
    component: str | None = None
    #: Which system's record the finding is about, where it is one-sided.
    side: Side | None = None
    amount_at_risk: Decimal | None = None
    currency: str | None = None
    #: What to do, where the ERP needs something other than the catalogue's advice (its API
    #: cannot create the missing record: the step to take in the ERP itself).
    todo: str | None = None
    #: When its clock started (what `age_hours` counts from): kept so a finding found again
    #: unchanged can be aged to a later run (`aged`). Not part of its identity or its JSON.
    since: datetime | None = field(default=None, compare=False, repr=False)
    #: The JSON it was read back from with its age at a later moment (the record index's),
    #: for `to_json` to copy rather than build again. Not an argument, so `replace` drops
    #: it: a finding changed in any way is never written as it was.
    stored: dict[str, Any] | None = field(default=None, init=False, compare=False,
                                          repr=False)
    #: The id the JSON it was read back from gave (`from_json`): the console's start reads
    #: 10,000 findings and keys its queue by id, and a hash each cost it 45 ms before its
    #: first frame. Not an argument, so `replace` drops it and a changed finding hashes again.
    known_id: str | None = field(default=None, init=False, compare=False, repr=False)

    def aged(self, now: datetime) -> Finding:
        """This finding as a run at `now` would make it, its return unchanged and none of
        its rules' clocks crossed (domain/reconcile.py knows when that holds)."""
        if now == self.detected_at:  # found at that moment (a check's returns checked
            return self              # as they were read, services/early.py)
        since = self.since
        age = max(0.0, (now - since).total_seconds() / 3600.0) if since else 0.0
        return replace(self, detected_at=now, age_hours=age)

    @property
    def id(self) -> str:
        """Stable across runs: the same problem on the same return keeps its identity, so
        triage state (acknowledged, snoozed, owner) can follow it."""
        known = self.known_id
        if known is not None:
            return known
        raw = "|".join(
            (self.code, self.return_ref, self.stage, self.line_ref or "", self.component or "")
        )
        return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.return_ref,
            STAGE_ORDER[self.stage],
            self.code,
            self.line_ref or "",
            self.component or "",
            self.side or "",
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of `check --format json` (spec section 4, plus extras)."""
        stored = self.stored
        if stored is not None:  # the same keys in the same order, aged
            out = {key: value for key, value in stored.items() if key != "since"}
            out["detected_at"] = _iso(self.detected_at)
            out["age_hours"] = round(self.age_hours, 2)
            return out
        return {
            "id": self.id,
            "code": self.code.value,
            "stage": self.stage.value,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "owner": self.owner.value,
            "return_ref": self.return_ref,
            "order_ref": self.order_ref,
            "line_ref": self.line_ref,
            "platform_value": self.platform_value,
            "erp_value": self.erp_value,
            "message": self.message,
            "detected_at": _iso(self.detected_at),
            "age_hours": round(self.age_hours, 2),
            "action": self.action.value,
            "delay": self.delay,
            "component": self.component,
            "side": self.side.value if self.side else None,
            "amount_at_risk": None if self.amount_at_risk is None else f"{self.amount_at_risk:f}",
            "currency": self.currency,
            "platform_system": self.platform_system,
            "erp_system": self.erp_system,
            "todo": self.todo,
        }


    @classmethod
    def from_json(cls, data: dict[str, Any], moments: dict[str, datetime] | None = None,
                  now: datetime | None = None) -> Finding:
        """Back from `to_json` (the console's cache of the last report, read before its
        first frame: enum members by value from dicts, not by calling the enum, and each
        `detected_at` text parsed once per `moments` memo, which one report's findings
        share). With `now`, a finding stored with its `since` (the record index's) comes
        back `aged` to `now` at once."""
        amount = data.get("amount_at_risk")
        side = data.get("side")
        moment = _moment(data["detected_at"], moments)
        age = float(data["age_hours"])
        since = None
        if now is not None:
            moment = now
            text = data.get("since")
            since = _moment(text, moments) if text else None
            age = max(0.0, (now - since).total_seconds() / 3600.0) if since else 0.0
        made = cls(
            code=_CODES[data["code"]], stage=_STAGES[data["stage"]], kind=_KINDS[data["kind"]],
            severity=_SEVERITIES[data["severity"]], owner=_OWNERS[data["owner"]],
            action=_ACTIONS[data["action"]], return_ref=data["return_ref"],
            order_ref=data.get("order_ref"), line_ref=data.get("line_ref"),
            platform_value=data.get("platform_value"), erp_value=data.get("erp_value"),
            message=data["message"], detected_at=moment,
            age_hours=age, platform_system=data["platform_system"],
            erp_system=data["erp_system"], delay=bool(data.get("delay")),
            component=data.get("component"), side=_SIDES[side] if side else None,
            amount_at_risk=None if amount is None else Decimal(amount),
            currency=data.get("currency"), todo=data.get("todo"), since=since,
        )
        if now is not None:
            object.__setattr__(made, "stored", data)
        known = data.get("id")
        if isinstance(known, str) and known:
            object.__setattr__(made, "known_id", known)
        return made


#: Made through its slots' descriptors (domain/slots.py): a check makes one a problem, the
#: console's start 10,000 from the report.
Finding.__init__ = quick_init(Finding)  # type: ignore[method-assign]


def _moment(text: str, moments: dict[str, datetime] | None) -> datetime:
    moment = moments.get(text) if moments is not None else None
    if moment is None:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moments is not None:
            moments[text] = moment
    return moment


class _ByValue(dict):
    """value → member; a value no member has is the enum's own ValueError, as before."""

    def __init__(self, enum: Any) -> None:
        super().__init__((m.value, m) for m in enum)
        self.enum = enum

    def __missing__(self, value: Any) -> Any:
        return self.enum(value)


_CODES, _STAGES, _KINDS = _ByValue(Code), _ByValue(Stage), _ByValue(Kind)
_SEVERITIES, _OWNERS, _ACTIONS, _SIDES = (_ByValue(Severity), _ByValue(Owner),
                                          _ByValue(Action), _ByValue(Side))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def severity_at_least(finding: Finding, threshold: Severity) -> bool:
    return not finding.delay and finding.severity.rank >= threshold.rank

"""Month-end close: what stops one ERP accounting period from closing, and how much money.

Finance asks one question before close. For the period, this lists each return that blocks
it, and why:

- `no_credit_note`: the platform refunded in the period; the ERP has no credit note;
- `draft_not_posted`: the credit note is still a draft;
- `credit_in_later_period` / `credit_in_closed_period`: the refund is in this period, its
  credit note was posted into a later period, or into another period that is closed;
- `mismatch`: a credit note posted in the period disagrees with the platform (amount, tax,
  a duplicate, a credit the platform never refunded) — the finding's code says which.

Money is summed per currency by component and by owner. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .codes import CREDITED, DONE, Code, Component, Owner
from .findings import Finding
from .model import CreditNote, ReturnCase
from .money import MoneyBreakdown
from .reference import AccountingPeriod, ErpMaster

#: Findings on a credit posted in the period that keep it from closing.
MISMATCHES = frozenset({Code.REFUND_AMOUNT_MISMATCH, Code.TAX_MISMATCH,
                        Code.CREDIT_NOTE_DUPLICATE, Code.CREDIT_WITHOUT_REFUND,
                        Code.EXTERNAL_REF_CONFLICT, Code.CLOSED_PERIOD})
REASONS = {
    "no_credit_note": "refunded in the period, no credit note in the ERP",
    "draft_not_posted": "the credit note is still a draft",
    "credit_in_later_period": "the credit note was posted into a later period",
    "credit_in_closed_period": "the credit note was posted into another, closed period",
    "mismatch": "a credit note posted in the period disagrees with the platform",
}
COMPONENTS = tuple(c.value for c in Component)


@dataclass(frozen=True, slots=True)
class Period:
    """One accounting period: from `start` to `end` inclusive."""

    name: str
    start: date
    end: date
    closed: bool
    #: False: the ERP publishes no periods, this is the calendar month.
    from_erp: bool = True

    def holds(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Blocker:
    return_ref: str
    order_ref: str | None
    reason: str
    owner: Owner
    money: MoneyBreakdown | None
    refunded_on: date | None
    document: str | None = None
    posting_date: date | None = None
    posting_period: str | None = None
    code: Code | None = None

    @property
    def detail(self) -> str:
        what = REASONS[self.reason]
        if self.code is not None:
            what += f" ({self.code.value})"
        if self.document:
            where = f" in {self.posting_period}" if self.posting_period else ""
            when = f" on {self.posting_date}" if self.posting_date else ""
            what += f": {self.document}{when}{where}"
        return what

    def to_json(self) -> dict:
        money = self.money
        return {
            "return_ref": self.return_ref, "order_ref": self.order_ref,
            "reason": self.reason, "code": self.code.value if self.code else None,
            "detail": self.detail, "owner": self.owner.value,
            "refunded_on": _day(self.refunded_on), "document": self.document,
            "posting_date": _day(self.posting_date), "posting_period": self.posting_period,
            "currency": money.currency if money else None,
            "amount": f"{money.total:f}" if money else None,
            **{c: (f"{getattr(money, c):f}" if money else None) for c in COMPONENTS},
        }


@dataclass(slots=True)
class CloseReport:
    period: Period
    blockers: list[Blocker] = field(default_factory=list)
    #: Returns the platform refunded in the period (blocking or not).
    refunded: int = 0

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Per currency: each component and the total at risk."""
        out: dict[str, dict[str, Decimal]] = {}
        for b in self._counted():
            assert b.money is not None
            sums = out.setdefault(b.money.currency, dict.fromkeys((*COMPONENTS, "total"),
                                                                  Decimal(0)))
            for c in COMPONENTS:
                sums[c] += getattr(b.money, c)
            sums["total"] += b.money.total
        return out

    def by_owner(self) -> dict[str, dict[str, Decimal]]:
        """Per owner: the total at risk per currency."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for b in self._counted():
            assert b.money is not None
            out[b.owner.value][b.money.currency] += b.money.total
        return {k: dict(v) for k, v in sorted(out.items())}

    def _counted(self) -> list[Blocker]:
        """Each return's money once (a return may block for two reasons)."""
        seen: set[str] = set()
        out = []
        for b in self.blockers:
            if b.money is not None and b.return_ref not in seen:
                seen.add(b.return_ref)
                out.append(b)
        return out

    def to_json(self) -> dict:
        p = self.period
        return {
            "period": {"name": p.name, "start": _day(p.start), "end": _day(p.end),
                       "closed": p.closed, "from_erp": p.from_erp},
            "refunded_in_period": self.refunded,
            "blocking_returns": len({b.return_ref for b in self.blockers}),
            "at_risk": {cur: {k: f"{v:f}" for k, v in sums.items()}
                        for cur, sums in self.totals().items()},
            "by_owner": {owner: {cur: f"{v:f}" for cur, v in sums.items()}
                         for owner, sums in self.by_owner().items()},
            "blockers": [b.to_json() for b in self.blockers],
        }


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def periods(master: ErpMaster) -> list[Period]:
    """The ERP's accounting periods, each ending the day before the next starts."""
    ordered = sorted(master.periods, key=lambda p: p.start)
    out = []
    for n, p in enumerate(ordered):
        end = ordered[n + 1].start - timedelta(days=1) if n + 1 < len(ordered) else \
            _month_end(p.start)
        out.append(Period(p.name or p.start.strftime("%b %Y"), p.start, end, p.closed))
    return out


def find_period(master: ErpMaster, wanted: str | None, today: date) -> Period:
    """`2026-11` (the period holding the 1st of that month), a period's name, or None for
    the period holding `today`. Without ERP periods, the calendar month."""
    known = periods(master)
    if wanted:
        text = wanted.strip()
        month = _MONTH.match(text)
        if month:
            day = date(int(month[1]), int(month[2]), 1)
        else:
            named = next((p for p in known if p.name.casefold() == text.casefold()), None)
            if named is None:
                names = ", ".join(p.name for p in known[-6:]) or "none published"
                raise ValueError(f"no accounting period {text!r}: give YYYY-MM or one of "
                                 f"{names}")
            return named
    else:
        day = today
    found = next((p for p in known if p.holds(day)), None)
    if found is not None:
        return found
    start = day.replace(day=1)
    return Period(start.strftime("%b %Y"), start, _month_end(start), False, from_erp=False)


def close_period(cases: Sequence[ReturnCase], findings: Iterable[Finding], master: ErpMaster,
                 period: Period) -> CloseReport:
    report = CloseReport(period)
    known = periods(master)
    by_return: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if not f.delay:
            by_return[f.return_ref].append(f)
    for case in cases:
        if case.unlinked:
            continue
        p, e = case.platform, case.erp
        notes = [n for n in e.credit_notes if n.status != "cancelled"]
        posted = [n for n in notes if n.status == "posted"]
        credited = p.stages.get(CREDITED)
        refunded_on = credited.at.date() if credited is not None and credited.status is DONE \
            and credited.at is not None else None
        owner = next((f.owner for f in by_return[case.return_ref]
                      if f.stage == CREDITED), Owner.FINANCE)

        def blocker(reason: str, note: CreditNote | None = None, code: Code | None = None,
                    money: MoneyBreakdown | None = None, _case: ReturnCase = case,
                    _owner: Owner = owner, _on: date | None = refunded_on) -> Blocker:
            at = note.posting_date if note else None
            return Blocker(_case.return_ref, _case.platform.order_ref or _case.erp.order_ref,
                           reason, _owner, money or _case.platform.refund, _on,
                           document=(note.number or note.id) if note else None,
                           posting_date=at, posting_period=_name(known, at), code=code)

        if period.holds(refunded_on):
            report.refunded += 1
            in_period = [n for n in posted if period.holds(n.posting_date)]
            if not in_period:
                if posted:
                    note = posted[0]
                    later = note.posting_date is not None and note.posting_date > period.end
                    closed = _closed(known, note.posting_date)
                    if later:
                        report.blockers.append(blocker("credit_in_later_period", note))
                    elif closed:
                        report.blockers.append(blocker("credit_in_closed_period", note))
                    else:
                        report.blockers.append(blocker("credit_in_later_period", note))
                elif notes:
                    report.blockers.append(blocker("draft_not_posted", notes[0]))
                else:
                    report.blockers.append(blocker("no_credit_note"))
        for note in posted:
            if not period.holds(note.posting_date):
                continue
            for f in by_return[case.return_ref]:
                if f.code in MISMATCHES:
                    report.blockers.append(blocker("mismatch", note, f.code,
                                                   _at_risk(f, note)))
                    break
            break
    report.blockers.sort(key=lambda b: (-(b.money.total if b.money else Decimal(0)),
                                        b.return_ref, b.reason))
    return report


def _at_risk(finding: Finding, note: CreditNote) -> MoneyBreakdown | None:
    """The money a mismatch puts at risk: the credit the platform never refunded, the
    component that differs, else the finding's amount."""
    if finding.code is Code.CREDIT_WITHOUT_REFUND or finding.amount_at_risk is None:
        return note.amounts
    currency = finding.currency or (note.amounts.currency if note.amounts else None)
    if currency is None:
        return None
    part = finding.component if finding.component in COMPONENTS else "items"
    return MoneyBreakdown(currency=currency, **{part: abs(finding.amount_at_risk)})


def _month_end(start: date) -> date:
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _closed(known: list[Period], day: date | None) -> bool:
    return any(p.holds(day) and p.closed for p in known)


def _name(known: list[Period], day: date | None) -> str | None:
    if day is None:
        return None
    found = next((p for p in known if p.holds(day)), None)
    if found is None:
        return None
    return f"{found.name} ({'closed' if found.closed else 'open'})"


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


__all__ = ["AccountingPeriod", "Blocker", "CloseReport", "Period", "close_period",
           "find_period", "periods"]

"""Checking again only what may have changed: the findings of each return are kept between
runs of one session (the console's refreshes), and a return is checked again when its
records differ, when what it is checked against differs (mappings, master data, policy), or
when a clock one of its rules read runs out (`CaseView.changes_at`: a grace period ending,
an age a message shows rounding to the next figure). Every other return's findings are the
last run's, aged to now: the same findings a full run would make (tests/property prove it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from .findings import Finding
from .memory import gc_paused
from .model import ReturnCase
from .pace import breathe
from .pairing import link_of
from .reconcile import PARALLEL_MIN, Result, _can_fork, _parallel, _result, check_case
from .view import Context


@dataclass(slots=True)
class _Kept:
    case: ReturnCase
    findings: list[Finding]
    #: None: holds until the return's records change.
    until: datetime | None


class Rechecker:
    """`reconcile` for a session that runs it again and again over mostly the same returns.
    Connectors that carry unchanged views over from the last read (the same objects) make
    the comparison of a return with its last run nearly free."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, bool, int], _Kept] = {}
        self._ctx: Context | None = None
        #: Returns checked again by the last run (the others were carried over).
        self.checked = 0
        #: The keys `warm` was given since the last run.
        self._warmed: set[tuple[str, bool, int]] = set()

    def run(self, cases: Sequence[ReturnCase], ctx: Context, *, workers: int = 1) -> Result:
        same_world = self._same_world(ctx)
        keys = _keys(cases)
        kept = self._kept if same_world else {}
        # Per return, in the order given: findings that sort equal keep it, as in reconcile.
        per_case: list[list[Finding]] = []
        again: list[int] = []
        now = ctx.now
        with gc_paused():
            for n, (key, case) in enumerate(zip(keys, cases, strict=True)):
                last = kept.get(key)
                if last is not None and last.case == case and (
                        last.until is None or now < last.until):
                    last.case = case  # the newer objects: the older ones may be freed
                    per_case.append([f.aged(now) for f in last.findings])
                else:
                    again.append(n)
                    per_case.append([])
            fresh = self._check([cases[n] for n in again], ctx, workers)
        self._kept = {key: kept[key] for key in keys if key in kept}
        for n, (findings, until) in zip(again, fresh, strict=True):
            self._kept[keys[n]] = _Kept(cases[n], findings, until)
            per_case[n] = findings
        self._ctx, self.checked = ctx, len(again)
        self._warmed = set()
        return _result([f for found in per_case for f in found], len(cases))

    def warm(self, cases: Iterable[ReturnCase], ctx: Context) -> int:
        """Check `cases` ahead of the run that will be given them (a check's returns as
        their pages arrive, services/early.py): the run carries each over where its case
        is the same and checks again what is not. Kept beside what is kept; a second
        return under one link is left to the run (which of the two it is, the run says).
        How many were checked (not those kept already as they are)."""
        if not self._same_world(ctx):
            self._kept = {}
        kept, warmed, now = self._kept, self._warmed, ctx.now
        checked = 0
        with gc_paused():
            for case in cases:
                key = (link_of(case.platform.return_ref), case.unlinked, 0)
                if key in warmed:
                    continue
                warmed.add(key)
                last = kept.get(key)
                if last is not None and last.case == case and (
                        last.until is None or now < last.until):
                    continue
                breathe()
                findings, until = check_case(case, ctx)
                kept[key] = _Kept(case, findings, until)
                checked += 1
        self._ctx = ctx
        return checked

    def found(self, cases: Iterable[ReturnCase]) -> Iterator[tuple[ReturnCase, list[Finding]]]:
        """The findings kept for each of `cases` that is the very case kept (after `warm`:
        those it checked or found as they were), the same list the run carries over."""
        kept = self._kept
        for case in cases:
            last = kept.get((link_of(case.platform.return_ref), case.unlinked, 0))
            if last is not None and last.case is case:
                yield case, last.findings

    def warming(self) -> None:
        """A read begins whose returns `warm` will be given (a read before it that never
        reached its run left its keys behind)."""
        self._warmed = set()

    def unwarm(self) -> None:
        """What `warm` was given since the last run is not what the run will have (the
        read failed, and the run checks what the cache holds): forgotten, not compared."""
        for key in self._warmed:
            self._kept.pop(key, None)
        self._warmed = set()

    def outcomes(self) -> Iterator[tuple[ReturnCase, list[Finding], datetime | None]]:
        """Each return of the last run with its findings and the moment they may change
        with the return unchanged (None: not before its records do)."""
        for kept in self._kept.values():
            yield kept.case, kept.findings, kept.until

    def _same_world(self, ctx: Context) -> bool:
        """Whether the last run's findings can stand: checked against the same things, and
        the clock has not gone back (findings are only carried forward in time)."""
        last = self._ctx
        return last is not None and ctx.now >= last.now and (
            _same(last.mappings, ctx.mappings) and _same(last.master, ctx.master)
            and _same(last.policy, ctx.policy) and _same(last.names, ctx.names))

    @staticmethod
    def _check(cases: list[ReturnCase], ctx: Context,
               workers: int) -> list[tuple[list[Finding], datetime | None]]:
        if workers > 1 and len(cases) >= PARALLEL_MIN and _can_fork():
            return _parallel(cases, ctx, workers, check_case)
        out = []
        for case in cases:
            breathe()  # a person typing in the console goes first (pace.py)
            out.append(check_case(case, ctx))
        return out


def _same(a: object, b: object) -> bool:
    return a is b or a == b


def _keys(cases: Sequence[ReturnCase]) -> list[tuple[str, bool, int]]:
    """A key per return that a later run's same return has too: its link, whether it is an
    ERP record with no platform return, and which of several with one link it is."""
    seen: dict[tuple[str, bool], int] = {}
    out = []
    for case in cases:
        base = (link_of(case.platform.return_ref), case.unlinked)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append((*base, n))
    return out

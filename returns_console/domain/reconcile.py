"""The reconciliation engine: every rule over every return, deterministic and order-free."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from .codes import Code
from .findings import Finding
from .memory import gc_paused
from .model import ReturnCase
from .pace import breathe
from .rules import RULES, Rule
from .rules.data import erp_record_unlinked, payload_invalid
from .view import CaseView, Context

T = TypeVar("T")

#: Below this many returns a second process costs more than it saves.
PARALLEL_MIN = 20_000


@dataclass(slots=True)
class Result:
    """Errors and delays of one run, each sorted the same way whatever the input order."""

    findings: list[Finding] = field(default_factory=list)
    delays: list[Finding] = field(default_factory=list)
    returns_checked: int = 0


#: The rules of a return whose records validated and that has a platform side: the two
#: others are decided before them (`check_case`) and find nothing here.
_RULES: tuple[Rule, ...] = tuple(
    rule for code, rule in RULES.items()
    if code not in (Code.PAYLOAD_INVALID, Code.ERP_RECORD_UNLINKED))


def _rules_for(ctx: Context) -> tuple[Rule, ...]:
    """The rules of codes the ERP can show (all, for nearly every ERP)."""
    hidden = ctx.master.unobservable
    if not hidden:
        return _RULES
    return _rules_without(hidden)


@functools.cache
def _rules_without(hidden: frozenset[Code]) -> tuple[Rule, ...]:
    """Worked out once per set of codes an ERP cannot show, not once per return."""
    return tuple(rule for code, rule in RULES.items()
                 if code not in hidden and rule in _RULES)


def reconcile_case(case: ReturnCase, ctx: Context) -> list[Finding]:
    """All findings (errors and delays) for one return, unsorted.

    A return with a record that did not validate is reported as PAYLOAD_INVALID only: its
    views are incomplete, and checking them would invent mismatches that are not there.
    """
    return check_case(case, ctx)[0]


def check_case(case: ReturnCase, ctx: Context) -> tuple[list[Finding], datetime | None]:
    """`reconcile_case`, and the moment from which the answer may differ with the return
    unchanged (None: not before its records change)."""
    view = CaseView(case, ctx)
    if case.problems:
        return list(payload_invalid(view)), view.changes_at
    if case.unlinked:  # no platform side to compare: only the broken link to report
        return list(erp_record_unlinked(view)), view.changes_at
    out: list[Finding] = []
    for rule in _rules_for(ctx):
        found = rule(view)
        if found:
            out.extend(found)
    return out, view.changes_at


def _reconcile_all(cases: Iterable[ReturnCase], ctx: Context) -> list[Finding]:
    with gc_paused():  # see memory.py: the collector would re-walk every return in memory
        out: list[Finding] = []
        extend, check = out.extend, check_case
        for case in cases:
            breathe()  # a person typing in the console goes first (pace.py)
            extend(check(case, ctx)[0])
        return out


# Inherited by forked workers, so the returns are never pickled to reach them.
_SHARED: tuple[Sequence[ReturnCase], Context, Callable[[ReturnCase, Context], Any]] | None \
    = None


def _reconcile_slice(start: int, stop: int) -> list[Any]:
    assert _SHARED is not None
    cases, ctx, each = _SHARED
    with gc_paused():
        return [each(case, ctx) for case in cases[start:stop]]


def _parallel(cases: Sequence[ReturnCase], ctx: Context, workers: int,
              each: Callable[[ReturnCase, Context], T]) -> list[T]:
    """`each` of every return, in order, the returns split over forked processes."""
    import multiprocessing  # only here: most runs never fork (imports cost every start)
    from concurrent.futures import ProcessPoolExecutor

    global _SHARED
    _SHARED = (cases, ctx, each)
    try:
        step = -(-len(cases) // workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = [pool.submit(_reconcile_slice, i, i + step)
                     for i in range(0, len(cases), step)]
            return [out for part in parts for out in part.result()]
    finally:
        _SHARED = None


def reconcile(cases: Iterable[ReturnCase], ctx: Context, *, workers: int = 1) -> Result:
    """Reconcile every return. With `workers` > 1 and a large batch, split the batch over
    forked processes (only from a process with no other threads: the CLI, not the TUI)."""
    if workers > 1 and _can_fork():
        cases = cases if isinstance(cases, Sequence) else list(cases)
        if len(cases) >= PARALLEL_MIN:
            found = _parallel(cases, ctx, workers, reconcile_case)
            return _result([f for part in found for f in part], len(cases))
    cases = cases if isinstance(cases, Sequence) else list(cases)
    return _result(_reconcile_all(cases, ctx), len(cases))


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _result(found: list[Finding], count: int) -> Result:
    result = Result(returns_checked=count)
    for finding in found:
        (result.delays if finding.delay else result.findings).append(finding)
    result.findings.sort(key=Finding.sort_key)
    result.delays.sort(key=Finding.sort_key)
    return result

"""Checking again only what may have changed gives exactly what checking everything gives.

A session's Rechecker carries each return's findings forward while its records and the
world it is checked against are unchanged and no clock a rule read has run out. Over random
scenarios, clocks moving forward by any step (a microsecond, exact half hours that land on
rounding ties, days), returns changed, added and dropped between runs, its result must
equal a full `reconcile` at every run: every field, ages and messages included.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from returns_console.domain.codes import Stage, StageStatus
from returns_console.domain.model import ReturnCase, StageView
from returns_console.domain.recheck import Rechecker
from returns_console.domain.reconcile import Result, reconcile
from returns_console.domain.reference import Policy
from returns_console.domain.snapshot import Snapshot
from returns_console.scenarios.catalogue import build_scenario

clocks = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 12, 31),
                      timezones=st.just(UTC))
steps = st.one_of(
    st.just(timedelta(0)),
    st.integers(min_value=1, max_value=10).map(lambda n: timedelta(microseconds=n)),
    st.integers(min_value=1, max_value=400).map(lambda n: timedelta(minutes=30 * n)),
    st.integers(min_value=1, max_value=3 * 24 * 3600).map(lambda n: timedelta(seconds=n)),
    st.integers(min_value=1, max_value=3).map(lambda n: timedelta(milliseconds=n)),
)


def _cases(now: datetime, seed: int, size: int) -> tuple[list[ReturnCase], object]:
    scenario = build_scenario(now, returns=size, healthy_share=0.3, seed=seed, customers=60)
    snapshot = Snapshot.model_validate(scenario.snapshot)
    return list(snapshot.returns), snapshot.context()


def _same(got: Result, want: Result) -> None:
    assert got.returns_checked == want.returns_checked
    assert [f.to_json() for f in got.findings] == [f.to_json() for f in want.findings]
    assert [f.to_json() for f in got.delays] == [f.to_json() for f in want.delays]
    assert got.findings == want.findings and got.delays == want.delays


@settings(max_examples=25, deadline=None)
@given(start=clocks, seed=st.integers(0, 2**32 - 1), runs=st.lists(steps, min_size=2,
                                                                      max_size=6),
       rnd=st.randoms(use_true_random=False),
       back=st.one_of(st.just(timedelta(0)),
                      st.integers(1, 20 * 24).map(lambda n: timedelta(hours=n))))
def test_rechecking_equals_checking_everything(start, seed, runs, rnd: random.Random,
                                               back: timedelta) -> None:
    """`back`: the clock starts before some records' times (stamped in its future)."""
    cases, ctx = _cases(start, seed, 40)
    others, _ = _cases(start, seed + 1, 20)
    checker = Rechecker()
    now = start - back
    for step in runs:
        now += step
        at = replace(ctx, now=now)
        _same(checker.run(cases, at), reconcile(cases, at))
        cases = _changed(cases, others, rnd)


def _changed(cases: list[ReturnCase], others: list[ReturnCase],
             rnd: random.Random) -> list[ReturnCase]:
    """Some returns dropped, some added, some with the other side of another return."""
    out = [c for c in cases if rnd.random() > 0.1]
    out += rnd.sample(others, k=min(len(others), rnd.randint(0, 3)))
    for n in rnd.sample(range(len(out)), k=min(len(out), 3)):
        donor = rnd.choice(others)
        out[n] = replace(out[n], erp=donor.erp)
    rnd.shuffle(out)
    return out


@settings(max_examples=10, deadline=None)
@given(start=clocks, seed=st.integers(0, 2**32 - 1))
def test_an_unchanged_world_is_carried_over_and_a_changed_one_checked_again(start, seed):
    cases, ctx = _cases(start, seed, 30)
    checker = Rechecker()
    checker.run(cases, ctx)
    assert checker.checked == len(cases)
    checker.run(cases, ctx)
    assert checker.checked == 0
    policy = ctx.policy.model_copy(update={"tolerance": ctx.policy.tolerance + 1})
    _same(checker.run(cases, replace(ctx, policy=policy)), reconcile(cases, replace(
        ctx, policy=policy)))
    assert checker.checked == len(cases)
    earlier = replace(ctx, policy=policy, now=ctx.now - timedelta(seconds=1))
    _same(checker.run(cases, earlier), reconcile(cases, earlier))
    assert checker.checked == len(cases)  # the clock went back: nothing carried over


# -- cases the random scenarios do not reach (found by review) -------------------------------

T = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def _healthy(seed: int) -> tuple[list[ReturnCase], object]:
    snapshot = Snapshot.model_validate(
        build_scenario(T, returns=40, healthy_share=1.0, seed=seed).snapshot)
    return list(snapshot.returns), snapshot.context()


def test_an_undated_credit_note_passing_a_dated_one_is_checked_again() -> None:
    """Live notes sort undated ones as now: once now passes a note dated later, another
    note counts, and the return must be checked again."""
    cases, ctx = _healthy(7)
    base = next(c for c in cases if c.erp.credit_notes and c.platform.refund
                and c.platform.stages.get(Stage.CREDITED)
                and c.erp.credit_notes[0].status == "posted")
    note = base.erp.credit_notes[0]
    later = replace(note, id="b-note", number="CM-B", posted_at=T + timedelta(hours=1),
                    amounts=replace(note.amounts, items=note.amounts.items + Decimal("5.00")))
    notes = (replace(note, id="a-note", number="CM-A", posted_at=None), later,
             replace(note, id="c-note", number="CM-C", posted_at=None))
    case = replace(base, erp=replace(base.erp, credit_notes=notes))
    checker = Rechecker()
    for now in (T, T + timedelta(hours=2)):
        at = replace(ctx, now=now)
        _same(checker.run([case], at), reconcile([case], at))


def test_a_date_near_the_calendars_end_or_a_very_long_grace_is_never_crossed() -> None:
    """A placeholder far in the future, or a grace a policy allows, puts the moment a rule's
    answer changes past the last date: no hold, no OverflowError (which stopped every
    return's check)."""
    cases, ctx = _healthy(3)
    far = datetime(9999, 12, 31, tzinfo=UTC)
    first = cases[0]
    stages = {Stage.AUTHORISED: first.platform.stages[Stage.AUTHORISED],
              Stage.IN_TRANSIT: StageView(status=StageStatus.PENDING, at=far)}
    cases[0] = replace(first, platform=replace(first.platform, stages=stages))
    inspected = next(c for c in cases[1:] if c.platform.stages.get(Stage.INSPECTED)
                     and c.platform.stages[Stage.INSPECTED].status is StageStatus.DONE
                     and c.erp.stages.get(Stage.RECEIVED)
                     and c.erp.stages[Stage.RECEIVED].status is StageStatus.DONE)
    erp_stages = dict(inspected.erp.stages)
    erp_stages[Stage.INSPECTED] = StageView(status=StageStatus.PENDING)
    cases.append(replace(inspected, erp=replace(inspected.erp, stages=erp_stages)))
    policy = Policy.model_validate({"grace_hours": {"inspected": 87600},
                                    "overdue_medium_factor": 900, "overdue_high_factor": 1000})
    checker = Rechecker()
    for at in (ctx, replace(ctx, policy=policy), replace(ctx, policy=policy,
                                                         now=ctx.now + timedelta(days=400))):
        _same(checker.run(cases, at), reconcile(cases, at))


@settings(max_examples=25, deadline=None)
@given(start=clocks, seed=st.integers(0, 2**32 - 1), step=steps,
       rnd=st.randoms(use_true_random=False), kept=st.booleans())
def test_returns_checked_ahead_change_nothing_the_run_gives(start, seed, step,
                                                           rnd: random.Random, kept: bool):
    """`warm` (a check's returns as their pages arrive): any returns, in any slices, with
    another side or a second return under one link, at the run's moment or before it;
    the run then gives what checking everything gives, and checks again only the
    returns that were not warmed as they are."""
    cases, ctx = _cases(start, seed, 40)
    others, _ = _cases(start, seed + 1, 20)
    checker = Rechecker()
    if kept:  # a session's run before (the console's refresh)
        checker.run(_changed(cases, others, rnd), replace(ctx, now=start - step))
    ahead = _changed(cases, others, rnd) + rnd.sample(cases, k=5)
    at = replace(ctx, now=start + step)
    for at_ in (ctx, at):  # warmed at the start, run later; or both at one moment
        warm = Rechecker()
        warm._kept, warm._ctx = dict(checker._kept), checker._ctx
        for n in range(0, len(ahead), 7):
            warm.warm(ahead[n:n + 7], ctx)
        _same(warm.run(cases, at_), reconcile(cases, at_))
    exact, twice = Rechecker(), Rechecker()
    exact.warm(cases, ctx)
    exact.run(cases, ctx)
    twice.run(cases, ctx)
    twice.run(cases, ctx)  # what a run carries over of its own (a clock at `now` is not)
    seconds = len(cases) - len({(c.platform.return_ref.strip().casefold(), c.unlinked)
                                for c in cases})  # a second return under one link
    assert exact.checked == twice.checked + seconds

"""Property tests for the reconciliation engine.

- deterministic and independent of input order (returns, lines, credit notes);
- identical views give no finding (healthy returns, at a clock within every grace period);
- every planted or hand-bent inconsistency gives at least the code it should.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from returns_console.domain.codes import Code, Component, Stage
from returns_console.domain.findings import Finding
from returns_console.domain.model import parse_cases
from returns_console.domain.reconcile import reconcile, reconcile_case
from returns_console.domain.reference import DEFAULT_GRACE_HOURS
from returns_console.domain.snapshot import Snapshot
from returns_console.scenarios.builder import ERP_AT, PLATFORM_AT, PROGRESS, Shape, build_return
from returns_console.scenarios.catalogue import build_scenario
from returns_console.scenarios.plants import PLANTS
from returns_console.scenarios.world import reference_data
from tests.factories import context, healthy, parse, run

CUSTOMERS = 60

#: Clocks to reconcile at: any moment this century, in UTC.
clocks = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
return_numbers = st.integers(min_value=1, max_value=99_999)


def as_json(findings: list[Finding]) -> list[dict]:
    return [f.to_json() for f in findings]


def signature(findings: list[Finding]) -> set[tuple]:
    return {(f.code, f.line_ref, f.component, f.delay) for f in findings}


def world_context(now: datetime):
    """The demo world (mappings, master data, open/closed periods) as seen from `now`."""
    return context(ref=reference_data(customers=CUSTOMERS, now=now), now=now)


# ------------------------------------------------------------------ 2. order independence

scenarios = st.builds(
    lambda now, size, share, seed: build_scenario(
        now, returns=size, healthy_share=share, seed=seed, customers=CUSTOMERS
    ),
    now=clocks,
    size=st.integers(min_value=30, max_value=60),
    share=st.sampled_from([0.0, 0.3, 0.5, 0.7, 0.9]),
    seed=seeds,
)


def _load(snapshot: dict):
    snap = Snapshot.model_validate(snapshot)
    return list(snap.returns), snap.context()


@settings(max_examples=40, deadline=None)
@given(scenarios, st.randoms(use_true_random=False))
def test_reconcile_is_deterministic_and_independent_of_return_order(
    scenario, rnd: random.Random
) -> None:
    cases, ctx = _load(scenario.snapshot)
    first = reconcile(cases, ctx)
    again = reconcile(cases, ctx)
    shuffled_cases = list(cases)
    rnd.shuffle(shuffled_cases)
    shuffled = reconcile(shuffled_cases, ctx)
    from_iterator = reconcile(iter(reversed(cases)), ctx)

    assert first.returns_checked == shuffled.returns_checked == len(cases)
    for other in (again, shuffled, from_iterator):
        assert as_json(other.findings) == as_json(first.findings)
        assert as_json(other.delays) == as_json(first.delays)
    # Sorted, and every finding landed on the right list.
    assert first.findings == sorted(first.findings, key=Finding.sort_key)
    assert first.delays == sorted(first.delays, key=Finding.sort_key)
    assert not any(f.delay for f in first.findings)
    assert all(f.delay for f in first.delays)


def _shuffle_inside(case: dict, rnd: random.Random) -> None:
    for side, key in (("platform", "lines"), ("erp", "lines"), ("erp", "credit_notes"),
                      ("platform", "fees")):
        items = case.get(side, {}).get(key)
        if items:
            rnd.shuffle(items)
    if case.get("problems"):
        rnd.shuffle(case["problems"])


@settings(max_examples=40, deadline=None)
@given(scenarios, st.randoms(use_true_random=False))
def test_shuffling_lines_and_credit_notes_inside_a_return_changes_nothing(
    scenario, rnd: random.Random
) -> None:
    cases, ctx = _load(scenario.snapshot)
    mixed = copy.deepcopy(scenario.snapshot["returns"])
    for case in mixed:
        _shuffle_inside(case, rnd)
    before = reconcile(cases, ctx)
    after = reconcile(parse_cases(mixed), ctx)

    def per_return(result) -> dict[str, set[tuple]]:
        out: dict[str, set[tuple]] = defaultdict(set)
        for f in result.findings + result.delays:
            out[f.return_ref] |= signature([f])
        return dict(out)

    assert per_return(after) == per_return(before)


@settings(max_examples=40, deadline=None)
@given(scenarios)
def test_the_scenario_truth_is_found(scenario) -> None:
    """Every planted exception of a generated scenario is reported, as error or delay."""
    cases, ctx = _load(scenario.snapshot)
    result = reconcile(cases, ctx)
    found = {(f.return_ref, f.code.value, f.delay) for f in result.findings + result.delays}
    for planted in scenario.truth:
        assert (planted["return_ref"], planted["code"], planted["delay"]) in found, planted


# ------------------------------------------------------------------ 3. identical views

GRACE = {stage: timedelta(hours=h) for stage, h in DEFAULT_GRACE_HOURS.items()}
#: "Shortly after": how long past the last event a finished return is reconciled at most.
SHORTLY = timedelta(hours=20)


def _window(progress: str, exchange: bool) -> tuple[timedelta, timedelta]:
    """Offsets from the start between which every event has happened and no grace period
    has run out yet, for a healthy return built with this shape."""
    reached = PROGRESS.index(progress)
    events = [PLATFORM_AT[s] for s in PROGRESS[: reached + 1]] + [ERP_AT["authorised"]]
    if reached >= PROGRESS.index("received"):
        events += [ERP_AT["received"]]
    if reached >= PROGRESS.index("inspected"):
        events += [ERP_AT["inspected"]]
    if progress == "credited":
        events += [ERP_AT["credited"], PLATFORM_AT["restocked"], ERP_AT["restocked"]]
    last = max(events)

    if progress == "in_transit":
        # The parcel may stay with the carrier for the in-transit grace period.
        latest = PLATFORM_AT["in_transit"] + GRACE[Stage.IN_TRANSIT]
    elif progress == "received":
        # Received, waiting for inspection on the platform.
        latest = PLATFORM_AT["received"] + GRACE[Stage.INSPECTED]
    elif progress == "inspected" and not exchange:
        # Inspected, waiting for the refund.
        latest = PLATFORM_AT["inspected"] + GRACE[Stage.CREDITED]
    else:
        # Nothing is left to wait for: reconcile "shortly" after the last event.
        latest = last + SHORTLY
    assert latest >= last, (progress, exchange)
    return last, latest


@settings(max_examples=100, deadline=None)
@given(
    seed=seeds,
    i=return_numbers,
    progress=st.sampled_from(("in_transit", "received", "inspected", "credited")),
    exchange=st.booleans(),
    start=clocks,
    data=st.data(),
)
def test_identical_views_give_no_finding(
    seed: int, i: int, progress: str, exchange: bool, start: datetime, data: st.DataObject
) -> None:
    earliest, latest = _window(progress, exchange)
    after = data.draw(
        st.integers(min_value=0, max_value=int((latest - earliest).total_seconds())),
        label="seconds after the last event",
    )
    now = start + earliest + timedelta(seconds=after)
    case = build_return(i, random.Random(seed),
                        Shape(start=start, progress=progress, exchange=exchange), CUSTOMERS)
    findings = reconcile_case(parse(case), world_context(now))
    assert as_json(findings) == []


# ------------------------------------------------------------------ 4. planted inconsistencies

plant_numbers = st.integers(min_value=0, max_value=len(PLANTS) - 1)


def _planted(k: int, seed: int, i: int, now: datetime) -> dict:
    plant = PLANTS[k]
    case = build_return(i, random.Random(seed), plant.shape(now), CUSTOMERS)
    planted = plant.mutate(case, now)
    return case if planted is None else planted  # a plant may carry its own case


@settings(max_examples=150, deadline=None)
@given(k=plant_numbers, seed=seeds, i=return_numbers, now=clocks)
def test_every_plant_shows_its_code(k: int, seed: int, i: int, now: datetime) -> None:
    plant = PLANTS[k]
    findings = reconcile_case(parse(_planted(k, seed, i, now)), world_context(now))
    assert (plant.code, plant.delay) in {(f.code, f.delay) for f in findings}, (
        plant.code, plant.note, as_json(findings))


@settings(max_examples=150, deadline=None)
@given(k=plant_numbers, seed=seeds, i=return_numbers, now=clocks)
def test_every_plant_shows_only_its_code(k: int, seed: int, i: int, now: datetime) -> None:
    """plants.py: each plant bends a healthy return 'so that it shows that code, and only
    that code'."""
    plant = PLANTS[k]
    findings = reconcile_case(parse(_planted(k, seed, i, now)), world_context(now))
    assert {f.code for f in findings} == {plant.code}, (plant.code, as_json(findings))


#: Non-zero differences, in cents or finer, small and large, either sign.
differences = st.one_of(
    st.integers(min_value=-10**9, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2)),
    st.decimals(min_value=Decimal("-0.0099"), max_value=Decimal("0.0099"), places=4),
).filter(lambda d: d != 0)

credited_healthy = st.builds(
    lambda seed, days: healthy(days_ago=days, seed=seed, single_line=False),
    seed=seeds,
    days=st.floats(min_value=3.3, max_value=60),
)


@settings(max_examples=100, deadline=None)
@given(credited_healthy, differences)
def test_erp_tax_off_by_anything_is_a_tax_mismatch(case: dict, delta: Decimal) -> None:
    amounts = case["erp"]["credit_notes"][0]["amounts"]
    old = Decimal(amounts["tax"])
    amounts["tax"] = f"{old + delta:f}"
    findings = run(case)
    taxes = [f for f in findings if f.code is Code.TAX_MISMATCH]
    assert len(taxes) == 1, as_json(findings)
    (tax,) = taxes
    assert not tax.delay
    assert tax.component == Component.TAX.value
    assert Decimal(tax.platform_value) == old
    assert Decimal(tax.erp_value) == old + delta
    assert tax.amount_at_risk == abs(delta)
    assert Code.REFUND_AMOUNT_MISMATCH not in {f.code for f in findings}


@settings(max_examples=100, deadline=None)
@given(credited_healthy, differences,
       st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False))
def test_tax_within_tolerance_is_not_a_mismatch(
    case: dict, delta: Decimal, tolerance: Decimal
) -> None:
    amounts = case["erp"]["credit_notes"][0]["amounts"]
    amounts["tax"] = f"{Decimal(amounts['tax']) + delta:f}"
    found = {f.code for f in run(case, context(tolerance=str(tolerance)))}
    assert (Code.TAX_MISMATCH in found) == (abs(delta) > tolerance)


NON_TAX = ("items", "shipping", "discounts", "fees")


@settings(max_examples=100, deadline=None)
@given(credited_healthy, st.sampled_from(NON_TAX), st.sampled_from(("platform", "erp")),
       differences)
def test_a_changed_component_is_a_refund_amount_mismatch_naming_it(
    case: dict, component: str, side: str, delta: Decimal
) -> None:
    refund = case["platform"]["refund"]
    credit = case["erp"]["credit_notes"][0]["amounts"]
    bent = refund if side == "platform" else credit
    bent[component] = f"{Decimal(bent[component]) + delta:f}"
    findings = run(case)
    mismatches = [f for f in findings if f.code is Code.REFUND_AMOUNT_MISMATCH]
    assert [f.component for f in mismatches] == [component], as_json(findings)
    (mismatch,) = mismatches
    assert not mismatch.delay
    assert Decimal(mismatch.platform_value) == Decimal(refund[component])
    assert Decimal(mismatch.erp_value) == Decimal(credit[component])
    assert mismatch.amount_at_risk == abs(delta)
    assert Code.TAX_MISMATCH not in {f.code for f in findings}


quantities = st.one_of(
    st.integers(min_value=0, max_value=10_000).map(Decimal),
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=100, deadline=None)
@given(credited_healthy, st.data(), quantities)
def test_a_different_erp_received_quantity_is_a_quantity_mismatch(
    case: dict, data: st.DataObject, quantity: Decimal
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=len(case["erp"]["lines"]) - 1),
                  label="line")
    eline, pline = case["erp"]["lines"][k], case["platform"]["lines"][k]
    assume(quantity != Decimal(eline["received_quantity"]))
    eline["received_quantity"] = f"{quantity:f}"
    findings = run(case)
    mismatches = [f for f in findings if f.code is Code.QUANTITY_MISMATCH]
    assert [f.line_ref for f in mismatches] == [pline["sku"]], as_json(findings)
    (mismatch,) = mismatches
    assert not mismatch.delay
    assert Decimal(mismatch.erp_value) == quantity
    assert Decimal(mismatch.platform_value) == Decimal(
        case["erp"]["lines"][k]["quantity"])  # platform quantity after conversion


# ------------------------------------------------------------------ 2b. one item, several SKUs


def pack_and_single_case(
    seed: int, packs: int, singles: int, conditions: tuple[str, str], off_by: int, split: int,
    locations: tuple[str, str],
) -> dict:
    """A return of one ERP item bought as a pack of three (SOCK-3PK) and as singles (SOCK-W):
    two platform SKUs on one item, as ItemGroup says either side may have, split over two
    ERP lines that may disagree on quantity (`off_by`) or location."""
    case = healthy(seed=seed)
    pline, eline = case["platform"]["lines"][0], case["erp"]["lines"][0]
    case["platform"]["lines"] = [
        dict(pline, line_ref="P-1", sku="SOCK-3PK", quantity=str(packs),
             received_quantity=str(packs), unit_price="12.00", condition=conditions[0]),
        dict(pline, line_ref="P-2", sku="SOCK-W", quantity=str(singles),
             received_quantity=str(singles), unit_price="4.00", condition=conditions[1]),
    ]
    total = max(packs * 3 + singles + off_by, 0)
    split = min(split, total)
    case["erp"]["lines"] = [
        dict(eline, line_ref=str(10000 * (n + 1)), item_no="SOCK-W", uom="PCS",
             quantity=str(qty), received_quantity=str(qty), location=location,
             disposition="RESELL" if location == "MAIN" else "QUARANTINE")
        for n, (qty, location) in enumerate(zip((split, total - split), locations, strict=True))
    ]
    return case


_conditions = st.sampled_from(("sellable", "damaged"))
_locations = st.sampled_from(("MAIN", "QUAR"))
pack_and_single = st.builds(
    pack_and_single_case,
    seed=seeds,
    packs=st.integers(min_value=1, max_value=3),
    singles=st.integers(min_value=1, max_value=3),
    conditions=st.tuples(_conditions, _conditions),
    off_by=st.integers(min_value=-1, max_value=1),
    split=st.integers(min_value=0, max_value=12),
    locations=st.tuples(_locations, _locations),
)


@settings(max_examples=100, deadline=None)
@example(pack_and_single_case(seed=0, packs=1, singles=1, conditions=("sellable", "sellable"),
                              off_by=1, split=0, locations=("MAIN", "MAIN")))
@given(pack_and_single)
def test_line_order_does_not_matter_when_two_skus_share_an_item(case: dict) -> None:
    flipped = copy.deepcopy(case)
    flipped["platform"]["lines"].reverse()
    flipped["erp"]["lines"].reverse()
    before, after = run(case), run(flipped)
    assert signature(after) == signature(before)
    assert {f.id for f in after} == {f.id for f in before}

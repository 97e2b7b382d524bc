"""Property tests: money never loses a cent.

MoneyBreakdown sums, totals and conversions are checked against exact rational arithmetic
(fractions.Fraction), and amounts survive the JSON round trip through parse_cases/dump_cases
digit for digit.

Amounts are drawn as whole cents up to ±10^15 (a quadrillion pounds). Sums of up to 60 of them
stay well inside the 28 significant digits of Python's default Decimal context, the most a
refund can use.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from operator import add

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from returns_console.domain.codes import Component
from returns_console.domain.model import dump_cases, parse_cases
from returns_console.domain.money import MoneyBreakdown
from tests.factories import healthy

COMPONENTS = tuple(c.value for c in Component)
MAX_CENTS = 10**17  # ±10^15 in currency units

#: Whole cents, as a Decimal with exactly two places ("0.10", "-12345.67"), biased towards
#: both the tiny and the huge end.
cents = st.one_of(
    st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS),
    st.integers(min_value=-1000, max_value=1000),
    st.sampled_from([0, 1, -1, 10, 99, -99, MAX_CENTS, -MAX_CENTS, MAX_CENTS - 1]),
)
amounts = cents.map(lambda c: Decimal(c).scaleb(-2))

currencies = st.from_regex(r"\A[A-Z]{3}\Z")


breakdowns = st.builds(
    MoneyBreakdown,
    currency=st.just("GBP"),
    items=amounts,
    tax=amounts,
    shipping=amounts,
    discounts=amounts,
    fees=amounts,
)


def exact_total(m: MoneyBreakdown) -> Fraction:
    return (Fraction(m.items) + Fraction(m.tax) + Fraction(m.shipping)
            - Fraction(m.discounts) - Fraction(m.fees))


# ------------------------------------------------------------------------------ sums


@settings(max_examples=100, deadline=None)
@given(st.lists(breakdowns, min_size=1, max_size=60))
def test_summing_breakdowns_equals_summing_each_component(parts: list[MoneyBreakdown]) -> None:
    summed = reduce(add, parts)
    assert summed.currency == "GBP"
    for name in COMPONENTS:
        by_component = reduce(add, (getattr(p, name) for p in parts))
        assert getattr(summed, name) == by_component
        assert Fraction(getattr(summed, name)) == sum(Fraction(getattr(p, name)) for p in parts)
        # Still whole cents: nothing was rounded away or invented.
        assert getattr(summed, name).as_tuple().exponent == -2


@settings(max_examples=100, deadline=None)
@given(st.lists(breakdowns, min_size=1, max_size=60))
def test_total_of_a_sum_is_the_exact_sum_of_totals(parts: list[MoneyBreakdown]) -> None:
    summed = reduce(add, parts)
    assert Fraction(summed.total) == exact_total(summed)
    assert Fraction(summed.total) == sum(exact_total(p) for p in parts)
    assert summed.total == reduce(add, (p.total for p in parts))


@settings(max_examples=100, deadline=None)
@given(breakdowns)
def test_total_is_exact(m: MoneyBreakdown) -> None:
    assert Fraction(m.total) == exact_total(m)
    for component in Component:
        assert m.component(component) == getattr(m, component.value)


@settings(max_examples=100, deadline=None)
@given(breakdowns, breakdowns, breakdowns)
def test_addition_is_commutative_and_associative(
    a: MoneyBreakdown, b: MoneyBreakdown, c: MoneyBreakdown
) -> None:
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    zero = MoneyBreakdown(currency="GBP")
    assert a + zero == a


@settings(max_examples=100, deadline=None)
@given(currencies, currencies, breakdowns, breakdowns)
def test_adding_different_currencies_raises(
    cur_a: str, cur_b: str, a: MoneyBreakdown, b: MoneyBreakdown
) -> None:
    assume(cur_a != cur_b)
    a = MoneyBreakdown(**{**_fields(a), "currency": cur_a})
    b = MoneyBreakdown(**{**_fields(b), "currency": cur_b})
    with pytest.raises(ValueError, match="cannot add"):
        a + b
    with pytest.raises(ValueError, match="cannot add"):
        b + a
    with pytest.raises(ValueError):
        reduce(add, [a, a, b, a])


def _fields(m: MoneyBreakdown) -> dict:
    return {"currency": m.currency, **{name: getattr(m, name) for name in COMPONENTS}}



# ------------------------------------------------------------------------------ JSON boundary

_MONEY = TypeAdapter(MoneyBreakdown)

#: Amount strings as a source system might send them: trailing zeros, no decimals, signs,
#: exponents. Each must come back as a Decimal equal in value *and* in digits.
amount_strings = st.one_of(
    amounts.map(lambda d: f"{d:f}"),
    st.sampled_from(["0.10", "0.1", "-0.00", "0", "100", "1E+2", "1.000", "12.5", "-7.05"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=4,
                min_value=-10**9, max_value=10**9).map(str),
)


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries({name: amount_strings for name in COMPONENTS}))
def test_breakdown_from_json_strings_keeps_every_digit(values: dict[str, str]) -> None:
    money = _MONEY.validate_python({"currency": "GBP", **values})
    for name, text in values.items():
        got = getattr(money, name)
        assert got == Decimal(text)
        assert got.as_tuple() == Decimal(text).as_tuple()  # "0.10" stays 0.10, not 0.1
    dumped = _MONEY.dump_python(money, mode="json")
    assert {name: dumped[name] for name in COMPONENTS} == {
        name: str(Decimal(text)) for name, text in values.items()
    }


@settings(max_examples=100, deadline=None)
@given(cents.filter(lambda c: abs(c) < 10**15))
def test_json_numbers_become_the_decimal_they_spell(c: int) -> None:
    """A JSON number like 0.10 turns into Decimal('0.1'), not the binary float's expansion."""
    text = f"{Decimal(c).scaleb(-2):f}"
    data = json.loads(f'{{"currency": "GBP", "items": {text}}}')
    assert _MONEY.validate_python(data).items == Decimal(text)


def _money_slots(case: dict) -> list[tuple[dict, str]]:
    """Every place an amount lives in a canonical return: (container, key)."""
    slots: list[tuple[dict, str]] = []
    refund = case["platform"].get("refund")
    if refund:
        slots += [(refund, name) for name in COMPONENTS]
    for note in case["erp"]["credit_notes"]:
        slots += [(note["amounts"], name) for name in COMPONENTS]
    for fee in case["platform"]["fees"]:
        slots.append((fee, "amount"))
    for line in case["platform"]["lines"]:
        slots.append((line, "unit_price"))
    return slots


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.data(),
)
def test_parse_dump_round_trip_keeps_every_amount_exactly(seed: int, data: st.DataObject) -> None:
    case = healthy(seed=seed, single_line=False)
    case["platform"]["fees"] = [{"type": "handling_fee", "amount": "2.50"}]
    slots = _money_slots(case)
    for container, key in slots:
        container[key] = data.draw(amount_strings)
    expected = [Decimal(container[key]) for container, key in slots]

    once = dump_cases(parse_cases([copy.deepcopy(case)]))
    # Through real JSON text as well: money travels as strings, never floats.
    twice = dump_cases(parse_cases(json.loads(json.dumps(once))))
    assert twice == once

    for dumped in (once[0], twice[0]):
        got = [Decimal(container[key]) for container, key in _money_slots(dumped)]
        assert all(isinstance(container[key], str) for container, key in _money_slots(dumped))
        assert got == expected
        assert [g.as_tuple() for g in got] == [e.as_tuple() for e in expected]

    parsed = parse_cases(once)[0]
    assert parsed.platform.refund is not None
    for name in COMPONENTS:
        assert getattr(parsed.platform.refund, name) == Decimal(case["platform"]["refund"][name])

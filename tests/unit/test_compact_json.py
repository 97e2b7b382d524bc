"""`compact_json`: json.dumps's compact output with each Decimal written as the number it
is (a simulator's answer of F&O's 28-digit decimals), whatever text sits beside it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from returns_console.exact_json import compact_json


def test_a_decimal_is_the_number_it_is_to_the_last_digit() -> None:
    value = {"a": Decimal("-12345678901234.1234567890123"), "b": [Decimal("1E+3"), 1.5],
             "c": Decimal("-0.0000000000000000001")}
    text = compact_json(value)
    assert text == ('{"a":-12345678901234.1234567890123,"b":[1000,1.5],'
                    '"c":-0.0000000000000000001}')
    assert json.loads(text, parse_float=Decimal) == value


def test_text_beside_it_is_written_as_json_dumps_writes_it() -> None:
    """A string that looks like the mark a Decimal is first written as (a NUL and a word)
    stays a string: the mark has a nonce of the call's."""
    value = {"a": "\x00decimal:1", "b": Decimal("2.5"), "c": 'quo"te é', "d": None}
    assert json.loads(compact_json(value), parse_float=Decimal) == value
    plain = {"a": "\x00x:1", "b": [1, 2.0, True]}
    assert compact_json(plain) == json.dumps(plain, separators=(",", ":"),
                                              ensure_ascii=False)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), object()])
def test_what_no_json_number_says_is_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        compact_json({"a": bad})

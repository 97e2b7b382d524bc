"""`decode_json` reads API bodies with jiter and falls back to json.loads for what jiter
refuses: whatever the body, it must give exactly what it gave with json.loads and Decimal
alone (the same values, the same Decimal digits: "1.10" stays 1.10, control characters made
visible the same way), or fail where that failed."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from returns_console.connectors.http import decode_json
from returns_console.visible import needs_visible, visible_json


class Number(str):
    """A number as the JSON text spells it (digits, point, exponent)."""


numbers = st.one_of(
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(lambda n: Number(n)),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Number(f"{d}")),
    st.from_regex(r"-?[1-9][0-9]{0,3}(\.[0-9]{1,4})?[eE][-+]?[0-9]{1,3}", fullmatch=True)
    .map(Number),
)
scalars = st.one_of(st.none(), st.booleans(), st.text(), numbers)
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=30)


def _text(value) -> str:
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _before(body: bytes) -> str:
    """decode_json as it was: json.loads with Decimal, control characters made visible."""
    try:
        value = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError):
        return "fails"
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig") or needs_visible(body):
        value = visible_json(value)
    return repr(value)


def _now(body: bytes) -> str:
    try:
        return repr(decode_json(body))
    except ValueError:
        return "fails"


@settings(max_examples=400, deadline=None)
@given(documents)
def test_any_document_reads_as_it_did_with_json_loads(document) -> None:
    body = _text(document).encode()
    assert _now(body) == _before(body)


@given(st.sampled_from([
    b'[1.10, 1.100, 0.0, -0.0, 1e400, 1.5e-7, 2.50, 1E2, 123456789012345678901234567890]',
    b'{"a": 1, "a": 2}', b'["\\ud800"]', b'["a\\u0000b\\u001b[31m"]', b'[NaN]', b'[Infinity]',
    b'\xef\xbb\xbf{"a": 1.5}', '{"a": 1.5}'.encode("utf-16"), b'{"a": }', b"",
    b"[" * 100_000, b'"\xff"',
]))
def test_bodies_jiter_refuses_read_or_fail_as_they_did(body: bytes) -> None:
    assert _now(body) == _before(body)

"""JSON with money exact: each Decimal written as the number it is, never via a float
(json.dumps cannot write a Decimal). Shared by the connectors (what is sent to a system) and
the simulators (what they answer and record)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any


def exact_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON; a non-finite Decimal is refused (no JSON number says NaN). `default`
    turns other values json.dumps cannot write into ones it can (as in json.dumps)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:"
                              f"{exact_json(v, default)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(exact_json(v, default) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=default)


def compact_json(value: Any) -> str:
    """Compact JSON as json.dumps writes it (its C encoder: a simulator's pages of 10,000
    records), each Decimal written as the number it is: F&O's amounts carry up to 28
    significant digits, more than a float holds."""
    # a Decimal is first written as a string no text can be: a NUL (always escaped) and a
    # nonce of this call's
    nonce = secrets.token_hex(8)
    marked = False

    def mark(found: Any) -> Any:
        nonlocal marked
        if isinstance(found, Decimal) and found.is_finite():
            marked = True
            return f"\x00{nonce}:{format(found, 'f')}"
        raise TypeError(f"Object of type {type(found).__name__} is not JSON serializable")

    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=mark)
    if not marked:
        return text
    return re.sub(r'"\\u0000' + nonce + r':([-0-9.]+)"', r"\1", text)

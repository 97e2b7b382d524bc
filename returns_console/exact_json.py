"""JSON with money exact: each Decimal written as the number it is, never via a float
(json.dumps cannot write a Decimal). Shared by the connectors (what is sent to a system) and
the simulators (what they answer and record)."""

from __future__ import annotations

import json
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

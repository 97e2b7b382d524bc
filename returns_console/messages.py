"""Validation errors as one line a person can read (and a terminal cannot be broken by)."""

from __future__ import annotations

from pydantic import ValidationError


def describe_validation(error: ValidationError, limit: int = 1) -> str:
    """pydantic's errors as one line: the field path and the problem, then how many more."""
    problems = error.errors(include_url=False)
    parts = []
    for problem in problems[:limit]:
        where = _path(problem["loc"])
        msg = printable(problem["msg"])
        parts.append(f"{where}: {msg}" if where else msg)
    more = len(problems) - limit
    return "; ".join(parts) + (f" (and {more} more problem{'s' * (more > 1)})" if more > 0 else "")


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{printable(part)}" if out else printable(part)
    return out


def printable(text: object) -> str:
    """Keys come from the user's file: control characters must not break the one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode()
                   for ch in str(text))

"""Turning a source record that does not validate into a PayloadProblem, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel

from ..messages import describe_validation as describe

__all__ = ["as_utc", "describe", "lean"]

M = TypeVar("M", bound=BaseModel)
#: The one fields-set of every record made `lean`.
_SHARED: frozenset[str] = frozenset()


def as_utc(moment: datetime | None) -> datetime | None:
    """APIs that send local-less timestamps mean UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def lean(record: M) -> M:
    """`record` (a model just validated) and the models in its lists without the set of
    field names pydantic keeps on each to say which were given: 728 bytes a model, more
    than its values, on records a connector holds only until it has assembled its views
    (Business Central's, all at once: about 33 MB at 10,000 returns, the check's peak).
    Only `model_fields_set`, `exclude_unset` and `model_copy` read it; records made lean
    must not use them (they would see no field as given)."""
    object.__setattr__(record, "__pydantic_fields_set__", _SHARED)
    for value in record.__dict__.values():
        if type(value) is list and value and isinstance(value[0], BaseModel):
            for item in value:
                lean(item)
    return record

"""Turning a source record that does not validate into a PayloadProblem, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from ..messages import describe_validation as describe

__all__ = ["as_utc", "describe"]


def as_utc(moment: datetime | None) -> datetime | None:
    """APIs that send local-less timestamps mean UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

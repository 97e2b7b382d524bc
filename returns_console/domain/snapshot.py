"""The canonical snapshot: one JSON document holding both views of every return plus what
they are checked against. `check --snapshot FILE` reads it; the cache and tests write it.

Format (documented in README, "Snapshot format"):
    {"format": "returns-console/snapshot@1", "as_of": ..., "profile": ...,
     "platform": {"system", "fetched_at"}, "erp": {"system", "fetched_at"},
     "policy": {...}, "mappings": {...}, "erp_master": {...}, "returns": [ReturnCase, ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .model import NonEmpty, ReturnCase
from .reference import ErpMaster, Mappings, Policy
from .view import Context

FORMAT: Final = "returns-console/snapshot@1"


class SourceInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    system: NonEmpty
    fetched_at: AwareDatetime | None = None


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    format: Literal["returns-console/snapshot@1"] = FORMAT
    profile: str = "snapshot"
    #: The clock to reconcile at; absent means "now". Fixing it makes a snapshot reproducible.
    as_of: AwareDatetime | None = None
    platform: SourceInfo
    erp: SourceInfo
    policy: Policy = Field(default_factory=Policy)
    mappings: Mappings = Field(default_factory=Mappings)
    erp_master: ErpMaster = Field(default_factory=ErpMaster)
    returns: tuple[ReturnCase, ...] = ()

    def context(self, now: datetime | None = None,
                names: Mapping[str, str] | None = None) -> Context:
        return Context(
            mappings=self.mappings,
            master=self.erp_master,
            policy=self.policy,
            now=now or self.as_of or datetime.now(UTC),
            names=names or {},
        )

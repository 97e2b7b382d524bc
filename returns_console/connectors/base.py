"""The two seams every system plugs into: a returns platform and an ERP.

Adding a system means one module implementing one of these Protocols, one simulator,
fixtures, and a line in the registry. Connectors return canonical models; a record that
does not validate comes back as a PayloadProblem next to the rest, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..domain.model import ErpView, PayloadProblem, PlatformView
from ..domain.reference import ErpMaster


@dataclass(slots=True, repr=False)
class PlatformBatch:
    """What a platform said: its returns, the records it could not read, the raw payloads."""

    views: list[PlatformView] = field(default_factory=list)
    #: Problems by return reference.
    problems: dict[str, list[PayloadProblem]] = field(default_factory=dict)
    #: Raw source payloads by raw_ref, for drill-down.
    raw: dict[str, Any] = field(default_factory=dict)
    fetched_at: datetime | None = None
    #: Where an incremental refresh should continue from (system-specific, opaque).
    cursor: str | None = None

    def __repr__(self) -> str:
        # Short on purpose: asyncio and anyio put task results into reprs, and a batch of
        # ten thousand returns spelled out costs seconds (and would put data in logs).
        return f"PlatformBatch({len(self.views)} returns, fetched {self.fetched_at})"


@dataclass(slots=True, repr=False)
class ErpBatch:
    """What an ERP said: one view per link key, its master data, unreadable records, raw."""

    views: dict[str, ErpView] = field(default_factory=dict)
    master: ErpMaster = field(default_factory=ErpMaster)
    problems: dict[str, list[PayloadProblem]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    fetched_at: datetime | None = None
    cursor: str | None = None
    #: Things the operator should know (e.g. "this tenant has no returnReceipts API").
    notices: list[str] = field(default_factory=list)
    #: What the ERP's silence about a return means: normally nothing has happened yet; on a
    #: tenant with no return-order API, there is no return order or receipt to miss.
    unseen: ErpView | None = None
    #: From an incremental read: the ids that still exist per entity set, so records
    #: deleted since the last read can be dropped (None: not known).
    present: dict[str, set[str]] | None = None

    def __repr__(self) -> str:
        return f"ErpBatch({len(self.views)} link keys, fetched {self.fetched_at})"


@runtime_checkable
class ReturnsPlatform(Protocol):
    system: str

    async def fetch_returns(self, *, updated_since: datetime | None = None) -> PlatformBatch:
        """Every return (or those changed since `updated_since`)."""
        ...

    async def check_connection(self) -> str:
        """One cheap authenticated call; a sentence on success, a ConnectorError if not."""
        ...

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        """An incremental read laid over the previous batch, which may hold raw records
        only (as the cache keeps them): views are built for what the result needs."""
        ...

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        """Views parsed again from a batch's raw records alone (what the cache keeps)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Erp(Protocol):
    system: str

    async def fetch_records(self, *, updated_since: datetime | None = None) -> ErpBatch:
        """Return orders, receipts, credit notes and master data, keyed by link key."""
        ...

    async def check_connection(self) -> str: ...

    def merge(self, earlier: ErpBatch, changed: ErpBatch) -> ErpBatch:
        """An incremental read laid over the previous batch, which may hold raw records
        only (as the cache keeps them): views are built for what the result needs."""
        ...

    def from_raw(self, kept: ErpBatch) -> ErpBatch:
        """Views assembled again from a batch's raw records alone (what the cache keeps)."""
        ...

    async def aclose(self) -> None: ...

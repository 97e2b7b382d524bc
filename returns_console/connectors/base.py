"""The two seams every system plugs into: a returns platform and an ERP.

Adding a system means one module implementing one of these Protocols, one simulator,
fixtures, and a line in the registry. Connectors return canonical models; a record that
does not validate comes back as a PayloadProblem next to the rest, never as an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..domain.model import ErpView, PayloadProblem, PlatformView
from ..domain.postings import CreditRequest, RecordRef, WriteResult
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
    #: Things the operator should know (e.g. "this tenant has no return receipts API").
    notices: list[str] = field(default_factory=list)
    #: What the ERP's silence about a return means: normally nothing has happened yet; on a
    #: tenant with no return-order API, there is no return order or receipt to miss.
    unseen: ErpView | None = None
    #: From an incremental read: the ids that still exist per entity set, so records
    #: deleted since the last read can be dropped (None: not known).
    present: dict[str, set[str]] | None = None
    #: A full read's pages as the ERP sent them, (entity set, response body): what the cache
    #: keeps, written as they are instead of serialising every record again. A batch loaded
    #: from the cache may carry only these (`raw` empty); its connector reads them back.
    pages: list[tuple[str, bytes]] | None = None

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


@runtime_checkable
class ErpWriter(Protocol):
    """How one ERP carries out the changes the domain plans (domain/actions.py says what
    changes; this says how). Each `describe_*` returns the exact request the matching write
    WILL send (method, path relative to the API root, headers without secrets, JSON body,
    and `notes` on what was left out and why), without touching the network: the preview
    shows it and the audit log records it before anything is sent. A write is never
    retried once it may have reached the ERP; on a conflict it raises ConflictError with
    the record as it is now, on a business refusal RefusedError with the ERP's message.
    The services, the console and the CLI name no field, status or entity of any ERP: they
    ask the writer."""

    system: str
    #: The ERP's name for the field that carries the link key, for the plan's sentence.
    link_label: str

    def link_of(self, record: Mapping[str, Any]) -> str | None:
        """The link key a raw record carries now (None: none, or not a document)."""
        ...

    def token_of(self, record: Mapping[str, Any]) -> str | None:
        """The record's concurrency token as read (None: the ERP has none, or not given)."""
        ...

    def credit_steps(self) -> tuple[str, ...]:
        """How a re-queued credit is made here, step by step, for the plan (e.g. created as
        a draft, then posted)."""
        ...

    def reverse_hint(self, action: str, number: str | None) -> str:
        """How a person reverses a write of `action` that made or changed `number`."""
        ...

    async def get_record(self, ref: RecordRef) -> dict:
        """One record as the ERP holds it now (with its lines and its concurrency token):
        what a write is previewed from and checked against."""
        ...

    async def credits_for(self, link: str) -> list[WriteResult]:
        """The credit notes carrying `link` now (read from the primary, never a replica):
        what a re-queue checks right before it creates one."""
        ...

    async def set_link(self, ref: RecordRef, etag: str | None, link: str) -> WriteResult:
        """Change the link key the record carries, only if it is still as read (`etag`;
        None reads the record first). An empty link is a ValueError, nothing sent."""
        ...

    async def create_credit(self, request: CreditRequest) -> WriteResult:
        """Create the credit note with its lines (final or a draft: `WriteResult.final`)."""
        ...

    async def post_credit(self, result: WriteResult, link: str) -> WriteResult:
        """Make the draft `create_credit` made final; the final document is found again by
        its link key (its id may differ from the draft's). A result already final is
        returned as it is, nothing sent."""
        ...

    def describe_set_link(self, ref: RecordRef, etag: str | None, link: str) -> dict: ...

    def describe_create_credit(self, request: CreditRequest) -> dict: ...

    def describe_post_credit(self, result: WriteResult) -> dict: ...

    async def aclose(self) -> None: ...

"""The two seams every system plugs into: a returns platform and an ERP.

Adding a system means one module implementing one of these Protocols, one simulator,
fixtures, and a line in the registry. Connectors return canonical models; a record that
does not validate comes back as a PayloadProblem next to the rest, never as an exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
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
    #: When what this batch holds was last read whole (an incremental read keeps it).
    full_at: datetime | None = None
    #: What this read wants a person to know that is no finding (a quicker way it could
    #: not take, and why): shown with the source's status, for this read only.
    notes: list[str] = field(default_factory=list)

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
    #: When what this batch holds was last read whole (an incremental read keeps it).
    full_at: datetime | None = None
    #: Things the operator should know (e.g. "this tenant has no return receipts API").
    notices: list[str] = field(default_factory=list)
    #: What this read could not see that a check needs (a stage the ERP does not report as
    #: read): its source is degraded, never all clear.
    gaps: list[str] = field(default_factory=list)
    #: What the ERP's silence about a return means: normally nothing has happened yet; on a
    #: tenant with no return-order API, there is no return order or receipt to miss.
    unseen: ErpView | None = None
    #: From an incremental read: the ids that still exist per entity set, so records
    #: deleted since the last read can be dropped (None: not known).
    present: dict[str, set[str]] | None = None
    #: From an incremental read: what the ERP counts of the records a full read would give
    #: (its connector's own terms), for `merge` to check what it holds against; a merge
    #: that finds it holds something else raises ReadAgain.
    tally: dict[str, Any] | None = None
    #: A full read's pages as the ERP sent them, (entity set, response body): what the cache
    #: keeps, written as they are instead of serialising every record again. A batch loaded
    #: from the cache may carry only these (`raw` empty); its connector reads them back.
    pages: list[tuple[str, bytes]] | None = None
    #: What its connector keeps with a batch held in memory (the console's last read) to
    #: lay the next read over it sooner: valid only for this batch's `raw` object, never
    #: cached or compared.
    memo: Any = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"ErpBatch({len(self.views)} link keys, fetched {self.fetched_at})"


class ReadAgain(Exception):
    """A merge cannot lay an incremental read over what was read before (the source counts
    records it holds no trace of, such as a deletion it cannot name): the caller reads
    everything again instead."""


@dataclass(slots=True)
class Touch:
    """What an incremental read changes in a record index (see `KeyedReads`)."""

    #: The case-folded link keys whose views the change may alter (a superset: a key too
    #: many is assembled again for nothing, a key missed would keep a stale view).
    keys: set[str]
    #: Records to write, by raw_ref (new, changed, or read again unchanged).
    upserts: dict[str, Any] = field(default_factory=dict)
    #: raw_refs of records the source no longer has.
    deletes: set[str] = field(default_factory=set)


class StoredRecords(Protocol):
    """One side's raw records as an index keeps them (store/records.py), each filed under
    the tags its connector gave it (`KeyedReads.record_tags`)."""

    #: What the side's last read said besides its records (notices, optional APIs).
    notices: list[str]

    def get(self, refs: Iterable[str]) -> dict[str, Any]:
        """The records with these raw_refs that exist."""
        ...

    def tagged(self, tags: Iterable[str]) -> list[tuple[int, str, Any]]:
        """(order, raw_ref, record) of every record filed under any of `tags`, in the order
        the source's batch had them."""
        ...

    def refs(self, prefix: str) -> set[str]:
        """Every raw_ref that starts with `prefix`."""
        ...

    def tagged_refs(self, tags: Iterable[str]) -> set[str]:
        """The raw_refs of every record filed under any of `tags` (their bodies unread)."""
        ...

    def unchanged(self, records: Mapping[str, Any]) -> set[str]:
        """The raw_refs of `records` stored exactly as they are (a refresh that reads much
        again finds what changed without parsing what did not)."""
        ...

    def tagged_between(self, low: str, high: str) -> list[tuple[int, str, Any]]:
        """As `tagged`, for every tag from `low` up to (not including) `high`, as text
        sorts: tags that carry a date find what a moving window left behind."""
        ...


@runtime_checkable
class KeyedReads(Protocol):
    """A connector whose records an index can refresh a few link keys at a time: a `check`
    process then reads and assembles only what an incremental read touched, not the whole
    cache (services/keyed_check.py). Optional: without it, every refresh assembles all."""

    def record_tags(self, ref: str, record: Any) -> Iterable[str]:
        """The tags a raw record is filed under: whatever lets `keyed_touch` find who
        refers to it and `keyed_views` find a link key's records."""
        ...

    def keyed_touch(self, stored: StoredRecords, changed: Any) -> Touch | None:
        """The keys an incremental read (`changed`, a batch) touches, judged against the
        records stored before it; None when it cannot tell (assemble everything)."""
        ...

    def keyed_views(self, stored: StoredRecords, keys: set[str],
                    master: ErpMaster | None = None
                    ) -> tuple[Any, dict[str, list[PayloadProblem]]] | None:
        """The views (a platform's list, an ERP's dict by link key) and problems of `keys`
        from the stored records, exactly as assembling every record would make them; None
        when that cannot be promised (assemble everything)."""
        ...


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


#: Where a platform hands on the views of each page it parsed, as it parses them.
ViewsSink = Callable[[list[PlatformView]], None]


@runtime_checkable
class Remembers(Protocol):
    """A connector that learns on a full read what a later process may take as known
    rather than ask again (a look-up every request depends on, one round trip each time):
    plain text, never a secret. A remembered thing that is no longer so fails that read,
    and the full read that follows learns it again."""

    def learnt(self) -> dict[str, str]:
        """What this connector's reads taught it that the next process may take."""
        ...

    def recall(self, known: dict[str, str]) -> None:
        """What an earlier process learnt (`learnt`): taken where it is still wanted."""
        ...


@runtime_checkable
class ViewsAsRead(Protocol):
    """A platform that hands each page's views on the moment it has parsed them (those
    that validated), while its later pages are still on their way: a check starts on them
    there (services/early.py). What it hands on is a preview: the batch it returns is
    still the read."""

    views_read: ViewsSink | None


@runtime_checkable
class Erp(Protocol):
    system: str

    async def fetch_records(self, *, updated_since: datetime | None = None,
                            keep_pages: bool = True) -> ErpBatch:
        """Return orders, receipts, credit notes and master data, keyed by link key.
        `keep_pages`: a full read may keep its response bodies for the cache
        (`ErpBatch.pages`); a caller that writes no cache says False, and they are let go
        page by page."""
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


@runtime_checkable
class ReturnOrderWriter(Protocol):
    """An ERP whose API creates the return order itself (the ERP's authorisation of a
    return): what a re-queue of a missing return order sends. A return order moves no goods
    and no money. Optional: an ERP without it is never asked (its `ErpMaster.creates` does
    not name "return_order")."""

    def return_order_steps(self) -> tuple[str, ...]:
        """How the return order is made here, step by step, for the plan."""
        ...

    async def return_orders_for(self, link: str) -> list[WriteResult]:
        """The return orders carrying `link` now (read from the primary): what a re-queue
        checks right before it creates one, and after a lost answer."""
        ...

    async def create_return_order(self, request: Any) -> WriteResult:
        """Create the return order with its lines (a `ReturnOrderRequest`); refused when
        one already carries the link. Lines it could not make are a RefusedError naming
        the return order made."""
        ...

    def describe_create_return_order(self, request: Any) -> dict:
        """The first request the create sends (and, in `then`, the ones that follow, with
        `domain.postings.PENDING_NUMBER` where the first one's answer gives the number)."""
        ...

    async def line_count(self, number: str) -> int:
        """How many lines return order `number` has now (after a crash: were they all
        made?)."""
        ...


@runtime_checkable
class ReceiptWriter(Protocol):
    """An ERP whose API makes the receipt against a return order: what a re-queue of a
    missing receipt sends. Optional: an ERP without it is never asked (its
    `ErpMaster.creates` does not name "receipt")."""

    def receipt_steps(self) -> tuple[str, ...]:
        """How the receipt is made here, step by step, for the plan."""
        ...

    async def receipts_for(self, link: str) -> list[WriteResult]:
        """The receipts made for `link` now (against its return order, or carrying the
        id a re-queue gives one): what a re-queue checks right before it makes one, and
        after a lost answer."""
        ...

    async def receipt_made(self, link: str) -> WriteResult | None:
        """The receipt a re-queue of `link` made, told apart from one made otherwise (by
        hand in the ERP): what a crash is resolved by. None: none."""
        ...

    async def create_receipt(self, request: Any) -> WriteResult:
        """Make the receipt (a `ReceiptRequest`), once the ERP is seen to take exactly the
        units planned; RefusedError (nothing sent) where it would not."""
        ...

    def describe_create_receipt(self, request: Any) -> dict:
        """The request the create sends, or ValueError saying what the ERP needs first."""
        ...


@runtime_checkable
class DeferredWriter(Protocol):
    """An ERP that takes changes up later (it collects them, or a person imports them):
    its writes come back `deferred`, and this says, for an audited write handed over, what
    became of it."""

    async def picked_up(self, action: str, parameters: Mapping[str, Any]) -> bool | None:
        """True: the ERP took the change up; False: it refused it; None: not yet."""
        ...


#: Topics of the events the console keeps in the inbox for itself (a writer's instruction
#: for a channel): never evidence that the system itself said anything.
OWN_TOPIC_PREFIX = "console:"


@runtime_checkable
class InboxWriter(Protocol):
    """A writer for an ERP that calls us: its writes are instructions kept in the inbox
    `listen` serves the ERP from, acted on when the ERP next calls (so they are deferred:
    see DeferredWriter). The session attaches the inbox before any write."""

    def attach(self, events: Callable[[], Sequence[InboxEvent]],
               keep: Callable[[InboxEvent], bool]) -> None:
        """What the inbox holds of this ERP (arrival order), and how to keep an event."""
        ...


# -- systems that cannot be listed: looked up one by one, or pushing to us -------------------


@runtime_checkable
class LookupPlatform(Protocol):
    """A platform with no list endpoint: its returns can only be read one reference at a
    time (an order number, a return id the ERP or a webhook named). A refresh asks for the
    references it knows, so what it does not know of it cannot see: such a platform is
    normally also an EventSource, whose deliveries name the returns to look up."""

    system: str

    async def lookup(self, refs: Sequence[str]) -> PlatformBatch:
        """One request per reference, spaced by the Pacer of the connector's HttpClient
        (such APIs allow a request every few seconds, not a burst): a long list of
        references takes minutes, so callers ask for the ones that matter (those the
        inbox or the ERP named), not every one ever seen. A reference the platform does not
        know is simply absent from the batch, neither a problem nor an error: a stale order
        number is normal. Only a failure of the API itself raises (a ConnectorError)."""
        ...

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        """`changed` (looked up) laid over `earlier`, as ReturnsPlatform.merge."""
        ...

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        """Views parsed again from the raw records the cache keeps."""
        ...

    async def check_connection(self) -> str:
        """One cheap authenticated call; a sentence on success, a ConnectorError if not."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True, repr=False)
class InboxEvent:
    """One delivery a system pushed to us, kept as it arrived so it can be read again by a
    later, better connector: the body byte for byte (a signature covers those bytes, and
    parsing belongs to the connector), and only the headers its WebhookSpec keeps (never
    credentials). Text from the sender (`delivery_id`, `topic`, header values) is made
    visible before it is kept; the body is not, its connector does that when it parses."""

    system: str
    #: The sender's own id for the delivery: a retry carries the same one, which is how a
    #: retried push is stored once.
    delivery_id: str
    #: What happened, in the sender's words (its event type), for `from_events` to dispatch.
    topic: str
    received_at: datetime
    body: bytes
    #: Lower-case header name to value; only the names the spec keeps.
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Arrival order in the inbox (None until stored).
    seq: int | None = None

    def __repr__(self) -> str:
        # No body and no headers: they carry customer data and would end up in logs.
        return (f"InboxEvent({self.system} #{self.seq} {self.topic!r}, "
                f"{len(self.body)} bytes, received {self.received_at})")


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """How the receiver checks and keys one system's deliveries; the system supplies it, so
    the receiver names no system, header or field. Each callable gets the headers (lower-case
    names) and the raw body as received, before anything is parsed."""

    #: True only for a delivery signed with our secret: anything else is refused unstored.
    verify: Callable[[Mapping[str, str], bytes], bool]
    #: The sender's id for this delivery, the same on every retry; None or "" when there is
    #: none (refused: without it a retry could not be told from a new event).
    delivery_id: Callable[[Mapping[str, str], bytes], str | None]
    #: The event type, from a header or the body.
    topic: Callable[[Mapping[str, str], bytes], str]
    #: Served at `/hooks/<system>/<suffix>`: what is registered with the sender.
    suffix: str = "events"
    #: Header names (lower case) worth keeping with the body, e.g. an API version.
    keep_headers: frozenset[str] = frozenset()


@runtime_checkable
class HintSource(Protocol):
    """A listed system that also calls us when something changes (`ReadShape.HINTS`): its
    deliveries only name what to read again (a return, an order), because they may come
    late, twice or never; the pull still says what is true. The service hands the
    incremental read the deliveries received since the last one."""

    system: str

    def webhook(self) -> WebhookSpec:
        """How to verify and key this system's deliveries (it holds the signing secret)."""
        ...

    async def fetch_returns(self, *, updated_since: datetime | None = None,
                            hints: Sequence[InboxEvent] = ()) -> PlatformBatch:
        """As ReturnsPlatform.fetch_returns, also reading again what `hints` name (each
        body parsed by the connector; one that names nothing it can read is skipped)."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """A system that calls us instead of being polled (or as well as): its deliveries are
    received and kept in the inbox, and its connector turns them into the same batches the
    pull seam gives, so everything after the connector cannot tell the difference."""

    system: str

    def webhook(self) -> WebhookSpec:
        """How to verify and key this system's deliveries (it holds the signing secret)."""
        ...

    def from_events(self, events: Sequence[InboxEvent],
                    earlier: PlatformBatch | None) -> PlatformBatch:
        """`events` (in arrival order) laid over `earlier`: one view per return, each event
        merged into the return it is about (a later event adds a stage, it does not replace
        what earlier ones said unless it says otherwise). A body that does not read comes
        back as a PayloadProblem, never as an exception; an unknown topic is ignored.
        The service sets the result's cursor (the inbox position) and fetched_at."""
        ...

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        """Views parsed again from the raw records the cache keeps (`earlier` is handed
        to from_events with its views)."""
        ...


# -- an ERP that calls us: a channel protocol (it fetches from us and pushes to us) ---------


@dataclass(frozen=True, slots=True, repr=False)
class ChannelRequest:
    """One request the ERP made to a channel endpoint, as received (headers lower-case)."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    received_at: datetime
    #: What a handler noted when the request first arrived, kept while its answer is
    #: decided again (`ChannelAnswer.keep_if_latest`): an answer recorded meanwhile was
    #: sent after this request left the ERP, so the request says nothing of it.
    memo: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"ChannelRequest({self.method}, {len(self.body)} bytes)"


@dataclass(slots=True)
class ChannelAnswer:
    """What a channel endpoint answers; `keep` is stored in the inbox first (when it cannot
    be, the ERP gets a 503 instead and asks again: nothing is served that is not recorded)."""

    status: int
    body: bytes = b""
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    keep: list[InboxEvent] = field(default_factory=list)
    #: (topic, seq): an answer decided from the inbox's events of `topic` up to `seq` is
    #: kept, and sent, only while no other event of that topic was recorded since; else
    #: the handler is asked again (two pulls at once, or two receivers, never both serve
    #: what only one may).
    keep_if_latest: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class ChannelRoute:
    """One endpoint of a channel, served at `/hooks/<system>/<suffix>`."""

    method: str
    suffix: str
    handle: Callable[[ChannelRequest], Awaitable[ChannelAnswer]]


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What a channel's endpoints may read besides the request: the platform's returns as
    they are now (what a download feed offers), what the inbox holds of the system so far
    (what was served and pushed before) and the console's mapping tables."""

    returns: Callable[[], Awaitable[PlatformBatch]]
    history: Callable[[], Sequence[InboxEvent]]
    mappings: Callable[[], Any]


@runtime_checkable
class ChannelErp(Protocol):
    """An ERP whose public interface calls us (`ReadShape.EVENTS` on the ERP side): it
    fetches what we serve and pushes what it knows. `listen` serves its routes and keeps
    every push, and every answer it served, in the inbox; a check reads the ERP's records
    from there."""

    system: str

    def channel(self, context: ChannelContext) -> Sequence[ChannelRoute]:
        """The endpoints to serve (each checks the ERP's credentials itself)."""
        ...

    def records_from_events(self, events: Sequence[InboxEvent]) -> ErpBatch:
        """The ERP's records as the inbox's events (in arrival order) show them. What the
        channel cannot show is said in the batch's notices and its master's
        `unobservable` codes, never left to look like an absent document."""
        ...

"""Swap Commerce: the external returns API (RMA API v1, v2 behind `api_version = 2`).

Auth is the `x-api-key` header; the store goes in the query (`store` v1, `swap_store_id`
v2). Returns come a page at a time (`page`, `items_per_page` up to 50 in v1 and 100 in v2);
after the first page the rest are fetched concurrently. Field and status names follow
docs/vendors/swap-commerce.md; docs/swap-bc-mapping.md says how each maps to
the canonical return. The record models are in records.py, the mapping in mapping.py; a page
is parsed at once (one pydantic call, one set of per-page constants), exactly as parsing
each record alone would (tests/unit/test_swap_page_parse.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr, ValidationError

from ...connectors.auth import ApiKeyHeader
from ...connectors.base import PlatformBatch, StoredRecords, Touch, ViewsSink
from ...connectors.errors import InvalidPayloadError, MisconfiguredError, NotFoundError
from ...connectors.http import CallLog, HttpClient, RetryPolicy, json_or_none
from ...connectors.pacing import Pacer
from ...connectors.validation import as_utc, describe
from ...domain.codes import Side
from ...domain.model import PayloadProblem, PlatformView
from ...domain.pace import breathe
from ...domain.pairing import link_of
from .mapping import SYSTEM, ViewMaker
from .records import V1_TO_V2, SwapProduct, SwapReturn, SwapShipment, v2_names, validate_page

__all__ = ["V1_TO_V2", "SwapConnector", "SwapProduct", "SwapReturn", "SwapSettings",
           "SwapShipment"]


@dataclass(slots=True)
class SwapSettings:
    base_url: str
    store: str
    api_key: SecretStr = field(repr=False)
    api_version: int = 1
    items_per_page: int | None = None
    #: How far back the first full read goes (Swap requires a from_date).
    history_days: int = 365
    #: `quality_control_status` values that mean "inspected" (Swap does not publish them).
    qc_done: tuple[str, ...] = ("Completed", "Passed", "Failed", "Done")
    #: Where goods go when the record does not say (v1 has no shipment destinations).
    default_location: str | None = None
    #: Which product field keys the reason mapping table (`main_reason_id` or
    #: `main_reason_text`).
    reason_key: str = "main_reason_id"
    #: Return types whose lines are paid back: in cash (Refund) or in store credit (mapped to
    #: an ERP payment method through the payment-method mapping, keyed by the type).
    refund_types: tuple[str, ...] = ("Refund", "Shop Now Credit", "Shop Later Credit")
    #: Return types whose lines are replaced by another item (a replacement order).
    exchange_types: tuple[str, ...] = ("Exchange", "Additional Payment")
    #: Types whose store credit Swap issues when the return is requested (its help centre
    #: says so of Shop Now Credit): named here, such a return reads as credited from its
    #: request, so the credit before the goods came back shows as a liability gap. Empty
    #: (the default): store credit is reconciled when the return is processed, when the ERP
    #: posts its credit note.
    instant_credit_types: tuple[str, ...] = ()
    #: `return_status` values that await the merchant's decision: approval pending.
    pending_statuses: tuple[str, ...] = ("Needs Review",)
    concurrency: int = 4
    timeout: float = 30.0


_Parsed = tuple[Any, PlatformView, PayloadProblem | None]
#: Records validated per call when parsing what the cache keeps (Swap's largest page).
CHUNK = 100


class SwapConnector:
    system = SYSTEM

    def __init__(self, settings: SwapSettings, *, log: CallLog | None = None,
                 transport=None, retry: RetryPolicy | None = None, sleep=None,
                 pacer: Pacer | None = None) -> None:
        self.settings = settings
        self.http = HttpClient(
            SYSTEM, settings.base_url, auth=ApiKeyHeader("x-api-key", settings.api_key),
            timeout=settings.timeout, concurrency=settings.concurrency, retry=retry, log=log,
            transport=transport, sleep=sleep, error_parser=_error_text,
            pacer=pacer,
        )
        #: Told of each page's views as they are parsed (connectors/base.py ViewsAsRead).
        self.views_read: ViewsSink | None = None

    @property
    def _path(self) -> str:
        return f"/v{self.settings.api_version}/external/returns"

    @property
    def _per_page(self) -> int:
        limit = 50 if self.settings.api_version == 1 else 100
        return min(self.settings.items_per_page or limit, limit)

    def _params(self, page: int, updated_since: datetime | None, per_page: int) -> dict:
        v1 = self.settings.api_version == 1
        params: dict[str, Any] = {"store" if v1 else "swap_store_id": self.settings.store,
                                  "page": page, "items_per_page": per_page}
        if updated_since is not None:
            params["last_updated_date" if v1 else "last_RMA_updated_date"] = _iso(updated_since)
        # the window: a full read takes no return older than it, so none is set against an
        # ERP read over the same window that lacks its documents (v1 requires it on every
        # read; v2 gets it on a full read, and an incremental one reads what changed)
        if v1 or updated_since is None:
            since = datetime.now(UTC) - timedelta(days=self.settings.history_days)
            params["from_date" if v1 else "from_return_submission_date"] = _iso(since)
        return params

    async def _page(self, page: int, updated_since: datetime | None,
                    per_page: int) -> tuple[list[Any], dict]:
        try:
            body = await self.http.get_json(self._path,
                                            self._params(page, updated_since, per_page))
        except NotFoundError as exc:
            raise MisconfiguredError(SYSTEM, f"{exc}: the base URL or api_version does not "
                                     "lead to Swap's returns API (v1: the RMA API host; v2: "
                                     ".../returns-api with api_version=2)",
                                     status=404) from None
        key = "orders" if self.settings.api_version == 1 else "returns"
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise InvalidPayloadError(SYSTEM, f"GET {self._path} answered without a '{key}' "
                                      "list; is the base URL right?")
        pagination = body.get("pagination")
        return body[key], pagination if isinstance(pagination, dict) else {}

    async def fetch_returns(self, *, updated_since: datetime | None = None) -> PlatformBatch:
        """Page 1, then every other page at once; each page is parsed as it arrives, so
        reading the next pages overlaps with validating this one."""
        fetched_at = datetime.now(UTC)
        per_page = self._per_page
        rows, pagination = await self._page(1, updated_since, per_page)
        parsed = [self._parse_all(rows)]
        pages = pagination.get("total_pages")
        if isinstance(pages, int) and pages > 1:

            async def page(n: int) -> list[_Parsed]:
                more, _ = await self._page(n, updated_since, per_page)
                return self._parse_all(more)

            parsed += await asyncio.gather(*(page(n) for n in range(2, pages + 1)))
        else:
            n = 1
            # v2's paging fields are not published: without one we know, a full page means
            # there may be more, so read on until a short page.
            known = "has_next_page" in pagination or "total_pages" in pagination
            while rows and (pagination.get("has_next_page") is True
                            or (not known and len(rows) >= per_page)):
                n += 1
                rows, pagination = await self._page(n, updated_since, per_page)
                parsed.append(self._parse_all(rows))
        batch = PlatformBatch(fetched_at=fetched_at)
        newest = updated_since
        for raw, view, problem in (item for part in parsed for item in part):
            batch.views.append(view)
            if view.raw_ref:
                batch.raw[view.raw_ref] = raw
            if problem is not None:
                batch.problems.setdefault(view.return_ref, []).append(problem)
            updated = _updated(raw)
            if updated and (newest is None or updated > newest):
                newest = updated
        batch.cursor = _iso(newest) if newest else None
        return batch

    def _parse_all(self, rows: list[Any]) -> list[_Parsed]:
        parsed = [(raw, view, problem)
                  for raw, (view, problem) in zip(rows, self._parse_page(rows), strict=True)]
        if self.views_read is not None:
            self.views_read([view for _, view, problem in parsed if problem is None])
        return parsed

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        """Views and problems parsed again from a batch's raw records (what the cache keeps)."""
        batch = PlatformBatch(fetched_at=kept.fetched_at, cursor=kept.cursor)
        rows = list(kept.raw.values())
        # A page's worth per validation call, as read: one call over ten thousand records
        # holds the interpreter for most of a second (the console's keys wait behind it).
        parsed = []
        for start in range(0, len(rows), CHUNK):
            breathe()  # a person typing in the console goes first (domain/pace.py)
            parsed += self._parse_page(rows[start:start + CHUNK])
        for (raw_ref, raw), (view, problem) in zip(kept.raw.items(), parsed, strict=True):
            batch.views.append(view)
            batch.raw[view.raw_ref or raw_ref] = raw
            if problem is not None:
                batch.problems.setdefault(view.return_ref, []).append(problem)
        return batch

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        """Lay an incremental read over the last one: a changed return replaces its old
        view, problems and raw payload; the rest stay. `earlier` may hold raw records only
        (as the cache keeps them)."""
        refs = {v.return_ref for v in changed.views}
        if not earlier.views and earlier.raw:
            # as the cache keeps it: parse only what the change did not replace
            earlier = self.from_raw(PlatformBatch(
                raw={k: v for k, v in earlier.raw.items() if k.split(":", 1)[-1] not in refs},
                fetched_at=earlier.fetched_at, cursor=earlier.cursor))
        views = {v.return_ref: v for v in earlier.views}
        views.update((v.return_ref, v) for v in changed.views)
        problems = {ref: found for ref, found in earlier.problems.items() if ref not in refs}
        problems.update(changed.problems)
        return PlatformBatch(
            views=sorted(views.values(), key=lambda v: v.return_ref), problems=problems,
            raw={**earlier.raw, **changed.raw}, fetched_at=changed.fetched_at,
            cursor=max(filter(None, (earlier.cursor, changed.cursor)), default=None),
        )

    # -- the record index (connectors/base.py KeyedReads) ----------------------------

    def record_tags(self, ref: str, record: Any) -> tuple[str, ...]:
        """A return's record under its link key (its raw_ref is `swap:<return reference>`,
        as the view that parses it says)."""
        return (link_of(ref.split(":", 1)[-1]),)

    def keyed_touch(self, stored: StoredRecords, changed: PlatformBatch) -> Touch:
        """Each return read again replaces its record whole (as `merge` does); none goes."""
        return Touch(keys={link_of(v.return_ref) for v in changed.views},
                     upserts=dict(changed.raw))

    def keyed_views(self, stored: StoredRecords, keys: set[str], master: object = None
                    ) -> tuple[list[PlatformView], dict[str, list[PayloadProblem]]]:
        """The returns of `keys` parsed from their stored records, in the order of the
        batch they came in (pairing gives a link's ERP records to its first return)."""
        raw = {ref: record for _, ref, record in stored.tagged(keys)}
        batch = self.from_raw(PlatformBatch(raw=raw))
        return batch.views, batch.problems

    async def check_connection(self) -> str:
        rows, pagination = await self._page(1, None, 1)
        total = pagination.get("total_items", len(rows))
        return f"Swap Commerce store {self.settings.store}: reachable, {total} returns"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- mapping -------------------------------------------------------------------------

    def parse(self, raw: Any) -> tuple[PlatformView, PayloadProblem | None]:
        """One API record as a canonical view; an invalid one as a bare view plus problem."""
        return _parse_one(v2_names(raw), ViewMaker(self.settings))

    def _parse_page(self, rows: list[Any]) -> list[tuple[PlatformView, PayloadProblem | None]]:
        """`parse` of every record, with one pydantic call for the page: a record that
        fails it is parsed alone, so its problem reads as `parse` words it."""
        data = [v2_names(raw) for raw in rows]
        make = ViewMaker(self.settings)
        return [_viewed(alone, record, make) if isinstance(record, SwapReturn)
                else _parse_one(alone, make)
                for alone, record in zip(data, validate_page(data), strict=True)]

    def to_view(self, r: SwapReturn) -> PlatformView:
        """A validated record as a canonical view (a page shares one ViewMaker instead)."""
        return ViewMaker(self.settings)(r)


def _parse_one(data: Any, make: ViewMaker) -> tuple[PlatformView, PayloadProblem | None]:
    """One record (in v2's names) validated alone: its view, or a bare view and a problem."""
    try:
        record = SwapReturn.model_validate(data)
    except ValidationError as exc:
        return _unread(data, describe(exc))
    return _viewed(data, record, make)


def _viewed(data: Any, record: SwapReturn, make: ViewMaker
            ) -> tuple[PlatformView, PayloadProblem | None]:
    """A valid record's view; one whose values cannot make a view (an amount beyond what
    a decimal holds to the cent) is a problem like any record that does not read."""
    try:
        return make(record), None
    except (ArithmeticError, ValueError) as exc:
        return _unread(data, f"a value is out of range ({type(exc).__name__})")


def _unread(data: Any, error: str) -> tuple[PlatformView, PayloadProblem]:
    ref = _guess_ref(data)
    view = PlatformView(system=SYSTEM, return_ref=ref, raw_ref=f"swap:{ref}",
                        order_ref=_text(data, "shopify_order_name"))
    return view, PayloadProblem(side=Side.PLATFORM, record_id=ref, error=error,
                                raw_ref=view.raw_ref)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _guess_ref(data: Any) -> str:
    ref = _text(data, "rma_number")
    if ref:
        return ref
    other = data.get("return_id") if isinstance(data, dict) else None
    return f"swap-record-{other}" if isinstance(other, str | int) else "swap-record-unknown"


def _updated(raw: Any) -> datetime | None:
    value = raw.get("date_updated") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _error_text(response) -> str | None:
    """Swap's error bodies (`{"statusCode", "message", "error"}`), as one line."""
    body = json_or_none(response)
    if body is None:
        return response.text[:200] or None
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, list):
            return "; ".join(str(m) for m in message)[:300]
        if message:
            return str(message)[:300]
    return None

"""Swap Commerce: the external returns API (RMA API v1, v2 behind `api_version = 2`).

Auth is the `x-api-key` header; the store goes in the query (`store` v1, `swap_store_id`
v2). Returns come a page at a time (`page`, `items_per_page` up to 50 in v1 and 100 in v2);
after the first page the rest are fetched concurrently. Field and status names follow
docs/vendors/swap-commerce.md; docs/swap-bc-mapping.md says how each maps to
the canonical return.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from ...connectors.auth import ApiKeyHeader
from ...connectors.base import PlatformBatch
from ...connectors.errors import InvalidPayloadError, MisconfiguredError, NotFoundError
from ...connectors.http import CallLog, HttpClient, RetryPolicy, json_or_none
from ...connectors.pacing import Pacer
from ...connectors.validation import as_utc, describe
from ...domain.codes import Side, Stage, StageStatus
from ...domain.model import Fee, PayloadProblem, PlatformLine, PlatformView, StageView
from ...domain.money import MoneyBreakdown, pad_cents

SYSTEM = "swap"
#: A unit price worked out from a line total keeps five decimals (as ERPs hold prices).
UNIT_PRICE = Decimal("0.00001")
ReturnStatus = Literal["Open", "Needs Review", "Closed", "Expired", "On Hold", "Cancelled"]
DeliveryStatus = Literal["Pre-Transit", "In-Transit", "Delivered"]
#: Return types Swap documents (help 10824818 / 10824821); v2 may add more (`result_type`):
#: an unknown type is kept as text and moves no money unless the profile says it does.
RETURN_TYPES = ("Refund", "Shop Now Credit", "Shop Later Credit", "Additional Payment",
                "Recycle", "Warranty", "Exchange")
#: v1 spells these differently; records are read in v2's names.
V1_TO_V2 = {"rma": "rma_number", "order_name": "shopify_order_name", "processed": "rma_processed",
            "shipping_status": "delivery_status", "status": "return_status"}


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
    concurrency: int = 4
    timeout: float = 30.0


def _loose_text(value: Any) -> Any:
    """A field used for display or matching only: a number becomes text, any other shape
    (an object, a list) is read as absent rather than invalidating the return."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


def _processed(value: Any) -> Any:
    """`rma_processed` / `processed`: documented as a string, sent as a boolean too; a date
    (when it was processed) means yes."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        return folded in _TRUE or (folded not in _FALSE and _loose_moment(value) is not None)
    return value  # anything else is not a yes or a no: the record is unreadable


def _types(value: Any) -> Any:
    """`type[]` as a list of strings; `type_string` is "a comma separated string containing
    the types of returns" (Swap's webhook docs)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [t.strip() for t in value if isinstance(t, str) and t.strip()]
    return []


def _loose_list(value: Any) -> Any:
    return value if isinstance(value, list) else []


def _loose_bool(value: Any) -> Any:
    return value if isinstance(value, bool) else None


def _loose_money(value: Any) -> Any:
    """Money Swap sends as a number (or a numeric string); anything else is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str | Decimal):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return None
    return None


def _loose_moment(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


LooseText = Annotated[str | None, BeforeValidator(_loose_text)]
LooseBool = Annotated[bool | None, BeforeValidator(_loose_bool)]
LooseMoney = Annotated[Decimal | None, BeforeValidator(_loose_money)]
LooseMoment = Annotated[datetime | None, BeforeValidator(_loose_moment)]
LooseList = Annotated[list[Any], BeforeValidator(_loose_list)]


class _Record(BaseModel):
    # Extra fields are fine (APIs grow). A field reconciliation needs must be right; one it
    # uses only for display is read tolerantly (see `_loose_text`).
    model_config = ConfigDict(extra="ignore")


class SwapProduct(_Record):
    product_id: LooseText = None
    shopify_line_item_id: LooseText = None
    sku: str = Field(min_length=1)
    item_count: int = Field(ge=0)
    #: "Total cost" of the product line (Swap's webhook docs), not a unit price.
    cost: Decimal | None = None
    #: Tax inside `cost` (tax-inclusive prices) and on top of it.
    refunded_inclusive_taxes: LooseMoney = None
    return_type: LooseText = None
    currency: LooseText = None
    main_reason_id: LooseText = None
    main_reason_text: LooseText = None
    intake_reason: LooseText = None
    is_faulty: LooseBool = None


class SwapShipmentItem(_Record):
    """`ExternalShipmentItemDto`: the product in a shipment (v2). Older payloads send ids."""

    product_id: LooseText = None
    shopify_line_item_id: LooseText = None
    sku: LooseText = None


def _shipment_item(value: Any) -> Any:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"product_id": str(value)}
    return value if isinstance(value, dict) else {}


class SwapShipment(_Record):
    destination_location_id: LooseText = None
    items: Annotated[list[Annotated[SwapShipmentItem, BeforeValidator(_shipment_item)]],
                     BeforeValidator(_loose_list)] = []


class SwapReturn(_Record):
    rma_number: str = Field(min_length=1)
    return_id: LooseText = None
    shopify_order_name: LooseText = None
    date_created: datetime
    date_updated: LooseMoment = None
    type_string: Annotated[list[str], BeforeValidator(_types)] = []
    type: Annotated[list[str], BeforeValidator(_types)] = []
    delivery_status: DeliveryStatus | None = None
    return_status: ReturnStatus
    customer_name: LooseText = None
    customer_email: LooseText = None
    customer_currency: LooseText = None
    rma_processed: Annotated[bool, BeforeValidator(_processed)] = False
    quality_control_status: LooseText = None
    delivered_date: LooseMoment = None
    date_closed: LooseMoment = None
    handling_fee: LooseMoney = None
    total_refunded_taxes: LooseMoney = None
    return_shipments: Annotated[list[SwapShipment], BeforeValidator(
        lambda v: [x for x in v if isinstance(x, dict)] if isinstance(v, list) else [])] = []
    products: list[SwapProduct] = Field(min_length=1)
    #: v2: the items sent in exchange (a replacement order is owed once processed).
    exchange_items: LooseList = []


_Parsed = tuple[Any, PlatformView, PayloadProblem | None]


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
        if v1:
            since = datetime.now(UTC) - timedelta(days=self.settings.history_days)
            params["from_date"] = _iso(since)
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
        return [(raw, *self.parse(raw)) for raw in rows]

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        """Views and problems parsed again from a batch's raw records (what the cache keeps)."""
        batch = PlatformBatch(fetched_at=kept.fetched_at, cursor=kept.cursor)
        for raw_ref, raw in kept.raw.items():
            view, problem = self.parse(raw)
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

    async def check_connection(self) -> str:
        rows, pagination = await self._page(1, None, 1)
        total = pagination.get("total_items", len(rows))
        return f"Swap Commerce store {self.settings.store}: reachable, {total} returns"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- mapping -------------------------------------------------------------------------

    def parse(self, raw: Any) -> tuple[PlatformView, PayloadProblem | None]:
        """One API record as a canonical view; an invalid one as a bare view plus problem."""
        data = {V1_TO_V2.get(k, k): v for k, v in raw.items()} if isinstance(raw, dict) else raw
        try:
            record = SwapReturn.model_validate(data)
        except ValidationError as exc:
            ref = _guess_ref(data)
            view = PlatformView(system=SYSTEM, return_ref=ref, raw_ref=f"swap:{ref}",
                                order_ref=_text(data, "shopify_order_name"))
            return view, PayloadProblem(side=Side.PLATFORM, record_id=ref,
                                        error=describe(exc), raw_ref=view.raw_ref)
        return self.to_view(record), None

    def to_view(self, r: SwapReturn) -> PlatformView:
        created = as_utc(r.date_created)
        updated = as_utc(r.date_updated) or created
        # A stage Swap says is done without its date happened by the last update at the
        # latest: without a time, no grace period could ever run out.
        delivered = as_utc(r.delivered_date) or updated
        closed = as_utc(r.date_closed) or updated
        types = r.type or r.type_string
        record_type = next((t for t in types if self._kind(t) == "refund"),
                           next(iter(types), None)) or "Refund"
        # Each product is paid back, replaced, or neither (Recycle, Warranty): its own
        # return_type, else the return's.
        kinds = [self._kind(p.return_type or record_type) for p in r.products]
        refunded = [p for p, k in zip(r.products, kinds, strict=True) if k == "refund"]
        exchange = "exchange" in kinds or bool(r.exchange_items) or any(
            self._kind(t) == "exchange" for t in types)
        inspected = (r.quality_control_status or "") in self.settings.qc_done
        ids = (str(r.return_id),) if r.return_id else (r.rma_number,)
        stages: dict[Stage, StageView] = {}
        failed = r.return_status in ("Cancelled", "Expired")
        stages[Stage.AUTHORISED] = StageView(
            status=StageStatus.FAILED if failed else StageStatus.DONE, at=created,
            record_ids=ids, detail=r.return_status)
        if r.delivery_status == "In-Transit":
            stages[Stage.IN_TRANSIT] = StageView(status=StageStatus.PENDING, at=updated,
                                                 detail="In-Transit")
        elif r.delivery_status == "Delivered":
            stages[Stage.IN_TRANSIT] = StageView(status=StageStatus.DONE, detail="Delivered")
            stages[Stage.RECEIVED] = StageView(status=StageStatus.DONE, at=delivered,
                                               record_ids=ids, detail="Delivered")
        if inspected:
            stages[Stage.INSPECTED] = StageView(
                status=StageStatus.DONE, at=delivered if r.rma_processed else updated,
                detail=r.quality_control_status)
        if exchange and r.rma_processed:
            stages[Stage.EXCHANGED] = StageView(status=StageStatus.DONE, at=closed,
                                                record_ids=ids)
        refund_type = next((p.return_type for p in refunded if p.return_type), None) \
            or (record_type if self._kind(record_type) == "refund" else "Refund")
        if not refunded:
            # Nothing is paid back (an exchange, Recycle): no credit note is owed.
            stages[Stage.CREDITED] = StageView(status=StageStatus.NOT_APPLICABLE,
                                               detail=record_type)
        elif r.rma_processed:
            stages[Stage.CREDITED] = StageView(status=StageStatus.DONE, at=closed,
                                               record_ids=ids, detail=refund_type)
        elif not failed and refund_type.casefold() in {
                t.casefold() for t in self.settings.instant_credit_types}:
            stages[Stage.CREDITED] = StageView(status=StageStatus.DONE, at=created,
                                               record_ids=ids, detail=refund_type)
        currency = (r.customer_currency or next((p.currency for p in r.products if p.currency),
                                                None) or "GBP").upper()
        destination: dict[str, str] = {}
        for shipment in r.return_shipments:
            if shipment.destination_location_id is None:
                continue
            for item in shipment.items:
                for key in (item.product_id, item.shopify_line_item_id, item.sku):
                    if key:
                        destination.setdefault(key, shipment.destination_location_id)
        only = {s.destination_location_id for s in r.return_shipments
                if s.destination_location_id is not None}
        fallback = next(iter(only)) if len(only) == 1 else self.settings.default_location
        by_text = self.settings.reason_key == "main_reason_text"
        lines = []
        items = Decimal(0)
        for n, (p, kind) in enumerate(zip(r.products, kinds, strict=True), start=1):
            ref = p.product_id or f"{r.rma_number}-{n}"
            quantity = Decimal(p.item_count)
            # `cost` is the line's total; tax-inclusive prices carry their tax inside it.
            total = None if p.cost is None else p.cost - (p.refunded_inclusive_taxes or 0)
            cost = None if total is None or not quantity else pad_cents(
                (total / quantity).quantize(UNIT_PRICE).normalize())
            if total is not None and kind == "refund":
                items += total
            location = next((destination[k] for k in (p.product_id, p.shopify_line_item_id,
                                                       p.sku) if k and k in destination),
                            fallback)
            lines.append(PlatformLine(
                line_ref=ref, sku=p.sku, quantity=quantity,
                reason=p.main_reason_text if by_text else p.main_reason_id,
                condition=p.intake_reason if inspected else None,
                location=location, unit_price=cost,
            ))
        fee = pad_cents(r.handling_fee or Decimal(0)) if refunded else Decimal("0.00")
        tax = pad_cents(r.total_refunded_taxes or Decimal(0))
        refund = MoneyBreakdown(currency=currency, items=pad_cents(items), tax=tax,
                                fees=fee) if refunded else None
        return PlatformView(
            system=SYSTEM, return_ref=r.rma_number, order_ref=r.shopify_order_name or None,
            customer_email=r.customer_email, customer_name=r.customer_name, created_at=created,
            lines=tuple(lines), refund=refund,
            refund_method=refund_type if refunded else None,
            fees=(Fee(type="handling_fee", amount=fee),) if fee else (),
            stages=stages, raw_ref=f"swap:{r.rma_number}",
        )

    def _kind(self, return_type: str) -> str:
        """What a return type does with money: `refund`, `exchange` or `none`."""
        folded = return_type.strip().casefold()
        if folded in {t.casefold() for t in self.settings.refund_types}:
            return "refund"
        if folded in {t.casefold() for t in self.settings.exchange_types}:
            return "exchange"
        return "none"


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

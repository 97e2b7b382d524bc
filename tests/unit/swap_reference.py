"""The Swap connector's parse as it was before issue 13, kept verbatim as a test oracle.

One record at a time: `SwapReturn.model_validate`, then `to_view`, with its own copy of the
record models. tests/unit/test_swap_page_parse.py checks the connector's page-at-once path
against it, so a faster path cannot change a view, a problem or a raw record. A deliberate
change to what Swap's records map to changes this oracle too.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from returns_console.connectors.validation import as_utc, describe
from returns_console.domain.codes import Side, Stage, StageStatus
from returns_console.domain.model import Fee, PayloadProblem, PlatformLine, PlatformView, StageView
from returns_console.domain.money import MoneyBreakdown, pad_cents
from returns_console.systems.swap.connector import SwapSettings

SYSTEM = "swap"
UNIT_PRICE = Decimal("0.00001")
ReturnStatus = Literal["Open", "Needs Review", "Closed", "Expired", "On Hold", "Cancelled"]
DeliveryStatus = Literal["Pre-Transit", "In-Transit", "Delivered"]
#: v1 spells these differently; records are read in v2's names.
V1_TO_V2 = {"rma": "rma_number", "order_name": "shopify_order_name", "processed": "rma_processed",
            "shipping_status": "delivery_status", "status": "return_status"}


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


class ReferenceParser:
    """`SwapConnector.parse` and `to_view` as they were."""

    def __init__(self, settings: SwapSettings) -> None:
        self.settings = settings

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


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _guess_ref(data: Any) -> str:
    ref = _text(data, "rma_number")
    if ref:
        return ref
    other = data.get("return_id") if isinstance(data, dict) else None
    return f"swap-record-{other}" if isinstance(other, str | int) else "swap-record-unknown"


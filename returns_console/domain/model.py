"""The canonical two-sided return: what the platform says and what the ERP says, per stage.

Connectors build these from each system's own JSON; the reconciliation engine only reads them.
They are frozen, slotted dataclasses (small and fast: a run holds hundreds of thousands),
validated by pydantic at the boundary (`Snapshot`, `parse_case`), so the engine can trust
every field it touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal, TypeVar, dataclass_transform

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, TypeAdapter

from .codes import Side, Stage, StageStatus
from .money import Amount, MoneyBreakdown
from .slots import quick_init

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
#: Finite, non-negative, at most 12 digits before the point and 6 after.
Quantity = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=18, decimal_places=6)]


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def record(cls: type[_T]) -> type[_T]:
    """A frozen, slotted, keyword-only dataclass (declared so type checkers see its fields),
    made by an `__init__` that fills each slot through its descriptor (`quick_init`)."""
    made = dataclass(frozen=True, slots=True, kw_only=True)(cls)
    made.__init__ = quick_init(made)  # type: ignore[method-assign]
    return made


#: defer_build: a model's validator is built when it is first used, not at import (the
#: console draws its first frame from a cached report without validating any of these).
_STRICT = ConfigDict(extra="forbid", defer_build=True)


@record
class StageView:
    """One stage as one system sees it."""

    __pydantic_config__ = _STRICT

    status: StageStatus = StageStatus.NOT_STARTED
    at: AwareDatetime | None = None
    record_ids: tuple[str, ...] = ()
    #: The system's own word for the state (e.g. "Released", "In-Transit"), for display.
    detail: str | None = None
    #: Where the raw source payload is kept (cache key), for drill-down.
    raw_ref: str | None = None


NOT_STARTED = StageView()


@record
class PlatformLine:
    __pydantic_config__ = _STRICT

    line_ref: NonEmpty
    sku: NonEmpty
    quantity: Quantity
    #: Unit the platform counts in; None means "each" in the SKU's own unit.
    uom: str | None = None
    received_quantity: Quantity | None = None
    #: Of the units received, how many the platform put back on sale and how many it
    #: decided not to, as its inspection settled them (None: it does not say per line).
    #: What a receipt made for the platform's goods may restock or write off.
    restocked_quantity: Quantity | None = None
    not_restocked_quantity: Quantity | None = None
    reason: str | None = None
    #: Graded condition after inspection (e.g. "sellable", "damaged").
    condition: str | None = None
    #: Platform location or hub the goods go to.
    location: str | None = None
    unit_price: Amount | None = None


@record
class ErpLine:
    __pydantic_config__ = _STRICT

    line_ref: NonEmpty
    item_no: NonEmpty
    uom: str | None = None
    quantity: Quantity
    received_quantity: Quantity | None = None
    reason: str | None = None
    disposition: str | None = None
    #: Where the stock sits after receipt / inspection.
    location: str | None = None


@record
class Fee:
    __pydantic_config__ = _STRICT

    type: NonEmpty
    amount: Amount


CreditNoteStatus = Literal["draft", "posted", "cancelled"]


@record
class CreditNote:
    __pydantic_config__ = _STRICT

    id: NonEmpty
    number: str | None = None
    status: CreditNoteStatus
    external_ref: str | None = None
    order_ref: str | None = None
    customer_ref: str | None = None
    posting_date: date | None = None
    posted_at: AwareDatetime | None = None
    amounts: MoneyBreakdown | None = None
    payment_method: str | None = None
    raw_ref: str | None = None


#: "on_hold": waiting for approval or prepayment (an ERP's pending-approval state): it
#: exists but cannot take a receipt.
ReturnOrderState = Literal["open", "released", "on_hold", "closed", "cancelled"]


@record
class Address:
    """Where the customer is (the platform's billing address), for an ERP that imports the
    return as a document of its own (a channel's feed)."""

    __pydantic_config__ = _STRICT

    line1: str | None = None
    line2: str | None = None
    town: str | None = None
    postcode: str | None = None
    region: str | None = None
    #: ISO 3166-1 alpha-2, as the platform sends it.
    country: str | None = None


@record
class PlatformView:
    __pydantic_config__ = _STRICT

    system: NonEmpty
    return_ref: NonEmpty
    #: Other references the platform knows this return by (a platform with several ids,
    #: any of which an integration may have written into the ERP): an ERP record under one
    #: of them pairs with it when none carries `return_ref`.
    aliases: tuple[str, ...] = ()
    order_ref: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    customer_address: Address | None = None
    created_at: AwareDatetime | None = None
    lines: tuple[PlatformLine, ...] = ()
    refund: MoneyBreakdown | None = None
    refund_method: str | None = None
    #: The currency of the return's money when no refund says it yet (a platform that
    #: creates the refund only when it is paid), so an amount at risk is never bare.
    currency: str | None = None
    fees: tuple[Fee, ...] = ()
    stages: dict[Stage, StageView] = field(default_factory=dict)
    raw_ref: str | None = None

    def stage(self, stage: Stage) -> StageView:
        return self.stages.get(stage, NOT_STARTED)


@record
class ErpView:
    __pydantic_config__ = _STRICT

    system: NonEmpty
    #: The link written into the ERP record (the field its writer names as `link_label`).
    return_ref: str | None = None
    order_ref: str | None = None
    customer_ref: str | None = None
    return_order_state: ReturnOrderState | None = None
    lines: tuple[ErpLine, ...] = ()
    credit_notes: tuple[CreditNote, ...] = ()
    stages: dict[Stage, StageView] = field(default_factory=dict)
    #: False: the view holds only documents that carry a link without being the return's
    #: own (a replacement sales order): it counts next to a platform return, and alone it
    #: is not an unlinked return.
    return_document: bool = True

    def stage(self, stage: Stage) -> StageView:
        return self.stages.get(stage, NOT_STARTED)


@record
class PayloadProblem:
    """A source record that did not validate: kept, with the error, never dropped."""

    __pydantic_config__ = _STRICT

    side: Side
    record_id: str | None = None
    stage: Stage | None = None
    error: NonEmpty
    raw_ref: str | None = None


@record
class ReturnCase:
    """One return as both systems see it."""

    __pydantic_config__ = _STRICT

    platform: PlatformView
    erp: ErpView
    problems: tuple[PayloadProblem, ...] = ()
    #: ERP records whose link key matches no platform return: `platform` is a stand-in
    #: carrying only that key. Reported as ERP_RECORD_UNLINKED and nothing else.
    unlinked: bool = False

    @property
    def return_ref(self) -> str:
        return self.platform.return_ref

    @property
    def order_ref(self) -> str | None:
        return self.platform.order_ref


@cache
def _cases() -> TypeAdapter[tuple[ReturnCase, ...]]:
    return TypeAdapter(tuple[ReturnCase, ...])


def parse_cases(data: object) -> tuple[ReturnCase, ...]:
    """Validate canonical JSON (a list of returns) into models; raises pydantic's
    ValidationError naming the field path of every problem."""
    return _cases().validate_python(data)


def dump_cases(cases: tuple[ReturnCase, ...] | list[ReturnCase]) -> list[dict]:
    """Canonical JSON for a list of returns (money and quantities as strings)."""
    return _cases().dump_python(tuple(cases), mode="json", exclude_none=True)

"""Swap Commerce's return records as pydantic models, and a page of them validated at once.

`validate_page` validates a page in ONE pydantic call instead of one per record. A record
that does not validate comes back as it came, for the connector to validate alone: its
PayloadProblem is then word for word what validating it alone says, and the page's good
records are neither lost nor validated twice. The loose readers (`LooseText` and the
others) keep display-only fields from invalidating a return."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import core_schema as cs

ReturnStatus = Literal["Open", "Needs Review", "Closed", "Expired", "On Hold", "Cancelled"]
DeliveryStatus = Literal["Pre-Transit", "In-Transit", "Delivered"]
#: Return types Swap documents (help 10824818 / 10824821); v2 may add more (`result_type`):
#: an unknown type is kept as text and moves no money unless the profile says it does.
RETURN_TYPES = ("Refund", "Shop Now Credit", "Shop Later Credit", "Additional Payment",
                "Recycle", "Warranty", "Exchange")
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
        if "," not in value:  # one type (the usual case)
            value = value.strip()
            return [value] if value else []
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


#: Text (by far the usual value) and null are taken as they are without calling Python (a
#: page has thousands of these fields); anything else goes through `_loose_text`, exactly
#: as a BeforeValidator(_loose_text) on `str | None` would read it.
LooseText = Annotated[str | None, GetPydanticSchema(lambda _type, _handler: cs.union_schema(
    [cs.str_schema(strict=True), cs.none_schema(),
     cs.no_info_plain_validator_function(_loose_text)], mode="left_to_right"))]
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


def _empty() -> list[Any]:
    """The default of a list field: a new list each time, without pydantic deep-copying a
    `[]` default for every record that lacks the field (and as a Python function, whose
    signature pydantic reads at import without the tokenizer a builtin's would need)."""
    return []


def _shipments(value: Any) -> Any:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


class SwapShipment(_Record):
    destination_location_id: LooseText = None
    items: Annotated[list[Annotated[SwapShipmentItem, BeforeValidator(_shipment_item)]],
                     BeforeValidator(_loose_list)] = Field(default_factory=_empty)


class SwapAddress(_Record):
    """v2's `billing_address` (§1.4.1); any field may be missing or junk (then None)."""

    address1: LooseText = None
    address2: LooseText = None
    city: LooseText = None
    postcode: LooseText = None
    state_province_code: LooseText = None
    country_code: LooseText = None


def _address(value: Any) -> Any:
    """An address that is not an object is no address (it is optional, never a problem)."""
    return value if isinstance(value, dict) else None


class SwapReturn(_Record):
    rma_number: str = Field(min_length=1)
    return_id: LooseText = None
    shopify_order_name: LooseText = None
    date_created: datetime
    date_updated: LooseMoment = None
    type_string: Annotated[list[str], BeforeValidator(_types)] = Field(default_factory=_empty)
    type: Annotated[list[str], BeforeValidator(_types)] = Field(default_factory=_empty)
    delivery_status: DeliveryStatus | None = None
    return_status: ReturnStatus
    customer_name: LooseText = None
    customer_email: LooseText = None
    customer_currency: LooseText = None
    billing_address: Annotated[SwapAddress | None, BeforeValidator(_address)] = None
    rma_processed: Annotated[bool, BeforeValidator(_processed)] = False
    quality_control_status: LooseText = None
    delivered_date: LooseMoment = None
    date_closed: LooseMoment = None
    handling_fee: LooseMoney = None
    total_refunded_taxes: LooseMoney = None
    return_shipments: Annotated[list[SwapShipment], BeforeValidator(_shipments)] = Field(
        default_factory=_empty)
    products: list[SwapProduct] = Field(min_length=1)
    #: v2: the items sent in exchange (a replacement order is owed once processed).
    exchange_items: LooseList = Field(default_factory=_empty)


#: v1's names, for a quick "is there anything to rename" test.
_V1_KEYS = tuple(V1_TO_V2)


def v2_names(raw: Any) -> Any:
    """A record in v2's field names (a v2 record, the usual case, is returned as it is)."""
    if isinstance(raw, dict) and any(k in raw for k in _V1_KEYS):
        return {V1_TO_V2.get(k, k): v for k, v in raw.items()}
    return raw


@cache
def _page_adapter() -> TypeAdapter[list[Any]]:
    # left_to_right: a record is a SwapReturn if it validates as one (lax, exactly as
    # `SwapReturn.model_validate`), else it is kept as it came; the page call never fails
    # for one bad record. Built on first use, not at import (start-up time).
    return TypeAdapter(list[Annotated[SwapReturn | Any, Field(union_mode="left_to_right")]])


def validate_page(records: list[Any]) -> list[Any]:
    """Each record as a SwapReturn, or as it came when it does not validate as one."""
    try:
        return _page_adapter().validate_python(records)
    except ValidationError:  # not expected (the item type takes anything): each alone
        return list(records)

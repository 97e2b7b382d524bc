"""F&O records as its OData entities send them (docs/vendors/d365-fo.md §3.4, §5).

Property names are PascalCase exactly as in `$metadata`; enums come as their member's name
(§3.3); decimals as JSON numbers; unset strings as "" (not null); a blank date as
1900-01-01 (§3.4). Each model keeps the fields the console reads; a record that does not fit
is a payload problem under its link key, never an exception.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: `ReturnStatusHeader` (§5.4): the return order's own status.
HEADER_STATUSES = frozenset({"None", "Created", "Open", "Closed", "Canceled"})
#: `ReturnStatusLine` (§5.4): where a line is in arrival, inspection, packing slip, invoice.
LINE_STATUSES = frozenset({"None", "Awaiting", "Registered", "Quarantine", "Received",
                           "Invoiced", "Canceled"})
#: `DispositionAction` (§5.4): what a disposition code does to the goods and the money.
ACTIONS = frozenset({"Credit", "CreditOnly", "Scrap", "ReplaceCredit", "ReplaceScrap",
                     "ReturnToCust"})
#: Dates before this are F&O's blank (1900-01-01, §3.4 / U21).
_BLANK_BEFORE = date(1901, 1, 1)


class _Entity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True,
                              populate_by_name=True)

    data_area: str = Field(alias="dataAreaId")


def moment(text: str | None) -> datetime | None:
    """An `Edm.DateTimeOffset` as sent, None for F&O's blank date (1900-01-01) or none."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value.date() < _BLANK_BEFORE:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31 at a negative offset: no date a return can carry
        raise ValueError(f"{text!r} is out of range") from None


def _member(value: object, members: frozenset[str], what: str) -> object:
    if isinstance(value, str) and value not in members:
        raise ValueError(f"{what} {value!r} is not one the console knows "
                         f"({', '.join(sorted(members))})")
    return value


def _stamp(value: object) -> object:
    if isinstance(value, str) and value:
        moment(value)  # raises ValueError for what is no date-time
    return value


class FoHeader(_Entity):
    """A `ReturnOrderHeadersV2` record (§5.2)."""

    number: str = Field(alias="ReturnOrderNumber", min_length=1)
    rma: str = Field("", alias="RMANumber")
    customer: str = Field("", alias="CustomerAccountNumber")
    reference: str = Field("", alias="CustomersOrderReference")
    requisition: str = Field("", alias="CustomerRequisitionNumber")
    reason: str = Field("", alias="CustomerReturnReasonCode")
    status: str = Field(alias="ReturnStatus")
    stopped: str = Field("No", alias="IsReturnProcessingStopped")
    replacement: str = Field("", alias="ReplacementSalesOrderNumber")
    replaced: str = Field("No", alias="IsReplacementSalesOrderCreated")
    currency: str = Field("", alias="CurrencyCode")
    deadline: str = Field("", alias="ReturnDeadline")
    warehouse: str = Field("", alias="DefaultReturnWarehouseId")

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        _member(value, HEADER_STATUSES, "ReturnStatus")
        return value

    @field_validator("stopped", "replaced")
    @classmethod
    def _no_yes(cls, value: str) -> str:
        _member(value, frozenset({"No", "Yes"}), "NoYes")
        return value

    @field_validator("deadline")
    @classmethod
    def _date(cls, value: str) -> str:
        _stamp(value)
        return value

    def value_of(self, name: str) -> str:
        """A header field by its F&O name (the link and order fields are options)."""
        return {"CustomersOrderReference": self.reference,
                "CustomerRequisitionNumber": self.requisition}.get(name, "").strip()


class FoLine(_Entity):
    """A `ReturnOrderLinesV2` record (§5.3)."""

    number: str = Field(alias="ReturnOrderNumber", min_length=1)
    lot: str = Field(alias="ReturnInventoryLotId", min_length=1)
    sequence: int = Field(0, alias="LineCreationSequenceNumber")
    item: str = Field(alias="ItemNumber")
    quantity: Decimal = Field(alias="ReturnSalesQuantity")
    returned: Decimal = Field(Decimal(0), alias="ReturnedSalesQuantity")
    unit: str = Field("", alias="SalesUnitSymbol")
    status: str = Field(alias="ReturnStatus")
    disposition: str = Field("", alias="ReturnDispositionCode")
    warehouse: str = Field("", alias="ReturnWarehouseId")
    arrived: str = Field("", alias="ActualReturnArrivalDate")
    closed: str = Field("", alias="ReturnClosedDate")

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        _member(value, LINE_STATUSES, "ReturnStatus")
        return value

    @field_validator("arrived", "closed")
    @classmethod
    def _date(cls, value: str) -> str:
        _stamp(value)
        return value

    @field_validator("quantity", "returned", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValueError("a quantity is a JSON number")
        return Decimal(str(value))


class FoInvoice(_Entity):
    """A `SalesInvoiceHeadersV2` record (§5.7): a return order's credit note when its
    `SalesOrderNumber` is the return order's number (U20)."""

    number: str = Field(alias="InvoiceNumber", min_length=1)
    day: str = Field(alias="InvoiceDate")
    voucher: str = Field("", alias="LedgerVoucher")
    order: str = Field("", alias="SalesOrderNumber")
    reference: str = Field("", alias="CustomersOrderReference")
    customer: str = Field("", alias="InvoiceCustomerAccountNumber")
    currency: str = Field(alias="CurrencyCode", min_length=3, max_length=3)
    total: Decimal = Field(alias="TotalInvoiceAmount")
    tax: Decimal = Field(Decimal(0), alias="TotalTaxAmount")
    charges: Decimal = Field(Decimal(0), alias="TotalChargeAmount")
    discount: Decimal = Field(Decimal(0), alias="TotalDiscountAmount")

    @field_validator("day")
    @classmethod
    def _date(cls, value: str) -> str:
        if moment(value) is None:
            raise ValueError("an invoice has a date")
        return value

    @field_validator("total", "tax", "charges", "discount", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValueError("an amount is a JSON number")
        return Decimal(str(value))

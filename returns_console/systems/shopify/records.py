"""A Shopify return's record as the connector reads it: the three parts of `queries.py`
laid together under the return's id (docs/vendors/shopify.md §3). Field names are the
Admin API's. What reconciliation needs is required (the return's name and status, its
lines' quantities); the rest is read tolerantly, an unknown field ignored, so a field
Shopify adds in a later version never invalidates a return.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Money(_Record):
    amount: Decimal
    currencyCode: str


class MoneyBag(_Record):
    shopMoney: Money
    presentmentMoney: Money | None = None


class PageInfo(_Record):
    hasNextPage: bool = False


class Page(_Record, Generic[T]):
    nodes: list[T] = Field(default_factory=list)
    pageInfo: PageInfo = Field(default_factory=PageInfo)


class Place(_Record):
    id: str
    name: str | None = None


class LineItem(_Record):
    id: str
    sku: str | None = None
    originalUnitPriceSet: MoneyBag | None = None


class FulfillmentLine(_Record):
    lineItem: LineItem


class ReturnLine(_Record):
    typename: str = Field(alias="__typename")
    id: str
    quantity: int
    processedQuantity: int = 0
    refundedQuantity: int = 0
    returnReason: str | None = None
    #: Absent on an UnverifiedReturnLineItem (no fulfillment link: no SKU, §3.2).
    fulfillmentLineItem: FulfillmentLine | None = None


class ExchangeLine(_Record):
    id: str
    quantity: int
    processedQuantity: int = 0
    lineItems: list[LineItem] | None = None


class Disposition(_Record):
    id: str
    createdAt: datetime
    quantity: int
    type: str
    location: Place | None = None


class RfoLine(_Record):
    id: str
    totalQuantity: int
    fulfillmentLineItem: FulfillmentLine | None = None
    dispositions: list[Disposition] = Field(default_factory=list)


class Label(_Record):
    createdAt: datetime


class Tracking(_Record):
    number: str | None = None


class Deliverable(_Record):
    """A `ReverseDeliveryShippingDeliverable` (the union's only member in 2026-07)."""

    label: Label | None = None
    tracking: Tracking | None = None


class ReverseDelivery(_Record):
    id: str
    deliverable: Deliverable | None = None


class Rfo(_Record):
    id: str
    status: str
    lineItems: Page[RfoLine] = Field(default_factory=Page)
    reverseDeliveries: Page[ReverseDelivery] = Field(default_factory=Page)


class RefundLine(_Record):
    quantity: int
    restockType: str
    restocked: bool = False
    location: Place | None = None
    lineItem: LineItem
    subtotalSet: MoneyBag
    totalTaxSet: MoneyBag


class RefundShipping(_Record):
    subtotalAmountSet: MoneyBag
    taxAmountSet: MoneyBag


class Transaction(_Record):
    id: str
    kind: str
    status: str
    processedAt: datetime | None = None
    gateway: str | None = None
    amountSet: MoneyBag


class Refund(_Record):
    id: str
    createdAt: datetime | None = None
    processedAt: datetime | None = None
    refundLineItems: Page[RefundLine] = Field(default_factory=Page)
    refundShippingLines: Page[RefundShipping] = Field(default_factory=Page)
    transactions: Page[Transaction] = Field(default_factory=Page)


class Order(_Record):
    id: str
    name: str
    email: str | None = None
    currencyCode: str | None = None


class Fee(_Record):
    amountSet: MoneyBag


class ShopifyReturn(_Record):
    id: str
    name: str = Field(min_length=1)
    status: str
    createdAt: datetime
    requestApprovedAt: datetime | None = None
    closedAt: datetime | None = None
    order: Order
    returnShippingFees: list[Fee] = Field(default_factory=list)
    returnLineItems: Page[ReturnLine]
    exchangeLineItems: Page[ExchangeLine] = Field(default_factory=Page)
    reverseFulfillmentOrders: Page[Rfo] = Field(default_factory=Page)
    refunds: Page[Refund] = Field(default_factory=Page)

"""What an operator asks an ERP to do, in the console's own terms: a credit to create from
the platform's view (mappings applied), a reference to change. Each ERP connector turns these
into its API's requests; nothing here knows a URL or a JSON field name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .model import ErpLine


@dataclass(frozen=True, slots=True)
class CreditLine:
    item_no: str
    quantity: Decimal
    #: The ERP unit of measure the quantity is in (after the SKU mapping's factor).
    uom: str | None = None
    #: Price per unit, excluding tax, in the credit's currency.
    unit_price: Decimal | None = None
    location: str | None = None
    description: str | None = None
    #: How the ERP finds the item from `item_no` where the SKU mapping says (its own word,
    #: e.g. a barcode); None: by its item number.
    match_by: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnDocument:
    """The ERP's own document for the return (its return order), as the check read it:
    an ERP that makes a credit from it (rather than standalone) needs to know which, and
    whether it can (its writer decides)."""

    #: The raw_ref the connector gave it ("system:set:id").
    raw_ref: str
    #: Its number as people see it.
    number: str | None = None
    #: The console's word for its state (`ReturnOrderState`: "on_hold" awaits approval).
    state: str | None = None
    #: Whether the ERP has received goods against it.
    received: bool = False


@dataclass(frozen=True, slots=True)
class CreditRequest:
    """A credit note for one return, built from the platform's view."""

    #: The link key: the ERP document carries it (in the field its writer names).
    link: str
    customer_ref: str
    currency: str
    lines: tuple[CreditLine, ...]
    order_ref: str | None = None
    posting_date: date | None = None
    #: Shipping refunded and fees kept back (positive amounts; the connector signs them).
    shipping: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    payment_method: str | None = None
    reason: str | None = None
    #: The return's own ERP document, where there is one.
    source: ReturnDocument | None = None
    #: What the platform refunded for the goods, discounts taken off (before tax, shipping
    #: and fees kept back): an ERP that prices the credit itself must not credit more.
    goods: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """Units of one ERP item the platform received, in the ERP's unit, and whether they
    went back on sale there: a receipt moves no more stock than that."""

    item_no: str
    quantity: Decimal
    #: Of `quantity`, the units the platform put back on sale (the rest it did not).
    restocked: Decimal
    uom: str | None = None
    match_by: str | None = None
    #: Where the platform put the goods, as the ERP names it (mapped), where known.
    location: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptRequest:
    """A missing receipt against the ERP's return order, built from what the platform
    received and how its inspection settled each unit."""

    #: The link key the return order carries.
    link: str
    lines: tuple[ReceiptLine, ...]
    #: The ERP's return order the receipt is made against.
    source: ReturnDocument
    #: Its lines as the check read them (an ERP that names lines by their number on the
    #: return order builds the request from these, and sends it only while they hold).
    order_lines: tuple[ErpLine, ...] = ()


#: In a described request that follows another (`then`), the value the first one's answer
#: gives (a number the ERP assigns), shown as this until it is known.
PENDING_NUMBER = "<the number the ERP gives the header>"


@dataclass(frozen=True, slots=True)
class ReturnOrderRequest:
    """A missing return order (the ERP's authorisation of the return), built from the
    platform's approved return: it moves no goods and no money, only says what may come
    back (the receipt and the credit stay the ERP's steps)."""

    #: The link key: the return order carries it (in the field its writer names).
    link: str
    customer_ref: str
    lines: tuple[CreditLine, ...]
    order_ref: str | None = None
    reason: str | None = None
    currency: str | None = None


class DocumentKind(StrEnum):
    """The kinds of ERP document a return leaves behind, in the console's terms."""

    RETURN_ORDER = "return_order"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"
    EXCHANGE_ORDER = "exchange_order"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class RecordRef:
    """One ERP record by the raw_ref the connector gave it ("system:set:id")."""

    system: str
    entity: str
    id: str

    @classmethod
    def parse(cls, raw_ref: str) -> RecordRef:
        system, entity, ident = raw_ref.split(":", 2)
        if not (system and entity and ident) or ident == "?":
            raise ValueError(f"not a record reference: {raw_ref!r}")
        return cls(system, entity, ident)

    def __str__(self) -> str:
        return f"{self.system}:{self.entity}:{self.id}"


@dataclass(slots=True)
class WriteResult:
    """What the ERP answered to one write: the record as it is now, and its identity."""

    record_id: str
    number: str | None = None
    etag: str | None = None
    record: dict = field(default_factory=dict)
    #: The ERP's own word for the document's state, for display.
    status: str | None = None
    #: True once the document is final in the ERP (a posted credit note, which moves money
    #: and can only be reversed by another document); False for a draft; None: not known.
    final: bool | None = None
    #: The ERP has the change but takes it up later (it collects it on its schedule): the
    #: audit row stays open (`handed_over`) until the ERP is seen to take it up.
    deferred: bool = False

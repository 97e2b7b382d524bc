"""Stable identifiers from the domain contract (docs/exceptions.md).

These strings are emitted by `check --format json` and compared by acceptance checks: never
rename a value, only add.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    AUTHORISED = "authorised"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CREDITED = "credited"
    EXCHANGED = "exchanged"
    RESTOCKED = "restocked"


#: Lifecycle order, used for sorting findings and laying out the stage board.
STAGE_ORDER: dict[Stage, int] = {stage: i for i, stage in enumerate(Stage)}


class StageStatus(StrEnum):
    NOT_STARTED = "not_started"
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


class Kind(StrEnum):
    DATA = "data"
    SYNC = "sync"
    VALUE = "value"
    TIMING = "timing"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class Owner(StrEnum):
    FINANCE = "finance"
    OPERATIONS = "operations"
    CX = "cx"
    DATA = "data"
    INTEGRATION = "integration"


class Action(StrEnum):
    REMAP_SKU = "remap_sku"
    REMAP_CODE = "remap_code"
    FIX_REFERENCE = "fix_reference"
    REQUEUE_POSTING = "requeue_posting"
    NONE = "none"


class Component(StrEnum):
    """The parts a refund is split into; money compares part by part."""

    ITEMS = "items"
    TAX = "tax"
    SHIPPING = "shipping"
    DISCOUNTS = "discounts"
    FEES = "fees"


class Code(StrEnum):
    SKU_UNKNOWN = "SKU_UNKNOWN"
    SKU_INACTIVE = "SKU_INACTIVE"
    UOM_MISMATCH = "UOM_MISMATCH"
    ORDER_REF_MISSING = "ORDER_REF_MISSING"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    EXTERNAL_REF_CONFLICT = "EXTERNAL_REF_CONFLICT"
    #: Added in the spirit of the catalogue: an ERP record whose link matches no return.
    ERP_RECORD_UNLINKED = "ERP_RECORD_UNLINKED"
    REASON_UNMAPPED = "REASON_UNMAPPED"
    DISPOSITION_UNMAPPED = "DISPOSITION_UNMAPPED"
    LOCATION_UNMAPPED = "LOCATION_UNMAPPED"
    FEE_ITEM_UNMAPPED = "FEE_ITEM_UNMAPPED"
    PAYMENT_METHOD_UNMAPPED = "PAYMENT_METHOD_UNMAPPED"
    PAYLOAD_INVALID = "PAYLOAD_INVALID"
    RETURN_ORDER_MISSING = "RETURN_ORDER_MISSING"
    RETURN_ORDER_NOT_OPEN = "RETURN_ORDER_NOT_OPEN"
    RECEIPT_NOT_POSTED = "RECEIPT_NOT_POSTED"
    CREDIT_NOTE_MISSING = "CREDIT_NOTE_MISSING"
    CREDIT_NOTE_DUPLICATE = "CREDIT_NOTE_DUPLICATE"
    EXCHANGE_ORDER_MISSING = "EXCHANGE_ORDER_MISSING"
    QUANTITY_MISMATCH = "QUANTITY_MISMATCH"
    REFUND_AMOUNT_MISMATCH = "REFUND_AMOUNT_MISMATCH"
    TAX_MISMATCH = "TAX_MISMATCH"
    DISPOSITION_LOCATION_WRONG = "DISPOSITION_LOCATION_WRONG"
    CREDIT_BEFORE_RECEIPT = "CREDIT_BEFORE_RECEIPT"
    CREDIT_WITHOUT_REFUND = "CREDIT_WITHOUT_REFUND"
    PREMATURE_RESTOCK = "PREMATURE_RESTOCK"
    CLOSED_PERIOD = "CLOSED_PERIOD"
    STAGE_OVERDUE = "STAGE_OVERDUE"


class Side(StrEnum):
    PLATFORM = "platform"
    ERP = "erp"



# Plain module-level aliases for the hot path: on Python 3.11 reading an enum member off its
# class costs ~50 ns, and the engine reads stages and statuses dozens of times per return.
AUTHORISED, IN_TRANSIT, RECEIVED, INSPECTED, CREDITED, EXCHANGED, RESTOCKED = tuple(Stage)
NOT_STARTED, PENDING, DONE, FAILED, NOT_APPLICABLE = tuple(StageStatus)

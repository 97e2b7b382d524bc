"""One small pure function per exception code of spec section 2.

Each rule takes the worked-out view of one return and returns its findings (an empty
tuple when the return is fine). The registry below maps every code to its rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..codes import Code
from ..findings import Finding
from ..view import CaseView
from . import data, sync, timing, value

Rule = Callable[[CaseView], Sequence[Finding]]

RULES: dict[Code, Rule] = {
    Code.PAYLOAD_INVALID: data.payload_invalid,
    Code.SKU_UNKNOWN: data.sku_unknown,
    Code.SKU_INACTIVE: data.sku_inactive,
    Code.UOM_MISMATCH: data.uom_mismatch,
    Code.ORDER_REF_MISSING: data.order_ref_missing,
    Code.CUSTOMER_NOT_FOUND: data.customer_not_found,
    Code.EXTERNAL_REF_CONFLICT: data.external_ref_conflict,
    Code.ERP_RECORD_UNLINKED: data.erp_record_unlinked,
    Code.REASON_UNMAPPED: data.reason_unmapped,
    Code.DISPOSITION_UNMAPPED: data.disposition_unmapped,
    Code.LOCATION_UNMAPPED: data.location_unmapped,
    Code.FEE_ITEM_UNMAPPED: data.fee_item_unmapped,
    Code.PAYMENT_METHOD_UNMAPPED: data.payment_method_unmapped,
    Code.RETURN_ORDER_MISSING: sync.return_order_missing,
    Code.RETURN_ORDER_NOT_OPEN: sync.return_order_not_open,
    Code.RECEIPT_NOT_POSTED: sync.receipt_not_posted,
    Code.CREDIT_NOTE_MISSING: sync.credit_note_missing,
    Code.CREDIT_NOTE_DUPLICATE: sync.credit_note_duplicate,
    Code.EXCHANGE_ORDER_MISSING: sync.exchange_order_missing,
    Code.QUANTITY_MISMATCH: value.quantity_mismatch,
    Code.REFUND_AMOUNT_MISMATCH: value.refund_amount_mismatch,
    Code.TAX_MISMATCH: value.tax_mismatch,
    Code.DISPOSITION_LOCATION_WRONG: value.disposition_location_wrong,
    Code.CREDIT_WITHOUT_REFUND: value.credit_without_refund,
    Code.CREDIT_BEFORE_RECEIPT: timing.credit_before_receipt,
    Code.PREMATURE_RESTOCK: timing.premature_restock,
    Code.CLOSED_PERIOD: timing.closed_period,
    Code.STAGE_OVERDUE: timing.stage_overdue,
}

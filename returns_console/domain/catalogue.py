"""The exception catalogue: what each code is, who owns it, why it matters, what to do.

One row per code of spec section 2. The "why" and "todo" lines are what the console shows
next to a highlighted mismatch, so they are written for the operator, not the developer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import Action, Code, Kind, Owner, Severity, Stage

#: The record a re-queue of each sync code would create; an ERP whose API cannot create it
#: is not offered the re-queue (the finding says what to do in the ERP instead).
REQUEUE_CREATES: dict[Code, str] = {
    Code.RETURN_ORDER_MISSING: "return_order",
    # what it needs is the return order approved (or opened) in the ERP: no API makes that
    Code.RETURN_ORDER_NOT_OPEN: "approval",
    Code.RECEIPT_NOT_POSTED: "receipt",
    Code.CREDIT_NOTE_MISSING: "credit_note",
    Code.EXCHANGE_ORDER_MISSING: "exchange_order",
}


#: What a pair of systems must be able to report for a code to be seen at all (facts each
#: system declares in the registry); codes not listed need only what every pair reports.
NEEDS: dict[Code, frozenset[str]] = {
    Code.LOCATION_UNMAPPED: frozenset({"platform_location"}),  # where goods go
    Code.PREMATURE_RESTOCK: frozenset({"platform_restock"}),  # when stock went back on sale
    # the grade inspection gave the goods (sellable, damaged, ...), which the disposition
    # mapping table is keyed by
    Code.DISPOSITION_UNMAPPED: frozenset({"platform_condition"}),
    Code.DISPOSITION_LOCATION_WRONG: frozenset({"platform_condition"}),
    # the refund's amounts, its method and the fees kept back (a platform whose payloads
    # carry no money, Happy Returns, cannot show these)
    Code.REFUND_AMOUNT_MISMATCH: frozenset({"platform_money"}),
    Code.TAX_MISMATCH: frozenset({"platform_money"}),
    Code.FEE_ITEM_UNMAPPED: frozenset({"platform_money"}),
    Code.PAYMENT_METHOD_UNMAPPED: frozenset({"platform_money"}),
    # that no refund is owed at all (an exchange, a return that moves no money)
    Code.CREDIT_WITHOUT_REFUND: frozenset({"platform_money"}),
    # that the goods reached the retailer (not only the carrier or a drop-off point)
    Code.RECEIPT_NOT_POSTED: frozenset({"platform_received"}),
    Code.RETURN_ORDER_NOT_OPEN: frozenset({"platform_received"}),
    # that the customer gets a replacement
    Code.EXCHANGE_ORDER_MISSING: frozenset({"platform_exchange"}),
}

#: What every platform built before these were named reports (Swap, Shopify).
FULL_PLATFORM = frozenset({"platform_money", "platform_received", "platform_exchange"})


#: What an ERP that cannot report something hides: it names the fact among its own
#: (`erp_without_<what>`), and the codes below are neither planted nor checked for it (an
#: unreadable stage is not a missing document). Every other ERP reports all of these.
HIDDEN_BY: dict[str, frozenset[Code]] = {
    # no credit note, refund or payment is readable (Khaos Control's channel)
    "erp_without_credits": frozenset({
        Code.CREDIT_NOTE_MISSING, Code.CREDIT_NOTE_DUPLICATE, Code.REFUND_AMOUNT_MISMATCH,
        Code.TAX_MISMATCH, Code.CREDIT_WITHOUT_REFUND, Code.EXTERNAL_REF_CONFLICT,
        Code.PAYMENT_METHOD_UNMAPPED, Code.FEE_ITEM_UNMAPPED}),
    # credit notes are read, their breakdown, payment and order are not (an export)
    "erp_without_credit_amounts": frozenset({
        Code.REFUND_AMOUNT_MISMATCH, Code.TAX_MISMATCH, Code.EXTERNAL_REF_CONFLICT,
        Code.PAYMENT_METHOD_UNMAPPED, Code.FEE_ITEM_UNMAPPED}),
    "erp_without_customers": frozenset({Code.CUSTOMER_NOT_FOUND}),
    "erp_without_periods": frozenset({Code.CLOSED_PERIOD}),
    "erp_without_locations": frozenset({Code.LOCATION_UNMAPPED}),
    # no inspection step or disposition code of its own
    "erp_without_dispositions": frozenset({
        Code.DISPOSITION_UNMAPPED, Code.DISPOSITION_LOCATION_WRONG, Code.PREMATURE_RESTOCK}),
    "erp_without_units": frozenset({Code.UOM_MISMATCH}),
    "erp_without_order_state": frozenset({Code.RETURN_ORDER_NOT_OPEN}),
    "erp_without_reasons": frozenset({Code.REASON_UNMAPPED}),
    "erp_without_exchanges": frozenset({Code.EXCHANGE_ORDER_MISSING}),
    "erp_without_receipts": frozenset({
        Code.RECEIPT_NOT_POSTED, Code.QUANTITY_MISMATCH, Code.CREDIT_BEFORE_RECEIPT}),
    # it shows only what we gave it (a channel's feed): no record of its own to be unlinked
    "erp_without_own_records": frozenset({Code.ERP_RECORD_UNLINKED}),
}


def hidden(facts: frozenset[str]) -> frozenset[Code]:
    """The codes an ERP reporting `facts` cannot show (see HIDDEN_BY)."""
    return frozenset(code for fact in facts for code in HIDDEN_BY.get(fact, ()))


def shows(code: Code, facts: frozenset[str], needs: frozenset[str] = frozenset(),
          hidden_by: frozenset[str] = frozenset()) -> bool:
    """Whether a pair reporting `facts` can show `code` (a plant may need more, `needs`, or
    be one variant of the code that a fact hides, `hidden_by`)."""
    return ((NEEDS.get(code, frozenset()) | needs) <= facts and code not in hidden(facts)
            and not hidden_by & facts)


def codes_for(facts: frozenset[str]) -> list[Code]:
    """The codes a pair reporting `facts` can show."""
    return [code for code in Code if shows(code, facts)]


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    code: Code
    stage: Stage | None  # None: any stage (the finding names its own)
    kind: Kind
    severity: Severity
    owner: Owner | None  # None: the owner of the stage concerned
    action: Action
    title: str
    why: str
    todo: str


def _e(code, stage, kind, severity, owner, action, title, why, todo) -> CatalogueEntry:
    return CatalogueEntry(code, stage, kind, severity, owner, action, title, why, todo)


S, K, V, A = Stage, Kind, Severity, Action
O = Owner  # noqa: E741 - one letter keeps the table below readable

CATALOGUE: dict[Code, CatalogueEntry] = {
    e.code: e
    for e in (
        _e(Code.SKU_UNKNOWN, S.AUTHORISED, K.DATA, V.HIGH, O.DATA, A.REMAP_SKU,
           "SKU has no ERP item",
           "The ERP cannot receive or credit an item it does not know; the return stalls.",
           "Map the platform SKU to an existing ERP item."),
        _e(Code.SKU_INACTIVE, S.AUTHORISED, K.DATA, V.HIGH, O.DATA, A.REMAP_SKU,
           "SKU maps to a blocked ERP item",
           "Postings against a blocked item fail, so stock and credit never reach the ERP.",
           "Map the SKU to an active item, or unblock the item in the ERP."),
        _e(Code.UOM_MISMATCH, S.RECEIVED, K.DATA, V.HIGH, O.DATA, A.REMAP_SKU,
           "Unit of measure differs",
           "Quantities in different units put the wrong number of units back into stock.",
           "Set the unit conversion on the SKU mapping."),
        _e(Code.ORDER_REF_MISSING, S.AUTHORISED, K.DATA, V.HIGH, O.CX, A.FIX_REFERENCE,
           "Original order reference missing",
           "Without the original order the credit cannot be applied to its invoice.",
           "Put the original order number on the ERP record."),
        _e(Code.CUSTOMER_NOT_FOUND, S.AUTHORISED, K.DATA, V.MEDIUM, O.CX, A.FIX_REFERENCE,
           "Customer not found in the ERP",
           "A credit note needs a customer account that exists and is not blocked.",
           "Link the return to the right ERP customer, or unblock it."),
        _e(Code.EXTERNAL_REF_CONFLICT, S.CREDITED, K.DATA, V.HIGH, O.FINANCE, A.FIX_REFERENCE,
           "External reference used by another document",
           "The credit carrying this return's reference belongs to another order or customer.",
           "Correct the external document number on the ERP record."),
        _e(Code.ERP_RECORD_UNLINKED, S.AUTHORISED, K.DATA, V.HIGH, O.INTEGRATION,
           A.FIX_REFERENCE,
           "ERP record links to no return",
           "Stock or money moved in the ERP with no platform return behind it, or the return "
           "it belongs to looks unposted and gets posted twice.",
           "Correct the record's reference to its return, or confirm it is another channel's."),
        _e(Code.REASON_UNMAPPED, S.AUTHORISED, K.DATA, V.MEDIUM, O.DATA, A.REMAP_CODE,
           "Return reason not mapped",
           "Return reasons drive ERP analysis and posting rules; unmapped ones are dropped.",
           "Map the platform reason to an ERP return reason code."),
        _e(Code.DISPOSITION_UNMAPPED, S.INSPECTED, K.DATA, V.HIGH, O.OPERATIONS, A.REMAP_CODE,
           "Condition has no disposition",
           "Without a disposition the ERP cannot decide between resale and quarantine.",
           "Map the platform condition to an ERP disposition and location."),
        _e(Code.LOCATION_UNMAPPED, S.RECEIVED, K.DATA, V.HIGH, O.OPERATIONS, A.REMAP_CODE,
           "Receiving location not mapped",
           "Stock is received into no warehouse, or the wrong one.",
           "Map the platform location to an ERP location code."),
        _e(Code.FEE_ITEM_UNMAPPED, S.CREDITED, K.DATA, V.MEDIUM, O.FINANCE, A.REMAP_CODE,
           "Fee has no ERP service item",
           "A fee with no service item or account is left out of the credit note.",
           "Map the fee type to an ERP service item."),
        _e(Code.PAYMENT_METHOD_UNMAPPED, S.CREDITED, K.DATA, V.HIGH, O.FINANCE, A.REMAP_CODE,
           "Refund method not mapped",
           "The refund cannot be matched to a payment method, so cash does not reconcile.",
           "Map the refund method to an ERP payment method."),
        _e(Code.PAYLOAD_INVALID, None, K.DATA, V.HIGH, O.INTEGRATION, A.NONE,
           "Source record does not validate",
           "A record the console cannot read is a return nobody is checking.",
           "Read the validation error and raw payload; fix the source or the integration."),
        _e(Code.RETURN_ORDER_MISSING, S.AUTHORISED, K.SYNC, V.HIGH, O.INTEGRATION,
           A.REQUEUE_POSTING,
           "No ERP return order",
           "Goods arriving with no return order cannot be received in the ERP.",
           "Re-queue the return order posting."),
        _e(Code.RETURN_ORDER_NOT_OPEN, S.RECEIVED, K.SYNC, V.HIGH, O.OPERATIONS,
           A.REQUEUE_POSTING,
           "ERP return order is not open",
           "A return order on hold, closed or cancelled cannot take the receipt.",
           "Reopen the ERP return order, then re-queue the receipt."),
        _e(Code.RECEIPT_NOT_POSTED, S.RECEIVED, K.SYNC, V.HIGH, O.OPERATIONS, A.REQUEUE_POSTING,
           "Receipt not posted in the ERP",
           "Stock that arrived is not on the books, so availability and valuation are wrong.",
           "Re-queue the receipt posting."),
        _e(Code.CREDIT_NOTE_MISSING, S.CREDITED, K.SYNC, V.CRITICAL, O.FINANCE,
           A.REQUEUE_POSTING,
           "Refund with no credit note",
           "Money left the business with no credit note: revenue and receivables are overstated.",
           "Re-queue the credit note posting."),
        _e(Code.CREDIT_NOTE_DUPLICATE, S.CREDITED, K.SYNC, V.CRITICAL, O.FINANCE, A.NONE,
           "Two or more credit notes for one return",
           "The customer is credited twice in the ledger.",
           "Reverse the extra credit note; never post again."),
        _e(Code.EXCHANGE_ORDER_MISSING, S.EXCHANGED, K.SYNC, V.MEDIUM, O.CX, A.REQUEUE_POSTING,
           "No ERP order for the exchange",
           "The replacement left the warehouse with no sales order behind it.",
           "Re-queue the exchange order posting."),
        _e(Code.QUANTITY_MISMATCH, S.RECEIVED, K.VALUE, V.HIGH, O.OPERATIONS,
           A.FIX_REFERENCE,
           "Received quantity differs",
           "Stock on hand drifts from what was physically returned.",
           "Check the receipt; fix the reference or re-queue the posting."),
        _e(Code.REFUND_AMOUNT_MISMATCH, S.CREDITED, K.VALUE, V.CRITICAL, O.FINANCE, A.NONE,
           "Refund and credit note differ",
           "The ledger and the money actually refunded disagree.",
           "Compare the component breakdown and correct the credit note."),
        _e(Code.TAX_MISMATCH, S.CREDITED, K.VALUE, V.HIGH, O.FINANCE, A.NONE,
           "Tax differs",
           "Tax reclaimed in the ERP differs from the tax refunded: the VAT return is wrong.",
           "Compare the tax breakdown and correct the credit note."),
        _e(Code.DISPOSITION_LOCATION_WRONG, S.INSPECTED, K.VALUE, V.HIGH, O.OPERATIONS, A.NONE,
           "Stock in the wrong location after inspection",
           "Damaged stock in a sellable location gets sold again.",
           "Move the stock to the location its condition calls for."),
        _e(Code.CREDIT_BEFORE_RECEIPT, S.CREDITED, K.TIMING, V.HIGH, O.FINANCE, A.NONE,
           "Refunded before the goods were received",
           "Money went out before the goods came back: a liability gap, even if it closed later.",
           "Review the refund policy for this channel; compare both timestamps."),
        _e(Code.CREDIT_WITHOUT_REFUND, S.CREDITED, K.VALUE, V.CRITICAL, O.FINANCE, A.NONE,
           "Credited in the ERP, not refunded on the platform",
           "The ledger owes the customer money the platform never paid: receivables are "
           "understated, or the customer is paid twice when the refund follows.",
           "Reverse the credit note in the ERP, or complete the refund on the platform."),
        _e(Code.PREMATURE_RESTOCK, S.RESTOCKED, K.TIMING, V.HIGH, O.OPERATIONS, A.NONE,
           "Restocked before inspection",
           "Stock offered for sale before it was inspected may be unsellable.",
           "Compare both timestamps; hold the stock until inspected."),
        _e(Code.CLOSED_PERIOD, S.CREDITED, K.TIMING, V.HIGH, O.FINANCE, A.NONE,
           "Credit belongs to a closed period",
           "The credit cannot be posted where it belongs; the period's figures are wrong.",
           "Post a manual journal in the open period."),
        _e(Code.STAGE_OVERDUE, None, K.TIMING, V.LOW, None, A.NONE,
           "Stage overdue",
           "A return stuck at one stage is money or stock in limbo.",
           "Find out why the stage has not completed; re-queue when the cause is known."),
    )
}

#: Who owns a stage when a finding (STAGE_OVERDUE, PAYLOAD_INVALID) has no fixed owner.
STAGE_OWNERS: dict[Stage, Owner] = {
    Stage.AUTHORISED: Owner.CX,
    Stage.IN_TRANSIT: Owner.OPERATIONS,
    Stage.RECEIVED: Owner.OPERATIONS,
    Stage.INSPECTED: Owner.OPERATIONS,
    Stage.CREDITED: Owner.FINANCE,
    Stage.EXCHANGED: Owner.CX,
    Stage.RESTOCKED: Owner.OPERATIONS,
}

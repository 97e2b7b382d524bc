"""NetSuite documents → one ErpView per link key (docs/shopify-netsuite-mapping.md,
"NetSuite: stages").

A return lives in NetSuite as a chain (docs/vendors/netsuite.md §5.1): the return
authorization (RA) carries the link; item receipts and credit memos / cash refunds are
created from it (`createdfrom` on their lines, §4.8), and may carry the link themselves (a
transform copies body fields; a credit memo made by hand may carry only its own). A
replacement sales order carries the link. Documents are grouped by the link they carry,
else by the RA they were created from; a document with neither is not a return's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

from ...domain.codes import Stage, StageStatus
from ...domain.model import (
    CreditNote,
    CreditNoteStatus,
    ErpLine,
    ErpView,
    ReturnOrderState,
    StageView,
)
from ...domain.money import MoneyBreakdown, pad_cents
from .records import NsDocument, NsLine, number

SYSTEM = "netsuite"

RETURN = "RtnAuth"
RECEIPT = "ItemRcpt"
CREDITS = frozenset({"CustCred", "CashRfnd"})
EXCHANGE = "SalesOrd"
#: Documents an RA is created from, whose PO/Check No. is the web order's reference.
ORDERS = frozenset({"SalesOrd", "CustInvc", "CashSale"})

#: RA status letters (§4.7, third-party table): what each means to the console. The display
#: text (BUILTIN.DF) is matched first; the letter only when the text is not known. An RA
#: waiting for approval exists (the return order is there, not missing) but cannot take a
#: receipt until approved (§5.1): done, on hold.
_STATE_BY_LETTER: dict[str, tuple[StageStatus, ReturnOrderState]] = {
    "A": (StageStatus.DONE, "on_hold"),
    "B": (StageStatus.DONE, "open"),
    "C": (StageStatus.DONE, "cancelled"),
    "D": (StageStatus.DONE, "open"),
    "E": (StageStatus.DONE, "open"),
    "F": (StageStatus.DONE, "open"),
    "G": (StageStatus.DONE, "closed"),
    "H": (StageStatus.DONE, "closed"),
}
#: Oracle's status names (§4.7), as words found in the display text.
_STATE_BY_TEXT: tuple[tuple[str, tuple[StageStatus, ReturnOrderState]], ...] = (
    ("pending approval", (StageStatus.DONE, "on_hold")),
    ("cancel", (StageStatus.DONE, "cancelled")),
    ("closed", (StageStatus.DONE, "closed")),
    ("partially refunded", (StageStatus.DONE, "open")),
    ("refunded", (StageStatus.DONE, "closed")),
    ("pending", (StageStatus.DONE, "open")),
    ("received", (StageStatus.DONE, "open")),
)


def ra_state(doc: NsDocument) -> tuple[StageStatus, ReturnOrderState | None]:
    text = (doc.statustext or "").casefold()
    for words, state in _STATE_BY_TEXT:
        if words in text:
            return state
    return _STATE_BY_LETTER.get((doc.status or "").strip().upper(), (StageStatus.DONE, None))


def voided(doc: NsDocument) -> bool:
    """A voided credit memo (`CustCred:V`, §4.7) or any document whose text says so."""
    return (doc.status or "").upper() == "V" or "void" in (doc.statustext or "").casefold()


@dataclass(frozen=True, slots=True)
class MappingSettings:
    inspection_evidence: str = "receipt"
    #: The account receives returns with item receipts (Advanced Receiving, §4.3); off,
    #: the credit memo or cash refund receives them.
    advanced_receiving: bool = True
    fee_items: frozenset[str] = frozenset({"fee-return"})
    shipping_items: frozenset[str] = frozenset({"shipping"})
    discount_item_types: frozenset[str] = frozenset({"discount"})
    ignored_item_types: frozenset[str] = frozenset(
        {"subtotal", "description", "group", "endgroup", "payment"})
    local_currency: str = "GBP"


@dataclass(slots=True)
class Group:
    key: str
    returns: list[NsDocument] = field(default_factory=list)
    receipts: list[NsDocument] = field(default_factory=list)
    credits: list[NsDocument] = field(default_factory=list)
    orders: list[NsDocument] = field(default_factory=list)


def group_documents(docs: Iterable[NsDocument]) -> dict[str, Group]:
    """Documents by the case-folded link key they belong to."""
    docs = list(docs)
    groups: dict[str, Group] = {}
    by_ra: dict[str, Group] = {}

    def linked(link: str | None) -> Group | None:
        key = (link or "").strip()
        if not key:
            return None
        group = groups.get(key.casefold())
        if group is None:
            group = groups[key.casefold()] = Group(key)
        return group

    for doc in docs:
        if doc.type == RETURN and (group := linked(doc.link)) is not None:
            group.returns.append(doc)
            by_ra[doc.id] = group
    for doc in docs:
        if doc.type == RETURN:
            continue
        # What a document was made from decides first: a credit or receipt made from a
        # return authorization is that return's, whatever reference it carries (the
        # reference is kept, so a wrong one shows).
        group = next((by_ra[s] for s in sorted(doc.sources) if s in by_ra), None)
        if group is None and not copied_from_order(doc):
            group = linked(doc.link)
        if group is None:
            continue
        if doc.type == RECEIPT:
            group.receipts.append(doc)
        elif doc.type in CREDITS:
            group.credits.append(doc)
        elif doc.type == EXCHANGE:
            group.orders.append(doc)
    return groups


def copied_from_order(doc: NsDocument) -> bool:
    """The document's link is its source order's reference, copied by the transform (a
    credit memo made from an invoice carries the web order's PO/Check No.): it is not a
    return's link, and the document is not a return's (a refund with no return)."""
    link = (doc.link or "").strip().casefold()
    return bool(link) and any(
        line.sourcetype in ORDERS and (line.sourceref or "").strip().casefold() == link
        for line in doc.lines)


def order_ref(doc: NsDocument, ras: dict[str, NsDocument]) -> str | None:
    """The web order a document answers for: the PO/Check No. of the order or invoice it
    was created from, else that of the RA it was created from."""
    for line in doc.lines:
        if line.sourcetype in ORDERS and (line.sourceref or "").strip():
            return (line.sourceref or "").strip()
    for source in sorted(doc.sources):
        ra = ras.get(source)
        if ra is not None and ra is not doc:
            return order_ref(ra, {})
    return None


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), UTC) if day else None


def _when(doc: NsDocument) -> datetime | None:
    return doc.created or _midnight(doc.day)


def _first(docs: Sequence[NsDocument]) -> NsDocument | None:
    return min(docs, key=lambda d: (d.day or date.max, _when(d) or datetime.max.replace(
        tzinfo=UTC), d.number), default=None)


class Assembler:
    """Groups → views, with the RA index the order references need."""

    def __init__(self, settings: MappingSettings, ras: dict[str, NsDocument]) -> None:
        self.s = settings
        self.ras = ras

    def counts(self, line: NsLine) -> bool:
        """A line that carries money or goods: not the header, not a cost-of-goods posting
        line, not a subtotal, description, group or payment line."""
        return (not line.is_header and line.iscogs != "T"
                and (line.itemtype or "").casefold() not in self.s.ignored_item_types)

    def is_item(self, line: NsLine) -> bool:
        return (self.counts(line) and not line.is_tax and bool(line.item)
                and (line.itemtype or "").casefold() not in self.s.discount_item_types
                and (line.item or "").casefold() not in self.s.fee_items
                and (line.item or "").casefold() not in self.s.shipping_items)

    def credit_note(self, doc: NsDocument, raw_ref: str) -> CreditNote:
        """Money by component, each a magnitude in the credit's direction: the goods' sign
        says which way NetSuite writes this document's lines (U12: undocumented), so a
        fee or discount line, written the other way, reduces the credit."""
        goods = [number(ln.foreignamount) or Decimal(0) for ln in doc.lines if self.is_item(ln)]
        sign = Decimal(-1) if sum(goods, Decimal(0)) < 0 else Decimal(1)
        items = tax = shipping = discounts = fees = Decimal(0)
        for line in doc.lines:
            if not self.counts(line):
                continue
            amount = (number(line.foreignamount) or Decimal(0)) * sign
            name = (line.item or "").casefold()
            if line.is_tax:
                tax += amount
            elif (line.itemtype or "").casefold() in self.s.discount_item_types:
                discounts -= amount
            elif name in self.s.shipping_items:
                shipping += amount
            elif name in self.s.fee_items:
                fees -= amount
            else:  # goods, and any other line that moves money (a fee item not listed)
                items += amount
        status: CreditNoteStatus = "cancelled" if voided(doc) else "posted"
        return CreditNote(
            id=doc.id, number=doc.number, status=status,
            external_ref=(doc.link or "").strip() or None,
            order_ref=order_ref(doc, self.ras), customer_ref=doc.customer or None,
            posting_date=doc.posting_day,
            posted_at=_when(doc) if status == "posted" else None,
            amounts=MoneyBreakdown(
                currency=(doc.currency or self.s.local_currency).upper(),
                items=pad_cents(items), tax=pad_cents(tax), shipping=pad_cents(shipping),
                discounts=pad_cents(discounts), fees=pad_cents(fees)),
            raw_ref=raw_ref)

    def all_lines(self, ras: Sequence[NsDocument], lead: NsDocument | None,
                  receipts: Sequence[NsDocument]) -> list[ErpLine]:
        """The lines of every RA that counts, each with the receipts made from it (a
        receipt naming no RA of the group goes with the lead)."""
        ids = {ra.id for ra in ras}
        out: list[ErpLine] = []
        for ra in sorted(ras, key=lambda d: (d.day or date.max, d.number)):
            own = [r for r in receipts if ra.id in r.sources
                   or (ra is lead and not (r.sources & ids))]
            made = self.lines(ra, own)
            if len(ras) > 1:  # line ids repeat across documents
                made = [replace(ln, line_ref=f"{ra.number}/{ln.line_ref}") for ln in made]
            out += made
        return out

    def lines(self, ra: NsDocument, receipts: Sequence[NsDocument]) -> list[ErpLine]:
        """The RA's item lines; what the receipts received of each item is given to its
        lines in order (a receipt line names the item, not the RA line), and so is where
        the receipt put it: the item receipt's line location is where NetSuite put the
        goods (§4.3, §5.1 step 3); the RA line's, only until something is received."""
        got: dict[str, list[tuple[Decimal, str | None]]] = {}
        for receipt in receipts:
            for line in receipt.lines:
                if self.is_item(line) and line.item:
                    got.setdefault(line.item, []).append(
                        (abs(number(line.quantity) or Decimal(0)), line.location or None))
        out = []
        for line in ra.lines:
            if not self.is_item(line) or not line.item:
                continue
            quantity = abs(number(line.quantity) or Decimal(0))
            received = None
            location = line.location or None
            if receipts:
                received = Decimal(0)
                left = got.get(line.item, [])
                while left and received < quantity:
                    amount, where = left[0]
                    take = min(amount, quantity - received)
                    received += take
                    location = where or location
                    if take < amount:
                        left[0] = (amount - take, where)
                    else:
                        left.pop(0)
            out.append(ErpLine(line_ref=line.line, item_no=line.item,
                               uom=line.units or None, quantity=quantity,
                               received_quantity=received, location=location))
        return out

    def view(self, group: Group, raw_ref: dict[str, str]) -> ErpView:
        # Several RAs under one link (one cancelled and made again): the live ones count,
        # the first of them leads; a cancelled one only when there is nothing else.
        live = [r for r in group.returns if ra_state(r)[1] != "cancelled"]
        ra = _first(live or group.returns)
        receipts = sorted((r for r in group.receipts if not voided(r)),
                          key=lambda d: (_when(d) or datetime.max.replace(tzinfo=UTC),
                                         d.number))
        credits = sorted(group.credits, key=lambda d: (d.day or date.max, d.number))
        notes = [self.credit_note(d, raw_ref[d.id]) for d in credits]
        lead = next((n for n in notes if n.status == "posted"), None)
        receipt_word = "item receipt"
        if not receipts and not self.s.advanced_receiving and lead is not None:
            # Without Advanced Receiving the refund receives the goods: one step (§5.1).
            receipts = [d for d in credits if d.id == lead.id]
            receipt_word = "received by the refund (no Advanced Receiving)"
        stages: dict[Stage, StageView] = {}
        state: ReturnOrderState | None = None
        if ra is not None:
            status, state = ra_state(ra)
            stages[Stage.AUTHORISED] = StageView(
                status=status, at=_when(ra), record_ids=(ra.number,),
                detail=ra.statustext or ra.status, raw_ref=raw_ref[ra.id])
        if receipts:
            first = receipts[0]
            received = StageView(status=StageStatus.DONE, at=_when(first),
                                 record_ids=tuple(r.number for r in receipts),
                                 detail=receipt_word, raw_ref=raw_ref[first.id])
            stages[Stage.RECEIVED] = received
            if self.s.inspection_evidence == "receipt":
                stages[Stage.INSPECTED] = StageView(
                    status=StageStatus.DONE, at=received.at, record_ids=received.record_ids,
                    detail="restock decided on the item receipt", raw_ref=received.raw_ref)
        if self.s.inspection_evidence != "receipt":
            stages[Stage.INSPECTED] = StageView(status=StageStatus.NOT_APPLICABLE)
        # NetSuite keeps no document for a parcel on its way, nor for the restock apart
        # from the receipt's Restock box (its SuiteQL column is not documented, §4.3)
        stages[Stage.IN_TRANSIT] = StageView(status=StageStatus.NOT_APPLICABLE)
        stages[Stage.RESTOCKED] = StageView(status=StageStatus.NOT_APPLICABLE)
        if lead is not None:
            stages[Stage.CREDITED] = StageView(
                status=StageStatus.DONE, at=lead.posted_at, record_ids=(lead.number or lead.id,),
                detail=next(d.statustext or d.status for d in credits if d.id == lead.id),
                raw_ref=lead.raw_ref)
        if group.orders:
            order = _first(group.orders)
            assert order is not None
            stages[Stage.EXCHANGED] = StageView(
                status=StageStatus.DONE, at=_when(order), record_ids=(order.number,),
                detail=order.statustext or order.status, raw_ref=raw_ref[order.id])
        customer = next((d.customer for d in (*group.returns, *receipts, *credits)
                         if d.customer), None)
        return ErpView(
            system=SYSTEM, return_ref=group.key,
            order_ref=(order_ref(ra, self.ras) if ra is not None
                       else next((n.order_ref for n in notes if n.order_ref), None)),
            customer_ref=customer, return_order_state=state,
            lines=tuple(self.all_lines(live or ([ra] if ra else []), ra, receipts)),
            credit_notes=tuple(notes), stages=stages,
            return_document=bool(group.returns or group.receipts or group.credits))

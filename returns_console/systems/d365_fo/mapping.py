"""F&O return orders → one ErpView per link key (docs/d365fo-mapping.md, "The link and the
stages").

A return lives in F&O as one return order (a sales order of type Returned order, §6.1):
its header carries the link and the customer; its lines move through arrival (Registered,
or Quarantine for inspection), the packing slip (Received) and the invoice (Invoiced), each
line's disposition code deciding what happens to the goods (§5.5). The credit note is the
invoice posted for the return order: a `SalesInvoiceHeadersV2` record whose
`SalesOrderNumber` is the return order's number (U20). There is no stage document to count:
every stage is read from the lines' statuses, codes and dates (§6.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from ...domain.codes import Stage, StageStatus
from ...domain.model import CreditNote, ErpLine, ErpView, ReturnOrderState, StageView
from ...domain.money import MoneyBreakdown, pad_cents
from .records import FoHeader, FoInvoice, FoLine, moment

SYSTEM = "d365_fo"

#: Line statuses after arrival: the goods are in (registered, waiting for inspection in
#: quarantine, through the packing slip, invoiced) (§6.2).
ARRIVED = frozenset({"Registered", "Quarantine", "Received", "Invoiced"})
#: Disposition actions that send nothing back (U13): such a line never expects an arrival.
NO_ARRIVAL = frozenset({"CreditOnly"})
#: Disposition actions that order a replacement (§5.5).
REPLACE = frozenset({"ReplaceCredit", "ReplaceScrap"})
_STATE: dict[str, ReturnOrderState] = {"None": "open", "Created": "open", "Open": "open",
                                       "Closed": "closed", "Canceled": "cancelled"}


@dataclass(frozen=True, slots=True)
class MappingSettings:
    link_field: str = "CustomersOrderReference"
    #: The header field with the web order's reference ("none": not kept).
    order_field: str = "CustomerRequisitionNumber"


@dataclass(slots=True)
class Group:
    """One link key's return orders, their lines and credit notes (each with its raw_ref)."""

    key: str
    headers: list[tuple[FoHeader, str]] = field(default_factory=list)
    lines: list[tuple[FoLine, str]] = field(default_factory=list)
    invoices: list[tuple[FoInvoice, str]] = field(default_factory=list)


def group_records(settings: MappingSettings, headers: Iterable[tuple[FoHeader, str]],
                  lines: Iterable[tuple[FoLine, str]],
                  invoices: Iterable[tuple[FoInvoice, str]]) -> dict[str, Group]:
    """Records by the case-folded link key they belong to. A return order without a link is
    no platform return's (a call-centre or store return): it is not compared, nor are its
    lines and credit notes, as a credit memo without a link is not elsewhere. Lines and
    credit notes follow their return order; a credit note of no return order read is a
    return's only when it carries a link itself (an invoice copies the order's Customer
    reference)."""
    groups: dict[str, Group] = {}
    by_number: dict[str, Group] = {}
    unlinked: set[str] = set()

    def group(key: str) -> Group:
        found = groups.get(key.casefold())
        if found is None:
            found = groups[key.casefold()] = Group(key)
        return found

    for header, ref in headers:
        link = header.value_of(settings.link_field)
        if not link:
            unlinked.add(header.number.casefold())
            continue
        target = group(link)
        target.headers.append((header, ref))
        by_number[header.number.casefold()] = target
    for line, ref in lines:
        owner = by_number.get(line.number.casefold())
        if owner is not None:
            owner.lines.append((line, ref))
    for invoice, ref in invoices:
        if invoice.order.strip().casefold() in unlinked:
            continue
        owner = by_number.get(invoice.order.strip().casefold())
        if owner is None and settings.link_field == "CustomersOrderReference" \
                and invoice.reference.strip():
            owner = group(invoice.reference.strip())
        if owner is not None:
            owner.invoices.append((invoice, ref))
    return groups


class Assembler:
    """Groups → views, given what each disposition code does (`ReturnDispositionCodes`)."""

    def __init__(self, settings: MappingSettings, actions: Mapping[str, str]) -> None:
        self.s = settings
        self.actions = {code.casefold(): action for code, action in actions.items()}

    def action(self, line: FoLine) -> str | None:
        return self.actions.get(line.disposition.strip().casefold()) \
            if line.disposition.strip() else None

    def view(self, group: Group) -> ErpView:
        # the live return order decides (a cancelled one stays beside the one made after
        # it, read first in key order); a cancelled one only when there is no other
        ordered = sorted(group.headers, key=lambda pair: (pair[0].status == "Canceled",
                                                          pair[0].number))
        headers = [h for h, _ in ordered]
        header = headers[0] if headers else None
        lines = sorted((ln for ln, _ in group.lines if ln.status != "Canceled"),
                       key=lambda ln: (ln.number, ln.sequence, ln.lot))
        notes = self.credit_notes(group.invoices)
        stages: dict[Stage, StageView] = {}
        state: ReturnOrderState | None = None
        if header is not None:
            raw_ref = ordered[0][1]
            state = "on_hold" if header.stopped == "Yes" and _STATE[header.status] == "open" \
                else _STATE[header.status]
            stages[Stage.AUTHORISED] = StageView(
                status=StageStatus.DONE, record_ids=tuple(h.number for h in headers),
                detail=header.status + (" (processing stopped)" if state == "on_hold" else ""),
                raw_ref=raw_ref)
            stages.update(self.line_stages(lines))
            if any(h.replaced == "Yes" for h in headers):
                stages[Stage.EXCHANGED] = StageView(
                    status=StageStatus.DONE, detail="Replacement order created",
                    record_ids=tuple(h.replacement for h in headers if h.replacement))
            elif any(self.action(ln) in REPLACE for ln in lines):
                stages[Stage.EXCHANGED] = StageView(
                    status=StageStatus.PENDING, detail="Replace disposition, no order yet")
        if notes:
            last = max(notes, key=lambda n: (n.posting_date, n.number or ""))
            stages[Stage.CREDITED] = StageView(
                status=StageStatus.DONE, record_ids=tuple(n.number or n.id for n in notes),
                at=last.posted_at, detail="Invoiced", raw_ref=last.raw_ref)
        elif header is not None and lines and all(ln.status == "Invoiced" for ln in lines):
            stages[Stage.CREDITED] = StageView(
                status=StageStatus.DONE, detail="Invoiced (credit note not read)")
        link = header.value_of(self.s.link_field) if header is not None else group.key
        order = header.value_of(self.s.order_field) if header is not None else ""
        return ErpView(
            system=SYSTEM, return_ref=link or None, order_ref=order or None,
            customer_ref=(header.customer.strip() or None) if header is not None else (
                notes[0].customer_ref if notes else None),
            return_order_state=state, lines=tuple(self.lines(lines, header)),
            credit_notes=tuple(notes), stages=stages, return_document=header is not None)

    def line_stages(self, lines: list[FoLine]) -> dict[Stage, StageView]:
        """Received and inspected, from the lines that expect goods back (§6.2): received
        once any has arrived (a partial arrival splits the line, and the quantities say
        how much); inspected once every arrived line has a disposition code and none waits
        in quarantine."""
        out: dict[Stage, StageView] = {}
        expecting = [ln for ln in lines if self.action(ln) not in NO_ARRIVAL]
        if lines and not expecting:
            na = StageView(status=StageStatus.NOT_APPLICABLE, detail="Credit only")
            return {Stage.RECEIVED: na, Stage.INSPECTED: na}
        arrived = [ln for ln in expecting if ln.status in ARRIVED]
        if not arrived:
            return out
        dates = [d for d in (moment(ln.arrived) for ln in arrived) if d is not None]
        waiting = [ln for ln in expecting if ln.status == "Awaiting"]
        out[Stage.RECEIVED] = StageView(
            status=StageStatus.DONE, at=max(dates, default=None),
            record_ids=tuple(dict.fromkeys(ln.lot for ln in arrived)),
            detail="Registered" + (f", {len(waiting)} line(s) still expected" if waiting
                                   else ""))
        quarantined = [ln for ln in arrived if ln.status == "Quarantine"]
        undecided = [ln for ln in arrived if not ln.disposition.strip()]
        if quarantined:
            out[Stage.INSPECTED] = StageView(status=StageStatus.PENDING,
                                             detail="In quarantine")
        elif not undecided:
            out[Stage.INSPECTED] = StageView(
                status=StageStatus.DONE, at=max(dates, default=None),
                detail=", ".join(sorted({ln.disposition for ln in arrived})))
        return out

    def lines(self, lines: list[FoLine], header: FoHeader | None) -> list[ErpLine]:
        """One line per item and unit: an arrival splits a return line into lots (§5.3),
        so the quantities of one item's lots are added up; quantities as magnitudes (a
        return line's are negative, U15). Nothing received is said only once something of
        the return order has arrived: before that there is no receipt to count."""
        merged: dict[tuple[str, str], list[FoLine]] = {}
        anything = any(line.status in ARRIVED for line in lines)
        for line in lines:
            merged.setdefault((line.item.strip().casefold(), line.unit.casefold()),
                              []).append(line)
        out = []
        for parts in merged.values():
            first = parts[0]
            arrived = [p for p in parts if p.status in ARRIVED]
            decided = next((p for p in arrived if p.disposition.strip()), None)
            out.append(ErpLine(
                line_ref=first.lot, item_no=first.item.strip(), uom=first.unit or None,
                quantity=sum((abs(p.quantity) for p in parts), Decimal(0)),
                received_quantity=sum((abs(p.quantity) for p in arrived), Decimal(0))
                if anything else None,
                reason=(header.reason.strip() or None) if header is not None else None,
                disposition=decided.disposition.strip() if decided else None,
                location=(decided or first).warehouse.strip() or None))
        return out

    def credit_notes(self, invoices: list[tuple[FoInvoice, str]]) -> list[CreditNote]:
        """One credit per return order: F&O invoices a return order's lines as they are
        registered, and an invoice credits only what no earlier one did (§6.1, a partial
        delivery), so several invoices of one return order are parts of one credit, never
        duplicates; invoices of different return orders (or of none) stay apart."""
        parts: dict[str, list[CreditNote]] = {}
        for invoice, ref in invoices:
            key = invoice.order.strip().casefold() or f"#{invoice.number}"
            parts.setdefault(key, []).append(self.credit_note(invoice, ref))
        # in date order, whatever order they were read in (a refresh lays some over others)
        return sorted((_combined(found) for found in parts.values()),
                      key=lambda n: (n.posting_date or datetime.min.date(), n.number or ""))

    def credit_note(self, invoice: FoInvoice, raw_ref: str) -> CreditNote:
        """The invoice as a credit: magnitudes in the credit's direction (a credit note's
        amounts are negative, U20). Charges written the same way as the credit refund
        something (shipping); written the other way they are the customer's (a return
        fee). The total discount is a magnitude (its sign is not documented). Items are
        what is left of the total before the discount."""
        direction = Decimal(-1) if invoice.total < 0 else Decimal(1)
        total, tax = invoice.total * direction, abs(invoice.tax)
        discounts = abs(invoice.discount)
        charges = invoice.charges * direction
        shipping = charges if charges > 0 else Decimal(0)
        fees = -charges if charges < 0 else Decimal(0)
        when = moment(invoice.day)
        day = when.date() if when else None
        return CreditNote(
            id=f"{invoice.number}/{invoice.voucher}" if invoice.voucher else invoice.number,
            number=invoice.number, status="posted",
            external_ref=invoice.reference.strip() or None,
            customer_ref=invoice.customer.strip() or None, posting_date=day,
            posted_at=when,
            amounts=MoneyBreakdown(
                currency=invoice.currency.upper(),
                items=pad_cents(total - tax - shipping + fees + discounts),
                tax=pad_cents(tax), shipping=pad_cents(shipping),
                discounts=pad_cents(discounts), fees=pad_cents(fees)),
            raw_ref=raw_ref)


def _combined(notes: list[CreditNote]) -> CreditNote:
    """A return order's invoices as one credit: amounts added (one currency; a part in
    another is kept apart by the rule that compares currencies, so the first's is kept),
    dated by the last part, numbered by every part."""
    if len(notes) == 1:
        return notes[0]
    notes = sorted(notes, key=lambda n: (n.posting_date or datetime.min.date(),
                                         n.number or ""))
    first, last = notes[0], notes[-1]
    amounts = first.amounts
    for note in notes[1:]:
        if amounts is not None and note.amounts is not None and \
                note.amounts.currency == amounts.currency:
            amounts = amounts + note.amounts
    return replace(last, id=" + ".join(n.id for n in notes),
                   number=" + ".join(n.number or n.id for n in notes), amounts=amounts)


def latest(values: Iterable[datetime | None]) -> datetime | None:
    return max((v for v in values if v is not None), default=None)

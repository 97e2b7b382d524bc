"""Operator actions, planned: what would change, which returns it touches, and whether it may
be done at all. Pure: no file, no HTTP. The action service (services/actions.py) adds the
exact ERP request, asks for confirmation, applies and audits.

A plan that cannot be carried out has a `refusal` (one sentence, for a person) and nothing is
ever sent for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .codes import Action, Code, Stage, StageStatus
from .model import ErpView, ReturnCase
from .postings import (
    CreditLine,
    CreditRequest,
    DocumentKind,
    ReceiptLine,
    ReceiptRequest,
    ReturnDocument,
    ReturnOrderRequest,
)
from .reference import DispositionMapping, ErpMaster, Mappings, SkuMapping

#: Mapping table per code kind (Mappings attribute).
CODE_TABLES: dict[str, str] = {"reason": "reasons", "disposition": "dispositions",
                               "location": "locations", "fee": "fees",
                               "payment_method": "payment_methods"}
#: Which exceptions each action fixes (the ones the console offers it for).
FIXES: dict[str, frozenset[Code]] = {
    Action.REMAP_SKU: frozenset({Code.SKU_UNKNOWN, Code.SKU_INACTIVE, Code.UOM_MISMATCH}),
    Action.REMAP_CODE: frozenset({Code.REASON_UNMAPPED, Code.DISPOSITION_UNMAPPED,
                             Code.LOCATION_UNMAPPED, Code.FEE_ITEM_UNMAPPED,
                             Code.PAYMENT_METHOD_UNMAPPED}),
    Action.FIX_REFERENCE: frozenset({Code.ERP_RECORD_UNLINKED, Code.EXTERNAL_REF_CONFLICT}),
    Action.REQUEUE_POSTING: frozenset({Code.CREDIT_NOTE_MISSING}),
}
#: The code kind each unmapped-code exception is about.
CODE_KIND_OF: dict[Code, str] = {
    Code.REASON_UNMAPPED: "reason", Code.DISPOSITION_UNMAPPED: "disposition",
    Code.LOCATION_UNMAPPED: "location", Code.FEE_ITEM_UNMAPPED: "fee",
    Code.PAYMENT_METHOD_UNMAPPED: "payment_method",
}


@dataclass(frozen=True, slots=True)
class Plan:
    action: str
    #: What is acted on, in a few words ("SKU TEE-GRN-XL", "credit memo for R-100075").
    target: str
    returns: tuple[str, ...]
    changes: tuple[str, ...]
    parameters: dict[str, Any]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    refusal: str | None = None
    #: What the ERP will be asked to do (filled in by the service from the connector).
    request: dict[str, Any] | None = None
    #: The new mapping tables (remaps) to save when the plan is applied.
    mappings: Mappings | None = field(default=None, compare=False, repr=False)
    #: The credit to create (re-queue).
    credit: CreditRequest | None = field(default=None, compare=False, repr=False)
    #: The return order to create (re-queue of a missing one, where the ERP's API can).
    order: ReturnOrderRequest | None = field(default=None, compare=False, repr=False)
    #: The receipt to make (re-queue of a missing one, where the ERP's API can).
    receipt: ReceiptRequest | None = field(default=None, compare=False, repr=False)
    #: The audit row that recorded this plan's refusal when it was planned (not twice).
    refusal_row: int | None = field(default=None, compare=False)

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def refused(action: str, target: str, why: str, **parameters: Any) -> Plan:
    return Plan(action, target, (), (), parameters, refusal=why)


def returns_with_sku(cases: Iterable[ReturnCase], sku: str) -> tuple[str, ...]:
    return tuple(sorted({c.return_ref for c in cases
                         if any(line.sku == sku for line in c.platform.lines)}))


def plan_remap_sku(mappings: Mappings, master: ErpMaster, cases: Sequence[ReturnCase], sku: str,
                   item_no: str, factor: str | Decimal = "1", erp_uom: str | None = None,
                   match_by: str | None = None, ways: Sequence[str] = ()) -> Plan:
    """SKU → ERP item, checked against the item master: unknown or blocked items refused.
    `match_by`: how the ERP finds the item (one of its `ways`, e.g. a barcode); an item
    found another way than the item master names items cannot be checked against it."""
    sku, item_no = sku.strip(), item_no.strip()
    match_by = (match_by or "").strip() or None
    params = {"sku": sku, "item_no": item_no, "factor": str(factor), "erp_uom": erp_uom,
              "match_by": match_by}
    target = f"SKU {sku}"
    if not sku or not item_no:
        return refused(Action.REMAP_SKU, target, "both the SKU and the ERP item are needed",
                       **params)
    if match_by is not None:
        known = {w.casefold(): w for w in ways}
        if not known:
            return refused(Action.REMAP_SKU, target, "this ERP finds items only by their "
                           "number: map to the item number", **params)
        if match_by.casefold() not in known:
            return refused(Action.REMAP_SKU, target, f"the ERP cannot find an item by "
                           f"{match_by!r} (it can by {', '.join(ways)})", **params)
        match_by = known[match_by.casefold()]
        params["match_by"] = match_by
    probe = SkuMapping(sku=sku, item_no=item_no, match_by=match_by)
    try:
        number = Decimal(str(factor))
    except InvalidOperation:
        return refused(Action.REMAP_SKU, target, f"the unit factor {factor!r} is not a number",
                       **params)
    if not number.is_finite() or number <= 0:
        return refused(Action.REMAP_SKU, target, "the unit factor must be a number above 0",
                       **params)
    checked = master.checks_item(probe)
    item = master.item(item_no) if checked else None
    if checked and master.items and item is None:
        return refused(Action.REMAP_SKU, target, f"item {item_no} does not exist in the ERP's item "
                       "master; map to an existing item", **params)
    if item is not None and item.blocked:
        return refused(Action.REMAP_SKU, target, f"item {item_no} is blocked in the ERP; "
                       "unblock it there or map to an active item", **params)
    old = mappings.skus.get(sku)
    new = SkuMapping(sku=sku, item_no=item_no, factor=number, erp_uom=erp_uom or None,
                     match_by=match_by)
    if old == new:
        return refused(Action.REMAP_SKU, target, f"{sku} is already mapped that way", **params)
    touched = returns_with_sku(cases, sku)
    before = old.model_dump(mode="json") if old else None
    change = (f"{sku}: {_sku_text(old) if old else 'no mapping (tried as item ' + sku + ')'}"
              f" → {_sku_text(new)}")
    changes = [change]
    if not checked:
        changes.append(f"the ERP finds it by {match_by or master.item_way} {item_no}: its "
                       f"item list names items by {master.items_by}, so it is not checked "
                       "there")
    return Plan(Action.REMAP_SKU, target, touched, tuple(changes), params, before=before,
                after=new.model_dump(mode="json"),
                mappings=mappings.model_copy(update={"skus": {**mappings.skus, sku: new}}))


def _sku_text(m: SkuMapping) -> str:
    unit = f" {m.erp_uom}" if m.erp_uom else ""
    way = f" (found by {m.match_by})" if m.match_by else ""
    return f"item {m.item_no}{way} x {m.factor}{unit}"


def plan_remap_code(mappings: Mappings, master: ErpMaster, cases: Sequence[ReturnCase],
                    kind: str, code: str, target_code: str,
                    location: str | None = None) -> Plan:
    """A platform code → the ERP's, checked against the ERP's lists where it publishes them."""
    code, target_code = code.strip(), target_code.strip()
    params = {"kind": kind, "code": code, "erp_code": target_code, "location": location}
    target = f"{kind.replace('_', ' ')} code {code}"
    if kind not in CODE_TABLES:
        return refused(Action.REMAP_CODE, target, f"unknown code kind {kind!r}: "
                       + ", ".join(CODE_TABLES), **params)
    if not code or not target_code:
        return refused(Action.REMAP_CODE, target, "both the platform code and the ERP code are "
                       "needed", **params)
    known = _known_codes(master, kind)
    if known is not None and target_code not in known:
        return refused(Action.REMAP_CODE, target, f"{target_code} is not a "
                       f"{kind.replace('_', ' ')} code the ERP knows", **params)
    if kind == "disposition":
        if not location:
            return refused(Action.REMAP_CODE, target, "a disposition needs the location its "
                           "goods belong in", **params)
        if master.locations and location not in master.locations:
            return refused(Action.REMAP_CODE, target, f"location {location} does not exist in the "
                           "ERP", **params)
    table_name = CODE_TABLES[kind]
    table: dict[str, Any] = dict(getattr(mappings, table_name))
    old = table.get(code)
    new: Any = (DispositionMapping(disposition=target_code, location=location or "")
                if kind == "disposition" else target_code)
    if old == new:
        return refused(Action.REMAP_CODE, target, f"{code} is already mapped that way", **params)
    table[code] = new
    touched = tuple(sorted({c.return_ref for c in cases if code in _codes_on(c, kind)}))
    return Plan(Action.REMAP_CODE, target, touched,
                (f"{kind} {code}: {_code_text(old)} → {_code_text(new)}",), params,
                before={"value": _dump(old)} if old is not None else None,
                after={"value": _dump(new)},
                mappings=mappings.model_copy(update={table_name: table}))


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _code_text(value: Any) -> str:
    if value is None:
        return "no mapping"
    if isinstance(value, DispositionMapping):
        return f"{value.disposition} at {value.location}"
    return str(value)


def _known_codes(master: ErpMaster, kind: str) -> frozenset[str] | None:
    """The ERP's own list for a kind, when it publishes one (None: cannot check)."""
    found: frozenset[str] = {
        "reason": master.reasons, "location": master.locations,
        "payment_method": master.payment_methods,
        "fee": frozenset(master.items), "disposition": frozenset(),
    }[kind]
    return found or None


def _codes_on(case: ReturnCase, kind: str) -> set[str]:
    p = case.platform
    if kind == "reason":
        return {line.reason for line in p.lines if line.reason}
    if kind == "disposition":
        return {line.condition for line in p.lines if line.condition}
    if kind == "location":
        return {line.location for line in p.lines if line.location}
    if kind == "fee":
        return {fee.type for fee in p.fees}
    return {p.refund_method} if p.refund_method else set()


def plan_fix_reference(case: ReturnCase, record_ref: str, new_link: str,
                       cases: Sequence[ReturnCase], *, current: str | None = None,
                       link_label: str = "link") -> Plan:
    """Change the link key on one ERP record (`link_label`: the ERP's name for the field).
    An empty link, or one another ERP record of the same kind of a different return already
    carries, is refused."""
    new_link = new_link.strip()
    params = {"record": record_ref, "link": new_link, "was": current}
    target = f"ERP record {record_ref.split(':')[-1]}"
    if not new_link:
        return refused(Action.FIX_REFERENCE, target, "the new reference is empty", **params)
    if current is not None and new_link == current:
        return refused(Action.FIX_REFERENCE, target, f"the record already carries {new_link}",
                       **params)
    kind = document_kinds(case).get(record_ref) or _main_kind(case)
    for other in cases:
        if other is case or other.return_ref.casefold() != new_link.casefold():
            continue
        # The same link on documents of other kinds is how one return looks in the ERP (its
        # return order, receipt and credit memo); a second document of the same kind is not.
        theirs = document_kinds(other)
        same = sorted(r for r, k in theirs.items() if r != record_ref and k is kind) \
            or _same_kind(other, kind)
        if same and not other.unlinked:
            numbers = [n for n in _erp_numbers(other)] or same
            return refused(Action.FIX_REFERENCE, target,
                           f"{new_link} is already used by another ERP record of that kind "
                           f"({', '.join(numbers)}); fix that one first", **params)
    touched = tuple(sorted({case.return_ref, new_link}))
    changes = [f"{link_label}: {current or '(empty)'} → {new_link}"]
    target_case = next((c for c in cases if c is not case
                        and c.return_ref.casefold() == new_link.casefold()), None)
    changes += _link_warnings(case, target_case)
    return Plan(Action.FIX_REFERENCE, target, touched, tuple(changes), params,
                before={"link": current}, after={"link": new_link})


def _link_warnings(case: ReturnCase, target: ReturnCase | None) -> list[str]:
    """What makes a new link look wrong: no such return, another amount, another customer."""
    if target is None or not target.platform.lines:
        return ["warning: no platform return carries that reference in this check"]
    out = []
    note = next((n for n in case.erp.credit_notes if n.amounts is not None), None)
    refund = target.platform.refund
    if note is not None and note.amounts is not None and refund is not None and (
            note.amounts.currency != refund.currency or note.amounts.total != refund.total):
        out.append(f"warning: the ERP record is {note.amounts.total:,.2f} "
                   f"{note.amounts.currency}; return {target.return_ref} refunded "
                   f"{refund.total:,.2f} {refund.currency}")
    ours = case.erp.customer_ref or (note.customer_ref if note else None)
    theirs = target.erp.customer_ref
    if ours and theirs and ours != theirs:
        out.append(f"warning: the ERP record is for customer {ours}; return "
                   f"{target.return_ref}'s ERP customer is {theirs}")
    return out


def suggest_links(case: ReturnCase, cases: Sequence[ReturnCase], limit: int = 5
                  ) -> list[str]:
    """Platform returns an unlinked ERP record may belong to, likeliest first: the fewest
    edits from its reference (a typo), then the nearest date, then the nearest amount."""
    ref = case.return_ref
    note = next((n for n in case.erp.credit_notes if n.amounts is not None), None)
    day = note.posting_date if note is not None else None
    total = note.amounts.total if note is not None and note.amounts is not None else None

    def rank(other: ReturnCase) -> tuple:
        created = other.platform.created_at
        gap = abs((created.date() - day).days) if created is not None and day else 10**6
        refund = other.platform.refund
        money = abs(refund.total - total) if refund is not None and total is not None \
            else Decimal(10**9)
        return (_edits(ref.casefold(), other.return_ref.casefold()), gap, money,
                other.return_ref)

    candidates = [c for c in cases if c is not case and c.platform.lines and not c.unlinked]
    ranked = sorted(candidates, key=rank)
    return [c.return_ref for c in ranked[:limit]
            if _edits(ref.casefold(), c.return_ref.casefold()) <= max(2, len(ref) // 3)]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


#: The document behind each ERP stage, in the console's terms.
_STAGE_DOCUMENT = {Stage.AUTHORISED: DocumentKind.RETURN_ORDER,
                   Stage.RECEIVED: DocumentKind.RECEIPT,
                   Stage.CREDITED: DocumentKind.CREDIT_NOTE,
                   Stage.EXCHANGED: DocumentKind.EXCHANGE_ORDER}


def document_kinds(case: ReturnCase) -> dict[str, DocumentKind]:
    """The kind of each ERP document behind a return, by raw ref: its credit notes first
    (a stage an ERP stands in for with its credit note is still a credit note)."""
    kinds = {n.raw_ref: DocumentKind.CREDIT_NOTE for n in case.erp.credit_notes if n.raw_ref}
    for stage, view in case.erp.stages.items():
        if view.raw_ref:
            kinds.setdefault(view.raw_ref, _STAGE_DOCUMENT.get(stage, DocumentKind.OTHER))
    return kinds


def _main_kind(case: ReturnCase) -> DocumentKind:
    """The kind of a return's own ERP document when its views carry no raw refs (a
    snapshot): the credit note if it has one (the record actions list first), else its
    return order."""
    if case.erp.credit_notes:
        return DocumentKind.CREDIT_NOTE
    if case.erp.return_order_state is not None:
        return DocumentKind.RETURN_ORDER
    return DocumentKind.OTHER


def _same_kind(case: ReturnCase, kind: DocumentKind) -> list[str]:
    """Documents of one kind a return has, where its views carry no raw refs (snapshots)."""
    if kind is DocumentKind.CREDIT_NOTE:
        return [n.number or n.id for n in case.erp.credit_notes if n.status != "cancelled"]
    if kind is DocumentKind.RETURN_ORDER and case.erp.return_order_state is not None:
        return ["a return order"]
    return []


def _erp_numbers(case: ReturnCase) -> list[str]:
    numbers = [rid for s in case.erp.stages.values() for rid in s.record_ids]
    return sorted(set(numbers + [n.number or n.id for n in case.erp.credit_notes]))


def plan_requeue_credit(case: ReturnCase, mappings: Mappings, master: ErpMaster,
                        steps: Sequence[str] = ()) -> Plan:
    """The missing credit note, built from the platform's refund with mappings applied.
    Refused when the ERP already has one for this link (never posted twice), when there is
    no refund, or when a line or the customer cannot be mapped."""
    p, e = case.platform, case.erp
    target = f"credit memo for {p.return_ref}"
    params: dict[str, Any] = {"return_ref": p.return_ref}
    live = [n for n in e.credit_notes if n.status != "cancelled"]
    if live:
        return refused(Action.REQUEUE_POSTING, target, f"the ERP already has credit note "
                       f"{live[0].number or live[0].id} for {p.return_ref}; nothing to re-queue",
                       **params)
    credited = p.stages.get(Stage.CREDITED)
    if p.refund is None or credited is None or credited.status is not StageStatus.DONE:
        # Money is sacred: a credit note only for a refund the platform has made.
        state = "no refund is owed (an exchange, or a return that moves no money)" \
            if p.refund is None or (credited is not None
                                    and credited.status is StageStatus.NOT_APPLICABLE) \
            else "it has not refunded this return yet"
        return refused(Action.REQUEUE_POSTING, target, f"the platform shows no refund: {state}; "
                       "a credit note is only created for a refund the platform made",
                       **params)
    if master.creates is not None and "credit_note" not in master.creates:
        return refused(Action.REQUEUE_POSTING, target, "this ERP's API cannot create credit notes; "
                       + (master.instead.get(Code.CREDIT_NOTE_MISSING)
                          or "create it in the ERP"), **params)
    customer = (e.customer_ref or _customer_by_email(master, p.customer_email)
                or master.sole_customer)
    if not customer:
        return refused(Action.REQUEUE_POSTING, target, "no ERP customer for this return: fix the "
                       "customer first", **params)
    record = master.customers.get(customer)
    if record is not None and not record.can_be_credited:
        return refused(Action.REQUEUE_POSTING, target, f"customer {customer} is blocked for "
                       "invoicing in the ERP", **params)
    lines, problem = _erp_lines(case, mappings, master)
    if problem is not None:
        return refused(Action.REQUEUE_POSTING, target, problem, **params)
    refund = p.refund
    credit = CreditRequest(
        link=p.return_ref, customer_ref=customer, currency=refund.currency, lines=tuple(lines),
        order_ref=p.order_ref, shipping=refund.shipping, fees=refund.fees,
        payment_method=(mappings.code(mappings.payment_methods, p.refund_method)
                        if p.refund_method else None),
        source=_return_document(e), goods=refund.items - refund.discounts)
    changes = [f"new credit memo {p.return_ref} for customer {customer}, "
               f"{refund.total:,.2f} {refund.currency}"]
    changes += [f"  {ln.item_no} x {ln.quantity}{' ' + ln.uom if ln.uom else ''}"
                + (f" at {ln.unit_price:,.2f}" if ln.unit_price is not None else "")
                for ln in lines]
    changes += steps  # how this ERP makes it (its writer says: a draft, then posted)
    return Plan(Action.REQUEUE_POSTING, target, (p.return_ref,), tuple(changes),
                {**params, "customer": customer}, before=None,
                after={"link": p.return_ref, "lines": len(lines),
                       "total": f"{refund.total:f}", "currency": refund.currency},
                credit=credit)


def _erp_lines(case: ReturnCase, mappings: Mappings, master: ErpMaster
               ) -> tuple[list[CreditLine], str | None]:
    """The platform's lines in the ERP's items and units, or why they cannot be: a SKU
    with no item, an item the ERP lacks or has blocked."""
    lines: list[CreditLine] = []
    for line in case.platform.lines:
        mapped = mappings.sku(line.sku)
        if mapped is None:
            return [], f"SKU {line.sku} has no ERP item: remap it first"
        item = master.item(mapped.item_no) if master.checks_item(mapped) else None
        if master.items and item is None and master.checks_item(mapped):
            return [], f"SKU {line.sku} maps to item {mapped.item_no}, which the ERP does not have"
        if item is not None and item.blocked:
            return [], f"item {mapped.item_no} is blocked in the ERP"
        quantity = line.quantity * mapped.factor
        price = None if line.unit_price is None else line.unit_price / mapped.factor
        # where the goods belong: the graded condition's location, else the platform's hub
        graded = mappings.dispositions.get(line.condition) if line.condition else None
        location = graded.location if graded is not None else (
            mappings.code(mappings.locations, line.location) if line.location else None)
        lines.append(CreditLine(item_no=item.number if item else mapped.item_no,
                                quantity=quantity,
                                uom=mapped.erp_uom or (item.base_uom if item else None),
                                unit_price=price, location=location, description=line.sku,
                                match_by=mapped.match_by))
    return lines, None


def plan_requeue_return_order(case: ReturnCase, mappings: Mappings, master: ErpMaster,
                              steps: Sequence[str] = ()) -> Plan:
    """The missing return order, built from the platform's approved return with mappings
    applied. It authorises the return only: no goods are received and no money moves
    (those stay the ERP's steps, each with its own finding). Refused when the ERP has a
    return order for this link already, when the platform has not approved the return or
    cancelled it, or when the customer or a line cannot be mapped."""
    p, e = case.platform, case.erp
    target = f"return order for {p.return_ref}"
    params: dict[str, Any] = {"return_ref": p.return_ref, "creates": "return_order"}
    order = e.stages.get(Stage.AUTHORISED)
    if order is not None and order.status is StageStatus.DONE:
        number = order.record_ids[0] if order.record_ids else "?"
        return refused(Action.REQUEUE_POSTING, target, f"the ERP already has return order "
                       f"{number} for {p.return_ref}; nothing to re-queue", **params)
    live = [n for n in e.credit_notes if n.status != "cancelled"]
    if live:  # a return order invoiced later would credit it again
        return refused(Action.REQUEUE_POSTING, target, f"the ERP already has credit note "
                       f"{live[0].number or live[0].id} for {p.return_ref}: a return order "
                       "made now could be invoiced and credit it twice; create it in the ERP "
                       "if it is still needed", **params)
    approved = p.stages.get(Stage.AUTHORISED)
    if approved is None or approved.status is not StageStatus.DONE:
        return refused(Action.REQUEUE_POSTING, target, "the platform has not approved this "
                       "return: a return order is only created for an approved one", **params)
    if master.creates is not None and "return_order" not in master.creates:
        return refused(Action.REQUEUE_POSTING, target, "this ERP's API cannot create return "
                       "orders; " + (master.instead.get(Code.RETURN_ORDER_MISSING)
                                     or "create it in the ERP"), **params)
    customer = (e.customer_ref or _customer_by_email(master, p.customer_email)
                or master.sole_customer)
    if not customer:
        return refused(Action.REQUEUE_POSTING, target, "no ERP customer for this return: fix the "
                       "customer first", **params)
    record = master.customers.get(customer)
    if record is not None and record.blocked == "all":
        return refused(Action.REQUEUE_POSTING, target, f"customer {customer} is on hold for "
                       "everything in the ERP", **params)
    if not p.lines:
        return refused(Action.REQUEUE_POSTING, target, "the platform's return has no lines",
                       **params)
    lines, problem = _erp_lines(case, mappings, master)
    if problem is not None:
        return refused(Action.REQUEUE_POSTING, target, problem, **params)
    reasons = {line.reason for line in p.lines if line.reason}
    reason = mappings.code(mappings.reasons, sorted(reasons)[0]) if reasons else None
    request = ReturnOrderRequest(link=p.return_ref, customer_ref=customer, lines=tuple(lines),
                                 order_ref=p.order_ref, reason=reason,
                                 currency=p.refund.currency if p.refund else None)
    changes = [f"new return order {p.return_ref} for customer {customer} (no goods "
               "received, no money moved)"]
    changes += [f"  {ln.item_no} x {ln.quantity}{' ' + ln.uom if ln.uom else ''}"
                for ln in lines]
    changes += steps
    return Plan(Action.REQUEUE_POSTING, target, (p.return_ref,), tuple(changes),
                {**params, "customer": customer, "lines": len(lines)}, before=None,
                after={"link": p.return_ref, "lines": len(lines)}, order=request)


def plan_requeue_receipt(case: ReturnCase, mappings: Mappings, master: ErpMaster,
                         steps: Sequence[str] = ()) -> Plan:
    """The missing receipt against the ERP's return order: only the units the platform
    received, each restocked or not as the platform's inspection decided. Refused before
    the platform has received the goods or finished deciding what goes back on sale (a
    receipt would move stock ahead of it), where the platform does not say it per line,
    and where the ERP has received already or has no open return order to receive on."""
    p, e = case.platform, case.erp
    target = f"receipt for {p.return_ref}"
    params: dict[str, Any] = {"return_ref": p.return_ref, "creates": "receipt"}
    received = e.stages.get(Stage.RECEIVED)
    if received is not None and received.status is StageStatus.DONE:
        number = received.record_ids[0] if received.record_ids else "a receipt"
        return refused(Action.REQUEUE_POSTING, target, f"{p.return_ref} is received already "
                       f"in the ERP ({number}); no receipt to re-queue", **params)
    if master.creates is not None and "receipt" not in master.creates:
        return refused(Action.REQUEUE_POSTING, target, "this ERP's API cannot make receipts; "
                       + (master.instead.get(Code.RECEIPT_NOT_POSTED) or "receive it in the ERP"),
                       **params)
    source = _return_document(e)
    if source is None:
        return refused(Action.REQUEUE_POSTING, target, f"the ERP has no return order for "
                       f"{p.return_ref} to receive against: create it first", **params)
    number = source.number or "the return order"
    if source.state == "on_hold":
        return refused(Action.REQUEUE_POSTING, target, f"return order {number} awaits approval "
                       "in the ERP, and nothing can be received on it until then", **params)
    if source.state in ("closed", "cancelled"):
        return refused(Action.REQUEUE_POSTING, target, f"return order {number} is "
                       f"{source.state} in the ERP: nothing can be received on it", **params)
    arrived = p.stages.get(Stage.RECEIVED)
    if arrived is None or arrived.status is not StageStatus.DONE:
        # stock is sacred: a receipt only for goods the platform received
        return refused(Action.REQUEUE_POSTING, target, "the platform has not received the "
                       "goods: a receipt is only made for goods the platform received",
                       **params)
    inspected = p.stages.get(Stage.INSPECTED)
    if inspected is None or inspected.status is not StageStatus.DONE:
        return refused(Action.REQUEUE_POSTING, target, "the platform has not finished "
                       "deciding which units go back on sale: a receipt now would restock or "
                       "write them off ahead of it; re-queue once it has, or receive in the "
                       "ERP", **params)
    lines, problem = _erp_lines(case, mappings, master)
    if problem is not None:
        return refused(Action.REQUEUE_POSTING, target, problem, **params)
    # per ERP item: two SKUs of one item (a single and a pack) are one receipt line
    merged: dict[str, ReceiptLine] = {}
    for line, mapped in zip(case.platform.lines, lines, strict=True):
        back, kept = line.restocked_quantity, line.not_restocked_quantity
        if back is None or kept is None:
            return refused(Action.REQUEUE_POSTING, target, "the platform does not say per line "
                           "which units went back on sale, so a receipt cannot restock the "
                           "right ones: receive it in the ERP", **params)
        got = line.quantity if line.received_quantity is None else line.received_quantity
        if back + kept > got:
            return refused(Action.REQUEUE_POSTING, target, f"the platform says more units of "
                           f"SKU {line.sku} were restocked or not ({back + kept:f}) than "
                           f"arrived ({got:f}): receive it in the ERP", **params)
        mapping = mappings.sku(line.sku)
        assert mapping is not None  # _erp_lines refused any SKU without one
        factor = mapping.factor
        if not back + kept:
            continue
        key = mapped.item_no.casefold()
        earlier = merged.get(key)
        if earlier is not None and (earlier.uom, earlier.match_by, earlier.location) != (
                mapped.uom, mapped.match_by, mapped.location):
            return refused(Action.REQUEUE_POSTING, target, f"item {mapped.item_no} comes back "
                           "in two units, found two ways or to two places: receive it in the "
                           "ERP", **params)
        merged[key] = ReceiptLine(
            item_no=mapped.item_no,
            quantity=(back + kept) * factor + (earlier.quantity if earlier else 0),
            restocked=back * factor + (earlier.restocked if earlier else 0),
            uom=mapped.uom, match_by=mapped.match_by, location=mapped.location)
    out = list(merged.values())
    if not out:
        return refused(Action.REQUEUE_POSTING, target, "the platform's inspection received "
                       "no unit of this return (missing, or still to decide): nothing to "
                       "receive", **params)
    request = ReceiptRequest(link=p.return_ref, lines=tuple(out), source=source,
                             order_lines=e.lines)
    changes = [f"new receipt against return order {number} for {p.return_ref} (no money "
               "moved)"]
    changes += [f"  {ln.item_no} x {ln.quantity:f}{' ' + ln.uom if ln.uom else ''}: "
                f"{ln.restocked:f} back on sale, {ln.quantity - ln.restocked:f} not"
                for ln in out]
    changes += steps
    return Plan(Action.REQUEUE_POSTING, target, (p.return_ref,), tuple(changes),
                {**params, "lines": len(out)}, before=None,
                after={"link": p.return_ref, "lines": len(out)}, receipt=request)


def _return_document(e: ErpView) -> ReturnDocument | None:
    """The ERP's return order for this return, as read (None: it has none)."""
    order = e.stages.get(Stage.AUTHORISED)
    if order is None or order.raw_ref is None or order.status is not StageStatus.DONE:
        return None
    received = e.stages.get(Stage.RECEIVED)
    return ReturnDocument(
        raw_ref=order.raw_ref, number=order.record_ids[0] if order.record_ids else None,
        state=e.return_order_state,
        received=received is not None and received.status is StageStatus.DONE)


def _customer_by_email(master: ErpMaster, email: str | None) -> str | None:
    if not email:
        return None
    found = master.customers_by_email.get(email.casefold())
    return found.number if found else None

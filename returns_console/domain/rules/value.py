"""Rules of kind `value`: both sides have the record but disagree on an amount or quantity."""

from __future__ import annotations

from decimal import Decimal

from ..codes import CREDITED, INSPECTED, NOT_APPLICABLE, RECEIVED, Action, Code, Component, Side
from ..findings import Finding
from ..view import CaseView, ItemGroup

NONE: tuple[Finding, ...] = ()
ZERO = Decimal(0)
#: What to do when the ERP's own document has the wrong quantity (no console action changes
#: ERP documents' lines); a connector may say it in its ERP's words (`instead`).
ORDERED_WRONG = ("Correct the line on the ERP return document (or add the missing one), or "
                 "have the integration send it again.")
RECEIVED_WRONG = ("Check the ERP receipt against what arrived; undo it in the ERP and post "
                  "the quantity received.")

#: Components REFUND_AMOUNT_MISMATCH compares; tax has its own code.
_NON_TAX = tuple(
    (c, c.value) for c in (Component.ITEMS, Component.SHIPPING, Component.DISCOUNTS, Component.FEES)
)


def quantity_mismatch(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Per ERP item, in the ERP's unit after each SKU mapping's conversion: the ERP's received
    quantity (or, before receipt, its return order quantity) against the platform's."""
    if not v.e.lines:
        return NONE
    platform_received = RECEIVED in v.pdone
    out = []
    for group in v.groups.values():
        pairs = group.pairs
        if pairs and group.item is None:
            continue  # SKU_UNKNOWN says why
        expected_uom = group.expected_uom
        erp_lines = group.erp_lines
        if len(erp_lines) == 1 and len(pairs) == 1:  # the common case, decided at once
            ln, p = erp_lines[0], pairs[0]
            if not (expected_uom and ln.uom and ln.uom != expected_uom):
                line, factor = p.line, (p.mapping.factor if p.mapping else None)
                if ln.received_quantity is None:
                    qty = line.quantity
                elif platform_received or line.received_quantity is not None:
                    # received on the platform, or counted there (a platform that hears
                    # nothing of the retailer's receipt still counts what it checked)
                    qty = line.quantity if line.received_quantity is None \
                        else line.received_quantity
                else:
                    continue
                mine = ln.quantity if ln.received_quantity is None else ln.received_quantity
                if (qty if factor is None else qty * factor) == mine:
                    continue
        ordered = received = ZERO
        any_received = clash = False
        for ln in erp_lines:
            if expected_uom and ln.uom and ln.uom != expected_uom:
                clash = True
                break
            ordered += ln.quantity
            if ln.received_quantity is not None:
                any_received = True
                received += ln.received_quantity
        if clash:
            continue  # UOM_MISMATCH says why
        expected = ZERO
        if any_received:
            if not (platform_received or (pairs and all(
                    p.line.received_quantity is not None for p in pairs))):
                continue
            erp_qty, what = received, "received"
            for p in pairs:
                line = p.line
                qty = line.quantity if line.received_quantity is None else line.received_quantity
                expected += qty * p.mapping.factor if p.mapping else qty
        else:
            erp_qty, what = ordered, "on the return order"
            for p in pairs:
                expected += p.line.quantity * p.mapping.factor if p.mapping else p.line.quantity
        if expected == erp_qty:
            continue
        unit = f" {expected_uom}" if expected_uom else ""
        action, todo = None, None  # an item the platform return lacks: maybe another's record
        if group.pairs:
            message = (f"SKU {group.label}: platform {expected:f}{unit} after conversion, "
                       f"{v.erp_name} {erp_qty:f}{unit} {what}")
            # the ERP document is this return's, its quantity is wrong: no link to fix
            action = Action.NONE
            todo = (v.instead("QUANTITY_MISMATCH.received", RECEIVED_WRONG) if any_received
                    else v.instead("QUANTITY_MISMATCH.ordered", ORDERED_WRONG))
        else:
            message = (f"{v.erp_name} returns item {group.item_no}, "
                       "which is not on the platform return")
        out.append(
            v.finding(
                Code.QUANTITY_MISMATCH,
                message,
                line_ref=group.label,
                platform_value=expected,
                erp_value=erp_qty,
                since=v.pstage(RECEIVED).at,
                side=None if group.pairs else Side.ERP,
                amount=_unit_value(group, expected - erp_qty),
                action=action,
                todo=todo,
            )
        )
    return out or NONE


def _money_pair(v: CaseView):
    """The refund the platform made and the credit note that counts; amounts compare only
    once the platform has refunded (before that CREDIT_WITHOUT_REFUND is the finding)."""
    refund, note = v.p.refund, v.credit_note
    if refund is None or note is None or note.amounts is None or CREDITED not in v.pdone:
        return None
    return refund, note


def credit_without_refund(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A posted ERP credit note for a return the platform has not refunded. Where the
    platform never will (cancelled, an exchange, a return that moves no money) it is an
    error at once; where the refund may still come, a delay within the credited grace."""
    if CREDITED in v.pdone:
        return NONE
    posted = [cn for cn in v.active_credit_notes if cn.status == "posted"]
    if not posted:
        return NONE
    note = posted[0]
    stage = v.pstage(CREDITED)
    never = v.cancelled or stage.status is NOT_APPLICABLE
    since = note.posted_at
    overdue = True if never else v.overdue(CREDITED, since)
    if overdue is None:
        overdue = True  # a posted credit with no date: nothing to wait for
    amount = note.amounts.total if note.amounts else None
    why = ("the return was cancelled" if v.cancelled else
           "the platform owes no refund for it" if stage.status is NOT_APPLICABLE else
           "the platform has not refunded it")
    return [
        v.finding(
            Code.CREDIT_WITHOUT_REFUND,
            f"{v.erp_name} credit memo {note.number or note.id} credits {v.p.return_ref} "
            f"but {why}",
            platform_value=stage.status.value,
            erp_value=note.number or note.id,
            since=since,
            side=Side.ERP,
            amount=amount,
            currency=note.amounts.currency if note.amounts else None,
            delay=not overdue,
        )
    ]


def refund_amount_mismatch(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Refund and credit note compared component by component, beyond the tolerance."""
    pair = _money_pair(v)
    if pair is None:
        return NONE
    refund, note = pair
    credit = note.amounts
    label = note.number or note.id
    if refund.currency != credit.currency:
        return [
            v.finding(
                Code.REFUND_AMOUNT_MISMATCH,
                f"Refunded in {refund.currency}, credit memo {label} is in {credit.currency}",
                component="currency",
                platform_value=refund.currency,
                erp_value=credit.currency,
                since=v.pstage(CREDITED).at,
            )
        ]
    if (refund.items == credit.items and refund.shipping == credit.shipping
            and refund.discounts == credit.discounts and refund.fees == credit.fees):
        return NONE  # the common case, decided without a loop
    tolerance = v.ctx.policy.tolerance
    out = []
    for component, name in _NON_TAX:
        a, b = getattr(refund, name), getattr(credit, name)
        if a != b and abs(a - b) > tolerance:
            out.append(_money_finding(v, Code.REFUND_AMOUNT_MISMATCH, component, a, b, label))
    return out or NONE


def tax_mismatch(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Tax refunded against tax credited, beyond the tolerance."""
    pair = _money_pair(v)
    if pair is None:
        return NONE
    refund, note = pair
    if refund.currency != note.amounts.currency:
        return NONE  # REFUND_AMOUNT_MISMATCH names the currency
    a, b = refund.tax, note.amounts.tax
    if a == b or abs(a - b) <= v.ctx.policy.tolerance:
        return NONE
    return [_money_finding(v, Code.TAX_MISMATCH, Component.TAX, a, b, note.number or note.id)]


def _money_finding(
    v: CaseView, code: Code, component: Component, a: Decimal, b: Decimal, label: str
) -> Finding:
    currency = v.p.refund.currency if v.p.refund else ""
    return v.finding(
        code,
        f"{component.value.capitalize()} {_verb(component)}: refunded {a:f} {currency}, "
        f"credit memo {label} {b:f} {currency} (difference {a - b:f})",
        component=component.value,
        platform_value=a,
        erp_value=b,
        since=v.pstage(CREDITED).at,
        amount=abs(a - b),
    )


def _verb(component: Component) -> str:
    return "differ" if component.value.endswith("s") else "differs"


def disposition_location_wrong(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Stock put where its graded condition says it must not go (e.g. damaged on sale).

    Compared per item and location in ERP units: how many units each location should hold
    by the grading (platform quantity × conversion, placed by condition) against how many
    the ERP put there. Units of one item graded differently are told apart this way.
    """
    table = v.ctx.mappings.dispositions
    out = []
    for group in v.groups.values():
        lines, pairs = group.erp_lines, group.pairs
        if len(lines) == 1 and len(pairs) == 1:  # the common case, decided without tallies
            condition = pairs[0].line.condition
            mapping = table.get(condition) if condition else None
            if mapping is None or lines[0].location in (None, mapping.location):
                continue
        placed: dict[str, Decimal] = {}
        for line in group.erp_lines:
            if line.location:
                qty = line.quantity if line.received_quantity is None else line.received_quantity
                placed[line.location] = placed.get(line.location, ZERO) + qty
        if not placed or not group.pairs:
            continue
        wanted: dict[str, Decimal] = {}
        graded = []
        for pair in group.pairs:
            mapping = table.get(pair.line.condition) if pair.line.condition else None
            if mapping is None:
                break  # ungraded or unmapped (DISPOSITION_UNMAPPED): nothing to compare
            wanted[mapping.location] = (wanted.get(mapping.location, ZERO)
                                        + pair.line.quantity * pair.factor)
            graded.append((pair, mapping.location))
        else:
            for location, qty in sorted(placed.items()):
                if qty <= wanted.get(location, ZERO):
                    continue
                pair, belongs = min(
                    graded, key=lambda g: (g[1] == location, g[0].line.sku, g[0].line.line_ref)
                )
                out.append(
                    v.finding(
                        Code.DISPOSITION_LOCATION_WRONG,
                        f"SKU {pair.line.sku} graded {pair.line.condition!r} belongs in "
                        f"{belongs}; {v.erp_name} put {qty - wanted.get(location, ZERO):f} "
                        f"in {location}",
                        line_ref=pair.line.sku,
                        platform_value=f"{pair.line.condition} → {belongs}",
                        erp_value=location,
                        side=Side.ERP,
                        since=v.pdone.get(INSPECTED),
                        amount=pair.amount,
                    )
                )
    return out or NONE


def _unit_value(group: ItemGroup, erp_units: Decimal) -> Decimal | None:
    """What a quantity difference (in ERP units) is worth at the platform's price."""
    for pair in group.pairs:
        if pair.line.unit_price is not None:
            return abs(pair.line.unit_price * erp_units / pair.factor)
    return None

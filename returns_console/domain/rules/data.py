"""Rules of kind `data`: master data or a mapping is wrong, so fix the data."""

from __future__ import annotations

from decimal import Decimal

from ..codes import AUTHORISED, CREDITED, DONE, INSPECTED, PENDING, Code, Side
from ..findings import Finding
from ..view import CaseView, same_ref

NONE: tuple[Finding, ...] = ()


def payload_invalid(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """Every source record that failed validation, with the validation error."""
    if not v.case.problems:
        return NONE
    return [
        v.finding(
            Code.PAYLOAD_INVALID,
            f"{_system(v, problem.side)} record {problem.record_id or '?'} is invalid: "
            f"{problem.error}",
            stage=problem.stage,
            side=problem.side,
            line_ref=problem.record_id,
            platform_value=problem.error if problem.side == Side.PLATFORM else None,
            erp_value=problem.error if problem.side == Side.ERP else None,
        )
        for problem in v.case.problems
    ]


def sku_unknown(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A platform SKU that resolves to no item in the ERP item master."""
    out = [
        v.finding(
            Code.SKU_UNKNOWN,
            f"SKU {pair.line.sku} has no item in {v.erp_name}"
            if pair.mapping is None or pair.mapping.item_no == pair.line.sku
            else f"SKU {pair.line.sku} maps to item {pair.mapping.item_no}, "
            f"which {v.erp_name} does not have",
            line_ref=pair.line.sku,
            platform_value=pair.line.sku,
            erp_value=None,
            amount=pair.amount,
        )
        for pair in v.pairs
        if pair.item is None
    ]
    return out or NONE


def sku_inactive(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A platform SKU whose ERP item exists but is blocked."""
    out = [
        v.finding(
            Code.SKU_INACTIVE,
            f"SKU {pair.line.sku} maps to item {pair.item.number}, blocked in {v.erp_name}",
            line_ref=pair.line.sku,
            platform_value=pair.line.sku,
            erp_value=pair.item.number,
            amount=pair.amount,
        )
        for pair in v.pairs
        if pair.item is not None and pair.item.blocked
    ]
    return out or NONE


def uom_mismatch(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """An ERP line counted in another unit than the SKU mapping converts to."""
    out = []
    for group in v.groups.values():
        expected = group.expected_uom
        if expected is None or not group.pairs:
            continue
        for line in group.erp_lines:
            if line.uom and line.uom != expected:
                pair = group.first
                out.append(
                    v.finding(
                        Code.UOM_MISMATCH,
                        f"SKU {pair.line.sku}: {v.erp_name} line {line.line_ref} counts in "
                        f"{line.uom}, the mapping expects {expected} (factor {pair.factor:f})",
                        line_ref=pair.line.sku,
                        platform_value=f"{pair.line.quantity:f} {pair.line.uom or 'EA'}",
                        erp_value=f"{line.quantity:f} {line.uom}",
                        side=Side.ERP,
                        amount=pair.amount,
                    )
                )
    return out or NONE


def order_ref_missing(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """The original order reference is missing on the platform or on the ERP record."""
    p, e = v.p, v.e
    if not p.order_ref:
        return [
            v.finding(
                Code.ORDER_REF_MISSING,
                f"Return {p.return_ref} carries no original order number on the platform",
                side=Side.PLATFORM,
                erp_value=e.order_ref,
            )
        ]
    if v.estage(AUTHORISED).status not in (DONE, PENDING) and not v.active_credit_notes:
        return NONE  # no ERP record to carry a reference yet
    if not e.order_ref:
        return [
            v.finding(
                Code.ORDER_REF_MISSING,
                f"The {v.erp_name} record for {p.return_ref} has no original order reference",
                side=Side.ERP,
                platform_value=p.order_ref,
            )
        ]
    if not same_ref(e.order_ref, p.order_ref):
        return [
            v.finding(
                Code.ORDER_REF_MISSING,
                f"The {v.erp_name} record for {p.return_ref} links to order {e.order_ref}, "
                f"not {p.order_ref}",
                side=Side.ERP,
                platform_value=p.order_ref,
                erp_value=e.order_ref,
            )
        ]
    return NONE


def customer_not_found(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """The ERP customer is unknown, cannot be found from the platform, or cannot be credited."""
    if v.cancelled:
        return NONE
    customer = v.customer()
    if customer is None:
        if v.e.customer_ref:
            message = f"Customer {v.e.customer_ref} does not exist in {v.erp_name}"
        elif v.p.customer_email:
            message = f"No {v.erp_name} customer has the return's customer email"
        else:
            return NONE
        return [
            v.finding(
                Code.CUSTOMER_NOT_FOUND,
                message,
                platform_value=v.p.customer_email and "(customer email)",
                erp_value=v.e.customer_ref,
            )
        ]
    if not customer.can_be_credited:
        return [
            v.finding(
                Code.CUSTOMER_NOT_FOUND,
                f"Customer {customer.number} is blocked ({customer.blocked}) in {v.erp_name}",
                erp_value=f"{customer.number} blocked {customer.blocked}",
            )
        ]
    return NONE


def external_ref_conflict(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A credit note carrying this return's reference belongs to another order or customer."""
    if not v.active_credit_notes:
        return NONE
    customer = None
    out = []
    for cn in v.active_credit_notes:
        if cn.order_ref and v.p.order_ref and not same_ref(cn.order_ref, v.p.order_ref):
            other = f"order {cn.order_ref}"
        elif cn.customer_ref and (customer := customer or v.customer()) \
                and cn.customer_ref != customer.number:
            other = f"customer {cn.customer_ref}"
        else:
            continue
        if "order" in other:
            platform_value, erp_value = v.p.order_ref, cn.order_ref
        else:
            assert customer is not None  # only the customer branch names no order
            platform_value, erp_value = customer.number, cn.customer_ref
        out.append(
            v.finding(
                Code.EXTERNAL_REF_CONFLICT,
                f"Credit note {cn.number or cn.id} carries reference {cn.external_ref or '?'} "
                f"but belongs to {other}",
                side=Side.ERP,
                line_ref=cn.number or cn.id,
                platform_value=platform_value,
                erp_value=erp_value,
                since=cn.posted_at,
            )
        )
    return out or NONE


def reason_unmapped(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A platform return reason with no ERP reason code (where the ERP keeps a list)."""
    if not v.ctx.master.reasons_kept:
        return NONE
    mappings, known = v.ctx.mappings, v.ctx.master.reasons
    table = mappings.reasons
    out = []
    for pair in v.pairs:
        reason = pair.line.reason
        if reason is None or table.get(reason) in known:
            continue  # no reason given, or its mapped code is one the ERP has
        code = mappings.code(table, reason)
        if code is None or code not in known:
            out.append(
                v.finding(
                    Code.REASON_UNMAPPED,
                    f"Return reason {reason!r} has no {v.erp_name} reason code",
                    line_ref=pair.line.sku,
                    platform_value=reason,
                    erp_value=None,
                )
            )
    return out or NONE


def disposition_unmapped(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A graded condition with no ERP disposition (and so no location to put the stock in)."""
    table = v.ctx.mappings.dispositions
    out = [
        v.finding(
            Code.DISPOSITION_UNMAPPED,
            f"Condition {pair.line.condition!r} has no {v.erp_name} disposition",
            line_ref=pair.line.sku,
            platform_value=pair.line.condition,
            since=v.pstage(INSPECTED).at,
            amount=pair.amount,
        )
        for pair in v.pairs
        if pair.line.condition is not None and pair.line.condition not in table
    ]
    return out or NONE


def location_unmapped(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A platform receiving location with no ERP location code."""
    mappings, known = v.ctx.mappings, v.ctx.master.locations
    table = mappings.locations
    out = []
    for pair in v.pairs:
        location = pair.line.location
        if location is None or table.get(location) in known:
            continue  # no location given, or its mapped code is one the ERP has
        code = mappings.code(table, location)
        if code is None or code not in known:
            out.append(
                v.finding(
                    Code.LOCATION_UNMAPPED,
                    f"Location {location!r} has no {v.erp_name} location code",
                    line_ref=pair.line.sku,
                    platform_value=location,
                    amount=pair.amount,
                )
            )
    return out or NONE


def fee_item_unmapped(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """A fee the platform charged with no ERP service item to post it to."""
    mappings, master = v.ctx.mappings, v.ctx.master
    out = []
    for fee in v.p.fees:
        item_no = mappings.code(mappings.fees, fee.type)
        item = master.item(item_no) if item_no else None
        if item is None or item.blocked:
            out.append(
                v.finding(
                    Code.FEE_ITEM_UNMAPPED,
                    f"Fee {fee.type!r} ({fee.amount:f}) has no {v.erp_name} service item",
                    line_ref=fee.type,
                    platform_value=fee.amount,
                    amount=fee.amount,
                )
            )
    return out or NONE


def payment_method_unmapped(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """The refund's payment method with no ERP payment method."""
    method = v.p.refund_method
    if method is None or v.p.refund is None:
        return NONE  # no money moves, so no payment method to post it by
    mappings = v.ctx.mappings
    code = mappings.code(mappings.payment_methods, method)
    if code is not None and code in v.ctx.master.payment_methods:
        return NONE
    return [
        v.finding(
            Code.PAYMENT_METHOD_UNMAPPED,
            f"Refund method {method!r} has no {v.erp_name} payment method",
            platform_value=method,
            since=v.pstage(CREDITED).at,
        )
    ]


def _system(v: CaseView, side: Side) -> str:
    system = v.p.system if side == Side.PLATFORM else v.e.system
    return v.ctx.names.get(system, system)


def erp_record_unlinked(v: CaseView) -> list[Finding] | tuple[Finding, ...]:
    """ERP documents carrying a link key no platform return has (a typo, a stale draft,
    another channel): a wrong link is never a silent non-match."""
    if not v.case.unlinked:
        return NONE
    e = v.e
    documents = [cn.number or cn.id for cn in e.credit_notes]
    if e.stages.get(AUTHORISED) is not None and e.stages[AUTHORISED].record_ids:
        documents = [*e.stages[AUTHORISED].record_ids, *documents]
    what = ", ".join(documents) or "records"
    total = sum((cn.amounts.total for cn in e.credit_notes if cn.amounts), Decimal(0))
    return [
        v.finding(
            Code.ERP_RECORD_UNLINKED,
            f"{v.erp_name} {what} {'carries' if len(documents) == 1 else 'carry'} reference "
            f"{e.return_ref or v.p.return_ref}, which "
            "matches no return on the platform",
            side=Side.ERP,
            erp_value=e.return_ref or v.p.return_ref,
            since=min((cn.posted_at for cn in e.credit_notes if cn.posted_at), default=None),
            amount=total or None,
            currency=next((cn.amounts.currency for cn in e.credit_notes if cn.amounts), None),
        )
    ]

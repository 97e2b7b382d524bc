"""A validated Shopify return as the canonical PlatformView (docs/shopify-netsuite-mapping.md,
"Stages"; the facts in docs/vendors/shopify.md).

Shopify's return is linear in its status (REQUESTED, OPEN, CLOSED; or DECLINED, CANCELED)
and keeps the rest in other records: what came back and where it went in the reverse
fulfillment orders' dispositions (§3.5), money back in the refunds' transactions (§3.6:
a refund is not proof, a successful REFUND transaction is), restocking in two places that
may disagree (§4.3). Money is read in shop currency (what the ERP books).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ...connectors.validation import as_utc
from ...domain.codes import Side, Stage, StageStatus
from ...domain.model import Fee, PayloadProblem, PlatformLine, PlatformView, StageView
from ...domain.money import MoneyBreakdown, pad_cents
from .records import Disposition, Place, Refund, ShopifyReturn, Transaction

SYSTEM = "shopify"
#: Transactions that moved money back, and those still on the way (§3.7).
_SUCCESS = "SUCCESS"
_ON_THE_WAY = frozenset({"PENDING", "AWAITING_RESPONSE"})
_REFUND = "REFUND"
#: Refund lines that put goods back on sale (§4.3; LEGACY_RESTOCK is older data).
_RESTOCK_TYPES = frozenset({"RETURN", "LEGACY_RESTOCK"})
_APPROVED = frozenset({"OPEN", "CLOSED"})
_REFUSED = frozenset({"DECLINED", "CANCELED"})


@dataclass(frozen=True, slots=True)
class MappingSettings:
    """The profile options the mapping reads (docs/shopify-netsuite-mapping.md, Options)."""

    #: Where restocking is read from: `disposition_then_refund_line` (RESTOCKED
    #: dispositions where the return has reverse fulfillment, else restocking refund
    #: lines), `disposition` or `refund_line`.
    restock_evidence: str = "disposition_then_refund_line"
    #: Disposition types that end a unit's inspection (PROCESSING_REQUIRED does not).
    disposition_final_types: tuple[str, ...] = ("RESTOCKED", "NOT_RESTOCKED", "MISSING")
    #: How a location is named to the mapping table: `name` (unique among a shop's active
    #: locations) or `id` (its global id, which survives a rename).
    location_key: str = "name"
    #: Where a line's condition comes from: `none` (Shopify grades nothing) or
    #: `disposition_type` (the type of its last final disposition stands for the grade,
    #: and the disposition mapping table is keyed by it).
    condition_source: str = "none"
    #: When the platform's authorised stage is done, so the ERP's return document is due:
    #: at the merchant's `approval` (a REQUESTED return awaits it, §4.2), or at the
    #: `request` (an integration that makes the return authorization as soon as asked).
    authorised_at: str = "approval"


def to_view(r: ShopifyReturn, settings: MappingSettings) -> tuple[PlatformView,
                                                                  list[PayloadProblem]]:
    """The view of one return, and what in it could not be read (a line with no SKU)."""
    created = as_utc(r.createdAt)
    assert created is not None
    ids = (r.name,)
    raw_ref = f"{SYSTEM}:{r.id}"
    stages: dict[Stage, StageView] = {Stage.AUTHORISED: _authorised(
        r, created, ids, settings.authorised_at)}
    dispositions = [(line.fulfillmentLineItem.lineItem.id if line.fulfillmentLineItem
                     else None, d)
                    for rfo in r.reverseFulfillmentOrders.nodes
                    for line in rfo.lineItems.nodes for d in line.dispositions]
    processed = sum(line.processedQuantity for line in r.returnLineItems.nodes)
    if dispositions:
        first = min(as_utc(d.createdAt) or created for _, d in dispositions)
        stages[Stage.RECEIVED] = StageView(status=StageStatus.DONE, at=first, record_ids=ids,
                                           detail="disposed")
    elif processed:
        stages[Stage.RECEIVED] = StageView(status=StageStatus.DONE, at=as_utc(
            r.closedAt or r.requestApprovedAt) or created, record_ids=ids, detail="processed")
    in_transit = _in_transit(r, Stage.RECEIVED in stages, ids)
    if in_transit is not None:
        stages[Stage.IN_TRANSIT] = in_transit
    inspected = _inspected(r, [d for _, d in dispositions], settings, ids)
    if inspected is not None:
        stages[Stage.INSPECTED] = inspected
    restocked, locations = _restocked(r, dispositions, settings, ids)
    conditions = _conditions(dispositions, settings)
    fates = _fates(r, dispositions, settings)
    # dispositions name the order's line item: where two return lines share one (two
    # fulfilments of it coming back), which line a unit's fate is cannot be told
    shared = Counter(line.fulfillmentLineItem.lineItem.id
                     for line in r.returnLineItems.nodes if line.fulfillmentLineItem)
    for shared_id, count in shared.items():
        if count > 1:
            fates.pop(shared_id, None)
    # processed units disposed MISSING ("expected but absent", §3.5) never arrived
    missing: dict[str, int] = {}
    for missing_id, d in dispositions:
        if missing_id is not None and d.type == "MISSING":
            missing[missing_id] = missing.get(missing_id, 0) + d.quantity
    if restocked is not None:
        stages[Stage.RESTOCKED] = restocked
    money_back = [(refund, t) for refund in r.refunds.nodes
                  for t in refund.transactions.nodes if t.kind == _REFUND]
    credited = _credited(r, money_back, ids)
    if credited is not None:
        stages[Stage.CREDITED] = credited
    exchanges = r.exchangeLineItems.nodes
    if exchanges:
        done = all(e.processedQuantity >= e.quantity for e in exchanges)
        stages[Stage.EXCHANGED] = StageView(
            status=StageStatus.DONE if done else StageStatus.PENDING,
            at=as_utc(r.closedAt) if done else None, record_ids=ids)
    lines: list[PlatformLine] = []
    problems: list[PayloadProblem] = []
    currency = r.order.currencyCode
    for line in r.returnLineItems.nodes:
        item = line.fulfillmentLineItem.lineItem if line.fulfillmentLineItem else None
        if item is None or not item.sku:
            problems.append(PayloadProblem(
                side=Side.PLATFORM, record_id=r.name, raw_ref=raw_ref,
                error=f"return line {line.id} ({line.typename}) has no SKU Shopify can "
                      "give: an unverified line or a product without one"))
            continue
        price = item.originalUnitPriceSet.shopMoney if item.originalUnitPriceSet else None
        currency = currency or (price.currencyCode if price else None)
        lines.append(PlatformLine(
            line_ref=line.id, sku=item.sku, quantity=Decimal(line.quantity),
            received_quantity=Decimal(max(0, line.processedQuantity - missing.get(
                item.id, 0))) if line.processedQuantity else None,
            reason=line.returnReason, location=locations.get(item.id),
            condition=conditions.get(item.id),
            restocked_quantity=fates[item.id][0] if item.id in fates else None,
            not_restocked_quantity=fates[item.id][1] if item.id in fates else None,
            unit_price=pad_cents(price.amount) if price else None))
    counted = [refund for refund in r.refunds.nodes
               if any(t.kind == _REFUND and (t.status == _SUCCESS or t.status in _ON_THE_WAY)
                      for t in refund.transactions.nodes)]
    fees = sum((f.amountSet.shopMoney.amount for f in r.returnShippingFees), Decimal(0))
    refund = _breakdown(counted, currency or "USD", fees) if counted else None
    method = next((t.gateway for _, t in money_back if t.status == _SUCCESS and t.gateway),
                  None)
    return PlatformView(
        system=SYSTEM, return_ref=r.name, order_ref=r.order.name,
        customer_email=r.order.email, created_at=created, lines=tuple(lines), refund=refund,
        refund_method=method if refund else None, currency=currency,
        fees=(Fee(type="return_shipping", amount=pad_cents(fees)),) if fees and refund
        else (), stages=stages, raw_ref=raw_ref,
    ), problems


def _authorised(r: ShopifyReturn, created: datetime, ids: tuple[str, ...],
                authorised_at: str = "approval") -> StageView:
    if r.status in _APPROVED:
        return StageView(status=StageStatus.DONE, at=as_utc(r.requestApprovedAt) or created,
                         record_ids=ids, detail=r.status)
    if r.status in _REFUSED:
        return StageView(status=StageStatus.FAILED, at=as_utc(r.closedAt) or created,
                         record_ids=ids, detail=r.status)
    if authorised_at == "request" and r.status == "REQUESTED":  # due from the request on
        return StageView(status=StageStatus.DONE, at=created, record_ids=ids, detail=r.status)
    return StageView(status=StageStatus.PENDING, at=created, record_ids=ids, detail=r.status)


def _inspected(r: ShopifyReturn, dispositions: list[Disposition],
               settings: MappingSettings, ids: tuple[str, ...]) -> StageView | None:
    if not dispositions:
        return None
    final = [d for d in dispositions if d.type in settings.disposition_final_types]
    expected = sum(line.totalQuantity for rfo in r.reverseFulfillmentOrders.nodes
                   for line in rfo.lineItems.nodes)
    if final and sum(d.quantity for d in final) >= expected:
        return StageView(status=StageStatus.DONE, at=max(as_utc(d.createdAt) or r.createdAt
                                                         for d in final),
                         record_ids=ids, detail=", ".join(sorted({d.type for d in final})))
    if not final:
        return None  # received, waiting to be processed: its inspection has not started
    return StageView(status=StageStatus.PENDING, record_ids=ids, detail="partly disposed")


def _in_transit(r: ShopifyReturn, received: bool, ids: tuple[str, ...]) -> StageView | None:
    """From the return's reverse deliveries (§3.5): a label, or a tracking number the
    customer gave for a parcel sent another way, means the parcel is on its way (from the
    first label's date; a tracking number has none, so from the approval). Shopify gives
    no carrier events: in transit until something is received or the return is closed.
    Neither: nothing to say (not started)."""
    if r.status in _REFUSED:
        return StageView(status=StageStatus.NOT_APPLICABLE, record_ids=ids, detail=r.status)
    shipped = [d.deliverable for rfo in r.reverseFulfillmentOrders.nodes
               for d in rfo.reverseDeliveries.nodes if d.deliverable is not None]
    labels = [at for d in shipped if d.label is not None
              and (at := as_utc(d.label.createdAt)) is not None]
    tracked = any(d.tracking is not None and d.tracking.number for d in shipped)
    first = min(labels, default=None) or (as_utc(r.requestApprovedAt) if tracked else None)
    if first is None:
        return None
    if received or r.status == "CLOSED":
        return StageView(status=StageStatus.DONE, at=first, record_ids=ids, detail="label")
    return StageView(status=StageStatus.PENDING, at=first, record_ids=ids,
                     detail="label created" if labels else "tracking given")


def _conditions(dispositions: list[tuple[str | None, Disposition]],
                settings: MappingSettings) -> dict[str, str]:
    """Per order line item id, the type of its last final disposition (when the profile
    lets it stand for the condition Shopify does not grade)."""
    if settings.condition_source != "disposition_type":
        return {}
    final = set(settings.disposition_final_types)
    out: dict[str, str] = {}
    for item, d in sorted(dispositions, key=lambda pair: pair[1].createdAt):
        if item and d.type in final:
            out[item] = d.type
    return out


def _fates(r: ShopifyReturn, dispositions: list[tuple[str | None, Disposition]],
           settings: MappingSettings) -> dict[str, tuple[Decimal, Decimal]]:
    """Per order line item id, the units Shopify's dispositions put back on sale
    (RESTOCKED) and those it decided not to (NOT_RESTOCKED), where the dispositions are
    the restock evidence (§3.5); summed per type, as the docs leave open whether an
    earlier PROCESSING_REQUIRED row is kept. MISSING units never arrived: neither."""
    evidence = settings.restock_evidence
    if not (evidence == "disposition" or (evidence == "disposition_then_refund_line"
                                          and bool(r.reverseFulfillmentOrders.nodes))):
        return {}
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for item, d in dispositions:
        if item is None:
            continue
        back, kept = out.get(item, (Decimal(0), Decimal(0)))
        if d.type == "RESTOCKED":
            back += d.quantity
        elif d.type == "NOT_RESTOCKED":
            kept += d.quantity
        out[item] = (back, kept)
    return out


def _restocked(r: ShopifyReturn, dispositions: list[tuple[str | None, Disposition]],
               settings: MappingSettings, ids: tuple[str, ...]
               ) -> tuple[StageView | None, dict[str, str]]:
    """The restocked stage and, per order line item id, where its units went back."""
    evidence = settings.restock_evidence
    by_disposition = evidence == "disposition" or (
        evidence == "disposition_then_refund_line" and bool(r.reverseFulfillmentOrders.nodes))
    # where each line's goods went: the location of its last disposition that names one
    # (a restock names where it went back on sale; others may name where they were kept)
    locations: dict[str, str] = {}
    for item, d in sorted(dispositions, key=lambda pair: pair[1].createdAt):
        if item and d.location is not None:
            locations[item] = _location(d.location, settings)
    if by_disposition:
        restocked = [(item, d) for item, d in dispositions if d.type == "RESTOCKED"]
        if not restocked:
            return None, locations
        return StageView(status=StageStatus.DONE, at=min(as_utc(d.createdAt) or r.createdAt
                                                         for _, d in restocked),
                         record_ids=ids, detail="RESTOCKED"), locations
    lines = [(refund, line) for refund in r.refunds.nodes
             for line in refund.refundLineItems.nodes
             if line.restockType in _RESTOCK_TYPES and line.restocked]
    for _, line in lines:
        if line.location is not None and line.lineItem.id not in locations:
            locations[line.lineItem.id] = _location(line.location, settings)
    if not lines:
        return None, locations
    return StageView(status=StageStatus.DONE, at=min(_when(refund) or r.createdAt
                                                     for refund, _ in lines),
                     record_ids=ids, detail="refund restock"), locations


def _credited(r: ShopifyReturn, money_back: list[tuple[Refund, Transaction]],
              ids: tuple[str, ...]) -> StageView | None:
    done = [(refund, t) for refund, t in money_back if t.status == _SUCCESS]
    if done:
        return StageView(status=StageStatus.DONE,
                         at=max(as_utc(t.processedAt) or _when(refund) or r.createdAt
                                for refund, t in done),
                         record_ids=tuple(refund.id for refund, _ in done), detail="REFUND")
    if any(t.status in _ON_THE_WAY for _, t in money_back):
        return StageView(status=StageStatus.PENDING, record_ids=ids, detail="refund pending")
    if r.status == "CLOSED":
        # closed with no money back: "marked as returned" (§4.2), nothing is owed
        return StageView(status=StageStatus.NOT_APPLICABLE, record_ids=ids,
                         detail="closed without a refund")
    return None


def _when(refund: Refund) -> datetime | None:
    return as_utc(refund.processedAt or refund.createdAt)


def _breakdown(refunds: Iterable[Refund], currency: str, fees: Decimal) -> MoneyBreakdown:
    items = tax = shipping = Decimal(0)
    for refund in refunds:
        for line in refund.refundLineItems.nodes:
            items += line.subtotalSet.shopMoney.amount
            tax += line.totalTaxSet.shopMoney.amount
        for ship in refund.refundShippingLines.nodes:
            shipping += ship.subtotalAmountSet.shopMoney.amount
            tax += ship.taxAmountSet.shopMoney.amount
    return MoneyBreakdown(currency=currency, items=pad_cents(items), tax=pad_cents(tax),
                          shipping=pad_cents(shipping), fees=pad_cents(fees))


def _location(location: Place, settings: MappingSettings) -> str:
    if settings.location_key == "id":
        return str(location.id)
    return str(location.name or location.id)

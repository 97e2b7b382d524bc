"""A validated Swap return as the canonical PlatformView (docs/swap-bc-mapping.md).

`ViewMaker` is made once per page (or per record parsed alone) from the connector's
settings: what a return type does with money, the inspected statuses and the instant-credit
types are worked out there once, not again for every return, product and stage. Settings
are read when a maker is made, so a change to them counts from the next page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ...connectors.validation import as_utc
from ...domain.codes import Stage, StageStatus
from ...domain.model import Address, Fee, PlatformLine, PlatformView, StageView
from ...domain.money import MoneyBreakdown, pad_cents
from .records import SwapAddress, SwapReturn

if TYPE_CHECKING:
    from .connector import SwapSettings

SYSTEM = "swap"
#: A unit price worked out from a line total keeps five decimals (as ERPs hold prices).
UNIT_PRICE = Decimal("0.00001")
_NO_FEE = Decimal("0.00")
_FAILED = ("Cancelled", "Expired")
#: Stage views that are the same for every return are made once (they are frozen).
_DELIVERED = StageView(status=StageStatus.DONE, detail="Delivered")


class ViewMaker:
    """Swap records → PlatformViews under one set of settings (see the module docstring)."""

    __slots__ = ("_by_text", "_default_location", "_exchange", "_instant", "_kinds",
                 "_pending", "_qc_done", "_refund", "_uncredited")

    def __init__(self, settings: SwapSettings) -> None:
        self._refund = frozenset(t.casefold() for t in settings.refund_types)
        self._exchange = frozenset(t.casefold() for t in settings.exchange_types)
        self._instant = frozenset(t.casefold() for t in settings.instant_credit_types)
        self._qc_done = frozenset(settings.qc_done)
        self._pending = frozenset(settings.pending_statuses)
        self._default_location = settings.default_location
        self._by_text = settings.reason_key == "main_reason_text"
        self._kinds: dict[str, str] = {}
        self._uncredited: dict[str, StageView] = {}

    def kind(self, return_type: str) -> str:
        """What a return type does with money: `refund`, `exchange` or `none`."""
        found = self._kinds.get(return_type)
        if found is None:
            folded = return_type.strip().casefold()
            found = ("refund" if folded in self._refund else
                     "exchange" if folded in self._exchange else "none")
            self._kinds[return_type] = found
        return found

    def _not_credited(self, record_type: str) -> StageView:
        """The stage of a return nothing is paid back on: one (frozen) view per type."""
        found = self._uncredited.get(record_type)
        if found is None:
            found = self._uncredited[record_type] = StageView(
                status=StageStatus.NOT_APPLICABLE, detail=record_type)
        return found

    def __call__(self, r: SwapReturn) -> PlatformView:
        kind = self.kind
        created = as_utc(r.date_created)
        updated = as_utc(r.date_updated) or created
        # A stage Swap says is done without its date happened by the last update at the
        # latest: without a time, no grace period could ever run out.
        delivered = as_utc(r.delivered_date) or updated
        closed = as_utc(r.date_closed) or updated
        types = r.type or r.type_string
        record_type = types[0] if types else "Refund"
        for t in types:
            if kind(t) == "refund":
                record_type = t
                break
        # Each product is paid back, replaced, or neither (Recycle, Warranty): its own
        # return_type, else the return's.
        products = r.products
        kinds = [kind(p.return_type or record_type) for p in products]
        refunded = [p for p, k in zip(products, kinds, strict=True) if k == "refund"] \
            if "refund" in kinds else []
        exchange = "exchange" in kinds or bool(r.exchange_items) or any(
            kind(t) == "exchange" for t in types)
        qc_status = r.quality_control_status
        inspected = (qc_status or "") in self._qc_done
        ids = (str(r.return_id),) if r.return_id else (r.rma_number,)
        processed = r.rma_processed
        status = r.return_status
        failed = status in _FAILED
        said = StageStatus.FAILED if failed else \
            StageStatus.PENDING if status in self._pending else StageStatus.DONE
        stages: dict[Stage, StageView] = {Stage.AUTHORISED: StageView(
            status=said, at=created, record_ids=ids, detail=status)}
        if r.delivery_status == "In-Transit":
            stages[Stage.IN_TRANSIT] = StageView(status=StageStatus.PENDING, at=updated,
                                                 detail="In-Transit")
        elif r.delivery_status == "Delivered":
            stages[Stage.IN_TRANSIT] = _DELIVERED
            stages[Stage.RECEIVED] = StageView(status=StageStatus.DONE, at=delivered,
                                               record_ids=ids, detail="Delivered")
        if inspected:
            stages[Stage.INSPECTED] = StageView(
                status=StageStatus.DONE, at=delivered if processed else updated,
                detail=qc_status)
        if exchange and processed:
            stages[Stage.EXCHANGED] = StageView(status=StageStatus.DONE, at=closed,
                                                record_ids=ids)
        refund_type = next((p.return_type for p in refunded if p.return_type), None) \
            or (record_type if kind(record_type) == "refund" else "Refund")
        if not refunded:
            # Nothing is paid back (an exchange, Recycle): no credit note is owed.
            stages[Stage.CREDITED] = self._not_credited(record_type)
        elif processed:
            stages[Stage.CREDITED] = StageView(status=StageStatus.DONE, at=closed,
                                               record_ids=ids, detail=refund_type)
        elif not failed and refund_type.casefold() in self._instant:
            stages[Stage.CREDITED] = StageView(status=StageStatus.DONE, at=created,
                                               record_ids=ids, detail=refund_type)
        currency = (r.customer_currency or next((p.currency for p in products if p.currency),
                                                None) or "GBP").upper()
        destination, fallback = self._destinations(r)
        by_text = self._by_text
        lines = []
        items = Decimal(0)
        for n, (p, line_kind) in enumerate(zip(products, kinds, strict=True), start=1):
            quantity = Decimal(p.item_count)
            # `cost` is the line's total; tax-inclusive prices carry their tax inside it.
            total = None if p.cost is None else p.cost - (p.refunded_inclusive_taxes or 0)
            cost = None if total is None or not quantity else pad_cents(
                (total / quantity).quantize(UNIT_PRICE).normalize())
            if total is not None and line_kind == "refund":
                items += total
            location = fallback
            if destination:
                for key in (p.product_id, p.shopify_line_item_id, p.sku):
                    if key and key in destination:
                        location = destination[key]
                        break
            lines.append(PlatformLine(
                line_ref=p.product_id or f"{r.rma_number}-{n}", sku=p.sku, quantity=quantity,
                reason=p.main_reason_text if by_text else p.main_reason_id,
                condition=p.intake_reason if inspected else None,
                location=location, unit_price=cost,
            ))
        fee = pad_cents(r.handling_fee or Decimal(0)) if refunded else _NO_FEE
        refund = MoneyBreakdown(
            currency=currency, items=pad_cents(items),
            tax=pad_cents(r.total_refunded_taxes or Decimal(0)), fees=fee) if refunded else None
        return PlatformView(
            system=SYSTEM, return_ref=r.rma_number, order_ref=r.shopify_order_name or None,
            customer_email=r.customer_email, customer_name=r.customer_name,
            customer_address=_address(r.billing_address), created_at=created,
            lines=tuple(lines), refund=refund,
            refund_method=refund_type if refunded else None, currency=currency,
            fees=(Fee(type="handling_fee", amount=fee),) if fee else (),
            stages=stages, raw_ref=f"swap:{r.rma_number}",
        )

    def _destinations(self, r: SwapReturn) -> tuple[dict[str, str], str | None]:
        """Where each product's goods go (by product id, line item id or SKU), and where
        the rest go: the one destination the shipments name, else the profile's. With one
        destination (the usual case) every product goes there: no per-product table."""
        shipments = r.return_shipments
        if len(shipments) == 1:  # the usual case
            only = shipments[0].destination_location_id
            return {}, self._default_location if only is None else only
        named = {s.destination_location_id for s in shipments
                 if s.destination_location_id is not None}
        if len(named) < 2:
            return {}, next(iter(named)) if named else self._default_location
        destination: dict[str, str] = {}
        for shipment in shipments:
            if shipment.destination_location_id is None:
                continue
            for item in shipment.items:
                for key in (item.product_id, item.shopify_line_item_id, item.sku):
                    if key:
                        destination.setdefault(key, shipment.destination_location_id)
        return destination, self._default_location


def _address(found: SwapAddress | None) -> Address | None:
    """v2's billing address (v1 sends none), kept only when it says something."""
    if found is None:
        return None
    address = Address(line1=found.address1 or None, line2=found.address2 or None,
                      town=found.city or None, postcode=found.postcode or None,
                      region=found.state_province_code or None,
                      country=(found.country_code or "").upper() or None)
    return address if any((address.line1, address.town, address.postcode)) else None

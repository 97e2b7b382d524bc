"""What the returns feed offers Khaos (`CReturnDownload`, docs/vendors/khaos-control.md
§5.5): the platform's approved returns as `CustomerReturn` objects, each once, and again
only when Khaos asks for it again (`SpecificIDs`) or never received our answer.

Money is sacred: an offered return moves nothing until a person in Khaos processes it,
unless the profile asks Khaos to process it on import (`process_return=when_received`),
and then only once the platform has the goods back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ...domain.codes import Stage, StageStatus
from ...domain.model import Address, PlatformView
from ...domain.reference import Mappings
from .options import KhaosOptions


@dataclass(frozen=True, slots=True)
class OfferedLine:
    sku: str
    code: str
    quantity: Decimal
    reason: str
    #: How Khaos finds the item from `code` (a MappingType, KC §4).
    mapping: str = "StockCode"


@dataclass(frozen=True, slots=True)
class Offer:
    """One return as the feed offers it (what the served record keeps)."""

    ref: str
    order_ref: str | None
    created: datetime
    lines: tuple[OfferedLine, ...]
    process: bool
    customer_name: str | None = None
    customer_email: str | None = None
    address: Address | None = None

    def record(self) -> dict[str, Any]:
        """What the served record keeps of it (the fold builds Khaos's side from this)."""
        return {"ref": self.ref, "order_ref": self.order_ref or "",
                "created": self.created.isoformat(), "process": self.process,
                "lines": [{"sku": ln.sku, "code": ln.code, "quantity": str(ln.quantity),
                           "reason": ln.reason, "mapping": ln.mapping} for ln in self.lines]}


@dataclass(slots=True)
class Selection:
    offers: list[Offer] = field(default_factory=list)
    #: Approved returns not offered, with why (said by the check: nothing is silent).
    held: dict[str, str] = field(default_factory=dict)


def offerable(views: list[PlatformView], options: KhaosOptions, mappings: Mappings,
              now: datetime, start: datetime | None = None) -> Selection:
    """Every approved return of the window, as offers or held with a reason."""
    since = now - timedelta(days=options.feed_days)
    if start is not None and start > since:
        since = start
    out = Selection()
    for view in views:
        approved = view.stage(Stage.AUTHORISED)
        if approved.status is not StageStatus.DONE:
            continue  # requested, rejected or cancelled: nothing for Khaos to import
        created = approved.at or view.created_at
        if created is None or created < since or created > now:
            continue
        offer, why = _offer(view, created, options, mappings)
        if offer is None:
            out.held[view.return_ref] = why
        else:
            out.offers.append(offer)
    out.offers.sort(key=lambda o: (o.created, o.ref))
    return out


def _offer(view: PlatformView, created: datetime, options: KhaosOptions,
           mappings: Mappings) -> tuple[Offer | None, str]:
    if len(view.return_ref) > 50:
        return None, "its reference is longer than an AssociatedRef takes (50)"
    lines = []
    for line in view.lines:
        if line.quantity <= 0:
            continue
        mapped = mappings.sku(line.sku)
        code = mapped.item_no if mapped is not None else None
        if not code:
            return None, f"SKU {line.sku} maps to no Khaos item"
        reason = _reason(line.reason, options, mappings)
        if reason is None and not line.reason:
            return None, ("a line has no return reason, and Khaos needs one (set the "
                          "profile's `default_reason_id`)")
        if reason is None:
            return None, (f"reason {line.reason!r} maps to no Khaos return reason id (map it "
                          "with `act remap-code reason`)")
        factor = mapped.factor if mapped is not None else Decimal(1)
        way = (mapped.match_by if mapped is not None else None) or options.sku_mapping
        lines.append(OfferedLine(line.sku, code, line.quantity * factor, reason, way))
    if not lines:
        return None, "it has no line with a quantity"
    back = view.stage(Stage.RECEIVED)
    # a dated receipt: a platform that infers receipt from a refund (undated) is not enough
    # for Khaos to move stock
    received = back.status is StageStatus.DONE and back.at is not None
    process = options.process_return == "when_received" and received
    return Offer(view.return_ref, view.order_ref, created, tuple(lines), process,
                 view.customer_name, view.customer_email, view.customer_address), ""


def _reason(reason: str | None, options: KhaosOptions, mappings: Mappings) -> str | None:
    """The `reason` mapping table's id, else `default_reason_id`, else (where the table
    falls back to the platform's own words) the platform's reason; with `reason_ids` given,
    only one of those."""
    known = set(options.reason_ids)
    for candidate in (mappings.reasons.get(reason) if reason else None,
                      options.default_reason_id or None,
                      reason if mappings.identity_fallback else None):
        if candidate and (not known or candidate in known):
            return candidate
    return None


def customer_return(offer: Offer, options: KhaosOptions, note: str) -> dict[str, Any]:
    """The `CustomerReturn` object (§5.5; the sample's shape, §9 S3), with no null."""
    forename, _, surname = (offer.customer_name or "").strip().partition(" ")
    contact: dict[str, Any] = {"Forename": forename, "Surname": surname}
    if offer.customer_email:
        contact["Email"] = offer.customer_email
    items = []
    for line in offer.lines:
        item: dict[str, Any] = {
            "SKU": line.code,
            "Mapping": [{"Mapping": line.mapping}],
            "Quantity": float(line.quantity),
            "ReturnReason": {"ID": line.reason},
            "ExtendedDescription": [],
        }
        if offer.order_ref:
            item["SourceReturnReference"] = {"SourceOrder": {"AssociatedRef": offer.order_ref}}
        items.append(item)
    return {
        "AssociatedRef": offer.ref,
        "CreatedDate": offer.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "URN": options.urn,
        "InvoiceAddress": _address(offer.address, options),
        "InvoiceContact": contact,
        "ReturnedItems": items,
        "Notes": note,
        "ProcessReturn": offer.process,
    }


def _address(address: Address | None, options: KhaosOptions) -> dict[str, Any]:
    """The kcc README's Address: Line1, Town and Country required, blank strings where the
    platform says nothing (never a null, §4); the profile's `country` when it names none."""
    a = address or Address()
    # only the fields the documented sample names (§9 S3): a second line or a region has
    # no field there, so none is guessed
    return {"Line1": a.line1 or "", "Town": a.town or "", "Postcode": a.postcode or "",
            "Country": {"Code": a.country or options.country}}


__all__ = ["Offer", "OfferedLine", "Selection", "customer_return", "offerable"]

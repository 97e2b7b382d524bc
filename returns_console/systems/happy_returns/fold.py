"""Happy Returns' deliveries and look-ups → one PlatformView per return
(docs/vendors/happy-returns.md §4.2, §5, §9; docs/happy-returns-mapping.md).

A return.asn delivery is a return's state for one order number, not a diff: its items
replace that order's items, its primary event (the latest status first, then the older ones
in `otherEvents`) moves the return's status forward only (started < dropped off < approved;
expired only before approval: U13). Nothing in a payload says when it happened (§4.4): an
event is dated by when its delivery arrived. A look-up answer is read the same way, undated.
Happy Returns' payloads carry no money (§5.5): a view has no refund amounts; a return
approved for a refund counts as refunded (option `approved_credits`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ...domain.codes import Side, Stage, StageStatus
from ...domain.model import PayloadProblem, PlatformLine, PlatformView, StageView

SYSTEM = "happy_returns"
#: The status a typeID stands for (U10: only `started` is in the docs; the others by the
#: words the docs use for them: dropped off, approved for a refund, expired).
RANK = {"started": 1, "dropped_off": 2, "approved": 3}
#: `orderLineItemID` suffixed with the unit's offset and the line's refundable quantity (§9).
_SUFFIX = re.compile(r"^(.*)-(\d{1,9})-(\d{1,9})$")
#: Words that turn a status around ("not approved", "approval rejected"): never guessed.
_AGAINST = ("not", "partial", "reject", "fail", "cancel", "denied", "declin", "un")


def status_of(type_id: str) -> str | None:
    """A status typeID as the console's word for it; None when it is none it knows (U10:
    only `started` is documented; the others by the docs' words, and only where nothing
    in the value turns them around)."""
    text = type_id.strip().casefold()
    if text == "started":
        return "started"
    words = re.split(r"[^a-z]+", text)
    if any(w.startswith(a) for w in words for a in _AGAINST):
        return None
    if "drop" in text:
        return "dropped_off"
    if "approv" in text:
        return "approved"
    if "expir" in text:
        return "expired"
    return None


@dataclass(frozen=True, slots=True)
class Settings:
    retailer_id: str = ""
    link_ref: str = "auto"
    approved_credits: bool = True


@dataclass(slots=True)
class Return:
    """What the deliveries said of one return, folded in arrival order."""

    return_id: str
    express: str | None = None
    external: str | None = None
    #: Items by order number (each delivery replaces its order's).
    items: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    status: str | None = None
    #: When each status was first seen (its delivery's arrival; None from a look-up).
    seen: dict[str, datetime | None] = field(default_factory=dict)
    dropoff: str | None = None
    first: datetime | None = None
    labels: list[str] = field(default_factory=list)
    #: A return.label.update was delivered for it.
    labelled: bool = False
    unknown: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def fold(deliveries: Sequence[Mapping[str, Any]], return_id: str) -> Return:
    """The deliveries kept for one return (each `{"received_at", "body"}`), in arrival
    order, as what they say together."""
    out = Return(return_id)
    for kept in deliveries:
        if not isinstance(kept, Mapping):
            continue
        body = kept.get("body")
        if not isinstance(body, Mapping):
            continue
        at = _when(kept.get("received_at"))
        if out.first is None and at is not None:
            out.first = at
        if kept.get("source") == "lookup":  # asked by its express code (U6)
            out.express = _text(body.get("happyReturnsExpressCode")) or out.express
        if body.get("webhookType") == "return.label.update" or str(
                body.get("event", "")).startswith("return_label_"):
            out.express = _text(body.get("happyReturnsExpressCode")) or out.express
            out.labelled = True
            label = _text(body.get("labelID"))
            if label and label not in out.labels:
                out.labels.append(label)
            continue
        listed = body.get("items")
        items = [i for i in (listed if isinstance(listed, list) else ())
                 if isinstance(i, Mapping) and _text(i.get("happyReturnsReturnID")) == return_id]
        for item in items:
            out.express = _text(item.get("happyReturnsExpressCode")) or out.express
            out.external = _text(item.get("externalRMAID")) or out.external
        by_order: dict[str, list[Mapping[str, Any]]] = {}
        for item in items:  # each order's items replace that order's (§4.2)
            by_order.setdefault(_text(item.get("orderNumber")) or "", []).append(item)
        out.items.update(by_order)
        others = body.get("otherEvents")
        events = [e for e in (others if isinstance(others, list) else ())
                  if isinstance(e, Mapping)]
        # otherEvents newest first (§4.2): oldest first, then the primary one
        for event in [*reversed(events), body]:
            _apply(out, str(event.get("event") or ""), str(event.get("typeID") or ""), at)
        if kept.get("status"):  # a look-up's own status field (its shape is unknown, U8)
            _apply(out, "return_status_updated", str(kept["status"]), at)
    return out


def _apply(state: Return, event: str, type_id: str, at: datetime | None) -> None:
    if event == "return_dropoff_method_created":
        state.dropoff = type_id or state.dropoff
        return
    if event != "return_status_updated" or not type_id:
        return
    status = status_of(type_id)
    if status is None:
        if type_id not in state.unknown:
            state.unknown.append(type_id)
        return
    now = RANK.get(state.status or "", 0)
    if status == "expired":
        if state.status == "approved":
            return  # approved items stay approved (U13)
    elif state.status == "expired" or RANK[status] < now:
        return  # never moved back by a delivery that arrived late
    state.status = status
    state.seen.setdefault(status, at)
    if status == "approved":  # dropped off before it could be approved
        state.seen.setdefault("dropped_off", at)


def view(state: Return, settings: Settings) -> tuple[PlatformView | None, list[PayloadProblem]]:
    """The return as a view, or the problems that keep it from being one."""
    ref, aliases = _refs(state, settings.link_ref)
    raw_ref = f"{SYSTEM}:return:{state.return_id}"
    items = [i for order in sorted(state.items) for i in state.items[order]]
    if not items:
        if state.labelled and not state.seen:
            # only its label so far: nothing to show yet, and nothing wrong; a look-up by
            # its express code finds it if the return.asn never comes
            return None, []
        return None, [PayloadProblem(side=Side.PLATFORM, record_id=ref, stage=Stage.AUTHORISED,
                                     error="no item of this return was delivered",
                                     raw_ref=raw_ref)]
    lines: dict[str, dict[str, Any]] = {}
    problems = []
    for n, item in enumerate(items):
        sku = _text(item.get("sku"))
        line = _text(item.get("orderLineItemID")) or f"item-{n}"
        found = _SUFFIX.match(line)
        if found and int(found.group(2)) < int(found.group(3)):
            line = found.group(1)
        if sku is None:
            problems.append(PayloadProblem(
                side=Side.PLATFORM, record_id=ref, stage=Stage.AUTHORISED, raw_ref=raw_ref,
                error=f"items[{n}].sku: an item with no SKU (orderLineItemID {line})"))
            continue
        entry = lines.setdefault(f"{line}|{sku}", {"line": line, "sku": sku, "quantity": 0,
                                                    "reason": _text(item.get("returnReasonID"))})
        entry["quantity"] += 1
    if problems:
        return None, problems
    first = items[0]
    counted = state.status == "approved" or (
        state.dropoff == "return-bar" and "dropped_off" in state.seen)
    view = PlatformView(
        system=SYSTEM, return_ref=ref, aliases=aliases,
        order_ref=_text(first.get("orderNumber")), customer_email=_text(first.get("email")),
        created_at=state.first,
        lines=tuple(PlatformLine(line_ref=e["line"], sku=e["sku"],
                                 quantity=Decimal(e["quantity"]), reason=e["reason"],
                                 # each unit checked: verified at a Return Bar or approved
                                 received_quantity=Decimal(e["quantity"]) if counted else None)
                    for e in lines.values()),
        stages=_stages(state, settings), raw_ref=raw_ref)
    return view, []


def _refs(state: Return, link_ref: str) -> tuple[str, tuple[str, ...]]:
    """The return's reference and its other ids (auto: the express code first, U22)."""
    known = {"happyReturnsExpressCode": state.express, "externalRMAID": state.external,
             "happyReturnsReturnID": state.return_id}
    if link_ref != "auto":
        main = known[link_ref] or state.return_id
        return main, tuple(v for v in known.values() if v and v != main)
    order = [state.express, state.external, state.return_id]
    present = [v for v in order if v]
    return present[0], tuple(dict.fromkeys(present[1:]))


def _stages(state: Return, settings: Settings) -> dict[Stage, StageView]:
    done = StageStatus.DONE
    out = {Stage.AUTHORISED: StageView(status=done, at=state.first, detail="started")}
    if state.status == "expired":
        na = StageView(status=StageStatus.NOT_APPLICABLE, detail="expired")
        out[Stage.AUTHORISED] = StageView(status=StageStatus.FAILED, at=state.seen.get(
            "expired"), detail="expired")
        return {**out, Stage.IN_TRANSIT: na, Stage.INSPECTED: na, Stage.CREDITED: na}
    if "dropped_off" in state.seen:
        at = state.seen["dropped_off"]
        out[Stage.IN_TRANSIT] = StageView(status=done, at=at,
                                          detail=f"dropped off ({state.dropoff or '?'})")
        if state.dropoff == "return-bar":  # the associate verifies each item (rs:return-bar)
            out[Stage.INSPECTED] = StageView(status=done, at=at, detail="verified at drop-off")
    if state.status == "approved":
        at = state.seen.get("approved")
        out.setdefault(Stage.INSPECTED, StageView(status=done, at=at, detail="approved"))
        if settings.approved_credits:
            out[Stage.CREDITED] = StageView(status=done, at=at,
                                            detail="approved for a refund (refund initiated)")
    return out


def return_ids(body: Mapping[str, Any]) -> Iterable[str]:
    """The returns a delivery or look-up answer speaks of."""
    found = _text(body.get("happyReturnsReturnID"))
    if found:
        yield found
    listed = body.get("items")
    for item in listed if isinstance(listed, list) else ():
        if isinstance(item, Mapping) and (rid := _text(item.get("happyReturnsReturnID"))):
            yield rid

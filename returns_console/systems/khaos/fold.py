"""Khaos's side of each return, from what the inbox holds: what the feed served and Khaos
took or asked for again, the stock items and levels Khaos pushed, the order statuses it
pushed (docs/khaos-mapping.md says which stage each shows, and how surely).

- authorised: the return was served and Khaos has not asked for it again (`SpecificIDs`
  names what failed to import, §4); served in an answer Khaos never received (its next
  pull sends an older `Sirion-Continuation`) it was not served at all.
- received: the item's Available level rose at a returns site after the return was taken,
  rises shared out among the returns of that item first taken, first served. A purchase
  receipt rises too: the docs say nothing that tells them apart (`receipt_evidence`).
- inspected, credited, restocked: nothing the channel sends shows them (not applicable:
  never a missing document); exchanged only with `exchange_evidence=order_status`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ...connectors.base import OWN_TOPIC_PREFIX, ErpBatch, InboxEvent
from ...domain.catalogue import hidden
from ...domain.codes import Code, Stage, StageStatus
from ...domain.model import CreditNote, ErpLine, ErpView, StageView
from ...domain.reference import ErpMaster, Item
from ...visible import visible
from . import protocol as wire
from .exports import Exports, read_exports
from .options import KhaosOptions

SYSTEM = "khaos"
#: The topic of what `listen` served on the returns feed (kept as our own record).
SERVED = wire.RETURNS
#: The console's own instruction, kept in the inbox by a re-queue: offer this return again
#: (docs/khaos-mapping.md, Actions).
REOFFER = f"{OWN_TOPIC_PREFIX}reoffer"
AFTER_ALL = 1 << 62
NA = StageView(status=StageStatus.NOT_APPLICABLE)
#: What to do in Khaos where the console writes nothing (the channel offers returns only
#: through its feed; a return Khaos refused is asked for again by Khaos itself).
INSTEAD = {
    "RETURN_ORDER_MISSING": "In Khaos Control Cloud, look under Notifications > Feedback "
    "for why the channel's import of this return failed (an item, the customer account, a "
    "return reason it does not know); fix that, and Khaos asks for the return again.",
    "ORDER_REF_MISSING": "Khaos imports a return's references once and no call changes "
    "them: correct the order number on the platform (the feed offers a return as the "
    "platform has it; re-queue it if Khaos refused it), or on the return in Khaos Control.",
    "ERP_RECORD_UNLINKED": "Correct the Associated Ref on the credit note in Khaos Control "
    "(no call changes it), then export the credit notes again.",
    "EXTERNAL_REF_CONFLICT": "Correct the Associated Ref on the credit note in Khaos Control "
    "(no call changes it), then export the credit notes again.",
    "CREDIT_NOTE_MISSING": "In Khaos Control, credit the return as you process it (Returns "
    "> Process); the channel cannot create a credit note.",
    "RECEIPT_NOT_POSTED": "In Khaos Control, process the return once its goods are there "
    "(Returns > Process, with a Return to Stock reason): stock goes back then.",
    "QUANTITY_MISMATCH.received": "In Khaos Control, check the return's lines against what "
    "came back, and adjust the stock of the item at the returns site.",
}
#: Facts the channel never gives (catalogue.HIDDEN_BY): always hidden.
ALWAYS_HIDDEN = frozenset({
    "erp_without_customers", "erp_without_periods",
    "erp_without_locations", "erp_without_dispositions", "erp_without_units",
    "erp_without_order_state", "erp_without_own_records",
})


@dataclass(slots=True)
class Served:
    """One answer of the returns feed, as `listen` recorded it."""

    at: datetime
    offers: dict[str, dict[str, Any]]
    asked: list[str]
    continuation_in: str
    continuation_out: str
    held: dict[str, str] = field(default_factory=dict)
    #: What the platform said of the goods, by return: (kind, when), the kind `received`
    #: (back at the retailer), `refunded` (back by then: a platform that infers receipt
    #: from the refund) or `sent` (handed to the carrier): what tells whose goods a stock
    #: rise is when several returns of one item wait.
    received: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    #: Its place in the inbox (instructions to offer a return again are ordered by it);
    #: the request being answered comes after everything kept.
    seq: int = AFTER_ALL
    #: The newest answer recorded when the pull arrived: answers recorded after it (two
    #: pulls at once) were sent after Khaos made this pull, which says nothing of them.
    #: None: not recorded (an older version's record), taken as after every earlier one.
    arrived_after: int | None = None


@dataclass(slots=True)
class Fed:
    """What became of one return on the feed."""

    offer: dict[str, Any]
    first_at: datetime
    last_at: datetime
    #: What the platform said of the goods, by kind (as later answers recorded it).
    back: dict[str, datetime] = field(default_factory=dict)

    def evidence(self) -> tuple[str, datetime] | None:
        """The platform's best word on when the goods came back (kind, when)."""
        return next(((k, self.back[k]) for k in KINDS if k in self.back), None)
    #: When Khaos last asked for it again (its import failed), and how often. Sticky:
    #: nothing the channel sends says a later try worked (docs/khaos-mapping.md).
    asked_at: datetime | None = None
    asked: int = 0


def served_record(at: datetime, offers: list[dict[str, Any]], asked: list[str],
                  continuation_in: str, continuation_out: str,
                  held: dict[str, str], received: dict[str, tuple[str, datetime]],
                  arrived_after: int | None = None) -> bytes:
    """The body of the inbox event `listen` keeps for one answer of the feed."""
    doc: dict[str, Any] = {"at": at.isoformat(), "offers": offers, "asked": asked,
                           "continuation_in": continuation_in,
                           "continuation_out": continuation_out, "held": held,
                           "received": {k: [kind, at.isoformat()]
                                        for k, (kind, at) in received.items()}}
    if arrived_after is not None:
        doc["arrived_after"] = arrived_after
    return json.dumps(doc, sort_keys=True).encode()


def served(events: Sequence[InboxEvent], unreadable: list[datetime] | None = None
           ) -> list[Served]:
    """The feed's answers as recorded; when those that do not read matter (`unreadable`
    given), their arrival times are added to it."""
    out = []
    for event in events:
        if event.topic != SERVED:
            continue
        try:
            doc = json.loads(event.body)
            out.append(Served(
                at=datetime.fromisoformat(doc["at"]),
                offers={o["ref"]: o for o in doc.get("offers", [])},
                asked=[str(a) for a in doc.get("asked", [])],
                continuation_in=str(doc.get("continuation_in", "")),
                continuation_out=str(doc.get("continuation_out", "")),
                held={str(k): str(v) for k, v in dict(doc.get("held", {})).items()},
                received={str(k): _said(v) for k, v in dict(doc.get("received", {})).items()},
                seq=event.seq or 0,
                arrived_after=_whole(doc.get("arrived_after"))))
        except (ValueError, KeyError, TypeError):
            # our own record, written by another version or damaged: not evidence, and
            # what it served may be offered again (said by the check)
            if unreadable is not None:
                unreadable.append(event.received_at)
            continue
    return out


#: The kinds of the platform's word on the goods, best first.
KINDS = ("received", "refunded", "sent")


def _said(value: Any) -> tuple[str, datetime]:
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), datetime.fromisoformat(value[1])
    return "received", datetime.fromisoformat(value)


def next_pull(records: Sequence[Served], n: int) -> Served | None:
    """The first pull Khaos made after answer `n` was sent (a pull that arrived while it was
    being answered, two at once, is not one)."""
    rec = records[n]
    for later in records[n + 1:]:
        if later.arrived_after is None or later.arrived_after >= rec.seq:
            return later
    return None


def lost_flags(records: Sequence[Served]) -> list[bool]:
    """Per answer, whether it never reached Khaos. Khaos echoes the continuation of the
    last answer it received: an older one means this answer was lost on the way (its
    returns were never seen); a pull that sends none says nothing either way. Linear in
    the answers (the inbox holds every one ever served)."""
    flags = []
    before: set[str] = set()  # continuations we sent before the answer looked at
    for n, rec in enumerate(records):
        later = next_pull(records, n)
        flags.append(later is not None and bool(later.continuation_in)
                     and later.continuation_in != rec.continuation_out
                     and (later.continuation_in == rec.continuation_in
                          or later.continuation_in in before))
        before.add(rec.continuation_out)
    return flags


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def reoffers(events: Sequence[InboxEvent]) -> list[tuple[int, str]]:
    """The re-queues kept in the inbox: (its place, the AssociatedRef to offer again)."""
    out = []
    for event in events:
        if event.topic != REOFFER:
            continue
        try:
            ref = json.loads(event.body)["ref"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(ref, str) and ref:
            out.append((event.seq or 0, ref))
    return sorted(out)


def _reoffered(again: Sequence[tuple[int, str]], upto: int, done: int) -> tuple[list[str], int]:
    """The refs offered again before `upto` (the instructions from `done` on)."""
    refs = []
    while done < len(again) and again[done][0] < upto:
        refs.append(again[done][1])
        done += 1
    return refs, done


def lost_offers(records: Sequence[Served],
                again: Sequence[tuple[int, str]] = ()) -> dict[str, int]:
    """Per AssociatedRef, how many answers that carried it never reached Khaos (by the
    continuation it echoed next), counted since it was last re-queued."""
    out: dict[str, int] = {}
    done = 0
    lost = lost_flags(records)
    for n, rec in enumerate(records):
        refs, done = _reoffered(again, rec.seq, done)
        for ref in refs:
            out.pop(ref, None)
        if lost[n]:
            for ref in rec.offers:
                out[ref] = out.get(ref, 0) + 1
    return out


def feed_state(records: Sequence[Served],
               again: Sequence[tuple[int, str]] = ()) -> dict[str, Fed]:
    """Per AssociatedRef, what became of it (answers Khaos never received left out). A
    return re-queued (`again`) starts afresh there: not taken until offered and taken
    again, its earlier failed imports forgotten."""
    state: dict[str, Fed] = {}
    folded: dict[str, str] = {}  # asked as the handler matched it: whatever the case

    def forget(ref: str) -> None:
        if state.pop(ref, None) is not None and folded.get(ref.casefold()) == ref:
            del folded[ref.casefold()]
            for other in state:  # another of the same letters, newest last (rare)
                if other.casefold() == ref.casefold():
                    folded[other.casefold()] = other

    done = 0
    flags = lost_flags(records)
    for n, rec in enumerate(records):
        refs, done = _reoffered(again, rec.seq, done)
        for ref in refs:
            forget(ref)
        lost = flags[n]
        for asked in rec.asked:
            fed = state.get(folded.get(asked.casefold(), asked))
            if fed is not None:
                fed.asked += 1
                fed.asked_at = rec.at
        if not lost:
            for ref, offer in rec.offers.items():
                fed = state.get(ref)
                if fed is None:
                    state[ref] = Fed(offer, rec.at, rec.at)
                    folded[ref.casefold()] = ref
                else:
                    fed.offer, fed.last_at = offer, rec.at
        for ref, (kind, at) in rec.received.items():
            fed = state.get(ref)
            if fed is not None:
                fed.back.setdefault(kind, at)
    refs, done = _reoffered(again, AFTER_ALL + 1, done)
    for ref in refs:  # re-queued after the last answer: not taken (again) yet
        forget(ref)
    return state


# ------------------------------------------------------------------ what Khaos pushed


@dataclass(slots=True)
class Pushed:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # StockID → item
    stock_received: bool = False
    #: (at, stock code, site, rise) in arrival order.
    rises: list[tuple[datetime, str, str, Decimal]] = field(default_factory=list)
    orders: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def pushed(events: Sequence[InboxEvent]) -> Pushed:
    out = Pushed()
    levels: dict[tuple[str, str], Decimal] = {}
    for event in events:
        if event.topic in (SERVED, REOFFER):
            continue
        try:
            doc = wire.read_body(event.body)
            if event.topic == wire.STOCK:
                _stock(doc, out)
            elif event.topic == wire.STOCK_STATUS:
                _levels(doc, event.received_at, levels, out)
            elif event.topic == wire.ORDER_STATUS:
                _order_statuses(doc, event.received_at, out)
        except (wire.ProtocolError, TypeError, AttributeError, KeyError) as exc:
            out.notices.append(f"a {visible(event.topic)} Khaos pushed at "
                               f"{event.received_at:%Y-%m-%d %H:%M} could not be read "
                               f"({type(exc).__name__}: {visible(str(exc))[:120]})")
    return out


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "-1", "1", "yes")


def _stock(doc: Any, out: Pushed) -> None:
    out.stock_received = True
    for item in wire.as_list(wire.top(doc, "Items"), "StockItem"):
        sid, code = str(item.get("StockID", "")), str(item.get("StockCode", ""))
        if not sid or not code:
            out.notices.append("a stock item Khaos pushed has no StockID or StockCode")
            continue
        out.items[sid] = item
    # `Deleted` beside `Items` (in the XML root's wrapper, or at the top of JSON); a body
    # that leaves it out deletes nothing (§4: an empty field may be left out)
    holder = doc
    if isinstance(doc, dict) and "Items" not in doc and len(doc) == 1:
        holder = next(iter(doc.values()))
    found = holder.get("Deleted") if isinstance(holder, dict) else None
    deleted = wire.as_list(found, "Item") if found not in (None, "") else []
    for gone in deleted:
        sid = str(gone.get("StockID", "")) if isinstance(gone, dict) else str(gone)
        out.items.pop(sid, None)


def _number(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise TypeError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise TypeError(f"{value!r} is not a number")
    return number


def _levels(doc: Any, at: datetime, levels: dict[tuple[str, str], Decimal],
            out: Pushed) -> None:
    for status in wire.as_list(wire.top(doc, "Statuses"), "StockStatus"):
        code = str(status.get("StockCode", ""))
        key_id = str(status.get("StockID", "")) or code
        site = str(status.get("SiteID", ""))
        found = status.get("Levels") or {}
        if not code or "Available" not in found:
            out.notices.append("a stock level Khaos pushed has no StockCode or Available")
            continue
        level = _number(found["Available"])
        before = levels.get((key_id, site))
        levels[(key_id, site)] = level
        if before is not None and level > before:
            out.rises.append((at, code, site, level - before))


def _order_statuses(doc: Any, at: datetime, out: Pushed) -> None:
    for status in wire.as_list(wire.top(doc, "Statuses"), "SalesOrderStatus"):
        ref = str(status.get("AssociatedRef", ""))
        said = str(status.get("Status", status.get("OrderStatus", "")))
        if ref and said:
            out.orders[ref.casefold()] = (said, at)


# ------------------------------------------------------------------ the ERP's views


def records(events: Sequence[InboxEvent], options: KhaosOptions,
            now: datetime | None = None) -> ErpBatch:
    """Every view, the master data and what cannot be seen, from the inbox's events."""
    damaged: list[datetime] = []
    answers = served(events, damaged)
    feed = feed_state(answers, reoffers(events))
    push = pushed(events)
    records_held = [rec.held for rec in answers]
    facts = set(ALWAYS_HIDDEN)
    batch = ErpBatch()
    now = now or datetime.now(UTC)
    if answers and now - answers[-1].at > 3 * timedelta(minutes=options.frequency_minutes):
        # `listen` down, or Khaos refused (a changed password): what it did since is unseen
        batch.gaps.append(f"Khaos has not pulled the returns feed since "
                          f"{answers[-1].at:%Y-%m-%d %H:%M} (it pulls every "
                          f"{options.frequency_minutes} min): is `listen` running, and does "
                          "the channel still have its Username and Password?")
    if damaged:
        batch.gaps.append(f"{len(damaged)} of the feed's recorded answers do not read (the "
                          f"first received {min(damaged):%Y-%m-%d %H:%M}): what they served "
                          "is not shown, and may have been offered to Khaos again")
    exported = read_exports(options)
    credits = _credits_by_ref(exported, options, batch, now)
    if credits is None:
        facts.add("erp_without_credits")
        batch.gaps.append("Khaos's channel shows no credit notes or refunds: the credited "
                          "stage is not checked (confirm credits in Khaos, or drop its "
                          "credit note export into the profile's exports_dir)")
    else:  # its own documents now: a credit under a reference no return has is news
        facts.add("erp_without_credit_amounts")
        facts.discard("erp_without_own_records")
    if options.exchange_evidence == "none":
        facts.add("erp_without_exchanges")
    if not options.reason_ids:
        facts.add("erp_without_reasons")
    receipts = options.receipt_evidence == "stock_rise" and options.sku_mapping == "StockCode"
    if not receipts:
        facts.add("erp_without_receipts")
    items: dict[str, Item] = {}
    for item in push.items.values():
        code = visible(str(item["StockCode"]))
        found = item.get("Options")
        opts: dict[str, Any] = found if isinstance(found, dict) else {}
        items[code] = Item(number=code, blocked=_truthy(opts.get("Discontinued", False)))
    unobservable = set(hidden(frozenset(facts)))
    if not push.stock_received or options.sku_mapping != "StockCode":
        unobservable |= {Code.SKU_UNKNOWN, Code.SKU_INACTIVE}
        if not push.stock_received:
            batch.gaps.append("Khaos has pushed no stock items yet: SKUs are not checked")
    batch.master = ErpMaster(items=items, reasons=frozenset(options.reason_ids),
                             reasons_kept=bool(options.reason_ids),
                             unobservable=frozenset(unobservable),
                             creates=frozenset({"return_order"}), instead=INSTEAD,
                             sole_customer=options.urn, items_by="StockCode",
                             item_way=options.sku_mapping,
                             fixes_links=False)
    received = _share_rises(feed, push, options) if receipts else {}
    for ref, fed in feed.items():
        view = _view(ref, fed, received.get(ref), push, options, receipts)
        notes = (credits or {}).pop(ref.casefold(), [])
        if credits is not None:
            view = _credited(view, notes)
        batch.views[ref] = view
    for notes in (credits or {}).values():  # a credit under a reference never served
        link = notes[0].external_ref or notes[0].id
        batch.views[link] = _credited(ErpView(system=SYSTEM, return_ref=link,
                                              stages=_blind_stages(options, receipts)), notes)
    batch.unseen = ErpView(system=SYSTEM, stages=_blind_stages(options, receipts,
                                                               credits is not None))
    held = {ref: why for found in records_held for ref, why in found.items() if ref not in feed}
    for ref, why in sorted(held.items())[:20]:
        batch.notices.append(f"return {visible(ref)} is not offered to Khaos: {visible(why)}")
    batch.notices.extend(push.notices)
    batch.raw = {f"khaos:return:{ref}": {
        "offered": fed.offer, "first_served": fed.first_at.isoformat(),
        "last_served": fed.last_at.isoformat(), "asked_again": fed.asked,
        "goods_on_the_platform": {k: at.isoformat() for k, at in fed.back.items()}}
        for ref, fed in feed.items()}
    batch.fetched_at = datetime.now(UTC)
    return batch


def _credits_by_ref(exported: Exports | None, options: KhaosOptions, batch: ErpBatch,
                    now: datetime) -> dict[str, list[CreditNote]] | None:
    """The exported credit notes by case-folded AssociatedRef (None: credits unseen)."""
    if exported is None:
        return None
    for problem in exported.problems[:10]:
        batch.notices.append(f"Khaos credit note export: {problem}")
    if exported.files == 0 and exported.problems:
        batch.gaps.append(f"Khaos's credit note exports cannot be read: "
                          f"{exported.problems[0]}; credits are not checked")
        return None
    if exported.fresh_at is None:
        batch.gaps.append("no Khaos credit note export has been dropped into "
                          f"{options.exports_dir} yet: credits are not checked")
        return None
    age = now - exported.fresh_at
    if age > timedelta(hours=options.exports_max_age_hours):
        batch.gaps.append(f"the newest Khaos credit note export is "
                          f"{age.total_seconds() / 3600:.0f} h old: credits since are not "
                          "seen")
    out: dict[str, list[CreditNote]] = defaultdict(list)
    for credit in exported.credits:
        issued = credit.issued
        posted = datetime.combine(issued, time(12), tzinfo=UTC) if issued else None
        out[credit.link.casefold()].append(CreditNote(
            id=credit.number, number=credit.number, status="posted",
            external_ref=credit.link, posting_date=issued, posted_at=posted,
            amounts=credit.amounts, raw_ref=f"{SYSTEM}:credit:{credit.number}"))
    return dict(out)


def _credited(view: ErpView, notes: list[CreditNote]) -> ErpView:
    """The view with its exported credit notes and the credited stage they show."""
    stages = dict(view.stages)
    if notes:
        first = min(notes, key=lambda n: n.posted_at or datetime.max.replace(tzinfo=UTC))
        stages[Stage.CREDITED] = StageView(status=StageStatus.DONE, at=first.posted_at,
                                           record_ids=tuple(n.number or n.id for n in notes),
                                           detail="credit note issued (export)",
                                           raw_ref=first.raw_ref)
    else:
        stages.pop(Stage.CREDITED, None)
    return replace(view, credit_notes=tuple(notes), stages=stages)


def _blind_stages(options: KhaosOptions, receipts: bool,
                  credits_seen: bool = False) -> dict[Stage, StageView]:
    stages = {Stage.INSPECTED: NA, Stage.CREDITED: NA, Stage.RESTOCKED: NA}
    if credits_seen:
        del stages[Stage.CREDITED]
    if not receipts:
        stages[Stage.RECEIVED] = NA
    if options.exchange_evidence == "none":
        stages[Stage.EXCHANGED] = NA
    return stages


def _expects_stock(line: dict[str, Any], options: KhaosOptions) -> bool:
    return str(line.get("reason", "")) not in set(options.write_off_reasons)


#: A rise this long before the platform says the goods were back may still be theirs (the
#: warehouse books first, the platform hears later).
RISE_SLACK = timedelta(days=1)


def _share_rises(feed: dict[str, Fed], push: Pushed, options: KhaosOptions
                 ) -> dict[str, dict[int, tuple[Decimal, datetime]]]:
    """Per return, per line index: the quantity rises gave it and when the last came.
    A rise goes to lines of its item that Khaos took before it and still wait: first those
    whose goods the platform saw (back, refunded, sent) the usual delay of that kind of word
    before it (of those, one that has had none yet: one parcel, one rise), then the others
    in the order Khaos took them. Which return a rise belongs to is inferred
    (docs/khaos-mapping.md)."""
    sites = set(options.site_ids)
    wanting: dict[str, list[Wanting]] = defaultdict(list)
    for ref, fed in feed.items():
        if fed.asked:
            continue  # not imported: nothing of it can come back into stock
        said = fed.evidence()
        for n, line in enumerate(fed.offer.get("lines", [])):
            if _expects_stock(line, options):
                wanting[str(line["code"])].append(Wanting(
                    fed.first_at, ref, n, Decimal(str(line["quantity"])),
                    said[0] if said else None, said[1] if said else None))
    got: dict[str, dict[int, tuple[Decimal, datetime]]] = defaultdict(dict)

    def have(w: Wanting) -> Decimal:
        return got[w.ref][w.n][0] if w.n in got[w.ref] else Decimal(0)

    lag = _usual_lags(wanting, push, sites)

    def off(w: Wanting, at: datetime) -> timedelta | None:
        """How far the rise comes from when this return's goods were due in stock
        (negative: before)."""
        if w.back is None or w.kind not in lag:
            return None
        return at - w.back - lag[w.kind]

    for at, code, site, rise in push.rises:
        if sites and site not in sites:
            continue
        candidates = []
        for w in wanting.get(code, ()):
            if w.taken > at or have(w) >= w.quantity:
                continue
            gap = off(w, at)
            if gap is not None and not -RISE_SLACK <= gap <= PLAUSIBLE:
                # stock does not rise a day before the goods are due, and goods due weeks
                # before this rise are not its goods
                continue
            key = (1, 0.0) if gap is None else (0, abs(gap.total_seconds()))
            candidates.append((key, have(w) > 0, w.taken, w.ref, w))
        candidates.sort(key=lambda c: c[:4])
        left = rise
        for *_, w in candidates:
            if left <= 0:
                break
            share = min(w.quantity - have(w), left)
            got[w.ref][w.n] = (have(w) + share, at)
            left -= share
    return got


@dataclass(frozen=True, slots=True)
class Wanting:
    """A line of a return Khaos took, waiting for its goods to come back into stock."""

    taken: datetime
    ref: str
    n: int
    quantity: Decimal
    kind: str | None
    back: datetime | None


def _usual_lags(wanting: dict[str, list[Wanting]], push: Pushed, sites: set[str]
                ) -> dict[str, timedelta]:
    """How long after each kind of platform word the stock usually rises in Khaos: the most
    common gap (in LAG_BIN steps) between a rise and the returns of its item the platform
    spoke of shortly before it. Each rise's own return adds the same gap, the others
    scatter, so the most common one is the warehouse's delay (zero when nothing shows)."""
    counts: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    step = LAG_BIN.total_seconds()
    for at, code, site, _rise in push.rises:
        if sites and site not in sites:
            continue
        for w in wanting.get(code, ()):
            if w.back is not None and w.kind is not None and w.taken <= at \
                    and at - LAG_WINDOW <= w.back <= at + RISE_SLACK:
                gap = (at - w.back).total_seconds()
                counts[w.kind][int(gap // step)].append(gap)
    out: dict[str, timedelta] = {}
    for kind, bins in counts.items():
        ranked = sorted(bins.values(), key=lambda gaps: (len(gaps),
                                                         -abs(sum(gaps) / len(gaps))))
        best = sorted(ranked[-1])
        runner_up = len(ranked[-2]) if len(ranked) > 1 else 0
        # a delay no rise stands out for is no delay: that word does not place a rise
        if len(best) >= 3 and 2 * len(best) >= 3 * runner_up:
            out[kind] = timedelta(seconds=best[len(best) // 2])
    return out


#: How far from the usual delay a rise may come and still be a return's goods.
PLAUSIBLE = timedelta(days=14)
#: The step the usual delay is found in.
LAG_BIN = timedelta(minutes=15)
#: How long before a rise the platform may have had the goods back for them to be its.
LAG_WINDOW = timedelta(days=14)


def _view(ref: str, fed: Fed, received: dict[int, tuple[Decimal, datetime]] | None,
          push: Pushed, options: KhaosOptions, receipts: bool) -> ErpView:
    failed = fed.asked > 0
    stages = _blind_stages(options, receipts)
    if failed:
        detail = (f"Khaos asked for it again {fed.asked} time{'s' if fed.asked != 1 else ''}"
                  ": its import failed (see Notifications > Feedback in Khaos)")
        stages[Stage.AUTHORISED] = StageView(status=StageStatus.FAILED, at=fed.asked_at,
                                             record_ids=(ref,), detail=detail,
                                             raw_ref=f"khaos:return:{ref}")
    else:
        stages[Stage.AUTHORISED] = StageView(status=StageStatus.DONE, at=fed.first_at,
                                             record_ids=(ref,), detail="taken by Khaos",
                                             raw_ref=f"khaos:return:{ref}")
    # levels are pushed by stock code: an item Khaos finds another way (a barcode) shows
    # no rise of its own, so the return's receipt cannot be seen
    other_way = any(str(line.get("mapping") or options.sku_mapping) != "StockCode"
                    for line in fed.offer.get("lines", []))
    lines = []
    expecting = done = 0
    last: datetime | None = None
    for n, line in enumerate(fed.offer.get("lines", [])):
        quantity = Decimal(str(line["quantity"]))
        got = (received or {}).get(n)
        qty_in = got[0] if got else Decimal(0)
        if _expects_stock(line, options):
            expecting += 1
            done += qty_in >= quantity
        if got:
            last = got[1] if last is None or got[1] > last else last
        lines.append(ErpLine(line_ref=str(n + 1), item_no=str(line["code"]),
                             quantity=quantity,
                             received_quantity=qty_in if receipts and got and not other_way
                             else None,
                             reason=str(line.get("reason") or "") or None))
    if receipts and not failed and other_way:
        stages[Stage.RECEIVED] = StageView(
            status=StageStatus.NOT_APPLICABLE,
            detail="not seen: Khaos finds an item of it by another way than its stock code, "
            "and stock levels come by stock code")
    elif receipts and not failed:
        if expecting == 0:
            stages[Stage.RECEIVED] = NA
        elif last is not None:  # a receipt, perhaps of part (QUANTITY_MISMATCH says so)
            stages[Stage.RECEIVED] = StageView(
                status=StageStatus.DONE, at=last, record_ids=(ref,),
                detail="stock rose in Khaos" if done == expecting else
                "stock rose in Khaos for part of it")
    if options.exchange_evidence == "order_status":
        said = push.orders.get(ref.casefold())
        if said is not None:
            status = {"Received": StageStatus.PENDING, "Cancelled": StageStatus.FAILED
                      }.get(said[0], StageStatus.DONE)
            stages[Stage.EXCHANGED] = StageView(status=status, at=said[1],
                                                detail=visible(said[0]))
    return ErpView(system=SYSTEM, return_ref=ref,
                   order_ref=str(fed.offer.get("order_ref") or "") or None,
                   customer_ref=options.urn, return_order_state="open", lines=tuple(lines),
                   stages=stages)


__all__ = ["SERVED", "Fed", "Served", "feed_state", "pushed",
           "records", "served", "served_record"]

"""Writes to Khaos Control: deferred, through the channel (docs/khaos-mapping.md, Actions).

Khaos has no call that creates a return or changes a reference (docs/vendors/khaos-control.md
§7.3): it imports returns only by pulling the feed `listen` serves. So a re-queue of a
return Khaos never took (or whose import failed) is an instruction kept in the inbox: the
feed offers the return again at Khaos's next pull, as the platform has it then, and the
audit row stays handed over until Khaos is seen to take it (its next pull shows the answer
arrived and does not ask for the return again) or to refuse it (it asks again: its import
failed). Idempotent on the AssociatedRef: a return Khaos has taken is never offered again,
and one already waiting to be offered is not queued twice. Fixing a reference is not
offered: Khaos imports an AssociatedRef once and no call changes it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...connectors.base import InboxEvent
from ...connectors.errors import ConnectorError, RefusedError
from ...domain.postings import CreditRequest, RecordRef, ReturnOrderRequest, WriteResult
from . import fold
from . import protocol as wire
from .connector import KhaosConnector

SYSTEM = fold.SYSTEM
_NO_LINK_CHANGE = ("Khaos imports an AssociatedRef once and no call changes it (KC §7.3): "
                   "correct the reference on the return in Khaos Control")


def open_writer(connector: KhaosConnector) -> KhaosWriter:
    return KhaosWriter(connector)


class KhaosWriter:
    system = SYSTEM
    link_label = "AssociatedRef"

    def __init__(self, connector: KhaosConnector,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.options = connector.options
        self.base_url = connector.base_url
        self._now = clock or (lambda: datetime.now(UTC))
        self._events: Callable[[], Sequence[InboxEvent]] | None = None
        self._keep: Callable[[InboxEvent], bool] | None = None
        self._parsed: tuple[tuple[int, int], _Read] | None = None

    def attach(self, events: Callable[[], Sequence[InboxEvent]],
               keep: Callable[[InboxEvent], bool]) -> None:
        """The inbox `listen` serves Khaos from: what it holds of Khaos, and how to keep an
        instruction there."""
        self._events, self._keep = events, keep

    def _history(self) -> Sequence[InboxEvent]:
        if self._events is None:
            raise ConnectorError(SYSTEM, "Khaos Control is written to through the inbox "
                                 "`listen` serves it from, and this run has none")
        return self._events()

    def _read(self) -> _Read:
        """The inbox's answers and instructions, parsed once while nothing new arrived
        (settling many handed-over rows reads it once, not once a row)."""
        events = self._history()
        mark = (len(events), (events[-1].seq or 0) if events else 0)
        if self._parsed is not None and self._parsed[0] == mark:
            return self._parsed[1]
        answers = fold.served(events)
        again = fold.reoffers(events)
        read = _Read(answers, again, fold.lost_flags(answers), fold.feed_state(answers, again))
        self._parsed = (mark, read)
        return read

    # -- re-queue: offer the return again on the feed ------------------------------------

    def return_order_steps(self) -> tuple[str, ...]:
        every = self.options.frequency_minutes
        steps = [f"offered to Khaos again on the returns feed (CReturnDownload) at its next "
                 f"pull (every {every} min), as the platform has it then; Khaos imports it",
                 "handed over until Khaos is seen to take it: its next pull shows the answer "
                 "arrived and does not ask for the return again",
                 "if Khaos refused it before, fix the cause first (Notifications > Feedback "
                 "in Khaos: an item, the customer account, a return reason)"]
        if self.options.process_return == "when_received":
            steps.append("ProcessReturn only if the platform has the goods back by then "
                         "(processing moves stock)")
        return tuple(steps)

    async def return_orders_for(self, link: str) -> list[WriteResult]:
        """What Khaos has of `link`: taken (a return it imported), or an instruction to
        offer it again not yet served (deferred). A return whose import failed is none."""
        read = self._read()
        fed = read.state.get(link)
        if fed is not None and not fed.asked:
            return [WriteResult(record_id=link, number=link, final=True,
                                status="taken by Khaos", record=dict(fed.offer))]
        if read.waiting(link):
            return [WriteResult(record_id=link, number=link, deferred=True,
                                status="to be offered again at Khaos's next pull")]
        return []

    def describe_create_return_order(self, request: ReturnOrderRequest) -> dict:
        if not request.lines:
            raise ValueError("a return needs at least one line")
        if len(request.link) > 50:
            raise ValueError(f"{request.link} is longer than an AssociatedRef takes (50): "
                             "Khaos cannot import it")
        notes = []
        if self._events is not None:
            read = self._read()
            if read.answers and _asks(read.answers[-1], request.link):
                raise ValueError(f"Khaos is still asking for {request.link} (SpecificIDs, at "
                                 f"its last pull): its own retry serves it; look under "
                                 "Notifications > Feedback in Khaos for why it fails")
            if read.retried(request.link):
                notes.append("Khaos asked for it again before and was served it: its own "
                             "retry may have imported it after all; look for it in Khaos "
                             "first (a second import is not processed: ProcessReturn false)")
        # the fields the feed will serve them in (feed.customer_return)
        items = [{"SKU": line.item_no,
                  "Mapping": [{"Mapping": line.match_by or self.options.sku_mapping}],
                  "Quantity": float(line.quantity)} for line in request.lines
                 if line.quantity > 0]
        return {
            "method": "OFFER",
            "path": f"/hooks/{SYSTEM}/{wire.SUFFIXES[wire.RETURNS]}",
            "headers": {},
            "body": {"AssociatedRef": request.link, "URN": self.options.urn,
                     "ReturnedItems": items},
            "notes": [
                *notes,
                "kept in the inbox now; served when Khaos next pulls the feed (nothing is "
                "sent to Khaos from here: it calls us)",
                "offered with ProcessReturn false: a return offered again is processed by a "
                "person in Khaos, never on import (money and stock move once)",
                "served as the platform has the return then (mapping tables, reasons, "
                "address), each line's reason from the `reason` table",
                f"not offered if Khaos has taken {request.link} meanwhile"]}

    async def create_return_order(self, request: ReturnOrderRequest) -> WriteResult:
        """Keep the instruction; refused when Khaos has the return or it is already waiting."""
        if self._keep is None:
            raise ConnectorError(SYSTEM, "Khaos Control is written to through the inbox "
                                 "`listen` serves it from, and this run has none")
        found = await self.return_orders_for(request.link)
        if found:
            why = ("Khaos has taken it" if not found[0].deferred
                   else "it is already waiting to be offered again")
            raise RefusedError(SYSTEM, f"{request.link}: {why}; nothing queued")
        now = self._now()
        event = InboxEvent(system=SYSTEM, topic=fold.REOFFER,
                           delivery_id=f"{fold.REOFFER}:{request.link}:{uuid.uuid4().hex}",
                           received_at=now,
                           body=json.dumps({"ref": request.link, "at": now.isoformat(),
                                            "lines": len(request.lines)}).encode())
        self._keep(event)
        return WriteResult(record_id=request.link, number=request.link, deferred=True,
                           status="to be offered again at Khaos's next pull")

    async def line_count(self, number: str) -> int:
        """The lines Khaos was last offered for `number` (0: not offered since queued)."""
        fed = self._read().state.get(number)
        lines = fed.offer.get("lines") if fed is not None else None
        return len(lines) if isinstance(lines, list) else 0

    async def picked_up(self, action: str, parameters: Mapping[str, Any]) -> bool | None:
        """For a re-queue handed over: True once an answer carrying the return reached Khaos
        (by the continuation its next pull echoed) and Khaos did not ask for it again;
        False when it asked again (the import failed); None: not served, or no pull since."""
        ref = parameters.get("return_ref")
        if not isinstance(ref, str):
            return None
        read = self._read()
        queued = [seq for seq, r in read.again if r == ref]
        if not queued:
            return None
        answers = read.answers
        for n, rec in enumerate(answers):
            if rec.seq <= queued[-1]:
                continue
            if ref in rec.held and ref not in rec.offers:
                return False  # the feed would not offer it (said in the check's notes)
            if ref not in rec.offers or read.lost[n]:
                continue
            later = [r for r in answers[n + 1:]
                     if r.arrived_after is None or r.arrived_after >= rec.seq]
            if any(_asks(r, ref) for r in later):
                return False  # its import failed again
            # taken once a pull shows the answer arrived (it echoes its continuation, or
            # a later one): a pull that echoes nothing proves nothing
            outs = {r.continuation_out for r in answers[n:]}
            return True if any(r.continuation_in in outs for r in later) else None
        return None

    def refusal_hint(self, action: str) -> str:
        """Where a person sees why Khaos refused what it was handed."""
        return ("Khaos asked for it again, so its import failed: see Notifications > "
                "Feedback in Khaos Control, fix the cause, then re-queue it")

    # -- what this ERP cannot be asked --------------------------------------------------

    def credit_steps(self) -> tuple[str, ...]:
        return ()

    def describe_create_credit(self, request: CreditRequest) -> dict:
        raise ValueError("Khaos Control's channel cannot create a credit note: credit the "
                         "return in Khaos (Returns > Process)")

    def reverse_hint(self, action: str, number: str | None) -> str:
        return (f"once Khaos has imported {number or 'it'}, delete or cancel the return in "
                "Khaos Control (no call does it)")

    def link_of(self, record: Mapping[str, Any]) -> str | None:
        value = record.get("ref")
        return value if isinstance(value, str) else None

    def token_of(self, record: Mapping[str, Any]) -> str | None:
        return None

    async def get_record(self, ref: RecordRef) -> dict:
        raise RefusedError(SYSTEM, "Khaos Control's records are read from the inbox, not asked "
                           "for")

    async def credits_for(self, link: str) -> list[WriteResult]:
        return []

    def describe_set_link(self, ref: RecordRef, etag: str | None, link: str) -> dict:
        raise ValueError(_NO_LINK_CHANGE)

    async def set_link(self, ref: RecordRef, etag: str | None, link: str) -> WriteResult:
        raise RefusedError(SYSTEM, _NO_LINK_CHANGE)

    async def create_credit(self, request: CreditRequest) -> WriteResult:
        raise RefusedError(SYSTEM, "Khaos Control's channel cannot create a credit note")

    def describe_post_credit(self, result: WriteResult) -> dict:
        raise ValueError("Khaos Control's channel cannot post a credit note")

    async def post_credit(self, result: WriteResult, link: str) -> WriteResult:
        raise RefusedError(SYSTEM, "Khaos Control's channel cannot post a credit note")

    async def aclose(self) -> None:
        return None


@dataclass(slots=True)
class _Read:
    """What the inbox says of the feed, parsed once."""

    answers: list[fold.Served]
    again: list[tuple[int, str]]
    lost: list[bool]
    state: dict[str, fold.Fed]

    def waiting(self, link: str) -> bool:
        """Whether `link` was re-queued after the last answer that carried it, or that said
        why the feed could not (its re-queue was settled then)."""
        queued = [seq for seq, ref in self.again if ref == link]
        if not queued:
            return False
        answered = [rec.seq for rec in self.answers
                    if link in rec.offers or link in rec.held]
        return not answered or max(answered) < queued[-1]

    def retried(self, link: str) -> bool:
        """Whether Khaos was served `link` because it asked for it (its own retry)."""
        return any(_asks(rec, link) and link in rec.offers
                   for n, rec in enumerate(self.answers) if not self.lost[n])


def _asks(rec: fold.Served, ref: str) -> bool:
    folded = ref.casefold()
    return any(a.casefold() == folded for a in rec.asked)


__all__ = ["KhaosWriter", "open_writer"]

"""Khaos Control Cloud as a channel (docs/vendors/khaos-control.md §4, docs/khaos-mapping.md):
Khaos calls us, so this connector serves endpoints instead of making requests. `listen`
serves its routes (each checks the channel's HTTP Basic credentials); every push Khaos makes
is kept once in the inbox, and every answer of the returns feed is recorded there before it
is sent. A check reads Khaos's side from those events (`records_from_events`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError

from ...connectors.base import (
    ChannelAnswer,
    ChannelContext,
    ChannelRequest,
    ChannelRoute,
    ErpBatch,
    InboxEvent,
)
from ...connectors.errors import ConnectorError
from ...domain.codes import Side, Stage, StageStatus
from ...domain.model import ErpView, PayloadProblem
from ...domain.reference import ErpMaster
from ...visible import visible
from . import feed as offers
from . import fold
from . import protocol as wire
from .options import KhaosOptions

SYSTEM = fold.SYSTEM
#: Where the cache keeps what each return was offered as.
OFFERED = f"{SYSTEM}:return:"
_SEQ = itertools.count(1)


@cache
def _view_adapter() -> TypeAdapter[ErpView]:
    return TypeAdapter(ErpView)


class KhaosConnector:
    system = SYSTEM

    def __init__(self, *, base_url: str, options: KhaosOptions,
                 credentials: Callable[[], tuple[SecretStr, SecretStr]] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options
        self._credentials = credentials
        self._now = clock or (lambda: datetime.now(UTC))

    # -- the channel ---------------------------------------------------------------------

    def channel(self, context: ChannelContext) -> Sequence[ChannelRoute]:
        """The configuration file first (the address the channel is given), then the
        objects it names."""
        if self._credentials is None:
            raise ValueError("this Khaos connector was made without the channel's credentials")
        user, word = self._credentials()
        username, secret = user.get_secret_value(), word.get_secret_value()
        fmt = self.options.format

        def allowed(request: ChannelRequest) -> bool:
            return wire.basic_ok(request.headers, username, secret)

        async def config(request: ChannelRequest) -> ChannelAnswer:
            if not allowed(request):
                return _refused()
            body, media = wire.endpoint_config(f"{self.base_url}/hooks/{SYSTEM}", fmt,
                                               self.options.frequency_minutes)
            return ChannelAnswer(200, body, media)

        def receiver(topic: str) -> Callable[[ChannelRequest], Any]:
            async def receive(request: ChannelRequest) -> ChannelAnswer:
                if not allowed(request):
                    return _refused()
                try:
                    wire.refuse_nulls(wire.read_body(request.body))
                except wire.ProtocolError as exc:
                    return _answer(400, f"bad data sent: {exc}")
                # every push is kept: what Khaos pushes is absolute (levels, statuses,
                # items), so a retried one changes nothing when read, while the same body
                # sent again later (a level back where it was) is news (§4)
                digest = hashlib.sha256(request.body).hexdigest()[:16]
                at = request.received_at.astimezone(UTC).isoformat()
                event = InboxEvent(system=SYSTEM,
                                   delivery_id=f"{topic}:{at}:{next(_SEQ)}:{digest}",
                                   topic=topic, received_at=request.received_at,
                                   body=request.body)
                return ChannelAnswer(200, b'{"stored": true}', keep=[event])
            return receive

        async def orders(request: ChannelRequest) -> ChannelAnswer:
            if not allowed(request):
                return _refused()
            body, media = wire.orders_document(fmt)
            return ChannelAnswer(200, body, media)

        async def returns(request: ChannelRequest) -> ChannelAnswer:
            if not allowed(request):
                return _refused()
            return await self._serve_returns(request, context)

        suffix = wire.SUFFIXES
        return [
            ChannelRoute("GET", f"config.{fmt.lower()}", config),
            ChannelRoute("POST", suffix[wire.STOCK], receiver(wire.STOCK)),
            ChannelRoute("POST", suffix[wire.STOCK_STATUS], receiver(wire.STOCK_STATUS)),
            ChannelRoute("POST", suffix[wire.ORDER_STATUS], receiver(wire.ORDER_STATUS)),
            ChannelRoute("GET", suffix[wire.ORDERS], orders),
            ChannelRoute("GET", suffix[wire.RETURNS], returns),
        ]

    async def _serve_returns(self, request: ChannelRequest,
                             context: ChannelContext) -> ChannelAnswer:
        """What Khaos should import now: the returns asked for again (`SpecificIDs`), else
        the approved ones it has not been given (or whose answer it never received). The
        answer is recorded before it is sent; a platform that cannot be read is a 503
        (Khaos asks again), never an empty feed."""
        try:
            platform = await context.returns()
        except ConnectorError as exc:
            return _answer(503, f"the returns platform cannot be read now ({exc.system})")
        events = context.history()
        # the answer is decided from the answers recorded so far: it is kept (and sent) only
        # if no other was recorded meanwhile (another pull, another `listen`)
        last = max((e.seq or 0 for e in events if e.topic == fold.SERVED), default=0)
        # the inbox as this pull found it: an answer recorded while this one was decided
        # (another pull at once) was sent after Khaos made this pull
        arrived_after = request.memo.setdefault("served_seq", last)
        history = fold.served(events)
        continuation_in = visible(request.headers.get(wire.CONTINUATION, ""))[:100]
        asked = wire.specific_ids(request.headers)
        now = request.received_at
        # this request is evidence too: the continuation it echoes says whether our last
        # answer arrived (what it did not bring is offered again)
        again = fold.reoffers(events)
        evidence = [*history, fold.Served(now, {}, asked, continuation_in, "",
                                          arrived_after=arrived_after)]
        state = fold.feed_state(evidence, again)
        # the channel's start: its first pull, less the profile's backfill
        first = history[0].at if history else now
        start = first - timedelta(days=self.options.backfill_days)
        chosen = offers.offerable(platform.views, self.options, context.mappings(), now, start)
        if asked:
            wanted = {ref.casefold() for ref in asked}
            serve = [o for o in chosen.offers if o.ref.casefold() in wanted]
        else:
            lost = fold.lost_offers(evidence, again)
            limit = self.options.reoffer_limit
            serve = []
            for o in chosen.offers:
                if o.ref in state:
                    continue
                if lost.get(o.ref, 0) > limit:  # the first offer, then `limit` again
                    # Khaos may have it after all (a continuation it echoes wrongly): not
                    # offered again blindly, which could import it twice
                    chosen.held[o.ref] = (
                        f"offered {lost[o.ref]} times, and Khaos's next pull never showed "
                        "that an answer carrying it arrived (Sirion-Continuation): look for "
                        "it in Khaos; Khaos asking for it (SpecificIDs) serves it again")
                    continue
                serve.append(o)
            serve = serve[:self.options.feed_batch]
        # re-queued and not served since: offered with ProcessReturn false (Khaos's own
        # retry may have imported it: a second import must move nothing), and said when
        # the feed cannot offer it at all (its row is then settled as refused)
        carried: dict[str, int] = {}
        for rec in history:
            for ref in rec.offers:
                carried[ref] = rec.seq
        pending = {ref for seq, ref in again if seq > carried.get(ref, -1)}
        if pending:
            serve = [replace(o, process=False) if o.ref in pending else o for o in serve]
            offered = {o.ref for o in chosen.offers}
            for ref in sorted(pending - offered - set(chosen.held)):
                chosen.held[ref] = ("re-queued, but the platform does not show it approved "
                                    "within the feed's window (feed_days, and not before "
                                    "Khaos first pulled the feed): not offered")
        note = "offered by Returns Console"
        documents = [offers.customer_return(o, self.options, note) for o in serve]
        body, media = wire.returns_document(documents, self.options.format)
        continuation_out = f"{now.astimezone(UTC).isoformat()}#{next(_SEQ)}"
        record = fold.served_record(now, [o.record() for o in serve], asked,
                                    continuation_in, continuation_out, chosen.held,
                                    _received(platform.views, state, serve), arrived_after)
        event = InboxEvent(system=SYSTEM, delivery_id=f"{wire.RETURNS}:{continuation_out}",
                           topic=wire.RETURNS, received_at=now, body=record)
        return ChannelAnswer(200, body, media, headers={"Sirion-Continuation": continuation_out},
                             keep=[event], keep_if_latest=(fold.SERVED, last))

    # -- reading ---------------------------------------------------------------------------

    def records_from_events(self, events: Sequence[InboxEvent]) -> ErpBatch:
        batch = fold.records(events, self.options)
        return self._keep_views(batch)

    def _keep_views(self, batch: ErpBatch) -> ErpBatch:
        """What the cache keeps (raw only): the views as built, read back by from_raw."""
        dump = _view_adapter().dump_python
        # what each return was offered as (the ERP record a person drills into), then views
        raw: dict[str, Any] = dict(batch.raw)
        raw.update({f"{SYSTEM}:view:{k}": dump(v, mode="json")
                    for k, v in batch.views.items()})
        raw[f"{SYSTEM}:master"] = batch.master.model_dump(mode="json")
        if batch.unseen is not None:
            raw[f"{SYSTEM}:unseen"] = dump(batch.unseen, mode="json")
        raw[f"{SYSTEM}:said"] = {"notices": batch.notices, "gaps": batch.gaps}
        batch.raw = raw
        return batch

    def from_raw(self, kept: ErpBatch) -> ErpBatch:
        """What the cache kept read back; an entry that no longer validates is a payload
        problem (a view) or a notice (the rest), never an exception."""
        load = _view_adapter().validate_python
        prefix = f"{SYSTEM}:view:"
        batch = ErpBatch(raw=dict(kept.raw), fetched_at=kept.fetched_at, cursor=kept.cursor,
                         full_at=kept.full_at)
        for key, value in kept.raw.items():
            if key.startswith(OFFERED) and not isinstance(value, dict):
                batch.notices.append(f"what was kept of the offer {visible(key)} does not "
                                     "read")
            if not key.startswith(prefix):
                continue
            ref = key[len(prefix):]
            try:
                batch.views[ref] = load(value)
            except ValidationError as exc:
                batch.problems.setdefault(ref, []).append(PayloadProblem(
                    side=Side.ERP, record_id=ref, error=_one_line(exc), raw_ref=key))
        for key, read in ((f"{SYSTEM}:master", ErpMaster.model_validate),
                          (f"{SYSTEM}:unseen", load)):
            if key not in kept.raw:
                continue
            try:
                value = read(kept.raw[key])
            except ValidationError as exc:
                batch.notices.append(f"what was kept of Khaos ({key}) does not read: "
                                     f"{_one_line(exc)}")
                continue
            if isinstance(value, ErpMaster):
                batch.master = value
            else:
                batch.unseen = value
        said = kept.raw.get(f"{SYSTEM}:said")
        if f"{SYSTEM}:said" in kept.raw and not isinstance(said, dict):
            batch.notices.append("what was kept of Khaos's notes does not read")
        said = said if isinstance(said, dict) else {}
        batch.notices += [str(n) for n in _listed(said.get("notices"))]
        batch.gaps = [str(n) for n in _listed(said.get("gaps"))]
        return batch

    def merge(self, earlier: ErpBatch, changed: ErpBatch) -> ErpBatch:
        return changed  # every read folds the whole inbox

    async def fetch_records(self, *, updated_since: datetime | None = None,
                            keep_pages: bool = True) -> ErpBatch:
        raise ConnectorError(SYSTEM, "Khaos Control calls us: its records come from the inbox "
                             "`returns-console listen` keeps")

    async def check_connection(self) -> str:
        return (f"Khaos Control: a channel (Khaos calls us); give its Configuration URL as "
                f"{self.base_url}/hooks/{SYSTEM}/config.{self.options.format.lower()} with "
                "the channel's Username and Password (secrets `username`, `password`)")

    async def aclose(self) -> None:
        return None


def _received(views: Sequence[Any], state: dict[str, fold.Fed],
              serving: Sequence[offers.Offer]) -> dict[str, tuple[str, datetime]]:
    """What the platform says of the goods of returns Khaos has or is given now, where it
    says more than answers recorded: back (`received`), back by the refund of a platform
    that infers receipt from it (`refunded`), or handed to the carrier (`sent`)."""
    wanted = {o.ref for o in serving} | set(state)
    out: dict[str, tuple[str, datetime]] = {}
    for view in views:
        ref = view.return_ref
        if ref not in wanted:
            continue
        said = _evidence(view)
        fed = state.get(ref)
        if said is not None and (fed is None or said[0] not in fed.back):
            out[ref] = said
    return out


def _evidence(view: Any) -> tuple[str, datetime] | None:
    back = view.stage(Stage.RECEIVED)
    if back.status is StageStatus.DONE and back.at is not None:
        return "received", back.at
    refunded = view.stage(Stage.CREDITED)
    if back.status is StageStatus.DONE and refunded.at is not None:
        return "refunded", refunded.at
    sent = view.stage(Stage.IN_TRANSIT)
    if sent.status in (StageStatus.DONE, StageStatus.PENDING) and sent.at is not None:
        return "sent", sent.at
    return None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _one_line(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "does not validate"
    where = ".".join(str(p) for p in errors[0]["loc"]) or "record"
    return visible(f"{where}: {errors[0]['msg']}")[:300]


def _refused() -> ChannelAnswer:
    return ChannelAnswer(401, b'{"error":"Basic auth failed. Invalid credentials were '
                         b'provided."}', headers={"WWW-Authenticate": 'Basic realm="Returns '
                                                  'Console"'})


def _answer(status: int, message: str) -> ChannelAnswer:
    import json

    return ChannelAnswer(status, json.dumps({"error": message}).encode())


__all__ = ["KhaosConnector"]

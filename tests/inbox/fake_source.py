"""A made-up pushing platform for the inbox tests: its own header names, topics and fields,
none of them any real system's. It signs with hex HMAC-SHA256 and reports a parcel's
journey in two events, "parcel.seen" (on its way back) and "parcel.graded" (received)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from returns_console.connectors.base import InboxEvent, PlatformBatch, WebhookSpec
from returns_console.domain.codes import Side, Stage, StageStatus
from returns_console.domain.model import PayloadProblem, PlatformView
from returns_console.inbox.verify import from_header, hmac_sha256_hex
from returns_console.visible import visible_json

SYSTEM = "fake_push"
SECRET = "not-a-real-secret-9f2c"
SUFFIX = "parcels"
SIGNATURE = "x-fake-signature"
DELIVERY = "x-fake-delivery"
TOPIC = "x-fake-topic"
#: Beside each kept event body: its topic, so the cache can replay it.
TOPIC_KEY = "_topic"
STAGES = {"parcel.seen": Stage.IN_TRANSIT, "parcel.graded": Stage.RECEIVED}


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(delivery_id: str | None, topic: str, payload: Mapping[str, Any] | bytes,
             *, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """A signed delivery as the platform would post it: (body, headers)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {SIGNATURE: sign(body, secret), TOPIC: topic}
    if delivery_id is not None:
        headers[DELIVERY] = delivery_id
    return body, headers


class FakeSource:
    """An EventSource: the seam as a real connector would fill it."""

    system = SYSTEM

    def __init__(self, secret: str = SECRET) -> None:
        self._check = hmac_sha256_hex(secret)

    def webhook(self) -> WebhookSpec:
        return WebhookSpec(verify=from_header(SIGNATURE, self._check),
                           delivery_id=lambda headers, _body: headers.get(DELIVERY),
                           topic=lambda headers, _body: headers.get(TOPIC, ""),
                           suffix=SUFFIX, keep_headers=frozenset({TOPIC}))

    def from_events(self, events: Sequence[InboxEvent],
                    earlier: PlatformBatch | None) -> PlatformBatch:
        # Views are gathered as plain fields and validated once at the end, as a connector
        # validates what it builds from a body it does not control.
        fields = {v.return_ref: _VIEW.dump_python(v) for v in earlier.views} if earlier else {}
        raw: dict[str, Any] = dict(earlier.raw) if earlier else {}
        problems = dict(earlier.problems) if earlier else {}
        fetched = earlier.fetched_at if earlier else None
        for event in events:
            fetched = max(fetched, event.received_at) if fetched else event.received_at
            stage = STAGES.get(event.topic)
            if stage is None:  # a topic this connector does not use
                continue
            try:
                data = visible_json(json.loads(event.body))
                ticket = str(data["ticket"])
                at = datetime.fromisoformat(data["at"])
            except (ValueError, KeyError, TypeError) as exc:
                problems.setdefault(event.delivery_id, []).append(_PROBLEM.validate_python(
                    {"side": Side.PLATFORM, "record_id": event.delivery_id,
                     "error": f"unreadable {event.topic}: {type(exc).__name__}"}))
                continue
            view = fields.setdefault(ticket, {"system": SYSTEM, "return_ref": ticket,
                                              "order_ref": data.get("sale"),
                                              "raw_ref": ticket, "stages": {}})
            view["stages"] = {**view["stages"], stage: {
                "status": StageStatus.DONE, "at": at, "detail": data.get("grade"),
                "raw_ref": ticket}}
            raw[ticket] = [*raw.get(ticket, []), {**data, TOPIC_KEY: event.topic}]
        return PlatformBatch(views=[_VIEW.validate_python(f) for f in fields.values()],
                             problems=problems, raw=raw, fetched_at=fetched)

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        """The views again from what the cache keeps: each ticket's events, replayed."""
        at = kept.fetched_at or datetime(2000, 1, 1, tzinfo=UTC)
        events = [InboxEvent(system=SYSTEM, delivery_id=f"kept-{n}", topic=entry[TOPIC_KEY],
                             received_at=at,
                             body=json.dumps({k: v for k, v in entry.items()
                                              if k != TOPIC_KEY}).encode())
                  for n, entry in enumerate(e for entries in kept.raw.values()
                                            for e in entries)]
        batch = self.from_events(events, None)
        batch.fetched_at, batch.cursor = kept.fetched_at, kept.cursor
        return batch


def platform_view(**fields: Any) -> PlatformView:
    return _VIEW.validate_python(fields)


_VIEW = TypeAdapter(PlatformView)
_PROBLEM = TypeAdapter(PayloadProblem)

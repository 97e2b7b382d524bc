"""Shopify's webhooks as hints (docs/vendors/shopify.md §10): how a delivery is verified and
keyed, and which returns and orders its body names.

Shopify signs the raw body with the app's client secret (HMAC-SHA256, base64, header
`X-Shopify-Hmac-Sha256`); a retry keeps its `X-Shopify-Webhook-Id`, which is how it is
stored once. While a rotated secret takes effect ("up to an hour"), deliveries signed with
the previous one are accepted too. Deliveries may come a day late, out of order or not at
all, and whether a change to a return moves its order's `updatedAt` is not documented
(§2.2): a delivery only names what the next incremental read fetches again, the read says
what is true.

What a body names, by topic (REST payloads, snake_case; ids are JSON integers that may
exceed 2**53, kept as integers):

- `returns/*` (§8.6): the return (`admin_graphql_api_id`, else `id`), else its `order`;
- `refunds/create` (§8.5): the refund's `return` when it has one, else `order_id`;
- `reverse_fulfillment_orders/dispose`: its payload is not documented (§10): whatever of a
  return, an order, a reverse fulfillment order or a refund it names (top-level
  `admin_graphql_api_id`, `order_id`, `return_id`, or such an object's id); the connector
  asks Shopify for the order of a reverse fulfillment order or refund.

A body that names none of these (or is not JSON) is skipped: the read from the order
cursor still runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...connectors.base import InboxEvent, WebhookSpec
from ...inbox.verify import hmac_sha256_base64

SIGNATURE = "x-shopify-hmac-sha256"
DELIVERY_ID = "x-shopify-webhook-id"
TOPIC = "x-shopify-topic"
#: Kept with a body: when Shopify triggered it (a retry carries the original moment), the
#: API version of its payload, the shop, and the event several topics may share.
KEPT = frozenset({"x-shopify-triggered-at", "x-shopify-api-version",
                  "x-shopify-shop-domain", "x-shopify-event-id"})
#: The topics whose deliveries name something to read again (§10); others are ignored.
TOPICS = ("returns/", "refunds/create", "reverse_fulfillment_orders/dispose",
          "reverse_deliveries/attach_deliverable")

#: Shopify's ids are 64-bit integers: a longer number is no id of theirs.
_GID = re.compile(r"^gid://shopify/(Order|Return|ReverseFulfillmentOrder|Refund)/([0-9]{1,19})$")
_MAX_ID = 2**63 - 1
#: Keys of a body that hold an object (or a bare id) of a kind, as Shopify's REST names them.
_KINDS = {"order": "Order", "return": "Return",
          "reverse_fulfillment_order": "ReverseFulfillmentOrder", "refund": "Refund"}
#: A topic's own resource: its top-level `id` is one of these.
_TOPIC_KIND = {"returns/": "Return", "refunds/": "Refund",
               "reverse_fulfillment_orders/": "ReverseFulfillmentOrder"}


def webhook_spec(secrets: Sequence[str]) -> WebhookSpec:
    """Verify with any of `secrets` (the current client secret first, then the previous
    one while a rotation takes effect)."""
    checks = [hmac_sha256_base64(secret) for secret in secrets if secret]
    if not checks:
        raise ValueError("Shopify's webhooks need the app's client secret")

    def verify(headers: Mapping[str, str], raw_body: bytes) -> bool:
        given = headers.get(SIGNATURE)
        return any(check(given, raw_body) for check in checks)

    def header(name: str) -> Callable[[Mapping[str, str], bytes], str]:
        return lambda headers, _body: (headers.get(name) or "").strip()

    return WebhookSpec(verify=verify, delivery_id=header(DELIVERY_ID), topic=header(TOPIC),
                       suffix="webhooks", keep_headers=KEPT)


@dataclass(slots=True)
class Hints:
    """What deliveries named, as global ids, each once, in the order first named."""

    _named: dict[str, None] = field(default_factory=dict)
    #: Deliveries of a hinting topic that named nothing readable.
    unreadable: int = 0

    def add(self, gid: str) -> None:
        self._named.setdefault(gid, None)

    def _of(self, *kinds: str) -> list[str]:
        return [gid for gid in self._named if gid.split("/")[3] in kinds]

    @property
    def returns(self) -> list[str]:
        return self._of("Return")

    @property
    def orders(self) -> list[str]:
        return self._of("Order")

    @property
    def others(self) -> list[str]:
        """Reverse fulfillment orders and refunds: their order is asked of Shopify."""
        return self._of("ReverseFulfillmentOrder", "Refund")

    def __bool__(self) -> bool:
        return bool(self._named)


def read_hints(events: Iterable[InboxEvent]) -> Hints:
    hints = Hints()
    for event in events:
        topic = event.topic.strip().lower()
        if not topic.startswith(TOPICS):
            continue
        named = named_by(topic, _body(event.body))
        if not named:
            hints.unreadable += 1
        for gid in named:
            hints.add(gid)
    return hints


def named_by(topic: str, body: Any) -> list[str]:
    """The global ids a delivery of `topic` names that find its return most directly: the
    return's; else its order's; else a reverse fulfillment order's or refund's."""
    if not isinstance(body, Mapping):
        return []
    own = next((kind for prefix, kind in _TOPIC_KIND.items() if topic.startswith(prefix)),
               None)
    found: list[str] = []
    if own is not None:
        found += _ids(own, body)
    for key, kind in _KINDS.items():
        value = body.get(key)
        if isinstance(value, Mapping):
            found += _ids(kind, value)
        found += _ids(kind, {"id": body.get(f"{key}_id")})
    unique = list(dict.fromkeys(found))
    for kind in ("/Return/", "/Order/"):
        direct = [g for g in unique if kind in g]
        if direct:
            return direct
    return unique


def _ids(kind: str, holder: Mapping[str, Any]) -> list[str]:
    out = []
    gid = holder.get("admin_graphql_api_id")
    if isinstance(gid, str):
        match = _GID.match(gid.strip())
        if match and match.group(1) == kind:
            out.append(match.group(0))
    number = holder.get("id")
    if isinstance(number, int) and not isinstance(number, bool) and 0 < number <= _MAX_ID:
        out.append(f"gid://shopify/{kind}/{number}")
    return [gid for gid in out if int(gid.rsplit("/", 1)[1]) <= _MAX_ID]


def _body(raw: bytes) -> Any:
    """The body as JSON, or None: whatever a delivery holds (nesting too deep to parse
    included) is a delivery that names nothing, never an error of the read."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None

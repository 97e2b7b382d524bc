"""Happy Returns' webhooks (docs/vendors/happy-returns.md §4): how a delivery is verified,
keyed and routed.

`X-Hr-Signature` carries a 64-hex-digit digest (§4.3); the page that says how it is made was
not retrieved, so the scheme is the profile's (`signature_scheme`, default HMAC-SHA256 of the
raw body with the webhook secret, hex: U2, U3). No delivery id or event time is documented
(§4.4): a delivery is the SHA-256 of its raw body (the same body twice is one delivery, U14),
and it is dated by when it arrived. The topic is `webhookType` when the body has one, else
its `event` (§4.1, §9).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ...connectors.base import WebhookSpec
from ...connectors.http import decode_json
from ...inbox.verify import from_header, hmac_sha256_base64, hmac_sha256_hex

SIGNATURE = "x-hr-signature"
#: Served at /hooks/happy_returns/webhooks: the one address every subscription posts to.
SUFFIX = "webhooks"
RETURN_TOPIC = "return.asn"
LABEL_TOPIC = "return.label.update"
#: return.asn's `event` values seen in the docs (§4.1); others are kept, unread (U11).
ASN_EVENTS = frozenset({"return_status_updated", "return_dropoff_method_created"})


def webhook_spec(secret: str, scheme: str) -> WebhookSpec:
    if scheme == "hmac_sha256_hex":
        verify = from_header(SIGNATURE, hmac_sha256_hex(secret))
    elif scheme == "hmac_sha256_base64":
        verify = from_header(SIGNATURE, hmac_sha256_base64(secret))
    else:
        def verify(headers: Mapping[str, str], raw_body: bytes) -> bool:
            return True  # the profile says deliveries are not signed (kept as they came)
    return WebhookSpec(verify=verify, delivery_id=delivery_id, topic=topic, suffix=SUFFIX)


def delivery_id(headers: Mapping[str, str], raw_body: bytes) -> str:
    """The body's SHA-256: Happy Returns documents no delivery id (U14)."""
    return hashlib.sha256(raw_body).hexdigest()


def topic(headers: Mapping[str, str], raw_body: bytes) -> str:
    """`webhookType` when present, else the kind `event` names (§9); "unknown" otherwise
    (stored, read as nothing)."""
    body = _body(raw_body)
    kind = body.get("webhookType")
    if isinstance(kind, str) and kind.strip():
        return kind.strip()
    event = body.get("event")
    if isinstance(event, str):
        if event.startswith("return_label_"):
            return LABEL_TOPIC
        if event in ASN_EVENTS:
            return RETURN_TOPIC
    return "unknown"


def _body(raw_body: bytes) -> dict[str, Any]:
    try:
        found = decode_json(raw_body)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}

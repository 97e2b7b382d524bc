"""Happy Returns conformance: deliveries as docs/vendors/happy-returns.md §4 and §8 give
them (the return.asn and return.label.update samples, merged events newest first, one item
per unit) folded by the connector (`from_events`), and the 429 body of §8.3.

Each case in cases/*.json lists deliveries (`topic`, `received_at`, the parsed `body`) and
what the batch must hold, its views by return reference. The docs' samples are cut short
(§8): a case builds on their visible part. See tests/conformance/checker.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from returns_console.connectors.base import InboxEvent
from returns_console.systems.happy_returns.connector import (
    HappyReturnsConnector,
    _bucket_wait,
)
from returns_console.systems.happy_returns.fold import Settings
from returns_console.systems.happy_returns.webhooks import topic, webhook_spec
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")


def _connector() -> HappyReturnsConnector:
    return HappyReturnsConnector(base_url="https://partner.happyreturns.com", api_key="key",
                                 settings=Settings(retailer_id="modern-retailer"),
                                 webhook_secret=lambda: "secret")


def _events(deliveries: list[dict[str, Any]]) -> list[InboxEvent]:
    out = []
    for n, kept in enumerate(deliveries):
        body = kept["body"]
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        out.append(InboxEvent(system="happy_returns", delivery_id=f"d{n}",
                              topic=kept.get("topic") or topic({}, raw),
                              received_at=datetime.fromisoformat(kept["received_at"]),
                              body=raw, seq=n + 1))
    return out


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES)
def test_happy_returns_case(case: dict) -> None:
    check_citation(case)
    failures: list[str] = []
    for name, data, expect in variants(case, "deliveries"):
        batch = _connector().from_events(_events(data), None)
        shown = {"views": {v.return_ref: v for v in batch.views}, "problems": batch.problems}
        failures += check(shown, expect, name)
        if not any(path.startswith("problems") for path in expect) and batch.problems:
            failures.append(f"{name}: unexpected problems: {batch.problems}")
    assert not failures, "\n".join(failures)


def test_a_delivery_is_routed_by_its_webhook_type_else_its_event() -> None:
    """§4.1, §9: the label sample carries webhookType; the return sample only event."""
    label = {"event": "return_label_update", "webhookType": "return.label.update"}
    assert topic({}, json.dumps(label).encode()) == "return.label.update"
    assert topic({}, json.dumps({"event": "return_status_updated"}).encode()) == "return.asn"
    assert topic({}, b"not json") == "unknown"


def test_the_signature_is_an_hmac_of_the_raw_body_and_the_docs_example_is_a_placeholder() -> None:
    """§4.3: the docs' X-Hr-Signature example is the same 64 hex digits on both pages, for
    different bodies: a placeholder, which no key verifies. The profile's scheme (U2):
    lowercase hex HMAC-SHA256 of the raw body with the webhook secret."""
    raw = json.dumps({"event": "return_label_update"}).encode()
    spec = webhook_spec("secret", "hmac_sha256_hex")
    placeholder = "bab3130e011ba9522d5919bcf9075649b24f9fdfc928b3d2accc99a53aaf3c34"
    assert not spec.verify({"x-hr-signature": placeholder}, raw)
    good = hmac.new(b"secret", raw, hashlib.sha256).hexdigest()
    assert spec.verify({"x-hr-signature": good}, raw)
    assert not spec.verify({}, raw)
    assert spec.delivery_id({}, raw) == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("body", [
    # §8.3 as printed (not JSON: an unquoted key, typographic quotes), with X filled in
    "{ ErrorMessage: \u201ctoo many requests: limit 0.500000 requests/sec, leaky bucket "
    "size 4\u201d }",
    '{"ErrorMessage":"too many requests: limit 0.5 requests/sec, leaky bucket size 4"}',
])
def test_a_429_says_how_long_to_wait_in_its_body(body: str) -> None:
    """§3: no Retry-After; "you should be able to make the request again after X seconds"."""
    response = httpx.Response(429, text=body)
    assert _bucket_wait(response) == 4.0

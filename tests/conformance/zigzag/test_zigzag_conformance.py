"""ZigZag conformance: what docs/vendors/zigzag.md documents (the six statuses and their
flow, ISO 8601 in the basic form, the token call, the webhook retry policy) through the
connector, with the sandbox's field names for what is not published (§2, §9: each a
profile option; the defaults are the first candidates of docs/zigzag-mapping.md).

Each case in cases/*.json gives the returns a list read answered (`records`) and what the
batch must hold, its views by return id. See tests/conformance/checker.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from returns_console.connectors.errors import MisconfiguredError
from returns_console.systems.zigzag.connector import ZigZagConnector, _token_of
from returns_console.systems.zigzag.options import ZigZagOptions
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")


def _connector(**options: object) -> ZigZagConnector:
    return ZigZagConnector(base_url="https://api.returns.international", username="u",
                           password="p", webhook_secret=lambda: "s",
                           options=ZigZagOptions(retailer_code="GL123", **options))


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES)
def test_zigzag_case(case: dict) -> None:
    check_citation(case)
    failures: list[str] = []
    for name, data, expect in variants(case, "records"):
        batch = _connector().batch(data)
        shown = {"views": {v.return_ref: v for v in batch.views}, "problems": batch.problems}
        failures += check(shown, expect, name)
        if not any(path.startswith("problems") for path in expect) and batch.problems:
            failures.append(f"{name}: unexpected problems: {batch.problems}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("body", "content_type"), [
    ('"eyJ0eXAiOiJKV1QifQ.e30.sig"', "application/json"),   # a JSON string
    ("eyJ0eXAiOiJKV1QifQ.e30.sig", "text/plain"),           # a bare JWT
    ('{"token": "eyJ0eXAiOiJKV1QifQ.e30.sig"}', "application/json"),
    ('{"accessToken": "eyJ0eXAiOiJKV1QifQ.e30.sig"}', "application/json"),
])
def test_the_token_answer_may_be_bare_or_an_object(body: str, content_type: str) -> None:
    """§1.1 documents a JWT from POST /token, not its answer's shape (U3)."""
    response = httpx.Response(200, text=body, headers={"content-type": content_type})
    assert _token_of(response) == "eyJ0eXAiOiJKV1QifQ.e30.sig"


def test_no_list_path_is_a_clear_refusal_naming_the_option() -> None:
    """§2: no return-list path is public; the read never guesses one (U5)."""
    connector = _connector()
    with pytest.raises(MisconfiguredError, match="returns_list_path"):
        asyncio.run(connector.fetch_returns())
    asyncio.run(connector.aclose())


def test_a_webhook_carries_the_agreed_secret_and_a_resend_is_one_delivery() -> None:
    """§4.1: Unauthorized and Forbidden are retried, so callers authenticate (U19); a
    failed delivery is sent again daily as it was (U20: one delivery per body)."""
    spec = _connector().webhook()
    body = json.dumps({"event": "return.updated", "returnId": "ZZ-1"}).encode()
    assert spec.verify({"authorization": "s"}, body)
    assert spec.verify({"authorization": "Bearer s"}, body)
    assert not spec.verify({"authorization": "other"}, body)
    assert not spec.verify({}, body)
    assert spec.delivery_id({}, body) == hashlib.sha256(body).hexdigest()
    assert spec.topic({}, body) == "return.updated"

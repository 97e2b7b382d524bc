"""Business Central writes over real loopback HTTP against the demo sandbox, proved by its
write journal (GET/DELETE /_sandbox/writes) and driven by its knobs (/_sandbox/bump,
/_sandbox/fail-writes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from returns_console.connectors.errors import ConflictError, ServerError
from returns_console.connectors.http import RetryPolicy
from returns_console.domain.postings import CreditLine, CreditRequest, RecordRef
from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.systems.d365_bc.connector import BcSettings, BusinessCentralConnector
from returns_console.systems.d365_bc.simulator import DEMO_CLIENT_SECRET

NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = DEMO_CLIENT_SECRET


@pytest.fixture(scope="module")
def served():
    box = build_sandbox(NOW, returns=30)
    with BackgroundServer(box.app()) as server:
        yield box, server.url


def connector(url: str, box) -> BusinessCentralConnector:
    options = box.profile(url).erp.options
    return BusinessCentralConnector(
        BcSettings(base_url=f"{url}/d365_bc", tenant=options["tenant"],
                   environment=options["environment"], client_id=options["client_id"],
                   client_secret=SECRET, token_url=options["token_url"],
                   company=options["company"]),
        retry=RetryPolicy(attempts=3, initial=0.0, maximum=0.0, jitter=0.0))


def journal(url: str) -> list[dict]:
    answer = httpx.get(f"{url}/_sandbox/writes")
    assert answer.status_code == 200
    return json.loads(answer.content, parse_float=Decimal)


def clear(url: str) -> None:
    assert httpx.delete(f"{url}/_sandbox/writes").status_code == 200
    assert journal(url) == []


async def test_create_and_post_over_loopback_as_the_journal_shows(served) -> None:
    box, url = served
    clear(url)
    request = CreditRequest(
        link="R-LOOP-1", customer_ref="C00003", currency="GBP",
        lines=(CreditLine("CAP-WOOL", Decimal(1), "PCS", Decimal("12.345"), "RETURNS"),),
        shipping=Decimal("3.99"))
    bc = connector(url, box)
    try:
        assert (await bc.find_by_link("R-LOOP-1")).views == {}
        described = bc.describe_create_credit(request)
        created = await bc.create_credit(request)
        described_post = bc.describe_post_credit(created)
        posted = await bc.post_credit(created, "R-LOOP-1")
        view = (await bc.find_by_link("R-LOOP-1")).views["R-LOOP-1"]
    finally:
        await bc.aclose()
    assert [n.number for n in view.credit_notes] == [posted.number]
    assert view.credit_notes[0].amounts.shipping == Decimal("3.99")
    create, post = journal(url)
    assert (create["method"], create["path"], create["status"]) == (
        "POST", described["path"], 201)
    assert create["body"] == described["body"]
    assert create["body"]["salesCreditMemoLines"][0]["unitPrice"] == Decimal("12.345")
    assert (post["method"], post["path"], post["status"]) == (
        "POST", described_post["path"], 204)
    text = json.dumps([create, post], default=str)
    assert SECRET not in text and "authorization" not in text.lower()
    assert "bearer" not in text.lower()


async def test_a_concurrent_edit_then_a_retry_over_loopback(served) -> None:
    box, url = served
    bc = connector(url, box)
    try:
        await bc.find_by_link("R-LOOP-2")
        created = await bc.create_credit(CreditRequest(
            link="R-LOOP-2", customer_ref="C00004", currency="GBP",
            lines=(CreditLine("SOCK-W", Decimal(2)),)))
        clear(url)
        bumped = httpx.post(f"{url}/_sandbox/bump", params={
            "entity": "salesCreditMemos", "id": created.record_id}).json()
        assert bumped["@odata.etag"] != created.etag
        ref = RecordRef("d365_bc", "salesCreditMemos", created.record_id)
        with pytest.raises(ConflictError) as caught:
            await bc.set_link(ref, created.etag, "R-LOOP-2B")
        assert caught.value.fresh["@odata.etag"] == bumped["@odata.etag"]
        result = await bc.set_link(ref, caught.value.fresh["@odata.etag"], "R-LOOP-2B")
    finally:
        await bc.aclose()
    assert result.record["externalDocumentNumber"] == "R-LOOP-2B"
    assert [(w["method"], w["status"]) for w in journal(url)] == [("PATCH", 409),
                                                                  ("PATCH", 200)]
    assert httpx.post(f"{url}/_sandbox/bump", params={
        "entity": "salesCreditMemos", "id": "no-such"}).status_code == 404


async def test_a_failing_write_is_sent_once_over_loopback(served) -> None:
    box, url = served
    clear(url)
    knob = httpx.post(f"{url}/_sandbox/fail-writes", params={"count": 1, "status": 503})
    assert knob.json() == {"failing": 1, "status": 503, "after": False}
    bc = connector(url, box)
    try:
        await bc.find_by_link("R-LOOP-3")
        with pytest.raises(ServerError):
            await bc.create_credit(CreditRequest(
                link="R-LOOP-3", customer_ref="C00005", currency="GBP",
                lines=(CreditLine("SOCK-W", Decimal(1)),)))
        assert (await bc.find_by_link("R-LOOP-3")).views == {}
    finally:
        await bc.aclose()
    assert [(w["method"], w["status"]) for w in journal(url)] == [("POST", 503)]
    index = httpx.get(f"{url}/_sandbox").json()
    assert index["writes"] == f"{url}/_sandbox/writes"

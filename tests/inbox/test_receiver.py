"""The receiver over HTTP: what a sender is answered, what is stored, what is never echoed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from returns_console.connectors.base import WebhookSpec
from returns_console.inbox.receiver import receiver
from returns_console.sandbox.server import BackgroundServer
from returns_console.store.inbox import MAX_BODY, Inbox

from .fake_source import DELIVERY, SIGNATURE, SUFFIX, SYSTEM, TOPIC, FakeSource, delivery

URL = f"/hooks/{SYSTEM}/{SUFFIX}"
MARKER = "customer-7a1f@example.com"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def ticking() -> Iterator[datetime]:
    n = 0
    while True:
        yield T0 + timedelta(seconds=n)
        n += 1


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return Inbox(tmp_path / "inbox.sqlite3")


def app_for(inbox: Inbox, **kw: int) -> Starlette:
    clock = ticking()
    return receiver(inbox, {SYSTEM: FakeSource().webhook()}, clock=lambda: next(clock), **kw)


@pytest.fixture
async def client(inbox: Inbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(inbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        yield http


def payload(ticket: str = "T-1", **more: str) -> dict[str, str]:
    return {"ticket": ticket, "sale": "S-1", "at": "2026-03-01T10:00:00+00:00",
            "email": MARKER, **more}


async def test_a_signed_delivery_is_stored_and_its_retry_is_not(client: httpx.AsyncClient,
                                                                inbox: Inbox) -> None:
    body, headers = delivery("d-1", "parcel.seen", payload())
    first = await client.post(URL, content=body, headers=headers)
    again = await client.post(URL, content=body, headers=headers)
    assert (first.status_code, first.json()) == (200, {"stored": True})
    assert (again.status_code, again.json()) == (200, {"stored": False})
    [kept] = inbox.events(SYSTEM)
    assert (kept.delivery_id, kept.topic, kept.body) == ("d-1", "parcel.seen", body)
    assert kept.received_at == T0  # the first arrival's stamp: the retry changed nothing
    assert dict(kept.headers) == {TOPIC: "parcel.seen"}  # only what the spec keeps


async def test_arrival_order_is_kept(client: httpx.AsyncClient, inbox: Inbox) -> None:
    ids = [f"d-{n}" for n in (5, 1, 4, 2, 3)]
    for delivery_id in ids:
        body, headers = delivery(delivery_id, "parcel.seen", payload(delivery_id))
        assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    read = inbox.events(SYSTEM)
    assert [e.delivery_id for e in read] == ids
    assert inbox.last_received(SYSTEM) == T0 + timedelta(seconds=len(ids) - 1)


@pytest.mark.parametrize("how", ["missing", "wrong secret", "tampered", "garbage"])
async def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(
        client: httpx.AsyncClient, inbox: Inbox, how: str) -> None:
    body, headers = delivery("d-1", "parcel.seen", payload(),
                             secret="someone-else" if how == "wrong secret" else
                             "not-a-real-secret-9f2c")
    if how == "missing":
        del headers[SIGNATURE]
    elif how == "tampered":
        body = body.replace(b"T-1", b"T-2")
    elif how == "garbage":
        headers[SIGNATURE] = "\x1b[2J" + "?" * 70
    answer = await client.post(URL, content=body, headers=headers)
    assert answer.status_code == 401
    assert inbox.count(SYSTEM) == 0
    assert MARKER not in answer.text


async def test_a_signed_delivery_without_an_id_is_400(client: httpx.AsyncClient,
                                                     inbox: Inbox) -> None:
    for delivery_id in (None, "", "   "):
        body, headers = delivery(delivery_id, "parcel.seen", payload())
        assert (await client.post(URL, content=body, headers=headers)).status_code == 400
    assert inbox.count(SYSTEM) == 0


async def test_an_unknown_system_or_path_is_404(client: httpx.AsyncClient,
                                               inbox: Inbox) -> None:
    body, headers = delivery("d-1", "parcel.seen", payload())
    for url in ("/hooks/nobody/parcels", f"/hooks/{SYSTEM}/other", f"/hooks/{SYSTEM}",
                "/elsewhere"):
        answer = await client.post(url, content=body, headers=headers)
        assert answer.status_code == 404, url
        assert "nobody" not in answer.text and MARKER not in answer.text
    assert inbox.count(SYSTEM) == 0


async def test_health_answers(client: httpx.AsyncClient) -> None:
    answer = await client.get("/hooks/health")
    assert (answer.status_code, answer.json()) == (200, {"ok": True})


async def test_a_body_over_the_cap_is_413_announced_or_streamed(inbox: Inbox) -> None:
    transport = httpx.ASGITransport(app=app_for(inbox, max_body=1000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        at_cap, headers = delivery("ok", "parcel.seen", b"x" * 1000)
        assert (await http.post(URL, content=at_cap, headers=headers)).status_code == 200
        over, headers = delivery("big", "parcel.seen", b"x" * 1001)
        assert (await http.post(URL, content=over, headers=headers)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted as read
            for _ in range(11):
                yield b"y" * 100

        headers[DELIVERY] = "streamed"
        answer = await http.post(URL, content=chunks(), headers=headers)
        assert answer.status_code == 413
    assert [e.delivery_id for e in inbox.events(SYSTEM)] == ["ok"]


async def test_the_default_cap_is_five_megabytes(inbox: Inbox) -> None:
    transport = httpx.ASGITransport(app=app_for(inbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        body, headers = delivery("big", "parcel.seen", b"x" * (MAX_BODY + 1))
        assert (await http.post(URL, content=body, headers=headers)).status_code == 413
    assert MAX_BODY == 5 * 1024 * 1024
    assert inbox.count(SYSTEM) == 0


async def test_the_inboxs_own_cap_is_413_too(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "small.sqlite3", max_body=10)
    transport = httpx.ASGITransport(app=app_for(inbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        body, headers = delivery("d", "parcel.seen", b"x" * 11)
        assert (await http.post(URL, content=body, headers=headers)).status_code == 413
    assert inbox.count(SYSTEM) == 0


async def test_control_characters_are_kept_in_the_body_and_made_visible_elsewhere(
        client: httpx.AsyncClient, inbox: Inbox) -> None:
    body = (b'{"ticket": "T-9", "at": "2026-03-01T10:00:00+00:00", '
            b'"grade": "\x1b]0;owned\x07\r\xc2\x9b2J", "sale": "\\u001b[2J"}')
    _, headers = delivery("d-\x1b[31m", "parcel.graded\x07", body)
    answer = await client.post(URL, content=body, headers=headers)
    assert answer.json() == {"stored": True}
    [kept] = inbox.events(SYSTEM)
    assert kept.body == body  # byte for byte, as signed
    assert kept.delivery_id == "d-␛[31m" and kept.topic == "parcel.graded␇"
    assert "\x1b" not in json.dumps(dict(kept.headers), ensure_ascii=False)
    assert "\x1b" not in answer.text


async def test_nothing_the_request_carried_is_echoed(client: httpx.AsyncClient) -> None:
    body, headers = delivery("d-echo", "parcel.seen", payload())
    headers["x-private"] = "header-9c3e"
    for sig in (headers[SIGNATURE], "bad"):
        headers[SIGNATURE] = sig
        answer = await client.post(URL, content=body, headers=headers)
        for secretish in (MARKER, "header-9c3e", "d-echo", sig):
            assert secretish not in answer.text
            assert all(secretish not in v for v in answer.headers.values())


async def test_a_spec_that_raises_refuses_instead_of_failing(inbox: Inbox) -> None:
    def boom(_headers: object, _body: bytes) -> bool:
        raise RuntimeError("broken spec")

    def no_id(_headers: object, _body: bytes) -> str:
        raise KeyError("id")

    good = FakeSource().webhook()
    specs = {"raises": WebhookSpec(verify=boom, delivery_id=good.delivery_id,
                                   topic=good.topic, suffix="x"),
             "noid": WebhookSpec(verify=good.verify, delivery_id=no_id, topic=good.topic,
                                 suffix="x")}
    transport = httpx.ASGITransport(app=receiver(inbox, specs))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        body, headers = delivery("d", "parcel.seen", payload())
        assert (await http.post("/hooks/raises/x", content=body,
                                headers=headers)).status_code == 401
        assert (await http.post("/hooks/noid/x", content=body,
                                headers=headers)).status_code == 400
    assert inbox.count("raises") == inbox.count("noid") == 0


def test_a_real_post_on_loopback(inbox: Inbox) -> None:
    body, headers = delivery("d-live", "parcel.seen", payload())
    with BackgroundServer(receiver(inbox, {SYSTEM: FakeSource().webhook()})) as server, \
            httpx.Client(base_url=server.url, trust_env=False) as http:
        assert http.get("/hooks/health").status_code == 200
        assert http.post(URL, content=body, headers=headers).json() == {"stored": True}
        assert http.post(URL, content=body, headers=headers).json() == {"stored": False}
        assert http.post(URL, content=body + b" ", headers=headers).status_code == 401
    [kept] = inbox.events(SYSTEM)
    assert kept.body == body


async def test_a_delivery_without_a_type_is_400(inbox: Inbox) -> None:
    good = FakeSource().webhook()
    spec = WebhookSpec(verify=good.verify, delivery_id=good.delivery_id,
                       topic=lambda _h, _b: "  ", suffix="x")
    transport = httpx.ASGITransport(app=receiver(inbox, {"untyped": spec}))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        body, headers = delivery("d", "ignored", payload())
        assert (await http.post("/hooks/untyped/x", content=body,
                                headers=headers)).status_code == 400
    assert inbox.count("untyped") == 0


async def test_an_inbox_that_cannot_store_now_is_503_so_the_sender_retries(
        inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(_event: object) -> bool:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(inbox, "receive", locked)
    transport = httpx.ASGITransport(app=app_for(inbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        body, headers = delivery("d", "parcel.seen", payload())
        answer = await http.post(URL, content=body, headers=headers)
    assert answer.status_code == 503
    assert MARKER not in answer.text and "locked" not in answer.text

"""A channel's feed answer is decided from the answers recorded so far, so two pulls at once
(or two `listen` processes on one inbox) must never both serve the same return: each
return goes to Khaos once, whichever receiver answers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from pydantic import SecretStr

from returns_console.connectors.base import ChannelContext, PlatformBatch
from returns_console.domain.codes import Stage, StageStatus
from returns_console.domain.model import PlatformLine, PlatformView, StageView
from returns_console.domain.reference import Mappings
from returns_console.inbox.receiver import receiver
from returns_console.store.inbox import Inbox
from returns_console.systems.khaos import protocol as wire
from returns_console.systems.khaos.connector import KhaosConnector
from returns_console.systems.khaos.options import KhaosOptions

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AUTH = {"authorization": wire.basic_header("khaos", "control")}


def _view(n: int) -> PlatformView:
    return PlatformView(
        system="swap", return_ref=f"R-{n}", order_ref=f"#{n}", created_at=NOW,
        stages={Stage.AUTHORISED: StageView(status=StageStatus.DONE,
                                            at=NOW - timedelta(hours=n))},
        lines=[PlatformLine(line_ref="1", sku="SKU-1", quantity=Decimal(1), reason="size")])


def _app(inbox: Inbox, views: list[PlatformView], gate: asyncio.Event | None):
    options = KhaosOptions(urn="WEB", backfill_days=30, default_reason_id="R1")
    connector = KhaosConnector(base_url="https://console.example", options=options,
                               credentials=lambda: (SecretStr("khaos"), SecretStr("control")))

    async def returns() -> PlatformBatch:
        if gate is not None:
            await gate.wait()  # both pulls decide before either records
        return PlatformBatch(views=views)

    routes = connector.channel(ChannelContext(
        returns=returns, history=lambda: inbox.events("khaos"), mappings=Mappings))
    return receiver(inbox, {}, clock=lambda: NOW, channels={"khaos": routes})


def _served(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["AssociatedRef"] for r in json.loads(answer.content)["Returns"]]


async def _pull_together(apps: list, gate: asyncio.Event) -> list[httpx.Response]:
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") for app in apps]
    try:
        # both echo the first-contact continuation, as Khaos's first pulls do (§4)
        first = {**AUTH, wire.CONTINUATION: "2019-12-31 12:00:00Z"}
        pulls = [asyncio.create_task(c.get(f"/hooks/khaos/{wire.SUFFIXES[wire.RETURNS]}",
                                           headers=first)) for c in clients]
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(*pulls))
    finally:
        for c in clients:
            await c.aclose()


def test_two_pulls_at_once_serve_each_return_once(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite")
    views = [_view(n) for n in (1, 2, 3)]

    async def go() -> list[httpx.Response]:
        gate = asyncio.Event()
        app = _app(inbox, views, gate)
        return await _pull_together([app, app], gate)

    first, second = asyncio.run(go())
    served = _served(first) + _served(second)
    assert sorted(served) == ["R-1", "R-2", "R-3"]  # each once, none twice
    assert inbox.count("khaos") == 2  # both answers recorded, one after the other
    # the next pull echoes the newest answer's continuation: nothing is lost, nothing
    # offered again (the other pull, made at the same time, said nothing of it)
    newest = json.loads(inbox.events("khaos")[-1].body)["continuation_out"]

    async def then() -> httpx.Response:
        app = _app(inbox, views, None)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            return await client.get(f"/hooks/khaos/{wire.SUFFIXES[wire.RETURNS]}",
                                    headers={**AUTH, wire.CONTINUATION: newest})

    assert _served(asyncio.run(then())) == []


def test_two_listens_on_one_inbox_serve_each_return_once(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    views = [_view(n) for n in (1, 2)]

    async def go() -> list[httpx.Response]:
        gate = asyncio.Event()
        # two receivers, each with its own Inbox object on the one file (two processes)
        return await _pull_together([_app(Inbox(path), views, gate),
                                     _app(Inbox(path), views, gate)], gate)

    first, second = asyncio.run(go())
    assert sorted(_served(first) + _served(second)) == ["R-1", "R-2"]


def test_an_answer_recorded_meanwhile_makes_the_next_decide_again(tmp_path: Path) -> None:
    """The inbox keeps an answer only while no other of its topic came after what it was
    decided from."""
    from returns_console.connectors.base import InboxEvent

    inbox = Inbox(tmp_path / "inbox.sqlite")

    def event(n: int) -> InboxEvent:
        return InboxEvent(system="khaos", delivery_id=f"d{n}", topic=wire.RETURNS,
                          received_at=NOW, body=b"{}")

    assert inbox.receive_if_latest([event(1)], "khaos", wire.RETURNS, 0)
    seq = inbox.last_seq("khaos")
    assert not inbox.receive_if_latest([event(2)], "khaos", wire.RETURNS, 0)
    assert inbox.count("khaos") == 1
    assert inbox.receive_if_latest([event(3)], "khaos", wire.RETURNS, seq)
    # an event of another topic (a push) does not make an answer stale
    inbox.receive(InboxEvent(system="khaos", delivery_id="push", topic=wire.STOCK,
                             received_at=NOW, body=b"{}"))
    assert inbox.receive_if_latest([event(4)], "khaos", wire.RETURNS,
                                   inbox.last_seq("khaos") - 1)


def test_a_handler_failure_is_logged_without_what_it_said(tmp_path: Path, caplog) -> None:
    """A 500 says nothing to the sender; the operator's log names the failure and where it
    was raised, never its message (it may quote what a system sent)."""
    import logging

    from returns_console.connectors.base import ChannelRequest, ChannelRoute

    async def broken(_request: ChannelRequest):
        raise ValueError("customer jane@example.com secret=hunter2")

    app = receiver(Inbox(tmp_path / "inbox.sqlite"), {}, clock=lambda: NOW,
                   channels={"khaos": [ChannelRoute("GET", "x", broken)]})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            return await client.get("/hooks/khaos/x")

    with caplog.at_level(logging.ERROR):
        answer = asyncio.run(go())
    assert answer.status_code == 500 and b"jane" not in answer.content
    logged = caplog.text
    assert "ValueError at test_channel_serialised.py:" in logged
    assert "jane" not in logged and "hunter2" not in logged


def test_the_consoles_own_instructions_are_not_the_systems_freshness(tmp_path: Path) -> None:
    from returns_console.connectors.base import OWN_TOPIC_PREFIX, InboxEvent

    inbox = Inbox(tmp_path / "inbox.sqlite")
    inbox.receive(InboxEvent(system="khaos", delivery_id="push", topic=wire.STOCK,
                             received_at=NOW, body=b"{}"))
    inbox.receive(InboxEvent(system="khaos", delivery_id="mine",
                             topic=f"{OWN_TOPIC_PREFIX}reoffer",
                             received_at=NOW + timedelta(days=1), body=b"{}"))
    assert inbox.last_received("khaos") == NOW

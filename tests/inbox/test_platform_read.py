"""A platform that cannot be listed, read through the live check as the services read any
system: its pushed deliveries from the inbox, the returns the ERP knows looked up one by one
at the platform's rate, and an honest account of what is still missing (never all clear)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from returns_console.config import Profile, SystemSettings
from returns_console.inbox.receiver import receiver
from returns_console.sandbox.demo import Sandbox, build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services import platform_read
from returns_console.services.live import fetch_live
from returns_console.store.cache import Cache
from returns_console.store.inbox import Inbox

from .fake_source import SUFFIX, SYSTEM, FakeSource, delivery
from .fake_system import lookup_app, registered, secrets

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def erp_box() -> Iterator[tuple[Sandbox, str, list[str]]]:
    box = build_sandbox(NOW, returns=12, seed=7)
    with BackgroundServer(box.app()) as server:
        profile = box.profile(server.url)
        data = asyncio.run(fetch_live(profile, box.secret))
        yield box, server.url, sorted(data.erp.views)


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch, erp_box, tmp_path: Path):
    box, url, refs = erp_box
    tickets = {ref: {"ticket": ref, "sale": f"S-{ref}", "at": "2026-03-01T10:00:00+00:00"}
               for ref in refs[:3]}
    app = lookup_app(tickets)
    with registered(monkeypatch), BackgroundServer(app) as platform_server:
        erp = box.profile(url).erp
        profile = Profile(name="pushed", erp=erp,
                          platform=SystemSettings(system=SYSTEM, base_url=platform_server.url))

        def lookup(system: str, name: str) -> str | None:
            return secrets(system, name) if system == SYSTEM else box.secret(system, name)

        yield profile, lookup, refs, app.state.served, Inbox(tmp_path / "inbox.sqlite3")


async def post(inbox: Inbox, delivery_id: str, topic: str, payload: dict) -> None:
    transport = httpx.ASGITransport(app=receiver(inbox, {SYSTEM: FakeSource().webhook()}))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        body, headers = delivery(delivery_id, topic, payload)
        answer = await http.post(f"/hooks/{SYSTEM}/{SUFFIX}", content=body, headers=headers)
        assert answer.status_code == 200


def test_nothing_received_yet_is_never_all_clear_and_looks_up_what_the_erp_knows(
        setup, monkeypatch: pytest.MonkeyPatch) -> None:
    profile, lookup, refs, served, inbox = setup
    data = asyncio.run(fetch_live(profile, lookup, inbox=inbox))
    # every reference the ERP names was asked for, once; the three the platform knows came back
    assert sorted(served) == refs
    assert sorted(v.return_ref for v in data.platform.views) == refs[:3]
    status = data.platform_status
    assert status.status == "degraded"
    assert "nothing has been received from Fake Push yet" in (status.error or "")
    assert "returns-console listen" in (status.error or "")


def test_a_lookup_backlog_is_shown_with_its_time_and_continued_next_refresh(
        setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    profile, lookup, refs, served, inbox = setup
    asyncio.run(post(inbox, "e-1", "parcel.seen",
                     {"ticket": "T-9", "sale": "S-9", "at": "2026-03-02T08:00:00+00:00"}))
    # two seconds of look-ups at two a second (one up front): five references a refresh
    monkeypatch.setattr(platform_read, "LOOKUP_WINDOW", 2.0)
    cache = Cache(tmp_path / "cache.sqlite3")
    first = asyncio.run(fetch_live(profile, lookup, inbox=inbox, cache=cache))
    assert len(served) == 5
    left = len(refs) - 5
    assert first.platform_status.status == "degraded"
    assert (f"{left} returns the ERP knows of still to look up in Fake Push, about "
            f"{-(-left // 2)} s at 2 requests/s") in (first.platform_status.error or "")
    # the pushed return is there, as fresh as its delivery
    assert "T-9" in {v.return_ref for v in first.platform.views}
    assert first.platform_status.fetched_at == inbox.last_received(SYSTEM)

    second = asyncio.run(fetch_live(profile, lookup, inbox=inbox, cache=cache))
    assert len(served) == 10 and len(set(served)) == 10  # the next five, none twice
    kept = {v.return_ref for v in second.platform.views}
    assert {"T-9", *refs[:3]} <= kept
    cache.close()


def test_deliveries_are_read_on_from_the_last_position(setup, tmp_path: Path) -> None:
    profile, lookup, refs, served, inbox = setup
    cache = Cache(tmp_path / "cache.sqlite3")
    asyncio.run(post(inbox, "e-1", "parcel.seen",
                     {"ticket": "T-9", "sale": "S-9", "at": "2026-03-02T08:00:00+00:00"}))
    first = asyncio.run(fetch_live(profile, lookup, inbox=inbox, cache=cache))
    assert platform_read.inbox_position(first.platform.cursor) == 1
    asyncio.run(post(inbox, "e-2", "parcel.graded",
                     {"ticket": "T-9", "at": "2026-03-04T08:00:00+00:00", "grade": "A"}))
    second = asyncio.run(fetch_live(profile, lookup, inbox=inbox, cache=cache))
    assert platform_read.inbox_position(second.platform.cursor) == 2
    view = {v.return_ref: v for v in second.platform.views}["T-9"]
    assert {str(s) for s in view.stages} == {"in_transit", "received"}
    assert served.count(refs[0]) == 1  # found the first time: never asked again
    cache.close()


def test_without_an_inbox_the_pushing_platform_is_down_not_empty(setup) -> None:
    profile, lookup, _refs, _served, _inbox = setup
    from returns_console.services.live import SourcesDown

    with pytest.raises(SourcesDown, match="no inbox"):
        asyncio.run(fetch_live(profile, lookup))


class Asked:
    """A look-up platform that knows nothing: every reference comes back absent."""

    system = SYSTEM

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def lookup(self, refs):
        self.asked.extend(refs)
        from returns_console.connectors.base import PlatformBatch
        return PlatformBatch()

    def merge(self, earlier, changed):
        return earlier

    def from_raw(self, kept):
        return kept

    async def check_connection(self) -> str:
        return "reachable"

    async def aclose(self) -> None:
        return None

    def webhook(self):
        return FakeSource().webhook()

    def from_events(self, events, earlier):
        return FakeSource().from_events(events, earlier)


def test_an_unknown_reference_is_asked_again_only_after_the_recheck_interval(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from datetime import timedelta

    inbox = Inbox(tmp_path / "inbox.sqlite3")
    platform = Asked()

    async def erp_refs() -> set[str]:
        return {"A", "B"}

    def read(at: datetime, earlier):
        return asyncio.run(platform_read.read_platform(
            platform, SYSTEM, earlier, inbox=inbox, erp_refs=erp_refs, now=lambda: at)).batch

    async def erp_down() -> None:
        return None

    with registered(monkeypatch):
        first = read(NOW, None)
        down = asyncio.run(platform_read.read_platform(
            platform, SYSTEM, first, inbox=inbox, erp_refs=erp_down,
            now=lambda: NOW + timedelta(minutes=30))).batch
        # an ERP that could not be read names nothing: what was asked when is kept
        assert platform_read.ReadMark.of(down.cursor).asked.keys() == {"A", "B"}
        soon = read(NOW + timedelta(hours=1), down)
        assert platform.asked == ["A", "B"]  # asked once; an hour later, not again
        read(NOW + platform_read.RECHECK_AFTER + timedelta(minutes=1), soon)
        assert platform.asked == ["A", "B", "A", "B"]


def test_the_demo_of_a_pushing_platform_delivers_over_http_and_reads_the_inbox(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from returns_console.services.demo import run_demo_check

    with registered(monkeypatch):
        report, box = run_demo_check(now=NOW, returns=12, platform=SYSTEM)
    served = {c["platform"]["return_ref"] for c in box.scenario.snapshot["returns"]}
    assert report.platform.system == SYSTEM
    assert report.platform.status == "ok", report.platform.error
    assert report.platform.records == len(served)
    assert box.platform.requests == 0  # every return came pushed: nothing to look up


def test_the_demo_session_pushes_what_changed_before_each_refresh(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from returns_console.services.session import DemoSession

    with registered(monkeypatch):
        session = DemoSession(tmp_path / "cache.sqlite3", now=NOW, returns=12, platform=SYSTEM)
        try:
            first = session.refresh().report
            assert first.platform.status == "ok" and first.platform.records >= 12
            pushed = session._push
            assert pushed is not None and pushed.inbox.count(SYSTEM) == pushed.sent
            before = pushed.sent
            session.sandbox.touch(2, NOW)
            session.refresh()
            assert pushed.sent == before + 2
        finally:
            session.close()


def test_the_contract_kit_reads_a_pushing_platform_as_it_reads_any(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new pushing system inherits: the registry contracts' check and one
    authenticated read go through the inbox and look-ups without knowing the system."""
    from tests.contracts import kit

    with registered(monkeypatch):
        box = build_sandbox(NOW, returns=12, platform=SYSTEM)
        profile = box.profile(kit.IN_PROCESS)
        data, report = kit.check(box, profile, transport=kit.in_process(box))
        assert report.platform.status == "ok" and len(data.platform.views) == 12
        from returns_console.connectors.http import CallLog
        from returns_console.services.connections import open_platform

        async def once() -> None:
            connector = open_platform(profile, box.secret, CallLog(), kit.in_process(box))
            try:
                await kit.reader(box, "platform")(connector)
            finally:
                await connector.aclose()

        asyncio.run(once())
        assert box.platform.requests == 1

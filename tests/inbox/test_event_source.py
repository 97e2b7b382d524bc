"""The push seam end to end: deliveries received over HTTP, kept in the inbox, and turned by
the system's EventSource into the same PlatformBatch a pull gives, one view per return."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from returns_console.connectors.base import (
    EventSource,
    LookupPlatform,
    PlatformBatch,
    ReturnsPlatform,
)
from returns_console.domain.codes import Stage, StageStatus
from returns_console.domain.model import PlatformView
from returns_console.inbox.receiver import receiver
from returns_console.store.inbox import Inbox

from .fake_source import SUFFIX, SYSTEM, FakeSource, delivery, platform_view

URL = f"/hooks/{SYSTEM}/{SUFFIX}"
SEEN = {"ticket": "T-1", "sale": "S-100", "at": "2026-03-01T10:00:00+00:00"}
GRADED = {"ticket": "T-1", "at": "2026-03-03T15:30:00+00:00", "grade": "resaleable"}
OTHER = {"ticket": "T-2", "sale": "S-200", "at": "2026-03-02T08:00:00+00:00"}


async def post_all(inbox: Inbox, deliveries: list[tuple[str, str, dict[str, str] | bytes]]
                   ) -> None:
    transport = httpx.ASGITransport(app=receiver(inbox, {SYSTEM: FakeSource().webhook()}))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        for delivery_id, topic, payload in deliveries:
            body, headers = delivery(delivery_id, topic, payload)
            assert (await http.post(URL, content=body, headers=headers)).status_code == 200


def by_ref(batch: PlatformBatch) -> dict[str, PlatformView]:
    return {v.return_ref: v for v in batch.views}


async def test_two_events_of_one_return_make_one_view(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    source = FakeSource()
    assert isinstance(source, EventSource)
    assert not isinstance(source, ReturnsPlatform)  # pushed, never listed
    await post_all(inbox, [("e-1", "parcel.seen", SEEN), ("e-2", "parcel.seen", OTHER),
                           ("e-1", "parcel.seen", SEEN),  # the sender retrying
                           ("e-3", "parcel.graded", GRADED),
                           ("e-4", "parcel.renamed", {"ticket": "T-1"})])  # not understood

    batch = source.from_events(inbox.events(SYSTEM), None)
    views = by_ref(batch)
    assert sorted(views) == ["T-1", "T-2"]
    one = views["T-1"]
    assert one.order_ref == "S-100"
    assert set(one.stages) == {Stage.IN_TRANSIT, Stage.RECEIVED}
    assert one.stage(Stage.IN_TRANSIT).at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    received = one.stage(Stage.RECEIVED)
    assert (received.status, received.detail) == (StageStatus.DONE, "resaleable")
    assert len(batch.raw["T-1"]) == 2  # the retry did not count twice
    assert batch.problems == {}
    assert batch.fetched_at == inbox.last_received(SYSTEM)


async def test_reading_on_from_where_the_last_read_stopped_gives_the_same_views(
        tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    source = FakeSource()
    await post_all(inbox, [("e-1", "parcel.seen", SEEN), ("e-2", "parcel.seen", OTHER)])
    first = inbox.events(SYSTEM)
    earlier = source.from_events(first, None)
    await post_all(inbox, [("e-3", "parcel.graded", GRADED)])
    later = source.from_events(inbox.events(SYSTEM, since_seq=first[-1].seq or 0), earlier)
    whole = source.from_events(inbox.events(SYSTEM), None)
    assert by_ref(later) == by_ref(whole)
    assert set(by_ref(earlier)["T-1"].stages) == {Stage.IN_TRANSIT}  # earlier untouched


async def test_an_unreadable_body_is_a_problem_and_hostile_text_is_made_visible(
        tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    hostile = dict(GRADED, grade="\x1b]0;owned\x07\x1b[2J")
    await post_all(inbox, [("e-1", "parcel.graded", hostile),
                           ("e-2", "parcel.seen", b"{not json")])
    batch = FakeSource().from_events(inbox.events(SYSTEM), None)
    detail = by_ref(batch)["T-1"].stage(Stage.RECEIVED).detail or ""
    assert "\x1b" not in detail and "\x07" not in detail and "␛" in detail
    assert list(batch.problems) == ["e-2"]


class FakeLookup:
    """A platform answered one reference at a time; it knows T-1 only."""

    system = SYSTEM

    async def lookup(self, refs: Sequence[str]) -> PlatformBatch:
        return PlatformBatch(views=[platform_view(system=SYSTEM, return_ref=r)
                                    for r in refs if r == "T-1"])

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        return PlatformBatch(views=[*earlier.views, *changed.views])

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        return kept

    async def check_connection(self) -> str:
        return "reachable"

    async def aclose(self) -> None:
        return None


async def test_a_lookup_platform_leaves_an_unknown_reference_out() -> None:
    platform: LookupPlatform = FakeLookup()
    assert isinstance(platform, LookupPlatform)
    batch = await platform.lookup(["T-1", "T-404"])
    assert [v.return_ref for v in batch.views] == ["T-1"] and batch.problems == {}

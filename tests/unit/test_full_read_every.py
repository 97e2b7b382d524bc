"""A refresh reads everything again once the last full read is `full_read_hours` old (or
not known), and after a merge that cannot lay the changes over what was read: what an
incremental read is never told of (a deletion, a change that moved no stamp, a webhook
that never came) is caught by then. Kept with the cache across runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from returns_console.config import SystemSettings
from returns_console.connectors.base import ErpBatch, PlatformBatch, ReadAgain
from returns_console.services.live import _incremental, full_read_every
from returns_console.store.cache import Cache

NOW = datetime.now(UTC).replace(microsecond=0)


class Source:
    def __init__(self, refuse: bool = False) -> None:
        self.asked: list[datetime | None] = []
        self.refuse = refuse

    async def fetch(self, *, updated_since: datetime | None = None) -> PlatformBatch:
        self.asked.append(updated_since)
        return PlatformBatch(fetched_at=datetime.now(UTC), cursor=NOW.isoformat())

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        if self.refuse:
            raise ReadAgain("counted other records")
        return PlatformBatch(fetched_at=changed.fetched_at, cursor=changed.cursor)


def earlier(full_hours_ago: float | None) -> PlatformBatch:
    # hours before now, as the read under test will measure them (not before the module
    # was imported: a slow run would age 23.9 hours past 24)
    now = datetime.now(UTC)
    return PlatformBatch(fetched_at=NOW, cursor=NOW.isoformat(), full_at=None
                         if full_hours_ago is None else now - timedelta(hours=full_hours_ago))


@pytest.mark.parametrize(("ago", "whole"), [(1, False), (23.9, False), (24.1, True),
                                            (None, True)])
def test_a_refresh_reads_whole_once_the_last_full_read_is_old(ago, whole) -> None:
    source = Source()
    kept = earlier(ago)
    got = asyncio.run(_incremental(source.fetch, source.merge, kept,
                                   every=timedelta(hours=24)))
    assert (source.asked == [None]) is whole
    if whole:
        assert got.full_at is not None and got.full_at >= NOW
    else:
        assert got.full_at == kept.full_at  # an incremental read keeps the full read's time


def test_never_but_on_demand_and_after_a_merge_that_cannot_lay_changes_over() -> None:
    source = Source()
    asyncio.run(_incremental(source.fetch, source.merge, earlier(24 * 400), every=None))
    assert source.asked != [None] and len(source.asked) == 1
    refusing = Source(refuse=True)
    got = asyncio.run(_incremental(refusing.fetch, refusing.merge, earlier(1),
                                   every=timedelta(hours=24)))
    assert refusing.asked[0] is not None and refusing.asked[1:] == [None]
    assert got.full_at is not None and got.full_at >= NOW


def test_the_option_sets_how_often_and_zero_means_never() -> None:
    def settings(**options) -> SystemSettings:
        return SystemSettings(system="swap", base_url="https://example.test",
                              options={"store": "s", **options})

    assert full_read_every(settings()) == timedelta(hours=24)
    assert full_read_every(settings(full_read_hours=6)) == timedelta(hours=6)
    assert full_read_every(settings(full_read_hours=0)) is None


def test_the_cache_keeps_when_each_side_was_last_read_whole(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    full = NOW - timedelta(hours=3)
    cache.save_platform("p", "swap", PlatformBatch(raw={"a": {}}, fetched_at=NOW,
                                                   cursor="c", full_at=full))
    cache.save_erp("p", "d365_bc", ErpBatch(raw={"b": {}}, fetched_at=NOW, full_at=full),
                   views=False)
    assert cache.load_platform("p").full_at == full
    assert cache.load_erp("p").full_at == full
    assert cache.full_at("p", "platform") == full and cache.full_at("q", "erp") is None
    cache.close()

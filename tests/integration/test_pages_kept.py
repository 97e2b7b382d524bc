"""A full Business Central read keeps its response bodies only for a cache that stores them
as they are (`ErpBatch.pages`): `check` with the record index, or a read with no cache,
lets each page go as it is parsed (at 50,000 returns they were about 230 MB held to the end
of the read for nothing)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.live import fetch_live
from returns_console.store.cache import Cache

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_pages_are_kept_only_for_a_cache_that_takes_them(tmp_path) -> None:
    sandbox = build_sandbox(NOW, returns=20, seed=3)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        alone = asyncio.run(fetch_live(profile, sandbox.secret))
        cache = Cache(tmp_path / "cache.sqlite3")
        try:
            saved = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
            unsaved = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache, full=True,
                                             save=False))
        finally:
            cache.close()
    assert alone.erp.pages is None and unsaved.erp.pages is None
    assert saved.erp.pages
    assert alone.erp.views == saved.erp.views == unsaved.erp.views

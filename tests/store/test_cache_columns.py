"""A column a write names that the cache's table lacks (`full_at`, the first time) is
added under the write lock: two background writers (platform and ERP) adding it at once,
each in a transaction begun before the other's ALTER, made the second fail at once
("database is locked")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from returns_console.connectors.base import ErpBatch, PlatformBatch
from returns_console.store.cache import Cache


def test_both_sides_written_at_once_by_background_writers(tmp_path: Path) -> None:
    """As a refresh saves them: the platform's and the ERP's batches each in a thread of
    its own, on a cache just made, with when they were last read whole."""
    now = datetime(2026, 11, 21, tzinfo=UTC)
    for n in range(60):
        cache = Cache(tmp_path / f"cache{n}.sqlite3")
        cache.save_later("platform", "p", "swap", PlatformBatch(fetched_at=now, full_at=now))
        cache.save_later("erp", "p", "d365_bc", ErpBatch(fetched_at=now, full_at=now))
        cache.wait()
        assert cache.full_at("p", "platform") == now and cache.full_at("p", "erp") == now
        assert cache.close() == []

"""Background writes in a forked process (store/forked.py): where a fork is safe the cache
and the record index are written on the other core, and a writer's failure still reaches
the check as a warning with what went wrong; beside any other thread, a thread writes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from returns_console.connectors.base import PlatformBatch
from returns_console.store import forked
from returns_console.store.cache import Cache

WHEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def forking(monkeypatch) -> None:
    """Only this test's own thread (pytest's workers may run others)."""
    monkeypatch.setattr(forked.threading, "enumerate", lambda: [threading.main_thread()])


def _batch() -> PlatformBatch:
    return PlatformBatch(raw={"swap:1": {"rma": "RMA-1", "amount": "1.50"}},
                         fetched_at=WHEN, full_at=WHEN, cursor="c")


def test_a_cache_write_in_a_forked_process_is_read_back(tmp_path: Path, forking) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    cache.save_later("platform", "p", "swap", _batch(), views=False)
    assert cache._children and not cache._writers  # forked, not a thread
    assert cache.close() == []
    again = Cache(tmp_path / "cache.sqlite3")
    kept = again.load_platform("p")
    assert kept is not None and kept.raw == _batch().raw and kept.cursor == "c"
    again.close()


def test_a_forked_writer_that_fails_is_a_warning_saying_why(tmp_path: Path, forking,
                                                            monkeypatch) -> None:
    def full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Cache, "save_platform", full)
    cache = Cache(tmp_path / "cache.sqlite3")
    cache.save_later("platform", "p", "swap", _batch(), views=False)
    warnings = cache.close()
    assert len(warnings) == 1 and "disk full" in warnings[0]


def test_beside_another_thread_the_write_is_a_thread(tmp_path: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="someone else's")
    other.start()
    try:
        assert not forked.fork_safe()
        cache = Cache(tmp_path / "cache.sqlite3")
        cache.save_later("platform", "p", "swap", _batch(), views=False)
        assert cache._writers and not cache._children
        assert cache.close() == []
    finally:
        stop.set()
        other.join()

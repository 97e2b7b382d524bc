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


def test_a_second_cache_on_the_file_means_a_thread(tmp_path: Path, forking) -> None:
    """Another connection of this process to the file would stay open across a fork (its
    locks' bookkeeping inherited by the child): a thread writes instead."""
    first, second = Cache(tmp_path / "c.sqlite3"), Cache(tmp_path / "c.sqlite3")
    first.save_later("platform", "p", "swap", _batch(), views=False)
    assert first._writers and not first._children
    assert first.close() == [] and second.close() == []


def test_the_parent_closing_the_cache_does_not_lose_a_forked_writers_rows(
        tmp_path: Path, forking) -> None:
    """SQLite keeps file locks per process: a child forked while the parent had the file
    open inherited the parent's bookkeeping, took no lock of its own, and the parent's
    closing connection deleted the write-ahead log under it (its rows lost; found by
    review). The parent's connection is closed across the fork, so the child locks."""
    import sqlite3
    import time

    path = tmp_path / "c.sqlite3"
    cache = Cache(path)
    cache.conn.execute("create table t (n integer)")
    cache.conn.commit()

    def slow() -> None:
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("begin immediate")
        conn.executemany("insert into t values (?)", [(n,) for n in range(1000)])
        time.sleep(0.5)
        conn.commit()
        conn.close()

    child = cache.fork(slow)
    assert child is not None
    time.sleep(0.1)
    cache.conn.close()  # the parent lets go while the child writes (Ctrl-C, a crash)
    assert child.result(30) == (0, "")
    check = sqlite3.connect(path)
    assert check.execute("select count(*) from t").fetchone()[0] == 1000
    check.close()

"""Benchmark: the console with 10,000 exceptions in the cache.

    python benchmarks/console_bench.py [--exceptions 10000]

Prints the time to the first rendered queue (the console opens on the last report kept in
the cache, as it does for a person, while its refresh waits on the network), the time from a
filter keystroke to the updated table, and peak memory. Each timing comes with a baseline
measured in the same run: an empty queue's first render (Textual's own start-up) and a
keystroke that changes nothing (the cost of the test driver). Targets: first render <= 1 s,
filter keystroke <= 100 ms, peak memory <= 400 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from returns_console.config import Profile, SystemSettings
from returns_console.domain.snapshot import Snapshot
from returns_console.scenarios.catalogue import build_scenario
from returns_console.services.check import check_snapshot
from returns_console.services.session import LiveSession, Loaded
from returns_console.store.cache import Cache
from returns_console.tui.app import ReturnsConsole
from returns_console.tui.screens.queue import QueueScreen
from returns_console.tui.widgets.virtual_table import VirtualTable

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)
PROFILE = Profile(name="bench",
                  platform=SystemSettings(system="swap", base_url="http://127.0.0.1:9/swap",
                                          options={"store": "bench"}),
                  erp=SystemSettings(system="d365_bc", base_url="http://127.0.0.1:9/bc",
                                     options={"tenant": "t", "environment": "e",
                                              "client_id": "c"}))


class CachedOnly(LiveSession):
    """The real cache read; a refresh that waits (as on a slow network) until closed."""

    def __init__(self, cache_path: Path) -> None:
        super().__init__(PROFILE, lambda system, name: "x", lambda: None, cache_path)
        self._closed = threading.Event()

    def refresh(self) -> Loaded:
        self._closed.wait()
        raise RuntimeError("closed")

    def close(self) -> None:
        self._closed.set()


def fill_cache(path: Path, exceptions: int) -> int:
    returns = exceptions + exceptions // 8
    snapshot = build_scenario(NOW, returns=returns, healthy_share=0.0).snapshot
    report = check_snapshot(Snapshot.model_validate(snapshot), now=NOW)
    cache = Cache(path)
    cache.save_report(PROFILE.name, report.to_json())
    cache.close()
    return len(report.findings)


async def first_render(session) -> tuple[float, ReturnsConsole]:
    started = time.perf_counter()
    app = ReturnsConsole(session)
    async with app.run_test(size=(160, 45)) as pilot:
        while not isinstance(app.screen, QueueScreen):
            await asyncio.sleep(0.005)
        await pilot.pause()
        elapsed = time.perf_counter() - started
        keys = await keystrokes(pilot, app.screen) if session is not None else None
        await app.action_quit()
    return elapsed, keys


async def keystrokes(pilot, screen: QueueScreen) -> tuple[list[float], list[float],
                                                           list[float]]:
    """Three figures per keystroke: end to end through Textual's test driver; the same
    driver with a key nothing handles (its own cost); and the console's work alone (the
    filter handler plus drawing every visible line of the table)."""
    await pilot.press("slash")
    await pilot.pause()
    table = screen.query_one("#queue", VirtualTable)
    typed, idle, work = [], [], []
    for ch in "high finance":
        started = time.perf_counter()
        await pilot.press(ch if ch != " " else "space")
        await pilot.pause()
        typed.append(time.perf_counter() - started)
    for _ in range(len(typed)):
        started = time.perf_counter()
        await pilot.press("f12")
        await pilot.pause()
        idle.append(time.perf_counter() - started)
    text = ""
    for ch in "high finance":
        text += ch
        started = time.perf_counter()
        screen.view.text = text
        screen._fill()
        for y in range(table.size.height):
            table.render_line(y)
        work.append(time.perf_counter() - started)
    return typed, idle, work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exceptions", type=int, default=10_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rc-console-bench-"))
    print(f"building {args.exceptions:,} exceptions ...", flush=True)
    found = fill_cache(home / "cache.sqlite3", args.exceptions)
    empty = home / "empty.sqlite3"
    Cache(empty).close()
    Cache(empty).save_report(PROFILE.name, {**_empty_report()})
    base, _ = asyncio.run(first_render(CachedOnly(empty)))
    wall, (typed, idle, work) = asyncio.run(first_render(CachedOnly(home / "cache.sqlite3")))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"exceptions in the cache:        {found:,}")
    print(f"first rendered queue:           {wall * 1000:.0f} ms (empty queue {base * 1000:.0f} "
          f"ms: {wall / base:.2f}x)  target <= 1000 ms")
    print(f"filter keystroke -> table:      median {statistics.median(work) * 1000:.0f} ms, "
          f"max {max(work) * 1000:.0f} ms (filter and redraw of the visible table)  "
          "target <= 100 ms")
    print(f"  through the test driver:      median {statistics.median(typed) * 1000:.0f} ms "
          f"(a key nothing handles: {statistics.median(idle) * 1000:.0f} ms, the driver's "
          f"own wait; difference {(statistics.median(typed) - statistics.median(idle)) * 1000:.0f}"
          " ms)")
    print(f"peak memory (RSS):              {peak:.0f} MB  target <= 400 MB")


def _empty_report() -> dict:
    return {"generated_at": "2026-11-21T10:00:00Z", "profile": PROFILE.name,
            "platform": {"system": "swap", "status": "ok", "fetched_at": None, "records": 0},
            "erp": {"system": "d365_bc", "status": "ok", "fetched_at": None, "records": 0},
            "returns_checked": 0, "findings": [], "delays": []}


if __name__ == "__main__":
    main()

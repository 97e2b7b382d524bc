"""How the console looks, at a fixed size, on the fixed canonical fixture (no clock, no
hostnames). Review every changed SVG: `pytest --snapshot-update`, then look at it."""

from __future__ import annotations

from pathlib import Path

from returns_console.services.check import check_snapshot
from returns_console.services.snapshot_io import load_snapshot
from returns_console.tui.app import ReturnsConsole

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
SIZE = (160, 40)


async def _loaded(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_queue(snap_compare) -> None:
    assert snap_compare(ReturnsConsole(lambda: check_snapshot(SNAPSHOT)), terminal_size=SIZE,
                        run_before=_loaded)


def test_return_screen(snap_compare) -> None:
    async def open_first(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(ReturnsConsole(lambda: check_snapshot(SNAPSHOT)), terminal_size=SIZE,
                        run_before=open_first)


def test_light_theme(snap_compare) -> None:
    assert snap_compare(ReturnsConsole(lambda: check_snapshot(SNAPSHOT), theme="returns-light",
                                       environment="sandbox"),
                        terminal_size=SIZE, run_before=_loaded)

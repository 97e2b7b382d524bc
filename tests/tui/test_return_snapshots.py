"""How the return screen looks, at a fixed size, on a fixed case (no clock, no hostnames).
Review every changed SVG: `pytest --snapshot-update`, then look at it."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from returns_console.tui.screens.return_detail import ReturnScreen
from tests.tui.test_return_screen import CASE, FINDINGS, RAW, SIZE, SNAPSHOT, app


def _opened(**kwargs: Any):
    async def run_before(pilot: Pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.app.push_screen(
            ReturnScreen(CASE, FINDINGS, mappings=SNAPSHOT.mappings, raw=RAW.get, **kwargs))
        await pilot.pause()
    return run_before


def test_return_with_a_money_mismatch(snap_compare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=_opened())


def test_return_in_presenter_mode(snap_compare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=_opened(presenter=True))


def test_raw_record_modal(snap_compare) -> None:
    async def raw_erp(pilot: Pilot) -> None:
        await _opened()(pilot)
        await pilot.press("e")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app(), terminal_size=SIZE, run_before=raw_erp)

"""How the console looks, at a fixed size, on the fixed canonical fixture (its own clock, no
hostnames, no cursor blink). Review every changed SVG: `pytest --snapshot-update`, then look
at it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from returns_console.services.check import check_snapshot
from returns_console.services.session import Loaded, ReportSession, Session
from returns_console.services.snapshot_io import load_snapshot
from returns_console.tui.app import ReturnsConsole

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
SIZE = (160, 45)


def console(**kwargs) -> ReturnsConsole:
    session = ReportSession(lambda: check_snapshot(SNAPSHOT), mappings=SNAPSHOT.mappings)
    return ReturnsConsole(session, **kwargs)


async def _loaded(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_queue(snap_compare) -> None:
    assert snap_compare(console(), terminal_size=SIZE, run_before=_loaded)


def test_return_screen(snap_compare) -> None:
    async def open_first(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(console(), terminal_size=SIZE, run_before=open_first)


@pytest.mark.parametrize("theme", ["returns-light", "returns-high-contrast"])
def test_themes(snap_compare, theme: str) -> None:
    assert snap_compare(console(theme=theme, environment="sandbox"), terminal_size=SIZE,
                        run_before=_loaded)


def test_presenter_mode(snap_compare) -> None:
    assert snap_compare(console(presenter=True, environment="production"),
                        terminal_size=SIZE, run_before=_loaded)


def test_help(snap_compare) -> None:
    async def help_open(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(console(), terminal_size=SIZE, run_before=help_open)


def test_owner_view_with_a_command(snap_compare) -> None:
    async def finance_tax(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("colon", *"owner finance", "enter", "space", "down", "space")
        await pilot.pause()

    assert snap_compare(console(), terminal_size=SIZE, run_before=finance_tax)


class _ErpDown(Session):
    """The last report from the cache; the ERP stays down on refresh."""

    label = "dead-erp"

    def opening(self) -> Loaded:
        report = check_snapshot(SNAPSHOT)
        return Loaded(replace(report, erp=replace(
            report.erp, status="stale", error="Dynamics 365 Business Central: no answer "
            "(connection refused)")), from_cache=True)

    def refresh(self) -> Loaded:
        raise OSError("Dynamics 365 Business Central: no answer (connection refused)")


def test_a_source_down(snap_compare) -> None:
    async def settle(pilot) -> None:
        await _loaded(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(ReturnsConsole(_ErpDown()), terminal_size=SIZE, run_before=settle)

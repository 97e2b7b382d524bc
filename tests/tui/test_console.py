"""The console, driven by Pilot: queue, filter, sort, drill-down into one return and back."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from returns_console.services.check import check_snapshot
from returns_console.services.snapshot_io import load_snapshot
from returns_console.tui.app import ReturnsConsole
from returns_console.tui.screens.queue import QueueScreen
from returns_console.tui.screens.return_detail import ReturnScreen

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
REPORT = check_snapshot(SNAPSHOT)


def app() -> ReturnsConsole:
    return ReturnsConsole(lambda: check_snapshot(SNAPSHOT))


async def _queue(pilot) -> QueueScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, QueueScreen)
    return screen


async def test_the_queue_lists_every_exception_costliest_first() -> None:
    async with app().run_test(size=(160, 40)) as pilot:
        screen = await _queue(pilot)
        table = screen.query_one("#queue", DataTable)
        assert table.row_count == len(REPORT.findings)
        at_risk = [f.amount_at_risk or 0 for f in screen.shown]
        assert at_risk == sorted(at_risk, reverse=True)
        assert f"{len(REPORT.findings)} exceptions" in str(
            screen.query_one("#summary", Static).render())


async def test_filter_narrows_the_queue_across_columns() -> None:
    async with app().run_test(size=(160, 40)) as pilot:
        screen = await _queue(pilot)
        await pilot.press("slash")
        await pilot.press(*"tax")
        assert screen.query_one("#filter", Input).value == "tax"
        assert {f.code.value for f in screen.shown} == {"TAX_MISMATCH"}
        await pilot.press("enter", "escape")
        assert screen.query_one("#queue", DataTable).row_count == len(REPORT.findings)


async def test_enter_opens_the_return_side_by_side_and_escape_comes_back() -> None:
    async with app().run_test(size=(160, 40)) as pilot:
        screen = await _queue(pilot)
        first = screen.shown[0]
        await pilot.press("enter")
        await pilot.pause()
        detail = pilot.app.screen
        assert isinstance(detail, ReturnScreen)
        assert detail.case.return_ref == first.return_ref
        board = detail.query_one("#stages", DataTable)
        assert board.row_count == 7
        row = board.get_row(first.stage.value)
        assert first.code.value in str(row[3])
        assert first.code.value in str(detail.query_one("#findings", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QueueScreen)


async def test_a_failing_load_is_a_notification_not_a_traceback() -> None:
    def broken():
        raise RuntimeError("the sandbox would not start")

    async with ReturnsConsole(broken).run_test(size=(120, 30)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pilot.app.sub_title == "could not load"
        assert any("would not start" in n.message for n in pilot.app._notifications)


async def test_themes_are_registered_and_an_unknown_one_falls_back_with_a_notice() -> None:
    console = ReturnsConsole(lambda: check_snapshot(SNAPSHOT), theme="no-such-theme")
    async with console.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert {"returns-dark", "returns-light", "returns-high-contrast"} <= set(
            console.available_themes)
        assert console.theme == "returns-dark"
        assert any("No theme 'no-such-theme'" in n.message for n in console._notifications)
        console.use_theme("returns-high-contrast")
        assert console.theme == "returns-high-contrast"


async def test_the_environment_is_always_on_screen() -> None:
    console = ReturnsConsole(lambda: check_snapshot(SNAPSHOT), environment="sandbox")
    async with console.run_test(size=(120, 30)) as pilot:
        screen = await _queue(pilot)
        banner = screen.query_one("#environment", Static)
        assert "SANDBOX" in str(banner.render())
        assert banner.has_class("env-sandbox")

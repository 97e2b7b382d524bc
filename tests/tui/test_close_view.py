"""`:close [PERIOD]` in the console (issue 10.13): the month-end close view, each blocking
return one key from its return screen."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from returns_console.tui.screens.close import CloseScreen
from returns_console.tui.screens.return_detail import ReturnScreen
from tests.tui.conftest import paste_text
from tests.tui.test_console import SIZE, _queue, app


async def test_close_lists_the_periods_blockers_and_enter_opens_one() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await _queue(pilot)
        await pilot.press("colon")
        await paste_text(pilot, "close 2026-11")
        await pilot.press("enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, CloseScreen)
        summary = str(screen.query_one("#close-summary", Static).render())
        assert "Close Nov 2026" in summary and "block the close" in summary
        assert "at risk" in summary and "finance" in summary
        table = screen.query_one(DataTable)
        assert table.row_count == len(screen.view.blockers) > 0
        first = screen.view.blockers[0].return_ref
        await pilot.press("enter")
        await pilot.pause()
        opened = pilot.app.screen
        assert isinstance(opened, ReturnScreen) and opened.case.return_ref == first
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen


async def test_an_unknown_period_is_a_notice_not_a_crash() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await _queue(pilot)
        await pilot.press("colon")
        await paste_text(pilot, "close Q4")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, CloseScreen)
        assert any("no accounting period" in n.message for n in pilot.app._notifications)

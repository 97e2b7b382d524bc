"""The console, driven by Pilot: queue, filter, command bar, owner views, marks, sort,
drill-down and back, presenter mode, help, refresh and failures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Input, Static

from returns_console.connectors.errors import NetworkError
from returns_console.services.check import check_snapshot
from returns_console.services.session import Loaded, Session
from returns_console.services.snapshot_io import load_snapshot
from returns_console.tui.app import ReturnsConsole
from returns_console.tui.queue_model import natural
from returns_console.tui.screens.help import HelpScreen
from returns_console.tui.screens.queue import QueueScreen
from returns_console.tui.screens.return_detail import ReturnScreen
from returns_console.tui.widgets.team_tabs import TeamTabs
from returns_console.tui.widgets.virtual_table import VirtualTable

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
REPORT = check_snapshot(SNAPSHOT)
SIZE = (160, 45)


def app(**kwargs) -> ReturnsConsole:
    return ReturnsConsole(lambda: check_snapshot(SNAPSHOT), **kwargs)


async def _queue(pilot) -> QueueScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, QueueScreen)
    return screen


def _shown(screen: QueueScreen):
    return [screen.queue.by_key[k] for k in screen.shown]


async def test_the_queue_lists_every_exception_costliest_first() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        table = screen.query_one("#queue", VirtualTable)
        assert table.row_count == len(REPORT.findings)
        at_risk = [f.amount_at_risk or 0 for f in _shown(screen)]
        assert at_risk == sorted(at_risk, reverse=True)
        summary = str(screen.query_one("#summary", Static).render())
        assert f"{len(REPORT.findings)} open exceptions" in summary
        assert "finance" in summary and "critical" in summary
        sources = str(screen.query_one("#sources", Static).render())
        assert "Swap Commerce ok" in sources


async def test_nothing_under_the_queue_keeps_repainting_it() -> None:
    """The loading spinner of the first start goes once the queue is up: Textual draws the
    screen below with the queue, so it was repainting the whole queue at every frame."""
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        under = pilot.app.screen_stack[0]
        assert under is not screen
        assert not under.query("LoadingIndicator") and not under.query("#loading-text")


async def test_cursor_keys_move_and_enter_opens_that_return() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("down", "down")
        third = _shown(screen)[2]
        assert screen.cursor_finding == third
        await pilot.press("enter")
        await pilot.pause()
        detail = pilot.app.screen
        assert isinstance(detail, ReturnScreen)
        assert detail.case.return_ref == third.return_ref
        assert third.code.value in str(detail.query_one("#findings", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.cursor_finding == third  # back where we were


async def test_filter_narrows_the_queue_across_columns_and_escape_clears_it() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("slash", *"tax")
        assert screen.query_one("#filter", Input).value == "tax"
        assert {f.code.value for f in _shown(screen)} == {"TAX_MISMATCH"}
        await pilot.press("enter", "escape")
        assert screen.query_one("#queue", VirtualTable).row_count == len(REPORT.findings)


async def test_a_filter_keystroke_repaints_without_laying_the_screen_out(monkeypatch) -> None:
    """Typing in the filter changes the box, the rows and the tab counts, none of which
    changes a widget's size: a layout pass per key (the input's text width, the tabs'
    labels, the row count) was most of a keystroke on 10,000 rows."""
    from textual.screen import Screen

    layouts: list[int] = []
    real = Screen._refresh_layout

    def counted(self, *args, **kwargs):
        layouts.append(1)
        return real(self, *args, **kwargs)

    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        # the box appears, and the rows come to fit (the scrollbar goes): those lay out
        await pilot.press("slash", "c", "r")
        await pilot.pause()
        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        before = len(screen.shown)
        await pilot.press(*"edit", "backspace", "backspace")
        await pilot.pause()
        assert screen.query_one("#filter", Input).value == "cred"
        assert len(screen.shown) < before
        assert layouts == []


async def test_command_bar_narrows_by_code_order_and_sku_and_opens_a_return() -> None:
    some = next(f for f in REPORT.findings if f.code.value == "SKU_UNKNOWN")
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("colon", *"code sku_", "enter")
        assert {f.code.value for f in _shown(screen)} == {"SKU_UNKNOWN", "SKU_INACTIVE"}
        await pilot.press("escape")
        assert len(screen.shown) == len(REPORT.findings)
        await pilot.press("colon", *f"order {some.order_ref}", "enter")
        assert {f.return_ref for f in _shown(screen)} == {some.return_ref}
        await pilot.press("escape")
        sku = some.platform_value
        await pilot.press("colon", *f"sku {sku}", "enter")
        assert some.return_ref in {f.return_ref for f in _shown(screen)}
        await pilot.press("escape", "colon", *f"return {some.return_ref}", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ReturnScreen)
        assert pilot.app.screen.case.return_ref == some.return_ref


async def test_a_bad_command_says_what_is_possible() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("colon", *"frobnicate x", "enter")
        await pilot.pause()
        assert any(":return" in n.message for n in pilot.app._notifications)
        assert len(screen.shown) == len(REPORT.findings)


async def test_owner_views_show_one_team_each() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("colon", *"owner finance", "enter")
        await pilot.pause()
        assert screen.query_one("#teams", TeamTabs).active == "finance"
        assert {f.owner.value for f in _shown(screen)} == {"finance"}
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert {f.owner.value for f in _shown(screen)} == {"operations"}
        await pilot.click("#teams", offset=(2, 0))  # on `All N`
        await pilot.pause()
        assert len(screen.shown) == len(REPORT.findings)


async def test_space_marks_rows_and_marked_returns_are_listed() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("space", "down", "space")
        first, second = _shown(screen)[:2]
        assert screen.marked_returns == sorted({first.return_ref, second.return_ref})
        await pilot.press("up", "space")
        assert screen.marked_returns == [second.return_ref]


async def test_sort_by_header_click_and_again_reverses() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        screen.sort_by("return")
        refs = [f.return_ref for f in _shown(screen)]
        assert refs == sorted(refs, key=natural)  # by their numbers (issue 10.9)
        screen.sort_by("return")
        assert [f.return_ref for f in _shown(screen)] == sorted(refs, key=natural,
                                                                 reverse=True)
        await pilot.press("o")
        assert screen.view.sort != "return"


async def test_the_view_is_remembered_between_runs(tmp_path) -> None:
    state = tmp_path / "state.json"
    async with app(state_path=state).run_test(size=SIZE) as pilot:
        await _queue(pilot)
        await pilot.press("colon", *"owner data", "enter", "slash", *"sku")
        await pilot.pause()
    async with app(state_path=state).run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        assert screen.view.owner == "data" and screen.view.text == "sku"
        assert {f.owner.value for f in _shown(screen)} == {"data"}


async def test_presenter_mode_masks_columns_and_hides_where_the_data_comes_from() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("f2")
        await pilot.pause()
        table = screen.query_one("#queue", VirtualTable)
        header = table.render_line(0).text
        assert "message" not in header and "order" not in header
        assert "presenter" in str(screen.query_one("#environment", Static).render())
        await pilot.press("f2")
        await pilot.pause()
        assert "message" in table.render_line(0).text


async def test_help_lists_the_keys_of_what_is_focused_with_their_ids() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await _queue(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        rows = pilot.app.screen.rows
        ids = [ident for *_, ident in rows]
        assert {"table.mark", "queue.filter", "app.presenter"} <= set(ids)
        assert rows[0][2] == "focused"  # what the focused widget does comes first
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, QueueScreen)


async def test_a_user_keymap_rebinds_by_id() -> None:
    async with app(keymap={"queue.filter": "f"}).run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.press("f")
        assert screen.query_one("#filter", Input).has_focus


async def test_open_ref_drills_straight_into_a_return_by_order_number() -> None:
    some = REPORT.findings[-1]
    async with app(open_ref=some.order_ref).run_test(size=SIZE) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(pilot.app.screen, ReturnScreen)
        assert pilot.app.screen.case.return_ref == some.return_ref


class _DownSession(Session):
    """Opens on a cached report, then every refresh fails: what a dead ERP looks like."""

    label = "dead"

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def opening(self) -> Loaded:
        stale = replace(REPORT, platform=replace(REPORT.platform, status="stale"),
                        erp=replace(REPORT.erp, status="stale"))
        return Loaded(stale, from_cache=True)

    def refresh(self) -> Loaded:
        raise self.error


async def test_a_source_that_is_down_leaves_the_last_data_on_screen_marked_stale() -> None:
    console = ReturnsConsole(_DownSession(NetworkError("d365_bc", "cannot connect to "
                                                       "[bold]api.example[/bold]")))
    async with console.run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        assert len(screen.shown) == len(REPORT.findings)
        assert "down · last good data" in str(screen.query_one("#sources", Static).render())
        banner = screen.query_one("#banner", Static)
        assert banner.display and "marked stale" in str(banner.render())
        messages = [n.message for n in console._notifications]
        assert any("[bold]api.example[/bold]" in m for m in messages)  # escaped, literal


class _NotedSession(_DownSession):
    """A read that worked and has something to say that is no finding."""

    def refresh(self) -> Loaded:
        notes = ["the return reasons list customlist_x could not be read; [bold]reasons[/] "
                 "are not checked", "second note", "third note"]
        return Loaded(replace(REPORT, erp=replace(REPORT.erp, notes=notes)))


async def test_a_sources_notes_show_under_the_header_escaped_and_counted() -> None:
    """Issue 14: what a read wants a person to know that is no finding (an export not used,
    an optional list the ERP lacks) is shown in the console, not only by `check`."""
    console = ReturnsConsole(_NotedSession(NetworkError("d365_bc", "unused")))
    async with console.run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        banner = str(screen.query_one("#banner", Static).render())
        assert "could not be read" in banner and "[bold]reasons[/]" in banner  # literal
        assert "1 more note" in banner and "third note" not in banner


async def test_a_failing_first_load_is_a_message_not_a_traceback() -> None:
    def broken():
        raise RuntimeError("the sandbox would not start")

    async with ReturnsConsole(broken).run_test(size=(120, 30)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pilot.app.sub_title == "could not load"
        assert any("would not start" in n.message for n in pilot.app._notifications)


async def test_themes_are_registered_and_an_unknown_one_falls_back_with_a_notice() -> None:
    console = app(theme="no-such-theme")
    async with console.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert {"returns-dark", "returns-light", "returns-high-contrast"} <= set(
            console.available_themes)
        assert console.theme == "returns-dark"
        assert any("No theme 'no-such-theme'" in n.message for n in console._notifications)
        await pilot.press("f3")
        assert console.theme != "returns-dark"


async def test_the_environment_is_always_on_screen() -> None:
    console = app(environment="sandbox")
    async with console.run_test(size=(120, 30)) as pilot:
        screen = await _queue(pilot)
        banner = screen.query_one("#environment", Static)
        assert "SANDBOX" in str(banner.render())
        assert banner.has_class("env-sandbox")


async def test_presenter_mode_shows_no_hostname_in_banners_or_notifications() -> None:
    error = NetworkError("d365_bc", "cannot reach https://bc.contoso.example:7048/api/v2.0")
    console = ReturnsConsole(_DownSession(error), presenter=True)
    async with console.run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        banner = str(screen.query_one("#banner", Static).render())
        assert "marked stale" in banner and "contoso" not in banner
        assert all("contoso" not in n.message for n in console._notifications)
        await pilot.press("f2")  # presenter off: the whole message is there for the engineer
        await pilot.pause()
        assert "bc.contoso.example" in str(screen.query_one("#banner", Static).render())


async def test_columns_are_fitted_once_per_change_not_once_per_drawn_row(monkeypatch) -> None:
    """Fitting scans every finding; drawing asks for the columns on every row. Fitted per
    row, a paint cost rows × findings (benchmarks/console_bench.py found 2.5 ms a row at 3k
    findings): the columns are fitted when what they show changes, and only then."""
    fitted: list[int] = []
    fit = QueueScreen._fit_columns

    def counted(self):
        fitted.append(1)
        return fit(self)

    monkeypatch.setattr(QueueScreen, "_fit_columns", counted)
    async with app().run_test(size=SIZE) as pilot:
        screen = await _queue(pilot)
        before = len(fitted)
        await pilot.press("end", "home", "down", "down", "pagedown")
        await pilot.pause()
        assert len(fitted) == before  # moving and repainting rows fits nothing again
        widths = [c.width for c in screen._columns()]
        screen.set_triage({screen.shown[0]: "ack @someone-with-a-long-name #and-a-long-tag"})
        await pilot.pause()
        assert len(fitted) == before + 1
        assert [c.width for c in screen._columns()] != widths  # the triage column grew


async def test_columns_fit_the_width_left_when_the_scrollbar_comes_and_goes() -> None:
    """A filter that leaves fewer rows than the table shows takes the scrollbar away (two
    more cells for the columns), clearing it brings it back: the columns are fitted to the
    width each time, never cut at the right edge (seen at 80x24 in a terminal)."""
    async with app().run_test(size=(80, 24)) as pilot:
        screen = await _queue(pilot)
        table = screen.query_one("#queue", VirtualTable)

        def fitted() -> bool:
            width = table.scrollable_content_region.width
            return (table._shown == table._fitting(width)
                    and table.virtual_size.width <= width)

        assert table.show_vertical_scrollbar and fitted()
        await pilot.press("slash", *"credit")
        await pilot.pause()
        assert not table.show_vertical_scrollbar and fitted()
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert table.show_vertical_scrollbar and fitted()


async def test_the_detail_line_grows_for_a_value_with_a_line_break() -> None:
    """The line under the table skips laying out when its height cannot change: a value
    with a line break in it (API text) needs its two lines all the same."""
    from dataclasses import replace

    from textual.widgets import Static

    def report():
        r = check_snapshot(SNAPSHOT)
        found = r.result.findings
        found[0] = replace(found[0], message="one")
        found[1] = replace(found[1], message="two\nlines")
        return r

    async with ReturnsConsole(report).run_test(size=(120, 30)) as pilot:
        screen = await _queue(pilot)
        assert "message" in screen.query_one("#queue", VirtualTable).hidden_columns
        detail = screen.query_one("#row-detail", Static)
        messages = [screen.queue.by_key[k].message for k in screen.shown]
        for message, height in (("one", 1), ("two\nlines", 2)):
            await pilot.press("home", *["down"] * messages.index(message))
            await pilot.pause()
            assert detail.size.height == height, message

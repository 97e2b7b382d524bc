"""Issue 10.1: the console on an 80x24 terminal (fully usable) and a 60x15 one (readable).

At 80x24 the header took 12 lines and left 9 rows, the owner, age, at-risk, triage and message
columns fell off the right, and a long preview's Apply/Cancel could never be reached. Now the
header folds to a line, columns drop by rank with the cursor row's dropped values on a detail
line, and every dialog keeps its buttons on screen. Snapshots at 80x24 are at the end; review
every changed SVG."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Static

from returns_console.domain.codes import Code
from returns_console.tui.screens.action_form import ActionForm
from returns_console.tui.screens.preview import PreviewScreen
from returns_console.tui.screens.queue import QueueScreen
from returns_console.tui.screens.return_detail import ReturnScreen
from returns_console.tui.widgets.virtual_table import VirtualTable
from tests.tui.test_action_flows import command, first, press, seen, settle, writes
from tests.tui.test_action_flows import console as demo_console
from tests.tui.test_action_snapshots import ITEM, SKU, _remap, _settled
from tests.tui.test_action_snapshots import console as kept_console
from tests.tui.test_snapshots import _loaded
from tests.tui.test_snapshots import console as snapshot_console

SMALL = (80, 24)
TINY = (60, 15)


def on_screen(app, widget) -> bool:
    """Whole, on the terminal, and the widget a click at its middle lands on."""
    region = widget.region
    if not region or not app.screen.region.contains_region(region):
        return False
    hit, _ = app.screen.get_widget_at(*region.center)
    return hit is widget or widget in hit.ancestors


async def test_the_queue_at_80x24_folds_its_header_and_drops_columns_by_rank() -> None:
    app = snapshot_console()
    async with app.run_test(size=SMALL) as pilot:
        await _loaded(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        assert not queue.query_one("#strip").display  # the summary folded to one line
        line = queue.query_one("#summary-line", Static)
        assert line.display and "open on" in str(line.render())
        table = queue.query_one("#queue", VirtualTable)
        assert table.scrollable_content_region.height - 1 >= 12  # rows, under the header
        header = table.render_line(0).text
        for kept in ("return", "code", "severity", "at risk", "age"):
            assert kept in header
        assert {"message", "order", "kind"} <= set(table.hidden_columns)
        # the cursor row's dropped values, on the detail line under the table
        f = queue.cursor_finding
        assert f is not None
        detail = queue.query_one("#row-detail", Static)
        assert detail.display
        assert f.message[:30] in str(detail.render())
        assert f"order {f.order_ref}" in str(detail.render())
        await pilot.press("down")
        nxt = queue.cursor_finding
        assert nxt is not None and nxt.message[:30] in str(detail.render())
        # a return's reference is never cut
        for ref in {queue.queue.by_key[k].return_ref for k in queue.shown[:12]}:
            assert ref in seen(app)
        await pilot.press("enter")
        await _loaded(pilot)
        assert isinstance(app.screen, ReturnScreen)


async def test_the_queue_at_the_default_size_keeps_every_column() -> None:
    app = snapshot_console()
    async with app.run_test(size=(160, 45)) as pilot:
        await _loaded(pilot)
        queue = app.screen
        assert queue.query_one("#queue", VirtualTable).hidden_columns == ()
        assert not queue.query_one("#row-detail").display
        assert queue.query_one("#strip").display


async def test_the_queue_at_60x15_still_shows_rows() -> None:
    app = snapshot_console()
    async with app.run_test(size=TINY) as pilot:
        await _loaded(pilot)
        table = app.screen.query_one("#queue", VirtualTable)
        assert table.scrollable_content_region.height - 1 >= 4
        cursor = app.screen.cursor_finding
        assert cursor is not None
        text = seen(app)
        assert cursor.return_ref in text and cursor.code.value in text


async def test_the_remap_form_at_80x24_shows_every_field_and_its_buttons(tmp_path) -> None:
    app = kept_console(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _remap()(pilot)
        form = app.screen
        assert isinstance(form, ActionForm)
        for widget in [*form.query(Input), *form.query(Button)]:
            assert on_screen(app, widget), widget
        form.query_one("#field-item", Input).value = ITEM
        await pilot.click("#form-go")
        await _settled(pilot)
        assert isinstance(app.screen, PreviewScreen)
        assert on_screen(app, app.screen.query_one("#preview-apply", Button))


async def test_a_long_preview_at_80x24_keeps_apply_and_cancel_reachable(demo, tmp_path) -> None:
    """A re-queue preview carries its whole request; the buttons stay put under it."""
    app = demo_console(demo, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        f = first(app, Code.CREDIT_NOTE_MISSING)
        await command(pilot, f"return {f.return_ref}")
        await press(pilot, "u")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert preview.query_one("#preview-body").max_scroll_y > 0  # it does not fit
        assert on_screen(app, preview.query_one("#preview-title", Static))
        cancel = preview.query_one("#preview-cancel", Button)
        apply = preview.query_one("#preview-apply", Button)
        assert on_screen(app, cancel) and on_screen(app, apply)
        await pilot.click("#preview-apply")
        await settle(pilot)
        assert [w["method"] for w in writes(demo)][:1] == ["POST"]


# -- snapshots at 80x24 --------------------------------------------------------------------


def test_snapshot_queue_80x24(snap_compare) -> None:
    assert snap_compare(snapshot_console(), terminal_size=SMALL, run_before=_loaded)


def test_snapshot_queue_60x15(snap_compare) -> None:
    assert snap_compare(snapshot_console(), terminal_size=TINY, run_before=_loaded)


def test_snapshot_return_screen_80x24(snap_compare) -> None:
    async def open_first(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("enter")
        await _loaded(pilot)

    assert snap_compare(snapshot_console(), terminal_size=SMALL, run_before=open_first)


@pytest.mark.parametrize("typed", [(), (ITEM, "", "")], ids=["form", "preview"])
def test_snapshot_remap_80x24(snap_compare, tmp_path, typed) -> None:
    assert snap_compare(kept_console(tmp_path), terminal_size=SMALL, run_before=_remap(*typed))


def test_snapshot_close_view_80x24(snap_compare) -> None:
    async def close(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("colon", *"close 2026-11", "enter")
        await _loaded(pilot)

    assert snap_compare(snapshot_console(), terminal_size=SMALL, run_before=close)


assert SKU  # the remap snapshots open this finding's return

"""The virtual table: keys, mouse, messages, lazy cells and looks, in a tiny app."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.message import Message

from returns_console.tui.themes import DEFAULT, load_themes
from returns_console.tui.widgets.virtual_table import Column, VirtualTable, _fit, _fit_plain

SIZE = (100, 20)  # 19 rows under the header
BODY = SIZE[1] - 1
COLUMNS = (
    Column("code", "code", 10),
    Column("ref", "return", 8),
    Column("amount", "at risk", 9, justify="right"),
    Column("message", "message", 20, grow=True),
)


class Cells:
    """A cells function that counts the keys it was asked for."""

    def __init__(self) -> None:
        self.asked: list[Hashable] = []

    def __call__(self, key: Hashable) -> Sequence[str | Text]:
        self.asked.append(key)
        return (f"CODE_{key}", f"R-{key}", f"{key}.00", f"message {key}")


class TableApp(App):
    """One table, every message it posts kept in `seen`."""

    def __init__(self, rows: int = 50) -> None:
        super().__init__()
        self.rows = rows
        self.cells = Cells()
        self.seen: list[Message] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS)

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(range(self.rows), self.cells)
        table.focus()

    def on_virtual_table_cursor_moved(self, message: VirtualTable.CursorMoved) -> None:
        self.seen.append(message)

    def on_virtual_table_selected(self, message: VirtualTable.Selected) -> None:
        self.seen.append(message)

    def on_virtual_table_header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        self.seen.append(message)

    def on_virtual_table_marks_changed(self, message: VirtualTable.MarksChanged) -> None:
        self.seen.append(message)

    def of(self, kind: type[Message]) -> list:
        return [m for m in self.seen if isinstance(m, kind)]


async def test_keys_move_the_cursor_and_keep_it_in_view() -> None:
    app = TableApp(rows=100)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.press("down", "down", "up")
        assert table.cursor_row == 1 and table.cursor_key == 1
        await pilot.press("pagedown")
        assert table.cursor_row == 1 + BODY
        assert table.scroll_offset.y == BODY
        await pilot.press(*["down"] * 30)
        top = table.scroll_offset.y
        assert top <= table.cursor_row < top + BODY
        await pilot.press("end")
        assert table.cursor_key == 99 and table.scroll_offset.y == 100 - BODY
        await pilot.press("pageup")
        assert table.cursor_row == 99 - BODY
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_offset.y == 0
        await pilot.press("up")
        assert table.cursor_row == 0
        await pilot.pause()
        assert app.of(VirtualTable.CursorMoved)[-1].key == 0


async def test_enter_posts_selected_with_the_cursor_key() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        [selected] = app.of(VirtualTable.Selected)
        assert selected.key == 2 and selected.control is app.query_one(VirtualTable)


async def test_space_toggles_marks_which_outlive_set_rows() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.press("space", "down", "space")
        await pilot.pause()
        assert table.marked == frozenset({0, 1})
        assert [m.marked for m in app.of(VirtualTable.MarksChanged)] == [
            frozenset({0}), frozenset({0, 1})]
        assert table.render_line(1).text.startswith("● ")
        assert table.render_line(3).text.startswith("  ")
        await pilot.press("space")
        assert table.marked == frozenset({0})
        table.set_rows([5, 6], app.cells)
        assert table.marked == frozenset({0})
        table.clear_marks()
        await pilot.pause()
        assert table.marked == frozenset() and app.of(VirtualTable.MarksChanged)[-1].marked == set()


async def test_clicking_a_header_posts_its_column_key() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        # mark (2 cells), code 0-9 + gap at x 2-12, return at x 13-21, at risk at x 22-31
        await pilot.click(VirtualTable, offset=(14, 0))
        await pilot.click(VirtualTable, offset=(2, 0))
        await pilot.click(VirtualTable, offset=(60, 0))  # the grow column takes the rest
        await pilot.pause()
        assert [m.column_key for m in app.of(VirtualTable.HeaderClicked)] == [
            "ref", "code", "message"]


async def test_clicking_a_row_moves_the_cursor_then_selects() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.click(VirtualTable, offset=(5, 4))  # line 4 is row 3
        await pilot.pause()
        assert table.cursor_key == 3 and not app.of(VirtualTable.Selected)
        await pilot.click(VirtualTable, offset=(30, 4))
        await pilot.pause()
        assert [m.key for m in app.of(VirtualTable.Selected)] == [3]
        await pilot.double_click(VirtualTable, offset=(5, 6))
        await pilot.pause()
        assert table.cursor_key == 5
        assert [m.key for m in app.of(VirtualTable.Selected)] == [3, 5]


async def test_the_wheel_scrolls_without_moving_the_cursor() -> None:
    app = TableApp(rows=100)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        for _ in range(3):
            table.post_message(events.MouseScrollDown(table, 5, 5, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert table.scroll_offset.y > 0 and table.cursor_row == 0
        top = table.scroll_offset.y
        assert table.render_line(0).text.startswith("  code")  # the header stays
        assert table.render_line(1).text.startswith(f"  CODE_{top} ")


async def test_set_rows_keeps_the_cursor_on_its_key() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        assert table.select_key(7)
        table.set_rows(list(reversed(range(50))), app.cells)
        assert table.cursor_key == 7 and table.cursor_row == 42
        assert not table.select_key("missing")
        table.set_rows([1, 2, 3], app.cells)  # 7 filtered out: the index is clamped
        assert table.cursor_row == 2 and table.cursor_key == 3
        table.set_rows([], app.cells)
        assert table.cursor_key is None and table.row_count == 0
        await pilot.pause()
        assert table.render_line(1).text.strip() == "no rows"
        table.empty_text = "nothing matches"
        assert table.render_line(1).text.strip() == "nothing matches"
        assert [m.key for m in app.of(VirtualTable.CursorMoved)][-3:] == [7, 3, None]


async def test_cells_are_literal_styled_and_clipped() -> None:
    def cells(key: Hashable) -> Sequence[str | Text]:
        return ("[bold]x[/bold]", Text("R-1", style="red"), "1.00", "a long message " * 20)

    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows(["k", "l"], cells)
        await pilot.pause()
        line = table.render_line(2)  # not the cursor row, whose colours the cursor sets
        # mark, code (10) clipped, return (8), at risk (9, right), message (grows), 1 gap each
        assert line.text.startswith("  " + "[bold]x[/… " + "R-1      " + "     1.00 "
                                    + "a long message")
        assert line.text.endswith("… ")
        assert line.cell_length == table.scrollable_content_region.width == SIZE[0]
        red = [s for s in line if s.text.startswith("R-1")]
        assert red and red[0].style.color.name == "red"


async def test_set_rows_is_lazy() -> None:
    """Only the rows on screen are ever asked for (speed: benchmarks/console_bench.py)."""
    app = TableApp(rows=0)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows(range(100_000), app.cells)
        assert app.cells.asked == []
        await pilot.pause()
        assert sorted(set(app.cells.asked)) == list(range(BODY))
        await pilot.press("end")
        await pilot.pause()
        assert len(set(app.cells.asked)) == 2 * BODY


class DroppingApp(App):
    """A table whose columns carry drop ranks, every ColumnsHidden kept."""

    COLUMNS = (
        Column("code", "code", 10),
        Column("ref", "return", 8),
        Column("amount", "at risk", 9, justify="right", drop=1),
        Column("message", "message", 20, grow=True, drop=2),
    )

    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[tuple[str, ...]] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(self.COLUMNS)

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(range(3), Cells())

    def on_virtual_table_columns_hidden(self, message: VirtualTable.ColumnsHidden) -> None:
        self.hidden.append(message.keys)


async def test_columns_drop_by_rank_to_fit_and_come_back() -> None:
    """Issue 10.1: on a narrow terminal the columns fell off the right. Now the highest
    `drop` goes first, a 0 never goes, and the owner is told which are hidden."""
    app = DroppingApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(VirtualTable)
        assert table.hidden_columns == ()
        assert table.render_line(1).text.startswith("  CODE_0     R-0           0.00 message 0")
        await pilot.resize_terminal(35, 10)
        await pilot.pause()
        assert table.hidden_columns == ("message",)
        assert "message" not in table.render_line(0).text
        await pilot.resize_terminal(20, 10)
        await pilot.pause()
        assert table.hidden_columns == ("amount", "message")
        # the undroppable ones still show, and scroll sideways rather than vanish
        assert table.render_line(1).text.startswith("  CODE_0     R-0")
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert table.hidden_columns == ()
    assert app.hidden == [("message",), ("amount", "message"), ()]


class SnapshotApp(App):
    """A small table in the console's own theme: a mark, a sort indicator, the cursor."""

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS)

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = DEFAULT
        rows = {
            1: (Text("TAX_MISMATCH", style="bold red"), "R-100021", "1.00", "Tax differs"),
            2: ("UNKNOWN_SKU", "R-100022", "12.50", "SKU [ABC-1] not in the ERP item list"),
            3: ("NO_CREDIT_NOTE", "R-100023", "1234.56", "Refund with no credit note " * 4),
            4: ("DAMAGED_RESOLD", "R-100024", "0.00", "Damaged stock back on sale"),
        }
        table = self.query_one(VirtualTable)
        table.set_rows(list(rows), rows.__getitem__)
        table.set_sort("amount", reverse=True)
        table.toggle_mark(2)
        table.move_cursor(2)
        table.focus()


def test_snapshot_mark_sort_and_cursor(snap_compare) -> None:
    assert snap_compare(SnapshotApp(), terminal_size=(80, 8))


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
       st.integers(min_value=-1, max_value=32), st.sampled_from(["left", "right"]))
def test_plain_cells_are_fitted_as_styled_ones_are(cell: str, width: int, justify: str) -> None:
    """The fast path for printable ASCII clips and pads exactly as the Text path does."""
    assert _fit_plain(cell, width, justify) == _fit(cell, width, justify).plain

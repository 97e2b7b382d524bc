"""A table that draws only the rows on screen, for queues of 10,000+ rows.

Textual's DataTable builds every row up front, so the first render and each filter keystroke
cost O(all rows) in widgets and styles. This table keeps only the row keys plus a function
that gives one key's cells: replacing the rows is a list copy, and drawing (Textual's Line
API) asks for the cells of the visible rows only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text
MARK = "● "  # the narrow first column: marked rows show the dot
GAP = 1  # blank cells after each column
CACHE_LIMIT = 4096  # cached rows of cells; scrolling through 100,000 rows must not keep them all
_FLAT = str.maketrans("\n\r\t", "   ")  # one row is one line, whatever the API sent


@dataclass(frozen=True, slots=True)
class Column:
    """One column: `width` in cells; the last `grow` column also takes the spare width.

    `drop` orders what goes when the table is narrower than its columns: the highest `drop`
    first, then the next; 0 never drops (a return's reference must never be cut away)."""

    key: str
    label: str
    width: int
    justify: str = "left"  # "left" | "right"
    grow: bool = False
    drop: int = 0


def _fit(cell: Cell, width: int, justify: str) -> Text:
    """Exactly `width` cells: clipped with an ellipsis, padded to its side. A str is taken
    literally (API text holds [brackets]); a Text keeps its styles."""
    if width <= 0:
        return Text()
    text = Text(cell, end="") if isinstance(cell, str) else cell.copy()
    text.plain = text.plain.translate(_FLAT)  # same length, so a Text keeps its spans
    text.truncate(width, overflow="ellipsis")
    spare = width - text.cell_len
    if spare > 0:
        if justify == "right":
            text.pad_left(spare)
        else:
            text.pad_right(spare)
    return text


def _fit_plain(cell: str, width: int, justify: str) -> str:
    """`_fit` for printable ASCII (one cell a character), the most of a queue's cells,
    without making a Text: the same clipping and padding."""
    if width <= 0:
        return ""
    if len(cell) > width:
        return cell[:width - 1] + "…"
    return cell.rjust(width) if justify == "right" else cell.ljust(width)


def _segments(text: Text, console: Console) -> list[Segment]:
    """A Text's segments with its own style too (`Text.render` applies only its spans'
    styles; appended to another Text, the style becomes a span)."""
    line = Text(end="")
    line.append_text(text)
    return list(line.render(console))


class _TableMessage(Message):
    """Base of the table's messages: `control` lets owners use `@on(..., "#id")`."""

    def __init__(self, table: VirtualTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> VirtualTable:
        return self.table


class VirtualTable(ScrollView, can_focus=True):
    """Rows given as keys plus a cells function; line 0 is a header that never scrolls away.

    The virtual height is rows + 1, and the header is drawn at the top of the visible region
    at every scroll offset, so row `r` is on screen line `r - scroll_y + 1`.
    """

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .virtual-table--header { text-style: bold; background: $panel; color: $text-primary; }
        &:ansi > .virtual-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .virtual-table--zebra { background: $foreground 5%; }
        & > .virtual-table--marked { background: $secondary 25%; }
        & > .virtual-table--mark { color: $accent; text-style: bold; }
        & > .virtual-table--empty { color: $text-muted; text-style: italic; }
        & > .virtual-table--cursor { background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground; text-style: $block-cursor-blurred-text-style; }
        &:focus > .virtual-table--cursor { background: $block-cursor-background;
            color: $block-cursor-foreground; text-style: $block-cursor-text-style; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header", "virtual-table--zebra", "virtual-table--marked",
        "virtual-table--mark", "virtual-table--empty", "virtual-table--cursor",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_by(-1)", "Up", show=False, id="table.cursor_up"),
        Binding("down", "cursor_by(1)", "Down", show=False, id="table.cursor_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "cursor_to(0)", "First row", show=False, id="table.first"),
        Binding("end", "cursor_to(-1)", "Last row", show=False, id="table.last"),
        Binding("enter", "select", "Open", id="table.select"),
        Binding("space", "toggle_mark", "Mark", id="table.mark"),
    ]

    class CursorMoved(_TableMessage):
        """The cursor is on another key (None: no rows), so the owner can follow it."""

        def __init__(self, table: VirtualTable, key: Hashable | None) -> None:
            super().__init__(table)
            self.key = key

    class Selected(_TableMessage):
        """Enter, or a click on the cursor row: the owner opens `key`."""

        def __init__(self, table: VirtualTable, key: Hashable) -> None:
            super().__init__(table)
            self.key = key

    class HeaderClicked(_TableMessage):
        """A header label was clicked: the owner sorts (the table only shows ▲/▼)."""

        def __init__(self, table: VirtualTable, column_key: str) -> None:
            super().__init__(table)
            self.column_key = column_key

    class ColumnsHidden(_TableMessage):
        """Columns were dropped to fit (or came back): the owner can show what a row holds
        in them elsewhere (a detail line). `keys` is empty when every column shows."""

        def __init__(self, table: VirtualTable, keys: tuple[str, ...]) -> None:
            super().__init__(table)
            self.keys = keys

    class MarksChanged(_TableMessage):
        """The marked keys changed, so the owner can update a count or enable bulk actions."""

        def __init__(self, table: VirtualTable, marked: frozenset[Hashable]) -> None:
            super().__init__(table)
            self.marked = marked

    sort_column: reactive[str | None] = reactive(None)
    sort_reverse: reactive[bool] = reactive(False)
    empty_text: reactive[str] = reactive("no rows")

    def __init__(self, columns: Sequence[Column] = (), *, name: str | None = None,
                 id: str | None = None, classes: str | None = None, zebra: bool = True) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.zebra = zebra
        self._columns: tuple[Column, ...] = ()
        self._keys: list[Hashable] = []
        self._cells: Callable[[Hashable], Sequence[Cell]] = lambda key: ()
        self._cache: dict[Hashable, Sequence[Cell]] = {}
        #: drawn rows, before the cursor's style: (key, row style, mark) → strip
        self._strips: dict[tuple[Hashable, Style, object], Strip] = {}
        self._marks: set[Hashable] = set()
        self._badges: dict[Hashable, Text] = {}
        self._cursor = 0
        self._layout: tuple[int, list[tuple[Column, int]]] | None = None
        self._shown: tuple[int, ...] = ()  # indexes into the columns, of those that fit
        self._hidden: tuple[str, ...] = ()
        self._click_selected = False
        self.set_columns(columns)

    def set_columns(self, columns: Sequence[Column]) -> None:
        """New columns; cached cells are dropped, as they follow the column order."""
        self._columns = tuple(columns)
        self._cache.clear()
        self._strips.clear()
        self._layout = None
        self._resize_virtual()
        self.refresh()

    def set_rows(self, keys: Sequence[Hashable], cells: Callable[[Hashable], Sequence[Cell]],
                 *, refresh_cells: bool = False) -> None:
        """Show these keys; `cells(key)` is called only when a row is drawn, then cached.

        Pass `refresh_cells=True` when a key's cells changed (new data, not just a filter).
        The cursor stays on its key if still shown, else keeps its index (clamped).
        """
        old_key = self.cursor_key
        keys = list(keys)
        if keys == self._keys and cells == self._cells and not refresh_cells:
            return  # another filter text, the same rows: nothing to draw again
        self._keys = keys
        self._cells = cells
        if refresh_cells:
            self._cache.clear()
            self._strips.clear()
        row = self._cursor
        if old_key is not None and (found := self._index(old_key)) is not None:
            row = found
        self._cursor = max(0, min(row, len(self._keys) - 1))
        self._resize_virtual()
        self.refresh()
        self._scroll_to_cursor()
        if self.cursor_key != old_key:
            self.post_message(self.CursorMoved(self, self.cursor_key))

    def _resize_virtual(self) -> None:
        """The virtual width is what the columns that fit need, so nothing scrolls sideways
        unless even the undroppable ones are wider than the view."""
        self._shown = self._fitting(self.scrollable_content_region.width)
        widths = sum(self._columns[i].width + GAP for i in self._shown)
        self._set_virtual_size(Size(len(MARK) + widths, max(1, len(self._keys)) + 1))
        hidden = tuple(c.key for i, c in enumerate(self._columns) if i not in self._shown)
        if hidden != self._hidden:
            self._hidden = hidden
            self.post_message(self.ColumnsHidden(self, hidden))

    def _set_virtual_size(self, size: Size) -> None:
        """A new row count without laying the screen out again.

        `virtual_size` is a layout reactive: setting it re-arranges every widget on the
        screen, which a filter keystroke (a new row count) paid for in tens of milliseconds.
        A scroll view's size does not depend on its virtual size, so once mounted the value
        is set quietly and the scrollbars updated (Textual's `_scroll_update`, which its own
        resize path calls); a scrollbar that appears or goes is a display change, and that
        still lays out."""
        if size == self.virtual_size:
            return
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        bar = self.show_vertical_scrollbar
        self.set_reactive(VirtualTable.virtual_size, size)
        self._scroll_update(size)
        self.refresh()
        if self.show_vertical_scrollbar != bar:
            # The scrollbar came or went: the width for the columns changed with it, and no
            # Resize says so (the table's own size did not change). Fit once it is laid out.
            self.call_after_refresh(self._fit_again)

    def _fit_again(self) -> None:
        """The columns fitted again if the width they were fitted for is not the width now."""
        if self._fitting(self.scrollable_content_region.width) != self._shown:
            self._layout = None
            self._resize_virtual()
            self.refresh()

    def _fitting(self, width: int) -> tuple[int, ...]:
        """The columns that fit `width` (0: not laid out yet, so all), dropping the highest
        `drop` first."""
        shown = list(range(len(self._columns)))
        if width <= 0:
            return tuple(shown)
        by_drop = sorted((i for i in shown if self._columns[i].drop > 0),
                         key=lambda i: (-self._columns[i].drop, -i))
        need = len(MARK) + sum(c.width + GAP for c in self._columns)
        for i in by_drop:
            if need <= width:
                break
            shown.remove(i)
            need -= self._columns[i].width + GAP
        return tuple(shown)

    @property
    def hidden_columns(self) -> tuple[str, ...]:
        """Keys of the columns dropped to fit the width now."""
        return self._hidden

    def _row_cells(self, key: Hashable) -> Sequence[Cell]:
        cells = self._cache.get(key)
        if cells is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            cells = self._cache[key] = self._cells(key)
        return cells

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_row(self) -> int:
        """Index of the cursor into the keys shown (0 when there are none)."""
        return self._cursor

    @property
    def cursor_key(self) -> Hashable | None:
        return self._keys[self._cursor] if self._keys else None

    def set_sort(self, column_key: str | None, reverse: bool = False) -> None:
        """Show ▲ (or ▼ when reversed) on that column; the owner sorts and calls set_rows."""
        self.sort_column, self.sort_reverse = column_key, reverse

    def move_cursor(self, row: int) -> None:
        """Put the cursor on `row` (clamped) and scroll it into view."""
        old_row, old_key = self._cursor, self.cursor_key
        self._cursor = max(0, min(row, len(self._keys) - 1))
        if self._cursor != old_row:
            self.refresh_line(old_row + 1)
            self.refresh_line(self._cursor + 1)
        self._scroll_to_cursor()
        if self.cursor_key != old_key:
            self.post_message(self.CursorMoved(self, self.cursor_key))

    def _index(self, key: Hashable) -> int | None:
        """Where `key` is shown: one C-speed scan, so no key -> index dict to rebuild per filter."""
        try:
            return self._keys.index(key)
        except ValueError:
            return None

    def select_key(self, key: Hashable) -> bool:
        """Put the cursor on `key`; False if that key is not shown."""
        if (row := self._index(key)) is None:
            return False
        self.move_cursor(row)
        return True

    @property
    def marked(self) -> frozenset[Hashable]:
        """Marked keys. Marks outlive set_rows (a filter), so the owner decides when to clear."""
        return frozenset(self._marks)

    def toggle_mark(self, key: Hashable | None = None) -> None:
        """Mark or unmark `key` (the cursor row's key when None)."""
        key = self.cursor_key if key is None else key
        if key is None:
            return
        self._marks.symmetric_difference_update((key,))
        self.refresh()
        self.post_message(self.MarksChanged(self, self.marked))

    def set_badges(self, badges: dict[Hashable, Text]) -> None:
        """A one-cell sign in the mark column of unmarked rows (e.g. an action in flight),
        seen whichever columns the width leaves."""
        self._badges = dict(badges)
        self.refresh()

    def clear_marks(self) -> None:
        if self._marks:
            self._marks.clear()
            self.refresh()
            self.post_message(self.MarksChanged(self, self.marked))

    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top, body = round(self.scroll_y), self._body_height()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False)

    def action_cursor_by(self, step: int) -> None:
        self.move_cursor(self._cursor + step)

    def action_cursor_to(self, row: int) -> None:
        """Row `row`; a negative row counts from the end (-1: the last row)."""
        self.move_cursor(row if row >= 0 else len(self._keys) + row)

    def action_page(self, pages: int) -> None:
        """Scroll by pages and move the cursor as far, so it keeps its place on screen."""
        step = pages * self._body_height()
        self.scroll_to(y=self.scroll_y + step, animate=False)
        self.move_cursor(self._cursor + step)

    def action_select(self) -> None:
        if self._keys:
            self.post_message(self.Selected(self, self._keys[self._cursor]))

    def action_toggle_mark(self) -> None:
        self.toggle_mark()

    def on_resize(self, event: events.Resize) -> None:
        """Fit the columns to the new width, and keep the cursor in view."""
        self._layout = None
        self._resize_virtual()
        self._scroll_to_cursor()

    def on_click(self, event: events.Click) -> None:
        """Header: HeaderClicked. Row: move the cursor; the cursor row (or a double click)
        selects, once per click chain."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            x = offset.x + round(self.scroll_x)
            for column, start in self._column_layout()[1]:
                if start <= x < start + column.width + GAP:
                    self.post_message(self.HeaderClicked(self, column.key))
            return
        row = round(self.scroll_y) + offset.y - 1
        if row >= len(self._keys):
            return
        if event.chain == 1:
            self._click_selected = row == self._cursor
            if self._click_selected:
                self.action_select()
            else:
                self.move_cursor(row)
        elif not self._click_selected and row == self._cursor:
            self._click_selected = True
            self.action_select()

    def _column_layout(self) -> tuple[int, list[tuple[Column, int]]]:
        """(line width, [(column, start x)]) for the current width; the grow column widens."""
        width = max(self.scrollable_content_region.width, self.virtual_size.width)
        if self._layout is None or self._layout[0] != width:
            spare = width - self.virtual_size.width
            shown = [self._columns[i] for i in self._shown]
            grow = next((c for c in reversed(shown) if c.grow), None)
            x, placed = len(MARK), []
            for column in shown:
                if column is grow and spare > 0:
                    column = replace(column, width=column.width + spare)
                placed.append((column, x))
                x += column.width + GAP
            self._layout = (width, placed)
            self._strips.clear()  # drawn for another width
        return self._layout

    def _line(self, first: Text, cells: Sequence[Cell] | None, style: Style) -> Strip:
        """One line, `width` cells: `first` (mark column), then the cells (None: no columns)."""
        width, placed = self._column_layout()
        console = self.app.console
        segments = _segments(first, console)
        if cells is not None:
            for index, (column, _x) in zip(self._shown, placed, strict=False):
                cell = cells[index] if index < len(cells) else ""
                if isinstance(cell, str) and cell.isascii() and cell.isprintable():
                    segments.append(Segment(_fit_plain(cell, column.width, column.justify)
                                            + " " * GAP))
                else:
                    segments += _segments(_fit(cell, column.width, column.justify), console)
                    segments.append(Segment(" " * GAP))
        return Strip(Segment.apply_style(segments, style)).adjust_cell_length(width, style)

    def render_line(self, y: int) -> Strip:
        scroll_x, width = round(self.scroll_x), self.scrollable_content_region.width
        row = round(self.scroll_y) + y - 1
        if y == 0:
            header = self.get_component_rich_style("virtual-table--header")
            placed = {c.key: c for c, _x in self._column_layout()[1]}
            labels = [self._label(placed.get(c.key, c)) for c in self._columns]
            strip = self._line(Text(" " * len(MARK)), labels, header)
        elif not self._keys and y == 1:
            style = self.get_component_rich_style("virtual-table--empty")
            strip = self._line(Text(" " * len(MARK) + self.empty_text), None, style)
        elif row >= len(self._keys):
            return Strip.blank(width, self.rich_style)
        else:
            strip = self._row_line(row)
        return strip.crop(scroll_x, scroll_x + width)

    def _label(self, column: Column) -> str:
        """The header label, ending in ▲/▼ on the sort column (clipped to make room)."""
        if column.key != self.sort_column:
            return column.label
        arrow = " ▼" if self.sort_reverse else " ▲"
        return _fit(column.label, max(0, column.width - 2), "left").plain.rstrip() + arrow

    def _row_line(self, row: int) -> Strip:
        """A row as drawn: kept per (key, style, mark), so a filter that shows rows seen
        before, or a scroll back, redraws them without making their cells again."""
        key = self._keys[row]
        style = self.rich_style
        if marked := key in self._marks:
            style = self.get_component_rich_style("virtual-table--marked")
        elif self.zebra and row % 2:
            style = self.get_component_rich_style("virtual-table--zebra")
        badge = self._badges.get(key)
        mark_key: object = (
            self.get_component_rich_style("virtual-table--mark", partial=True) if marked
            else None if badge is None else (badge.plain, str(badge.style)))
        found = (key, style, mark_key)
        strip = self._strips.get(found)
        if strip is None:
            if marked:
                mark = Text(MARK, self.get_component_rich_style("virtual-table--mark",
                                                                partial=True))
            elif badge is not None:
                mark = badge.copy()
                mark.truncate(1)
                mark.pad_right(len(MARK) - mark.cell_len)
            else:
                mark = Text(" " * len(MARK))
            strip = self._line(mark, self._row_cells(key), style)
            if len(self._strips) >= CACHE_LIMIT:
                self._strips.clear()
            self._strips[found] = strip
        if row == self._cursor:
            cursor = self.get_component_rich_style("virtual-table--cursor")
            strip = Strip(Segment.apply_style(strip, post_style=cursor), strip.cell_length)
        return strip

"""The owner-team tabs over the queue, each with its count, drawn as two lines.

Textual's Tabs relabel a tab by re-laying out the screen and animating the underline to the
new width: with counts that change on every filter keystroke that was a layout pass and a
few extra frames per key. These tabs are one widget of fixed height: a new count or a new
active tab is a repaint of two lines, nothing else moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

GAP = 1  # blank cells between tabs


class TeamTabs(Widget, can_focus=True):
    """Tabs `key → label`; `set_counts` puts a count after each label, `active` picks one.

    A click on a tab, or left/right while the tabs have the focus (Tab reaches them, as it
    did Textual's Tabs), posts `Chosen`; the owner decides what choosing means (it sets
    `active`), so keys ([ and ]) and commands go the same way."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous team", show=False),
        Binding("right", "step(1)", "Next team", show=False),
    ]

    DEFAULT_CSS = """
    TeamTabs {
        height: 2;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .team-tabs--tab { color: $foreground 50%; }
        & > .team-tabs--active { color: $foreground; text-style: bold; }
        &:focus > .team-tabs--active { text-style: bold reverse; }
        & > .team-tabs--bar { color: $foreground 10%; }
        & > .team-tabs--bar-active { color: $block-cursor-background; }
        &:ansi > .team-tabs--tab { color: ansi_default; text-style: dim; }
        &:ansi > .team-tabs--bar { color: ansi_bright_black; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "team-tabs--tab", "team-tabs--active", "team-tabs--bar", "team-tabs--bar-active",
    }

    class Chosen(Message):
        """A tab was clicked."""

        def __init__(self, tabs: TeamTabs, key: str) -> None:
            super().__init__()
            self.tabs = tabs
            self.key = key

        @property
        def control(self) -> TeamTabs:
            return self.tabs

    def __init__(self, labels: Mapping[str, str], *, active: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._labels = dict(labels)
        self._counts: dict[str, int] = {}
        self._active = active if active in self._labels else next(iter(self._labels), "")

    @property
    def active(self) -> str:
        return self._active

    @active.setter
    def active(self, key: str) -> None:
        if key in self._labels and key != self._active:
            self._active = key
            self.refresh()

    def set_counts(self, counts: Mapping[str, int]) -> None:
        """The count after each label (a key left out shows no count)."""
        new = {k: counts[k] for k in self._labels if k in counts}
        if new != self._counts:
            self._counts = new
            self.refresh()

    def texts(self) -> Sequence[tuple[str, str]]:
        """(key, the text its tab shows), in order."""
        return [(key, f" {label} {self._counts[key]} " if key in self._counts
                 else f" {label} ") for key, label in self._labels.items()]

    def _shift(self) -> int:
        """Cells scrolled off on the left, so that on a narrow terminal the active tab is
        still seen whole (the tabs after it go first)."""
        start, width = 0, self.size.width
        for key, shown in self.texts():
            if key == self._active:
                return max(0, start + len(shown) - width) if width > 0 else 0
            start += len(shown) + GAP
        return 0

    def render(self) -> Text:
        tab, active, bar, bar_active = (self.get_component_rich_style(f"team-tabs--{name}")
                                        for name in ("tab", "active", "bar", "bar-active"))
        top, under = Text(end=""), Text(end="")
        for key, shown in self.texts():
            if top:
                top.append(" " * GAP)
                under.append("━" * GAP, style=bar)
            on = key == self._active
            top.append(shown, style=active if on else tab)
            under.append("━" * len(shown), style=bar_active if on else bar)
        under.append("━" * max(0, self.size.width - under.cell_len), style=bar)
        if shift := self._shift():
            top, under = top[shift:], under[shift:]
        lines = Text(no_wrap=True, overflow="crop", end="")
        lines.append_text(top)
        lines.append("\n")
        lines.append_text(under)
        return lines

    def key_at(self, x: int) -> str | None:
        """Which tab is at column `x` of the widget, if any."""
        start, x = 0, x + self._shift()
        for key, shown in self.texts():
            if start <= x < start + len(shown):
                return key
            start += len(shown) + GAP
        return None

    def action_step(self, step: int) -> None:
        keys = list(self._labels)
        if keys:
            at = keys.index(self._active) if self._active in keys else 0
            self.post_message(self.Chosen(self, keys[(at + step) % len(keys)]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and (key := self.key_at(offset.x)) is not None:
            event.stop()
            self.post_message(self.Chosen(self, key))

"""`?` / F1: what the screen is for and what every key does where the focus is."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from ..presenter import Presenting

KEY_NAMES = {"question_mark": "?", "slash": "/", "colon": ":", "space": "space",
             "left_square_bracket": "[", "right_square_bracket": "]"}


class HelpScreen(Presenting, ModalScreen[None]):
    """Keys of the focused widget first, then the screen's, then the app's, with the ids a
    user keymap in the config can rebind. Masked in presenter mode like every screen (a
    screen's help may say what it is showing)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, screen: Screen, focused: Widget | None) -> None:
        super().__init__()
        self._target = screen
        self._focused = focused
        #: (key, what it does, where, binding id), focused widget first
        self.rows: list[tuple[str, str, str, str]] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self._text(), id="help-text")
            yield Static(self._keys(), id="help-keys")
            yield Static(Text("Esc closes · Ctrl+P opens the command palette · keys can be "
                              "rebound in the config ([keymap] id = \"key\")", style="dim"))

    def presenter_changed(self) -> None:
        self.query_one("#help-text", Static).update(self._text())

    def _text(self) -> Text:
        title = getattr(self._target, "HELP", None) or self._target.__class__.__doc__ or ""
        # docstrings quote keys and commands in backticks: words on screen, not code marks
        return Text(self.safe(" ".join(title.replace("`", "").split())))

    def _keys(self) -> Table:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("key", no_wrap=True)
        table.add_column("does")
        table.add_column("where", style="dim")
        table.add_column("id (for the keymap)", style="dim")
        seen: set[str] = set()
        rows: list[tuple[int, str, str, str, str]] = []
        for key, active in self._target.active_bindings.items():
            binding = active.binding
            name = binding.id or binding.action
            if name in seen or not binding.description:
                continue
            seen.add(name)
            node = active.node
            where = ("focused" if node is self._focused else
                     "screen" if node is self._target else
                     "app" if node is self.app else type(node).__name__)
            order = {"focused": 0, "screen": 1, "app": 3}.get(where, 2)
            shown = binding.key_display or self.app.get_key_display(binding)
            rows.append((order, KEY_NAMES.get(key, shown), binding.description, where,
                         binding.id or ""))
        self.rows = [row[1:] for row in sorted(rows, key=lambda r: r[0])]
        for key, does, where, ident in self.rows:
            table.add_row(key, does, where, ident)
        return table

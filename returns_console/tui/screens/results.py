"""What each return's action came to (bulk): one line per return, failures first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...services.actions import Outcome
from ..presenter import Presenting


class ResultsScreen(Presenting, ModalScreen[None]):
    """One line per return; masked in presenter mode (a note may name a customer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="results.close"),
    ]

    def __init__(self, title: str, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.title_text = title
        self.outcomes = outcomes

    def compose(self) -> ComposeResult:
        with Vertical(id="results-dialog", classes="dialog"):
            yield Static(self._title(), classes="dialog-title", id="results-title")
            with VerticalScroll():
                yield Static(self._list(), id="results-list")
            yield Static(Text("Esc, Enter or q closes", style="dim"))

    def presenter_changed(self) -> None:
        """Presenter mode switched while the results are open: shown again."""
        self.query_one("#results-title", Static).update(self._title())
        self.query_one("#results-list", Static).update(self._list())

    def _title(self) -> Text:
        ok = sum(o.ok for o in self.outcomes)
        return Text(f"{self.safe(self.title_text)}: {ok} of {len(self.outcomes)} done",
                    style="bold")

    def _list(self) -> Text:
        text = Text()
        for o in sorted(self.outcomes, key=lambda o: o.ok):
            text.append("✓ " if o.ok else "✗ ", style="green" if o.ok else "bold red")
            text.append(f"{self.safe(o.return_ref or '-')}: ", style="bold")
            message = o.message
            if o.return_ref and message.startswith(o.return_ref):  # said once is enough
                message = message[len(o.return_ref):].lstrip(" :")
            text.append(f"{self.safe(message)}  (audit row {o.seq})\n")
        return text

    def action_close(self) -> None:
        self.dismiss(None)

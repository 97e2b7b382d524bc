"""What each return's action came to (bulk): one line per return, failures first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...services.actions import Outcome
from ..presenter import mask_emails, mask_host


class ResultsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,enter,q", "close", "Close", id="results.close"),
    ]

    def __init__(self, title: str, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.title_text = title
        self.outcomes = outcomes

    def compose(self) -> ComposeResult:
        ok = sum(o.ok for o in self.outcomes)
        with Vertical(id="results-dialog", classes="dialog"):
            yield Static(Text(f"{self.title_text}: {ok} of {len(self.outcomes)} done",
                              style="bold"), classes="dialog-title")
            with VerticalScroll():
                text = Text()
                for o in sorted(self.outcomes, key=lambda o: o.ok):
                    text.append("✓ " if o.ok else "✗ ", style="green" if o.ok else "bold red")
                    text.append(f"{o.return_ref or '-'}: ", style="bold")
                    message = (mask_emails(mask_host(o.message))
                               if getattr(self.app, "presenter", False) else o.message)
                    text.append(f"{message}  (audit row {o.seq})\n")
                yield Static(text, id="results-list")

    def action_close(self) -> None:
        self.dismiss(None)

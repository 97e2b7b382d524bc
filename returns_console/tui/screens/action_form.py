"""A small form for an action's few inputs (SKU → item, new reference, snooze date ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..presenter import Presenting


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""


class ActionForm(Presenting, ModalScreen[dict[str, str] | None]):
    """Enter on the last field (or the button) goes on to the preview; Esc cancels.

    In presenter mode the title, the note (it lists identifiers like the one at hand) and
    the labels are masked; what is typed in the fields stays as typed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, title: str, fields: list[Field], *, note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="form-dialog", classes="dialog"):
            yield Static(Text(self.safe(self.title_text), style="bold"),
                         classes="dialog-title", id="form-title")
            if self.note:
                yield Static(Text(self.safe(self.note)), classes="dialog-note", id="form-note")
            for f in self.fields:
                yield Label(Text(self.safe(f.label)), id=f"label-{f.name}")
                yield Input(value=f.value, placeholder=f.placeholder, id=f"field-{f.name}")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Preview", variant="primary", id="form-go")
                yield Button("Cancel", id="form-cancel")

    def on_mount(self) -> None:
        """The first field still to fill gets the focus (the rest come prefilled)."""
        inputs = list(self.query(Input))
        empty = next((i for i in inputs if not i.value), inputs[0] if inputs else None)
        if empty is not None:
            empty.focus()

    def presenter_changed(self) -> None:
        """Presenter mode switched while the form is open: its words shown again (what was
        typed is kept)."""
        self.query_one("#form-title", Static).update(Text(self.safe(self.title_text),
                                                          style="bold"))
        for note in self.query("#form-note").results(Static):
            note.update(Text(self.safe(self.note)))
        for f in self.fields:
            self.query_one(f"#label-{f.name}", Label).update(Text(self.safe(f.label)))

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value for f in self.fields}

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        at = inputs.index(event.input)
        if at + 1 < len(inputs):
            inputs[at + 1].focus()
        else:
            self.dismiss(self.values())

    @on(Button.Pressed, "#form-go")
    def _go(self) -> None:
        self.dismiss(self.values())

    @on(Button.Pressed, "#form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

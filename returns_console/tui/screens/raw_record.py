"""The source record behind a view, exactly as the system sent it: the last word when the
console and an operator disagree about what a system said."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ..presenter import Masker, Presenting

NO_RAW = ("No raw record kept for {ref} (opened from a snapshot file, or the source was not "
          "read this session)")


def pretty(record: Any) -> str:
    """Indented JSON; Decimals and dates as their strings (never floats, never a crash)."""
    return json.dumps(_decoded(record), indent=2, ensure_ascii=False, default=_text)


def _text(value: Any) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def _decoded(record: Any) -> Any:
    """A record kept as JSON text or bytes is shown as the JSON it holds."""
    if isinstance(record, bytes | bytearray):
        record = record.decode("utf-8", errors="replace")
    if isinstance(record, str):
        try:
            return json.loads(record)
        except ValueError:
            return record
    return record


def syntax_theme(dark: bool, name: str) -> str:
    """A Pygments theme that stays readable on the console theme in use."""
    if "contrast" in name:
        return "ansi_dark" if dark else "ansi_light"
    return "monokai" if dark else "friendly"


class RawRecordScreen(Presenting, ModalScreen[None]):
    """One or more raw records, pretty-printed and highlighted; masked in presenter mode."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="raw.close"),
    ]

    def __init__(self, title: str, records: list[tuple[str, Any]],
                 presenter: bool | None = None, *, secrets: Iterable[str] = ()) -> None:
        """`presenter` None: as the app is; `secrets`: what the opener knows besides the
        session (the return's customer)."""
        super().__init__()
        self.title_text = title
        self.records = records
        self.presenter = presenter
        self._secrets = list(secrets)

    def own_masker(self, base: Masker | None) -> Masker:
        """The session's values, the opener's, and every personal (or the client's own)
        value in these records, so a value repeated in free text is masked too."""
        masker = (base or Masker()).extended(secrets=self._secrets)
        for _, record in self.records:
            masker.learn(_decoded(record))
        return masker

    def compose(self) -> ComposeResult:
        with Vertical(id="raw-dialog"):
            yield Static(Text(self._safe(self.title_text)), id="raw-title")
            with VerticalScroll(id="raw-body"):
                for ref, record in self.records:
                    yield Static(Text(self._safe(ref)), classes="raw-ref")
                    yield Static(self._body(ref, record), classes="raw-json")
        yield Footer()

    def presenter_changed(self) -> None:
        """Presenter mode switched while the record is open: shown again, (un)masked."""
        self.query_one("#raw-title", Static).update(Text(self._safe(self.title_text)))
        refs = list(self.query(".raw-ref").results(Static))
        bodies = list(self.query(".raw-json").results(Static))
        for (ref, record), label, body in zip(self.records, refs, bodies, strict=False):
            label.update(Text(self._safe(ref)))
            body.update(self._body(ref, record))

    def _safe(self, text: str) -> str:
        return self.safe(text)

    def _body(self, ref: str, record: Any) -> Text | Syntax:
        if record is None:
            return Text(NO_RAW.format(ref=self._safe(ref)))
        theme = self.app.current_theme
        return Syntax(self._json(record), "json", theme=syntax_theme(theme.dark, theme.name),
                      word_wrap=True, background_color=self.app.theme_variables.get("surface"))

    def json_text(self) -> str:
        """Everything the modal shows, as plain text (what tests and copy-paste see)."""
        parts = []
        for ref, record in self.records:
            parts.append(self._safe(ref))
            parts.append(NO_RAW.format(ref=self._safe(ref)) if record is None
                         else self._json(record))
        return "\n".join(parts)

    def _json(self, record: Any) -> str:
        return pretty(self.masker.record(_decoded(record)) if self.presenter else record)

    def action_close(self) -> None:
        self.dismiss(None)

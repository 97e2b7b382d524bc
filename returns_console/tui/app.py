"""The Textual app: loads a check in a worker, then shows the queue; Enter opens a return.

Work in progress (issue 4): reached by the hidden `returns-console ui` command for now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from ..services.check import CheckReport
from .screens.queue import QueueScreen
from .screens.return_detail import ReturnScreen
from .themes import DEFAULT, load_themes, themes_dir

ENVIRONMENTS = ("demo", "sandbox", "production")
VARIABLE_DEFAULTS = {
    "env-demo": "#9B7BE6", "env-sandbox": "#E5B84C", "env-production": "#F0605D",
    "severity-critical": "#FF5C5C", "severity-high": "#F0605D", "severity-medium": "#E5B84C",
    "severity-low": "#6EC6E8",
}


class ReturnsConsole(App):
    TITLE = "Returns Console"
    CSS_PATH = str(themes_dir() / "console.tcss")
    BINDINGS: ClassVar[list[Binding]] = [Binding("q", "quit", "Quit", id="app.quit")]

    def __init__(self, load: Callable[[], CheckReport], *, environment: str = "demo",
                 theme: str | None = None) -> None:
        super().__init__()
        self._load = load
        self.report: CheckReport | None = None
        self.environment = environment if environment in ENVIRONMENTS else "production"
        for custom in load_themes():
            self.register_theme(custom)
        self._asked_theme = theme or DEFAULT

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Our variables for any theme that does not set them (Textual's own ones)."""
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.environment.upper(), id="environment",
                     classes=f"env-{self.environment}")
        yield LoadingIndicator()
        yield Footer()

    def on_mount(self) -> None:
        self.use_theme(self._asked_theme)
        self.sub_title = "loading…"
        self._fetch()

    def use_theme(self, name: str) -> None:
        """Switch theme; an unknown name falls back to the default with a notice."""
        if name in self.available_themes:
            self.theme = name
            return
        self.theme = DEFAULT
        self.notify(f"No theme {name!r}; using {DEFAULT}. Themes: "
                    + ", ".join(sorted(self.available_themes)), severity="warning")

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _fetch(self) -> CheckReport:
        return self._load()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "load":
            return
        if event.state == WorkerState.SUCCESS:
            self.report = event.worker.result
            self.sub_title = self.report.profile
            self.push_screen(QueueScreen(self.report))
        elif event.state == WorkerState.ERROR:
            self.sub_title = "could not load"
            self.notify(str(event.worker.error), title="Loading failed", severity="error",
                        timeout=30)

    def open_return(self, return_ref: str) -> None:
        if self.report is None:
            return
        case = next((c for c in self.report.cases if c.return_ref == return_ref), None)
        if case is None:
            self.notify(f"{return_ref} is not in this check", severity="warning")
            return
        found = [f for f in self.report.findings if f.return_ref == return_ref]
        self.push_screen(ReturnScreen(case, found))

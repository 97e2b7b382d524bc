"""The Textual app: loads a check in a worker, then shows the queue; Enter opens a return.

Work in progress (issue 4): reached by the hidden `returns-console ui` command for now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, LoadingIndicator
from textual.worker import Worker, WorkerState

from ..services.check import CheckReport
from .screens.queue import QueueScreen
from .screens.return_detail import ReturnScreen


class ReturnsConsole(App):
    TITLE = "Returns Console"
    BINDINGS: ClassVar[list[Binding]] = [Binding("q", "quit", "Quit", id="app.quit")]

    def __init__(self, load: Callable[[], CheckReport]) -> None:
        super().__init__()
        self._load = load
        self.report: CheckReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield LoadingIndicator()
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "loading…"
        self._fetch()

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

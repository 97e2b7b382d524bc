"""The Textual app: opens on the last report at once, refreshes in a worker, and shows the
queue; Enter (or `returns-console open REF`) drills into one return.

It calls a `Session` (services/session.py) and never makes an HTTP call itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Footer, Header, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from ..domain import pace
from ..errors import UserError
from ..services.session import ENVIRONMENTS, Loaded, ReportSession, Session
from ..services.ui_state import load_view, save_view
from .action_flows import ActionFlows
from .commands import ConsoleCommands
from .presenter import Masker, PresenterChanged, session_masker
from .queue_model import View
from .requests import (
    ActionRequested,
    AuditRequested,
    BulkActionRequested,
    ReturnRequested,
    TriageRequested,
    UndoRequested,
    ViewChanged,
)
from .screens.queue import QueueScreen
from .themes import DEFAULT, load_themes, themes_dir
from .widgets.environment_bar import EnvironmentBar

# The other screens, and the services that write (actions, triage, the audit log), are
# imported when first used: the queue's first frame needs none of them.
if TYPE_CHECKING:
    from ..services.actions import Actions
    from ..services.check import CheckReport

VARIABLE_DEFAULTS = {
    "env-demo": "#9B7BE6", "env-sandbox": "#E5B84C", "env-production": "#F0605D",
    "severity-critical": "#FF5C5C", "severity-high": "#F0605D", "severity-medium": "#E5B84C",
    "severity-low": "#6EC6E8",
}


#: What a person does that the refresh in the background waits for, and how long after
#: each (a keystroke's drawing takes 20-30 ms here; a mouse move is not waited for).
TYPED = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp,
         events.Paste)
HOLD_AFTER_INPUT = 0.08


class ReturnsConsole(ActionFlows, App):
    TITLE = "Returns Console"
    CSS_PATH = str(themes_dir() / "console.tcss")
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    #: Every screen gets a class for its size, so the stylesheet can fold the queue's header
    #: and compact the dialogs on an 80x24 terminal (and still show rows at 60x15).
    # The ignores: Textual annotates both as `ClassVar[...] | None`, which is not a
    # valid ClassVar (it must be outermost), so mypy reads an instance variable there.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [  # type: ignore[misc]
        (0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [  # type: ignore[misc]
        (0, "-tiny"), (20, "-short"), (34, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("f1", "help", "Help", id="app.help_f1", show=False),
        # priority: F2 works on every screen, dialogs included (a customer on a dialog is
        # exactly when it is pressed)
        Binding("f2", "toggle_presenter", "Presenter", id="app.presenter", priority=True),
        Binding("f3", "next_theme", "Theme", id="app.theme", show=False),
    ]

    def __init__(self, session: Session | Callable[[], CheckReport], *,
                 theme: str | None = None, presenter: bool = False,
                 keymap: Mapping[str, str] | None = None, open_ref: str | None = None,
                 state_path: Path | None = None, environment: str | None = None,
                 actions: Actions | None = None,
                 make_actions: Callable[[], Actions] | None = None) -> None:
        """`actions` (writes, triage, the audit log), or `make_actions` to make them when
        first used: opening them reads the keyring and the audit and triage databases, which
        the first frame does not need (the refresh after it uses them first)."""
        super().__init__()
        self._actions = actions
        self._make_actions = None if actions is not None else make_actions
        self._actions_lock = threading.Lock()
        self._triage_labels: dict[str, str] = {}
        self._resolved = False
        self._refresh_again = False
        #: refreshes started so far, and which one each load worker is: rows marked in flight
        #: stay marked until a refresh started after their write lands
        self.refreshes_started = 0
        self._serial_of: dict[Worker, int] = {}
        self._view_to_save: dict | None = None
        self._save_timer: Timer | None = None
        if not isinstance(session, Session):
            session = ReportSession(session, environment=environment or "demo")
        elif environment:
            session.environment = environment
        self.session = session
        self.environment = (session.environment if session.environment in ENVIRONMENTS
                            else "production")
        self.presenter = presenter
        #: What presenter mode hides in this session (built when first asked, per report).
        self._masker: Masker | None = None
        self.loaded: Loaded | None = None
        self._open_ref = open_ref
        self._state_path = state_path
        self._keymap = dict(keymap or {})
        self._progress_timer: Timer | None = None
        #: The last report kept (read in compose, shown in on_mount), or why it could not be.
        self._opening: Loaded | None = None
        self._opening_error: Exception | None = None
        for custom in load_themes():
            self.register_theme(custom)
        self._asked_theme = theme or DEFAULT
        if self._asked_theme in self.available_themes:
            # now, before the stylesheet is first read: set in on_mount, the theme would
            # make Textual parse it again and restyle every widget before the first frame
            self.theme = self._asked_theme

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Messages carry API text (errors, refs, SKUs): literal, never markup; in presenter
        mode masked like every screen (customers, the client's names, hostnames)."""
        if self.presenter:
            message = self.presenter_masker().mask(message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    @property
    def actions(self) -> Actions | None:
        """The session's actions (None: this console has none), made when first asked for,
        by whichever thread asks first (the refresh worker, usually)."""
        if self._make_actions is not None:
            with self._actions_lock:
                make, self._make_actions = self._make_actions, None
                if make is not None:
                    try:
                        self._actions = make()
                    except BaseException:  # said by whoever asked; asked again next time
                        self._make_actions = make
                        raise
        return self._actions

    @property
    def report(self) -> CheckReport | None:
        return self.loaded.report if self.loaded else None

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        """Only what means something here: Textual's own theme picker (its 24 themes), key
        panel, maximize and screenshot commands are left out; our themes, views and help
        are ConsoleCommands. Another Textual theme is still one `theme = "..."` away in the
        config."""
        yield SystemCommand("quit: leave the console", "Quit Returns Console",
                            self.action_quit)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Our variables for any theme that does not set them (Textual's own ones)."""
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    def compose(self) -> ComposeResult:
        # The last report first: with one, the queue opens on it at once (on_mount), over
        # this screen, which is then never seen, so it is left empty (nothing to lay out or
        # style before the queue's first frame, no spinner running under the queue).
        self._opening = None
        try:
            self._opening = self.session.opening()
        except Exception as exc:  # a cache we cannot read is no reason not to start
            self._opening_error = exc
        if self._opening is not None:
            return
        yield Header(show_clock=False)
        yield EnvironmentBar(id="environment")
        yield Static("reading the last report…", id="loading-text")
        yield LoadingIndicator()
        yield Footer()

    async def on_event(self, event: events.Event) -> None:
        """A key, a click, a scroll or a paste: the refresh running in its thread waits at
        its next step while the console answers it (domain/pace.py)."""
        if isinstance(event, TYPED) and not event.is_forwarded:
            pace.hold(HOLD_AFTER_INPUT)
        await super().on_event(event)

    def on_mount(self) -> None:
        self.use_theme(self._asked_theme)
        if self._keymap:
            self.set_keymap(self._keymap)
            for warning in keymap_clashes(self._keymap):
                self.notify(warning, severity="warning", markup=False, timeout=10)
        self.sub_title = self._sub_title()
        opening, self._opening = self._opening, None
        if self._opening_error is not None:
            self.notify(f"The last report could not be read: {self._opening_error}",
                        severity="warning")
            self._opening_error = None
        if opening is None:
            self.action_refresh_data()
        else:
            self._show(opening)
            # After the first frame: the refresh parses and reconciles in a thread that
            # holds the interpreter for long stretches; the last report is drawn first.
            self.call_after_refresh(self.action_refresh_data)

    def on_unmount(self) -> None:
        self._save_view()
        if self._actions is not None:  # never made just to be closed
            self._actions.close()
        self.session.close()

    # -- environment, theme, presenter ------------------------------------------------------

    # -- what screens ask for (tui/requests.py) -----------------------------------------

    def on_action_requested(self, message: ActionRequested) -> None:
        self.return_action(message.action, message.case, message.findings)

    def on_bulk_action_requested(self, message: BulkActionRequested) -> None:
        refs = list(message.return_refs)
        actions = self.actions
        if actions is None:
            self.notify("Actions are not available in this session", severity="warning")
            return
        many = f"{len(refs)} return{'s' if len(refs) != 1 else ''}"
        self.start_action(f"Re-queue posting for {many}", [],
                          lambda v: actions.plans_for(self._now_loaded(), message.action,
                                                      refs))

    def on_triage_requested(self, message: TriageRequested) -> None:
        self.triage_action(message.kind, message.findings)

    def on_audit_requested(self, message: AuditRequested) -> None:
        if self.actions is not None:
            from .screens.audit import AuditScreen

            self.push_screen(AuditScreen(self.actions, return_ref=message.return_ref))

    def on_undo_requested(self, message: UndoRequested) -> None:
        self.undo(message.seq)

    def on_view_changed(self, message: ViewChanged) -> None:
        self.remember_view(message.view)

    def paint_environment(self, bar: Static) -> None:
        """The environment in its colour on every screen: nobody mistakes production."""
        bar.set_classes(f"env-{self.environment}")
        text = Text(self.environment.upper(), style="bold")
        where = self.session.where if not self.presenter else ""
        if where:
            text.append(f"  {where}")
        if self.session.read_only:
            text.append("  · READ-ONLY", style="bold")
        if self.presenter:
            text.append("  · presenter mode")
        bar.update(text)

    def use_theme(self, name: str) -> None:
        """Switch theme; an unknown name falls back to the default with a notice."""
        if name in self.available_themes:
            self.theme = name
            return
        self.theme = DEFAULT
        self.notify(f"No theme {name!r}; using {DEFAULT}. Themes: "
                    + ", ".join(sorted(self.available_themes)), severity="warning")

    def action_next_theme(self) -> None:
        ours = sorted(t for t in self.available_themes if t.startswith("returns-"))
        n = (ours.index(self.theme) + 1) % len(ours) if self.theme in ours else 0
        self.use_theme(ours[n])
        self.notify(f"Theme: {ours[n]}")

    def action_toggle_presenter(self) -> None:
        self.set_presenter(not self.presenter)

    def set_presenter(self, on: bool) -> None:
        """Customer names, emails, numbers and addresses masked; the client's tenant, store,
        company and hostnames hidden; fewer columns. Every open screen is told, and repaints
        itself; messages already on screen (unmasked) are cleared."""
        self.presenter = on
        self.set_class(on, "-presenter")
        if on:
            self.clear_notifications()
        self.sub_title = self._sub_title()
        for screen in self.screen_stack:
            for bar in screen.query(EnvironmentBar):
                self.paint_environment(bar)
        self._tell_screens()
        self.notify("Presenter mode on: customer details masked" if on
                    else "Presenter mode off")

    def presenter_masker(self) -> Masker:
        """What presenter mode hides in this session: the profile's identifying options and
        hosts, and every customer the loaded report and the ERP's master data know."""
        if self._masker is None:
            loaded = self.loaded
            self._masker = session_masker(
                getattr(self.session, "profile", None),
                loaded.report.cases if loaded else (),
                (loaded.master or getattr(loaded.report, "master", None)) if loaded else None,
                profile_name=loaded.report.profile if loaded else None)
        return self._masker

    def _tell_screens(self) -> None:
        """Every open screen, dialogs and what is under them, shown again as presenter mode
        now says (a message each: the screens repaint themselves)."""
        masker = self.presenter_masker() if self.presenter else None
        for screen in self.screen_stack:
            screen.post_message(PresenterChanged(self.presenter, masker))

    def _sub_title(self) -> str:
        """The session and the profile the report was made with (a profile is often named
        after the client: masked in presenter mode)."""
        text = self.session.label
        if self.loaded is not None:
            text = f"{text} · {self.loaded.report.profile}"
        return self.presenter_masker().mask(text) if self.presenter else text

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen, self.focused))

    # -- loading ------------------------------------------------------------------------------

    def action_refresh_data(self) -> None:
        if self._loading():
            self.notify("A refresh is already running")
            return
        self._start_refresh()

    def refresh_soon(self) -> None:
        """After a change: refresh now, or as soon as the refresh under way is done (it may
        have read the systems before the change)."""
        if self._loading():
            self._refresh_again = True
        else:
            self._start_refresh()

    def _loading(self) -> bool:
        return any(w.group == "load" and not w.is_finished for w in self.workers)

    def _start_refresh(self) -> None:
        if self._progress_timer is not None:
            self._progress_timer.stop()
        self.refreshes_started += 1
        self._serial_of[self._fetch()] = self.refreshes_started
        self._progress_timer = self.set_interval(0.25, self._tick)

    def _tick(self) -> None:
        queue = self._queue()
        if queue is not None:
            queue.set_progress(self.session.progress() or "refreshing")
        else:
            text = self.query("#loading-text")
            if text:
                text.first(Static).update(self.session.progress() or "starting…")

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _fetch(self) -> Loaded:
        if self.actions is not None and not self._resolved:
            # what a crash left pending is settled first, by asking the ERP
            self._resolved = True
            for said in self.actions.resolve_pending():
                self.call_from_thread(self.notify, f"Recovered: {said}", timeout=20)
        loaded = self.session.refresh()
        if self.actions is not None:
            # writes handed to an ERP that takes them up later: settled as it is seen to
            for said in self.actions.settle_quietly():
                self.call_from_thread(self.notify, f"Settled: {said}", timeout=20)
            report = loaded.report
            for closed in self.actions.close_missing(report.findings, report.generated_at):
                self.call_from_thread(self.notify, f"Closed {closed.return_ref} {closed.code}: "
                                      f"{closed.closed_reason}")
            self._triage_labels = self.actions.triage_labels(report.generated_at)
        return loaded

    def refresh_triage(self) -> None:
        """Triage changed: the queue's triage column again (no new check needed)."""
        if self.actions is not None:
            self._triage_worker()

    @work(thread=True, group="triage", exit_on_error=False)
    def _triage_worker(self) -> None:
        assert self.actions is not None  # refresh_triage starts it only with them
        labels = self.actions.triage_labels(self.report.generated_at if self.report else None)
        self.call_from_thread(self._set_triage, labels)

    def _set_triage(self, labels: dict[str, str]) -> None:
        self._triage_labels = labels
        queue = self._queue()
        if queue is not None:
            queue.set_triage(labels)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "load" or event.state not in (WorkerState.SUCCESS,
                                                               WorkerState.ERROR):
            return
        serial = self._serial_of.pop(event.worker, 0)
        if self._progress_timer is not None:
            self._progress_timer.stop()
            self._progress_timer = None
        if self._refresh_again:
            self._refresh_again = False
            self.call_after_refresh(self._start_refresh)
        if event.state == WorkerState.SUCCESS:
            loaded = event.worker.result
            assert loaded is not None  # what _fetch loaded: it returns or fails, never None
            self._show(loaded, serial)
            queue = self._queue()
            if queue is not None:
                queue.set_progress("")
            if self._open_ref:
                ref, self._open_ref = self._open_ref, None
                self.open_return(ref)
            return
        error = event.worker.error
        message = str(error) or type(error).__name__
        queue = self._queue()
        if queue is not None:
            queue.set_progress("")
            queue.sources_failed(message)
            self.notify(f"{message}. Showing the last good data, marked stale.",
                        title="Refresh failed", severity="error", timeout=30)
        else:
            self.sub_title = "could not load"
            text = self.query("#loading-text")
            if text:
                shown = self.presenter_masker().mask(message) if self.presenter else message
                text.first(Static).update(Text(f"Could not load: {shown}\n"
                                               "Press r to try again, q to quit."))
            for spinner in self.query(LoadingIndicator):
                spinner.display = False
            self.notify(message, title="Loading failed", severity="error", timeout=30)

    def _show(self, loaded: Loaded, serial: int = 0) -> None:
        self.loaded = loaded
        self._masker = None  # new customers, maybe: known again when next asked
        self.sub_title = self._sub_title()
        if self.presenter:
            self._tell_screens()
        skus = {c.return_ref: frozenset(line.sku for line in c.platform.lines if line.sku)
                for c in loaded.report.cases}
        queue = self._queue()
        if queue is not None:
            queue.show_report(loaded.report, skus, self._triage_labels, serial=serial)
            from .screens.return_detail import ReturnScreen

            if isinstance(self.screen, ReturnScreen):  # show the open return as it is now
                ref = self.screen.case.return_ref
                self.pop_screen()
                self.open_return(ref)
            return
        # The screen under the queue is still drawn with it (Textual composes the screen
        # below), so a spinner left there would repaint the whole queue at every frame.
        self.query("#loading-text, LoadingIndicator").remove()
        view = View.from_json(load_view(self._state_path, self.session.label)
                              if self._state_path else {})
        self.push_screen(QueueScreen(loaded.report, view=view, presenter=self.presenter,
                                     skus=skus, triage=self._triage_labels))

    def switch_to_queue(self) -> QueueScreen:
        """Back to the queue (closing any return screen on top), for palette commands."""
        queue = self._queue()
        if queue is None:
            raise LookupError("no queue yet")
        while self.screen is not queue and len(self.screen_stack) > 1:
            self.pop_screen()
        return queue

    def _queue(self) -> QueueScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, QueueScreen)), None)

    def remember_view(self, view: View) -> None:
        """Saved once typing pauses (not a file write per keystroke), and at exit."""
        if self._state_path is None:
            return
        self._view_to_save = view.to_json()
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(0.5, self._save_view)

    def _save_view(self) -> None:
        if self._state_path is not None and self._view_to_save is not None:
            save_view(self._state_path, self.session.label, self._view_to_save)
            self._view_to_save = None

    # -- drill-down ---------------------------------------------------------------------------

    @on(QueueScreen.CloseRequested)
    def open_close(self, event: QueueScreen.CloseRequested) -> None:
        """The month-end close view of the period asked for (default: the current one)."""
        from ..services.close import close_view
        from .screens.close import CloseScreen

        loaded = self.loaded
        if loaded is None:
            self.notify("Nothing is loaded yet; try again in a moment.", severity="warning")
            return
        report = loaded.report
        if report.master is None and loaded.master is not None:
            report.master = loaded.master
        try:
            view = close_view(report, event.period)
        except UserError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.push_screen(CloseScreen(view, loading=not report.cases))

    def on_return_requested(self, message: ReturnRequested) -> None:
        self.open_return(message.ref)

    def open_return(self, ref: str) -> None:
        """A return by its ref or its order number (as `returns-console open` takes it)."""
        loaded = self.loaded
        if loaded is None:
            self._open_ref = ref
            return
        case = _find_case(loaded.report.cases, ref)
        if case is None:
            if not loaded.report.cases:
                self._open_ref = ref
                self.notify("The records behind the last report are still loading; "
                            f"{ref} opens when they are here.")
            else:
                self.notify(f"No return or order {ref!r} in this check", severity="warning")
            return
        found = [f for f in loaded.report.findings if f.return_ref == case.return_ref]
        found += [f for f in loaded.report.result.delays if f.return_ref == case.return_ref]
        raw = loaded.raw
        triage = self.actions.triage_details([f.id for f in found]) if self.actions else {}
        from .screens.return_detail import ReturnScreen

        self.push_screen(ReturnScreen(case, found, raw=raw.get, presenter=self.presenter,
                                      mappings=loaded.mappings,
                                      master=loaded.master or loaded.report.master,
                                      triage=triage, erp_can=self.session.erp_can))


def keymap_clashes(keymap: Mapping[str, str]) -> list[str]:
    """A `[keymap]` entry that takes a key another binding already uses where both apply
    (the app's keys apply everywhere): said, not silently swapped."""
    from .screens.return_detail import ReturnScreen
    from .widgets.virtual_table import VirtualTable

    scopes = {"app": ReturnsConsole.BINDINGS, "queue": QueueScreen.BINDINGS,
              "return": ReturnScreen.BINDINGS, "table": VirtualTable.BINDINGS}
    owner_of: dict[tuple[str, str], str] = {}
    for scope, bindings in scopes.items():
        for b in bindings:
            if isinstance(b, Binding) and b.id:
                for key in b.key.split(","):
                    owner_of[(scope, key.strip())] = b.id
    out = []
    for binding_id, keys in keymap.items():
        scope = binding_id.split(".", 1)[0]
        for key in keys.split(","):
            key = key.strip()
            for where in ({scope, "app"} if scope in scopes else {"app"}):
                taken = owner_of.get((where, key))
                if taken and taken != binding_id:
                    out.append(f"keymap: {binding_id} = {key!r} clashes with {taken}, which "
                               f"{key!r} already does there; only one of them can have it: "
                               "choose another key in the config")
    return out


def _find_case(cases, ref: str):
    wanted = ref.strip().casefold()
    exact = [c for c in cases if c.return_ref.casefold() == wanted]
    if exact:
        return exact[0]
    bare = wanted.lstrip("#")
    by_order = [c for c in cases if (c.platform.order_ref or "").casefold().lstrip("#") == bare]
    return by_order[0] if by_order else None

"""The audit log: every action, who, when, on which return, what was sent and what came of
it. Reachable from the queue (all) and from a return (that return's rows)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from ..presenter import Presenting
from ..requests import UndoRequested
from ..widgets.environment_bar import EnvironmentBar
from ..widgets.measured_table import MeasuredTable
from .raw_record import RawRecordScreen

OUTCOME_STYLE = {"succeeded": "green", "failed": "bold red", "refused": "yellow",
                 "pending": "bold yellow", "resolved": "cyan"}
COLUMNS = ("row", "time (UTC)", "operator", "action", "return", "outcome", "ERP record",
           "detail")
#: Shown when rows of several profiles are listed (`a`), before the detail, which runs long.
PROFILE_COLUMN = "profile"


class AuditScreen(Presenting, Screen):
    """`/` filters across every column; Enter shows a row in full; `u` undoes it where the
    action can be undone (or says the compensating step)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="audit.back"),
        Binding("slash", "filter", "Filter", id="audit.filter"),
        Binding("enter", "show", "Show row", id="audit.show"),
        Binding("u", "undo", "Undo", id="audit.undo"),
        Binding("a", "every_profile", "All profiles", id="audit.profiles"),
    ]
    HELP = ("The audit log: one row when an action is asked for (pending) and one with its "
            "outcome. Enter shows a row in full, u undoes it where possible, / filters; "
            "a shows every profile's rows (this profile's by default).")

    def __init__(self, actions: Any, return_ref: str | None = None) -> None:
        super().__init__()
        self.actions = actions
        self.return_ref = return_ref
        #: This session's profile: its rows only, until `a` asks for every profile's.
        self.profile: str | None = getattr(getattr(actions, "session", None), "profile_name",
                                           None)
        self.every_profile = False
        self.entries: list[Any] = []
        self.shown: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield EnvironmentBar(id="environment")
        yield Static(self._title(), id="audit-title")
        yield Input(placeholder="filter: any words (action, operator, outcome, return …)",
                    id="audit-filter")
        yield MeasuredTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#audit-filter", Input).display = False
        table = self.query_one("#audit", DataTable)
        table.add_columns(*self._columns())
        table.focus()
        self.reload()

    @work(thread=True, exclusive=True, group="audit")
    def reload(self) -> None:
        entries = self.actions.audit_entries(return_ref=self.return_ref)
        self.app.call_from_thread(self._fill_entries, entries)

    def _fill_entries(self, entries: list[Any]) -> None:
        self.entries = entries
        self._fill(self.query_one("#audit-filter", Input).value)

    def presenter_changed(self) -> None:
        """Presenter mode switched while the log is open: every row shown again, the cursor
        where it was."""
        self.query_one("#audit-title", Static).update(self._title())
        table = self.query_one("#audit", DataTable)
        row = table.cursor_row
        self._fill(self.query_one("#audit-filter", Input).value, quiet=True)
        if row is not None and table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def _title(self) -> Text:
        scope = f"for {self.return_ref}" if self.return_ref else "all returns"
        which = ("every profile" if self._mixed
                 else f"profile {self.safe(self.profile)} (a: every profile)")
        return Text(f"Audit log · {scope} · {which}", style="bold")

    @property
    def _mixed(self) -> bool:
        """Rows of every profile are listed, so each says which it is."""
        return self.every_profile or not self.profile

    def _columns(self) -> tuple[str, ...]:
        if not self._mixed:
            return COLUMNS
        return (*COLUMNS[:-1], PROFILE_COLUMN, COLUMNS[-1])

    def action_every_profile(self) -> None:
        self.every_profile = not self.every_profile
        self.query_one("#audit-title", Static).update(self._title())
        table = self.query_one("#audit", DataTable)
        table.clear(columns=True)
        table.add_columns(*self._columns())
        self._fill(self.query_one("#audit-filter", Input).value)

    def _fill(self, needle: str, *, quiet: bool = False) -> None:
        table = self.query_one("#audit", DataTable)
        table.clear()
        words = needle.casefold().split()
        mine = None if self.every_profile or not self.profile else self.profile
        self.shown = [e for e in reversed(self.entries)
                      if (mine is None or e.profile == mine)
                      and all(w in _haystack(e) for w in words)]
        for e in self.shown:
            detail = _detail(e)
            if e.completes:
                detail = f"(row {e.completes}) {detail}"
            safe = self.safe
            cells: list[str | Text] = [
                str(e.seq), e.at.replace("T", " ").rstrip("Z"), e.operator, e.action,
                safe(e.return_ref or ""),
                Text(e.outcome, style=OUTCOME_STYLE.get(e.outcome, "")),
                safe(e.erp_record_id or "")]
            if self._mixed:
                cells.append(safe(e.profile or ""))
            cells.append(Text(safe(detail)[:100]))
            table.add_row(*cells, key=str(e.seq))
        if not self.shown and not quiet:
            self.notify("No audit rows here yet" if not self.entries else
                        "No audit row matches the filter")

    def _current(self) -> Any | None:
        table = self.query_one("#audit", DataTable)
        if not self.shown or table.cursor_row is None:
            return None
        return self.shown[table.cursor_row]

    def action_back(self) -> None:
        box = self.query_one("#audit-filter", Input)
        if box.display:
            box.value, box.display = "", False
            self._fill("")
            self.query_one("#audit", DataTable).focus()
            return
        self.app.pop_screen()

    def action_filter(self) -> None:
        box = self.query_one("#audit-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#audit-filter")
    def _filtered(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#audit-filter")
    def _filter_done(self) -> None:
        self.query_one("#audit", DataTable).focus()

    @on(DataTable.RowSelected, "#audit")
    def _selected(self) -> None:
        self.action_show()

    def action_show(self) -> None:
        entry = self._current()
        if entry is not None:
            self.app.push_screen(RawRecordScreen(f"Audit row {entry.seq}",
                                                 [(f"row {entry.seq}", asdict(entry))],
                                                 self.presenter))

    def action_undo(self) -> None:
        entry = self._current()
        if entry is not None:
            self.post_message(UndoRequested(entry.completes or entry.seq))


def _haystack(e: Any) -> str:
    return " ".join(str(v) for v in (e.seq, e.at, e.operator, e.action, e.return_ref,
                                     e.outcome, e.erp_record_id, e.error,
                                     json.dumps(e.parameters, default=str))).casefold()


#: Said in the row's own columns, or a token nobody reads: left out of the detail column
#: (Enter shows the row in full).
_LEFT_OUT = frozenset({"finding", "finding_id", "return_ref", "etag", "owner"})


def _detail(e: Any) -> str:
    """What the row is about, in the little room there is: the error, else what came of it
    (`after`), else what was asked (the parameters of a pending row); empty values and what
    other columns show are left out, so the note, the assignee or the new item is seen."""
    if e.error:
        return e.error
    data = e.after or e.parameters
    if isinstance(data, dict):
        data = {k: v for k, v in data.items()
                if k not in _LEFT_OUT and v not in (None, "", [], {})}
    return _short(data) if data else ""


def _short(data: Any) -> str:
    return json.dumps(data, default=str, separators=(",", ":"), ensure_ascii=False)

"""The exception queue: every open exception of the last check, for triage.

A summary strip (counts, money at risk, new per day), each source's freshness, one tab per
owner team, `/` to filter across every column, `:` for the command bar, `space` to mark.
The view (team, filter, query, sort) is remembered between runs.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Sparkline, Static

from ...domain.findings import Finding
from ..format import money, severity
from ..presenter import Presenting
from ..queue_model import OWNERS, SORTABLE, Queue, View, age_text, parse_query, summarise
from ..requests import (
    AuditRequested,
    BulkActionRequested,
    ReturnRequested,
    TriageRequested,
    ViewChanged,
)
from ..widgets.environment_bar import EnvironmentBar
from ..widgets.quiet_input import QuietInput
from ..widgets.team_tabs import TeamTabs
from ..widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from ...services.check import CheckReport, SourceStatus

#: `drop`: what goes first when the terminal is narrow (the message, then the order ...);
#: a dropped column's value is on the detail line under the table, for the cursor row.
COLUMNS = (
    Column("return", "return", 14), Column("order", "order", 10, drop=9),
    Column("code", "code", 26), Column("stage", "stage", 10, drop=6),
    Column("kind", "kind", 7, drop=8), Column("severity", "severity", 8, drop=2),
    Column("owner", "owner", 11, drop=4), Column("age", "age", 5, justify="right", drop=3),
    Column("at risk", "at risk", 13, justify="right", drop=1),
    Column("triage", "triage", 8, drop=5), Column("message", "message", 20, grow=True, drop=10),
)
#: Columns as wide as their longest value (within these bounds), so a narrow terminal
#: keeps more of them: a reference is never cut (up to 40 cells).
FITTED = {"return": (6, 40), "order": (5, 20), "code": (4, 26), "triage": (6, 28)}
#: Presenter mode leaves out what may name a customer and what a room cannot read anyway.
PRESENTER_HIDDEN = {"message", "order"}
#: A row whose fix is being sent, or was sent and waits for the refresh that shows it:
#: (label in the triage column, style). A large queue's refresh takes a while.
IN_FLIGHT = {"sending": ("⟳ sending…", "bold yellow"),
             "sent": ("✓ sent · refreshing", "bold green"),
             "failed": ("✗ not done · see results", "bold red")}
SHORT_SEVERITY = {"critical": "crit", "high": "high", "medium": "med", "low": "low"}
TEAM_LABEL = {"all": "All", "finance": "Finance", "operations": "Operations", "cx": "CX",
              "data": "Data", "integration": "Integration"}


class QueueScreen(Presenting, Screen):
    """All open exceptions, costliest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="queue.filter"),
        Binding("colon", "command", "Command", id="queue.command"),
        Binding("r", "app.refresh_data", "Refresh", id="queue.refresh"),
        Binding("left_square_bracket", "owner(-1)", "Prev team", id="queue.team_prev",
                show=False),
        Binding("right_square_bracket", "owner(1)", "Next team", id="queue.team_next",
                show=False),
        Binding("o", "sort_next", "Sort", id="queue.sort", show=False),
        Binding("a", "triage('acknowledge')", "Acknowledge", id="queue.acknowledge"),
        Binding("z", "triage('snooze')", "Snooze", id="queue.snooze", show=False),
        Binding("w", "triage('assign')", "Assign", id="queue.assign", show=False),
        Binding("n", "triage('note')", "Note", id="queue.note", show=False),
        Binding("t", "triage('tag')", "Tag", id="queue.tag", show=False),
        Binding("u", "requeue", "Re-queue marked", id="queue.requeue", show=False),
        Binding("L", "audit", "Audit log", id="queue.audit"),
        Binding("escape", "clear", "Clear", id="queue.clear", show=False),
    ]
    HELP = (
        "The queue: every open exception of the last check, costliest first.\n"
        "Enter opens the return; space marks it; / filters across every column; "
        ": runs a command (:return REF, :close PERIOD, :order REF, :sku SKU, :code CODE, "
        ":owner TEAM); "
        "[ and ] switch owner team; click a header (or o) to sort; r refreshes.\n"
        "Triage the marked rows (or the one under the cursor): a acknowledge, z snooze, "
        "w assign, n note, t tag; u re-queues the missing credit notes of the marked "
        "returns; L opens the audit log."
    )

    def __init__(self, report: CheckReport, *, view: View | None = None,
                 presenter: bool | None = None,
                 skus: dict[str, frozenset[str]] | None = None,
                 triage: dict[str, str] | None = None) -> None:
        super().__init__()
        self.view = view or View()
        self.presenter = presenter
        self.report = report
        self.skus = skus or {}
        self.queue = Queue(report.findings, self.skus, dict(triage or {}))
        self.shown: list[str] = []
        #: key → (IN_FLIGHT state, refreshes started when marked): cleared by a later one
        self.in_flight: dict[str, tuple[str, int]] = {}
        #: The columns as last fitted, and for which presenter mode (see _columns).
        self._shown: tuple[bool, list[Column]] | None = None
        self._ready = False
        self._progress = ""
        self._detail_text: Text | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield EnvironmentBar(id="environment")
        yield Static(id="banner")
        yield Static(id="summary-line")
        with Horizontal(id="strip"):
            yield Static(id="summary")
            with Vertical(id="trend"):
                yield Static("new per day, 14 days", id="trend-label")
                yield Sparkline([], id="per-day")
        yield Static(id="sources")
        yield TeamTabs({o: TEAM_LABEL[o] for o in OWNERS}, active=self.view.owner, id="teams")
        yield QuietInput(placeholder="filter: any words, across every column (Esc clears)",
                    id="filter")
        yield Static(id="query")
        yield QuietInput(placeholder=":return REF · :close [YYYY-MM] · :order REF · :sku SKU · "
                                ":code CODE · :owner TEAM  (Enter runs, Esc closes)",
                    id="command")
        yield VirtualTable(self._columns(), id="queue")
        yield Static(id="row-detail")
        yield Footer()

    def _columns(self) -> list[Column]:
        """The columns shown, fitted once per change of what they show (every drawn row
        asks for them: fitting scans every finding)."""
        shown = self._shown
        if shown is None or shown[0] != self.presenter:  # presenter mode drops columns
            shown = self._shown = (self.presenter, self._fit_columns())
        return shown[1]

    def _refit(self) -> list[Column]:
        """The columns fitted again: the findings, triage labels or rows in flight changed."""
        self._shown = None
        return self._columns()

    def _fit_columns(self) -> list[Column]:
        """The columns shown, each fitted column as wide as its longest value: the triage
        column reads `ack @alice #waiting-on-3pl` whole, a reference is never cut."""
        queue = getattr(self, "queue", None)
        longest: dict[str, int] = {}
        if queue is not None:
            longest = {
                **queue.longest(),  # kept by the queue: it scans every finding
                "triage": max((len(v) for v in [*queue.triage.values(), *(
                    IN_FLIGHT[state][0] for state, _ in self.in_flight.values())]),
                    default=len("new")),
            }
        out = []
        for c in COLUMNS:
            if self.presenter and c.key in PRESENTER_HIDDEN:
                continue
            if c.key in FITTED and c.key in longest:
                low, high = FITTED[c.key]
                c = replace(c, width=max(low, len(c.label), min(high, longest[c.key])))
            out.append(c)
        return out

    def on_mount(self) -> None:
        filter_box = self.query_one("#filter", Input)
        filter_box.value = self.view.text
        filter_box.display = bool(self.view.text)
        self.watch(filter_box, "value", self._filter_typed, init=False)
        self.query_one("#command", Input).display = False
        self._ready = True
        self._paint_report()
        self.query_one("#queue", VirtualTable).focus()
        self._prepare_queue()

    def _prepare_queue(self) -> None:
        """Once the rows are drawn, the queue makes what the first filter word needs (not
        before the frame, not in that keystroke)."""
        queue = self.queue
        self.call_after_refresh(queue.prepare)

    # -- data -----------------------------------------------------------------------------

    def show_report(self, report: CheckReport, skus: dict[str, frozenset[str]],
                    triage: dict[str, str] | None = None, *, serial: int = 0) -> None:
        """A refreshed report: same view, the cursor kept on the same exception. `serial`
        is which refresh it is: rows marked in flight before it started are settled now."""
        self.in_flight = {k: v for k, v in self.in_flight.items() if v[1] >= serial}
        self.report = report
        self.skus = skus
        self.queue = Queue(report.findings, skus, dict(triage or {}))
        columns = self._refit()
        if self._ready:
            self.query_one("#queue", VirtualTable).set_columns(columns)
            self._paint_report()
            self._prepare_queue()

    def presenter_changed(self) -> None:
        """Presenter mode switched: fewer columns, every cell and the banner (un)masked."""
        columns = self._refit()
        if self._ready:
            self.query_one("#queue", VirtualTable).set_columns(columns)
            self._fill(refresh_cells=True)
            self._paint_banner()

    def set_triage(self, labels: dict[str, str]) -> None:
        self.queue = Queue(self.report.findings, self.skus, dict(labels))
        columns = self._refit()
        if self._ready:
            self.query_one("#queue", VirtualTable).set_columns(columns)
            self._fill(refresh_cells=True)
            self._prepare_queue()

    def mark_in_flight(self, rows: Mapping[str, str], refreshes_started: int) -> None:
        """Rows (finding id → IN_FLIGHT state, "" to unmark) shown as in flight at once,
        until a refresh started after `refreshes_started` lands."""
        for key, f in self.queue.by_key.items():
            if (state := rows.get(f.id)) is None:
                continue
            if state:
                self.in_flight[key] = (state, refreshes_started)
            else:
                self.in_flight.pop(key, None)
        columns = self._refit()
        if self._ready:
            self.query_one("#queue", VirtualTable).set_columns(columns)
            self._fill(refresh_cells=True)

    def set_progress(self, text: str) -> None:
        self._progress = text
        if self._ready:
            self._paint_sources(text)

    def sources_failed(self, error: str) -> None:
        """A refresh that failed outright: every source not freshly read is down."""
        for src in (self.report.platform, self.report.erp):
            if src.status != "ok" and not src.error:
                src.error = error
        if self._ready:
            self._paint_banner()
            self._paint_sources(self._progress)

    def _paint_report(self) -> None:
        r = self.report
        s = summarise(r.findings, r.generated_at)
        sev = " ".join(f"{s.by_severity[k]} {k}" for k in ("critical", "high", "medium", "low")
                       if k in s.by_severity)
        kinds = " ".join(f"{v} {k}" for k, v in sorted(s.by_kind.items()))
        owners = " ".join(f"{v} {k}" for k, v in sorted(s.by_owner.items()))
        risk = " + ".join(money(v, c) for c, v in s.at_risk.items()) or "nothing"
        text = Text()
        text.append(f"{s.total} open exceptions", style="bold")
        text.append(f" on {r.result.returns_checked} returns · ")
        text.append(f"at risk {risk}", style="bold")
        # the one line a short terminal has room for: 80 columns hold it
        line = Text.assemble((f"{s.total} open", "bold"), f" on {r.result.returns_checked} "
                             "returns · ", (f"at risk {risk}", "bold"))
        text.append(f"\nseverity: {sev or '-'}\nkind: {kinds or '-'}\nowner: {owners or '-'}")
        if r.result.delays:
            text.append(f"\n{len(r.result.delays)} more within their grace period (delays)",
                        style="dim")
        if sev:
            line.append(" · " + " ".join(f"{s.by_severity[k]} {SHORT_SEVERITY[k]}"
                                         for k in SHORT_SEVERITY if k in s.by_severity))
        self.query_one("#summary", Static).update(text)
        self.query_one("#summary-line", Static).update(line)
        self.query_one("#per-day", Sparkline).data = s.per_day
        self._paint_banner()
        self._paint_sources(self._progress)
        self._fill(refresh_cells=True)

    def _paint_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        lines = [_banner_line(src) for src in (self.report.platform, self.report.erp)
                 if src.status != "ok"]
        # what a read wants a person to know that is no finding (an export not used, an
        # optional list the ERP lacks): its first notes, and how many more `check` prints
        for src in (self.report.platform, self.report.erp):
            lines += _note_lines(src)
        lines = [self.safe(line) for line in lines]
        banner.display = bool(lines)
        banner.update(Text("\n".join(lines)))

    def _paint_sources(self, progress: str) -> None:
        text = Text("sources: ")
        for n, src in enumerate((self.report.platform, self.report.erp)):
            if n:
                text.append(" · ")
            text.append(_system(src.system) + " ")
            text.append(_freshness(src, self.report.generated_at),
                        style=FRESHNESS_STYLE.get(_state(src), ""))
        if progress:
            text.append(f"   ⟳ {progress}", style="bold")
        self.query_one("#sources", Static).update(text)

    def _fill(self, *, refresh_cells: bool = False) -> None:
        table = self.query_one("#queue", VirtualTable)
        self.shown, counts = self.queue.select(self.view)
        table.set_sort(self.view.sort, self.view.reverse)
        table.empty_text = ("nothing open: both systems agree" if not self.queue.keys
                            else "no exception matches this view (Esc clears the filter)")
        table.set_rows(self.shown, self._cells, refresh_cells=refresh_cells)
        table.set_badges({k: Text(IN_FLIGHT[state][0][0], style=IN_FLIGHT[state][1])
                          for k, (state, _) in self.in_flight.items()})
        query = self.query_one("#query", Static)
        query.display = self.view.query is not None
        if self.view.query is not None:
            query.update(Text.assemble(("showing ", "dim"),
                                       (self.safe(self.view.query.text()), "bold"),
                                       (f" · {len(self.shown)} of {len(self.queue.keys)}"
                                        " · Esc shows all", "dim")))
        self._paint_detail()
        teams = self.query_one("#teams", TeamTabs)
        teams.active = self.view.owner
        teams.set_counts(counts)
        self.post_message(ViewChanged(self.view))

    def _paint_detail(self) -> None:
        """The cursor row's values of the columns dropped to fit, on one line under the
        table (Enter opens the whole return)."""
        detail = self.query_one("#row-detail", Static)
        table = self.query_one("#queue", VirtualTable)
        hidden = table.hidden_columns
        detail.display = bool(hidden)
        key = table.cursor_key
        if not hidden or key is None:
            self._set_detail(detail, Text())
            return
        cells = dict(zip((c.key for c in self._columns()), self._cells(key), strict=True))
        text = Text()
        for name in hidden:
            value = cells.get(name, "")
            plain = value.plain if isinstance(value, Text) else value
            if not plain.strip():
                continue
            if text:
                text.append(" · ", style="dim")
            if name != "message":
                text.append(f"{name} ", style="dim")
            text.append(value if isinstance(value, Text) else Text(value))
        self._set_detail(detail, text)

    def _set_detail(self, detail: Static, text: Text) -> None:
        """Updated only when it changed, and laid out only when its height may change: the
        line's height is its text's (one line, or two when it wraps; the stylesheet caps
        it), and laying out the screen for each cursor move or filter key costs more than
        the rest of that key."""
        old = self._detail_text
        if text == old:
            return
        self._detail_text = text
        width = detail.content_region.width
        same_height = (old is not None and width > 0 and bool(old.plain) and bool(text.plain)
                       and "\n" not in old.plain and "\n" not in text.plain
                       and (old.cell_len <= width) == (text.cell_len <= width))
        detail.update(text, layout=not same_height)

    def _cells(self, key: Hashable) -> list[str | Text]:
        f: Finding = self.queue.by_key[str(key)]
        safe = self.safe
        cells: dict[str, str | Text] = {
            "return": safe(f.return_ref), "order": safe(f.order_ref or ""),
            "code": f.code.value, "stage": f.stage.value, "kind": f.kind.value,
            "severity": severity(f.severity.value), "owner": f.owner.value,
            "age": age_text(f.age_hours), "at risk": money(f.amount_at_risk, f.currency),
            "triage": self._triage_cell(str(key)), "message": safe(f.message),
        }
        return [cells[c.key] for c in self._columns()]

    def _triage_cell(self, key: str) -> str | Text:
        if key in self.in_flight:
            label, style = IN_FLIGHT[self.in_flight[key][0]]
            return Text(label, style=style)
        return self.safe(self.queue.triage_of(key))

    # -- actions --------------------------------------------------------------------------

    @property
    def cursor_finding(self) -> Finding | None:
        key = self.query_one("#queue", VirtualTable).cursor_key
        return None if key is None else self.queue.by_key.get(str(key))

    @property
    def marked_returns(self) -> list[str]:
        marked = self.query_one("#queue", VirtualTable).marked
        return sorted({self.queue.by_key[str(k)].return_ref for k in marked
                       if str(k) in self.queue.by_key})

    @property
    def chosen(self) -> list[Finding]:
        """The marked exceptions, or the one under the cursor when none is marked."""
        marked = self.query_one("#queue", VirtualTable).marked
        found = [self.queue.by_key[str(k)] for k in marked if str(k) in self.queue.by_key]
        if not found and self.cursor_finding is not None:
            found = [self.cursor_finding]
        return found

    def clear_marks(self) -> None:
        if self._ready:
            self.query_one("#queue", VirtualTable).clear_marks()

    def action_triage(self, kind: str) -> None:
        self.post_message(TriageRequested(kind, self.chosen))

    def action_requeue(self) -> None:
        refs = sorted({f.return_ref for f in self.chosen})
        if refs:
            self.post_message(BulkActionRequested("requeue_posting", refs))

    def action_audit(self) -> None:
        self.post_message(AuditRequested())

    def action_filter(self) -> None:
        self.query_one("#command", Input).display = False
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_command(self) -> None:
        box = self.query_one("#command", Input)
        box.display = True
        box.value = ""
        box.focus()

    def action_clear(self) -> None:
        """Esc: close the command bar, else clear the query, else clear the filter."""
        command = self.query_one("#command", Input)
        if command.display:
            command.display = False
        elif self.view.query is not None:
            self.view.query = None
            self._fill()
        else:
            box = self.query_one("#filter", Input)
            box.value = ""
            box.display = False
            self.view.text = ""
            self._fill()
        self.query_one("#queue", VirtualTable).focus()

    def action_owner(self, step: int) -> None:
        n = (OWNERS.index(self.view.owner) + step) % len(OWNERS)
        self.set_owner(OWNERS[n])

    def set_owner(self, owner: str) -> None:
        if owner in OWNERS and owner != self.view.owner:
            self.view.owner = owner
            self._fill()

    def action_sort_next(self) -> None:
        columns = [c.key for c in self._columns() if c.key in SORTABLE]
        n = (columns.index(self.view.sort) + 1) % len(columns) if self.view.sort in columns else 0
        self.sort_by(columns[n])

    def sort_by(self, column: str) -> None:
        if column not in SORTABLE:
            return
        if self.view.sort == column:
            self.view.reverse = not self.view.reverse
        else:
            self.view.sort = column
            self.view.reverse = column in ("at risk", "severity", "age")
        self._fill()

    class CloseRequested(Message):
        """`:close [PERIOD]`: the month-end close view for an accounting period."""

        def __init__(self, period: str | None) -> None:
            super().__init__()
            self.period = period

    def run_command(self, text: str) -> None:
        """`:return REF` opens it, `:close [PERIOD]` opens the month-end close view; the
        others narrow the queue (Esc widens it again)."""
        verb, _, rest = text.strip().lstrip(":").partition(" ")
        if verb.casefold() == "close":
            self.post_message(self.CloseRequested(rest.strip() or None))
            return
        try:
            query = parse_query(text)
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        if query.field == "owner":
            self.set_owner(query.value.casefold())
            return
        if query.field == "return":
            self.post_message(ReturnRequested(query.value))
            return
        self.view.query = query
        self._fill()
        count = len(self.shown)
        self.notify(f"{count} exception{'s' if count != 1 else ''} for {query.text()} "
                    "(Esc shows all)")

    # -- events ---------------------------------------------------------------------------

    @on(TeamTabs.Chosen, "#teams")
    def _team(self, event: TeamTabs.Chosen) -> None:
        self.set_owner(event.key)

    def _filter_typed(self, value: str) -> None:
        """Watches the filter box's value: called as the key changes it, so the rows and
        counts go out in the same frame as the typed letter (an `Input.Changed` message
        arrives after that frame is drawn, and the rows took a second one)."""
        if self._ready and value != self.view.text:
            self.view.text = value
            self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#queue", VirtualTable).focus()

    @on(Input.Submitted, "#command")
    def _command(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one("#queue", VirtualTable).focus()
        if event.value.strip():
            self.run_command(event.value)

    @on(VirtualTable.HeaderClicked)
    def _header(self, event: VirtualTable.HeaderClicked) -> None:
        self.sort_by(event.column_key)

    @on(VirtualTable.CursorMoved, "#queue")
    @on(VirtualTable.ColumnsHidden, "#queue")
    def _detail(self) -> None:
        if self._ready:
            self._paint_detail()

    @on(VirtualTable.Selected)
    def _selected(self, event: VirtualTable.Selected) -> None:
        finding = self.queue.by_key.get(str(event.key))
        if finding is not None:
            self.post_message(ReturnRequested(finding.return_ref))


FRESHNESS_STYLE = {"ok": "green", "degraded": "bold yellow", "stale": "yellow",
                   "down": "bold red"}


def _state(src: SourceStatus) -> str:
    return "down" if src.error and src.status != "degraded" else src.status


def _freshness(src: SourceStatus, today: datetime | None = None) -> str:
    """How fresh a source is; the time alone when it was read on the report's day."""
    same_day = src.fetched_at and today and src.fetched_at.date() == today.date()
    at = (src.fetched_at.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
          if src.fetched_at else "never")
    state = _state(src)
    if state == "ok":
        return f"ok {at}"
    if state == "down":
        return f"down · last good data {at}"
    if state == "degraded" and src.unreadable:
        return f"degraded · {src.unreadable} of {src.records} unreadable · {at}"
    if state == "degraded":  # read, but not all of what a check needs (the banner says what)
        return f"degraded · {at}"
    return f"stale · from {at}"


def _banner_line(src: SourceStatus) -> str:
    at = src.fetched_at.strftime("%Y-%m-%d %H:%M") if src.fetched_at else "an earlier run"
    if src.status == "degraded" and (src.unreadable or not src.error):
        return (f"{_system(src.system)} is degraded: {src.unreadable} of {src.records} records "
                "could not be read (PAYLOAD_INVALID); its findings are incomplete.")
    if src.status == "degraded":
        return f"{_system(src.system)} is degraded: {src.error}."
    if src.error:
        return (f"{_system(src.system)} is down ({src.error}); showing its last good data "
                f"from {at}, marked stale.")
    return f"{_system(src.system)}: showing the data kept from {at} (stale) while it refreshes."


def _note_lines(src: SourceStatus, most: int = 2) -> list[str]:
    notes = list(src.notes)
    out = [f"{_system(src.system)}: {note}" for note in notes[:most]]
    if len(notes) > most:
        out.append(f"{_system(src.system)}: {len(notes) - most} more note"
                   f"{'s' if len(notes) - most != 1 else ''} (`returns-console check` lists "
                   "them)")
    return out


def _system(system: str) -> str:
    from ...systems import display_name

    return display_name(system)

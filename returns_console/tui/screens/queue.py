"""The exception queue: every open finding, filterable and sortable, with a summary."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from ...domain.findings import Finding
from ...services.check import CheckReport
from ..format import money, severity

COLUMNS = ("severity", "code", "return", "order", "stage", "owner", "age h", "at risk",
           "message")


def _row(f: Finding) -> tuple:
    return (severity(f.severity.value), f.code.value, f.return_ref, f.order_ref or "",
            f.stage.value, f.owner.value, f"{f.age_hours:.0f}",
            money(f.amount_at_risk, f.currency), f.message)


def _matches(f: Finding, needle: str) -> bool:
    haystack = " ".join(str(v) for v in (
        f.severity.value, f.code.value, f.return_ref, f.order_ref, f.line_ref, f.stage.value,
        f.owner.value, f.message, f.platform_value, f.erp_value)).casefold()
    return all(word in haystack for word in needle.casefold().split())


class QueueScreen(Screen):
    """All open exceptions, costliest first."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("slash", "filter", "Filter", id="queue.filter"),
        Binding("enter", "open_return", "Open return", id="queue.open", show=True),
        Binding("escape", "clear_filter", "Clear filter", id="queue.clear", show=False),
    ]

    def __init__(self, report: CheckReport) -> None:
        super().__init__()
        self.report = report
        self.shown: list[Finding] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.app.environment.upper(), id="environment",
                     classes=f"env-{self.app.environment}")
        with Vertical():
            yield Static(self._summary(), id="summary")
            yield Input(placeholder="filter: any words, across every column", id="filter")
            yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        table = self.query_one("#queue", DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self._fill("")
        table.focus()

    def _summary(self) -> str:
        r = self.report
        counts: dict[str, int] = {}
        for f in r.findings:
            counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
        at_risk = sum((f.amount_at_risk for f in r.findings if f.amount_at_risk), 0)
        parts = ", ".join(f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low")
                          if s in counts)
        sources = "; ".join(f"{s.system} {s.status}" for s in (r.platform, r.erp))
        return (f"{len(r.findings)} exceptions ({parts or 'none'}) on "
                f"{r.result.returns_checked} returns; {len(r.result.delays)} delays; "
                f"at risk {money(at_risk)}; sources: {sources}")

    def _fill(self, needle: str) -> None:
        table = self.query_one("#queue", DataTable)
        table.clear()
        ordered = sorted(self.report.findings,
                         key=lambda f: (-(f.amount_at_risk or 0), -f.severity.rank, f.code))
        self.shown = [f for f in ordered if not needle or _matches(f, needle)]
        for n, finding in enumerate(self.shown):
            table.add_row(*_row(finding), key=str(n))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self._fill("")
        self.query_one("#queue", DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one("#queue", DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _sort(self, event: DataTable.HeaderSelected) -> None:
        event.data_table.sort(event.column_key)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_return()

    def action_open_return(self) -> None:
        table = self.query_one("#queue", DataTable)
        if not self.shown or table.cursor_row is None:
            return
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        finding = self.shown[int(key)]
        self.app.open_return(finding.return_ref)

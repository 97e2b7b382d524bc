"""The month-end close view: what stops one accounting period from closing, and how much
money is in it; each blocking return one key (Enter) from its return screen."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...domain.close import CloseReport
from ..presenter import Presenting
from ..requests import ReturnRequested
from ..widgets.environment_bar import EnvironmentBar
from ..widgets.measured_table import MeasuredTable

#: The money right after why, so an 80-column terminal shows both before it scrolls sideways.
COLUMNS = ("return", "order", "why", "at risk", "owner", "refunded", "document", "posted in")


class CloseScreen(Presenting, Screen[None]):
    """In presenter mode every cell passes the masker, as on the other screens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="close.back"),
        Binding("enter", "open", "Open return", id="close.open"),
    ]

    def __init__(self, view: CloseReport, *, loading: bool = False) -> None:
        super().__init__()
        self.view = view
        self.loading_records = loading

    def compose(self) -> ComposeResult:
        yield EnvironmentBar(id="environment")
        yield Static(self._summary(), id="close-summary")
        table: DataTable = MeasuredTable(id="close-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self._fill()
        table.focus()

    def presenter_changed(self) -> None:
        """Presenter mode switched while the close view is open: shown again."""
        table = self.query_one(DataTable)
        row = table.cursor_row
        self._fill()
        if row is not None and table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        safe = self.safe
        for n, b in enumerate(self.view.blockers):
            why = b.reason.replace("_", " ") + (f" ({b.code.value})" if b.code else "")
            posted = f"{b.posting_date} {b.posting_period or ''}".strip() \
                if b.posting_date else "—"
            table.add_row(
                Text(safe(b.return_ref)), Text(safe(b.order_ref or "—")), Text(why),
                Text(f"{b.money.total:,.2f} {b.money.currency}" if b.money else "—",
                     justify="right"),
                Text(b.owner.value), Text(str(b.refunded_on or "—")),
                Text(safe(b.document or "—")), Text(posted), key=f"{n}:{b.return_ref}")

    def _summary(self) -> Text:
        v, p = self.view, self.view.period
        out = Text()
        out.append(f"Close {p.name}", style="bold")
        out.append(f"  {p.start} to {p.end} · {'closed' if p.closed else 'open'}")
        if not p.from_erp:
            out.append(" · calendar month (the ERP publishes no periods)", style="dim")
        out.append("\n")
        if self.loading_records:
            out.append("The records behind the last report are still loading: press Esc "
                       "and try again once the refresh lands.\n", style="yellow")
        blocking = len({b.return_ref for b in v.blockers})
        out.append(f"{v.refunded} returns refunded in the period · {blocking} block the "
                   "close\n")
        for currency, sums in v.totals().items():
            parts = " · ".join(f"{k} {val:,.2f}" for k, val in sums.items()
                               if k != "total" and val)
            out.append(f"at risk {sums['total']:,.2f} {currency}", style="bold")
            out.append(f"  ({parts})\n" if parts else "\n")
        for owner, sums in v.by_owner().items():
            money = ", ".join(f"{val:,.2f} {cur}" for cur, val in sums.items())
            out.append(f"  {owner}: {money}\n")
        if not v.blockers and not self.loading_records:
            out.append("Nothing blocks this period.", style="green")
        return out

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.view.blockers or table.cursor_row is None:
            return
        self.post_message(ReturnRequested(self.view.blockers[table.cursor_row].return_ref))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value or "")
        if ":" in key:
            self.post_message(ReturnRequested(key.split(":", 1)[1]))

"""The month-end close view: what stops one accounting period from closing, and how much
money is in it; each blocking return one key (Enter) from its return screen."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...domain.close import CloseReport

COLUMNS = ("return", "order", "why", "owner", "refunded", "document", "posted in", "at risk")


class CloseScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "app.pop_screen", "Back", id="close.back"),
        Binding("enter", "open", "Open return", id="close.open"),
    ]

    class OpenReturn(Message):
        """The operator wants the return behind a blocking line."""

        def __init__(self, ref: str) -> None:
            super().__init__()
            self.ref = ref

    def __init__(self, view: CloseReport, *, loading: bool = False) -> None:
        super().__init__()
        self.view = view
        self.loading_records = loading

    def compose(self) -> ComposeResult:
        yield Static(self._summary(), id="close-summary")
        table: DataTable = DataTable(id="close-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        for n, b in enumerate(self.view.blockers):
            why = b.reason.replace("_", " ") + (f" ({b.code.value})" if b.code else "")
            posted = f"{b.posting_date} {b.posting_period or ''}".strip() \
                if b.posting_date else "—"
            table.add_row(
                Text(b.return_ref), Text(b.order_ref or "—"), Text(why), Text(b.owner.value),
                Text(str(b.refunded_on or "—")), Text(b.document or "—"), Text(posted),
                Text(f"{b.money.total:,.2f} {b.money.currency}" if b.money else "—",
                     justify="right"),
                key=f"{n}:{b.return_ref}")
        table.focus()

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
        self.post_message(self.OpenReturn(self.view.blockers[table.cursor_row].return_ref))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value or "")
        if ":" in key:
            self.post_message(self.OpenReturn(key.split(":", 1)[1]))

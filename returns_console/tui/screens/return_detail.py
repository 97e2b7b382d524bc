"""One return, both systems side by side: every stage, the mismatches and what to do."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ...domain.catalogue import CATALOGUE
from ...domain.codes import SYSTEM_NAMES, Component, Stage
from ...domain.findings import Finding
from ...domain.model import ReturnCase, StageView
from ..format import money, plain, status, when


def _cell(view: StageView) -> str:
    parts = [view.status.value.replace("_", " ")]
    if view.at:
        parts.append(when(view.at))
    if view.detail:
        parts.append(plain(view.detail))
    if view.record_ids:
        parts.append(plain(", ".join(view.record_ids)))
    return " · ".join(parts)


def _shown(view: StageView):
    """A bare status is coloured by itself; a stage with times and ids spells them out."""
    return status(view.status.value) if not view.at and not view.detail else _cell(view)


class ReturnScreen(Screen):
    """The stage board, the findings with why they matter, and the money by component."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "app.pop_screen", "Back", id="return.back"),
    ]

    def __init__(self, case: ReturnCase, findings: list[Finding]) -> None:
        super().__init__()
        self.case = case
        self.findings = findings

    def compose(self) -> ComposeResult:
        p, e = self.case.platform, self.case.erp
        yield Header()
        yield Static(self.app.environment.upper(), id="environment",
                     classes=f"env-{self.app.environment}")
        with VerticalScroll():
            yield Static(
                f"Return {plain(p.return_ref)} · order {plain(p.order_ref or '—')} · "
                f"{SYSTEM_NAMES.get(p.system, p.system)} | {SYSTEM_NAMES.get(e.system, e.system)}",
                id="title")
            yield DataTable(id="stages", cursor_type="row")
            yield Static(self._explained(), id="findings")
            yield DataTable(id="money", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        p, e = self.case.platform, self.case.erp
        by_stage: dict[Stage, list[str]] = {}
        for f in self.findings:
            by_stage.setdefault(f.stage, []).append(f.code.value)
        board = self.query_one("#stages", DataTable)
        board.add_columns("stage", "platform", "ERP", "mismatch")
        for stage in Stage:
            pv, ev = p.stage(stage), e.stage(stage)
            board.add_row(stage.value, _shown(pv), _shown(ev),
                          ", ".join(by_stage.get(stage, [])), key=stage.value)
        table = self.query_one("#money", DataTable)
        table.add_columns("component", "platform", "ERP", "difference")
        refund = p.refund
        note = next((n for n in e.credit_notes if n.status != "cancelled"), None)
        credit = note.amounts if note else None
        for component in Component:
            a = refund.component(component) if refund else None
            b = credit.component(component) if credit else None
            diff = (a - b) if a is not None and b is not None else None
            table.add_row(component.value, money(a), money(b), money(diff))

    def _explained(self) -> str:
        if not self.findings:
            return "No mismatch: both systems agree on this return."
        lines = []
        for f in self.findings:
            entry = CATALOGUE[f.code]
            lines.append(f"[b]{f.code.value}[/b] ({f.severity.value}, {f.owner.value}): "
                         f"{plain(f.message)}\n  why: {entry.why}\n  do: {entry.todo}")
        return "\n".join(lines)

"""A frame drawn between adding rows and the idle pass that measures them must not stay:
the CI machine once photographed the audit log with every column cut to its header."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult

from returns_console.tui.widgets.measured_table import MeasuredTable


class _OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield MeasuredTable(id="t")


async def test_a_frame_drawn_before_measuring_is_not_kept() -> None:
    app = _OneTable()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(MeasuredTable)
        table.add_columns("a", "b")
        await pilot.pause()
        table.add_row("longlonglong", "x")
        early = table.render_line(1).text   # drawn before the idle pass measured the row
        assert "longlonglong" not in early  # (the cut picture this guards against)
        await table._on_idle(events.Idle())
        assert "longlonglong" in table.render_line(1).text

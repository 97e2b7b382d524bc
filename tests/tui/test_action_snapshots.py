"""How the operator actions look, at a fixed size, on the fixed canonical fixture: the remap
form, its preview, a refused preview and the audit log (rows stamped by a fixed clock).
Review every changed SVG: `pytest --snapshot-update`, then look at it."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

import returns_console.services.actions as actions_module
from returns_console.domain.codes import Code
from returns_console.domain.reference import Mappings
from returns_console.services.actions import Actions
from returns_console.services.check import check_snapshot
from returns_console.services.session import ReportSession
from returns_console.services.snapshot_io import load_snapshot
from returns_console.store.audit import AuditLog
from returns_console.tui.app import ReturnsConsole
from tests.tui.conftest import paste_text

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
SIZE = (160, 45)
#: When every audit row of these pictures was written.
STAMP = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
SKU = next(f for f in check_snapshot(SNAPSHOT).findings if f.code == Code.SKU_UNKNOWN)
ITEM = "TEE-BLK-M"


class _KeptSession(ReportSession):
    """The fixture's report, with mapping tables a remap can change (as a profile's are)."""

    def __init__(self) -> None:
        super().__init__(lambda: check_snapshot(SNAPSHOT), mappings=SNAPSHOT.mappings,
                         master=SNAPSHOT.erp_master)
        self._kept = SNAPSHOT.mappings

    @property
    def systems(self) -> str:
        return f"{SNAPSHOT.platform.system}|{SNAPSHOT.erp.system}"

    def load_mappings(self) -> Mappings:
        return self._kept

    def save_mappings(self, mappings: Mappings) -> None:
        self._kept = mappings


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(actions_module, "AuditLog", partial(AuditLog, clock=lambda: STAMP))


def console(tmp_path: Path, session: ReportSession | None = None) -> ReturnsConsole:
    session = session or _KeptSession()
    return ReturnsConsole(session, actions=Actions(
        session, audit_path=tmp_path / "audit.sqlite3", triage_path=tmp_path / "triage.sqlite3",
        operator="tester"))


async def _settled(pilot: Pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _remap(*typed: str):
    async def run_before(pilot: Pilot) -> None:
        await _settled(pilot)
        await pilot.press("colon")
        await paste_text(pilot, f"return {SKU.return_ref}")
        await pilot.press("enter")
        await _settled(pilot)
        await pilot.press("m")
        await _settled(pilot)
        for text in typed:
            await pilot.press(*text, "enter")
            await _settled(pilot)
    return run_before


def test_remap_sku_form(snap_compare, tmp_path) -> None:
    """Prefilled with the SKU, the item field focused, existing items like it suggested."""
    assert snap_compare(console(tmp_path), terminal_size=SIZE, run_before=_remap())


def test_remap_sku_preview(snap_compare, tmp_path) -> None:
    """The change and every return it touches, and the confirmation naming both."""
    assert snap_compare(console(tmp_path), terminal_size=SIZE,
                        run_before=_remap(ITEM, "", ""))


def test_refused_preview(snap_compare, tmp_path) -> None:
    """Why it cannot be done, and only Close."""
    assert snap_compare(console(tmp_path), terminal_size=SIZE,
                        run_before=_remap("NO-SUCH-ITEM", "", ""))


def test_audit_screen(snap_compare, tmp_path, fixed_clock) -> None:
    """Newest first: an undo, a remap of a code, a refused remap, a remap of a SKU."""
    session = _KeptSession()
    app = console(tmp_path, session)
    act = app.actions
    loaded = session.refresh()
    assert act.apply(act.plan_remap_sku(loaded, SKU.platform_value, ITEM)).ok
    assert not act.apply(act.plan_remap_sku(loaded, SKU.platform_value, "TEE-RED-S")).ok
    reason = next(f for f in loaded.report.findings if f.code == Code.REASON_UNMAPPED)
    remap_code = act.plan_remap_code(loaded, "reason", reason.platform_value, "UNWANTED")
    done = act.apply(remap_code)
    assert done.ok
    undo = act.undo_plan(done.seq)
    assert not isinstance(undo, str) and act.apply_undo(undo).ok

    async def audit(pilot: Pilot) -> None:
        await _settled(pilot)
        await pilot.press("L")
        await _settled(pilot)
        # DataTable sizes its columns after the rows arrive, on a later idle: on a busy
        # machine the picture was once taken before (every column cut to its first cells).
        # Its idle pass that measures them is pending while `_require_update_dimensions`
        # or `_updated_cells` says so: wait for the rows, then for that pass to have run.
        table = pilot.app.screen.query_one("#audit", DataTable)
        last, same = None, 0
        for _ in range(200):
            measured = not (table._require_update_dimensions or table._updated_cells)
            now = (table.row_count, table.virtual_size,
                   tuple(c.content_width for c in table.columns.values()))
            same = same + 1 if measured and now == last else 0
            if table.row_count == 7 and same >= 2:
                break
            last = now
            await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=audit)

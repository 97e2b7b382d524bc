"""Operator actions in the console, driven by Pilot against the sandbox over loopback: the
form, the preview, the apply, the notification, the refresh, the audit log and the write
journal the ERP kept (issue 5)."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from rich.console import Console
from textual.widgets import Button, DataTable, Input
from textual.worker import WorkerState

from returns_console.domain.codes import Code
from returns_console.services.actions import Actions
from returns_console.services.session import DemoSession
from returns_console.store.audit import AuditLog
from returns_console.tui.app import ReturnsConsole
from returns_console.tui.screens.action_form import ActionForm
from returns_console.tui.screens.audit import AuditScreen
from returns_console.tui.screens.preview import PreviewScreen
from returns_console.tui.screens.queue import QueueScreen
from returns_console.tui.screens.raw_record import RawRecordScreen
from returns_console.tui.screens.results import ResultsScreen
from returns_console.tui.screens.return_detail import ReturnScreen
from tests.integration.test_actions import draft_with_a_typo
from tests.tui.conftest import NOW, paste_text

SIZE = (160, 48)


# -- set-up ---------------------------------------------------------------------------------


def console(session: DemoSession, tmp_path) -> ReturnsConsole:
    """As the CLI builds it (cli.py `_console`): the session and its hands."""
    return ReturnsConsole(session, actions=Actions(
        session, audit_path=tmp_path / "audit.sqlite3", triage_path=tmp_path / "triage.sqlite3",
        operator="tester"))


async def settle(pilot) -> None:
    """Until no worker is left: a flow's worker starts the next one (plan → preview,
    apply → refresh), so one wait is not enough."""
    app = pilot.app
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            return
    raise AssertionError("the workers never settled")


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def paste(pilot, text: str) -> None:
    """`text` pasted into the focused input (tests/tui/conftest.py), then settled."""
    await paste_text(pilot, text)
    await settle(pilot)


async def command(pilot, text: str) -> None:
    """`:` then `text` (pasted) then Enter: a command in the command bar."""
    await press(pilot, "colon")
    await paste(pilot, text)
    await press(pilot, "enter")


def seen(app) -> str:
    """The text on the terminal now, as the operator reads it (dialogs over their screen)."""
    width, height = app.size
    out = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                  color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    out.print(app.screen._compositor.render_update(full=True,
                                                   screen_stack=app._background_screens))
    return out.export_text()


async def drawn(pilot, text: str, tries: int = 100) -> str:
    """The screen once `text` is on it: a DataTable sizes its columns when it is next idle,
    which on a busy machine may be a few frames after its rows arrived."""
    for _ in range(tries):
        shown = seen(pilot.app)
        if text in shown:
            return shown
        await pilot.pause()
    return seen(pilot.app)


def flat(text: str) -> str:
    """Screen text with wrapping and padding folded away, for phrases that may wrap."""
    return " ".join(text.replace("│", " ").replace("▎", " ").split())


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def rows(tmp_path):
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        return audit.entries()


def writes(session: DemoSession) -> list[dict]:
    return httpx.get(f"{session.server.url}/_sandbox/writes").json()


def first(app, code: Code):
    return next(f for f in app.report.findings if f.code == code)


def codes_of(app, ref: str) -> set[Code]:
    return {f.code for f in app.report.findings if f.return_ref == ref}


def active_item(app) -> str:
    return next(n for n, i in sorted(app.loaded.master.items.items())
                if not i.blocked and i.type == "inventory")


def apply_button(screen: PreviewScreen) -> list[Button]:
    return list(screen.query("#preview-apply"))


async def open_return(pilot, ref: str) -> ReturnScreen:
    await command(pilot, f"return {ref}")
    screen = pilot.app.screen
    assert isinstance(screen, ReturnScreen) and screen.case.return_ref == ref
    return screen


# -- remap SKU ------------------------------------------------------------------------------


async def test_remap_sku_from_the_queue_is_previewed_applied_audited_and_clears_the_finding(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        unknown = first(app, Code.SKU_UNKNOWN)
        sku, ref = unknown.platform_value, unknown.return_ref
        item = active_item(app)
        await command(pilot, "code sku_unknown")
        queue = app.screen
        assert isinstance(queue, QueueScreen) and queue.cursor_finding == unknown
        await press(pilot, "enter")
        assert isinstance(app.screen, ReturnScreen) and app.screen.case.return_ref == ref
        assert "remap SKU (m)" in seen(app)

        await press(pilot, "m")
        form = app.screen
        assert isinstance(form, ActionForm)
        assert form.query_one("#field-sku", Input).value == sku  # prefilled
        assert form.query_one("#field-item", Input).has_focus    # the first one to fill
        shown = seen(app)
        assert "Remap SKU" in shown and sku in shown
        await pilot.press(*item)
        await press(pilot, "enter", "enter", "enter")  # item, factor (1), unit (empty)

        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        shown = flat(seen(app))
        assert f"Remap SKU: SKU {sku} (1 return)" in shown
        assert f"{sku}: no mapping (tried as item {sku}) → item {item} x 1" in shown
        assert f"Returns touched (1): {ref}" in shown
        assert "Apply: 1 return (y)" in shown
        assert rows(tmp_path) == []  # nothing happens before the confirmation

        await press(pilot, "y")
        assert any(f"→ item {item} x 1; 1 return affected" in n for n in notes(app))
        assert Code.SKU_UNKNOWN not in codes_of(app, ref)  # after the automatic refresh
        screen = app.screen
        assert isinstance(screen, ReturnScreen)  # the return, shown as it is now
        assert "SKU_UNKNOWN" not in seen(app)
        assert writes(demo) == []  # mappings are the console's own: nothing went to the ERP
        # Issue 10.7: the mapping now in force shows on the line even though the ERP has no
        # line for it yet, and what is left (the ERP's return order lacks the line) is not
        # offered `fix reference`, which cannot change a quantity: the step says what to do
        line = next(r for r in screen.lines if r.platform and r.platform.sku == sku)
        assert line.mapping is not None and line.mapping.item_no == item
        shown = flat(seen(app))
        assert f"{sku} → item {item} (no ERP line for it yet)" in shown
        left = [f for f in app.report.findings if f.return_ref == ref
                and f.code is Code.QUANTITY_MISMATCH]
        assert left and all(f.action == "none" and f.todo for f in left)
        assert "fix reference (f): fixes QUANTITY_MISMATCH" not in shown
        assert "return order in Business Central" in shown

    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [("remap_sku", "pending"),
                                                    ("remap_sku", "succeeded")]
    assert log[0].operator == "tester" and log[0].return_ref == ref
    assert log[0].parameters["sku"] == sku and log[1].after["item_no"] == item
    assert log[1].completes == log[0].seq


async def test_a_refused_remap_says_why_offers_no_apply_and_records_nothing(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        unknown = first(app, Code.SKU_UNKNOWN)
        mappings = demo.load_mappings()
        await open_return(pilot, unknown.return_ref)
        await press(pilot, "m")
        await paste(pilot, "NO-SUCH-ITEM")
        await press(pilot, "enter", "enter", "enter")
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and not preview.can_apply
        shown = flat(seen(app))
        assert ("refused: item NO-SUCH-ITEM does not exist in the ERP's item master; map to "
                "an existing item") in shown
        assert apply_button(preview) == [] and "Close (Esc)" in shown
        await press(pilot, "y")
        assert app.screen is preview  # y does nothing here
        await press(pilot, "escape")
        # issue 10.5: back to the form, with what was typed and what was wrong
        form = app.screen
        assert isinstance(form, ActionForm) and form.values()["item"] == "NO-SUCH-ITEM"
        assert "Not possible: item NO-SUCH-ITEM does not exist" in flat(seen(app))
        await press(pilot, "escape")
        assert isinstance(app.screen, ReturnScreen)
        assert demo.load_mappings() == mappings
        assert writes(demo) == []
    # Issue 10.4: a refusal at the preview is an attempt too: one `refused` row, with why.
    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [("remap_sku", "refused")]
    assert "does not exist in the ERP's item master" in log[0].error


# -- re-queue posting -----------------------------------------------------------------------


async def test_requeue_creates_and_posts_the_credit_memo_once_and_then_refuses(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ref = first(app, Code.CREDIT_NOTE_MISSING).return_ref
        await open_return(pilot, ref)
        assert "re-queue posting (u)" in seen(app)
        await press(pilot, "u")
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and preview.can_apply
        shown = flat(seen(app))
        assert f"Re-queue posting: credit memo for {ref} (1 return)" in shown
        assert f"new credit memo {ref} for customer" in shown
        assert "then posted (Microsoft.NAV.post)" in shown
        assert "Request to the ERP:" in shown
        assert '"method": "POST"' in shown and "salesCreditMemos" in shown
        assert writes(demo) == []

        await press(pilot, "y")
        assert any(f"created and posted for {ref}" in n for n in notes(app))
        posts = [w for w in writes(demo) if w["method"] == "POST"]
        assert len(posts) == 2 and len(writes(demo)) == 2
        assert posts[0]["path"].endswith("/salesCreditMemos")
        assert posts[1]["path"].endswith("Microsoft.NAV.post")
        assert all(w["status"] < 300 for w in posts)
        assert Code.CREDIT_NOTE_MISSING not in codes_of(app, ref)

        screen = app.screen
        assert isinstance(screen, ReturnScreen) and screen.case.return_ref == ref
        await press(pilot, "u")  # again, on the same return
        again = app.screen
        assert isinstance(again, PreviewScreen) and not again.can_apply
        assert "already has credit note" in flat(seen(app))
        await press(pilot, "y")
        assert app.screen is again
        await press(pilot, "escape")
        assert len(writes(demo)) == 2  # nothing more sent

        # A posted credit memo is not undone by the console: the audit screen says how
        await press(pilot, "L")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        assert [(e.action, e.outcome) for e in audit.shown] == [
            ("requeue_posting", "refused"),  # the second `u`, refused at its preview
            ("requeue_posting", "succeeded"), ("requeue_posting", "pending")]
        assert "already has credit note" in audit.shown[0].error
        number = audit.shown[1].erp_record_id
        assert number and number in seen(app)
        await press(pilot, "down")  # the succeeded row
        await press(pilot, "u")
        assert app.screen is audit  # no preview: nothing to apply
        said = [n for n in app._notifications if "not undone automatically" in n.message]
        assert said and said[-1].severity == "warning"
        assert f"Cancel on posted credit memo {number}" in said[-1].message
        assert len(writes(demo)) == 2

    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [("requeue_posting", "pending"),
                                                    ("requeue_posting", "succeeded"),
                                                    ("requeue_posting", "refused")]
    assert log[0].request["method"] == "POST" and log[1].erp_record_id == number


@pytest.mark.parametrize("code", [Code.RECEIPT_NOT_POSTED, Code.RETURN_ORDER_MISSING,
                                  Code.CREDIT_WITHOUT_REFUND])
async def test_requeue_on_a_return_the_platform_has_not_refunded_sends_nothing(
        demo, tmp_path, code: Code) -> None:
    """Issue 9.9: `u` on a return still in transit, not received or never refunded used to
    create and post a credit memo. Now the finding says what to do in Business Central, the
    re-queue is not offered, and pressing `u` anyway is refused with the reason."""
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        finding = first(app, code)
        await open_return(pilot, finding.return_ref)
        shown = flat(seen(app))
        assert "re-queue posting (u)" not in shown
        if code is not Code.CREDIT_WITHOUT_REFUND:
            assert finding.action == "none" and "Business Central" in (finding.todo or "")
            assert finding.todo.split(":")[0] in shown
        await press(pilot, "u")
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and not preview.can_apply
        said = flat(seen(app))
        assert "has not refunded" in said or "no refund is owed" in said \
            or "already has credit note" in said
        await press(pilot, "y")
        await press(pilot, "escape")
        assert writes(demo) == []


async def test_bulk_requeue_creates_credits_only_for_returns_the_platform_refunded(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        missing = first(app, Code.CREDIT_NOTE_MISSING).return_ref
        unrefunded = first(app, Code.RECEIPT_NOT_POSTED).return_ref
        plans = app.actions.plans_for(app.loaded, "requeue_posting", [missing, unrefunded])
        assert [p.allowed for p in plans] == [True, False]
        assert "has not refunded" in plans[1].refusal and plans[1].credit is None
        assert writes(demo) == []


async def test_a_bulk_action_marks_its_rows_in_flight_until_a_later_refresh_lands(
        demo, tmp_path, monkeypatch) -> None:
    """Issue 10.3: at 10k returns the refresh after a bulk action takes 20-30 s, and the
    fixed rows stayed `new` until it landed. Now they read `sending`, then `sent` (or not
    done) at once; a refresh started before the write does not clear them, a later one does."""
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        by = queue.queue.by_key
        missing = next(k for k in queue.shown if by[k].code is Code.CREDIT_NOTE_MISSING)
        unrefunded = next(k for k in queue.shown if by[k].code is Code.RECEIPT_NOT_POSTED)
        table = queue.query_one("#queue")
        for key in (missing, unrefunded):
            table.move_cursor(queue.shown.index(key))
            await press(pilot, "space")

        seen_while_sending: list[dict] = []
        apply_all = app.actions.apply_all

        def watched(plans):
            seen_while_sending.append(dict(queue.in_flight))
            return apply_all(plans)

        monkeypatch.setattr(app.actions, "apply_all", watched)
        refreshes: list[str] = []
        refresh_soon = app.refresh_soon
        monkeypatch.setattr(app, "refresh_soon", lambda: refreshes.append("asked"))
        before = app.refreshes_started
        await press(pilot, "u")
        await press(pilot, "y")
        assert seen_while_sending == [{missing: ("sending", before)}]
        await press(pilot, "escape")  # the results
        assert refreshes == ["asked"]  # the refresh that would show it has not landed yet
        triage = [c.key for c in queue._columns()].index("triage")
        assert str(queue._cells(missing)[triage]) == "✓ sent · refreshing"
        assert str(queue._cells(unrefunded)[triage]) == "new"  # refused: nothing sent
        assert "✓ sent · refreshing" in seen(app)
        # and a sign in the mark column, which no width drops (the triage column may go)
        row = queue.shown.index(missing) - round(table.scroll_y) + 1
        assert table.render_line(row).text.startswith("✓ ")
        # a report from a refresh that started before the write keeps the mark
        queue.show_report(app.report, queue.skus, serial=before)
        assert missing in queue.in_flight
        refresh_soon()
        await settle(pilot)
        assert queue.in_flight == {}
        assert all(by_f.code is not Code.CREDIT_NOTE_MISSING
                   or by_f.return_ref != by[missing].return_ref
                   for by_f in queue.queue.by_key.values())


# -- bulk triage ----------------------------------------------------------------------------


async def test_bulk_acknowledge_of_two_marked_exceptions_shows_each_result_and_one_batch(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        chosen = [k for k in queue.shown
                  if queue.queue.by_key[k].code is not Code.CREDIT_NOTE_MISSING][:2]
        for key in chosen:
            queue.query_one("#queue").move_cursor(queue.shown.index(key))
            await press(pilot, "space")
        assert set(queue.query_one("#queue").marked) == set(chosen)
        await press(pilot, "a")

        results = app.screen
        assert isinstance(results, ResultsScreen)
        shown = seen(app)
        assert "Acknowledge: 2 of 2 done" in shown
        for key in chosen:
            f = queue.queue.by_key[key]
            assert f"✓ {f.return_ref}: {f.code.value}: ack" in shown  # the ref said once
        await press(pilot, "escape")
        assert app.screen is queue
        triage = [c.key for c in queue._columns()].index("triage")
        for key in chosen:
            assert str(queue._cells(key)[triage]) == "ack"
        others = [k for k in queue.shown if k not in chosen]
        assert all(str(queue._cells(k)[triage]) == "new" for k in others)
        assert "ack" in seen(app)
        assert writes(demo) == []

    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [
        ("acknowledge", "pending"), ("acknowledge", "succeeded")] * 2
    assert len({e.batch for e in log}) == 1 and log[0].batch
    assert {e.parameters["finding"] for e in log if e.outcome == "pending"} == set(chosen)


# -- the audit screen -----------------------------------------------------------------------


async def test_the_audit_screen_lists_newest_first_filters_shows_a_row_and_scopes_to_a_return(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        unknown = first(app, Code.SKU_UNKNOWN)
        missing = first(app, Code.CREDIT_NOTE_MISSING)
        app.actions.set_triage(unknown, "acknowledge")
        app.actions.set_triage(missing, "note", "customer called twice")
        app.actions.set_triage(unknown, "assign", "data-team")

        await press(pilot, "L")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        table = audit.query_one("#audit", DataTable)
        assert [e.seq for e in audit.shown] == [6, 5, 4, 3, 2, 1]  # newest first
        assert table.row_count == 6
        shown = await drawn(pilot, "customer called twice")
        assert "Audit log · all returns" in shown
        assert "customer called twice" in shown and "tester" in shown

        await press(pilot, "slash")
        await paste(pilot, "assign")
        assert [(e.seq, e.action) for e in audit.shown] == [(6, "assign"), (5, "assign")]
        assert table.row_count == 2
        await press(pilot, "enter")  # the filter is done: back to the rows
        assert table.has_focus
        await press(pilot, "enter")
        raw = app.screen
        assert isinstance(raw, RawRecordScreen)
        shown = flat(seen(app))
        assert "Audit row 6" in shown and "data-team" in shown and "completes" in shown
        await press(pilot, "escape")
        assert app.screen is audit
        await press(pilot, "escape", "escape")  # clears the filter, then back to the queue
        assert isinstance(app.screen, QueueScreen)

        await open_return(pilot, missing.return_ref)
        await press(pilot, "L")
        mine = app.screen
        assert isinstance(mine, AuditScreen) and mine.return_ref == missing.return_ref
        assert [e.seq for e in mine.shown] == [4, 3]
        assert {e.return_ref for e in mine.shown} == {missing.return_ref}
        assert f"Audit log · for {missing.return_ref}" in seen(app)


async def test_undo_of_a_remap_from_the_audit_screen_brings_the_finding_back(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        unknown = first(app, Code.SKU_UNKNOWN)
        item = active_item(app)
        await open_return(pilot, unknown.return_ref)
        await press(pilot, "m")
        await pilot.press(*item)
        await press(pilot, "enter", "enter", "enter", "y")
        assert Code.SKU_UNKNOWN not in codes_of(app, unknown.return_ref)

        await press(pilot, "L")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        assert [(e.action, e.outcome) for e in audit.shown] == [("remap_sku", "succeeded"),
                                                                ("remap_sku", "pending")]
        await press(pilot, "down")  # onto the request row: either row undoes the action
        await press(pilot, "u")
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and preview.can_apply
        shown = flat(seen(app))
        assert f"Undo: SKU {unknown.platform_value} mapping back to none" in shown
        await press(pilot, "y")
        assert any(n.startswith("undone: SKU") for n in notes(app))
        assert Code.SKU_UNKNOWN in codes_of(app, unknown.return_ref)  # after the refresh
        assert demo.load_mappings().skus.get(unknown.platform_value) is None
        assert app.screen is audit
        assert [(e.action, e.outcome) for e in audit.shown][:2] == [("undo", "succeeded"),
                                                                    ("undo", "pending")]
        assert writes(demo) == []

    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [
        ("remap_sku", "pending"), ("remap_sku", "succeeded"),
        ("undo", "pending"), ("undo", "succeeded")]
    assert log[2].parameters["undoes"] == log[0].seq


# -- read-only ------------------------------------------------------------------------------


async def test_a_read_only_session_previews_but_offers_no_apply_and_sends_nothing(
        tmp_path) -> None:
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW, read_only=True)
    try:
        app = console(session, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "READ-ONLY" in seen(app).splitlines()[1]  # the environment bar
            missing = first(app, Code.CREDIT_NOTE_MISSING)
            await open_return(pilot, missing.return_ref)
            assert "READ-ONLY" in seen(app)
            await press(pilot, "u")
            preview = app.screen
            assert isinstance(preview, PreviewScreen) and not preview.can_apply
            shown = flat(seen(app))
            assert "Read-only session: nothing will be changed." in shown
            assert "Request to the ERP:" in shown  # what it would send, still shown
            assert apply_button(preview) == [] and "Close (Esc)" in shown
            await press(pilot, "y")
            assert app.screen is preview
            await press(pilot, "escape")
            assert Code.CREDIT_NOTE_MISSING in codes_of(app, missing.return_ref)
            assert writes(session) == []
        assert rows(tmp_path) == []
    finally:
        session.close()


# -- a conflict -----------------------------------------------------------------------------


async def test_a_conflict_warns_previews_the_fresh_record_and_applies_on_the_second_yes(
        demo, tmp_path) -> None:
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        missing, draft = await asyncio.to_thread(draft_with_a_typo, demo, app.actions,
                                                 app.loaded)
        await press(pilot, "r")
        typo = f"{missing}X"
        assert Code.ERP_RECORD_UNLINKED in codes_of(app, typo)
        await open_return(pilot, typo)
        assert "fix reference (f)" in seen(app)
        await press(pilot, "f")
        form = app.screen
        assert isinstance(form, ActionForm)
        record = form.query_one("#field-record", Input).value
        assert draft.record_id in record and form.query_one("#field-link", Input).has_focus
        await pilot.press(*missing)
        await press(pilot, "enter", "enter")
        first_preview = app.screen
        assert isinstance(first_preview, PreviewScreen) and first_preview.can_apply
        shown = flat(seen(app))
        assert f"Fix reference: salesCreditMemos {draft.number}" in shown
        assert f"externalDocumentNumber: {typo} → {missing}" in shown
        assert '"method": "PATCH"' in shown and "If-Match" in shown
        etag = first_preview.plans[0].parameters["etag"]

        httpx.post(f"{demo.server.url}/_sandbox/bump",
                   params={"entity": "salesCreditMemos", "id": draft.record_id}
                   ).raise_for_status()
        await press(pilot, "y")
        warnings = [n for n in app._notifications if n.severity == "warning"]
        assert any("changed in the ERP since it was read" in n.message for n in warnings)
        second_preview = app.screen
        assert isinstance(second_preview, PreviewScreen) and second_preview is not first_preview
        assert second_preview.can_apply
        assert second_preview.plans[0].parameters["etag"] != etag  # planned from the fresh one
        assert f"→ {missing}" in flat(seen(app))

        await press(pilot, "y")
        assert any(f"now carries {missing}" in n for n in notes(app))
        assert not codes_of(app, typo)
        relinked = next(c for c in app.report.cases if c.return_ref == missing)
        assert [n.status for n in relinked.erp.credit_notes] == ["draft"]
        # the unlinked "return" is gone: the one the draft now belongs to is on screen
        screen = app.screen
        assert isinstance(screen, ReturnScreen) and screen.case.return_ref == missing
        assert draft.number in seen(app) and not any("No return" in n for n in notes(app))
        patches = [w for w in writes(demo) if w["method"] == "PATCH"]
        statuses = [w["status"] for w in patches]
        assert len(statuses) == 2 and statuses[0] in (409, 412) and statuses[1] == 200

    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [
        ("fix_reference", "pending"), ("fix_reference", "failed"),
        ("fix_reference", "pending"), ("fix_reference", "succeeded")]
    assert "conflict" in log[1].error
    assert {e.return_ref for e in log} == {typo}  # the return it was done from


# -- a session that cannot record -----------------------------------------------------------


async def test_triage_that_cannot_be_recorded_is_said_never_silently_dropped(tmp_path) -> None:
    """A snapshot file's session (as `ui --snapshot` / `open --snapshot` start it): whatever
    the audit log makes of it, the operator is told what came of the key they pressed."""
    from pathlib import Path

    from returns_console.services.check import check_snapshot
    from returns_console.services.session import ReportSession
    from returns_console.services.snapshot_io import load_snapshot

    snapshot = load_snapshot(Path(__file__).resolve().parents[2] / "fixtures" / "canonical"
                             / "scenario.json")
    session = ReportSession(lambda: check_snapshot(snapshot), label="scenario.json",
                            read_only=True, mappings=snapshot.mappings,
                            master=snapshot.erp_master)
    app = console(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        f, key = queue.cursor_finding, queue.query_one("#queue").cursor_key
        await press(pilot, "a")
        said = [n for n in notes(app) if n.startswith(f"{f.return_ref} {f.code.value}: ")]
        assert said, notes(app)
        recorded = [e for e in rows(tmp_path) if e.outcome == "succeeded"]
        triage = [c.key for c in queue._columns()].index("triage")
        assert (str(queue._cells(key)[triage]) == "ack") == bool(recorded)


async def test_triage_shows_on_the_return_screen_and_whole_in_the_queue(demo, tmp_path) -> None:
    """Issue 10.2: assignee, note and tags appeared nowhere on the return screen, and the
    queue's triage column cut them (`new @al…`)."""
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        f = first(app, Code.CREDIT_NOTE_MISSING)
        for kind, value in (("assign", "alice"), ("tag", "waiting-on-3pl"),
                            ("note", "refund went out on the 14th")):
            assert app.actions.set_triage(f, kind, value).ok
        app.action_refresh_data()
        await settle(pilot)
        assert "new @alice #waiting-on-3pl" in seen(app)
        await open_return(pilot, f.return_ref)
        shown = flat(seen(app))
        assert ("triage: new · assigned to alice · tags #waiting-on-3pl · note: refund went "
                "out on the 14th") in shown


async def test_the_snooze_form_names_its_exception_and_keeps_a_date_it_refuses(
        demo, tmp_path) -> None:
    """Issue 10.5: a past snooze date was accepted and did nothing; a bad one closed the form
    and lost the input; the form did not say which exception it snoozes."""
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        f = app.screen.queue.by_key[app.screen.shown[0]]
        await press(pilot, "z")
        form = app.screen
        assert isinstance(form, ActionForm)
        assert f"For {f.code.value} on {f.return_ref}" in flat(seen(app))
        await paste(pilot, "2020-01-31")
        await press(pilot, "enter")
        again = app.screen
        assert isinstance(again, ActionForm) and again.values()["value"] == "2020-01-31"
        assert "Not possible: snooze until 2020-01-31: that is in the past" in flat(seen(app))
        await press(pilot, "escape")
    assert rows(tmp_path) == []  # nothing was recorded


async def test_the_audit_screen_shows_this_profiles_rows_and_a_profile_column_when_mixed(
        demo, tmp_path) -> None:
    """Issue 10.4: the audit log mixed profiles with no profile column (a demo row showed on
    the sandbox profile)."""
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        audit.record(operator="bob", profile="acme-production", systems="swap|d365_bc",
                     return_ref="R-999999", action="note", parameters={},
                     outcome="succeeded")
    app = console(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        f = first(app, Code.SKU_UNKNOWN)
        assert app.actions.set_triage(f, "acknowledge").ok
        await press(pilot, "L")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        assert {e.profile for e in audit.shown} == {demo.profile_name}
        assert "R-999999" not in seen(app)
        table = audit.query_one("#audit", DataTable)
        # one profile's rows: the title names it, no column repeats it
        assert "profile" not in [c.label.plain for c in table.ordered_columns]
        assert f"profile {demo.profile_name}" in seen(app)
        await press(pilot, "a")
        assert {e.profile for e in audit.shown} == {demo.profile_name, "acme-production"}
        labels = [c.label.plain for c in table.ordered_columns]
        at = labels.index("profile")
        assert labels[-1] == "detail"  # the long one last, so the profile stays on screen
        assert "acme-production" in seen(app)
        assert "acme-production" in [str(table.get_row_at(i)[at]) for i in range(table.row_count)]
        assert "every profile" in seen(app)

"""Operator actions against the sandbox over loopback: every action, previewed, applied,
audited; idempotent re-queue; conflicts; read-only; undo; auto-close."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from returns_console.domain.codes import Code
from returns_console.services.actions import Actions
from returns_console.services.session import DemoSession
from returns_console.store.audit import AuditLog

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path):
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW)
    yield session
    session.close()


def actions_for(session, tmp_path) -> Actions:
    return Actions(session, audit_path=tmp_path / "audit.sqlite3",
                   triage_path=tmp_path / "triage.sqlite3", operator="tester")


def first(loaded, code: Code):
    return next(f for f in loaded.report.findings if f.code == code)


def codes_of(loaded, ref: str) -> set[Code]:
    return {f.code for f in loaded.report.findings if f.return_ref == ref}


def writes(session) -> list[dict]:
    return httpx.get(f"{session.server.url}/_sandbox/writes").json()


def rows(tmp_path):
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        return audit.entries()


def active_item(loaded) -> str:
    return next(n for n, i in loaded.master.items.items()
                if not i.blocked and i.type == "inventory")


def test_remap_sku_fixes_every_return_with_that_sku_and_undo_brings_it_back(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    f = first(loaded, Code.SKU_UNKNOWN)
    plan = act.plan_remap_sku(loaded, f.platform_value, active_item(loaded))
    assert plan.allowed and f.return_ref in plan.returns
    outcome = act.apply(plan)
    assert outcome.ok, outcome.message
    after = demo.refresh()
    assert Code.SKU_UNKNOWN not in codes_of(after, f.return_ref)
    log = rows(tmp_path)
    assert [(e.action, e.outcome) for e in log] == [("remap_sku", "pending"),
                                                    ("remap_sku", "succeeded")]
    assert log[1].completes == log[0].seq and log[0].operator == "tester"
    assert log[1].after["item_no"] == active_item(loaded)
    undo = act.undo_plan(log[0].seq)
    assert not isinstance(undo, str)
    assert act.apply_undo(undo).ok
    assert Code.SKU_UNKNOWN in codes_of(demo.refresh(), f.return_ref)
    assert writes(demo) == []  # a mapping is the console's own: nothing sent to the ERP


def test_remap_to_a_blocked_or_unknown_item_is_refused_and_audited_and_nothing_changes(
        demo, tmp_path):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    blocked = next(n for n, i in loaded.master.items.items() if i.blocked)
    for item in (blocked, "NO-SUCH-ITEM"):
        plan = act.plan_remap_sku(loaded, "TEE-GRN-XL", item)
        assert not plan.allowed
        outcome = act.apply(plan)
        assert not outcome.ok and plan.refusal in outcome.message
    assert [e.outcome for e in rows(tmp_path)] == ["refused", "refused"]
    assert demo.load_mappings() == loaded.mappings


def test_remap_code_fixes_the_unmapped_reason(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    f = first(loaded, Code.REASON_UNMAPPED)
    plan = act.plan_remap_code(loaded, "reason", f.platform_value, sorted(loaded.master.reasons)[0])
    assert act.apply(plan).ok
    assert Code.REASON_UNMAPPED not in codes_of(demo.refresh(), f.return_ref)


def test_triage_is_local_audited_and_closes_itself_when_the_exception_goes(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    f = first(loaded, Code.SKU_UNKNOWN)
    assert act.set_triage(f, "acknowledge").ok
    assert act.set_triage(f, "assign", "data-team").ok
    assert not act.set_triage(f, "snooze", "next tuesday").ok  # not a date: refused
    past = act.set_triage(f, "snooze", "2020-01-31")  # issue 10.5: would do nothing
    assert not past.ok and "in the past" in past.message
    assert act.triage_labels()[f.id] == "ack @data-team"
    act.apply(act.plan_remap_sku(loaded, f.platform_value, active_item(loaded)))
    after = demo.refresh()
    closed = act.close_missing(after.report.findings, after.report.generated_at)
    assert [t.finding_id for t in closed] == [f.id]
    assert act.triage_labels()[f.id].startswith("closed")
    assert "auto_close" in [e.action for e in rows(tmp_path)]


def test_a_read_only_session_refuses_every_write_and_sends_nothing(tmp_path):
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW, read_only=True)
    try:
        act = actions_for(session, tmp_path)
        loaded = session.refresh()
        f = first(loaded, Code.SKU_UNKNOWN)
        outcome = act.apply(act.plan_remap_sku(loaded, f.platform_value, active_item(loaded)))
        assert not outcome.ok and "read-only" in outcome.message
        missing = first(loaded, Code.CREDIT_NOTE_MISSING)
        outcome = act.apply(act.plan_requeue(loaded, missing.return_ref))
        assert not outcome.ok and "read-only" in outcome.message
        assert writes(session) == []
        assert [e.outcome for e in rows(tmp_path)] == ["refused", "refused"]
        assert session.load_mappings() == loaded.mappings
    finally:
        session.close()


def draft_with_a_typo(session, act, loaded):
    """What a careless integration leaves: a draft credit memo under a mistyped link."""
    import asyncio
    from dataclasses import replace

    missing = first(loaded, Code.CREDIT_NOTE_MISSING).return_ref
    credit = replace(act.plan_requeue(loaded, missing).credit, link=f"{missing}X")

    async def create():
        writer = session.open_writer()
        try:
            return await writer.create_credit(credit)
        finally:
            await writer.aclose()

    return missing, asyncio.run(create())


def test_fix_reference_relinks_a_draft_to_its_return(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    missing, _ = draft_with_a_typo(demo, act, demo.refresh())
    loaded = demo.refresh()
    assert Code.ERP_RECORD_UNLINKED in codes_of(loaded, f"{missing}X")
    plan = act.plan_fix_reference(loaded, f"{missing}X", missing)
    assert plan.allowed, plan.refusal
    assert plan.request["method"] == "PATCH" and "If-Match" in plan.request["headers"]
    outcome = act.apply(plan)
    assert outcome.ok, outcome.message
    after = demo.refresh()
    assert not codes_of(after, f"{missing}X")
    relinked = next(c for c in after.report.cases if c.return_ref == missing)
    assert [n.status for n in relinked.erp.credit_notes] == ["draft"]  # now on its return
    patches = [w for w in writes(demo) if w["method"] == "PATCH"]
    assert len(patches) == 1 and patches[0]["body"] == {"externalDocumentNumber": missing}
    assert [(e.action, e.outcome) for e in rows(tmp_path)][-2:] == [
        ("fix_reference", "pending"), ("fix_reference", "succeeded")]


def test_a_concurrent_edit_is_a_conflict_and_the_fresh_record_is_asked_again(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    missing, draft = draft_with_a_typo(demo, act, demo.refresh())
    loaded = demo.refresh()
    plan = act.plan_fix_reference(loaded, f"{missing}X", missing)
    httpx.post(f"{demo.server.url}/_sandbox/bump",
               params={"entity": "salesCreditMemos", "id": draft.record_id}).raise_for_status()
    outcome = act.apply(plan)
    assert not outcome.ok and outcome.conflict, outcome.message
    assert rows(tmp_path)[-1].outcome == "failed" and "conflict" in rows(tmp_path)[-1].error
    # the console shows the record as it is now and asks again, with its new ETag
    loaded.raw.maps[0][plan.parameters["record"]] = outcome.conflict
    again = act.plan_fix_reference(loaded, f"{missing}X", missing)
    assert again.parameters["etag"] != plan.parameters["etag"]
    assert act.apply(again).ok
    statuses = [w["status"] for w in writes(demo) if w["method"] == "PATCH"]
    assert statuses[0] in (409, 412) and statuses[-1] == 200


def test_a_posted_document_the_erp_will_not_change_is_a_clear_failure(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    f = first(loaded, Code.EXTERNAL_REF_CONFLICT)  # a posted credit memo under the wrong link
    free = first(loaded, Code.CREDIT_NOTE_MISSING).return_ref
    case = next(c for c in loaded.report.cases if c.return_ref == f.return_ref)
    memo = next(n.raw_ref for n in case.erp.credit_notes if n.status == "posted")
    plan = act.plan_fix_reference(loaded, f.return_ref, free, memo)
    assert plan.allowed, plan.refusal
    outcome = act.apply(plan)
    assert not outcome.ok and "posted" in outcome.message
    assert rows(tmp_path)[-1].outcome == "failed"
    assert [w["status"] for w in writes(demo)] == [400]


def test_a_fix_shows_at_the_next_refresh_when_the_demo_runs_on_the_wall_clock(tmp_path):
    """The demo's timeline ends a little ahead of the wall clock (ERP postings an hour after
    the platform's); a write must still be the newest change an incremental refresh sees."""
    session = DemoSession(tmp_path / "cache.sqlite3")  # now: the real time
    try:
        act = actions_for(session, tmp_path)
        loaded = session.refresh()
        unlinked = first(loaded, Code.ERP_RECORD_UNLINKED).return_ref
        right = next(c.return_ref for c in loaded.report.cases
                     if unlinked.startswith(c.return_ref) and c.return_ref != unlinked)
        assert act.apply(act.plan_fix_reference(loaded, unlinked, right)).ok
        assert not codes_of(session.refresh(), unlinked)
    finally:
        session.close()


def test_a_requeued_credit_puts_the_goods_where_their_condition_belongs(demo, tmp_path):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    missing = first(loaded, Code.CREDIT_NOTE_MISSING).return_ref
    assert act.apply(act.plan_requeue(loaded, missing)).ok
    assert not codes_of(demo.refresh(), missing)  # nothing new in place of what was fixed


def test_two_plans_applied_one_after_the_other_keep_both_changes(demo, tmp_path):
    """A plan carries the change, not a copy of every table: applying an older plan never
    undoes what was saved meanwhile; a plan for an entry changed since is refused."""
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    item = active_item(loaded)
    one = act.plan_remap_sku(loaded, "SKU-ONE", item)
    two = act.plan_remap_sku(loaded, "SKU-TWO", item)
    again = act.plan_remap_sku(loaded, "SKU-ONE", next(
        n for n, i in loaded.master.items.items() if not i.blocked and n != item))
    assert act.apply(one).ok and act.apply(two).ok
    assert {"SKU-ONE", "SKU-TWO"} <= set(demo.load_mappings().skus)
    stale = act.apply(again)
    assert not stale.ok and "changed since the preview" in stale.message
    assert demo.load_mappings().skus["SKU-ONE"].item_no == item


def test_two_requeues_at_once_make_one_credit_memo(demo, tmp_path):
    import threading

    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    plan = act.plan_requeue(loaded, first(loaded, Code.CREDIT_NOTE_MISSING).return_ref)
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(act.apply(plan)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.ok for o in outcomes) == [False, True]
    creates = [w for w in writes(demo) if w["method"] == "POST"
               and w["path"].rstrip("/").endswith("salesCreditMemos")]
    assert len(creates) == 1


def test_a_pending_row_of_a_live_process_is_not_taken_for_a_crash(demo, tmp_path):
    import os
    import socket
    import subprocess
    import sys

    act = actions_for(demo, tmp_path)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        with AuditLog(tmp_path / "audit.sqlite3") as audit:
            for pid in (alive.pid, dead.pid):
                audit.begin(operator="other", profile=demo.profile_name, systems="swap|d365_bc",
                            return_ref="R-100001", action="remap_sku",
                            parameters={"sku": "X", "owner": {"pid": pid,
                                                              "host": socket.gethostname()}})
        said = act.resolve_pending()
        assert len(said) == 1 and "(row 2)" in said[0]
        with AuditLog(tmp_path / "audit.sqlite3") as audit:
            assert [e.seq for e in audit.open_pending()] == [1]
        assert os.getpid() not in (alive.pid, dead.pid)
    finally:
        alive.kill()
        alive.wait()


def test_an_unexpected_error_after_pending_is_recorded_and_a_bulk_run_goes_on(demo, tmp_path,
                                                                              monkeypatch):
    act = actions_for(demo, tmp_path)
    loaded = demo.refresh()
    missing = first(loaded, Code.CREDIT_NOTE_MISSING).return_ref
    plans = [act.plan_requeue(loaded, missing),
             act.plan_remap_sku(loaded, "SKU-X", active_item(loaded))]

    original = demo.open_writer

    def broken():
        writer = original()

        async def create_credit(request):
            raise LookupError("no such location")

        writer.create_credit = create_credit
        return writer

    monkeypatch.setattr(demo, "open_writer", broken)
    outcomes = act.apply_all(plans)
    assert [o.ok for o in outcomes] == [False, True]
    assert "LookupError" in outcomes[0].message
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert audit.open_pending() == []
        assert [e.outcome for e in audit.entries()].count("failed") == 1

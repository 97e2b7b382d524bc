"""The registry drives the pair: the sandbox composes any platform with any ERP it has a
simulator of, plants only what the pair can show, and an action the ERP's writer cannot do
is refused below the UI (CLI and bulk paths included) and never offered on screen."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from returns_console import systems
from returns_console.config import Profile, SystemSettings
from returns_console.connectors.http import CallLog
from returns_console.domain.catalogue import codes_for
from returns_console.domain.codes import Code, Stage
from returns_console.errors import UserError
from returns_console.sandbox.demo import build_sandbox
from returns_console.services.actions import Actions
from returns_console.services.connections import open_platform
from returns_console.services.session import DemoSession
from returns_console.store.audit import AuditLog
from returns_console.tui.screens.return_detail import ReturnScreen

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


def test_the_default_pair_is_served_under_each_systems_id() -> None:
    box = build_sandbox(NOW, platform="swap", erp="d365_bc", returns=30)
    profile = box.profile("http://127.0.0.1:1")
    assert profile.name == "demo-swap-d365bc"
    assert profile.platform.base_url.endswith("/swap")
    assert profile.erp.base_url.endswith("/d365_bc")
    assert {(s, n) for s, n, _ in box.credentials()} == {("swap", "api_key"),
                                                          ("d365_bc", "client_secret")}


def test_a_pair_without_a_simulator_is_named_not_guessed() -> None:
    with pytest.raises(ValueError, match="no ERP simulator for Swap Commerce"):
        build_sandbox(NOW, erp="swap")
    with pytest.raises(ValueError, match="no ERP simulator for 'nope'"):
        build_sandbox(NOW, erp="nope")


def test_only_what_the_pair_can_show_is_planted() -> None:
    swap, bc = systems.spec("swap"), systems.spec("d365_bc")
    can = set(codes_for(swap.capabilities.facts | bc.capabilities.facts))
    planted = {Code(t["code"]) for t in build_sandbox(NOW).truth}
    assert planted <= can and Code.PREMATURE_RESTOCK not in can


def test_a_missing_required_option_is_named_with_the_setup_line() -> None:
    profile = Profile(name="p", platform=SystemSettings(system="swap", base_url="https://s"),
                      erp=SystemSettings(system="d365_bc", base_url="https://b"))
    with pytest.raises(UserError) as caught:
        open_platform(profile, lambda system, name: "x", CallLog())
    said = str(caught.value)
    assert "Swap Commerce needs option store" in said and "--platform-option store=" in said


@pytest.fixture
def demo(tmp_path):
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW)
    yield session
    session.close()


def test_an_action_the_erp_cannot_do_is_refused_and_audited_and_nothing_sent(
        demo, tmp_path, monkeypatch) -> None:
    """As for an ERP whose registry entry lists no re-queue: the CLI and bulk paths go
    through the same service, so they are refused too."""
    monkeypatch.setattr(type(demo), "erp_can", lambda self, action: action != "requeue_posting")
    act = Actions(demo, audit_path=tmp_path / "audit.sqlite3",
                  triage_path=tmp_path / "triage.sqlite3", operator="op")
    loaded = demo.refresh()
    ref = next(f.return_ref for f in loaded.report.findings
               if f.code is Code.CREDIT_NOTE_MISSING and not f.delay)
    before = demo.sandbox.erp.writes_json()
    plan = act.plan_requeue(loaded, ref)
    assert not plan.allowed and "API cannot do this" in (plan.refusal or "")
    outcome = act.apply(plan)
    assert not outcome.ok and demo.sandbox.erp.writes_json() == before
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert [e.outcome for e in audit.entries(action="requeue_posting")] == ["refused"]


def _shopify_netsuite(tmp_path) -> tuple[DemoSession, Actions]:
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW, platform="shopify",
                          erp="netsuite")
    return session, Actions(session, audit_path=tmp_path / "audit.sqlite3",
                            triage_path=tmp_path / "triage.sqlite3", operator="op")


def test_netsuite_requeues_a_credit_from_the_return_authorization_once(tmp_path) -> None:
    """A missing credit memo is made as NetSuite's Refund button makes it: one transform of
    the return authorization (§5.2), audited, carrying the link and an external id, found
    by the next check, and never made twice."""
    session, act = _shopify_netsuite(tmp_path)
    try:
        loaded = session.refresh()
        missing = next(f for f in loaded.report.findings
                       if f.code is Code.CREDIT_NOTE_MISSING and not f.delay)
        plan = act.plan_requeue(loaded, missing.return_ref)
        assert plan.allowed, plan.refusal
        assert plan.request["method"] == "POST"
        assert plan.request["path"].endswith("/!transform/creditMemo")
        assert any("return authorization" in step for step in plan.changes)
        assert act.apply(plan).ok
        sent = json.loads(session.sandbox.erp.writes_json())
        assert [(w["method"], w["status"]) for w in sent] == [("POST", 204)]
        assert sent[0]["body"]["otherRefNum"] == missing.return_ref
        assert sent[0]["body"]["externalId"].startswith("rc-")
        with AuditLog(tmp_path / "audit.sqlite3") as audit:
            assert [e.outcome for e in audit.entries(action="requeue_posting")] == [
                "pending", "succeeded"]
        again = session.refresh()
        # nothing left on it: the credit NetSuite priced from the RA is the refund
        assert [f.code for f in again.report.findings
                if f.return_ref == missing.return_ref] == []
        twice = act.plan_requeue(again, missing.return_ref)
        assert not twice.allowed and "already has credit note" in (twice.refusal or "")
        assert len(json.loads(session.sandbox.erp.writes_json())) == 1
    finally:
        session.close()


def test_netsuite_requeues_a_receipt_only_for_what_the_platform_settled(tmp_path) -> None:
    """A missing item receipt is made as NetSuite's Receive button makes it (a transform of
    the return authorization, §5.2) once the platform has received the goods and decided
    each unit's fate; before that the re-queue is refused, saying why, and nothing sent."""
    session, act = _shopify_netsuite(tmp_path)
    try:
        loaded = session.refresh()
        missing = [f for f in loaded.report.findings if f.code is Code.RECEIPT_NOT_POSTED]
        cases = {c.return_ref: c for c in loaded.report.cases}
        settled = [f for f in missing if Stage.INSPECTED in cases[f.return_ref].platform.stages]
        waiting = [f for f in missing if f not in settled]
        assert settled and waiting and all(f.action == "requeue_posting" for f in missing)
        refused = act.plan_requeue(loaded, waiting[0].return_ref)
        assert not refused.allowed and "not finished deciding" in (refused.refusal or "")
        plan = act.plan_requeue(loaded, settled[0].return_ref)
        assert plan.allowed, plan.refusal
        assert plan.request["path"].endswith("/!transform/itemReceipt")
        assert plan.parameters["creates"] == "receipt"
        outcome = act.apply(plan)
        assert outcome.ok, outcome.message
        sent = json.loads(session.sandbox.erp.writes_json())
        assert [(w["method"], w["status"]) for w in sent] == [("POST", 204)]
        assert sent[0]["body"] == plan.request["body"]
        with AuditLog(tmp_path / "audit.sqlite3") as audit:
            assert [e.outcome for e in audit.entries(action="requeue_posting")] == [
                "refused", "pending", "succeeded"]
        again = session.refresh()
        assert Code.RECEIPT_NOT_POSTED not in {
            f.code for f in again.report.findings if f.return_ref == settled[0].return_ref}
        twice = act.plan_requeue(again, settled[0].return_ref)
        assert not twice.allowed
        assert len(json.loads(session.sandbox.erp.writes_json())) == 1
        # a crash between the pending row and its outcome is resolved by asking NetSuite
        from types import SimpleNamespace

        def crashed(ref: str) -> tuple:
            return act._what_happened(SimpleNamespace(action="requeue_posting", parameters={
                "return_ref": ref, "creates": "receipt"}))

        assert crashed(settled[0].return_ref)[0] == "succeeded"
        assert crashed(waiting[0].return_ref)[0] == "failed"
        # a receipt made otherwise (by hand in NetSuite) is not claimed for the re-queue
        box = session.sandbox.erp.account
        ra = next(r for r in box.engine.rows("transaction", type="RtnAuth")
                  if r.get("otherrefnum") == waiting[0].return_ref)
        box.document("ItemRcpt", box.clock, status="A", entity=ra.get("entity"),
                     lines=[{"item": 1, "quantity": "1"}], created_from=int(ra["id"]))
        outcome, record, why = crashed(waiting[0].return_ref)
        assert (outcome, record) == ("failed", None) and "made otherwise" in why
    finally:
        session.close()


def test_netsuite_fixes_a_reference_with_one_patch(tmp_path) -> None:
    """A fixed reference is one PATCH of the link field, audited."""
    session, act = _shopify_netsuite(tmp_path)
    try:
        loaded = session.refresh()
        unlinked = next(f for f in loaded.report.findings
                        if f.code is Code.ERP_RECORD_UNLINKED)
        right = unlinked.return_ref[:-1]  # the plant's typo: one digit too many
        plan = act.plan_fix_reference(loaded, unlinked.return_ref, right)
        assert plan.allowed, plan.refusal
        assert act.apply(plan).ok
        sent = json.loads(session.sandbox.erp.writes_json())
        assert [(w["method"], w["body"], w["status"]) for w in sent] == [
            ("PATCH", {"otherRefNum": right}, 204)]
        with AuditLog(tmp_path / "audit.sqlite3") as audit:
            assert [e.outcome for e in audit.entries(action="fix_reference")] == [
                "pending", "succeeded"]
    finally:
        session.close()


def test_the_return_screen_does_not_offer_what_the_erp_cannot_do() -> None:
    screen = ReturnScreen.__new__(ReturnScreen)  # only the binding check, no layout
    screen.erp_can = lambda action: action == "fix_reference"
    assert screen.check_action("act", ("fix_reference",)) is True
    assert screen.check_action("act", ("requeue_posting",)) is False
    assert screen.check_action("act", ("remap_sku",)) is True  # local: always offered


def test_doctor_checks_each_systems_options_against_its_model() -> None:
    import asyncio

    from returns_console.services.doctor import diagnose

    profile = Profile(name="p", platform=SystemSettings(system="swap", base_url="https://s"),
                      erp=SystemSettings(system="d365_bc", base_url="https://b",
                                         options={"tenant": "t", "environment": "e",
                                                  "client_id": "c"}))
    said = {d.what: d for d in asyncio.run(diagnose(profile, lambda s, n: None))}
    assert not said["swap options"].ok
    assert said["swap options"].detail == "Swap Commerce needs option store"
    assert said["d365_bc options"].ok

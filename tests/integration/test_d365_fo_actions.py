"""Dynamics 365 F&O's writes through the one action service, against its simulator
(docs/d365fo-mapping.md, "Actions"): a missing return order re-queued once (header, then
lines; never twice, a lost answer found again), a reference fixed under If-Match, what
`$metadata` forbids refused before anything is sent, and a credit never made."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from returns_console.domain.codes import Code
from returns_console.services.actions import Actions
from returns_console.services.session import DemoSession
from returns_console.store.audit import AuditLog

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


@pytest.fixture
def fo(tmp_path):
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW, platform="swap", erp="d365_fo")
    act = Actions(session, audit_path=tmp_path / "audit.sqlite3",
                  triage_path=tmp_path / "triage.sqlite3", operator="op")
    yield session, act
    act.close()
    session.close()


def _sent(session: DemoSession) -> list[dict]:
    return json.loads(session.sandbox.erp.writes_json())


def _missing(loaded) -> str:
    return next(f.return_ref for f in loaded.report.findings
                if f.code is Code.RETURN_ORDER_MISSING and not f.delay)


def test_a_missing_return_order_is_made_once_header_then_lines(fo, tmp_path) -> None:
    session, act = fo
    loaded = session.refresh()
    ref = _missing(loaded)
    plan = act.plan_requeue(loaded, ref)
    assert plan.allowed, plan.refusal
    assert plan.request is not None and plan.request["path"] == "ReturnOrderHeadersV2"
    assert plan.request["body"]["CustomersOrderReference"] == ref
    assert any("no money moved" in change for change in plan.changes)
    outcome = act.apply(plan)
    assert outcome.ok, outcome.message
    sent = _sent(session)
    header, lines = sent[0], sent[1:]
    assert (header["method"], header["path"], header["status"]) == (
        "POST", "ReturnOrderHeadersV2", 201)
    assert lines and all(w["path"] == "ReturnOrderLinesV2" and w["status"] == 201
                         and w["body"]["ReturnSalesQuantity"] < 0 for w in lines)
    assert len(lines) == len(plan.order.lines)
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert [e.outcome for e in audit.entries(action="requeue_posting")] == [
            "pending", "succeeded"]
    again = session.refresh()
    assert not [f for f in again.report.findings
                if f.return_ref == ref and f.code is Code.RETURN_ORDER_MISSING]
    twice = act.plan_requeue(again, ref)
    assert not twice.allowed  # the return order exists; a credit is not this ERP's to make
    assert act.apply(twice).ok is False and len(_sent(session)) == len(sent)


def test_a_lost_answer_is_found_again_never_made_twice(fo) -> None:
    """The header is made but its answer lost (a 503 after the change): the re-queue looks
    for it by its reference, finds it, and adds only the lines it lacks."""
    session, act = fo
    loaded = session.refresh()
    ref = _missing(loaded)
    plan = act.plan_requeue(loaded, ref)
    session.sandbox.erp.fail_writes(1, status=503, after=True)
    outcome = act.apply(plan)
    assert outcome.ok, outcome.message
    headers = [w for w in _sent(session) if w["path"] == "ReturnOrderHeadersV2"]
    assert [w["status"] for w in headers] == [503]
    made = [r for r in session.sandbox.erp.env.sets["ReturnOrderHeadersV2"]
            if r.get("CustomersOrderReference") == ref]
    assert len(made) == 1
    lines = [r for r in session.sandbox.erp.env.sets["ReturnOrderLinesV2"]
             if r.get("ReturnOrderNumber") == made[0]["ReturnOrderNumber"]]
    assert len(lines) == len(plan.order.lines)


def _typo(session: DemoSession) -> tuple[str, str]:
    """A return order made in F&O under a mistyped reference for a return that has none
    (RETURN_ORDER_MISSING there, ERP_RECORD_UNLINKED here): what fix reference is for."""
    loaded = session.refresh()
    ref = _missing(loaded)
    env = session.sandbox.erp.env
    template = dict(env.sets["ReturnOrderHeadersV2"][0])
    template.pop("@odata.etag")
    template.pop("dataAreaId")
    env.add("ReturnOrderHeadersV2", {**template, "ReturnOrderNumber": "009999",
                                     "CustomersOrderReference": f"{ref}0",
                                     "ReturnStatus": "Created"})
    return ref, f"{ref}0"


def test_a_reference_is_fixed_with_if_match_and_a_stale_one_is_a_conflict(fo, tmp_path) -> None:
    session, act = fo
    right, typo = _typo(session)
    loaded = session.refresh()
    unlinked = next(f for f in loaded.report.findings if f.code is Code.ERP_RECORD_UNLINKED
                    and f.return_ref == typo)
    plan = act.plan_fix_reference(loaded, unlinked.return_ref, right)
    assert plan.allowed, plan.refusal
    assert plan.request["method"] == "PATCH" and plan.request["headers"]["If-Match"]
    number = plan.parameters["record"].rsplit(":", 1)[1]
    session.sandbox.erp.bump("headers", number)  # someone saves it in F&O meanwhile
    stale = act.apply(plan)
    assert not stale.ok and "changed in the ERP" in stale.message
    assert _sent(session) == []  # read and compared just before: nothing sent
    fresh = session.refresh()
    plan = act.plan_fix_reference(fresh, unlinked.return_ref, right)
    done = act.apply(plan)
    assert done.ok, done.message
    assert [(w["method"], w["body"], w["status"]) for w in _sent(session)][-1] == (
        "PATCH", {"CustomersOrderReference": right}, 204)
    after = session.refresh()
    assert not [f for f in after.report.findings if f.return_ref in (right, typo)
                and f.code in (Code.RETURN_ORDER_MISSING, Code.ERP_RECORD_UNLINKED)]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert [e.outcome for e in audit.entries(action="fix_reference")] == [
            "pending", "failed", "pending", "succeeded"]


def test_what_metadata_forbids_is_refused_before_anything_is_sent(fo) -> None:
    """U16: a field this installation marks AllowEdit false is not changed; the refusal
    says what to do in F&O, already in the preview (before anyone confirms), and the write
    itself would refuse it too."""
    session, act = fo
    session.sandbox.erp.locked = frozenset({"CustomersOrderReference"})
    right, typo = _typo(session)
    loaded = session.refresh()
    plan = act.plan_fix_reference(loaded, typo, right)
    assert not plan.allowed and "AllowEdit" in (plan.refusal or "")
    assert "Customer reference on the return order in F&O" in (plan.refusal or "")
    outcome = act.apply(plan)
    assert not outcome.ok and "AllowEdit" in outcome.message
    forced = act.apply(replace(plan, refusal=None))  # past the preview: the writer refuses
    assert not forced.ok and "AllowEdit" in forced.message
    assert _sent(session) == []


def test_a_credit_is_never_made_the_finding_says_what_to_do_in_fo(fo) -> None:
    session, act = fo
    loaded = session.refresh()
    missing = next(f for f in loaded.report.findings
                   if f.code is Code.CREDIT_NOTE_MISSING and not f.delay)
    assert missing.action == "none" and "Invoice" in (missing.todo or "")
    receipt = next(f for f in loaded.report.findings if f.code is Code.RECEIPT_NOT_POSTED)
    assert receipt.action == "none" and "Arrival overview" in (receipt.todo or "")
    plan = act.plan_requeue(loaded, missing.return_ref)
    assert not plan.allowed
    assert _sent(session) == []


def test_lines_that_could_not_be_made_are_said_with_the_return_order(fo, tmp_path) -> None:
    """The header is made and a line refused: the outcome names the return order and how
    many lines it has, the audit row keeps its number, and a second re-queue makes no
    second return order (it exists: the rest is added in F&O)."""
    session, act = fo
    loaded = session.refresh()
    ref = _missing(loaded)
    plan = act.plan_requeue(loaded, ref)
    env = session.sandbox.erp.env
    wanted = {line.item_no for line in plan.order.lines}
    env.sets["ReleasedProductsV2"][:] = [r for r in env.sets["ReleasedProductsV2"]
                                         if r["ItemNumber"] not in wanted]
    outcome = act.apply(plan)
    assert not outcome.ok and "was created with 0 of" in outcome.message
    headers = [w for w in _sent(session) if w["path"] == "ReturnOrderHeadersV2"]
    assert len(headers) == 1
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        row = audit.entries(action="requeue_posting")[-1]
        assert row.outcome == "failed" and "add the rest" in (row.error or "")
    again = act.plan_requeue(session.refresh(), ref)
    assert not again.allowed
    assert len([w for w in _sent(session) if w["path"] == "ReturnOrderHeadersV2"]) == 1

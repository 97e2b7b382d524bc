"""Deferred writes: an ERP that takes a change up later (it collects it on its schedule).
The audit log's pending -> outcome protocol covers them: a pending row, then `handed_over`,
then the final outcome once the ERP is seen to take the change up; meanwhile the write is
neither a crash to resolve nor something to send again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from returns_console.domain.actions import Plan
from returns_console.domain.postings import CreditLine, CreditRequest, RecordRef, WriteResult
from returns_console.services.actions import Actions
from returns_console.store.audit import HANDED_OVER, AuditLog


class ChannelErp:
    """A made-up ERP that collects changes later: every write comes back deferred."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.taken: bool | None = None

    async def credits_for(self, link: str) -> list[WriteResult]:
        return []

    async def create_credit(self, credit: CreditRequest) -> WriteResult:
        self.created.append(credit.link)
        return WriteResult(record_id=f"offer-{credit.link}", deferred=True)

    async def post_credit(self, draft: WriteResult, link: str) -> WriteResult:
        raise AssertionError("a deferred credit is never posted by us")

    async def set_link(self, ref: RecordRef, etag: str | None, link: str) -> WriteResult:
        self.links.append((ref.id, link))
        return WriteResult(record_id=ref.id, deferred=True)

    def reverse_hint(self, action: str, number: str | None) -> str:
        return "withdraw the offer"

    async def picked_up(self, action: str, parameters: Any) -> bool | None:
        return self.taken

    async def aclose(self) -> None:
        pass


class Session:
    profile_name = "channel"
    systems = "platform|channel"
    read_only = False

    def __init__(self, erp: ChannelErp) -> None:
        self.erp = erp

    def open_writer(self) -> ChannelErp:
        return self.erp


def requeue(link: str) -> Plan:
    credit = CreditRequest(link=link, customer_ref="C1", currency="GBP", lines=(
        CreditLine(item_no="TEE", quantity=Decimal(1), unit_price=Decimal("10.00")),))
    return Plan("requeue_posting", f"credit for {link}", (link,), ("new credit",),
                {"return_ref": link}, credit=credit)


def actions(tmp_path, erp: ChannelErp) -> Actions:
    return Actions(Session(erp), audit_path=tmp_path / "audit.sqlite3",
                   triage_path=tmp_path / "triage.sqlite3", operator="op")


def test_a_handed_over_requeue_awaits_pickup_and_is_never_sent_twice(tmp_path) -> None:
    erp = ChannelErp()
    act = actions(tmp_path, erp)
    first = act.apply(requeue("R-1"))
    assert first.ok and "awaiting pickup" in first.message
    again = act.apply(requeue("R-1"))
    assert not again.ok and "awaits pickup" in again.message
    assert erp.created == ["R-1"]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert [e.return_ref for e in audit.awaiting_pickup()] == ["R-1"]
        assert audit.open_pending() == []  # not a crash left behind
        assert audit.verify().ok


def test_settling_records_the_final_outcome_once_the_erp_takes_it_up(tmp_path) -> None:
    erp = ChannelErp()
    act = actions(tmp_path, erp)
    assert act.apply(requeue("R-2")).ok
    assert act.resolve_pending() == []  # not looked at yet: stays open
    erp.taken = True
    said = act.resolve_pending()
    assert said and "taken up by the ERP" in said[0]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        rows = audit.entries(action="requeue_posting")
        assert [r.outcome for r in rows] == ["pending", HANDED_OVER, "succeeded"]
        assert rows[2].completes == rows[1].seq and rows[1].completes == rows[0].seq
        assert audit.awaiting_pickup() == [] and audit.verify().ok


def test_a_refused_handover_is_a_failure_and_a_deferred_link_fix_is_handed_over(
        tmp_path) -> None:
    erp = ChannelErp()
    act = actions(tmp_path, erp)
    plan = Plan("fix_reference", "record 7", ("R-3",), ("link: R-3X -> R-3",),
                {"record": "channel:returns:7", "link": "R-3", "return_ref": "R-3"},
                before={"link": "R-3X"}, after={"link": "R-3"})
    done = act.apply(plan)
    assert done.ok and "when the ERP takes the change up" in done.message
    assert erp.links == [("7", "R-3")]
    erp.taken = False
    said = act.resolve_pending()
    assert said and "refused by the ERP" in said[0]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert [e.outcome for e in audit.entries(action="fix_reference")] == [
            "pending", HANDED_OVER, "failed"]


def test_a_bulk_run_shares_one_writer_and_one_event_loop(tmp_path) -> None:
    """Fifty returns re-queued at once must not log in to the ERP fifty times."""
    erp = ChannelErp()
    session = Session(erp)
    opened = []

    def open_erp() -> ChannelErp:
        opened.append(1)
        return erp

    session.open_writer = open_erp  # type: ignore[method-assign]
    act = Actions(session, audit_path=tmp_path / "audit.sqlite3",
                  triage_path=tmp_path / "triage.sqlite3", operator="op")
    try:
        outcomes = act.apply_all([requeue(f"R-{n}") for n in range(5)])
        assert all(o.ok for o in outcomes) and erp.created == [f"R-{n}" for n in range(5)]
        assert len(opened) == 1
        act.apply(requeue("R-9"))  # a single write afterwards opens its own
        assert len(opened) == 2
    finally:
        act.close()


def test_a_plan_time_check_that_hangs_is_given_up_for_the_session(tmp_path, monkeypatch) -> None:
    """An ERP whose writer can say at plan time what its installation allows (F&O's
    `$metadata`) but does not answer: the plan goes on (the write asks again before it
    sends), within a bound, and later plans do not wait on it again (a review: one plan
    waited 309 s, and quitting the console waited with it)."""
    import asyncio

    from returns_console.services import actions as module

    class Hanging(ChannelErp):
        asked = 0

        async def why_not_allowed(self, action: str, request: Any) -> str | None:
            Hanging.asked += 1
            await asyncio.sleep(3600)
            return "never"

    monkeypatch.setattr(module, "PLAN_CHECK_S", 0.2)
    erp = Hanging()
    act = actions(tmp_path, erp)
    assert act._why_not_here("fix_reference", {"method": "PATCH"}, erp) is None
    assert act._why_not_here("fix_reference", {"method": "PATCH"}, erp) is None
    assert Hanging.asked == 1
    act.close()

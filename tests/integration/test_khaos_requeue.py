"""Re-queue against Khaos Control: Khaos has no call that creates a return, it pulls our feed
(docs/vendors/khaos-control.md §7.3, §4), so a re-queue is an instruction kept in the inbox:
the feed offers the return again at Khaos's next pull, and the audit row stays handed over
until Khaos is seen to take it (or asks for it again: refused). Idempotent on the
AssociatedRef: never queued twice, never offered once Khaos has it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from pydantic import SecretStr

from returns_console.connectors.base import ChannelContext, ChannelRequest, PlatformBatch
from returns_console.domain.actions import Plan
from returns_console.domain.codes import Stage, StageStatus
from returns_console.domain.model import PlatformLine, PlatformView, StageView
from returns_console.domain.postings import CreditLine, ReturnOrderRequest
from returns_console.domain.reference import Mappings
from returns_console.services.actions import Actions
from returns_console.store.audit import HANDED_OVER, AuditLog
from returns_console.store.inbox import Inbox
from returns_console.systems.khaos import fold
from returns_console.systems.khaos import protocol as wire
from returns_console.systems.khaos.connector import KhaosConnector
from returns_console.systems.khaos.options import KhaosOptions
from returns_console.systems.khaos.writer import KhaosWriter

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)
OPTIONS = KhaosOptions(urn="WEB", backfill_days=30, default_reason_id="R1")


class Channel:
    """The console's side of the channel over one inbox, and a Khaos that pulls it."""

    def __init__(self, path: Path) -> None:
        self.inbox = Inbox(path)
        self.connector = KhaosConnector(
            base_url="https://c.example", options=OPTIONS,
            credentials=lambda: (SecretStr("u"), SecretStr("p")))
        view = PlatformView(
            system="swap", return_ref="R-1", order_ref="#1", created_at=AT,
            stages={Stage.AUTHORISED: StageView(status=StageStatus.DONE, at=AT)},
            lines=[PlatformLine(line_ref="1", sku="MUG", quantity=Decimal(1), reason="x")])

        async def returns() -> PlatformBatch:
            return PlatformBatch(views=[view])

        self.route = next(r for r in self.connector.channel(ChannelContext(
            returns=returns, history=partial(self.inbox.events, "khaos"),
            mappings=Mappings)) if r.suffix == wire.SUFFIXES[wire.RETURNS])
        self.continuation = "2026-11-20 10:00:00Z"
        self.pulls = 0

    def pull(self, asked: str = "") -> list[str]:
        """One pull, echoing the last continuation it received (as Khaos does)."""
        self.pulls += 1
        headers = {"authorization": wire.basic_header("u", "p"),
                   wire.CONTINUATION: self.continuation}
        if asked:
            headers["specificids"] = asked
        request = ChannelRequest(method="GET", headers=headers, query={}, body=b"",
                                 received_at=AT + timedelta(hours=1, minutes=15 * self.pulls))
        answer = asyncio.run(self.route.handle(request))
        for event in answer.keep:
            self.inbox.receive(event)
        self.continuation = answer.headers["Sirion-Continuation"]
        return [r["AssociatedRef"] for r in json.loads(answer.body)["Returns"]]

    def writer(self) -> KhaosWriter:
        writer = KhaosWriter(self.connector, clock=lambda: AT + timedelta(hours=3))
        writer.attach(partial(self.inbox.events, "khaos"), self.inbox.receive)
        return writer

    def authorised(self) -> StageStatus | None:
        view = fold.records(self.inbox.events("khaos"), OPTIONS,
                            now=AT + timedelta(hours=1, minutes=15 * self.pulls)
                            ).views.get("R-1")
        return None if view is None else view.stages[Stage.AUTHORISED].status


def order() -> ReturnOrderRequest:
    return ReturnOrderRequest(link="R-1", customer_ref="WEB", lines=(
        CreditLine(item_no="MUG", quantity=Decimal(1)),))


def test_a_failed_import_is_offered_again_and_taken(tmp_path: Path) -> None:
    channel = Channel(tmp_path / "inbox.sqlite")
    writer = channel.writer()
    assert channel.pull() == ["R-1"]
    assert channel.pull(asked="R-1") == ["R-1"]  # Khaos's import failed: it asks again
    assert channel.pull() == []  # a failed import is not offered on its own again
    assert channel.authorised() is StageStatus.FAILED
    assert asyncio.run(writer.return_orders_for("R-1")) == []

    made = asyncio.run(writer.create_return_order(order()))
    assert made.deferred
    waiting = asyncio.run(writer.return_orders_for("R-1"))
    assert waiting and waiting[0].deferred  # a second re-queue would be refused
    params = {"return_ref": "R-1"}
    assert asyncio.run(writer.picked_up("requeue_posting", params)) is None
    assert channel.authorised() is None  # not taken (again) yet: still missing

    assert channel.pull() == ["R-1"]  # offered again at the next pull
    assert asyncio.run(writer.picked_up("requeue_posting", params)) is None  # not yet known
    assert channel.pull() == []  # the answer arrived and Khaos did not ask again
    assert asyncio.run(writer.picked_up("requeue_posting", params)) is True
    assert channel.authorised() is StageStatus.DONE
    taken = asyncio.run(writer.return_orders_for("R-1"))
    assert taken and not taken[0].deferred  # Khaos has it: never offered again


def test_khaos_asking_again_after_a_requeue_is_a_refusal(tmp_path: Path) -> None:
    channel = Channel(tmp_path / "inbox.sqlite")
    writer = channel.writer()
    channel.pull()
    channel.pull(asked="R-1")
    asyncio.run(writer.create_return_order(order()))
    assert channel.pull() == ["R-1"]
    channel.pull(asked="r-1")  # its import failed again
    assert asyncio.run(writer.picked_up("requeue_posting", {"return_ref": "R-1"})) is False
    assert channel.authorised() is StageStatus.FAILED


class Session:
    profile_name = "khaos"
    systems = "swap|khaos"
    read_only = False

    def __init__(self, writer: KhaosWriter) -> None:
        self.writer = writer

    def open_writer(self) -> KhaosWriter:
        return self.writer


def test_the_action_is_handed_over_once_and_settled_when_khaos_takes_it(
        tmp_path: Path) -> None:
    channel = Channel(tmp_path / "inbox.sqlite")
    channel.pull()
    channel.pull(asked="R-1")
    act = Actions(Session(channel.writer()), audit_path=tmp_path / "audit.sqlite3",
                  triage_path=tmp_path / "triage.sqlite3", operator="op")
    plan = Plan("requeue_posting", "return order for R-1", ("R-1",), ("offer again",),
                {"return_ref": "R-1", "creates": "return_order", "lines": 1}, order=order())
    first = act.apply(plan)
    assert first.ok and "awaiting pickup" in first.message
    again = act.apply(plan)
    assert not again.ok and "awaits pickup" in again.message
    queued = [e for e in channel.inbox.events("khaos") if e.topic == fold.REOFFER]
    assert len(queued) == 1  # idempotent: one instruction
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert [e.completes for e in audit.awaiting_pickup()] == [first.seq]
    assert act.settle_handed_over() == []  # Khaos has not pulled since
    channel.pull()
    channel.pull()
    said = act.settle_handed_over()
    assert said and "taken up by the ERP" in said[0]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert audit.awaiting_pickup() == []
        outcomes = [e.outcome for e in audit.entries(return_ref="R-1")]
    assert HANDED_OVER in outcomes and outcomes[-1] == "succeeded"
    act.close()


def test_khaos_still_asking_is_refused_and_a_reoffer_is_never_processed_on_import(
        tmp_path: Path) -> None:
    """A review's findings: while Khaos still asks for a return (its own retry), a re-queue
    is refused; once it stopped, a re-offer goes out with ProcessReturn false (Khaos's own
    retry may have imported it: a second import must move no stock), and the preview
    says to look in Khaos first."""
    import pytest

    channel = Channel(tmp_path / "inbox.sqlite")
    writer = channel.writer()
    channel.pull()
    channel.pull(asked="R-1")
    with pytest.raises(ValueError, match="still asking"):
        writer.describe_create_return_order(order())
    channel.pull()
    described = writer.describe_create_return_order(order())
    assert any("may have imported it" in n for n in described["notes"])
    asyncio.run(writer.create_return_order(order()))
    headers = {"authorization": wire.basic_header("u", "p"),
               wire.CONTINUATION: channel.continuation}
    request = ChannelRequest(method="GET", headers=headers, query={}, body=b"",
                             received_at=AT + timedelta(hours=5))
    answer = asyncio.run(channel.route.handle(request))
    served = json.loads(answer.body)["Returns"]
    assert [r["AssociatedRef"] for r in served] == ["R-1"]
    assert served[0]["ProcessReturn"] is False


def test_a_pull_that_echoes_nothing_proves_nothing(tmp_path: Path) -> None:
    channel = Channel(tmp_path / "inbox.sqlite")
    writer = channel.writer()
    channel.pull()
    channel.pull(asked="R-1")
    channel.pull()
    asyncio.run(writer.create_return_order(order()))
    assert channel.pull() == ["R-1"]
    channel.continuation = ""  # a pull without Sirion-Continuation
    channel.pull()
    assert asyncio.run(writer.picked_up("requeue_posting", {"return_ref": "R-1"})) is None


def test_a_requeue_the_feed_cannot_offer_is_settled_refused(tmp_path: Path) -> None:
    """Re-queued, but the platform no longer shows it approved in the feed's window: the
    feed says why in its record and the row is settled (never handed over for ever)."""
    channel = Channel(tmp_path / "inbox.sqlite")
    writer = channel.writer()
    channel.pull()
    channel.pull(asked="R-1")
    channel.pull()
    asyncio.run(writer.create_return_order(order()))
    channel.pulls += 60 * 4 * 24  # sixty days of pulls later: past feed_days
    assert channel.pull() == []
    assert asyncio.run(writer.picked_up("requeue_posting", {"return_ref": "R-1"})) is False
    # answered (held): no longer waiting, so it can be re-queued once it can be offered
    assert asyncio.run(writer.return_orders_for("R-1")) == []
    batch = fold.records(channel.inbox.events("khaos"), OPTIONS,
                         now=AT + timedelta(days=61))
    assert any("re-queued, but the platform does not show it" in n for n in batch.notices)


def test_a_waiting_requeue_of_another_profile_blocks_nothing_here(tmp_path: Path) -> None:
    channel = Channel(tmp_path / "inbox.sqlite")
    channel.pull()
    channel.pull(asked="R-1")
    channel.pull()
    plan = Plan("requeue_posting", "return order for R-1", ("R-1",), ("offer again",),
                {"return_ref": "R-1", "creates": "return_order", "lines": 1}, order=order())
    other = Session(channel.writer())
    other.profile_name = "sandbox"
    first = Actions(other, audit_path=tmp_path / "audit.sqlite3",
                    triage_path=tmp_path / "triage.sqlite3", operator="op")
    assert first.apply(plan).ok
    here = Channel(tmp_path / "other-inbox.sqlite")
    here.pull()
    here.pull(asked="R-1")
    here.pull()
    mine = Actions(Session(here.writer()), audit_path=tmp_path / "audit.sqlite3",
                   triage_path=tmp_path / "triage.sqlite3", operator="op")
    assert mine.apply(plan).ok  # the sandbox's pending row is not this profile's
    first.close()
    mine.close()

"""A re-queue is audited the same way whatever it makes (a credit, a return order, a
receipt): a write the console stopped before sending is `refused`, an ERP's error `failed`;
a write the ERP takes up later is handed over, and another re-queue of the same return is
refused until it is picked up (services/actions.py, one path for the three)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from returns_console.connectors.errors import ConflictError, NotSentError, ServerError
from returns_console.domain.actions import Plan
from returns_console.domain.postings import (
    CreditLine,
    CreditRequest,
    ReceiptLine,
    ReceiptRequest,
    ReturnDocument,
    ReturnOrderRequest,
    WriteResult,
)
from returns_console.services.actions import Actions
from returns_console.store.audit import HANDED_OVER, AuditLog

LINK = "R-000123"


class Writer:
    """The writing surface of an ERP with nothing for the link yet; `fails` is raised by
    the create call, `deferred` answers as an ERP that takes the write up later (and says
    what became of it: `taken`). What it made, it finds again by the link."""

    def __init__(self, fails: Exception | None = None, deferred: bool = False) -> None:
        self.fails, self.deferred, self.made = fails, deferred, 0
        self.held: dict[str, list[WriteResult]] = {"CM": [], "RO": [], "RCPT": []}
        self.taken: bool | None = None

    async def credits_for(self, link: str) -> list[WriteResult]:
        return list(self.held["CM"])

    async def return_orders_for(self, link: str) -> list[WriteResult]:
        return list(self.held["RO"])

    async def receipts_for(self, link: str) -> list[WriteResult]:
        return list(self.held["RCPT"])

    async def receipt_made(self, link: str) -> WriteResult | None:
        return self.held["RCPT"][0] if self.held["RCPT"] else None

    async def picked_up(self, action: str, parameters: object) -> bool | None:
        return self.taken

    def _make(self, number: str) -> WriteResult:
        if self.fails is not None:
            raise self.fails
        self.made += 1
        made = WriteResult(record_id=number, number=number, deferred=self.deferred)
        self.held[number.split("-")[0]].append(made)
        return made

    async def create_credit(self, credit: CreditRequest) -> WriteResult:
        return self._make("CM-1")

    async def post_credit(self, draft: WriteResult, link: str) -> WriteResult:
        return WriteResult(record_id=draft.record_id, number=draft.number, final=True)

    async def create_return_order(self, order: ReturnOrderRequest) -> WriteResult:
        return self._make("RO-1")

    async def create_receipt(self, receipt: ReceiptRequest) -> WriteResult:
        return self._make("RCPT-1")

    def reverse_hint(self, action: str, number: str | None) -> str:
        return f"undo {number} by hand" if action == "requeue_posting" else "?"

    async def aclose(self) -> None:
        pass


class Session:
    profile_name = "outcomes"
    systems = "swap|erp"
    read_only = False

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def open_writer(self) -> Writer:
        return self.writer


LINES = (CreditLine(item_no="TEE", quantity=Decimal(1), unit_price=Decimal("10.00")),)


def credit_plan() -> Plan:
    return Plan("requeue_posting", f"credit memo for {LINK}", (LINK,), ("new credit memo",),
                {"return_ref": LINK}, credit=CreditRequest(
                    link=LINK, customer_ref="C1", currency="GBP", lines=LINES))


def order_plan() -> Plan:
    return Plan("requeue_posting", f"return order for {LINK}", (LINK,), ("new return order",),
                {"return_ref": LINK}, order=ReturnOrderRequest(
                    link=LINK, customer_ref="C1", lines=LINES))


def receipt_plan() -> Plan:
    return Plan("requeue_posting", f"receipt for {LINK}", (LINK,), ("new receipt",),
                {"return_ref": LINK}, receipt=ReceiptRequest(
                    link=LINK, lines=(ReceiptLine(item_no="TEE", quantity=Decimal(1),
                                                  restocked=Decimal(1)),),
                    source=ReturnDocument(raw_ref="erp:returnOrders:1", number="RO-1")))


PLANS = {"credit": credit_plan, "return order": order_plan, "receipt": receipt_plan}
#: What undo says once the ERP took each up.
UNDO = {"credit": "undo CM-1 by hand", "return order": "undo RO-1 by hand",
        "receipt": "A receipt is not undone automatically: delete receipt RCPT-1 in the ERP "
                   "(its stock moves back)."}


def actions(tmp_path: Path, writer: Writer) -> Actions:
    return Actions(Session(writer), audit_path=tmp_path / "audit.sqlite3",
                   triage_path=tmp_path / "triage.sqlite3", operator="op")


def rows(tmp_path: Path) -> list:
    """The audit's outcomes (a write's pending row before it is sent left out)."""
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert audit.verify().ok
        return [e for e in audit.entries(action="requeue_posting") if e.outcome != "pending"]


@pytest.mark.parametrize("kind", PLANS)
@pytest.mark.parametrize(("error", "audited"), [
    (NotSentError("erp", "the return order changed state; nothing sent"), "refused"),
    (ConflictError("erp", "changed since it was read", status=412), "refused"),
    (ServerError("erp", "internal error", status=500), "failed"),
])
def test_a_write_that_raised_is_audited_by_whether_anything_was_sent(
        tmp_path: Path, kind: str, error: Exception, audited: str) -> None:
    """NotSentError's contract (connectors/errors.py): nothing reached the ERP, so the
    row says `refused`; once only receipts kept it, credits and return orders said
    `failed`."""
    outcome = actions(tmp_path, Writer(fails=error)).apply(PLANS[kind]())
    assert not outcome.ok
    [row] = rows(tmp_path)
    assert (row.outcome, row.error) == (audited, str(error))


@pytest.mark.parametrize("kind", PLANS)
def test_a_write_the_erp_takes_up_later_is_handed_over_and_not_sent_twice(
        tmp_path: Path, kind: str) -> None:
    """An ERP that takes writes up later (it calls us): the row is handed over, not done,
    and a second re-queue of the same return is refused until the ERP picks it up. Receipts
    once said "made" for a receipt the ERP had not made yet."""
    writer = Writer(deferred=True)
    first = actions(tmp_path, writer).apply(PLANS[kind]())
    assert first.ok and "handed to the ERP" in first.message
    second = actions(tmp_path, writer).apply(PLANS[kind]())
    assert not second.ok and "awaits pickup" in second.message
    assert writer.made == 1
    assert [r.outcome for r in rows(tmp_path)] == [HANDED_OVER, "refused"]


@pytest.mark.parametrize("kind", PLANS)
def test_a_handed_over_write_once_taken_up_is_undone_as_its_writer_said(
        tmp_path: Path, kind: str) -> None:
    """The row that settles a handed-over write keeps the reverse its writer gave (undo of
    a receipt taken up once told the operator to cancel a credit note)."""
    writer = Writer(deferred=True)
    act = actions(tmp_path, writer)
    assert act.apply(PLANS[kind]()).ok
    writer.taken = True
    assert act.settle_handed_over()
    final = rows(tmp_path)[-1]
    assert final.outcome == "succeeded"
    assert act.undo_plan(final.seq) == UNDO[kind]


@pytest.mark.parametrize(("kind", "creates"), [("credit", "credit"),
                                               ("return order", "return_order"),
                                               ("receipt", "receipt")])
def test_a_crash_after_a_write_was_handed_over_is_resolved_as_handed_over(
        tmp_path: Path, kind: str, creates: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pending row a crash left, whose write the ERP holds for pickup: handed over (it
    awaits pickup and blocks another re-queue), not succeeded (receipts) nor failed as an
    unposted draft (credits)."""
    import returns_console.services.actions as service

    writer = Writer(deferred=True)
    number = {"credit": "CM-1", "return order": "RO-1", "receipt": "RCPT-1"}[kind]
    writer.held[number.split("-")[0]].append(
        WriteResult(record_id=number, number=number, deferred=True))
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        audit.begin(operator="op", profile=Session.profile_name, systems=Session.systems,
                    return_ref=LINK, action="requeue_posting",
                    parameters={"return_ref": LINK, "creates": creates, "lines": 1})
    monkeypatch.setattr(service, "_abandoned", lambda row: True)  # its process is gone
    act = actions(tmp_path, writer)
    assert act.resolve_pending()
    assert [r.outcome for r in rows(tmp_path)] == [HANDED_OVER]
    again = act.apply(PLANS[kind]())
    assert not again.ok and "awaits pickup" in again.message
    writer.taken = True  # once taken up, undone as its writer says (as without a crash)
    assert act.settle_handed_over()
    final = rows(tmp_path)[-1]
    assert final.outcome == "succeeded"
    assert act.undo_plan(final.seq) == UNDO[kind]


def test_a_handed_over_write_whose_row_was_settled_meanwhile_still_awaits_pickup(
        tmp_path: Path) -> None:
    """Another process took the pending row for a crash while the write was being handed
    over: the hand-over is recorded as a row of its own (it was refused by the audit log
    and raised), awaits pickup like any other and is settled with its own parameters."""

    class Racing(Writer):
        async def create_receipt(self, receipt: ReceiptRequest) -> WriteResult:
            with AuditLog(tmp_path / "audit.sqlite3") as audit:
                [row] = audit.open_pending()
                audit.complete(row.seq, outcome="failed", error="resolved at start")
            return await super().create_receipt(receipt)

    writer = Racing(deferred=True)
    act = actions(tmp_path, writer)
    assert act.apply(receipt_plan()).ok
    assert [r.outcome for r in rows(tmp_path)] == ["failed", HANDED_OVER]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        [waiting] = audit.awaiting_pickup()
    assert waiting.parameters["late_outcome_of"] and waiting.erp_record_id == "RCPT-1"
    writer.taken = True
    assert act.settle_handed_over()
    assert [r.outcome for r in rows(tmp_path)] == ["failed", HANDED_OVER, "succeeded"]


def test_a_refusal_that_names_a_record_made_is_a_failure(tmp_path: Path) -> None:
    """An error that says the ERP made a record (not as planned) is never `refused`, whose
    word is that nothing reached the ERP."""
    error = ConflictError("erp", "made, then changed under us", status=409)
    error.made = "CM-9"  # type: ignore[attr-defined]
    actions(tmp_path, Writer(fails=error)).apply(credit_plan())
    [row] = rows(tmp_path)
    assert (row.outcome, row.erp_record_id) == ("failed", "CM-9")

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
    the create call, `deferred` answers as an ERP that takes the write up later."""

    def __init__(self, fails: Exception | None = None, deferred: bool = False) -> None:
        self.fails, self.deferred, self.made = fails, deferred, 0

    async def credits_for(self, link: str) -> list[WriteResult]:
        return []

    async def return_orders_for(self, link: str) -> list[WriteResult]:
        return []

    async def receipts_for(self, link: str) -> list[WriteResult]:
        return []

    def _make(self, number: str) -> WriteResult:
        if self.fails is not None:
            raise self.fails
        self.made += 1
        return WriteResult(record_id=number, number=number, deferred=self.deferred)

    async def create_credit(self, credit: CreditRequest) -> WriteResult:
        return self._make("CM-1")

    async def post_credit(self, draft: WriteResult, link: str) -> WriteResult:
        return WriteResult(record_id=draft.record_id, number=draft.number, final=True)

    async def create_return_order(self, order: ReturnOrderRequest) -> WriteResult:
        return self._make("RO-1")

    async def create_receipt(self, receipt: ReceiptRequest) -> WriteResult:
        return self._make("RCPT-1")

    def reverse_hint(self, action: str, number: str | None) -> str:
        return f"undo {number} by hand"

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

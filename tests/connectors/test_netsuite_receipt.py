"""A missing item receipt re-queued to NetSuite (docs/shopify-netsuite-mapping.md, "Writes"):
the return authorization transformed into an item receipt (§5.2) that receives only what
the platform received and restocks only what it put back on sale, sent only where the
receipt's lines cannot be numbered two ways, made once, read back after."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from decimal import Decimal

import pytest

from returns_console.connectors.errors import (
    AmbiguousResultError,
    NotSentError,
    RefusedError,
)
from returns_console.connectors.http import RetryPolicy
from returns_console.domain.actions import plan_requeue_receipt
from returns_console.domain.codes import Code, Stage, StageStatus
from returns_console.domain.postings import ReceiptRequest, RecordRef
from returns_console.exact_json import exact_json
from returns_console.services.demo import demo_mappings
from tests.connectors.test_netsuite_writer import _run, _writer
from tests.contracts import kit

ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


def _inspected_without_receipt(box):
    """The cases NetSuite has not received and the platform has received and inspected."""
    profile = box.profile(kit.IN_PROCESS)
    data, report = kit.check(box, profile, transport=kit.in_process(box))
    refs = {f.return_ref for f in report.findings if f.code is Code.RECEIPT_NOT_POSTED}
    cases = [c for c in report.cases if c.return_ref in refs
             and (c.platform.stages.get(Stage.INSPECTED) or _NONE).status
             is StageStatus.DONE]
    return data, cases


class _NONE:
    status = None


@pytest.fixture(scope="module")
def planned() -> tuple[int, ReceiptRequest]:
    """The smallest scenario with a receipt to re-queue, and the receipt as planned (read
    once: the same scenario is built again, fresh, for each test)."""
    for size in kit.SIZES:
        found = kit.sandbox("shopify", "netsuite", returns=size)
        data, cases = _inspected_without_receipt(found)
        if cases:
            plan = plan_requeue_receipt(cases[0], demo_mappings(found), data.erp.master)
            assert plan.allowed and plan.receipt is not None, plan.refusal
            return size, plan.receipt
    pytest.fail("no shopify × netsuite scenario plants a receipt to re-queue")


@pytest.fixture
def box(planned):
    return kit.sandbox("shopify", "netsuite", returns=planned[0])


@pytest.fixture
def receipt(planned) -> ReceiptRequest:
    return planned[1]


def _ra_lines(box, ra_id: str) -> list[dict]:
    return [ln for ln in box.erp.account.engine.rows("transactionline", transaction=int(ra_id))
            if ln.get("mainline") != "T"]


def test_the_plan_receives_what_the_platform_received_as_it_decided(box, receipt) -> None:
    assert receipt.lines and all(ln.quantity > 0 for ln in receipt.lines)
    # the sandbox's platform inspected these units and did not put them back on sale
    assert all(ln.restocked == 0 for ln in receipt.lines)


def test_a_receipt_is_transformed_from_the_ra_once_and_found_after(box, receipt) -> None:
    writer = _writer(box)
    sent = writer.describe_create_receipt(receipt)
    ra = RecordRef.parse(receipt.source.raw_ref)
    assert sent["path"] == (f"/services/rest/record/v1/returnAuthorization/{ra.id}"
                            "/!transform/itemReceipt")
    box.erp.clear_writes()
    made = _run(box, lambda w: w.create_receipt(receipt))
    assert made.final and made.number and made.number.startswith("IR")
    writes = json.loads(box.erp.writes_json())
    assert [(w["method"], w["path"], w["status"]) for w in writes] == [
        ("POST", sent["path"], 204)]
    assert writes[0]["headers"]["x-netsuite-propertynamevalidation"] == "error"
    body = writes[0]["body"]
    assert exact_json(body) == exact_json(sent["body"]), "the preview is not what was sent"
    # no link field: an item receipt has no PO/Check No. in the docs (it is found by its RA)
    assert body["externalId"].startswith("rr-") and "otherRefNum" not in body
    lines = _ra_lines(box, ra.id)
    # every line of the RA named by its number: what the platform received, Restock as
    # it decided; none left for NetSuite to fill in
    assert sorted(ln["line"] for ln in body["item"]["items"]) == list(
        range(1, len(lines) + 1))
    assert all(ln["itemReceive"] is True and ln["restock"] is False
               for ln in body["item"]["items"])
    wanted = {ln.item_no: ln.quantity for ln in receipt.lines}
    got = {ln["item"]: Decimal(ln["quantityshiprecv"]) for ln in lines}
    items = {row["id"]: row["itemid"] for row in box.erp.account.engine.rows("item")}
    assert {items[k]: v for k, v in got.items()} == wanted
    assert not any(box.erp.account.restocked.values())
    found = _run(box, lambda w: w.receipts_for(receipt.link))
    assert [f.number for f in found] == [made.number]
    again = _run(box, lambda w: w.create_receipt(receipt))  # a second console: found
    assert again.record_id == made.record_id
    assert len(json.loads(box.erp.writes_json())) == 1


def test_a_lost_answer_to_the_transform_is_looked_up_not_sent_again(box, receipt) -> None:
    box.erp.clear_writes()
    box.erp.fail_writes(1, status=503, after=True)
    made = _run(box, lambda w: w.create_receipt(receipt))
    assert made.number and made.number.startswith("IR")
    assert [w["status"] for w in json.loads(box.erp.writes_json())] == [503]


def test_a_server_error_before_the_transform_makes_nothing(box, receipt) -> None:
    from returns_console.connectors.errors import ServerError

    box.erp.fail_writes(1, status=503)
    with pytest.raises(ServerError):
        _run(box, lambda w: w.create_receipt(receipt))
    assert _run(box, lambda w: w.receipts_for(receipt.link)) == []


def test_an_ra_whose_lines_could_be_numbered_two_ways_is_not_sent(box, receipt) -> None:
    """A line received or closed already: the receipt's lines would then not be the RA's
    in order, and which a number names is not documented (§5.2)."""
    ra = RecordRef.parse(receipt.source.raw_ref)
    box.erp.account.engine.update("transactionline", {"transaction": int(ra.id), "id": 1},
                                  {"isclosed": "T"})
    box.erp.clear_writes()
    with pytest.raises(NotSentError, match=r"received or closed already.*nothing sent"):
        _run(box, lambda w: w.create_receipt(receipt))
    assert json.loads(box.erp.writes_json()) == []


def test_more_than_the_ra_authorises_is_not_received(box, receipt) -> None:
    first = receipt.lines[0]
    more = replace(receipt, lines=(replace(first, quantity=first.quantity + 5),
                                   *receipt.lines[1:]))
    with pytest.raises(ValueError, match="authorises"):
        _writer(box).describe_create_receipt(more)


def test_ra_lines_changed_since_the_read_are_a_conflict_and_nothing_is_sent(
        box, receipt) -> None:
    """The preview names the RA's lines as the check read them; NetSuite is sent exactly
    that, or nothing (a line added there meanwhile)."""
    from returns_console.connectors.errors import ConflictError

    ra = RecordRef.parse(receipt.source.raw_ref)
    lines = _ra_lines(box, ra.id)
    other = next(row["id"] for row in box.erp.account.engine.rows("item")
                 if row["itemtype"] == "InvtPart" and row["id"] not in
                 {ln["item"] for ln in lines})
    box.erp.account.engine.insert("transactionline", {
        **lines[-1], "item": other, "id": len(lines) + 1,
        "linesequencenumber": len(lines) + 1, "uniquekey": int(ra.id) * 1000 + len(lines) + 1})
    box.erp.clear_writes()
    with pytest.raises(ConflictError, match="changed in NetSuite since they were read"):
        _run(box, lambda w: w.create_receipt(receipt))
    assert json.loads(box.erp.writes_json()) == []


def test_a_line_whose_units_went_two_ways_is_received_in_netsuite(box, receipt) -> None:
    """One Restock box a line: some units back on sale and some not cannot be one line."""
    first = receipt.lines[0]
    if first.quantity < 2:
        first = replace(first, quantity=Decimal(2))
    split = replace(receipt, lines=(replace(first, restocked=Decimal(1)),))
    with pytest.raises(ValueError, match=r"one\s+Restock box"):
        _writer(box).describe_create_receipt(split)


def test_a_wrong_field_name_fails_and_receives_nothing(box, receipt) -> None:
    """The Receive box's REST name is not in Oracle's pages (U13): a wrong one is refused by
    NetSuite (property validation), never ignored into a receipt of every line."""
    writer = _writer(box)
    writer.connector.settings.receipt_fields = ("receive", "restock")

    async def go():
        try:
            return await writer.create_receipt(receipt)
        finally:
            await writer.aclose()

    with pytest.raises(RefusedError):
        asyncio.run(go())
    assert _run(box, lambda w: w.receipts_for(receipt.link)) == []


def test_a_receipt_that_differs_from_the_plan_is_said_not_hidden(box, receipt,
                                                                 monkeypatch) -> None:
    """If NetSuite received otherwise than asked (a reading of the docs that is not its
    own), the receipt is made and the difference said: never re-queued, never "done"."""
    from returns_console.systems.netsuite import simulator

    original = simulator.NetSuiteSimulator._item_receipt

    def one_more(self, ra, taken, values):
        taken[0]["quantity"] += 1
        return original(self, ra, taken, values)

    monkeypatch.setattr(simulator.NetSuiteSimulator, "_item_receipt", one_more)
    with pytest.raises(AmbiguousResultError, match="correct or delete it in NetSuite"):
        _run(box, lambda w: w.create_receipt(receipt))


def test_lines_in_another_order_on_the_form_than_by_number_are_not_sent(box, receipt) -> None:
    """A line inserted on the form later keeps its id but not its place: the receipt is
    pre-filled in form order, so a number could name another line (review finding)."""
    ra = RecordRef.parse(receipt.source.raw_ref)
    lines = _ra_lines(box, ra.id)
    if len(lines) < 2:
        pytest.skip("the planted RA has one line")
    engine = box.erp.account.engine
    first, second = lines[0], lines[1]
    engine.update("transactionline", {"transaction": int(ra.id), "id": first["id"]},
                  {"linesequencenumber": second["linesequencenumber"]})
    engine.update("transactionline", {"transaction": int(ra.id), "id": second["id"]},
                  {"linesequencenumber": first["linesequencenumber"]})
    box.erp.clear_writes()
    with pytest.raises(NotSentError, match="another order on its form"):
        _run(box, lambda w: w.create_receipt(receipt))
    assert json.loads(box.erp.writes_json()) == []


def test_a_receipt_made_by_hand_meanwhile_is_not_taken_for_the_consoles(box, receipt) -> None:
    """Found from the RA but without the re-queue's external id: someone received it in
    NetSuite; it is not this write's result (nor read back as one)."""
    ra = RecordRef.parse(receipt.source.raw_ref)
    account = box.erp.account
    row = account.engine.rows("transaction", id=int(ra.id))[0]
    account.document("ItemRcpt", account.clock, status="A", entity=row.get("entity"),
                     lines=[{"item": ln["item"], "quantity": "1"}
                            for ln in _ra_lines(box, ra.id)[:1]], created_from=int(ra.id))
    box.erp.clear_writes()
    with pytest.raises(NotSentError, match="not made by a re-queue"):
        _run(box, lambda w: w.create_receipt(receipt))
    assert json.loads(box.erp.writes_json()) == []


def test_goods_received_elsewhere_than_the_platform_put_them_are_not_sent(box, receipt) -> None:
    """The receipt takes the RA line's location: where the platform put the goods
    elsewhere, NetSuite's stock would rise in the wrong place (review finding)."""
    item = receipt.lines[0].item_no
    there = replace(receipt, lines=(replace(receipt.lines[0], location="LEEDS"),
                                    *receipt.lines[1:]))
    ra = RecordRef.parse(receipt.source.raw_ref)
    engine = box.erp.account.engine
    where = box.erp.account.master("location", "MAIN-WH", name="MAIN-WH", fullname="MAIN-WH",
                                   isinactive="F")
    items = {row["itemid"]: row["id"] for row in engine.rows("item")}
    for ln in _ra_lines(box, ra.id):
        if ln["item"] == items[item]:
            engine.update("transactionline", {"transaction": int(ra.id), "id": ln["id"]},
                          {"location": where})
    with pytest.raises(NotSentError, match="MAIN-WH, the platform put it at LEEDS"):
        _run(box, lambda w: w.create_receipt(there))


def test_a_quantity_a_json_number_cannot_carry_exactly_is_not_sent(box, receipt) -> None:
    third = replace(receipt, lines=(replace(receipt.lines[0],
                                            quantity=Decimal(1) / Decimal(3),
                                            restocked=Decimal(0)),))
    with pytest.raises(ValueError, match="cannot be sent exactly"):
        _writer(box).describe_create_receipt(third)

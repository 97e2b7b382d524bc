"""NetSuite's incremental refresh: the documents and customers modified since the cursor
(`lastmodifieddate`, §3.4), laid over the last read, give what a full read of the same
moment gives; a document NetSuite no longer counts (deleted: it leaves no row, §3.4) is
caught by the window's tally and everything is read again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from returns_console.connectors.base import ErpBatch, ReadAgain
from returns_console.connectors.http import CallLog
from returns_console.services.connections import open_erp
from returns_console.systems.netsuite.connector import NetSuiteConnector
from returns_console.systems.netsuite.simulator import stamp
from tests.contracts import kit


def connector(box, log: CallLog | None = None) -> NetSuiteConnector:
    return open_erp(box.profile(kit.IN_PROCESS), box.secret, log or CallLog(),
                    kit.in_process(box))


def read(box, since: datetime | None = None, log: CallLog | None = None) -> ErpBatch:
    async def go() -> ErpBatch:
        erp = connector(box, log)
        try:
            return await erp.fetch_records(updated_since=since)
        finally:
            await erp.aclose()
    return asyncio.run(go())


def merged(box, earlier: ErpBatch, log: CallLog | None = None) -> ErpBatch:
    since = datetime.fromisoformat(earlier.cursor) - timedelta(minutes=2)
    changed = read(box, since, log)
    return connector(box).merge(earlier, changed)


def same(a: ErpBatch, b: ErpBatch) -> None:
    assert a.views == b.views
    assert a.master == b.master
    assert a.problems == b.problems
    assert set(a.raw) == set(b.raw)


@pytest.fixture
def box():
    return kit.sandbox("shopify", "netsuite")


def later(box, minutes: int = 10) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


def test_a_refresh_reads_only_what_changed_and_equals_a_full_read(box) -> None:
    account = box.erp.account
    first = read(box)
    assert first.cursor and first.tally is None
    # nothing changed: the documents query answers nothing, and the merge is the read
    log = CallLog()
    quiet = merged(box, first, log)
    same(quiet, read(box))
    # a return authorization edited, a customer's email changed, a period closed
    exchanged = {r["otherrefnum"] for r in account.engine.rows("transaction", type="SalesOrd")}
    ra = next(r for r in account.engine.rows("transaction", type="RtnAuth")
              if r["otherrefnum"] not in exchanged)
    account.engine.update("transaction", {"id": ra["id"]}, {
        "otherrefnum": "R-EDITED-1", "lastmodifieddate": stamp(later(box))})
    customer = account.engine.rows("customer")[0]
    account.engine.update("customer", {"id": customer["id"]}, {
        "email": "moved@example.com", "lastmodifieddate": stamp(later(box))})
    period = next(p for p in account.engine.rows("accountingperiod")
                  if p["closed"] == "F" and p["isyear"] == "F" and p["isquarter"] == "F")
    account.engine.update("accountingperiod", {"id": period["id"]}, {"closed": "T"})
    log = CallLog()
    refreshed = merged(box, quiet, log)
    full = read(box)
    same(refreshed, full)
    assert "R-EDITED-1" in refreshed.views
    assert refreshed.cursor >= quiet.cursor
    documents_read = [c for c in log if c.method == "POST"]
    assert len(documents_read) <= 9  # token, seven small queries, the tally: no paging


def test_a_deleted_document_makes_the_merge_read_everything_again(box) -> None:
    account = box.erp.account
    first = read(box)
    credit = next(r for r in account.engine.rows("transaction") if r["type"] == "CustCred")
    account.engine.delete("transactionline", {"transaction": credit["id"]})
    account.engine.delete("transaction", {"id": credit["id"]})
    with pytest.raises(ReadAgain):
        merged(box, first)


def test_a_document_that_stops_being_a_returns_is_not_kept(box) -> None:
    """A replacement order whose return authorization's link changed is no return's any
    more: NetSuite does not count it, the merge holds it, so everything is read again."""
    account = box.erp.account
    first = read(box)
    order = next(raw for ref, raw in first.raw.items() if ":salesOrder:" in ref)
    assert order["link"]
    ra = next(r for r in account.engine.rows("transaction", type="RtnAuth")
              if r["otherrefnum"] == order["link"])
    account.engine.update("transaction", {"id": ra["id"]}, {
        "otherrefnum": "R-EDITED-2", "lastmodifieddate": stamp(later(box))})
    with pytest.raises(ReadAgain):
        merged(box, first)


def test_a_document_made_since_is_added_and_counted(box) -> None:
    """A new document (a credit memo transformed from an RA) is read by its stamp, and
    the tally then counts what the merge holds."""
    account = box.erp.account
    first = read(box)
    ra = next(r for r in account.engine.rows("transaction") if r["type"] == "RtnAuth")
    lines = account.engine.rows("transactionline", transaction=ra["id"])
    new_id = account.new_id("transaction")
    account.engine.insert("transaction", {
        **{k: v for k, v in ra.items() if not k.endswith("__df")}, "id": new_id,
        "type": "CustCred", "tranid": f"CM{new_id}", "status": "A",
        "lastmodifieddate": stamp(later(box))})
    for line in lines:
        account.engine.insert("transactionline", {
            **{k: v for k, v in line.items() if not k.endswith("__df")},
            "transaction": new_id, "createdfrom": ra["id"]})
    refreshed = merged(box, first)
    same(refreshed, read(box))
    assert any(ref.endswith(f":{new_id}") for ref in refreshed.raw)


def test_a_line_saved_alone_is_read_with_its_whole_document(box) -> None:
    """§3.4: lines carry their own `linelastmodifieddate`: a line changed without its
    document's stamp moving is read again, with the rest of its document."""
    account = box.erp.account
    first = read(box)
    receipt = next(r for r in account.engine.rows("transaction") if r["type"] == "ItemRcpt")
    line = account.engine.rows("transactionline", transaction=receipt["id"])[-1]
    account.engine.update("transactionline", {"transaction": receipt["id"], "id": line["id"]},
                          {"quantity": "7", "linelastmodifieddate": stamp(later(box))})
    refreshed = merged(box, first)
    same(refreshed, read(box))
    key = next(k for k in refreshed.raw if k.endswith(f":{receipt['id']}"))
    assert refreshed.raw[key] != first.raw[key]


def test_an_item_renamed_makes_the_merge_read_everything_again(box) -> None:
    """A document names its item through a join and keeps its stamp when the item is
    renamed: held documents would name an item NetSuite no longer has."""
    account = box.erp.account
    first = read(box)
    named = {line["item"] for raw in first.raw.values() if isinstance(raw, dict)
             for line in raw.get("lines") or () if line.get("item")}
    item = next(i for i in account.engine.rows("item") if i["itemid"] in named)
    account.engine.update("item", {"id": item["id"]}, {"itemid": f"{item['itemid']}-NEW"})
    with pytest.raises(ReadAgain):
        merged(box, first)

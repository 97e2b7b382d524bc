"""F&O's records in the record index (systems/d365_fo/keyed.py), against what F&O's own
merge makes of a refresh: every link key whose view or problems the refresh changes is
among the keys the index says it touched, and the views the index assembles for those keys
are the merged batch's; where the merge reads everything again, so does the index. Days
passing (a full read's window moving on past return orders and credit notes) are played by
a refresh with a shorter `history_days`."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic_core import from_json, to_json

from returns_console.connectors.base import ErpBatch, ReadAgain
from returns_console.connectors.http import CallLog
from returns_console.domain.pairing import link_of
from returns_console.services.connections import open_erp
from returns_console.store.records import RecordIndex
from returns_console.systems.d365_fo.connector import EXACT, FoConnector, _numbers_as_sent
from returns_console.systems.d365_fo.keyed import _same
from tests.contracts import kit
from tests.integration.test_fo_keyed_check import WHOLE, _change


def _read(box, since: datetime | None = None, history_days: int | None = None) -> ErpBatch:
    async def go():
        connector = open_erp(box.profile(kit.IN_PROCESS), box.secret, CallLog(),
                             kit.in_process(box))
        assert isinstance(connector, FoConnector)
        if history_days is not None:
            connector.settings.history_days = history_days
        try:
            return await connector.fetch_records(updated_since=since)
        finally:
            await connector.aclose()
    return asyncio.run(go())


def _connector(box) -> FoConnector:
    connector = open_erp(box.profile(kit.IN_PROCESS), box.secret, CallLog(),
                         kit.in_process(box))
    assert isinstance(connector, FoConnector)
    return connector


def _deadlines_past(box, rnd: random.Random) -> None:
    """Some closed return orders' deadlines long past (the sandbox's are all to come), for
    a shorter window to pass them."""
    today = datetime.now(UTC)
    for header in box.erp.env.sets["ReturnOrderHeadersV2"]:
        if header["ReturnStatus"] == "Closed" and rnd.random() < 0.4:
            header["ReturnDeadline"] = (today - timedelta(days=rnd.randint(10, 300))
                                        ).strftime("%Y-%m-%dT12:00:00Z")


def _world(seed: int) -> tuple:
    """80 returns of Swap and F&O, some closed return orders' deadlines long past, a random
    source of changes, and the connector."""
    box = kit.sandbox("swap", "d365_fo", returns=80, seed=seed)
    rnd = random.Random(seed)
    _deadlines_past(box, rnd)
    return box, rnd, _connector(box)


def _by_key(mapping: dict) -> dict:
    return {link_of(key): value for key, value in mapping.items()}


@pytest.mark.parametrize("seed", range(6))
def test_the_keys_touched_cover_every_view_a_refresh_changes(seed: int) -> None:
    box, rnd, connector = _world(seed)
    days = connector.settings.history_days
    earlier = _read(box)
    index = RecordIndex(sqlite3.connect(":memory:"))
    index.replace_side("p", "erp", earlier.raw, connector.record_tags, writer="w", tagger="t")
    answered = 0
    for _ in range(5):
        today = datetime.now(UTC)
        kinds = {_change(box.erp.env, rnd, today) for _ in range(rnd.randint(1, 3))}
        # days pass: the window moves on past some return orders and credit notes
        days = max(1, days - rnd.choice([0, 0, 30, 120]))
        changed = _read(box, since=earlier.fetched_at - timedelta(minutes=2),
                        history_days=days)
        stored = index.side("p", "erp", list(earlier.notices))
        touch = connector.keyed_touch(stored, changed)
        try:
            merged = connector.merge(earlier, changed)
        except ReadAgain:
            assert touch is None, kinds
            earlier = _read(box, history_days=days)
            index.replace_side("p", "erp", earlier.raw, connector.record_tags, writer="w",
                               tagger="t")
            continue
        if touch is None:
            assert kinds & WHOLE, kinds
        else:
            answered += 1
            keys = {link_of(key) for key in touch.keys}
            before_v, after_v = _by_key(earlier.views), _by_key(merged.views)
            before_p, after_p = _by_key(earlier.problems), _by_key(merged.problems)
            for key in {*before_v, *after_v, *before_p, *after_p} - keys:
                assert before_v.get(key) == after_v.get(key), (key, kinds)
                assert before_p.get(key) == after_p.get(key), (key, kinds)
            index.apply("p", "erp", touch.upserts, touch.deletes, connector.record_tags)
            # and keys whose clock ran out (the index's `due`): link keys only, untouched
            keys |= set(rnd.sample(sorted(after_v), min(5, len(after_v))))
            got = connector.keyed_views(index.side("p", "erp", list(earlier.notices)), keys,
                                        merged.master)
            assert got is not None
            views, problems = got
            assert _by_key(views) == {k: v for k, v in after_v.items() if k in keys}, kinds
            assert _by_key(problems) == {k: v for k, v in after_p.items() if k in keys}
        earlier = _read(box, history_days=days)  # the index and the last read: alike again
        index.replace_side("p", "erp", earlier.raw, connector.record_tags, writer="w",
                           tagger="t")
    assert answered >= 1


def test_a_return_order_out_of_the_window_leaves_its_credit_note_to_its_own_reference(
        ) -> None:
    """A credit note typed with another Customer reference than its return order's goes
    with the return order while it is read, and under its own reference once the window
    has moved past the return order: both keys are touched."""
    box = kit.sandbox("swap", "d365_fo", returns=60, seed=2)
    connector = _connector(box)
    sets = box.erp.env.sets
    today = datetime.now(UTC)
    closed = [h for h in sets["ReturnOrderHeadersV2"] if h["ReturnStatus"] == "Closed"
              and h["CustomersOrderReference"]]
    oldest = closed[0]
    # its deadline long past (the sandbox's are all to come): in a year's window, not in
    # one of 100 days
    oldest["ReturnDeadline"] = (today - timedelta(days=200)).strftime("%Y-%m-%dT12:00:00Z")
    box.erp.env.add("SalesInvoiceHeadersV2", {
        "InvoiceNumber": "CI-OWN-1", "InvoiceDate": today.strftime("%Y-%m-%dT00:00:00Z"),
        "LedgerVoucher": "V-OWN", "SalesOrderNumber": oldest["ReturnOrderNumber"],
        "CustomersOrderReference": "WEB-TYPED-1",
        "InvoiceCustomerAccountNumber": oldest["CustomerAccountNumber"],
        "CurrencyCode": "GBP", "TotalInvoiceAmount": -10.0, "TotalTaxAmount": -1.0,
        "TotalChargeAmount": 0.0, "TotalDiscountAmount": 0.0})
    earlier = _read(box)
    assert "web-typed-1" not in _by_key(earlier.views)
    index = RecordIndex(sqlite3.connect(":memory:"))
    index.replace_side("p", "erp", earlier.raw, connector.record_tags, writer="w", tagger="t")
    changed = _read(box, since=earlier.fetched_at - timedelta(minutes=2), history_days=100)
    merged = connector.merge(earlier, changed)
    assert "web-typed-1" in _by_key(merged.views)
    touch = connector.keyed_touch(index.side("p", "erp", list(earlier.notices)), changed)
    assert touch is not None
    assert {"web-typed-1", link_of(oldest["CustomersOrderReference"])} <= touch.keys
    assert f"d365_fo:headers:{oldest['ReturnOrderNumber']}" in touch.deletes


@pytest.mark.parametrize("seed", range(4))
def test_a_refresh_in_memory_assembles_what_assembling_everything_gives(seed: int) -> None:
    """The console keeps its last read with its views: a refresh laid over it assembles
    only the keys it touched (`_merge_touched`, the index's logic over the batch in
    memory), refresh after refresh, and gives what assembling the merged records whole
    gives."""
    box, rnd, connector = _world(seed)
    days = connector.settings.history_days
    held = _read(box)
    quick = 0
    for _ in range(6):
        kinds = {_change(box.erp.env, rnd, datetime.now(UTC))
                 for _ in range(rnd.randint(0, 3))}
        days = max(1, days - rnd.choice([0, 0, 0, 30, 120]))
        changed = _read(box, since=held.fetched_at - timedelta(minutes=2),
                        history_days=days)
        try:
            got = connector.merge(held, changed)
        except ReadAgain:
            held = _read(box, history_days=days)
            continue
        whole = connector.from_raw(ErpBatch(raw=got.raw, fetched_at=changed.fetched_at,
                                            cursor=changed.cursor,
                                            notices=list(changed.notices)))
        assert got.views == whole.views, kinds
        assert got.problems == whole.problems, kinds
        assert got.master == whole.master, kinds
        assert got.notices == whole.notices, kinds
        assert list(got.raw) == list(whole.raw)
        if got.memo is not None:
            quick += 1
        else:
            assert kinds & WHOLE or not held.views, kinds
        held = got  # the next refresh lays itself over this one (and its filing)
    assert quick >= 2


def _whole(connector: FoConnector, earlier: ErpBatch, changed: ErpBatch) -> ErpBatch:
    """`merge` as it was before it kept anything in memory: every record assembled."""
    return connector.from_raw(ErpBatch(raw=connector._merged_raw(earlier, changed),
                                       fetched_at=changed.fetched_at, cursor=changed.cursor,
                                       notices=list(changed.notices)))


def test_a_disposition_code_put_right_takes_its_notice_away() -> None:
    """A line's unknown disposition code is told among the notices (the console shows
    them by the source): once put right, a refresh in memory tells it no more (review
    finding: it kept the last read's notices)."""
    box = kit.sandbox("swap", "d365_fo", returns=40, seed=1)
    env = box.erp.env
    header = next(h for h in env.sets["ReturnOrderHeadersV2"] if h["ReturnStatus"] == "Open")
    line = next(ln for ln in env.sets["ReturnOrderLinesV2"]
                if ln["ReturnOrderNumber"] == header["ReturnOrderNumber"])
    line["ReturnDispositionCode"] = "NO-SUCH-CODE"
    connector = _connector(box)
    held = _read(box)
    assert any("NO-SUCH-CODE" in n for n in held.notices)
    line["ReturnDispositionCode"] = env.sets["ReturnDispositionCodes"][0]["DispositionCode"]
    changed = _read(box, since=held.fetched_at - timedelta(minutes=2))
    got = connector.merge(held, changed)
    want = _whole(connector, held, changed)
    assert not any("NO-SUCH-CODE" in n for n in got.notices)
    assert (got.views, got.problems, got.notices) == (want.views, want.problems, want.notices)


def test_a_field_sent_again_as_another_json_type_is_a_change() -> None:
    """`0` held, `false` read again: equal in Python, not in JSON (nor to validation):
    the record is assembled again, as the index's byte comparison would have it."""
    box = kit.sandbox("swap", "d365_fo", returns=40, seed=1)
    connector = _connector(box)
    held = _read(box)
    changed = _read(box, since=held.fetched_at - timedelta(minutes=2))
    ref = next(r for r, rec in changed.raw.items() if ":lines:" in r
               and rec.get("ReturnedSalesQuantity") == 0 and r in held.raw)
    changed.raw[ref] = dict(changed.raw[ref], ReturnedSalesQuantity=False)
    got = connector.merge(held, changed)
    assert got.memo is not None
    assert got.problems == _whole(connector, held, changed).problems
    assert got.problems  # a quantity that is no number


def test_an_amount_no_float_holds_is_the_same_as_text_once_stored() -> None:
    """A 22-digit amount is a Decimal as read and text as the index gives it back: the
    same record, not a change to check again on every refresh."""
    box = kit.sandbox("swap", "d365_fo", returns=20, seed=1)
    invoice = box.erp.env.sets["SalesInvoiceHeadersV2"][0]
    invoice["TotalInvoiceAmount"] = Decimal("-131.9999999999999999999")
    held = _read(box)
    ref, record = next((r, rec) for r, rec in held.raw.items()
                       if rec.get("InvoiceNumber") == invoice["InvoiceNumber"])
    assert record["TotalInvoiceAmount"] == invoice["TotalInvoiceAmount"]
    assert record[EXACT] == ["TotalInvoiceAmount"]
    stored = from_json(to_json(record))
    assert stored["TotalInvoiceAmount"] == "-131.9999999999999999999"
    assert _same(stored, record) and _same(record, stored)
    assert not _same(stored, dict(record, TotalInvoiceAmount=Decimal("-132")))
    batch = _connector(box).from_raw(ErpBatch(raw={**held.raw, ref: stored},
                                              fetched_at=held.fetched_at))
    assert batch.problems == held.problems


def test_a_text_amount_f_and_o_sends_is_malformed_whatever_it_claims() -> None:
    """Only the connector names a field under its annotation: one in F&O's answer is
    dropped, and an amount sent as text stays a malformed record."""
    box = kit.sandbox("swap", "d365_fo", returns=20, seed=1)
    invoice = dict(box.erp.env.sets["SalesInvoiceHeadersV2"][0],
                   TotalInvoiceAmount="-131.99", **{EXACT: ["TotalInvoiceAmount"]})
    record = _numbers_as_sent(dict(invoice))
    assert EXACT not in record
    batch = _connector(box).assemble({"invoices": [record]}, None)
    assert [p.error for found in batch.problems.values() for p in found] == [
        "TotalInvoiceAmount: Value error, an amount is a JSON number"]

"""F&O's refresh without change stamps (docs/d365fo-mapping.md, "Refresh"; U19
`open_plus_recent`): the return orders still open, the lines still open or closed since, the
credit notes dated since and the orders of those lines read by number, laid over the last
read, give exactly what a full read gives; anything it cannot bring up to date is read whole
(ReadAgain), never shown stale."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import pytest

from returns_console.connectors.base import ReadAgain
from returns_console.connectors.http import CallLog
from returns_console.services.connections import open_erp
from returns_console.systems.d365_fo.connector import FoConnector
from tests.contracts import kit
from tests.turns import Turns

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def box():
    return kit.sandbox("swap", "d365_fo", returns=60)


def _connector(box, log: CallLog | None = None) -> FoConnector:
    profile = box.profile(kit.IN_PROCESS)
    connector = open_erp(profile, box.secret, log if log is not None else CallLog(),
                         kit.in_process(box))
    assert isinstance(connector, FoConnector)
    return connector


def _read(box, since: datetime | None = None, log: CallLog | None = None):
    async def go():
        connector = _connector(box, log)
        try:
            return await connector.fetch_records(updated_since=since)
        finally:
            await connector.aclose()
    return asyncio.run(go())


def _merge(box, earlier, changed):
    return _connector(box).merge(earlier, changed)


def _sets(box):
    return box.erp.env.sets


def _open_header(box, *, with_arrival: bool = False) -> dict:
    """A return order still open whose lines await their goods."""
    sets = _sets(box)
    for header in sets["ReturnOrderHeadersV2"]:
        if header["ReturnStatus"] not in ("Created", "Open"):
            continue
        lines = [ln for ln in sets["ReturnOrderLinesV2"]
                 if ln["ReturnOrderNumber"] == header["ReturnOrderNumber"]]
        if lines and all(ln["ReturnStatus"] == "Awaiting" for ln in lines):
            return header
    pytest.fail("no open return order awaiting goods in the scenario")


def _lines_of(box, header: dict) -> list[dict]:
    return [ln for ln in _sets(box)["ReturnOrderLinesV2"]
            if ln["ReturnOrderNumber"] == header["ReturnOrderNumber"]]


def test_a_refresh_laid_over_the_last_read_is_what_a_full_read_gives(box) -> None:
    held = _read(box)
    assert held.cursor is not None
    # what happens in F&O meanwhile: goods arrive on one return order, another is closed
    # (its lines invoiced, closed today, a credit note posted), a third is cancelled with
    # closing dates, and a new one is created
    arrived = _open_header(box)
    for line in _lines_of(box, arrived):
        line["ReturnStatus"] = "Registered"
        line["ActualReturnArrivalDate"] = _stamp(TODAY)
    closed = next(h for h in _sets(box)["ReturnOrderHeadersV2"]
                  if h["ReturnStatus"] in ("Created", "Open") and h is not arrived)
    closed["ReturnStatus"] = "Closed"
    for line in _lines_of(box, closed):
        line["ReturnStatus"] = "Invoiced"
        line["ReturnClosedDate"] = _stamp(TODAY)
    env = box.erp.env
    env.add("SalesInvoiceHeadersV2", {
        "InvoiceNumber": "CI-INCR-1", "InvoiceDate": _stamp(TODAY), "LedgerVoucher": "V-1",
        "SalesOrderNumber": closed["ReturnOrderNumber"],
        "CustomersOrderReference": closed["CustomersOrderReference"],
        "InvoiceCustomerAccountNumber": closed["CustomerAccountNumber"],
        "CurrencyCode": "GBP", "TotalInvoiceAmount": -10.0, "TotalTaxAmount": -1.0,
        "TotalChargeAmount": 0.0, "TotalDiscountAmount": 0.0})
    new = dict(arrived, ReturnOrderNumber="RO-INCR-1", RMANumber="RMA-INCR-1",
               CustomersOrderReference="R-INCR-1", ReturnStatus="Open")
    new.pop("@odata.etag", None)
    env.add("ReturnOrderHeadersV2", {k: v for k, v in new.items() if k != "dataAreaId"})
    first = _lines_of(box, arrived)[0]
    env.add("ReturnOrderLinesV2", {
        **{k: v for k, v in first.items() if k not in ("dataAreaId", "@odata.etag")},
        "ReturnOrderNumber": "RO-INCR-1", "ReturnInventoryLotId": "INCR00001",
        "ReturnStatus": "Awaiting", "ActualReturnArrivalDate": "1900-01-01T00:00:00Z"})

    log = CallLog(size=10_000)
    changed = _read(box, since=held.fetched_at - timedelta(minutes=2), log=log)
    assert (changed.tally or {}).get("open_plus_recent")
    merged = _merge(box, held, changed)
    whole = _read(box)
    assert merged.views == whole.views
    assert merged.problems == whole.problems
    assert merged.master == whole.master
    # a refresh reads the open return orders and what closed, not the window's every one
    documents = [r for r in changed.raw if r.split(":")[1] in ("headers", "lines",
                                                                   "invoices")]
    assert len(documents) < len([r for r in whole.raw if r.split(":")[1] in (
        "headers", "lines", "invoices")])
    # the closed order, no longer open, was read again by number
    assert any("ReturnOrderNumber eq" in unquote_plus(c.url) for c in log)
    assert merged.cursor == changed.cursor and merged.full_at == held.full_at


def test_an_open_order_that_leaves_no_trace_is_read_whole_not_shown_stale(box) -> None:
    """Cancelled with no closing date on its lines (whether F&O dates a cancellation is
    not documented): the refresh cannot see it, so the merge asks for a full read."""
    held = _read(box)
    gone = _open_header(box)
    gone["ReturnStatus"] = "Canceled"
    for line in _lines_of(box, gone):
        line["ReturnStatus"] = "Canceled"
    changed = _read(box, since=held.fetched_at)
    with pytest.raises(ReadAgain, match="not read again"):
        _merge(box, held, changed)


def test_a_profile_that_reads_whole_reads_whole(box) -> None:
    connector = _connector(box)
    connector.settings.sync_mode = "full"

    async def go():
        try:
            return await connector.fetch_records(updated_since=TODAY)
        finally:
            await connector.aclose()

    batch = asyncio.run(go())
    assert not batch.tally and batch.views
    assert connector.merge(_read(box), batch) is batch


def test_a_read_kept_in_the_cache_assembles_again_as_it_was_read(box, tmp_path) -> None:
    """What a refresh lays itself over, and what a console shows when F&O is down: the
    cache keeps F&O's amounts as the JSON numbers they came as (a string would be taken
    for a malformed amount: a PAYLOAD_INVALID on every credit note)."""
    from returns_console.store.cache import Cache

    held = _read(box)
    cache = Cache(tmp_path / "cache.sqlite3")
    try:
        cache.save_erp("p", "d365_fo", held, views=False)
        kept = cache.load_erp("p")
    finally:
        cache.conn.close()
    assert kept is not None and not kept.views
    again = _connector(box).from_raw(kept)
    assert again.views == held.views and again.problems == held.problems
    assert not again.problems, "a cached amount was taken for a malformed one"


def test_credit_notes_dated_back_are_read_by_a_refresh(box) -> None:
    """A credit note posted today may be dated back (F&O lets the poster choose the date):
    a refresh reads `closed_lookback_days` of them whatever the last read, so a second
    credit for a return (a duplicate) is not missed (review finding)."""
    held = _read(box)
    credited = next(h for h in _sets(box)["ReturnOrderHeadersV2"]
                    if h["ReturnStatus"] == "Closed")
    box.erp.env.add("SalesInvoiceHeadersV2", {
        "InvoiceNumber": "CI-BACK-1", "InvoiceDate": _stamp(TODAY - timedelta(days=6)),
        "LedgerVoucher": "V-BACK-1", "SalesOrderNumber": "SO-OTHER-1",
        "CustomersOrderReference": credited["CustomersOrderReference"],
        "InvoiceCustomerAccountNumber": credited["CustomerAccountNumber"],
        "CurrencyCode": "GBP", "TotalInvoiceAmount": -12.5, "TotalTaxAmount": -2.08,
        "TotalChargeAmount": 0.0, "TotalDiscountAmount": 0.0})
    merged = _merge(box, held, _read(box, since=held.fetched_at))
    whole = _read(box)
    assert merged.views == whole.views
    assert "CI-BACK-1" in {n.number for v in merged.views.values() for n in v.credit_notes}


def test_what_a_refresh_gives_does_not_depend_on_the_order_records_come_in(box) -> None:
    """Two return orders under one reference, one open and one closed: the view is the
    same whether the open one was read first (a full read) or laid over (a refresh)."""
    sets = _sets(box)
    closed = next(h for h in sets["ReturnOrderHeadersV2"] if h["ReturnStatus"] == "Closed")
    still = _open_header(box)
    still["CustomersOrderReference"] = closed["CustomersOrderReference"]
    held = _read(box)
    merged = _merge(box, held, _read(box, since=held.fetched_at))
    assert merged.views == _read(box).views == held.views


def test_a_refresh_of_open_orders_needs_a_full_read_now_and_then() -> None:
    from pydantic import ValidationError

    from returns_console.systems.d365_fo.options import FoOptions

    base = {"tenant": "t", "client_id": "c", "company": "usmf"}
    FoOptions.model_validate({**base, "full_read_hours": 0, "return_sync_mode": "full"})
    with pytest.raises(ValidationError, match="full_read_hours above 0"):
        FoOptions.model_validate({**base, "full_read_hours": 0})


def test_a_full_read_lets_the_other_side_run_while_it_assembles(box, monkeypatch) -> None:
    """The platform is read on the same event loop: while F&O's documents are validated
    and its returns assembled (seconds at 10,000 returns, after every page is in), the
    other side's answers are taken in between (a turn every STEP records or link keys),
    not all after. Counted in turns of a coroutine beside the read, not in time."""
    from returns_console.systems.d365_fo import connector as fo_module
    from returns_console.systems.d365_fo.mapping import Assembler

    monkeypatch.setattr(fo_module, "STEP", 5, raising=False)
    turns = Turns()
    real_ref, real_view = FoConnector._raw_ref, Assembler.view

    def raw_ref(*args, **kwargs):
        turns.mark("records")
        return real_ref(*args, **kwargs)

    def view(self, group):
        turns.mark("views")
        return real_view(self, group)

    monkeypatch.setattr(FoConnector, "_raw_ref", staticmethod(raw_ref))
    monkeypatch.setattr(Assembler, "view", view)

    async def read():
        connector = _connector(box)
        try:
            return await turns.beside(connector.fetch_records())
        finally:
            await connector.aclose()

    batch = asyncio.run(read())
    assert len(batch.views) > 30
    for phase, at in turns.seen.items():
        # a turn every 5 records of each set (a set of fewer gives none) and every 5 views
        assert len(at) > 30 and turns.spread(phase) >= len(at) // 10, (phase, at)

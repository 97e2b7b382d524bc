"""`check` of Swap and Dynamics 365 F&O through the record index: F&O keeps no change stamp
on a return order (U19), so a refresh reads every open return order and line again, what
closed since and the credit notes dated since, and the index finds which of them changed.
What it prints must be what a full check of the same moment prints; where F&O's merge
would read everything again (an open return order gone without a trace, master data that
changed), the index gives way and everything is checked.

Over the sandbox on loopback, real connectors, the same service the CLI calls.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services import keyed_check
from returns_console.services.demo import demo_mappings
from returns_console.services.keyed_check import check_profile, keyed_refresh
from returns_console.store.cache import Cache

from .test_keyed_check import NOW, _full, _json, _platform_change

ERP = "d365_fo"
HEADERS, LINES, INVOICES = "ReturnOrderHeadersV2", "ReturnOrderLinesV2", "SalesInvoiceHeadersV2"
#: Changes after which F&O's merge reads everything again (so does the index).
WHOLE = {"master", "customer", "vanished"}


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT00:00:00Z")


def _lines_of(sets, header) -> list[dict]:
    return [ln for ln in sets[LINES] if ln["ReturnOrderNumber"] == header["ReturnOrderNumber"]]


def _open(sets, rnd: random.Random) -> dict | None:
    found = [h for h in sets[HEADERS] if h["ReturnStatus"] not in ("Closed", "Canceled")
             and _lines_of(sets, h)]
    return rnd.choice(found) if found else None


def _change(env, rnd: random.Random, today: datetime) -> str:
    """Something F&O's users do to a return, as F&O records it (no change stamp)."""
    sets = env.sets
    # mostly what a refresh brings up to date; now and then what only a full read can
    kind = rnd.choices(["arrive", "close", "cancel", "new", "credit", "relink", "dispose",
                        "master", "customer", "vanished", "none"],
                       weights=[3, 3, 2, 2, 3, 3, 2, 1, 1, 1, 1])[0]
    header = _open(sets, rnd)
    if kind == "arrive" and header:
        for line in _lines_of(sets, header):
            line["ReturnStatus"] = "Registered"
            line["ActualReturnArrivalDate"] = _day(today)
    elif kind == "close" and header:
        header["ReturnStatus"] = "Closed"
        for line in _lines_of(sets, header):
            line["ReturnStatus"] = "Invoiced"
            line["ReturnClosedDate"] = _day(today)
        env.add(INVOICES, {
            "InvoiceNumber": f"CI-K-{rnd.getrandbits(32)}", "InvoiceDate": _day(today),
            "LedgerVoucher": "V-K", "SalesOrderNumber": header["ReturnOrderNumber"],
            "CustomersOrderReference": header["CustomersOrderReference"],
            "InvoiceCustomerAccountNumber": header["CustomerAccountNumber"],
            "CurrencyCode": "GBP", "TotalInvoiceAmount": -10.0, "TotalTaxAmount": -1.0,
            "TotalChargeAmount": 0.0, "TotalDiscountAmount": 0.0})
    elif kind == "cancel" and header:  # with closing dates: a refresh sees it
        header["ReturnStatus"] = "Canceled"
        for line in _lines_of(sets, header):
            line["ReturnStatus"] = "Canceled"
            line["ReturnClosedDate"] = _day(today)
    elif kind == "vanished" and header:  # cancelled without a date: only a full read sees it
        header["ReturnStatus"] = "Canceled"
        for line in _lines_of(sets, header):
            line["ReturnStatus"] = "Canceled"
    elif kind == "new" and header:
        number = f"RO-K-{rnd.getrandbits(32)}"
        link = rnd.choice([h["CustomersOrderReference"] for h in sets[HEADERS]])
        new = {k: v for k, v in header.items() if k not in ("dataAreaId", "@odata.etag")}
        env.add(HEADERS, dict(new, ReturnOrderNumber=number, RMANumber=f"RMA-{number}",
                              CustomersOrderReference=link, ReturnStatus="Open"))
        first = _lines_of(sets, header)[0]
        env.add(LINES, {**{k: v for k, v in first.items() if k not in ("dataAreaId",
                                                                        "@odata.etag")},
                        "ReturnOrderNumber": number, "ReturnInventoryLotId": f"LOT{number}",
                        "ReturnStatus": "Awaiting",
                        "ActualReturnArrivalDate": "1900-01-01T00:00:00Z"})
    elif kind == "credit":
        # a credit note, dated back (a refresh reads a week back), of a closed return
        # order or one partly credited; its Customer reference as the order's, none, or
        # another (typed by hand)
        pool = [h for h in sets[HEADERS] if h["ReturnStatus"] == "Closed"]
        if header:
            pool.append(header)  # partly credited while still open
        if pool:
            done = rnd.choice(pool)
            env.add(INVOICES, {
                "InvoiceNumber": f"CI-B-{rnd.getrandbits(32)}",
                "InvoiceDate": _day(today - timedelta(days=rnd.randint(0, 5))),
                "LedgerVoucher": "V-B", "SalesOrderNumber": done["ReturnOrderNumber"],
                "CustomersOrderReference": rnd.choice([
                    done["CustomersOrderReference"], done["CustomersOrderReference"], "",
                    rnd.choice(sets[HEADERS])["CustomersOrderReference"]]),
                "InvoiceCustomerAccountNumber": done["CustomerAccountNumber"],
                "CurrencyCode": "GBP", "TotalInvoiceAmount": -12.5, "TotalTaxAmount": -2.08,
                "TotalChargeAmount": 0.0, "TotalDiscountAmount": 0.0})
    elif kind == "relink" and header:  # an open return order's reference corrected
        header["CustomersOrderReference"] = rnd.choice(
            [h["CustomersOrderReference"] for h in sets[HEADERS]] + [""])
    elif kind == "dispose" and header:
        codes = [d["DispositionCode"] for d in sets["ReturnDispositionCodes"]]
        for line in _lines_of(sets, header):
            line["ReturnStatus"] = "Registered"
            line["ReturnDispositionCode"] = rnd.choice(codes)
    elif kind == "master":
        item = rnd.choice(sets["ProductDefaultOrderSettings"])
        flags = [k for k, v in item.items() if v in ("Yes", "No")]
        if flags:
            flag = rnd.choice(flags)
            item[flag] = "No" if item[flag] == "Yes" else "Yes"
    elif kind == "customer":
        customer = rnd.choice(sets["CustomersV3"])
        customer["OnHoldStatus"] = "All" if customer.get("OnHoldStatus") != "All" else "No"
    else:
        return "none"
    return kind


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_refresh_through_the_index_prints_what_a_full_check_prints(
        tmp_path: Path, seed: int) -> None:
    sandbox = build_sandbox(NOW, returns=150, seed=seed, erp=ERP)
    rnd = random.Random(seed)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    used = 0
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        start = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=start, full=True)
        cache.wait()
        for round_ in range(8):
            today = datetime.now(UTC)
            kinds = {_change(sandbox.erp.env, rnd, today) for _ in range(rnd.randint(0, 3))}
            kinds |= {_platform_change(sandbox, rnd, today + timedelta(minutes=round_ + 1))
                      for _ in range(rnd.randint(0, 2))}
            moment = start + timedelta(hours=7 * (round_ + 1))
            keyed = keyed_refresh(profile, sandbox.secret, cache, mappings, now=moment)
            if keyed is None:  # what F&O's merge reads whole: everything checked (and indexed)
                assert kinds & WHOLE, kinds
                keyed = check_profile(profile, sandbox.secret, cache, mappings,
                                      now=moment, keyed=True)
            else:
                used += 1
            cache.wait()
            assert _json(keyed) == _full(profile, sandbox, mappings, tmp_path, moment), kinds
    cache.close()
    assert used >= 4  # the index answered most rounds


def test_a_refresh_checks_again_only_what_changed(tmp_path: Path, monkeypatch) -> None:
    """Goods arrived on one return order: its key assembled and checked, not every
    return, though the refresh read every open return order again."""
    sandbox = build_sandbox(NOW, returns=120, seed=5, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    checked: list[int] = []
    real = keyed_check._check

    def counting(cases, ctx, workers):
        checked.append(len(cases))
        return real(cases, ctx, workers)

    monkeypatch.setattr(keyed_check, "_check", counting)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        sets = sandbox.erp.env.sets
        header = next(h for h in sets[HEADERS] if h["ReturnStatus"] not in (
            "Closed", "Canceled") and h["CustomersOrderReference"] and _lines_of(sets, h))
        for line in _lines_of(sets, header):
            line["ReturnStatus"] = "Registered"
            line["ActualReturnArrivalDate"] = _day(now)
        later = now + timedelta(seconds=1)
        report = keyed_refresh(profile, sandbox.secret, cache, mappings, now=later)
        assert report is not None
        assert len(checked) == 1 and 1 <= checked[0] <= 3, checked
        want = _full(profile, sandbox, mappings, tmp_path, later)
    cache.close()
    assert _json(report) == want


@pytest.mark.parametrize("kind", ["vanished", "master", "customer"])
def test_what_a_merge_reads_whole_the_index_does_not_answer(tmp_path: Path,
                                                             kind: str) -> None:
    sandbox = build_sandbox(NOW, returns=60, seed=9, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        rnd = random.Random(3)
        while _change(sandbox.erp.env, rnd, now) != kind:
            pass
        assert keyed_refresh(profile, sandbox.secret, cache, mappings,
                             now=now + timedelta(seconds=1)) is None
    cache.close()


def _delivered_then_refreshed(profile, sandbox, cache, mappings, folder: Path,
                              now: datetime, records: list[dict]):
    """`records` delivered at Swap a minute on; a refresh through the index five minutes on,
    and what a full check of that moment prints."""
    for record in records:
        record["delivery_status"] = "Delivered"
        record["date_updated"] = (now + timedelta(minutes=1)).isoformat()
    later = now + timedelta(minutes=5)
    return (keyed_refresh(profile, sandbox.secret, cache, mappings, now=later),
            _full(profile, sandbox, mappings, folder, later))


def _given_way(profile, sandbox, cache, mappings, folder: Path, later: datetime):
    """The index gives way at `later` (asserted); what `check` then prints, and what a full
    check of that moment prints."""
    assert keyed_refresh(profile, sandbox.secret, cache, mappings, now=later) is None
    return (_json(check_profile(profile, sandbox.secret, cache, mappings, now=later)),
            _full(profile, sandbox, mappings, folder, later))


def _with(profile, **options):
    erp = profile.erp.model_copy(update={"options": {**profile.erp.options, **options}})
    return profile.model_copy(update={"erp": erp})


def test_records_are_found_by_their_link_whichever_field_the_profile_links_by(
        tmp_path: Path) -> None:
    """The link field switched (Customer reference -> Customer requisition) and checked in
    full: records the index keeps unchanged are found under the new field's keys (review
    finding: their tags were the old field's, and returns touched at Swap then showed
    their return orders missing)."""
    sandbox = build_sandbox(NOW, returns=60, seed=4, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    for header in sandbox.erp.env.sets[HEADERS]:
        header["CustomerRequisitionNumber"] = header["CustomersOrderReference"]
        if header["CustomersOrderReference"]:
            header["CustomersOrderReference"] = "X-" + header["CustomersOrderReference"]
    with BackgroundServer(sandbox.app()) as server:
        before = _with(sandbox.profile(server.url), link_field="CustomersOrderReference",
                       order_field="none")
        after = _with(sandbox.profile(server.url), link_field="CustomerRequisitionNumber",
                      order_field="none")
        now = datetime.now(UTC)
        check_profile(before, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        check_profile(after, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        keyed, want = _delivered_then_refreshed(
            after, sandbox, cache, mappings, tmp_path, now,
            random.Random(1).sample(sandbox.platform.records, 3))
    cache.close()
    assert keyed is not None
    assert _json(keyed) == want


def test_return_reasons_found_where_they_were_missing_are_checked(tmp_path: Path) -> None:
    """The reason codes' entity set missing at the full check (reasons not checked), then
    published: the index's master data is not what a check reads now, so it gives way
    (review finding: it answered with reasons still unchecked)."""
    sandbox = build_sandbox(NOW, returns=60, seed=4, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    sets = sandbox.erp.env.sets
    kept = sets.pop("ReturnReasonCodeBiEntities")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        sets["ReturnReasonCodeBiEntities"] = kept.__class__()  # published, empty
        got, want = _given_way(profile, sandbox, cache, mappings, tmp_path,
                               now + timedelta(seconds=1))
    cache.close()
    assert got == want
    assert any(f["code"] == "REASON_UNMAPPED" for f in want["findings"])


def test_a_profile_that_reads_return_orders_whole_reads_them_once_a_check(
        tmp_path: Path, monkeypatch) -> None:
    """`return_sync_mode` full: no refresh through the index (it would read everything,
    give way, and the full check read it all again: review finding)."""
    from returns_console.systems.d365_fo.connector import FoConnector

    sandbox = build_sandbox(NOW, returns=30, seed=4, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    calls: list[object] = []
    real = FoConnector.fetch_records

    async def counting(self, **kw):
        calls.append(kw.get("updated_since"))
        return await real(self, **kw)

    monkeypatch.setattr(FoConnector, "fetch_records", counting)
    with BackgroundServer(sandbox.app()) as server:
        profile = _with(sandbox.profile(server.url), return_sync_mode="full")
        assert not keyed_check.keyed_ready(profile)
        assert keyed_check.keyed_ready(sandbox.profile(server.url))
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        calls.clear()
        check_profile(profile, sandbox.secret, cache, mappings, now=now + timedelta(seconds=1))
        cache.wait()
    cache.close()
    assert len(calls) == 1, calls


def test_a_profile_that_reads_no_reasons_checks_none_after_a_refresh(tmp_path: Path) -> None:
    """`reason_entity` none: a refresh laid over the last read checks no reason, as a full
    read does (review finding: the merge took the missing notice for reasons read, and
    every return's reason came out unmapped)."""
    sandbox = build_sandbox(NOW, returns=60, seed=4, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = _with(sandbox.profile(server.url), reason_entity="none")
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True,
                      keyed=False)
        cache.wait()
        later = now + timedelta(seconds=1)
        got = _json(check_profile(profile, sandbox.secret, cache, mappings, now=later,
                                  keyed=False))
        want = _full(profile, sandbox, mappings, tmp_path, later)
    cache.close()
    assert got == want
    assert not any(f["code"] == "REASON_UNMAPPED" for f in want["findings"])


def test_a_refresh_tells_the_notes_a_full_check_tells(tmp_path: Path) -> None:
    """What the ERP's read wants a person to know (no return reason codes here) is among
    the source's notes in a refresh's report too, not only in a full check's."""
    sandbox = build_sandbox(NOW, returns=60, seed=4, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    sandbox.erp.env.sets.pop("ReturnReasonCodeBiEntities")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        keyed, want = _delivered_then_refreshed(profile, sandbox, cache, mappings, tmp_path,
                                                now, sandbox.platform.records[:1])
    cache.close()
    assert any("return reasons" in note for note in want["erp"].get("notes", []))
    assert keyed is not None
    assert _json(keyed) == want


def test_an_unknown_disposition_code_is_told_as_it_is_now(tmp_path: Path) -> None:
    """A line's disposition code F&O's codes lack is told of every line as of the read:
    put right since, a refresh tells it no more (the index gives way while one is told)."""
    sandbox = build_sandbox(NOW, returns=60, seed=4, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    sets = sandbox.erp.env.sets
    header = next(h for h in sets[HEADERS] if h["ReturnStatus"] == "Open")
    line = _lines_of(sets, header)[0]
    line["ReturnDispositionCode"] = "NO-SUCH-CODE"
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        first = check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        assert any("NO-SUCH-CODE" in n for n in first.to_json()["erp"].get("notes", []))
        line["ReturnDispositionCode"] = sets["ReturnDispositionCodes"][0]["DispositionCode"]
        got, want = _given_way(profile, sandbox, cache, mappings, tmp_path,
                               now + timedelta(minutes=5))
    cache.close()
    assert got == want
    assert not any("NO-SUCH-CODE" in n for n in want["erp"].get("notes", []))


@pytest.mark.parametrize("keyed", [True, False])
def test_an_amount_no_float_holds_reads_back_as_the_number_it_is(tmp_path: Path,
                                                                  keyed: bool) -> None:
    """F&O's decimals carry up to 28 significant digits; the index and the cache write a
    Decimal as text. A credit note's amount of 22 digits, read again from either for a
    refresh, is the amount F&O sent, not a malformed record (which its text would be,
    sent so by F&O)."""
    sandbox = build_sandbox(NOW, returns=60, seed=5, erp=ERP)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    sets = sandbox.erp.env.sets
    for invoice in sets[INVOICES]:
        invoice["TotalInvoiceAmount"] = (Decimal(str(invoice["TotalInvoiceAmount"]))
                                         - Decimal("0.0000000000000000001"))
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        first = check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        # another credit note on a credited return order: its stored one is read back
        done = sets[INVOICES][0]
        sandbox.erp.env.add(INVOICES, {
            **{k: v for k, v in done.items() if k not in ("dataAreaId", "@odata.etag")},
            "InvoiceNumber": "CI-AGAIN", "InvoiceDate": _day(now),
            "TotalInvoiceAmount": -1.0})
        later = now + timedelta(seconds=1)
        got = (keyed_refresh(profile, sandbox.secret, cache, mappings, now=later) if keyed
               else check_profile(profile, sandbox.secret, cache, mappings, now=later,
                                  keyed=False))
        assert got is not None
        cache.wait()
        want = _full(profile, sandbox, mappings, tmp_path, later)
    cache.close()
    invalid = [f for f in first.findings if f.code == "PAYLOAD_INVALID"]
    assert not [f for f in invalid if f.side == "erp"]
    assert _json(got) == want
    # the amounts as F&O sent them, to the last digit
    assert any(str(f.erp_value).endswith(".0000000000000000001") for f in got.findings)

"""Business Central connector against the BC simulator: OAuth, paging, OData queries, faults,
the tenant without return orders, incremental reads, ETags, and every planted exception
surviving the trip through BC's own JSON."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from returns_console.connectors.errors import AuthError, NotFoundError
from returns_console.connectors.http import RetryPolicy
from returns_console.domain.codes import Side, Stage
from returns_console.domain.model import ErpView, ReturnCase, parse_cases
from returns_console.domain.reconcile import reconcile
from returns_console.domain.snapshot import Snapshot
from returns_console.domain.view import Context
from returns_console.sandbox.faults import Faults
from returns_console.sandbox.server import BackgroundServer
from returns_console.scenarios.catalogue import build_scenario
from returns_console.systems.d365_bc.connector import (
    NO_RETURN_ORDERS,
    BcSettings,
    BusinessCentralConnector,
    unseen_view,
)
from returns_console.systems.d365_bc.simulator import COMPANY_NAME, BcSimulator, render_company
from tests.turns import Turns

NOW = datetime.now(UTC).replace(microsecond=0)
TENANT, ENV = "northwind.onmicrosoft.com", "production"
CLIENT_ID, SECRET = "returns-console-test", "bc-client-secret-123"
BASE = "http://bc.sandbox"
FAST = RetryPolicy(attempts=6, initial=0.0, maximum=0.0, jitter=0.0)
MS = timedelta(milliseconds=1)
#: Every set the connector reads, as the simulator holds it.
SETS = ("items", "customers", "locations", "customerReturnReasons", "paymentMethods",
        "accountingPeriods", "unitsOfMeasure", "salesInvoices", "salesReturnOrders",
        "returnReceipts", "salesCreditMemos", "salesOrders")


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def scenario():
    return build_scenario(NOW, returns=140, capabilities=frozenset({"platform_location"}))


@pytest.fixture(scope="module")
def company(scenario):
    return render_company(scenario.snapshot, tenant=TENANT, environment=ENV)


def simulator(company, faults: Faults | None = None, **kw) -> BcSimulator:
    return BcSimulator(copy.deepcopy(company), tenant=TENANT, environment=ENV,
                       client_id=CLIENT_ID, client_secret=SECRET, faults=faults, **kw)


def settings(base: str = BASE, **kw) -> BcSettings:
    kw.setdefault("company", COMPANY_NAME)
    return BcSettings(base_url=base, tenant=TENANT, environment=ENV, client_id=CLIENT_ID,
                      client_secret=kw.pop("client_secret", SECRET),
                      token_url=f"{base}/{{tenant}}/oauth2/v2.0/token", **kw)


def connector(sim: BcSimulator, **kw) -> BusinessCentralConnector:
    return BusinessCentralConnector(settings(**kw), transport=httpx.ASGITransport(app=sim.app()),
                                    retry=FAST, sleep=_no_sleep)


async def fetch(sim: BcSimulator, **kw):
    bc = connector(sim, **kw)
    try:
        return await bc.fetch_records(), bc
    finally:
        await bc.aclose()


def with_erp_records(scenario) -> set[str]:
    return {c["erp"]["return_ref"] for c in scenario.snapshot["returns"]
            if c["erp"].get("stages") or c["erp"].get("credit_notes")}


# ---------------------------------------------------------------------- reading


async def test_reads_every_entity_set_across_pages_with_one_token(scenario, company) -> None:
    sim = simulator(company)
    batch, bc = await fetch(sim, page_size=7)
    assert set(batch.views) == with_erp_records(scenario)
    pages = {name: max(1, math.ceil(len(company.sets[name]) / 7)) for name in SETS}
    assert sim.requests == 1 + sum(pages.values())  # the company, then every page
    assert sim.token_requests == 1  # fetched once, reused by every concurrent request
    followed = [c for c in bc.http.log if "$skiptoken=" in c.url]
    assert len(followed) == sum(pages.values()) - len(SETS)
    assert all(c.status == 200 for c in bc.http.log)
    assert batch.notices == [] and batch.problems == {}


async def test_requests_run_concurrently_but_never_more_than_five(company) -> None:
    sim = simulator(company, Faults(latency_ms=5))
    batch, _ = await fetch(sim, page_size=50)
    assert 1 < sim.max_in_flight <= 5
    assert batch.views


async def test_an_expired_token_is_refreshed_once(company) -> None:
    sim = simulator(company)
    bc = connector(sim)
    try:
        await bc.fetch_records()
        sim.expire_tokens()
        batch = await bc.fetch_records()
    finally:
        await bc.aclose()
    assert sim.token_requests == 2
    assert batch.views


def midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), UTC)


async def test_the_erp_view_matches_what_was_planted(scenario, company) -> None:
    """On every field BC can carry. Not carried: line reasons and dispositions (no API field),
    inspected/restocked (no inspection record), locations of returns with no credit memo."""
    batch, _ = await fetch(simulator(company))
    for case in parse_cases(scenario.snapshot["returns"]):
        want = case.erp
        view = batch.views.get(case.return_ref) or ErpView(system="d365_bc")
        ref = case.return_ref
        assert view.return_ref == want.return_ref, ref
        assert view.order_ref == want.order_ref, ref
        assert view.customer_ref == want.customer_ref, ref
        kept = {o["externalDocumentNumber"] for o in company.sets["salesReturnOrders"]}
        if want.return_order_state is not None and ref not in kept:
            # posted Receive + Invoice: BC deleted the order, its receipt remains
            assert view.return_order_state == "closed", ref
            assert view.stage(Stage.AUTHORISED).detail == "deleted by BC once posted", ref
        else:
            assert view.return_order_state == want.return_order_state, ref
        carried = bool(want.credit_notes)
        assert [(ln.item_no, ln.uom, ln.quantity, ln.received_quantity, ln.location)
                for ln in view.lines] == [
            (ln.item_no, ln.uom, ln.quantity, ln.received_quantity,
             ln.location if carried else None) for ln in want.lines], ref
        assert [(n.status, n.amounts, n.posting_date, n.order_ref, n.customer_ref,
                 n.number, n.external_ref) for n in view.credit_notes] == [
            (n.status, n.amounts, n.posting_date, n.order_ref, n.customer_ref,
             n.number, n.external_ref) for n in want.credit_notes], ref
        for got_note, want_note in zip(view.credit_notes, want.credit_notes, strict=True):
            if want_note.posted_at is None:  # a draft has not been posted
                assert got_note.posted_at is None, ref
            else:
                # BC carries a posting date, not a time (lastModifiedDateTime moves on
                # payment): the posting date at midnight (the day it was posted where the
                # return names no posting date; a posting just after midnight may carry
                # the day before, as a planted one does at some hours of the day).
                day = want_note.posting_date or want_note.posted_at.date()
                assert got_note.posted_at == datetime.combine(day, time(), UTC), ref
        for stage in (Stage.AUTHORISED, Stage.RECEIVED, Stage.CREDITED, Stage.EXCHANGED):
            assert (view.stage(stage).status == "done") == (
                want.stage(stage).status == "done"), (ref, stage)
            if want.stage(stage).status == "done":
                # documents' business dates: documentDate, postingDate, orderDate
                assert view.stage(stage).at == midnight(want.stage(stage).at), (ref, stage)
        if case.return_ref in batch.views:
            assert view.stage(Stage.INSPECTED).status == "not_applicable"


async def test_master_data_reads_back_as_planted(scenario, company) -> None:
    batch, _ = await fetch(simulator(company), page_size=5)
    want = Snapshot.model_validate(scenario.snapshot).erp_master
    rules = {"creates", "instead", "items_ignore_case"}  # what BC is, not its data
    assert batch.master.model_dump(exclude=rules) == want.model_dump(exclude=rules)
    assert batch.master.items_ignore_case and batch.master.creates == {"credit_note"}


async def test_findings_through_bc_equal_the_ground_truth(scenario, company) -> None:
    """BC's side read over its API, the platform side as planted: every planted code found
    with its delay flag, nothing on a healthy return."""
    batch, _ = await fetch(simulator(company), page_size=40)
    snapshot = Snapshot.model_validate(scenario.snapshot)
    cases = [
        ReturnCase(platform=case.platform,
                   erp=batch.views.get(case.return_ref) or ErpView(system="d365_bc"),
                   problems=case.problems, unlinked=case.unlinked)
        for case in snapshot.returns
    ]
    ctx = Context(mappings=snapshot.mappings, master=batch.master, policy=snapshot.policy,
                  now=NOW)
    result = reconcile(cases, ctx)
    got = {(f.return_ref, f.code.value, f.delay) for f in result.findings + result.delays}
    assert got == {(t["return_ref"], t["code"], t["delay"]) for t in scenario.truth}


# ---------------------------------------------------------------------- auth and errors


async def test_a_wrong_client_secret_is_an_auth_error_naming_no_secret(company) -> None:
    sim = simulator(company)
    bc = connector(sim, client_secret="wrong-secret-456")
    with pytest.raises(AuthError) as caught:
        await bc.fetch_records()
    await bc.aclose()
    text = str(caught.value)
    assert "wrong-secret-456" not in text and SECRET not in text
    assert "token endpoint refused" in text
    assert sim.requests == 0  # nothing reached the API without a token
    assert "wrong-secret-456" not in repr(bc.settings)
    assert all("secret" not in c.url for c in bc.http.log)


async def test_check_connection_names_the_company_and_a_wrong_one_is_clear(company) -> None:
    sim = simulator(company)
    bc = connector(sim)
    said = await bc.check_connection()
    await bc.aclose()
    assert "Northwind Outfitters Ltd" in said and company.company["id"] in said
    named = connector(sim, company="northwind outfitters ltd")
    assert (await named.fetch_records()).views
    await named.aclose()
    wrong = connector(sim, company="Contoso")
    with pytest.raises(NotFoundError) as caught:
        await wrong.fetch_records()
    await wrong.aclose()
    assert "'Contoso'" in str(caught.value) and "Northwind Outfitters Ltd" in str(caught.value)


async def test_bc_errors_read_as_one_line_without_the_correlation_id(company) -> None:
    sim = simulator(company)
    bc = connector(sim)
    cid = company.company["id"]
    with pytest.raises(NotFoundError) as caught:
        await bc.http.get_json(f"companies({cid})/salesShipments")
    await bc.aclose()
    text = str(caught.value)
    assert "BadRequest_NotFound: No HTTP resource was found" in text
    assert "CorrelationId" not in text and "\n" not in text


async def test_rides_out_rate_limits_and_server_errors(company) -> None:
    clean, _ = await fetch(simulator(company), page_size=25)
    sim = simulator(company, Faults(error_rate=0.2, rate_limit_rate=0.2, retry_after=0, seed=3))
    batch, bc = await fetch(sim, page_size=25)
    statuses = [c.status for c in bc.http.log]
    assert 429 in statuses and 503 in statuses
    assert batch.views == clean.views
    assert batch.master == clean.master


async def test_a_malformed_record_is_a_payload_problem_not_a_crash(company) -> None:
    sim = simulator(company)
    memo = sim.data.find("salesCreditMemos", number="PCM000001")
    sim.data.update("salesCreditMemos", memo["id"], status="Booked")
    order = sim.data.sets["salesReturnOrders"][3]
    sim.data.update("salesReturnOrders", order["id"], salesReturnOrderLines=[
        {**order["salesReturnOrderLines"][0], "quantity": "two"}])
    batch, _ = await fetch(sim)
    [problem] = batch.problems[memo["externalDocumentNumber"]]
    assert problem.side == Side.ERP and problem.stage == Stage.CREDITED
    assert problem.record_id == "PCM000001" and "status" in problem.error
    assert batch.raw[problem.raw_ref]["status"] == "Booked"
    [broken] = batch.problems[order["externalDocumentNumber"]]
    assert "salesReturnOrderLines[0].quantity" in broken.error
    assert broken.stage == Stage.AUTHORISED
    # The rest of each return is still read.
    assert batch.views[memo["externalDocumentNumber"]].stage(Stage.AUTHORISED).status == "done"
    assert set(batch.problems) == {memo["externalDocumentNumber"],
                                   order["externalDocumentNumber"]}


# ---------------------------------------------------------------------- degraded tenant


async def test_a_tenant_without_return_orders_reads_receipts_from_credit_memos(
        scenario, company) -> None:
    sim = simulator(company, return_orders_api=False)
    batch, bc = await fetch(sim)
    assert batch.notices == [NO_RETURN_ORDERS]
    assert [c.status for c in bc.http.log].count(404) == 2
    credited = exchanged = 0
    for case in parse_cases(scenario.snapshot["returns"]):
        want = case.erp
        view = batch.views.get(case.return_ref)
        posted = [n for n in want.credit_notes if n.status == "posted"]
        if posted:
            credited += 1
            assert view is not None and view.return_order_state is None
            for stage in (Stage.AUTHORISED, Stage.RECEIVED):
                assert view.stage(stage).status == "done"
                assert view.stage(stage).at == midnight(posted[0].posted_at)
            assert [(ln.item_no, ln.received_quantity, ln.location) for ln in view.lines] == [
                (ln.item_no, ln.received_quantity or ln.quantity, ln.location)
                for ln in want.lines]
        elif want.stage(Stage.EXCHANGED).status == "done":
            exchanged += 1
            assert view is not None and view.stage(Stage.EXCHANGED).status == "done"
            assert view.stage(Stage.RECEIVED).status == "not_applicable"
        elif want.credit_notes:  # a draft only: nothing received or authorised in BC yet
            assert view is not None and view.stage(Stage.CREDITED).status == "pending"
            assert view.stage(Stage.RECEIVED).status == "not_applicable"
        else:
            assert view is None
    assert credited > 100 and exchanged > 5
    absent = unseen_view(batch)
    assert absent.stage(Stage.AUTHORISED).status == "not_applicable"
    snapshot = Snapshot.model_validate(scenario.snapshot)
    cases = [ReturnCase(platform=c.platform, erp=batch.views.get(c.return_ref) or absent,
                        problems=c.problems) for c in snapshot.returns]
    result = reconcile(cases, Context(mappings=snapshot.mappings, master=batch.master,
                                      policy=snapshot.policy, now=NOW))
    planted = {(t["return_ref"], t["code"]) for t in scenario.truth}
    errors = {(f.return_ref, f.code.value) for f in result.findings}
    # Without return orders there is no return order or receipt to miss or find not open.
    assert not {code for _, code in errors} & {
        "RETURN_ORDER_MISSING", "RETURN_ORDER_NOT_OPEN", "RECEIPT_NOT_POSTED"}
    # Replacement orders are still found; a refund an hour before the credit memo (the
    # stand-in receipt) is only a delay, a refund days before it the planted error.
    for code in ("EXCHANGE_ORDER_MISSING", "CREDIT_BEFORE_RECEIPT"):
        assert {e for e in errors if e[1] == code} <= planted


# ---------------------------------------------------------------------- incremental, ETags


async def test_incremental_read_fetches_only_what_changed(company) -> None:
    sim = simulator(company)
    bc = connector(sim)
    first = await bc.fetch_records()
    assert first.cursor is not None
    cursor = datetime.fromisoformat(first.cursor.replace("Z", "+00:00"))
    memo = sim.data.sets["salesCreditMemos"][5]
    before = first.raw[f"d365_bc:salesCreditMemos:{memo['id']}"]["@odata.etag"]
    sim.data.update("salesCreditMemos", memo["id"], at=cursor + timedelta(minutes=5))
    calls = sim.requests
    later = await bc.fetch_records(updated_since=cursor)
    await bc.aclose()
    assert list(later.views) == [memo["externalDocumentNumber"]]
    view = later.views[memo["externalDocumentNumber"]]
    assert [n.id for n in view.credit_notes] == [memo["id"]]
    assert view.credit_notes[0].order_ref == first.views[
        memo["externalDocumentNumber"]].credit_notes[0].order_ref  # its invoice, read by id
    # Master data and the document sets, changed records only, in one $batch request;
    # then the one invoice the changed credit memo points at, by id.
    assert sim.requests - calls == 1 + 1
    after = later.raw[f"d365_bc:salesCreditMemos:{memo['id']}"]["@odata.etag"]
    assert after != before and after.startswith('W/"JzQ0O')
    assert later.cursor == (cursor + timedelta(minutes=5)).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


async def test_every_record_keeps_its_raw_json_and_etag(company) -> None:
    batch, _ = await fetch(simulator(company))
    assert len(batch.raw) == sum(len(company.sets[name]) for name in SETS)
    assert all(raw["@odata.etag"].startswith('W/"JzQ0O') for raw in batch.raw.values())
    for view in batch.views.values():
        for note in view.credit_notes:
            raw = batch.raw[note.raw_ref]
            # a draft may not have its lines yet (BC refuses to post it until it does)
            assert raw["id"] == note.id and (raw["salesCreditMemoLines"]
                                             or note.status == "draft")
        for stage in view.stages.values():
            assert stage.raw_ref is None or stage.raw_ref in batch.raw


# ---------------------------------------------------------------------- the simulator


async def test_the_simulator_speaks_bc_odata(company) -> None:
    sim = simulator(company)
    root = f"{BASE}/v2.0/{TENANT}/{ENV}/api/v2.0"
    cid = company.company["id"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app())) as http:
        refused = await http.get(f"{root}/companies")
        assert refused.status_code == 401
        error = refused.json()["error"]
        assert error["code"] == "Authentication_InvalidCredentials"
        assert error["message"].startswith("The server has rejected the client credentials.  "
                                           "CorrelationId:  ")
        bad = await http.post(f"{BASE}/{TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": "nope", "scope": "https://api.businesscentral.dynamics.com/.default"})
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        token = await http.post(f"{BASE}/{TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
            "scope": "https://api.businesscentral.dynamics.com/.default"})
        assert token.json()["token_type"] == "Bearer" and token.json()["expires_in"] == 3599
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

        async def get(path: str, prefer: str | None = None, **params: str) -> httpx.Response:
            headers = {"Prefer": prefer} if prefer else {}
            return await http.get(f"{root}/companies({cid})/{path}", params=params,
                                  headers=headers)

        sim.data.update("customers", sim.data.find("customers", number="C00002")["id"],
                        displayName="O'Brien", blocked="Ship")
        # `and` binds tighter than `or`; '' is a quote.
        found = (await get("customers", **{
            "$filter": "number eq 'C00001' or number eq 'C00003' and blocked eq 'Ship'"
        })).json()["value"]
        assert [c["number"] for c in found] == ["C00001"]
        found = (await get("customers", **{"$filter": "displayName eq 'O''Brien'"})).json()
        assert [c["number"] for c in found["value"]] == ["C00002"]
        assert found["@odata.context"].endswith(f"$metadata#companies({cid})/customers")
        blocked = (await get("items", **{"$filter": "blocked eq true",
                                         "$select": "number"})).json()["value"]
        assert blocked == [{"@odata.etag": blocked[0]["@odata.etag"],
                            "id": blocked[0]["id"], "number": "TEE-RED-S"}]
        memos = (await get("salesCreditMemos", **{
            "$filter": "totalTaxAmount gt 40 and postingDate ge 2000-01-01 and "
                       "lastModifiedDateTime gt 2000-01-01T00:00:00Z", "$top": "3"})).json()
        assert 0 < len(memos["value"]) <= 3
        assert all(m["totalTaxAmount"] > 40 for m in memos["value"])
        assert all("salesCreditMemoLines" not in m for m in memos["value"])
        expanded = (await get("salesCreditMemos", **{"$expand": "salesCreditMemoLines",
                                                     "$top": "1"})).json()["value"]
        assert expanded[0]["salesCreditMemoLines"][0]["lineType"] == "Item"
        paged = await get("locations", prefer="odata.maxpagesize=2")
        assert paged.headers["Preference-Applied"] == "odata.maxpagesize=2"
        assert paged.headers["OData-Version"] == "4.0"
        assert paged.json()["@odata.nextLink"].startswith(f"{root}/companies({cid})/locations?")
        mismatch = await get("salesCreditMemos", **{"$filter": "postingDate ge 'yesterday'"})
        assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "BadRequest"
        unknown = await get("items", **{"$filter": "colour eq 'red'"})
        assert "Could not find a property named 'colour'" in unknown.json()["error"]["message"]


# ---------------------------------------------------------------------- over loopback


async def test_over_loopback(scenario, company) -> None:
    sim = simulator(company)
    with BackgroundServer(sim.app()) as server:
        bc = BusinessCentralConnector(settings(server.url, page_size=60))
        try:
            assert "Northwind Outfitters Ltd" in await bc.check_connection()
            batch = await bc.fetch_records()
        finally:
            await bc.aclose()
    assert set(batch.views) == with_erp_records(scenario)
    assert sim.token_requests == 1


async def test_find_by_link_reads_only_that_returns_documents(scenario, company) -> None:
    """What a write checks first: every document carrying one link key, and only those."""
    case = next(c for c in scenario.snapshot["returns"]
                if len(c["erp"].get("credit_notes", [])) == 2)
    ref = case["platform"]["return_ref"]
    sim = simulator(company)
    bc = connector(sim)
    try:
        batch = await bc.find_by_link(ref)
    finally:
        await bc.aclose()
    assert list(batch.views) == [ref]
    assert len(batch.views[ref].credit_notes) == 2
    assert {n.number for n in batch.views[ref].credit_notes} == {
        n["number"] for n in case["erp"]["credit_notes"]}


async def test_a_full_read_lets_the_other_side_run_while_it_validates_and_assembles(
        company, monkeypatch) -> None:
    """The platform is read on the same event loop: while Business Central's pages are
    validated and its returns assembled (seconds at 10,000 returns, in Python), the other
    side's answers must be taken in between, not all after (against an API with latency,
    its next requests waited: half a second to a second more per check). Counted in turns
    of a coroutine beside the read, not in time."""
    from returns_console.systems.d365_bc import connector as bc_module

    monkeypatch.setattr(bc_module, "STEP", 7, raising=False)
    turns = Turns()  # each set's records (by model), and the views
    real_check, real_view = bc_module._check, bc_module._Assembler.view

    def check(model, raw):
        turns.mark(model.__name__)
        return real_check(model, raw)

    def view(self, *args, **kwargs):
        turns.mark("views")
        return real_view(self, *args, **kwargs)

    monkeypatch.setattr(bc_module, "_check", check)
    monkeypatch.setattr(bc_module._Assembler, "view", view)
    batch, _ = await turns.beside(fetch(simulator(company)))
    assert len(batch.views) > 100
    assert len(turns.seen["views"]) > 100 and len(turns.seen["BcCreditMemo"]) > 100
    for phase, at in turns.seen.items():
        # the other coroutine had a turn every STEP records of each set and every STEP
        # views (the sets are read side by side: their slices take turns too)
        assert turns.spread(phase) >= len(at) // 7 - 1, (phase, at)

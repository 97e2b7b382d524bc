"""Business Central writes against the BC simulator: the link key changed under optimistic
concurrency, a credit memo created and posted, BC's refusals, and the write journal proving
what was (and was not) sent."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from returns_console.connectors.base import ErpWriter
from returns_console.connectors.errors import (
    AmbiguousResultError,
    ConflictError,
    NetworkError,
    NotFoundError,
    RefusedError,
    ServerError,
)
from returns_console.connectors.http import RetryPolicy
from returns_console.domain.postings import CreditLine, CreditRequest, RecordRef, WriteResult
from returns_console.scenarios.catalogue import build_scenario
from returns_console.systems.d365_bc.connector import BcSettings, BusinessCentralConnector
from returns_console.systems.d365_bc.simulator import COMPANY_NAME, BcSimulator, render_company

NOW = datetime.now(UTC).replace(microsecond=0)
TENANT, ENV = "northwind.onmicrosoft.com", "production"
CLIENT_ID, SECRET = "returns-console-test", "bc-client-secret-123"
BASE = "http://bc.sandbox"
ROOT = f"{BASE}/v2.0/{TENANT}/{ENV}/api/v2.0"
FAST = RetryPolicy(attempts=4, initial=0.0, maximum=0.0, jitter=0.0)
TOKEN_TEXT = "Could not validate the client concurrency token required by the service. " \
             "Please provide a valid token in the client request."


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def company():
    scenario = build_scenario(NOW, returns=40)
    return render_company(scenario.snapshot, tenant=TENANT, environment=ENV)


@pytest.fixture
def sim(company) -> BcSimulator:
    return BcSimulator(copy.deepcopy(company), tenant=TENANT, environment=ENV,
                       client_id=CLIENT_ID, client_secret=SECRET)


class Recording(httpx.AsyncBaseTransport):
    """The simulator's transport, keeping every request the connector sent."""

    def __init__(self, sim: BcSimulator) -> None:
        self.inner = httpx.ASGITransport(app=sim.app())
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)


def connector(sim: BcSimulator, base: str = BASE, transport: Recording | None = None,
              **kw) -> BusinessCentralConnector:
    """A connector to the simulator; `.sent` is every request it made."""
    kw.setdefault("company", COMPANY_NAME)
    settings = BcSettings(base_url=base, tenant=TENANT, environment=ENV, client_id=CLIENT_ID,
                          client_secret=SECRET, token_url=f"{base}/{{tenant}}/oauth2/v2.0/token",
                          **kw)
    transport = transport or Recording(sim)
    made = BusinessCentralConnector(settings, transport=transport, retry=FAST, sleep=_no_sleep)
    made.sent = transport.sent  # type: ignore[attr-defined]
    return made


@pytest.fixture
async def bc(sim):
    connector_ = connector(sim)
    yield connector_
    await connector_.aclose()


def credit(link: str = "R-900001", **kw) -> CreditRequest:
    fields = {
        "link": link, "customer_ref": "C00001", "currency": "GBP",
        "lines": (CreditLine("TEE-BLK-M", Decimal(2), "PCS", Decimal("19.99"), "MAIN"),
                  CreditLine("SOCK-W", Decimal(1), None, Decimal("4.50"))),
        "posting_date": NOW.date(), "shipping": Decimal("4.95"), "fees": Decimal("2.00"),
    } | kw
    return CreditRequest(**fields)


def memos_with(sim: BcSimulator, link: str) -> list[dict]:
    return [m for m in sim.data.sets["salesCreditMemos"]
            if m["externalDocumentNumber"] == link]


def ref_of(entity: str, record: dict) -> RecordRef:
    return RecordRef("d365_bc", entity, record["id"])


def posted_memo(sim: BcSimulator) -> dict:
    return next(m for m in sim.data.sets["salesCreditMemos"] if m["status"] == "Open")


async def draft(bc: BusinessCentralConnector, link: str = "R-900001") -> WriteResult:
    await bc.find_by_link(link)  # what the re-queue action reads first
    return await bc.create_credit(credit(link))


def same_request(described: dict, sent: dict) -> None:
    """The journal entry is the description: method, path, body, and every header named."""
    assert sent["method"] == described["method"]
    assert sent["path"] == described["path"]
    assert sent["body"] == described["body"]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    for name, value in described["headers"].items():
        assert headers[name.lower()] == value, name


# ---------------------------------------------------------------------- the link key


async def test_the_connector_is_an_erp_writer(bc) -> None:
    assert isinstance(bc, ErpWriter)


async def test_set_link_changes_a_draft_and_the_read_side_sees_it(sim, bc) -> None:
    created = await draft(bc, "R-TYPO-1")
    first = await bc.fetch_records()
    cursor = datetime.fromisoformat(first.cursor.replace("Z", "+00:00"))
    ref = ref_of("salesCreditMemos", {"id": created.record_id})
    record = await bc.get_record(ref)
    assert [ln["lineObjectNumber"] for ln in record["salesCreditMemoLines"]] == [
        "TEE-BLK-M", "SOCK-W", "SHIPPING", "FEE-RETURN"]
    sim.clear_writes()
    result = await bc.set_link(ref, record["@odata.etag"], "R-100001-A")
    assert result.record["externalDocumentNumber"] == "R-100001-A"
    assert result.record_id == created.record_id and result.status == "Draft"
    assert result.etag and result.etag != record["@odata.etag"]
    assert result.etag == (await bc.get_record(ref))["@odata.etag"]
    [patch] = sim.writes
    assert patch["method"] == "PATCH" and patch["status"] == 200
    assert patch["headers"]["if-match"] == record["@odata.etag"]
    assert patch["body"] == {"externalDocumentNumber": "R-100001-A"}
    # The read side: found under the new link, gone from the old, and an incremental read
    # (lastModifiedDateTime moved on) brings it.
    found = await bc.find_by_link("R-100001-A")
    assert [n.id for n in found.views["R-100001-A"].credit_notes] == [created.record_id]
    assert found.views["R-100001-A"].credit_notes[0].status == "draft"
    assert (await bc.find_by_link("R-TYPO-1")).views == {}
    later = await bc.fetch_records(updated_since=cursor)
    assert "R-100001-A" in later.views


async def test_set_link_on_a_sales_order(sim, bc) -> None:
    order = sim.data.sets["salesOrders"][0]
    ref = ref_of("salesOrders", order)
    record = await bc.get_record(ref)
    assert record["salesOrderLines"] == [] and record["number"] == order["number"]
    result = await bc.set_link(ref, record["@odata.etag"], "R-200002")
    assert result.record["externalDocumentNumber"] == "R-200002"
    assert sim.data.find("salesOrders", id=order["id"])["externalDocumentNumber"] == "R-200002"


async def test_without_an_etag_the_current_one_is_read_first(sim, bc) -> None:
    created = await draft(bc)
    sim.clear_writes()
    ref = ref_of("salesCreditMemos", {"id": created.record_id})
    before = sim.data.find("salesCreditMemos", id=created.record_id)["@odata.etag"]
    sent_before = len(bc.sent)
    assert bc.describe_set_link(ref, None, "R-1")["headers"]["If-Match"] is None
    await bc.set_link(ref, None, "R-900001-B")
    calls = bc.sent[sent_before:]
    assert [c.method for c in calls] == ["GET", "PATCH"]
    assert calls[0].url.params["$expand"] == "salesCreditMemoLines"
    # A read made for a write goes to the primary database, not a lagging replica.
    assert "data-access-intent" not in calls[0].headers
    assert sim.writes[0]["headers"]["if-match"] == before != "*"


async def test_a_stale_etag_is_a_conflict_with_the_fresh_record(sim, bc) -> None:
    created = await draft(bc)
    ref = ref_of("salesCreditMemos", {"id": created.record_id})
    read = await bc.get_record(ref)
    edited = sim.bump("salesCreditMemos", created.record_id)  # someone else saves it
    sim.clear_writes()
    with pytest.raises(ConflictError) as caught:
        await bc.set_link(ref, read["@odata.etag"], "R-900001-C")
    conflict = caught.value
    assert conflict.status == 409
    assert conflict.fresh is not None and conflict.fresh["@odata.etag"] == edited["@odata.etag"]
    assert conflict.fresh["salesCreditMemoLines"]
    assert "Another user has already changed the record." in str(conflict)
    assert created.number in str(conflict)
    assert [(w["method"], w["status"]) for w in sim.writes] == [("PATCH", 409)]  # no retry
    assert sim.data.find("salesCreditMemos", id=created.record_id)[
        "externalDocumentNumber"] == "R-900001"
    # Asked again with the fresh record, it goes through.
    result = await bc.set_link(ref, conflict.fresh["@odata.etag"], "R-900001-C")
    assert result.record["externalDocumentNumber"] == "R-900001-C"


async def test_a_missing_or_unreadable_token_is_bcs_invalid_token_and_a_conflict(
        sim, bc) -> None:
    created = await draft(bc)
    ref = ref_of("salesCreditMemos", {"id": created.record_id})
    # Straight to the simulator: no If-Match at all.
    token = await bc.http.auth.headers(bc.http)
    path = bc.describe_set_link(ref, created.etag, "R-1")["path"]
    url = f"{ROOT}/{path}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app())) as raw:
        answer = await raw.patch(url, json={"externalDocumentNumber": "R-1"}, headers=token)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "BadRequest_InvalidToken"
    assert error["message"].startswith(TOKEN_TEXT + "  CorrelationId:  ")
    # Through the connector, a token BC cannot read is the same thing: read again, ask again.
    with pytest.raises(ConflictError) as caught:
        await bc.set_link(ref, "not-a-token", "R-1")
    assert caught.value.status == 400 and caught.value.fresh["id"] == created.record_id
    assert "BadRequest_InvalidToken" in str(caught.value)
    assert sim.data.find("salesCreditMemos", id=created.record_id)[
        "externalDocumentNumber"] == "R-900001"


async def test_bc_will_not_change_a_posted_memo_or_a_return_order(sim, bc) -> None:
    memo = posted_memo(sim)
    ref = ref_of("salesCreditMemos", memo)
    await bc.get_record(ref)
    with pytest.raises(RefusedError) as caught:
        await bc.set_link(ref, memo["@odata.etag"], "R-300003")
    assert caught.value.detail == ("Application_DialogException: The credit memo has been "
                                   "posted and can no longer be modified.")
    assert sim.data.find("salesCreditMemos", id=memo["id"]) == memo  # untouched
    order = sim.data.sets["salesReturnOrders"][0]
    with pytest.raises(RefusedError) as caught:
        await bc.set_link(ref_of("salesReturnOrders", order), order["@odata.etag"], "R-1")
    assert caught.value.status == 405 and "BadRequest_MethodNotAllowed" in caught.value.detail
    assert [(w["method"], w["status"]) for w in sim.writes] == [("PATCH", 400),
                                                                ("PATCH", 405)]


@pytest.mark.parametrize("link", ["", "   ", "R-" + "9" * 34])
async def test_an_empty_or_overlong_link_is_refused_before_anything_is_sent(
        sim, bc, link: str) -> None:
    memo = posted_memo(sim)
    ref = ref_of("salesCreditMemos", memo)
    await bc.get_record(ref)
    with pytest.raises(ValueError):
        bc.describe_set_link(ref, memo["@odata.etag"], link)
    with pytest.raises(ValueError):
        await bc.set_link(ref, memo["@odata.etag"], link)
    with pytest.raises(ValueError):
        await bc.create_credit(credit(link))
    assert sim.writes == []


async def test_record_references_are_checked_before_anything_is_sent(sim, bc) -> None:
    memo = posted_memo(sim)
    await bc.get_record(ref_of("salesCreditMemos", memo))
    for ref in (RecordRef("swap", "salesCreditMemos", memo["id"]),
                RecordRef("d365_bc", "salesCreditMemos", "x') or (id eq 'y"),
                RecordRef("d365_bc", "../companies", memo["id"])):
        with pytest.raises(ValueError):
            await bc.set_link(ref, memo["@odata.etag"], "R-1")
    assert sim.writes == []


# ---------------------------------------------------------------------- credit memos


async def test_create_and_post_a_credit_memo(sim, bc) -> None:
    link = "R-900001"
    assert (await bc.find_by_link(link)).views == {}
    request = credit(link)
    described = bc.describe_create_credit(request)
    assert described["notes"] == []
    created = await bc.create_credit(request)
    assert created.status == "Draft" and created.number.startswith("S-CR")
    assert created.etag == sim.data.find("salesCreditMemos", id=created.record_id)[
        "@odata.etag"]
    described_post = bc.describe_post_credit(created)
    posted = await bc.post_credit(created, link)
    assert posted.status == "Open" and posted.number.startswith("PCM")
    assert posted.record_id != created.record_id  # BC may give the posted memo a new id
    assert posted.record["salesCreditMemoLines"]
    # Exactly two writes, each what was described.
    create, post = sim.writes
    assert (create["status"], post["status"]) == (201, 204)
    same_request(described, create)
    same_request(described_post, post)
    assert post["path"].endswith(f"salesCreditMemos({created.record_id})/Microsoft.NAV.post")
    # The draft is gone; the read side finds the posted memo by its link, amounts intact.
    with pytest.raises(NotFoundError):
        await bc.get_record(RecordRef("d365_bc", "salesCreditMemos", created.record_id))
    view = (await bc.find_by_link(link)).views[link]
    [note] = view.credit_notes
    assert (note.id, note.number, note.status) == (posted.record_id, posted.number, "posted")
    assert note.posting_date == NOW.date() and note.customer_ref == "C00001"
    amounts = note.amounts
    assert (amounts.items, amounts.shipping, amounts.fees, amounts.tax) == (
        Decimal("44.48"), Decimal("4.95"), Decimal("2.00"), Decimal("8.90"))
    first = posted.record["salesCreditMemoLines"][0]
    assert first["lineObjectNumber"] == "TEE-BLK-M" and first["quantity"] == 2
    assert first["locationId"] == sim.data.find("locations", code="MAIN")["id"]


async def test_a_post_names_its_own_memo_never_the_newest_of_two(sim, bc, monkeypatch) -> None:
    """Issue 11.1: when another posted credit memo with the same link appeared while this
    one was posted (another machine re-queued it too), the connector took "the newest" and
    the audit named someone else's memo. Two new ones cannot be told apart: it says so."""
    link = "R-900002"
    created = await bc.create_credit(credit(link))
    other = await bc.create_credit(credit(link))
    send = bc._send

    async def posting_both(described):  # the other poster's memo lands in the same instant
        answer = await send(described)
        await send(bc.describe_post_credit(other))
        return answer

    monkeypatch.setattr(bc, "_send", posting_both)
    with pytest.raises(AmbiguousResultError, match="2 new posted credit memos carry R-900002"):
        await bc.post_credit(created, link)


async def test_describe_is_exactly_what_is_sent(sim, bc) -> None:
    created = await draft(bc)
    ref = ref_of("salesCreditMemos", {"id": created.record_id})
    etag = (await bc.get_record(ref))["@odata.etag"]
    described = bc.describe_set_link(ref, etag, "R-900001-D")
    sim.clear_writes()
    await bc.set_link(ref, etag, "R-900001-D")
    [sent] = sim.writes
    same_request(described, sent)
    assert described == {
        "method": "PATCH",
        "path": f"companies({sim.data.company['id']})/salesCreditMemos({created.record_id})",
        "headers": {"If-Match": etag, "Content-Type": "application/json"},
        "body": {"externalDocumentNumber": "R-900001-D"}, "notes": []}


async def test_no_credential_reaches_the_journal_or_a_description(sim, bc) -> None:
    created = await draft(bc)
    await bc.post_credit(created, "R-900001")
    described = [bc.describe_create_credit(credit("R-2")), bc.describe_post_credit(created)]
    text = json.dumps([sim.writes, described], default=str)
    assert sim.tokens and not any(token in text for token in sim.tokens)
    assert SECRET not in text and "bearer" not in text.lower()
    assert all("authorization" not in {k.lower() for k in w["headers"]} for w in sim.writes)
    assert all("Authorization" not in d["headers"] for d in described)


@pytest.mark.parametrize(("item", "said"), [
    ("NOPE-1", "Application_FieldValidationException: The field No. of table Sales Line "
               "contains a value (NOPE-1) that cannot be found in the related table (Item)."),
    ("TEE-RED-S", "Application_DialogException: Blocked must be equal to 'No'  in Item: "
                  "No.=TEE-RED-S. Current value is 'Yes'."),
])
async def test_an_unknown_or_blocked_item_is_refused_and_nothing_is_created(
        sim, bc, item: str, said: str) -> None:
    before = len(sim.data.sets["salesCreditMemos"])
    request = credit(lines=(CreditLine("TEE-BLK-M", Decimal(1)), CreditLine(item, Decimal(1))))
    with pytest.raises(RefusedError) as caught:
        await bc.create_credit(request)
    assert caught.value.detail == said and caught.value.status == 400
    assert "\n" not in str(caught.value) and "CorrelationId" not in str(caught.value)
    assert len(sim.data.sets["salesCreditMemos"]) == before
    assert [(w["method"], w["status"]) for w in sim.writes] == [("POST", 400)]


async def test_post_is_refused_on_a_posted_memo_and_on_a_draft_without_lines(sim, bc) -> None:
    memo = posted_memo(sim)
    await bc.get_record(ref_of("salesCreditMemos", memo))
    with pytest.raises(RefusedError) as caught:
        await bc.post_credit(WriteResult(record_id=memo["id"], number=memo["number"]),
                             memo["externalDocumentNumber"])
    assert caught.value.detail.endswith("The action can be applied to a draft credit memo only.")
    assert sim.data.find("salesCreditMemos", id=memo["id"]) == memo
    # A draft with no lines (made by someone else): BC will not post it, and it stays.
    cid = sim.data.company["id"]
    response = await bc.http.request("POST", f"companies({cid})/salesCreditMemos", write=True,
                                     json_body={"customerNumber": "C00002",
                                                "externalDocumentNumber": "R-EMPTY"})
    empty = response.json()
    with pytest.raises(RefusedError) as caught:
        await bc.post_credit(WriteResult(record_id=empty["id"]), "R-EMPTY")
    assert caught.value.detail.endswith("Please add at least one line item to the credit memo.")
    [still] = memos_with(sim, "R-EMPTY")
    assert still["status"] == "Draft" and still["id"] == empty["id"]


async def test_a_503_on_a_write_is_not_sent_again(sim, bc) -> None:
    await bc.find_by_link("R-900001")
    sim.fail_writes(1)
    with pytest.raises(ServerError) as caught:
        await bc.create_credit(credit())
    assert caught.value.status == 503
    assert [(w["method"], w["status"]) for w in sim.writes] == [("POST", 503)]
    assert memos_with(sim, "R-900001") == []
    # It looked instead: a read by the link after the failed POST.
    last = bc.sent[-1]
    assert last.method == "GET"
    assert last.url.params["$filter"] == "externalDocumentNumber eq 'R-900001'"
    # A PATCH the same.
    created = await bc.create_credit(credit())
    ref = ref_of("salesCreditMemos", {"id": created.record_id})
    sim.clear_writes()
    sim.fail_writes(1)
    with pytest.raises(ServerError):
        await bc.set_link(ref, created.etag, "R-900001-E")
    assert [(w["method"], w["status"]) for w in sim.writes] == [("PATCH", 503)]


async def test_a_write_done_but_unanswered_is_found_not_sent_twice(sim, bc) -> None:
    await bc.find_by_link("R-900001")
    sim.fail_writes(1, after=True)  # the memo is made, the answer lost
    created = await bc.create_credit(credit())
    [memo] = memos_with(sim, "R-900001")
    assert created.record_id == memo["id"] and created.status == "Draft"
    sim.fail_writes(1, after=True)
    posted = await bc.post_credit(created, "R-900001")
    [memo] = memos_with(sim, "R-900001")
    assert posted.record_id == memo["id"] and posted.status == "Open"
    sim.fail_writes(1, after=True)
    order = sim.data.sets["salesOrders"][0]
    result = await bc.set_link(ref_of("salesOrders", order), order["@odata.etag"], "R-5")
    assert result.record["externalDocumentNumber"] == "R-5"
    assert [(w["method"], w["status"]) for w in sim.writes] == [
        ("POST", 503), ("POST", 503), ("PATCH", 503)]


async def test_a_timeout_on_a_write_is_not_sent_again(sim, company) -> None:
    class Slow(Recording):
        async def handle_async_request(self, request):
            if request.method == "POST" and request.url.path.endswith("/salesCreditMemos"):
                self.sent.append(request)
                raise httpx.ReadTimeout("no answer", request=request)
            return await super().handle_async_request(request)

    bc = connector(sim, transport=Slow(sim))
    try:
        await bc.find_by_link("R-900001")
        with pytest.raises(NetworkError):
            await bc.create_credit(credit())
    finally:
        await bc.aclose()
    creates = [r for r in bc.sent
               if r.method == "POST" and r.url.path.endswith("/salesCreditMemos")]
    assert len(creates) == 1


async def test_shipping_and_fees_without_a_configured_item_are_left_out_and_said(sim) -> None:
    bc = connector(sim, shipping_items=(), fee_items=())
    try:
        await bc.find_by_link("R-900001")
        described = bc.describe_create_credit(credit(
            order_ref="#1001", reason="SIZE", payment_method="CARD"))
    finally:
        await bc.aclose()
    lines = described["body"]["salesCreditMemoLines"]
    assert [ln["lineObjectNumber"] for ln in lines] == ["TEE-BLK-M", "SOCK-W"]
    notes = " | ".join(described["notes"])
    assert "shipping 4.95 GBP left out" in notes and "fees 2.00 GBP left out" in notes
    assert "order #1001 is not linked" in notes and "reason SIZE" in notes
    assert "payment method CARD" in notes
    assert "invoiceId" not in described["body"] and "invoiceNumber" not in described["body"]


async def test_the_body_uses_documented_fields_and_bcs_local_currency_convention(sim,
                                                                                bc) -> None:
    await bc.find_by_link("R-900001")
    body = bc.describe_create_credit(credit())["body"]
    assert body["currencyCode"] == "" and body["postingDate"] == NOW.date().isoformat()
    assert bc.describe_create_credit(credit(currency="eur"))["body"]["currencyCode"] == "EUR"
    shipping, fee = body["salesCreditMemoLines"][2:]
    assert (shipping["lineObjectNumber"], shipping["quantity"], shipping["unitPrice"]) == (
        "SHIPPING", 1, Decimal("4.95"))
    assert (fee["lineObjectNumber"], fee["quantity"], fee["unitPrice"]) == (
        "FEE-RETURN", -1, Decimal("2.00"))
    assert set(body) <= {"customerNumber", "externalDocumentNumber", "currencyCode",
                         "postingDate", "salesCreditMemoLines"}
    assert all(set(ln) <= {"lineType", "lineObjectNumber", "quantity", "unitOfMeasureCode",
                           "unitPrice", "locationId", "description"}
               for ln in body["salesCreditMemoLines"])
    nothing = credit(lines=(), shipping=Decimal(0), fees=Decimal(0))
    for bad in (credit(customer_ref=" "), nothing, credit(currency="pounds"),
                credit(lines=(CreditLine("SOCK-W", Decimal(0)),)),
                credit(shipping=Decimal(-1))):
        with pytest.raises(ValueError):
            bc.describe_create_credit(bad)
    assert bc.describe_create_credit(credit(lines=(), shipping=Decimal(5)))  # shipping only


async def test_ids_no_read_has_taught_yet_are_stand_ins_with_notes(sim) -> None:
    """A connector opened only to describe a write (as the action service does) cannot read:
    what an earlier read in the process learnt it knows; the rest is a noted stand-in."""
    main = sim.data.find("locations", code="MAIN")
    first = connector(sim, base="http://bc-untaught.sandbox")
    try:
        described = first.describe_create_credit(credit())
        assert described["path"] == "companies({company})/salesCreditMemos"
        assert described["body"]["salesCreditMemoLines"][0]["locationId"] == (
            "{id of location MAIN}")
        assert any("company id is read" in n for n in described["notes"])
        assert any("location MAIN" in n for n in described["notes"])
        ref = ref_of("salesCreditMemos", posted_memo(sim))
        assert first.describe_set_link(ref, "W/\"1\"", "R-1")["path"].startswith(
            "companies({company})/")
        # create_credit reads what it needs itself, and sends real ids.
        created = await first.create_credit(credit())
        line = sim.data.find("salesCreditMemos", id=created.record_id)[
            "salesCreditMemoLines"][0]
        assert line["locationId"] == main["id"]
    finally:
        await first.aclose()
    # A connector opened afterwards, in the same process, describes exactly.
    later = connector(sim, base="http://bc-untaught.sandbox")
    try:
        described = later.describe_create_credit(credit())
        assert described["path"] == f"companies({sim.data.company['id']})/salesCreditMemos"
        assert described["body"]["salesCreditMemoLines"][0]["locationId"] == main["id"]
        assert described["notes"] == []
        with pytest.raises(ValueError, match="NOWHERE"):
            later.describe_create_credit(credit(lines=(
                CreditLine("SOCK-W", Decimal(1), location="NOWHERE"),)))
    finally:
        await later.aclose()


async def test_a_new_memo_reads_back_through_an_incremental_refresh(sim, bc) -> None:
    first = await bc.fetch_records()
    cursor = datetime.fromisoformat(first.cursor.replace("Z", "+00:00"))
    created = await bc.create_credit(credit(posting_date=date(2026, 1, 5)))
    changed = await bc.fetch_records(updated_since=cursor - timedelta(milliseconds=1))
    assert created.record_id in changed.present["salesCreditMemos"]
    posted = await bc.post_credit(created, "R-900001")
    later = await bc.fetch_records(updated_since=cursor)
    assert created.record_id not in later.present["salesCreditMemos"]  # the draft is gone
    merged = bc.merge(first, later)
    [note] = merged.views["R-900001"].credit_notes
    assert note.id == posted.record_id and note.posting_date == date(2026, 1, 5)


async def test_a_refresh_lists_only_the_sales_orders_a_full_read_keeps(sim, bc) -> None:
    """The ids a refresh lists to see deletions: sales orders within `history_days`, as the
    full read takes them, not every order the company ever had (one older leaves the
    index as a full read would leave it out)."""
    [recent] = sim.data.sets["salesOrders"]
    recent["orderDate"] = date.today().isoformat()
    old = {**copy.deepcopy(recent), "id": "0b5e1a9e-0000-4000-8000-000000000001",
           "number": "S-ORD-OLD", "orderDate": "2020-01-06"}
    sim.data.sets["salesOrders"].append(old)
    first = await bc.fetch_records()
    cursor = datetime.fromisoformat(first.cursor.replace("Z", "+00:00"))
    changed = await bc.fetch_records(updated_since=cursor)
    assert recent["id"] in changed.present["salesOrders"]
    assert old["id"] not in changed.present["salesOrders"]

"""Self-tests of the Happy Returns fake and the planted world, without the product: the fake must
behave as docs/vendors/happy-returns.md says ("hr §x") before it can judge the product.

Run:  .venv/bin/python -m pytest -q -n 0 tests/independent/happy_returns/test_fakes.py
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ..swap_d365_fo import fake_fo
from ..swap_d365_fo import scenario as fo_scenario
from . import fake_hr, scenario
from .fake_hr import APPROVED, DROPPED_OFF, METHOD, STARTED, STATUS, HRReturn, Unit

SUFFIX = re.compile(r"^(.+)-(\d+)-(\d+)$")
WALL = datetime(2026, 12, 1, 13, 25, 8, tzinfo=UTC)  # any moment will do for the shapes


class _SyncASGI(httpx.BaseTransport):
    """httpx's ASGITransport is async-only; a small sync wrapper keeps the tests readable."""

    def __init__(self, app: Any) -> None:
        self._t = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def go() -> httpx.Response:
            resp = await self._t.handle_async_request(request)
            body = await resp.aread()
            return httpx.Response(resp.status_code, headers=resp.headers, content=body)

        return anyio.run(go)


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world(WALL)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def hr(world: scenario.World) -> Iterator[tuple[httpx.Client, Clock]]:
    clock = Clock()
    app = fake_hr.make_app(world.hr_returns, bucket_size=2, clock=clock)
    with httpx.Client(transport=_SyncASGI(app), base_url="http://partner.test") as c:
        yield c, clock


def lookup(c: httpx.Client, clock: Clock, body: Any, key: str | None = fake_hr.API_KEY
           ) -> httpx.Response:
    clock.now += 10  # well inside the bucket: these tests are about answers, not the rate
    headers = {"X-Hr-Apikey": key} if key else {}
    return c.post("/return", content=json.dumps(body), headers=headers)


def q(world: scenario.World, **crit: str) -> dict[str, str]:
    return {"happyReturnsRetailerID": scenario.RETAILER_ID, **crit}


# ======================================================================== the deliveries
def asn_deliveries(world: scenario.World) -> list[fake_hr.Delivery]:
    return [d for _l, d, _e in world.plan if "items" in d.payload]


def test_asn_payloads_have_the_documented_shape(world: scenario.World) -> None:
    """hr §4.1, §4.2, §5.2, §8.1: top-level keys in the sample's order; each item one physical
    unit with the sample's visible fields first, every value a string; one order and one
    return per delivery."""
    ds = asn_deliveries(world)
    assert ds
    for d in ds:
        p = d.payload
        assert tuple(p) == fake_hr.ASN_KEYS
        assert p["event"] in (STATUS, METHOD)
        assert p["retailerID"] in (scenario.RETAILER_ID, scenario.DECOY_RETAILER_ID)
        assert all(set(e) == {"event", "typeID"} for e in p["otherEvents"])
        assert p["items"]
        for it in p["items"]:
            assert tuple(it)[:12] == fake_hr.SAMPLE_ITEM_KEYS
            assert tuple(it)[12:] == fake_hr.EXTRA_ITEM_KEYS
            assert all(isinstance(v, str) for v in it.values())
            m = SUFFIX.match(it["orderLineItemID"])
            assert m and int(m.group(2)) < int(m.group(3))
            assert datetime.fromisoformat(it["purchasedAt"]).utcoffset() == timedelta(hours=-5)
        assert len({it["orderNumber"] for it in p["items"]}) == 1
        assert len({it["happyReturnsReturnID"] for it in p["items"]}) == 1


def test_the_documented_sample_is_reproduced() -> None:
    """The fake renders the §8.1 sample's visible part exactly from the sample's values."""
    hr = HRReturn(
        return_id="5035789d-f873-4bad-b2f3-2daca346c111", express_code="HRVPBGPR",
        retailer_id="modern-retailer", email="customer@example.com",
        external_rma_id="RMA20240101A", dropoff_method="return-bar",
        purchased_at=datetime.fromisoformat("2024-01-05T16:26:05-05:00"),
        units=[Unit(sku="nomshrts-1", product_name="No Sweat Shorts", order_number="272034",
                    order_id="5324938444866", line_id="13377523220546", offset=0, total=5,
                    upc="SKDFHWEW-DKFD", variant_id="39942123880514", reason_id="too-small",
                    item_id="x")],
        moments=[[(STATUS, STARTED), (METHOD, "return-bar")]])
    body = hr.deliveries()[0].body().decode()
    sample = ('{"event":"return_status_updated","typeID":"started","retailerID":"modern-retailer",'
              '"otherEvents":[{"event":"return_dropoff_method_created","typeID":"return-bar"}],'
              '"items":[{"happyReturnsReturnID":"5035789d-f873-4bad-b2f3-2daca346c111",'
              '"purchasedAt":"2024-01-05T16:26:05-05:00","email":"customer@example.com",'
              '"orderNumber":"272034","externalRMAID":"RMA20240101A","orderID":"5324938444866",'
              '"orderLineItemID":"13377523220546-0-5","sku":"nomshrts-1","upc":"SKDFHWEW-DKFD",'
              '"productVariantID":"39942123880514","labelBarcode":"SKDFHWEW-DKFD",'
              '"productName":"No')
    assert body.startswith(sample)


def test_merging_and_order_numbers(world: scenario.World) -> None:
    """hr §4.2: status primary, otherEvents newest first; a method-only moment has the method
    as primary; one POST per order number of a multi-order return."""
    bar = world.cases["H02"].hr.deliveries()
    assert [(d.payload["event"], d.payload["typeID"]) for d in bar] == [
        (STATUS, STARTED), (STATUS, APPROVED)]
    assert bar[0].payload["otherEvents"] == [{"event": METHOD, "typeID": "return-bar"}]
    assert bar[1].payload["otherEvents"] == [{"event": STATUS, "typeID": DROPPED_OFF}]
    change = world.cases["H09"].hr.deliveries()
    assert (change[1].payload["event"], change[1].payload["typeID"]) == (METHOD, "mail")
    assert change[1].payload["otherEvents"] == []
    mail = world.cases["H05"].hr.deliveries()
    assert [d.payload["typeID"] for d in mail] == [STARTED, DROPPED_OFF, APPROVED]
    multi = world.cases["H15"].hr.deliveries()
    assert len(multi) == 4
    assert len({d.payload["items"][0]["orderNumber"] for d in multi}) == 2
    assert len({d.payload["items"][0]["happyReturnsReturnID"] for d in multi}) == 1
    two_of_three = world.cases["H07"].hr.deliveries()[0].payload["items"]
    assert [it["orderLineItemID"][-4:] for it in two_of_three] == ["-0-3", "-1-3"]


def test_label_update_has_the_sample_keys(world: scenario.World) -> None:
    labels = [d for _l, d, _e in world.plan if "webhookType" in d.payload]
    assert labels
    for d in labels:
        assert tuple(d.payload) == fake_hr.LABEL_KEYS  # hr §8.2
        assert d.payload["event"] == "return_label_update"
        assert d.payload["webhookType"] == "return.label.update"
        assert d.payload["typeID"] == ""


def test_signature_forgeries_and_retries(world: scenario.World) -> None:
    d = asn_deliveries(world)[0]
    body = d.body()
    want = hmac.new(fake_hr.WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert d.headers()["X-Hr-Signature"] == want and want == want.lower() and len(want) == 64
    assert d.forged().headers()["X-Hr-Signature"] != want and d.forged().body() == body
    assert "X-Hr-Signature" not in d.unsigned().headers()
    assert d.identity() == hashlib.sha256(body).hexdigest()  # hr U14
    assert fake_hr.sign("k", b"x", "hmac_sha256_base64").endswith("=")
    # every "same body again" in the plan is byte-identical to an earlier POST
    seen: dict[str, str] = {}
    for label, dl, _e in world.plan:
        if label.endswith("(same body again)"):
            assert dl.identity() in seen, label
        seen.setdefault(dl.identity(), label)


def test_the_plan(world: scenario.World) -> None:
    plan = world.plan
    expects = [e for _l, _d, e in plan]
    assert expects.count("refuse") == 2
    refused = [d for _l, d, e in plan if e == "refuse"]
    assert all(d.payload["typeID"] == APPROVED for d in refused)
    assert refused[0].payload["items"][0]["happyReturnsExpressCode"] == world.by_key("H19")
    # the forged body is not any genuine delivery's body
    genuine = {d.identity() for _l, d, e in plan if e == "accept"}
    assert not {d.identity() for d in refused} & genuine
    # only-look-up returns are never delivered (not even as a label update)
    named = {json.dumps(d.payload) for _l, d, _e in plan}
    for code in world.lookup_only:
        assert not any(code in s for s in named)
    # every other harbour-lane return is delivered
    for cs in world.cases.values():
        if cs.deliver:
            assert any(cs.hr.express_code in json.dumps(d.payload) for _l, d, e in plan
                       if e == "accept")
    # H18 sent newest first, H01's approval before its start
    order = [d.payload["typeID"] for _l, d, e in plan if e == "accept"
             and "items" in d.payload and d.payload["items"][0]["happyReturnsExpressCode"]
             == world.by_key("H18")]
    assert order == [APPROVED, DROPPED_OFF, STARTED]
    # the other retailer's deliveries use a retailerID that is not the profile's
    outlet = [d for _l, d, e in plan if e == "any"]
    assert outlet and all(d.payload["retailerID"] == scenario.DECOY_RETAILER_ID
                          for d in outlet)


# ========================================================================== the look-up
def test_lookup_auth_and_criteria(world: scenario.World, hr: tuple[httpx.Client, Clock]
                                  ) -> None:
    c, clock = hr
    code = world.lookup_only[0]
    assert lookup(c, clock, q(world, happyReturnsExpressCode=code), key=None).status_code == 401
    assert lookup(c, clock, q(world, happyReturnsExpressCode=code), key="wrong"
                  ).status_code == 401
    r = lookup(c, clock, q(world, happyReturnsExpressCode=code, orderNumber="310001"))
    assert r.status_code == 400 and "one search criterion" in r.json()["ErrorMessage"]
    assert lookup(c, clock, q(world)).status_code == 400
    assert lookup(c, clock, q(world, externalRMAID="RMA1")).status_code == 400
    assert lookup(c, clock, {"happyReturnsExpressCode": code}).status_code == 400
    assert lookup(c, clock, ["not", "an", "object"]).status_code == 400


def test_lookup_answers(world: scenario.World, hr: tuple[httpx.Client, Clock]) -> None:
    c, clock = hr
    lk = world.cases["LK1"].hr
    r = lookup(c, clock, q(world, happyReturnsExpressCode=lk.express_code.lower()))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert tuple(doc) == fake_hr.ASN_KEYS  # "the same fields as the return webhook" (C5)
    assert (doc["event"], doc["typeID"]) == (STATUS, APPROVED)
    assert doc["otherEvents"][0] == {"event": STATUS, "typeID": DROPPED_OFF}
    assert {it["happyReturnsExpressCode"] for it in doc["items"]} == {lk.express_code}
    # unknown -> 204, empty body
    r = lookup(c, clock, q(world, happyReturnsExpressCode="HRZZZZZZ"))
    assert r.status_code == 204 and r.content == b""
    # the other retailer's code is not ours (204); under its own retailer it is found
    outlet = world.erp_only_refs[0]
    assert lookup(c, clock, q(world, happyReturnsExpressCode=outlet)).status_code == 204
    r = lookup(c, clock, {"happyReturnsRetailerID": scenario.DECOY_RETAILER_ID,
                          "happyReturnsExpressCode": outlet})
    assert r.status_code == 200 and r.json()["retailerID"] == scenario.DECOY_RETAILER_ID
    # H14's code exists at both retailers: ours is started, the outlet's approved
    h14 = world.cases["H14"].hr
    assert lookup(c, clock, q(world, happyReturnsExpressCode=h14.express_code)
                  ).json()["typeID"] == STARTED
    # the forged delivery's return is really only dropped off
    h19 = world.cases["H19"].hr
    assert lookup(c, clock, q(world, happyReturnsExpressCode=h19.express_code)
                  ).json()["typeID"] == DROPPED_OFF
    # by order number and by e-mail
    multi = world.cases["H15"].hr
    for on in multi.order_numbers():
        doc = lookup(c, clock, q(world, orderNumber=on)).json()
        assert doc["items"][0]["happyReturnsReturnID"] == multi.return_id
        assert len(doc["items"]) == 2  # every order of the return (C5)
    r = lookup(c, clock, q(world, email=lk.email.upper()))
    assert r.status_code == 200
    assert lookup(c, clock, q(world, orderNumber="#" + lk.units[0].order_number)
                  ).status_code == 204  # hr U7: no '#' games


def test_leaky_bucket(world: scenario.World, hr: tuple[httpx.Client, Clock]) -> None:
    """hr §3, §8.3: 0.5 requests/s, bucket size 2 here; a full bucket is a 429 whose body
    names the limit; it drains at 0.5/s; a refused request does not fill it."""
    c, clock = hr
    body = json.dumps(q(world, happyReturnsExpressCode=world.lookup_only[0]))
    h = {"X-Hr-Apikey": fake_hr.API_KEY}
    clock.now += 100
    assert c.post("/return", content=body, headers=h).status_code == 200
    assert c.post("/return", content=body, headers=h).status_code == 200
    r = c.post("/return", content=body, headers=h)
    assert r.status_code == 429
    assert r.json() == {"ErrorMessage": "too many requests: limit 0.500000 requests/sec, "
                                        "leaky bucket size 2"}
    clock.now += 1.0  # half a request drained: still full
    assert c.post("/return", content=body, headers=h).status_code == 429
    clock.now += 1.0  # one drained (the refused ones added nothing)
    assert c.post("/return", content=body, headers=h).status_code == 200
    assert c.post("/return", content=body, headers=h).status_code == 429
    clock.now += 4.0
    assert c.post("/return", content=body, headers=h).status_code == 200
    assert c.post("/return", content=body, headers=h).status_code == 200
    log = c._transport._t.app.state.log  # type: ignore[attr-defined]
    assert [e["status"] for e in log][-8:] == [200, 200, 429, 429, 200, 429, 200, 200]


def test_ping_and_unknown_paths(hr: tuple[httpx.Client, Clock]) -> None:
    c, _clock = hr
    assert c.get("/webhooks", headers={"X-Hr-Apikey": fake_hr.API_KEY}).json() == []
    assert c.get("/returns").status_code == 404


# ============================================================================ the world
def _catalogue_codes() -> set[str]:
    text = (Path(__file__).resolve().parents[3] / "docs" / "exceptions.md").read_text()
    return set(re.findall(r"^\| `([A-Z_]+)` \| [a-z_]+ \|", text, re.M))


def test_truth_uses_catalogue_codes_with_notes(world: scenario.World) -> None:
    codes = _catalogue_codes()
    assert len(codes) == 28
    assert {c for _r, c in world.truth} <= codes
    assert len({r for r, _c in world.truth}) == 13
    for pair in world.truth:
        assert "§" in world.plant_notes[pair], pair
    invisible = {"REFUND_AMOUNT_MISMATCH", "TAX_MISMATCH", "RECEIPT_NOT_POSTED",
                 "CREDIT_BEFORE_RECEIPT", "DISPOSITION_UNMAPPED", "DISPOSITION_LOCATION_WRONG",
                 "CLOSED_PERIOD", "FEE_ITEM_UNMAPPED", "PAYMENT_METHOD_UNMAPPED"}
    assert not {c for _r, c in world.truth} & invisible
    healthy = [cs for k, cs in world.cases.items() if k.startswith(("H", "LK"))]
    assert len(healthy) == 22 and len(world.cases) == 33
    assert not {cs.hr.express_code for cs in healthy} & {r for r, _c in world.truth}


def test_identifiers(world: scenario.World) -> None:
    ours = [cs.hr for cs in world.cases.values()]
    codes = [h.express_code for h in ours]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"HR[A-Z2-9]{6}", c) for c in codes)
    assert all(len(h.return_id) == 36 for h in ours)
    for cs in world.cases.values():
        assert cs.link in (cs.hr.express_code, cs.hr.external_rma_id)
        assert len(cs.link) <= 20  # fo U14
    ext_linked = [cs for cs in world.cases.values() if cs.link == cs.hr.external_rma_id]
    assert len(ext_linked) == 3
    assert world.aliases[world.cases["H13"].hr.return_id] == world.by_key("H13")


def _headers(world: scenario.World, company: str = fo_scenario.COMPANY
             ) -> list[dict[str, Any]]:
    return [r for r in world.fo["ReturnOrderHeadersV2"] if r["dataAreaId"] == company]


def test_fo_side(world: scenario.World) -> None:
    heads = _headers(world)
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for h in heads:
        by_ref.setdefault(h["CustomersOrderReference"], []).append(h)
    for k, cs in world.cases.items():
        n = len(by_ref.get(cs.link, []))
        assert n == {"nothing": 0}.get(cs.erp, cs.erp.count("+") + 1), k
    assert world.by_key("P01") in {h["CustomersOrderReference"]
                                   for h in _headers(world, fo_scenario.DECOY_COMPANY)}
    assert "" in by_ref and "EBAY-3391-R" in by_ref and world.erp_only_refs[0] in by_ref
    # credit notes of approved returns: dated after WALL, within 24 h; receipts before WALL
    invoices = {h["SalesOrderNumber"]: h for h in world.fo["SalesInvoiceHeadersV2"]
                if h["TotalInvoiceAmount"] < 0}
    for k in ("H01", "H05", "H15", "LK1", "P05"):
        h = by_ref[world.by_key(k)][0]
        on = datetime.fromisoformat(invoices[h["ReturnOrderNumber"]]["InvoiceDate"])
        assert WALL < on <= WALL + timedelta(hours=24), k
        lines = [ln for ln in world.fo["ReturnOrderLinesV2"]
                 if ln["ReturnOrderNumber"] == h["ReturnOrderNumber"]]
        assert all(datetime.fromisoformat(ln["ActualReturnArrivalDate"]) < WALL
                   for ln in lines)
    assert world.check_now - world.wall == timedelta(days=2)
    # the duplicate: two return orders, two credit notes
    assert len(by_ref[world.by_key("P03")]) == 2
    # the fiscal periods around WALL are open for ledger FRGB
    open_ = {(p["YearName"], p["PeriodName"]) for p in world.fo["LedgerFiscalPeriods"]
             if p["LedgerName"] == "FRGB" and p["PeriodStatus"] == "Open"}
    assert ("2026", "Period 11") in open_ and ("2026", "Period 12") in open_
    assert ("2026", "Period 10") not in open_


def test_fo_fake_serves_this_world(world: scenario.World) -> None:
    app = fake_fo.make_app(world)
    with httpx.Client(transport=_SyncASGI(app), base_url="http://testserver") as c:
        tok = c.post(f"/{fo_scenario.TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": fo_scenario.CLIENT_ID,
            "client_secret": fo_scenario.CLIENT_SECRET,
            "scope": "http://testserver/.default"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {tok}"}
        code = world.lookup_only[0]
        r = c.get("/data/ReturnOrderHeadersV2", headers=auth, params={
            "cross-company": "true",
            "$filter": f"dataAreaId eq 'frgb' and CustomersOrderReference eq '{code}'"})
        assert r.status_code == 200, r.text
        assert len(r.json()["value"]) == 1

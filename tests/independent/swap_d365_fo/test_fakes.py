"""Self-tests of the F&O fake (and the scenario), no product involved: the fake must behave as
docs/vendors/d365-fo.md says before it can judge the product.

Run:  .venv/bin/python -m pytest -q -n 0 tests/independent/swap_d365_fo/test_fakes.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest

from . import fake_fo, scenario

BASE = "http://testserver"  # Client's host: the "environment URL" of this fake
TOKEN_PATH = f"/{scenario.TENANT}/oauth2/v2.0/token"
CO = scenario.COMPANY
ENUM = "Microsoft.Dynamics.DataEntities"


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


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


Client = httpx.Client


def _client(app: Any) -> httpx.Client:
    return httpx.Client(transport=_SyncASGI(app), base_url=BASE)


@pytest.fixture()
def client(world: scenario.World) -> Iterator[Client]:
    with _client(fake_fo.make_app(world)) as c:
        yield c


def _token(c: Client, scope: str = f"{BASE}/.default", **over: str) -> Any:
    form = {
        "grant_type": "client_credentials",
        "client_id": scenario.CLIENT_ID,
        "client_secret": scenario.CLIENT_SECRET,
        "scope": scope,
        **over,
    }
    return c.post(TOKEN_PATH, data=form)


@pytest.fixture()
def auth(client: Client) -> dict[str, str]:
    r = _token(client)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def get(c: Client, auth: dict[str, str], path: str, **params: str) -> Any:
    url = path
    if params:
        url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return c.get(url, headers=auth)


def read_all(c: Client, auth: dict[str, str], first: str) -> tuple[list[dict], int]:
    rows: list[dict] = []
    pages = 0
    url: str | None = first
    while url:
        r = c.get(url, headers=auth)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert len(doc["value"]) <= fake_fo.MAX_PAGE
        rows += doc["value"]
        pages += 1
        url = doc.get("@odata.nextLink")
        if url:
            assert url.startswith(f"{BASE}/data/"), url  # absolute, followed as-is
    return rows, pages


def co_filter(extra: str = "") -> str:
    f = f"dataAreaId eq '{CO}'"
    return f + (f" and {extra}" if extra else "")


# =============================================================================== token (§2.2)
def test_token_success_shape(client: Client) -> None:
    r = _token(client)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].count(".") == 2


@pytest.mark.parametrize(
    ("over", "path", "status", "error"),
    [
        ({"client_secret": "wrong"}, TOKEN_PATH, 401, "invalid_client"),
        ({"client_id": "someone-else"}, TOKEN_PATH, 400, "unauthorized_client"),
        ({"scope": "https://example.test"}, TOKEN_PATH, 400, "invalid_scope"),
        ({"grant_type": "password"}, TOKEN_PATH, 400, "unsupported_grant_type"),
        ({}, "/organizations/oauth2/v2.0/token", 400, "invalid_request"),
        ({}, "/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", 400, "invalid_request"),
    ],
)
def test_token_refusals(client: Client, over: dict, path: str, status: int,
                        error: str) -> None:
    form = {"grant_type": "client_credentials", "client_id": scenario.CLIENT_ID,
            "client_secret": scenario.CLIENT_SECRET, "scope": f"{BASE}/.default", **over}
    r = client.post(path, data=form)
    assert r.status_code == status
    assert r.json()["error"] == error
    assert r.json()["error_description"].startswith("AADSTS")


def test_token_json_body_is_refused(client: Client) -> None:
    r = client.post(TOKEN_PATH, json={"grant_type": "client_credentials"})
    assert r.status_code == 400


def test_data_needs_a_token_for_this_environment(client: Client) -> None:
    assert client.get("/data/ReturnOrderHeadersV2").status_code == 401
    assert client.get("/data/$metadata").status_code == 401
    # audience must be the environment URL, lower case, no trailing slash (§2.2)
    for scope in (f"{BASE}//.default", "HTTP://TESTSERVER/.default", "https://other/.default"):
        tok = _token(client, scope=scope).json()["access_token"]
        r = client.get("/data/ReturnOrderHeadersV2", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 401, scope
        assert "invalid_token" in r.headers["www-authenticate"]


# ================================================================= companies (§1.2, §5.9)
def test_cross_company_and_default_company(client: Client, auth: dict[str, str],
                                           world: scenario.World) -> None:
    rows, _ = read_all(client, auth, "/data/ReturnOrderHeadersV2")
    assert {r["dataAreaId"] for r in rows} == {scenario.DEFAULT_COMPANY}
    r = get(client, auth, "/data/ReturnOrderHeadersV2", **{"$filter": co_filter()})
    assert r.status_code == 200 and r.json()["value"] == []
    rows, _ = read_all(client, auth, "/data/ReturnOrderHeadersV2?cross-company=true")
    assert {r["dataAreaId"] for r in rows} == {CO, scenario.DECOY_COMPANY}
    rows, _ = read_all(
        client, auth, "/data/ReturnOrderHeadersV2?cross-company=true&$filter="
        + quote(co_filter(), safe=""))
    want = [r for r in world.fo["ReturnOrderHeadersV2"] if r["dataAreaId"] == CO]
    assert sorted(r["ReturnOrderNumber"] for r in rows) == sorted(
        r["ReturnOrderNumber"] for r in want)


def test_shared_entities_have_no_dataareaid(client: Client, auth: dict[str, str]) -> None:
    r = get(client, auth, "/data/LedgerFiscalPeriods",
            **{"cross-company": "true", "$filter": co_filter()})
    assert r.status_code == 400
    assert "dataAreaId" in r.json()["error"]["innererror"]["message"]
    rows, _ = read_all(client, auth, "/data/LedgerFiscalPeriods?$filter="
                       + quote("LegalEntityId eq 'FRGB' and PeriodName eq 'Period 9'", safe=""))
    assert {(r["YearName"], r["PeriodStatus"]) for r in rows} == {
        ("2025", "Closed"), ("2026", "Closed"), ("2027", "Open")}


# ============================================================================= paging (§3.2)
def test_server_driven_paging_over_every_line(client: Client, auth: dict[str, str],
                                              world: scenario.World) -> None:
    first = ("/data/ReturnOrderLinesV2?cross-company=true&$filter=" + quote(co_filter(), safe="")
             + "&$top=10000")
    rows, pages = read_all(client, auth, first)
    want = [r for r in world.fo["ReturnOrderLinesV2"] if r["dataAreaId"] == CO]
    assert len(rows) == len(want) > 3 * fake_fo.MAX_PAGE
    assert pages == -(-len(want) // fake_fo.MAX_PAGE)
    keys = [(r["ReturnOrderNumber"], r["ReturnInventoryLotId"]) for r in rows]
    assert len(set(keys)) == len(keys)


def test_top_skip_and_count(client: Client, auth: dict[str, str]) -> None:
    rows, pages = read_all(client, auth, "/data/CustomersV3?cross-company=true&$top=10&$skip=3")
    assert len(rows) == 10 and pages == 2
    allrows, _ = read_all(client, auth, "/data/CustomersV3?cross-company=true")
    assert [r["CustomerAccount"] for r in rows] == [
        r["CustomerAccount"] for r in allrows][3:13]
    r = get(client, auth, "/data/CustomersV3", **{"cross-company": "true", "$count": "true",
                                                 "$top": "2"})
    assert r.json()["@odata.count"] == len(allrows)
    assert list(r.json())[:2] == ["@odata.context", "@odata.count"]
    r = get(client, auth, "/data/CustomersV3/$count", **{"cross-company": "true"})
    assert r.text == str(len(allrows))


def test_skiptoken_is_bound_to_its_query(client: Client, auth: dict[str, str]) -> None:
    r = get(client, auth, "/data/CustomersV3", **{"cross-company": "true"})
    link = r.json()["@odata.nextLink"]
    assert "$skiptoken=" in link
    assert client.get(link, headers=auth).status_code == 200
    tampered = link.replace("cross-company=true", "cross-company=true&$top=3")
    assert client.get(tampered, headers=auth).status_code == 400
    assert client.get(link + "x", headers=auth).status_code == 400


def test_orderby(client: Client, auth: dict[str, str]) -> None:
    rows, _ = read_all(client, auth, "/data/SalesInvoiceHeadersV2?cross-company=true&$orderby="
                       + quote("InvoiceDate desc,InvoiceNumber", safe="") + "&$select="
                       + "InvoiceDate,InvoiceNumber")
    dates = [r["InvoiceDate"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    r = get(client, auth, "/data/SalesInvoiceHeadersV2", **{"$orderby": "Nope"})
    assert r.status_code == 400


# ======================================================================= $filter (§3.1, §3.3)
def test_enum_literals_must_be_qualified(client: Client, auth: dict[str, str],
                                         world: scenario.World) -> None:
    good = co_filter(f"ReturnStatus eq {ENUM}.ReturnStatusLine'Registered'")
    rows, _ = read_all(client, auth, "/data/ReturnOrderLinesV2?cross-company=true&$filter="
                       + quote(good, safe=""))
    want = [r for r in world.fo["ReturnOrderLinesV2"]
            if r["dataAreaId"] == CO and r["ReturnStatus"] == "Registered"]
    assert len(rows) == len(want) > 0
    bad = {
        "bare string": "ReturnStatus eq 'Registered'",
        "integer": "ReturnStatus eq 2",
        "other enum type": f"ReturnStatus eq {ENUM}.ReturnStatusHeader'Open'",
        "unknown member": f"ReturnStatus eq {ENUM}.ReturnStatusLine'Arrived'",
        "ordering on enum": f"ReturnStatus gt {ENUM}.ReturnStatusLine'Registered'",
        "wrong namespace": "ReturnStatus eq Microsoft.Dynamics.ReturnStatusLine'Registered'",
    }
    for why, flt in bad.items():
        r = get(client, auth, "/data/ReturnOrderLinesV2", **{"cross-company": "true",
                                                            "$filter": flt})
        assert r.status_code == 400, why
        err = r.json()["error"]
        assert err["code"] == "" and err["message"] == "An error has occurred.", why
        assert err["innererror"]["message"], why
    r = get(client, auth, "/data/ReturnOrderLinesV2", **{"cross-company": "true",
                                                        "$filter": f"ReturnStatus ne {ENUM}."
                                                        "ReturnStatusLine'Invoiced'"})
    assert r.status_code == 200


def test_operators_lower_case_only(client: Client, auth: dict[str, str]) -> None:
    for flt in (
        f"dataAreaId eq '{CO}' And ReturnOrderNumber ne ''",
        f"dataAreaId EQ '{CO}'",
        f"not (dataAreaId eq '{CO}') OR ReturnOrderNumber eq 'x'",
        f"dataAreaId in ('{CO}')",
        "contains(CustomersOrderReference, 'RMA')",
        "OrderTotalAmount add 1 gt 0",
        "NoSuchField eq 'x'",
        "ReturnDeadline gt '2026-01-01'",
        "dataAreaId eq",
    ):
        r = get(client, auth, "/data/ReturnOrderHeadersV2", **{"cross-company": "true",
                                                              "$filter": flt})
        assert r.status_code == 400, flt


def test_or_chains_wildcards_and_dates(client: Client, auth: dict[str, str]) -> None:
    flt = co_filter("(CustomersOrderReference eq 'RMA-FR-6101' or CustomersOrderReference eq "
                    "'rma-fr-6102')")
    rows, _ = read_all(client, auth, "/data/ReturnOrderHeadersV2?cross-company=true&$filter="
                       + quote(flt, safe=""))
    assert {r["CustomersOrderReference"] for r in rows} == {"RMA-FR-6101", "RMA-FR-6102"}
    rows, _ = read_all(client, auth, "/data/ReturnOrderHeadersV2?cross-company=true&$filter="
                       + quote(co_filter("CustomersOrderReference eq 'EBAY*'"), safe=""))
    assert [r["CustomersOrderReference"] for r in rows] == ["EBAY-3391-R"]
    flt = co_filter("InvoiceDate ge 2026-10-01T00:00:00Z and InvoiceDate lt 2026-11-01T00:00:00Z"
                    " and TotalInvoiceAmount lt 0")
    rows, _ = read_all(client, auth, "/data/SalesInvoiceHeadersV2?cross-company=true&$filter="
                       + quote(flt, safe=""))
    assert rows and all(r["InvoiceDate"].startswith("2026-10") for r in rows)
    assert all(r["TotalInvoiceAmount"] < 0 for r in rows)
    flt = co_filter("ActualReturnArrivalDate gt 1900-01-01T12:00:00Z")
    rows, _ = read_all(client, auth, "/data/ReturnOrderLinesV2?cross-company=true&$filter="
                       + quote(flt, safe=""))
    assert rows and all(r["ReturnStatus"] not in ("Awaiting", "Canceled") for r in rows)


# ============================================================= $select, $expand, keys (§1.1)
def test_select_and_etag(client: Client, auth: dict[str, str]) -> None:
    r = get(client, auth, "/data/ReturnOrderHeadersV2",
            **{"cross-company": "true", "$select": "ReturnOrderNumber,ReturnStatus"})
    doc = r.json()
    assert doc["@odata.context"].endswith("#ReturnOrderHeadersV2(ReturnOrderNumber,ReturnStatus)")
    for rec in doc["value"]:
        assert set(rec) == {"@odata.etag", "ReturnOrderNumber", "ReturnStatus"}
        assert re.fullmatch(r'W/"[A-Za-z0-9+/=]+"', rec["@odata.etag"])
    r = get(client, auth, "/data/ReturnOrderHeadersV2", **{"$select": "Nope"})
    assert r.status_code == 400


def test_expand_first_level_only(client: Client, auth: dict[str, str]) -> None:
    flt = co_filter("CustomersOrderReference eq 'RMA-FR-6101'")
    r = get(client, auth, "/data/ReturnOrderHeadersV2",
            **{"cross-company": "true", "$filter": flt,
               "$expand": "ReturnOrderLines($select=ItemNumber,ReturnSalesQuantity)"})
    assert r.status_code == 200, r.text
    (hdr,) = r.json()["value"]
    assert [ln["ReturnSalesQuantity"] for ln in hdr["ReturnOrderLines"]] == [-1, -1]
    r = get(client, auth, "/data/ReturnOrderHeadersV2",
            **{"cross-company": "true",
               "$expand": "ReturnOrderLines($expand=ReturnOrderHeader)"})
    assert r.status_code == 400


def test_key_access_and_navigation(client: Client, auth: dict[str, str],
                                   world: scenario.World) -> None:
    hdr = next(r for r in world.fo["ReturnOrderHeadersV2"]
               if r["dataAreaId"] == CO and r["CustomersOrderReference"] == "RMA-FR-6115")
    key = f"(dataAreaId='{CO}',ReturnOrderNumber='{hdr['ReturnOrderNumber']}')"
    r = client.get(f"/data/ReturnOrderHeadersV2{key}?cross-company=true", headers=auth)
    assert r.status_code == 200 and r.json()["RMANumber"] == hdr["RMANumber"]
    assert r.json()["@odata.context"].endswith("#ReturnOrderHeadersV2/$entity")
    # not the default company: without cross-company the key is not found (CHOICE 6)
    assert client.get(f"/data/ReturnOrderHeadersV2{key}", headers=auth).status_code == 404
    r = client.get(f"/data/ReturnOrderHeadersV2{key}/ReturnOrderLines?cross-company=true",
                   headers=auth)
    assert len(r.json()["value"]) == 2
    partial = f"(ReturnOrderNumber='{hdr['ReturnOrderNumber']}')"
    r = client.get(f"/data/ReturnOrderHeadersV2{partial}?cross-company=true", headers=auth)
    assert r.status_code == 400
    assert client.get("/data/NoSuchEntities", headers=auth).status_code == 404
    assert client.get("/data/SalesReturnOrderHeadersV2", headers=auth).status_code == 404


# ========================================================================= values (§3.3, §3.4)
def test_wire_values(client: Client, auth: dict[str, str]) -> None:
    rows, _ = read_all(client, auth, "/data/ReturnOrderLinesV2?cross-company=true")
    props = fake_fo.ENTITIES["ReturnOrderLinesV2"].props
    for rec in rows:
        assert set(rec) == {"@odata.etag", *props}
        assert rec["dataAreaId"] == rec["dataAreaId"].lower()
        assert rec["ReturnSalesQuantity"] < 0
        assert rec["ReturnStatus"] in fake_fo.ENUMS["ReturnStatusLine"]
        if rec["ReturnStatus"] in ("Awaiting", "Canceled"):
            assert rec["ActualReturnArrivalDate"] == "1900-01-01T12:00:00Z"
        else:
            assert rec["ActualReturnArrivalDate"].endswith("T12:00:00Z")
        assert rec["ReturnAddressTimeZone"] is None
    cust, _ = read_all(client, auth, "/data/CustomersV3?cross-company=true")
    assert {c["AddressValidTo"] for c in cust} == {"1900-01-01T00:00:00Z"}
    assert {c["OnHoldStatus"] for c in cust} >= {"No", "All", "Payment"}


def test_metadata_and_service_document(client: Client, auth: dict[str, str]) -> None:
    xml = client.get("/data/$metadata", headers=auth).text
    assert '<EnumType Name="ReturnStatusLine">' in xml
    assert '<Member Name="Awaiting" Value="1" />' in xml
    assert '<EntitySet Name="ReturnOrderHeadersV2"' in xml
    names = {v["name"] for v in client.get("/data", headers=auth).json()["value"]}
    assert {"ReturnOrderHeadersV2", "ReturnOrderLinesV2", "SalesInvoiceHeadersV2",
            "LedgerFiscalPeriods"} <= names


# ============================================================================= $batch (§3.5)
def test_batch_multipart_get(client: Client, auth: dict[str, str]) -> None:
    b = "batch_36522ad7-fc75-4b56-8c71-56071383e77b"
    q = quote(co_filter("CustomersOrderReference eq 'RMA-FR-6101'"), safe="")
    body = (
        f"--{b}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET ReturnOrderHeadersV2?cross-company=true&$filter={q} HTTP/1.1\r\n"
        "Accept: application/json\r\n\r\n"
        f"--{b}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {BASE}/data/Warehouses?cross-company=true HTTP/1.1\r\n\r\n"
        f"--{b}--\r\n"
    )
    r = client.post("/data/$batch", content=body,
                    headers={**auth, "Content-Type": f"multipart/mixed; boundary={b}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert r.text.count("HTTP/1.1 200 OK") == 2
    assert "RMA-FR-6101" in r.text and "RET-Q" in r.text
    r = client.post("/data/$batch", json={"requests": []}, headers=auth)
    assert r.status_code == 400


# ========================================================================= throttling (§4.1)
def test_throttling_429_with_retry_after(world: scenario.World) -> None:
    app = fake_fo.make_app(world, throttle_every=3, throttle_max=1, retry_after=1)
    with _client(app) as c:
        h = {"Authorization": f"Bearer {_token(c).json()['access_token']}"}
        statuses = [c.get("/data/Warehouses", headers=h) for _ in range(7)]
    codes = [r.status_code for r in statuses]
    assert codes == [200, 200, 429, 200, 200, 200, 200]
    assert statuses[2].headers["retry-after"] == "1"
    assert "exeeded the limit" in statuses[2].json()["error"]["innererror"]["message"]
    assert [e["status"] for e in app.state.log if e["path"] == "/data/Warehouses"] == codes


# ============================================================================= the scenario
def test_every_swap_return_has_its_story(world: scenario.World) -> None:
    refs = [r["rma_number"] for r in world.swap_returns[scenario.STORE_ID]]
    assert len(refs) == len(set(refs)) >= 40
    assert all(world.plant_notes.get(pair) for pair in world.truth)
    linked = {r["CustomersOrderReference"] for r in world.fo["ReturnOrderHeadersV2"]
              if r["dataAreaId"] == CO}
    assert "RMA-FR-6201" not in linked  # RETURN_ORDER_MISSING
    assert {"EBAY-3391-R", "RMA-FR-9102"} <= linked and not {"EBAY-3391-R", "RMA-FR-9102"} & set(
        refs)


def test_planted_codes_exist_in_the_catalogue(world: scenario.World) -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "exceptions.md").read_text()
    catalogue = set(re.findall(r"^\| `([A-Z_]+)` \|", text, re.M))
    assert {code for _, code in world.truth} <= catalogue
    healthy = {r["rma_number"] for r in world.swap_returns[scenario.STORE_ID]} - {
        ref for ref, _ in world.truth}
    assert len(healthy) > len({ref for ref, _ in world.truth})  # a majority is healthy

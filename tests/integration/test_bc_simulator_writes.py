"""The BC simulator's write side spoken to directly, as BC would be: If-Match, read-only
pages and properties, deep insert validation, the post action, and the write journal."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import httpx
import pytest

from returns_console.scenarios.catalogue import build_scenario
from returns_console.systems.d365_bc.simulator import BcSimulator, render_company

NOW = datetime.now(UTC).replace(microsecond=0)
TENANT, ENV, CLIENT_ID, SECRET = "t.example", "sandbox", "client", "secret-value-1"
BASE = "http://bc.sandbox"
ROOT = f"{BASE}/v2.0/{TENANT}/{ENV}/api/v2.0"


@pytest.fixture(scope="module")
def company():
    return render_company(build_scenario(NOW, returns=80).snapshot, tenant=TENANT,
                          environment=ENV)


@pytest.fixture
async def bc(company):
    sim = BcSimulator(copy.deepcopy(company), tenant=TENANT, environment=ENV,
                      client_id=CLIENT_ID, client_secret=SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app())) as http:
        token = (await http.post(f"{BASE}/{TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "scope": "https://api.businesscentral.dynamics.com/.default"})).json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        http.base_url = f"{ROOT}/companies({sim.data.company['id']})/"
        yield sim, http


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"].split("  CorrelationId")[0]


async def test_patch_checks_the_token_and_answers_the_changed_record(bc) -> None:
    sim, http = bc
    order = sim.data.sets["salesOrders"][0]
    url = f"salesOrders({order['id']})"
    assert error(await http.patch(url, json={"externalDocumentNumber": "X"})) == (
        400, "BadRequest_InvalidToken", "Could not validate the client concurrency token "
        "required by the service. Please provide a valid token in the client request.")
    assert error(await http.patch(url, json={"externalDocumentNumber": "X"},
                                  headers={"If-Match": 'W/"stale"'})) == (
        409, "Request_EntityChanged", "Another user has already changed the record.")
    ok = await http.patch(url, json={"externalDocumentNumber": "R-NEW"},
                          headers={"If-Match": order["@odata.etag"]})
    assert ok.status_code == 200
    body = ok.json()
    assert body["externalDocumentNumber"] == "R-NEW"
    assert body["@odata.etag"] != order["@odata.etag"]
    assert body["lastModifiedDateTime"] > order["lastModifiedDateTime"]
    assert body["@odata.context"].endswith("/salesOrders/$entity")
    # `*` passes, as in BC (the connector never sends it).
    star = await http.patch(url, json={"externalDocumentNumber": "R-NEWER"},
                            headers={"If-Match": "*"})
    assert star.status_code == 200
    assert [(w["method"], w["status"]) for w in sim.writes] == [
        ("PATCH", 400), ("PATCH", 409), ("PATCH", 200), ("PATCH", 200)]


async def test_patch_refuses_what_bc_refuses(bc) -> None:
    sim, http = bc
    memo = next(m for m in sim.data.sets["salesCreditMemos"] if m["status"] == "Open")
    order = sim.data.sets["salesOrders"][0]
    etag = {"If-Match": order["@odata.etag"]}
    cases = [
        (f"salesCreditMemos({memo['id']})", {"externalDocumentNumber": "X"},
         {"If-Match": memo["@odata.etag"]},
         (400, "Application_DialogException",
          "The credit memo has been posted and can no longer be modified.")),
        (f"salesOrders({order['id']})", {"colour": "red"}, etag,
         (400, "BadRequest",
          "Could not find a property named 'colour' on type 'Microsoft.NAV.salesOrder'.")),
        (f"salesOrders({order['id']})", {"id": "00000000-0000-0000-0000-000000000001"}, etag,
         (400, "Application_DialogException", 'The "id" cannot be changed.')),
        (f"salesOrders({order['id']})", {"externalDocumentNumber": "R" * 36}, etag,
         (400, "Application_StringExceededLength",
          f"The length of the string is 36, but it must be less than or equal to 35 "
          f"characters. Value: {'R' * 36}")),
    ]
    for url, body, headers, want in cases:
        assert error(await http.patch(url, json=body, headers=headers)) == want, url
    ro = sim.data.sets["salesReturnOrders"][0]
    status, code, message = error(await http.patch(
        f"salesReturnOrders({ro['id']})", json={"externalDocumentNumber": "X"},
        headers={"If-Match": ro["@odata.etag"]}))
    assert (status, code) == (405, "BadRequest_MethodNotAllowed")
    assert "'PATCH' requests for 'salesReturnOrders'" in message
    assert error(await http.put(f"salesOrders({order['id']})", json={}))[0] == 405
    assert error(await http.post("salesOrders", json={}))[0] == 405
    assert sim.data.find("salesCreditMemos", id=memo["id"]) == memo


async def test_deep_insert_validates_like_bc_and_creates_nothing_on_error(bc) -> None:
    sim, http = bc
    before = copy.deepcopy(sim.data.sets["salesCreditMemos"])
    line = {"lineType": "Item", "lineObjectNumber": "SOCK-W", "quantity": 1}
    cases = [
        ({"externalDocumentNumber": "R-1"},
         (400, "Application_DialogException",
          'A "customerNumber" or a "customerId" must be provided.')),
        ({"customerNumber": "C99999"},
         (400, "Application_FieldValidationException",
          "The field Sell-to Customer No. of table Sales Header contains a value (C99999) "
          "that cannot be found in the related table (Customer).")),
        ({"customerNumber": "C00001", "status": "Open"},
         (400, "BadRequest",
          "Could not find a property named 'status' on type 'Microsoft.NAV.salesCreditMemo'.")),
        ({"customerNumber": "C00001", "salesCreditMemoLines": [
            line, {**line, "unitOfMeasureCode": "BOX"}]},
         (400, "Application_FieldValidationException",
          "The field Unit of Measure Code of table Sales Line contains a value (BOX) that "
          "cannot be found in the related table (Item Unit of Measure).")),
        ({"customerNumber": "C00001", "salesCreditMemoLines": [
            {**line, "locationId": "00000000-0000-0000-0000-00000000abcd"}]},
         (400, "Application_DialogException", 'The "locationId" does not match to a '
                                              'Location.')),
        ({"customerNumber": "C00001", "invoiceId": "00000000-0000-0000-0000-00000000abcd"},
         (400, "Application_DialogException", 'The "invoiceId" does not match to an '
                                              'Invoice.')),
        ({"customerNumber": "C00001", "salesCreditMemoLines": [{**line, "colour": "red"}]},
         (400, "BadRequest", "Could not find a property named 'colour' on type "
                             "'Microsoft.NAV.salesCreditMemoLine'.")),
    ]
    for body, want in cases:
        assert error(await http.post("salesCreditMemos", json=body)) == want, body
    assert sim.data.sets["salesCreditMemos"] == before
    assert [w["status"] for w in sim.writes] == [400] * len(cases)


async def test_create_expand_and_post(bc) -> None:
    sim, http = bc
    invoice = sim.data.sets["salesInvoices"][0]
    made = await http.post("salesCreditMemos", params={"$expand": "salesCreditMemoLines"},
                           json={"customerNumber": "C00002", "externalDocumentNumber": "R-77",
                                 "invoiceNumber": invoice["number"], "salesCreditMemoLines": [
                                     {"lineObjectNumber": "TEE-WHT-L", "quantity": 3,
                                      "unitPrice": 10.5}]})
    assert made.status_code == 201
    memo = made.json()
    assert made.headers["Location"].endswith(f"/salesCreditMemos({memo['id']})")
    assert (memo["status"], memo["number"], memo["invoiceId"]) == (
        "Draft", "S-CR1001", invoice["id"])
    [line] = memo["salesCreditMemoLines"]
    assert (line["amountExcludingTax"], line["totalTaxAmount"], line["unitOfMeasureCode"]) == (
        31.5, 6.3, "PCS")
    single = (await http.get(f"salesCreditMemos({memo['id']})",
                             params={"$expand": "salesCreditMemoLines"})).json()
    assert single["salesCreditMemoLines"][0]["id"] == line["id"]
    assert "salesCreditMemoLines" not in (await http.get(
        f"salesCreditMemos({memo['id']})")).json()
    assert (await http.get(f"salesCreditMemos({memo['id']})",
                           params={"$expand": "nothing"})).status_code == 400
    posted = await http.post(f"salesCreditMemos({memo['id']})/Microsoft.NAV.post")
    assert posted.status_code == 204 and posted.content == b""
    again = await http.post(f"salesCreditMemos({memo['id']})/Microsoft.NAV.post")
    assert error(again)[:2] == (404, "Internal_RecordNotFound")  # the draft is gone
    [now] = [m for m in sim.data.sets["salesCreditMemos"] if m["externalDocumentNumber"]
             == "R-77"]
    assert now["status"] == "Open" and now["id"] != memo["id"]
    assert now["number"].startswith("PCM") and now["invoiceNumber"] == invoice["number"]
    assert all(ln["documentId"] == now["id"] for ln in now["salesCreditMemoLines"])
    twice = await http.post(f"salesCreditMemos({now['id']})/Microsoft.NAV.post")
    assert error(twice) == (400, "Application_DialogException",
                            "The action can be applied to a draft credit memo only.")


async def test_the_journal_keeps_writes_only_and_no_credentials(bc) -> None:
    sim, http = bc
    await http.get("salesOrders")
    await http.post(f"{ROOT}/$batch", json={"requests": []})
    refused = await http.patch(f"salesOrders({sim.data.sets['salesOrders'][0]['id']})",
                               json={}, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    [entry] = sim.writes
    assert entry["status"] == 401 and entry["method"] == "PATCH"
    assert "authorization" not in entry["headers"] and entry["body"] == {}
    assert entry["path"].startswith("companies(")
    assert sim.clear_writes() == 1 and sim.writes == []
    assert b"Bearer" not in sim.writes_json()


async def test_knobs_fail_writes_before_or_after_and_bump_the_etag(bc) -> None:
    sim, http = bc
    order = sim.data.sets["salesOrders"][0]
    sim.fail_writes(1)
    first = await http.patch(f"salesOrders({order['id']})", json={"externalDocumentNumber": "A"},
                             headers={"If-Match": order["@odata.etag"]})
    assert first.status_code == 503 and first.headers["Retry-After"]
    assert sim.data.find("salesOrders", id=order["id"]) == order  # not done
    sim.fail_writes(1, status=500, after=True)
    second = await http.patch(f"salesOrders({order['id']})",
                              json={"externalDocumentNumber": "B"},
                              headers={"If-Match": order["@odata.etag"]})
    assert second.status_code == 500
    assert sim.data.find("salesOrders", id=order["id"])["externalDocumentNumber"] == "B"
    current = sim.data.find("salesOrders", id=order["id"])
    assert sim.bump("salesOrders", order["id"])["@odata.etag"] != current["@odata.etag"]
    with pytest.raises(KeyError):
        sim.bump("salesOrders", "missing")

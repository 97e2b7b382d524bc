"""Fast checks of the two fakes themselves (no product involved): they must behave as the
vendors' documentation says before they can judge the product.

Run:  .venv/bin/python -m pytest -q -n 0 tests/independent/shopify_netsuite/test_fakes.py
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import fake_netsuite, fake_shopify, scenario

GQL = f"/admin/api/{scenario.API_VERSION}/graphql.json"
HEADERS = {"X-Shopify-Access-Token": scenario.ACCESS_TOKEN}
NS_BASE = "http://ns.test"


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


# httpx's ASGITransport is async-only; a tiny sync wrapper keeps the tests readable
class _SyncASGI(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        import anyio

        self._app = app
        self._anyio = anyio
        self._t = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def go() -> httpx.Response:
            resp = await self._t.handle_async_request(request)
            body = await resp.aread()
            return httpx.Response(resp.status_code, headers=resp.headers, content=body)

        return self._anyio.run(go)


@pytest.fixture()
def shopc(world: scenario.World) -> Iterator[httpx.Client]:
    # a bucket large enough that these functional tests never wait (throttling: see below)
    app = fake_shopify.make_app(world, bucket_max=1e9)
    with httpx.Client(transport=_SyncASGI(app), base_url="http://shop.test") as c:
        yield c


@pytest.fixture()
def nsc(world: scenario.World) -> Iterator[httpx.Client]:
    app = fake_netsuite.make_app(world, client_id=scenario.NS_CLIENT_ID,
                                 certificates={scenario.NS_CERTIFICATE_ID: _KEY.public_key()})
    with httpx.Client(transport=_SyncASGI(app), base_url=NS_BASE) as c:
        yield c


def gql(c: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post(GQL, headers=HEADERS, json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


# ================================================================================== Shopify
ORDERS_PAGE = """
query Page($after: String, $q: String) {
  orders(first: 3, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name updatedAt
      returns(first: 2) { nodes { id name status
        returnLineItems(first: 5) { nodes { __typename id quantity
          ... on ReturnLineItem { fulfillmentLineItem { lineItem { sku } } } } }
        reverseFulfillmentOrders(first: 2) { nodes { status lineItems(first: 5) { nodes {
          totalQuantity dispositions { type createdAt quantity location { id } } } } } }
        refunds(first: 2) { nodes { createdAt totalRefundedSet { shopMoney { amount currencyCode }
          presentmentMoney { amount currencyCode } }
          refundLineItems(first: 5) { nodes { quantity restockType restocked
            subtotalSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } } } } } }
      } } } }
  }
}"""


def test_shopify_requires_access_token(shopc: httpx.Client) -> None:
    r = shopc.post(GQL, json={"query": "{ shop { name } }"})
    assert r.status_code == 401
    assert "errors" in r.json()


def test_shopify_pages_orders_to_the_end_with_cost(shopc: httpx.Client,
                                                   world: scenario.World) -> None:
    after, seen, pages, returns = None, [], 0, []
    while True:
        doc = gql(shopc, ORDERS_PAGE, {"after": after})
        assert "errors" not in doc, doc["errors"]
        cost = doc["extensions"]["cost"]
        assert cost["requestedQueryCost"] <= 1000
        assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable",
                                               "restoreRate"}
        conn = doc["data"]["orders"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        returns += [r for e in conn["edges"] for r in e["node"]["returns"]["nodes"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(world.orders)
    assert pages == -(-len(world.orders) // 3)
    names = {r["name"] for r in returns}
    assert names == {s.name for s in world.specs if s.platform}
    by = [world.nodes[g]["updatedAt"] for g in seen]
    assert by == sorted(by)
    # an interface connection: fulfillmentLineItem only through the inline fragment
    broken = next(r for r in returns if r["name"] == "#1222-R1")
    assert broken["returnLineItems"]["nodes"][0]["quantity"] is None
    assert broken["returnLineItems"]["nodes"][0]["fulfillmentLineItem"] is None


def test_shopify_updated_at_filter_and_return_status(shopc: httpx.Client,
                                                     world: scenario.World) -> None:
    since = "2026-11-20T00:00:00Z"
    doc = gql(shopc, "query($q: String) { orders(first: 250, query: $q) { nodes { updatedAt } } }",
              {"q": f"updated_at:>='{since}'"})
    got = doc["data"]["orders"]["nodes"]
    want = [g for g in world.orders if world.nodes[g]["updatedAt"] >= since]
    assert len(got) == len(want) and all(o["updatedAt"] >= since for o in got)
    doc = gql(shopc, '{ orders(first: 100, query: "return_status:return_requested") '
                     "{ nodes { returns(first: 1) { nodes { status } } } } }")
    statuses = {o["returns"]["nodes"][0]["status"] for o in doc["data"]["orders"]["nodes"]}
    assert statuses == {"REQUESTED"}


def test_shopify_cost_limit_unknown_field_and_missing_first(shopc: httpx.Client) -> None:
    too_big = ("{ orders(first: 250) { nodes { returns(first: 50) { nodes { id "
               "returnLineItems(first: 50) { nodes { id } } } } } } }")
    doc = gql(shopc, too_big)
    assert doc["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "data" not in doc
    doc = gql(shopc, "{ orders(first: 1) { nodes { id bogusField } } }")
    assert doc["errors"][0]["extensions"]["code"] == "undefinedField"
    doc = gql(shopc, "{ orders { nodes { id } } }")
    assert "first or last" in doc["errors"][0]["message"]
    doc = gql(shopc, "{ returns(first: 5) { nodes { id } } }")  # no root returns connection
    assert doc["errors"][0]["extensions"]["code"] == "undefinedField"


def test_shopify_node_lookup_and_fragments(shopc: httpx.Client, world: scenario.World) -> None:
    rid = next(g for g, n in world.nodes.items() if n["__typename"] == "Return"
               and n["name"] == "#1219-R1")
    q = """
    fragment Money on MoneyBag { shopMoney { amount currencyCode } }
    query One($id: ID!) {
      node(id: $id) { __typename ... on Return { name status order { name }
        refunds(first: 1) { nodes { totalRefundedSet { ...Money } } } } }
      r: return(id: $id) { name requestApprovedAt closedAt }
    }"""
    doc = gql(shopc, q, {"id": rid})
    assert doc["data"]["node"]["__typename"] == "Return"
    assert doc["data"]["node"]["order"]["name"] == "#1219"
    assert doc["data"]["r"]["name"] == "#1219-R1"
    money = doc["data"]["node"]["refunds"]["nodes"][0]["totalRefundedSet"]["shopMoney"]
    assert money == {"amount": "81.60", "currencyCode": "GBP"}


def test_shopify_throttles_with_status_in_extensions(world: scenario.World) -> None:
    app = fake_shopify.make_app(world, bucket_max=60, restore_rate=1)
    with httpx.Client(transport=_SyncASGI(app), base_url="http://shop.test") as c:
        q = "{ orders(first: 10) { nodes { id lineItems(first: 1) { nodes { sku } } } } }"
        first = gql(c, q)
        assert "data" in first
        second = gql(c, q)
        assert second["errors"][0]["message"] == "Throttled"
        assert second["errors"][0]["extensions"]["code"] == "THROTTLED"
        ts = second["extensions"]["cost"]["throttleStatus"]
        assert ts["maximumAvailable"] == 60 and ts["currentlyAvailable"] < 52
        assert second["extensions"]["cost"]["actualQueryCost"] is None
        assert "data" not in second
    app = fake_shopify.make_app(world, force_throttle={2})
    with httpx.Client(transport=_SyncASGI(app), base_url="http://shop.test") as c:
        assert "data" in gql(c, "{ shop { name } }")
        assert gql(c, "{ shop { name } }")["errors"][0]["message"] == "Throttled"
        assert gql(c, "{ shop { name } }")["data"]["shop"]["name"] == scenario.SHOP_NAME


# ================================================================================= NetSuite
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=3072)  # NetSuite: 3072/4096


def _b64(d: bytes) -> str:
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def assertion(alg: str = "PS256", kid: str | None = scenario.NS_CERTIFICATE_ID,
              aud: str = NS_BASE + fake_netsuite.TOKEN_PATH, life: int = 3000) -> str:
    head = {"typ": "JWT", "alg": alg, **({"kid": kid} if kid else {})}
    now = int(time.time())
    claims = {"iss": scenario.NS_CLIENT_ID, "scope": ["rest_webservices"], "aud": aud,
              "iat": now, "exp": now + life}
    signing = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = _KEY.sign(signing.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                  salt_length=32), hashes.SHA256())
    return f"{signing}.{_b64(sig)}"


def token(c: httpx.Client, **kw: Any) -> httpx.Response:
    return c.post(fake_netsuite.TOKEN_PATH, data={
        "grant_type": kw.pop("grant_type", "client_credentials"),
        "client_assertion_type": kw.pop(
            "cat", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        "client_assertion": kw.pop("jwt", None) or assertion(**kw)})


def bearer(c: httpx.Client) -> dict[str, str]:
    r = token(c)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["access_token"]
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_netsuite_token_endpoint_rules(nsc: httpx.Client) -> None:
    assert token(nsc).status_code == 200
    assert token(nsc, grant_type="authorization_code").status_code == 400
    assert token(nsc, cat="urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
                 ).status_code == 400
    assert token(nsc, alg="RS256").json()["error"] == "invalid_request"
    assert token(nsc, kid=None).status_code == 400
    assert token(nsc, life=7200).json()["error"] == "invalid_grant"
    assert token(nsc, jwt="not-a-jwt").status_code == 400


def test_netsuite_error_envelope_on_bad_token(nsc: httpx.Client) -> None:
    r = nsc.post("/services/rest/query/v1/suiteql", json={"q": "SELECT id FROM transaction"},
                 headers={"Prefer": "transient", "Authorization": "Bearer nope"})
    assert r.status_code == 401
    body = r.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_suiteql_offset_paging_to_the_end(nsc: httpx.Client, world: scenario.World) -> None:
    h = {**bearer(nsc), "Prefer": "transient"}
    q = ("SELECT t.id, t.tranid, t.otherrefnum, t.trandate, t.status, t.foreigntotal "
         "FROM transaction t WHERE t.type = 'RtnAuth' ORDER BY t.id")
    url, ids, pages = "/services/rest/query/v1/suiteql?limit=10&offset=0", [], 0
    while True:
        r = nsc.post(url, json={"q": q}, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == len(body["items"]) and body["offset"] == pages * 10
        ids += [it["id"] for it in body["items"]]
        pages += 1
        nxt = [ln["href"] for ln in body["links"] if ln["rel"] == "next"]
        assert bool(nxt) == body["hasMore"]
        if not body["hasMore"]:
            break
        url = nxt[0].replace(NS_BASE, "")
    want = [str(t["id"]) for t in world.ns["transaction"] if t["type"] == "RtnAuth"]
    assert ids == want and body["totalResults"] == len(want)
    first = nsc.post("/services/rest/query/v1/suiteql?limit=1", json={"q": q}, headers=h)
    item = first.json()["items"][0]
    assert item["trandate"].count("/") == 2  # M/D/YYYY (assumption 2)
    assert all(isinstance(v, str) for k, v in item.items() if k != "links")


def test_suiteql_requires_prefer_transient_and_reports_bad_columns(nsc: httpx.Client) -> None:
    h = bearer(nsc)
    r = nsc.post("/services/rest/query/v1/suiteql", json={"q": "SELECT id FROM transaction"},
                 headers=h)
    assert r.status_code == 400 and r.json()["o:errorDetails"][0]["o:errorCode"] == \
        "INVALID_HEADER"
    r = nsc.post("/services/rest/query/v1/suiteql", headers={**h, "Prefer": "transient"},
                 json={"q": "SELECT t.createdfrom FROM transaction t"})
    assert r.status_code == 400
    assert r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    r = nsc.post("/services/rest/query/v1/suiteql?limit=5000",
                 headers={**h, "Prefer": "transient"}, json={"q": "SELECT id FROM item"})
    assert r.status_code == 400


def test_suiteql_functions_dates_and_periods(nsc: httpx.Client) -> None:
    h = {**bearer(nsc), "Prefer": "transient"}
    q = ("SELECT t.tranid, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS d, BUILTIN.DF(t.status) AS st, "
         "BUILTIN.DF(t.postingperiod) AS per, p.closed, p.alllocked, tl.createdfrom "
         "FROM transaction t JOIN accountingperiod p ON p.id = t.postingperiod "
         "JOIN transactionline tl ON tl.transaction = t.id AND tl.mainline = 'T' "
         "WHERE t.type = 'CustCred' AND t.otherrefnum = '#1220-R1' "
         "AND t.trandate >= TO_DATE('2026-11-01', 'YYYY-MM-DD') ORDER BY t.id")
    r = nsc.post("/services/rest/query/v1/suiteql", json={"q": q}, headers=h)
    assert r.status_code == 200, r.text
    [row] = r.json()["items"]
    assert row["d"] == "2026-11-03" and row["per"] == "Nov 2026"
    assert row["closed"] == "F" and row["st"] == "Credit Memo : Fully Applied"
    oct_ = nsc.post("/services/rest/query/v1/suiteql", headers=h, json={
        "q": "SELECT periodname, closed, arlocked FROM accountingperiod "
             "WHERE isposting = 'T' AND startdate = '10/1/2026'"}).json()["items"]
    assert oct_ == [{"links": [], "periodname": "Oct 2026", "closed": "T", "arlocked": "T"}]
    # nulls are left out of a row (assumption 1)
    ra = nsc.post("/services/rest/query/v1/suiteql", headers=h, json={
        "q": "SELECT t.id, tl.createdfrom FROM transaction t JOIN transactionline tl ON "
             "tl.transaction = t.id AND tl.mainline = 'T' WHERE t.otherrefnum = '#1203-R1' "
             "AND t.type = 'RtnAuth'"}).json()["items"]
    assert len(ra) == 1 and "createdfrom" not in ra[0]


def test_record_get_collection_and_sublist(nsc: httpx.Client, world: scenario.World) -> None:
    h = bearer(nsc)
    ra = next(t for t in world.ns["transaction"] if t["type"] == "RtnAuth"
              and t["otherrefnum"] == "#1210-R1")
    r = nsc.get(f"/services/rest/record/v1/returnAuthorization/{ra['id']}", headers=h)
    assert r.status_code == 200
    rec = r.json()
    assert rec["status"] == {"id": "B", "refName": "Pending Receipt"}
    assert rec["otherRefNum"] == "#1210-R1" and "items" not in rec["item"]
    assert rec["createdFrom"]["refName"].startswith("Sales Order #")
    full = nsc.get(f"/services/rest/record/v1/returnAuthorization/{ra['id']}"
                   "?expandSubResources=true", headers=h).json()
    assert full["item"]["items"][0]["item"]["refName"] == "SHRT-CHB-L"
    lines = nsc.get(f"/services/rest/record/v1/returnAuthorization/{ra['id']}/item",
                    headers=h).json()
    assert lines["count"] == 1
    missing = nsc.get("/services/rest/record/v1/creditMemo/1", headers=h)
    assert missing.status_code == 404
    assert missing.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"
    coll = nsc.get("/services/rest/record/v1/creditMemo?limit=5", headers=h).json()
    assert coll["hasMore"] and coll["count"] == 5 and set(coll["items"][0]) == {"links", "id"}
    filt = nsc.get("/services/rest/record/v1/creditMemo",
                   params={"q": 'otherRefNum IS "#1212-R1"'}, headers=h).json()
    assert filt["totalResults"] == 2  # the planted duplicate

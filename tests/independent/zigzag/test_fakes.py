"""Self-tests of the ZigZag fake and the planted world, without the product: the fake must behave
as docs/vendors/zigzag.md says ("zz §x") and as its own CHOICES (Z1-Z9, fake_zz.py) say before it
can judge the product.

Run:  .venv/bin/python -m pytest -q -n 0 tests/independent/zigzag/test_fakes.py
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest

from ..swap_d365_fo import scenario as fo_scenario
from . import fake_zz, scenario
from .fake_zz import LIST_PATH, TOKEN_PATH

ALLOWED_CODES = {  # scenario.py's reading of what this pair can show
    "RETURN_ORDER_MISSING", "RECEIPT_NOT_POSTED", "CREDIT_NOTE_MISSING", "CREDIT_NOTE_DUPLICATE",
    "CREDIT_WITHOUT_REFUND", "QUANTITY_MISMATCH", "SKU_UNKNOWN", "SKU_INACTIVE", "UOM_MISMATCH",
    "CUSTOMER_NOT_FOUND", "REASON_UNMAPPED", "ORDER_REF_MISSING", "RETURN_ORDER_NOT_OPEN",
    "CREDIT_BEFORE_RECEIPT", "ERP_RECORD_UNLINKED",
}


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


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


def _client(world: scenario.World, **kw: Any) -> tuple[httpx.Client, Any, Clock]:
    clock = Clock()
    app = fake_zz.make_app(world.zz_returns, clock=clock, **kw)
    return httpx.Client(transport=_SyncASGI(app), base_url="http://zz.test"), app, clock


@pytest.fixture()
def zz(world: scenario.World) -> Iterator[tuple[httpx.Client, Any, Clock]]:
    c, app, clock = _client(world)
    with c:
        yield c, app, clock


def token(c: httpx.Client, path: str = TOKEN_PATH) -> str:
    r = c.post(path, json={"username": fake_zz.USERNAME, "password": fake_zz.PASSWORD})
    assert r.status_code == 200, r.text
    tok = r.json()
    assert isinstance(tok, str)
    return tok


def page(c: httpx.Client, tok: str, n: int, size: int = 10, **extra: str) -> httpx.Response:
    params = {"retailer": scenario.RETAILER, "pageNumber": str(n), "pageSize": str(size), **extra}
    return c.get(LIST_PATH, params=params, headers={"Authorization": f"Bearer {tok}"})


# ================================================================================ auth (§1.1)
def test_token_is_a_bare_jwt_string_valid_30_minutes(zz: tuple[httpx.Client, Any, Clock]
                                                     ) -> None:
    c, _app, clock = zz
    tok = token(c)
    claims = fake_zz.jwt_claims(tok)
    assert tok.count(".") == 2
    assert claims["exp"] - claims["iat"] == 1800  # zz §1.1 "expires every 30 minutes"
    assert page(c, tok, 1).status_code == 200
    clock.now += 1801
    r = page(c, tok, 1)
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
    assert page(c, token(c), 1).status_code == 200  # a new token works (zz §1.1)


def test_token_refusals(zz: tuple[httpx.Client, Any, Clock]) -> None:
    c, app, _clock = zz
    assert c.post(TOKEN_PATH, json={"username": fake_zz.USERNAME,
                                    "password": "wrong"}).status_code == 401
    assert c.post(TOKEN_PATH, json={"username": fake_zz.USERNAME}).status_code == 400
    assert c.post(TOKEN_PATH, content=b"username=a&password=b").status_code == 400
    # Z1: the third-party path is not this fake's
    r = c.post(fake_zz.DEFAULT_TOKEN_PATH, json={"username": fake_zz.USERNAME,
                                                 "password": fake_zz.PASSWORD})
    assert r.status_code == 404
    assert all(e.get("body") is None or e["body"].get("password") in (None, "***")
               for e in app.state.log)


def test_reads_need_a_bearer_token(zz: tuple[httpx.Client, Any, Clock]) -> None:
    c, _app, _clock = zz
    params = {"retailer": scenario.RETAILER}
    assert c.get(LIST_PATH, params=params).status_code == 401
    assert c.get(LIST_PATH, params=params,
                 headers={"Authorization": "Bearer nope"}).status_code == 401
    r = c.get(LIST_PATH, params=params, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


# ============================================================================ scoping (Z2)
def test_retailer_is_required_and_scopes_the_list(zz: tuple[httpx.Client, Any, Clock],
                                                  world: scenario.World) -> None:
    c, _app, _clock = zz
    tok = token(c)
    h = {"Authorization": f"Bearer {tok}"}
    assert c.get(LIST_PATH, headers=h).status_code == 400
    assert c.get(LIST_PATH, params={"retailerCode": scenario.RETAILER},
                 headers=h).status_code == 400  # the default parameter name is not this fake's
    assert c.get(LIST_PATH, params={"retailer": "XX999"}, headers=h).status_code == 403
    outlet = c.get(LIST_PATH, params={"retailer": scenario.DECOY_RETAILER}, headers=h).json()
    assert {r["retailerCode"] for r in outlet["records"]} == {scenario.DECOY_RETAILER}
    assert outlet["totalRecords"] == 3


# ============================================================================= paging (Z3)
def test_pages_of_ten_then_an_empty_one(zz: tuple[httpx.Client, Any, Clock],
                                        world: scenario.World) -> None:
    c, _app, _clock = zz
    tok = token(c)
    seen: list[str] = []
    counts = []
    for n in range(1, 6):
        body = page(c, tok, n).json()
        assert body["pageNumber"] == n and body["pageSize"] == 10
        assert body["totalRecords"] == 30 and body["totalPages"] == 3
        counts.append(len(body["records"]))
        seen += [r["returnId"] for r in body["records"]]
    assert counts == [10, 10, 10, 0, 0]
    assert len(seen) == len(set(seen)) == 30
    assert set(seen) == {r.return_id for r in world.ours}
    created = [r.created for r in sorted(world.ours, key=lambda r: seen.index(r.return_id))]
    assert created == sorted(created, reverse=True)  # newest first


def test_page_parameters(zz: tuple[httpx.Client, Any, Clock]) -> None:
    c, _app, _clock = zz
    tok = token(c)
    assert page(c, tok, 0).status_code == 400
    assert page(c, tok, 1, extra="x").status_code == 200  # unknown parameters are ignored
    h = {"Authorization": f"Bearer {tok}"}
    r = c.get(LIST_PATH, params={"retailer": scenario.RETAILER, "pageNumber": "one"}, headers=h)
    assert r.status_code == 400
    big = page(c, tok, 1, size=500).json()
    assert big["pageSize"] == fake_zz.MAX_PAGE_SIZE and len(big["records"]) == 25
    default = c.get(LIST_PATH, params={"retailer": scenario.RETAILER}, headers=h).json()
    assert default["pageSize"] == 20 and len(default["records"]) == 20


def test_modified_since(zz: tuple[httpx.Client, Any, Clock], world: scenario.World) -> None:
    c, _app, _clock = zz
    tok = token(c)
    cut = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
    body = page(c, tok, 1, size=25, modifiedSince="2026-11-18T00:00:00Z").json()
    assert {r["returnId"] for r in body["records"]} == {
        r.return_id for r in world.ours if r.state_changed >= cut}


def test_test_hooks_fire_once(world: scenario.World) -> None:
    c, _app, _clock = _client(world, expire_tokens_at_page=2, fail_once_at_page=3)
    with c:
        tok = token(c)
        assert page(c, tok, 1).status_code == 200
        assert page(c, tok, 2).status_code == 401
        tok = token(c)
        assert page(c, tok, 2).status_code == 200
        assert page(c, tok, 2).status_code == 200  # the expiry fires once
        assert page(c, tok, 3).status_code == 502
        assert page(c, tok, 3).status_code == 200


def test_token_path_can_move(world: scenario.World) -> None:
    c, _app, _clock = _client(world, token_path=fake_zz.DEFAULT_TOKEN_PATH)
    with c:
        tok = token(c, fake_zz.DEFAULT_TOKEN_PATH)
        assert page(c, tok, 1).status_code == 200
        assert c.post(TOKEN_PATH, json={}).status_code == 404


# ============================================================================ one return (Z4)
def test_get_one(zz: tuple[httpx.Client, Any, Clock], world: scenario.World) -> None:
    c, _app, _clock = zz
    tok = token(c)
    h = {"Authorization": f"Bearer {tok}"}
    ours = world.ours[0]
    r = c.get(fake_zz.GET_PATH.format(id=ours.return_id), params={"retailer": scenario.RETAILER},
              headers=h)
    assert r.status_code == 200 and r.json() == ours.to_json()
    outlet = next(z for z in world.zz_returns if z.retailer == scenario.DECOY_RETAILER)
    r = c.get(fake_zz.GET_PATH.format(id=outlet.return_id),
              params={"retailer": scenario.RETAILER}, headers=h)
    assert r.status_code == 404


# ================================================================== record shape (Z5-Z7)
def test_record_shape_statuses_and_times(world: scenario.World) -> None:
    spellings = set()
    styles = set()
    for z in world.zz_returns:
        rec = z.to_json()
        assert isinstance(rec["returnId"], str) and isinstance(rec["id"], int)
        assert set(rec) >= {"returnId", "orderNumber", "returnState", "emailAddress",
                            "dateCreated", "stateChangedDate", "products"}
        assert not {"status", "email", "updatedAt", "createdAt"} & set(rec)  # Z5
        assert fake_zz.canonical(rec["returnState"]) in fake_zz.SIX
        spellings.add(rec["returnState"])
        for key in ("dateCreated", "stateChangedDate"):
            parsed = datetime.fromisoformat(rec[key].replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # U16
            assert parsed == (z.created if key == "dateCreated" else z.state_changed)
        styles.add(z.ts_style)
        for p in rec["products"]:
            assert isinstance(p["productSku"], str) and isinstance(p["quantity"], int)
            assert isinstance(p["returnReasonId"], int)
    assert {fake_zz.canonical(s) for s in spellings} == set(fake_zz.SIX)
    assert len(spellings) > 8 and styles == set(scenario.TS_STYLES)


# ======================================================================== the planted world
def test_world_shape(world: scenario.World) -> None:
    assert len(world.ours) == 30
    healthy = [k for k in world.cases if k.startswith("H")]
    assert len(healthy) > len(world.cases) / 2
    assert {code for _ref, code in world.truth} <= ALLOWED_CODES
    for pair in world.truth:
        note = world.plant_notes[pair]
        assert "§" in note, pair  # every plant cites a doc section
    refs = {r.return_id for r in world.ours}
    for ref, _code in world.truth:
        assert ref in refs or ref in world.erp_only_refs


def test_world_links_in_fo(world: scenario.World) -> None:
    """Every HBR01 return with F&O records is linked by its returnId in frgb (fo §5.2), within
    the 20 characters of fo U14; order numbers ride in CustomerRequisitionNumber."""
    heads = [r for r in world.fo["ReturnOrderHeadersV2"]
             if r["dataAreaId"] == fo_scenario.COMPANY]
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for h in heads:
        by_ref.setdefault(h["CustomersOrderReference"], []).append(h)
    for key, cs in world.cases.items():
        ros = by_ref.get(cs.zz.return_id, [])
        assert (len(ros) > 0) == (cs.erp != "nothing"), key
        assert len(cs.zz.return_id) <= 20
        for h in ros:
            want = "" if key == "P12" else cs.zz.order_number
            assert h["CustomerRequisitionNumber"] == want, key
    assert len(by_ref[world.by_key("P04")]) == 2
    for ref in world.erp_only_refs:
        assert ref in by_ref and ref not in {r.return_id for r in world.ours}
    # the decoy company carries P01's and P03's references
    frie = {r["CustomersOrderReference"] for r in world.fo["ReturnOrderHeadersV2"]
            if r["dataAreaId"] == fo_scenario.DECOY_COMPANY}
    assert {world.by_key("P01"), world.by_key("P03")} <= frie


def test_world_quantities_match_for_healthy_returns(world: scenario.World) -> None:
    lines = world.fo["ReturnOrderLinesV2"]
    heads = {(h["dataAreaId"], h["ReturnOrderNumber"]): h for h in world.fo["ReturnOrderHeadersV2"]}
    for key, cs in world.cases.items():
        if not key.startswith("H") or cs.erp in ("nothing", "canceled"):
            continue
        got: dict[str, float] = {}
        for ln in lines:
            h = heads[(ln["dataAreaId"], ln["ReturnOrderNumber"])]
            if h["dataAreaId"] == fo_scenario.COMPANY and \
                    h["CustomersOrderReference"] == cs.zz.return_id:
                got[ln["ItemNumber"]] = got.get(ln["ItemNumber"], 0) - ln["ReturnSalesQuantity"]
        want: dict[str, float] = {}
        for p in cs.zz.products:
            item, factor = scenario.SKU_ITEM.get(p.sku, (p.sku, 1))
            want[item] = want.get(item, 0) + p.quantity * factor
        assert got == want, key

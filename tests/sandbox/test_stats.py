"""GET /_sandbox/stats: what each simulator served, per path (a page chain under one key),
requests and response body bytes as sent; DELETE starts again from zero."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.stats import path_key
from returns_console.systems.d365_bc.simulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_ENVIRONMENT,
    DEMO_TENANT,
    SCOPE,
)
from returns_console.systems.swap.simulator import DEMO_API_KEY, DEMO_STORE

NOW = datetime.now(UTC).replace(microsecond=0)
SWAP = "/swap/v2/external/returns"
API = f"/v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/v2.0"


@pytest.fixture
async def served():
    box = build_sandbox(NOW, returns=40)
    transport = httpx.ASGITransport(app=box.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield box, http


async def _bc_token(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post(f"/d365_bc/{DEMO_TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET, "scope": SCOPE})


async def test_requests_and_bytes_add_up_per_system_and_path(served) -> None:
    box, http = served
    received: dict[tuple[str, str], list[int]] = {}

    def note(system: str, key: str, response: httpx.Response) -> httpx.Response:
        received.setdefault((system, key), []).append(len(response.content))
        return response

    swap = {"x-api-key": DEMO_API_KEY}
    for page in (1, 2, 3, 4):
        note("swap", "/v2/external/returns", await http.get(SWAP, headers=swap, params={
            "swap_store_id": DEMO_STORE, "page": page, "items_per_page": 10}))
    note("swap", "/v2/external/returns", await http.get(SWAP))  # refused: counted too
    token = note("d365_bc", f"/{DEMO_TENANT}/oauth2/v2.0/token", await _bc_token(http))
    bc = {"Authorization": f"Bearer {token.json()['access_token']}",
          "Prefer": "odata.maxpagesize=7"}
    note("d365_bc", f"{API}/companies",
         companies := await http.get(f"/d365_bc{API}/companies", headers=bc))
    company = companies.json()["value"][0]["id"]
    chain = f"{API}/companies({{id}})/salesCreditMemos"
    url: str | None = f"/d365_bc{API}/companies({company})/salesCreditMemos"
    pages = 0
    while url:
        body = note("d365_bc", chain, await http.get(url, headers=bc)).json()
        url, pages = body.get("@odata.nextLink"), pages + 1
    assert pages > 1
    memo = box.erp.data.sets["salesCreditMemos"][0]["id"]
    note("d365_bc", f"{chain}({{id}})", await http.get(
        f"/d365_bc{API}/companies({company})/salesCreditMemos({memo})", headers=bc))

    stats = (await http.get("/_sandbox/stats")).json()
    want: dict[str, dict] = {}
    for (system, key), sizes in received.items():
        one = want.setdefault(system, {"requests": 0, "bytes": 0, "paths": {}})
        one["paths"][key] = {"requests": len(sizes), "bytes": sum(sizes)}
        one["requests"] += len(sizes)
        one["bytes"] += sum(sizes)
    assert stats["systems"] == want
    assert stats["total"] == {"requests": sum(len(s) for s in received.values()),
                              "bytes": sum(sum(s) for s in received.values())}
    assert stats["systems"]["d365_bc"]["paths"][chain]["requests"] == pages


async def test_delete_starts_again_from_zero(served) -> None:
    _, http = served
    await http.get(SWAP, params={"swap_store_id": DEMO_STORE},
                   headers={"x-api-key": DEMO_API_KEY})
    await _bc_token(http)
    before = (await http.get("/_sandbox/stats")).json()
    assert before["total"]["requests"] == 2 and before["total"]["bytes"] > 0
    cleared = await http.delete("/_sandbox/stats")
    assert cleared.json() == {"cleared": before["total"]}
    after = (await http.get("/_sandbox/stats")).json()
    assert after == {"systems": {"swap": {"requests": 0, "bytes": 0, "paths": {}},
                                 "d365_bc": {"requests": 0, "bytes": 0, "paths": {}}},
                     "total": {"requests": 0, "bytes": 0}}
    # the sandbox's own routes are not a system's traffic
    assert (await http.get("/_sandbox")).json()["stats"].endswith("/_sandbox/stats")
    assert (await http.get("/_sandbox/stats")).json()["total"]["requests"] == 0


def test_a_real_check_over_loopback_is_counted_request_for_request(tmp_path) -> None:
    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.live import fetch_live

    box = build_sandbox(NOW, returns=30)
    with BackgroundServer(box.app()) as server:
        asyncio.run(fetch_live(box.profile(server.url), box.secret))
        stats = httpx.get(f"{server.url}/_sandbox/stats").json()
    swap, bc = stats["systems"]["swap"], stats["systems"]["d365_bc"]
    assert swap["requests"] == box.platform.requests
    assert bc["requests"] == box.erp.requests + box.erp.token_requests
    for one in (swap, bc):
        assert one["bytes"] == sum(p["bytes"] for p in one["paths"].values())
        assert one["requests"] == sum(p["requests"] for p in one["paths"].values())
    assert stats["total"]["requests"] == swap["requests"] + bc["requests"]


@pytest.mark.parametrize(("path", "key"), [
    ("/v2/external/returns", "/v2/external/returns"),
    ("/v2.0/t/e/api/v2.0/companies(5f1a2c3e-0000-4000-8000-000000000001)/items",
     "/v2.0/t/e/api/v2.0/companies({id})/items"),
    ("/v2.0/t/e/api/v2.0/companies(1)/salesCreditMemos('X')/Microsoft.NAV.post",
     "/v2.0/t/e/api/v2.0/companies({id})/salesCreditMemos({id})/Microsoft.NAV.post"),
    ("/orders/5f1a2c3e-0000-4000-8000-000000000001/lines", "/orders/{id}/lines"),
    ("", "/"),
])
def test_paths_are_counted_without_record_keys(path: str, key: str) -> None:
    assert path_key(path) == key

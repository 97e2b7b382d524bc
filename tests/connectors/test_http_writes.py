"""Writes through the shared HTTP layer: sent again only when the server certainly did not act
on them, a 4xx is the system's refusal, and money goes out as exact JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from returns_console.connectors.errors import (
    ConflictError,
    NetworkError,
    RefusedError,
    RequestError,
    ServerError,
)
from returns_console.connectors.http import HttpClient, RetryPolicy, json_text

FAST = RetryPolicy(attempts=4, initial=0.0, maximum=0.0, jitter=0.0)
BC_ERROR = {"error": {"code": "Application_DialogException",
                      "message": "Please add at least one line item to the credit memo.  "
                                 "CorrelationId:  2c074c12-1644-4f2c-befb-efd681f5a595."}}


async def _no_sleep(seconds: float) -> None:
    return None


def client(handler) -> tuple[HttpClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request, len(seen))

    http = HttpClient("d365_bc", "https://bc.example.test/api", retry=FAST, sleep=_no_sleep,
                      transport=httpx.MockTransport(record),
                      error_parser=lambda r: r.json()["error"]["code"] + ": "
                      + r.json()["error"]["message"].split("  CorrelationId")[0])
    return http, seen


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_a_write_is_not_sent_again_after_a_server_error(status: int) -> None:
    http, seen = client(lambda r, n: httpx.Response(status, json=BC_ERROR))
    async with http:
        with pytest.raises(ServerError):
            await http.request("POST", "salesCreditMemos", json_body={"a": 1}, write=True)
    assert len(seen) == 1


async def test_a_read_still_is() -> None:
    http, seen = client(lambda r, n: httpx.Response(503 if n == 1 else 200, json=BC_ERROR))
    async with http:
        await http.request("GET", "salesCreditMemos")
    assert len(seen) == 2


async def test_a_write_that_timed_out_is_not_sent_again() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    http, seen = client(handler)
    async with http:
        with pytest.raises(NetworkError) as caught:
            await http.request("PATCH", "x", json_body={"a": 1}, write=True)
    assert len(seen) == 1 and caught.value.maybe_sent


async def test_a_write_that_never_connected_or_was_throttled_is_sent_again() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.ConnectError("Connection refused", request=request)
        if n == 2:
            return httpx.Response(429, headers={"Retry-After": "0"}, json=BC_ERROR)
        return httpx.Response(201, json={"id": "1"})

    http, seen = client(handler)
    async with http:
        response = await http.request("POST", "x", json_body={"a": 1}, write=True)
    assert response.status_code == 201 and len(seen) == 3


async def test_a_refusal_carries_the_systems_message_and_is_not_retried() -> None:
    http, seen = client(lambda r, n: httpx.Response(400, json=BC_ERROR))
    async with http:
        with pytest.raises(RefusedError) as caught:
            await http.request("POST", "x/Microsoft.NAV.post", write=True)
        with pytest.raises(RequestError):  # a read keeps its error
            await http.request("GET", "x")
    assert len(seen) == 2
    assert caught.value.detail == ("Application_DialogException: Please add at least one "
                                   "line item to the credit memo.")
    assert caught.value.status == 400 and "CorrelationId" not in str(caught.value)


async def test_a_conflict_is_not_retried() -> None:
    http, seen = client(lambda r, n: httpx.Response(409, json=BC_ERROR))
    async with http:
        with pytest.raises(ConflictError) as caught:
            await http.request("PATCH", "x", json_body={}, headers={"If-Match": "W/\"1\""},
                               write=True)
    assert len(seen) == 1 and caught.value.fresh is None and caught.value.detail


async def test_json_bodies_carry_decimals_exactly() -> None:
    http, seen = client(lambda r, n: httpx.Response(200, json={}))
    body = {"unitPrice": Decimal("19.99"), "quantity": Decimal("-1"), "big": Decimal("1E+2"),
            "lines": [{"q": Decimal("0.10")}], "name": "Café ' \"x\"", "on": True,
            "none": None, "n": 3}
    async with http:
        await http.request("POST", "x", json_body=body, write=True)
    sent = seen[0].content.decode()
    assert '"unitPrice":19.99' in sent and '"big":100' in sent and '"q":0.10' in sent
    assert json.loads(sent, parse_float=Decimal) == body
    assert seen[0].headers["Content-Type"] == "application/json"
    assert json_text(body) == sent
    with pytest.raises(ValueError):
        json_text({"x": Decimal("NaN")})

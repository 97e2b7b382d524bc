"""The shared HTTP layer: retries, Retry-After, token refresh, typed errors, call log."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from returns_console.connectors.errors import (
    AuthError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RequestError,
    ServerError,
)
from returns_console.connectors.http import REFUSED_ATTEMPTS, HttpClient, RetryPolicy, redact_url
from returns_console.sandbox.server import BackgroundServer

FAST = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, jitter=0.0)


class Sleeps:
    """Records waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return httpx.MockTransport(handler), seen


def client(transport, **kw) -> HttpClient:
    kw.setdefault("retry", FAST)
    kw.setdefault("sleep", Sleeps())
    return HttpClient("swap", "https://api.example.test/v1", transport=transport, **kw)


async def test_retries_server_errors_then_succeeds() -> None:
    transport, seen = scripted(httpx.Response(503), httpx.Response(502),
                               httpx.Response(200, json={"ok": True}))
    async with client(transport) as http:
        assert await http.get_json("/returns") == {"ok": True}
    assert len(seen) == 3
    assert [c.status for c in http.log] == [503, 502, 200]
    assert [c.attempt for c in http.log] == [1, 2, 3]


async def test_honours_retry_after_on_429() -> None:
    sleeps = Sleeps()
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "7"}),
                            httpx.Response(200, json=[]))
    async with client(transport, sleep=sleeps) as http:
        await http.get_json("/returns")
    assert sleeps.waits and sleeps.waits[0] >= 7


async def test_gives_up_after_the_last_attempt_with_a_typed_error() -> None:
    transport, seen = scripted(httpx.Response(500, json={"message": "boom"}))
    async with client(transport) as http:
        with pytest.raises(ServerError) as caught:
            await http.get_json("/returns")
    assert len(seen) == FAST.attempts
    assert "failed (500)" in str(caught.value) and "boom" in str(caught.value)


async def test_a_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    async with client(transport) as http:
        with pytest.raises(RateLimitedError) as caught:
            await http.get_json("/returns")
    assert len(seen) == 1
    assert caught.value.retry_after == 3600


@pytest.mark.parametrize(("status", "error"), [(404, NotFoundError), (400, RequestError),
                                               (403, AuthError)])
async def test_client_errors_are_not_retried(status: int, error: type) -> None:
    transport, seen = scripted(httpx.Response(status))
    async with client(transport) as http:
        with pytest.raises(error):
            await http.get_json("/returns")
    assert len(seen) == 1


class RefreshingAuth:
    def __init__(self) -> None:
        self.token = "old"
        self.refreshes = 0

    async def headers(self, http):
        return {"Authorization": f"Bearer {self.token}"}

    async def refresh(self, http):
        self.refreshes += 1
        self.token = "new"
        return True


async def test_refreshes_the_token_once_on_401() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        ok = request.headers["Authorization"] == "Bearer new"
        return httpx.Response(200 if ok else 401, json={})

    auth = RefreshingAuth()
    async with client(httpx.MockTransport(handler), auth=auth) as http:
        await http.get_json("/returns")
    assert auth.refreshes == 1


async def test_requests_refused_with_the_same_token_refresh_it_once() -> None:
    """Several requests in flight when the token expires: all are refused, one fetches a
    new token, the others retry with it rather than throwing it away for yet another."""
    from returns_console.connectors.auth import BearerToken

    class Counted(BearerToken):
        fetched = 0

        async def _fetch(self, http) -> None:
            Counted.fetched += 1
            self._keep(SecretStr(f"t{Counted.fetched}"), 3600)

    gate = asyncio.Event()
    valid = {"Bearer t1"}

    async def handler(request: httpx.Request) -> httpx.Response:
        old = request.headers["Authorization"] == "Bearer t1"
        if old and not request.url.path.endswith("/warm"):
            await gate.wait()  # all four are sent with the old token, then it expires
        return httpx.Response(200 if request.headers["Authorization"] in valid else 401,
                              json={})

    auth = Counted(leeway=0)
    async with client(httpx.MockTransport(handler), auth=auth, concurrency=4) as http:
        await http.get_json("/warm")
        valid.clear()
        valid.add("Bearer t2")
        reads = asyncio.gather(*(http.get_json(f"/r/{n}") for n in range(4)))
        await asyncio.sleep(0.05)
        valid.discard("Bearer t1")
        gate.set()
        await reads
    assert Counted.fetched == 2


async def test_a_second_401_is_an_auth_error_that_names_no_secret() -> None:
    transport, seen = scripted(httpx.Response(401, json={"error": "nope"}))
    auth = RefreshingAuth()
    async with client(transport, auth=auth) as http:
        with pytest.raises(AuthError) as caught:
            await http.get_json("/returns")
    assert auth.refreshes == 1 and len(seen) == 2
    assert "Bearer" not in str(caught.value) and "new" not in str(caught.value)
    assert "check the credentials" in str(caught.value)


async def test_secrets_in_the_url_never_reach_the_log_or_errors() -> None:
    transport, _ = scripted(httpx.Response(404))
    async with client(transport) as http:
        with pytest.raises(NotFoundError) as caught:
            await http.get_json("/rma", params={"api_token": "s3cret", "store": "store_1"})
    logged = next(iter(http.log)).url
    assert "s3cret" not in logged and "s3cret" not in str(caught.value)
    assert "api_token=***" in logged and "store=store_1" in logged


def test_redact_url_drops_user_info() -> None:
    assert redact_url("https://user:pw@host.test/a?token=x&page=2") == (
        "https://host.test/a?token=***&page=2"
    )


async def test_concurrency_is_bounded_per_system() -> None:
    running = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return httpx.Response(200, json={})

    async with client(httpx.MockTransport(handler), concurrency=2) as http:
        await asyncio.gather(*(http.get_json(f"/r/{i}") for i in range(8)))
    assert peak == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_source_that_is_down_is_a_network_error_after_retries() -> None:
    http = HttpClient("d365_bc", f"http://127.0.0.1:{_closed_port()}", retry=FAST,
                      sleep=Sleeps())
    async with http:
        with pytest.raises(NetworkError) as caught:
            await http.get_json("/companies")
    # nothing listens there: one quick retry (a restart), not the whole backoff
    assert len(http.log) == REFUSED_ATTEMPTS < FAST.attempts
    assert "cannot reach http://127.0.0.1" in str(caught.value)


async def test_over_loopback_against_a_real_server() -> None:
    hits = {"n": 0}

    async def flaky(request):
        hits["n"] += 1
        if hits["n"] == 1:
            return JSONResponse({"error": {"code": "Busy", "message": "try later"}},
                                status_code=503, headers={"Retry-After": "0"})
        return JSONResponse({"value": [1, 2, 3]})

    app = Starlette(routes=[Route("/items", flaky)])
    with BackgroundServer(app) as server:
        async with HttpClient("d365_bc", server.url, retry=FAST) as http:
            assert await http.get_json("/items") == {"value": [1, 2, 3]}
    assert [c.status for c in http.log] == [503, 200]
    assert all(c.ms >= 0 for c in http.log)


async def test_the_next_request_is_sent_before_an_answer_goes_back_to_be_parsed() -> None:
    """One slot, two requests: by the time the first answer (a round trip late) is handed
    back (to be parsed, which holds the loop), the second request is on the wire. Here
    the caller then blocks the loop outright; the server, in its own thread, still gets
    the second request."""
    import threading

    second = threading.Event()

    async def answer(request):
        if request.url.path == "/b":
            second.set()
        else:
            await asyncio.sleep(0.1)  # an API's round trip (loopback's answers hand nothing over)
        return JSONResponse({"value": []})

    app = Starlette(routes=[Route("/a", answer), Route("/b", answer)])
    seen: dict[str, bool] = {}
    with BackgroundServer(app) as server:
        async with HttpClient("swap", server.url, retry=FAST, concurrency=1) as http:

            async def first() -> None:
                await http.get_json("/a")
                seen["b sent"] = second.wait(timeout=30)  # the loop held, as a parse holds it

            await asyncio.gather(first(), http.get_json("/b"))
    assert seen["b sent"]

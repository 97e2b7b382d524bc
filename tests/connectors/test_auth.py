"""Auth strategies: keys in headers, OAuth tokens cached and refreshed, secrets kept in."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from returns_console.connectors.auth import ApiKeyHeader, OAuthClientCredentials
from returns_console.connectors.errors import AuthError, InvalidPayloadError
from returns_console.connectors.http import HttpClient, RetryPolicy

TOKEN_URL = "https://login.example.test/tenant/oauth2/v2.0/token"


def bc(handler, auth) -> HttpClient:
    return HttpClient("d365_bc", "https://bc.example.test/api", auth=auth,
                      transport=httpx.MockTransport(handler),
                      retry=RetryPolicy(attempts=2, initial=0, maximum=0, jitter=0))


async def test_api_key_goes_in_its_header_and_never_in_repr() -> None:
    seen = []

    def handler(request):
        seen.append(request.headers.get("x-api-key"))
        return httpx.Response(200, json={})

    auth = ApiKeyHeader("x-api-key", "k-123")
    async with bc(handler, auth) as http:
        await http.get_json("/returns")
    assert seen == ["k-123"]
    assert "k-123" not in repr(auth)


async def test_oauth_token_is_fetched_once_and_reused() -> None:
    token_calls = []

    def handler(request: httpx.Request):
        if str(request.url) == TOKEN_URL:
            token_calls.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 3600})
        assert request.headers["Authorization"] == "Bearer tok-1"
        return httpx.Response(200, json={"value": []})

    auth = OAuthClientCredentials(TOKEN_URL, "client-1", "shh", "https://bc/.default")
    async with bc(handler, auth) as http:
        await http.get_json("/companies")
        await http.get_json("/companies")
    assert len(token_calls) == 1
    assert token_calls[0]["grant_type"] == ["client_credentials"]
    assert token_calls[0]["scope"] == ["https://bc/.default"]
    assert "shh" not in repr(auth)
    assert all("shh" not in c.url for c in http.log)


async def test_oauth_token_refreshed_once_when_the_api_says_401() -> None:
    """Issue 11.8: the test never counted the token requests; a refresh loop would have
    passed it. One token, a 401, exactly one more token, then the call and no more."""
    tokens = iter(["expired", "fresh", "third"])
    token_requests: list[str] = []
    api_calls: list[str] = []

    def handler(request: httpx.Request):
        if str(request.url) == TOKEN_URL:
            token = next(tokens)
            token_requests.append(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": 3600})
        api_calls.append(request.headers["Authorization"])
        ok = request.headers["Authorization"] == "Bearer fresh"
        return httpx.Response(200 if ok else 401, json={})

    async with bc(handler, OAuthClientCredentials(TOKEN_URL, "c", "s", "x")) as http:
        await http.get_json("/companies")
        await http.get_json("/companies")  # the fresh token is kept, not asked for again
    assert token_requests == ["expired", "fresh"]
    assert api_calls == ["Bearer expired", "Bearer fresh", "Bearer fresh"]


async def test_refused_client_secret_is_a_clear_auth_error() -> None:
    def handler(request: httpx.Request):
        return httpx.Response(401, json={"error": "invalid_client"})

    async with bc(handler, OAuthClientCredentials(TOKEN_URL, "c", "wrong-secret", "x")) as http:
        with pytest.raises(AuthError) as caught:
            await http.get_json("/companies")
    assert "token endpoint refused" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


async def test_token_answer_without_a_token_is_invalid_payload() -> None:
    def handler(request: httpx.Request):
        return httpx.Response(200, json={"token_type": "Bearer"})

    async with bc(handler, OAuthClientCredentials(TOKEN_URL, "c", "s", "x")) as http:
        with pytest.raises(InvalidPayloadError):
            await http.get_json("/companies")

"""Issue 11.3: a server that echoes the request in its error body (`Invalid API key '…'`,
`Authorization: Bearer …`) had the secret printed by `doctor` and `check`, and bearer tokens
written into the audit log. Every text from a server is now scrubbed of the request's
credentials, the profile's secrets, issued tokens and anything credential-shaped."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from returns_console.connectors.auth import ApiKeyHeader, OAuthClientCredentials
from returns_console.connectors.errors import ConnectorError
from returns_console.connectors.http import HttpClient, RetryPolicy
from returns_console.redaction import redact, request_secrets
from returns_console.sandbox.server import BackgroundServer
from returns_console.store.audit import AuditLog
from tests.integration.test_live_check import cli

KEY = "swap-live-key-0123456789"
CLIENT_SECRET = "bc-client-secret-abcdef"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXR1cm5zIn0.c2lnbmF0dXJlLXRleHQ"
ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


async def echo(request: Request) -> JSONResponse:
    """Every request refused, with everything it carried said back."""
    body = (await request.body()).decode()
    if request.url.path.endswith("/token"):
        return JSONResponse({"access_token": TOKEN, "expires_in": 3600})
    said = (f"Invalid API key '{request.headers.get('x-api-key')}'; Authorization: "
            f"{request.headers.get('authorization')}; query {request.url.query}; body {body}")
    return JSONResponse({"error": {"code": "Unauthorized", "message": said},
                         "message": said}, status_code=400)


def hostile() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PATCH"])])


def leaks(text: str) -> list[str]:
    return [s for s in (KEY, CLIENT_SECRET, TOKEN, TOKEN.split(".")[0]) if s in text]


async def test_an_echoed_key_and_token_never_reach_an_error() -> None:
    transport = httpx.ASGITransport(app=hostile())
    for auth in (ApiKeyHeader("x-api-key", KEY),
                 OAuthClientCredentials("http://h.test/token", "client", CLIENT_SECRET,
                                        scope="api")):
        async with HttpClient("swap", "http://h.test", transport=transport, retry=ONCE,
                              auth=auth) as http:
            with pytest.raises(ConnectorError) as caught:
                await http.get_json("/returns", params={"api_key": KEY})
        said = str(caught.value) + (caught.value.detail or "")
        assert leaks(said) == [], said
        assert "Invalid API key" in said  # the server's words are kept, its echo is not


def test_credential_shapes_go_whatever_their_value() -> None:
    text = ("Authorization: Bearer abc.def-123456 Basic dXNlcjpwYXNzd29yZA== "
            "client_secret=s3cr3t-value&x=1 {\"api_key\": \"k-99999\"} "
            "https://user:pw@host.test/x token " + TOKEN)
    out = redact(text)
    for gone in ("abc.def-123456", "dXNlcjpwYXNzd29yZA==", "s3cr3t-value", "k-99999", "pw@",
                 TOKEN):
        assert gone not in out, out
    assert "x=1" in out and "host.test/x" in out


def test_a_basic_pair_and_its_parts_are_known_secrets() -> None:
    found = request_secrets({"Authorization": "Basic dXNlcjpwYXNzd29yZA=="})
    assert {"password", "user:password", "dXNlcjpwYXNzd29yZA=="} <= found


def test_the_audit_log_stores_no_bearer_token_or_echoed_secret(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        audit.record(operator="op", profile="p", systems="swap|d365_bc", return_ref="R-1",
                     action="requeue_posting", parameters={}, outcome="failed",
                     error=f"POST … was refused (400): Authorization: Bearer {TOKEN}",
                     after={"echo": f"Bearer {TOKEN}", "password": "hunter2-hunter2"})
        [row] = audit.entries()
        assert audit.verify().ok
    stored = json.dumps([row.error, row.after])
    assert TOKEN not in stored and "hunter2-hunter2" not in stored


@pytest.fixture
def hostile_server():
    with BackgroundServer(hostile()) as server:
        yield server.url


def test_doctor_and_check_print_no_echoed_secret(tmp_path: Path, hostile_server) -> None:
    base = hostile_server
    done = cli("setup", "--profile", "echo", "--platform", "swap",
               "--platform-url", f"{base}/swap", "--platform-option", "store=store_x",
               "--platform-option", "api_version=2", "--erp", "d365_bc",
               "--erp-url", f"{base}/d365_bc", "--erp-option", "tenant=t",
               "--erp-option", "environment=sandbox", "--erp-option", "client_id=c",
               "--erp-option", "company=C", "--erp-option", f"token_url={base}/d365_bc/token",
               "--platform-option", "retry_attempts=1", "--erp-option", "retry_attempts=1",
               home=tmp_path)
    assert done.returncode == 0, done.stderr
    secrets = {"RETURNS_CONSOLE_ECHO_API_KEY": KEY,
               "RETURNS_CONSOLE_ECHO_CLIENT_SECRET": CLIENT_SECRET}
    for args in (("doctor", "--profile", "echo"), ("check", "--profile", "echo"),
                 ("check", "--profile", "echo", "--format", "json")):
        ran = cli(*args, home=tmp_path, **secrets)
        out = ran.stdout + ran.stderr
        assert ran.returncode != 0 and "Traceback" not in out, out
        assert leaks(out) == [], out
    for path in tmp_path.rglob("*"):  # nor any file the runs left behind
        if path.is_file():
            assert leaks(path.read_bytes().decode("utf-8", "replace")) == [], path


assert threading  # the hostile server runs in a background thread (BackgroundServer)

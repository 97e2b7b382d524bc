"""The NetSuite connector's SuiteQL reading and error handling (docs/vendors/netsuite.md §3,
§7), against the simulator's SuiteQL endpoint (the sandbox's reading of the same docs) and
Oracle's own error samples."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette

from returns_console.connectors.errors import AuthError, RateLimitedError
from returns_console.connectors.http import CallLog, HttpClient, RetryPolicy
from returns_console.systems.netsuite import queries as q
from returns_console.systems.netsuite.simulator_suiteql import SuiteQLEndpoint, SuiteQLEngine
from returns_console.systems.netsuite.suiteql import SuiteQL, error_text, rate_limited

ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


def _response(status: int, body: str) -> httpx.Response:
    return httpx.Response(status, content=body.encode(),
                          request=httpx.Request("POST", "https://x.test/q"))


# Oracle's samples, verbatim apart from whitespace (§7.2)
SAMPLE_A = """{ "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
 "title": "Unauthorized", "status": 401, "o:errorDetails": [ { "detail": "Invalid login
 attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup >
 Users/Roles > User Management > View Login Audit Trail.", "o:errorCode": "INVALID_LOGIN" }
 ] }""".replace("\n", " ")
SAMPLE_B = """{ "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
 "title": "Bad Request", "status": 400, "o:errorDetails": [ { "detail": "Error while
 accessing resource: You have entered an Invalid Field Value 9999 for the following field:
 item", "o:errorCode": "INVALID_CONTENT", "o:errorPath": "item.items[0].item" } ] }""".replace(
    "\n", " ")
SAMPLE_F = """{ "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
 "title": "Payment already declined", "detail": "A payment you are trying to decline is
 already declined", "status": 400, "o:errorCode": "USER_ERROR" }""".replace("\n", " ")
#: §7.2 E as Oracle prints it: a comma missing, not valid JSON.
SAMPLE_E = """{ "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
 "title": "Bad Request", "status": 429, "o:errorCode": "USER_ERROR" "o:errorDetails": [ {
 "detail": "Concurrent request limit exceeded. Request blocked.", "o:errorCode":
 "CONCURRENCY_LIMIT_EXCEEDED" } ] }""".replace("\n", " ")


def test_the_error_envelope_is_one_line_a_person_can_act_on() -> None:
    """§7.1: `o:errorDetails` entries with their code and path; record actions put `detail`
    and `o:errorCode` at the top level (§7.2 F)."""
    assert error_text(_response(401, SAMPLE_A)).startswith(
        "Unauthorized: Invalid login attempt.")
    assert "[INVALID_LOGIN]" in error_text(_response(401, SAMPLE_A))
    said = error_text(_response(400, SAMPLE_B))
    assert said == ("Bad Request: Error while accessing resource: You have entered an "
                    "Invalid Field Value 9999 for the following field: item (at "
                    "item.items[0].item) [INVALID_CONTENT]")
    assert error_text(_response(400, SAMPLE_F)) == (
        "Payment already declined: A payment you are trying to decline is already "
        "declined [USER_ERROR]")


def test_a_concurrency_refusal_is_a_rate_limit_even_when_its_body_is_not_json() -> None:
    """§7.2 E (printed without a comma) and §7.3: a 429 is retried; so is a 400 naming a
    request limit (SSS_REQUEST_LIMIT_EXCEEDED)."""
    assert rate_limited(_response(429, SAMPLE_E))
    assert "Concurrent request limit" in (error_text(_response(429, SAMPLE_E)) or "")
    restlet = json.dumps({"title": "Bad Request", "status": 400, "o:errorDetails": [
        {"detail": "limit", "o:errorCode": "SSS_REQUEST_LIMIT_EXCEEDED"}]})
    assert rate_limited(_response(400, restlet))
    assert not rate_limited(_response(400, SAMPLE_B))


def _engine(rows: int) -> SuiteQLEngine:
    engine = SuiteQLEngine({"location": {"id": "NUMERIC", "name": "TEXT",
                                         "isinactive": "TEXT"}})
    engine.insert_many("location", ({"id": n, "name": f"L{n}", "isinactive": "F"}
                                    for n in range(1, rows + 1)))
    return engine


def _client(engine: SuiteQLEngine, *, ceiling: int, log: CallLog) -> tuple[SuiteQL, HttpClient]:
    endpoint = SuiteQLEndpoint(engine, max_results=ceiling)
    app = Starlette(routes=[endpoint.route()])
    http = HttpClient("netsuite", "http://ns.test", retry=ONCE, log=log,
                      transport=httpx.ASGITransport(app=app), error_parser=error_text)
    return SuiteQL(http, "netsuite", page_size=10), http


def test_a_read_goes_on_past_the_result_ceiling_after_the_last_row() -> None:
    """§3.2: offset a multiple of limit, at most the ceiling of results a query: each page
    is a new query after the last row (keyset on the unique id it is ordered by), so a
    read of more rows than the ceiling gets every row once, in order, no page refused."""
    log = CallLog()
    sql, http = _client(_engine(95), ceiling=30, log=log)

    async def read() -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        async for page in sql.pages(q.locations()):
            rows.extend(page)
        await http.aclose()
        return rows

    rows = asyncio.run(read())
    assert [r["id"] for r in rows] == [str(n) for n in range(1, 96)]
    assert all(set(r) == {"id", "name", "isinactive"} for r in rows)
    calls = list(log)
    assert all(c.status == 200 for c in calls) and len(calls) == 10


def test_a_wrong_private_key_is_a_clear_auth_error_that_keeps_it() -> None:
    """§2.2: the assertion is signed with the certificate's private key; text that is not
    one fails every request with why, and never quotes what was given."""
    from returns_console.systems.netsuite.connector import NetSuiteConnector, NetSuiteSettings

    given = "not-a-key-0123456789abcdef"
    connector = NetSuiteConnector(NetSuiteSettings(
        base_url="http://ns.test", account_id="1", client_id="c", certificate_id="k",
        private_key=given), retry=ONCE, transport=httpx.MockTransport(
            lambda request: httpx.Response(500)))

    async def go() -> None:
        try:
            await connector.check_connection()
        finally:
            await connector.aclose()

    with pytest.raises(AuthError) as caught:
        asyncio.run(go())
    assert given not in str(caught.value) and "private key" in str(caught.value)


def test_rate_limited_is_retried_as_a_429_is() -> None:
    """A 400 saying the request limit was exceeded is retried, not reported as a bad
    request (§7.3)."""
    answers = iter([
        httpx.Response(400, json={"o:errorDetails": [
            {"detail": "over", "o:errorCode": "SSS_REQUEST_LIMIT_EXCEEDED"}]}),
        httpx.Response(200, json={"items": [], "hasMore": False})])
    http = HttpClient("netsuite", "http://ns.test", throttled=rate_limited,
                      retry=RetryPolicy(attempts=2, initial=0.0, maximum=0.0, jitter=0.0),
                      transport=httpx.MockTransport(lambda request: next(answers)))
    sql = SuiteQL(http, "netsuite")

    async def go() -> list[list[dict[str, str]]]:
        try:
            return [page async for page in sql.pages(q.locations())]
        finally:
            await http.aclose()

    assert asyncio.run(go()) == [[]]
    assert RateLimitedError.retryable


def test_an_old_return_authorization_comes_with_a_recent_refund_made_from_it() -> None:
    """The window is by trandate; a chain is never read without its RA (§4.8 createdfrom):
    an RA older than the window is read when a receipt or refund made from it is in it,
    and an old RA with nothing recent is not."""
    from datetime import UTC, datetime, timedelta

    from returns_console.systems.netsuite.simulator import NetSuiteAccount

    account = NetSuiteAccount()
    now = datetime.now(UTC).replace(microsecond=0)
    item = account.item("TEE-BLK-M")
    line = {"item": item, "itemtype": "InvtPart", "quantity": "-1"}
    old = account.document("RtnAuth", now - timedelta(days=400), status="F", entity=None,
                           link="R-OLD", lines=[dict(line)])
    account.document("CustCred", now, status="A", entity=None, link="R-OLD",
                     created_from=old, lines=[{**line, "quantity": "1",
                                               "foreignamount": "10"}])
    account.document("RtnAuth", now - timedelta(days=500), status="F", entity=None,
                     link="R-FORGOTTEN", lines=[dict(line)])
    app = Starlette(routes=[SuiteQLEndpoint(account.engine).route()])
    http = HttpClient("netsuite", "http://ns.test", retry=ONCE,
                      transport=httpx.ASGITransport(app=app), error_parser=error_text)
    sql = SuiteQL(http, "netsuite")
    since = (now - timedelta(days=365)).date().isoformat()

    async def read() -> list[dict]:
        try:
            return [row async for page in sql.pages(q.documents("otherrefnum", since))
                    for row in page]
        finally:
            await http.aclose()

    rows = asyncio.run(read())
    assert {(r["type"], r["link"]) for r in rows} == {("RtnAuth", "R-OLD"),
                                                     ("CustCred", "R-OLD")}


def test_a_return_authorization_carrying_no_link_is_no_return() -> None:
    """As with Business Central: a document that carries no link and was made from no
    linked RA is not a return's (history, goodwill, another channel), so it is neither a
    view nor an unlinked record (docs/shopify-netsuite-mapping.md: documents are grouped
    by the RA they were made from, else by the link they carry)."""
    from pathlib import Path

    from returns_console.systems.netsuite.connector import NetSuiteConnector, NetSuiteSettings
    from returns_console.systems.netsuite.simulator import demo_key_pem

    case = Path(__file__).parents[1] / "conformance/netsuite/cases/" \
        "ra_pending_approval_exists_on_hold.json"
    given = json.loads(case.read_text())["rows"]
    rows = {name: [{k: v for k, v in row.items() if k not in ("links", "link", "otherrefnum")}
                   for row in found] for name, found in given.items()}
    connector = NetSuiteConnector(NetSuiteSettings(
        base_url="https://1234567.suitetalk.api.netsuite.com", account_id="1234567",
        client_id="client", certificate_id="cert", private_key=demo_key_pem()))
    batch = connector.assemble(rows, None)
    assert batch.views == {} and batch.problems == {}

"""The OData v4 client kit on its own (httpx.MockTransport, no system): paging to the end,
literals and query options, the error envelope, enum names, ETags and `$batch`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from returns_console.connectors.errors import (
    ConflictError,
    InvalidPayloadError,
    RefusedError,
)
from returns_console.connectors.http import HttpClient, RetryPolicy
from returns_console.kits.odata.client import (
    BatchGet,
    BatchReply,
    ODataClient,
    datetime_literal,
    decode_enum,
    error_text,
    etag_of,
    filter_eq,
    next_link,
    query_options,
    quote,
)

ROOT = "https://odata.example.test/service"
ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


class Server:
    """Answers from a script keyed by (method, path and query); records what it was sent."""

    def __init__(self, answers: dict[tuple[str, str], httpx.Response]) -> None:
        self.answers = answers
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        target = request.url.raw_path.decode()
        return self.answers.get((request.method, target), httpx.Response(404))


def odata(server: Server) -> ODataClient:
    http = HttpClient("odata-test", ROOT, transport=httpx.MockTransport(server), retry=ONCE,
                      error_parser=lambda r: error_text(r.json()))
    return ODataClient(http)


def page(rows: list[dict], next_url: str | None = None) -> httpx.Response:
    body: dict = {"@odata.context": f"{ROOT}/$metadata#things", "value": rows}
    if next_url:
        body["@odata.nextLink"] = next_url
    return httpx.Response(200, json=body)


# -- paging ------------------------------------------------------------------------------------


async def test_pages_follow_next_links_to_the_end_with_the_page_size_on_every_request() -> None:
    server = Server({
        ("GET", "/service/things?%24filter=kind+eq+%27a%27"):
            page([{"n": 1}, {"n": 2}], f"{ROOT}/things?$skiptoken=2"),
        ("GET", "/service/things?$skiptoken=2"): page([{"n": 3}], f"{ROOT}/things?$skiptoken=3"),
        ("GET", "/service/things?$skiptoken=3"): page([{"n": 4}]),
    })
    client = odata(server)
    got = [p async for p in client.pages("things", {"$filter": "kind eq 'a'"},
                                         max_page_size=2, headers={"X-Extra": "yes"})]
    assert [[r["n"] for r in p.value] for p in got] == [[1, 2], [3], [4]]
    assert [p.next_link for p in got] == [f"{ROOT}/things?$skiptoken=2",
                                          f"{ROOT}/things?$skiptoken=3", None]
    assert json.loads(got[1].content)["value"] == [{"n": 3}]  # the body as it came
    assert len(server.seen) == 3
    for request in server.seen:
        assert request.headers["Prefer"] == "odata.maxpagesize=2"
        assert request.headers["X-Extra"] == "yes"
    await client.http.aclose()


async def test_a_body_without_value_is_refused_with_a_clear_message() -> None:
    server = Server({("GET", "/service/things"): httpx.Response(200, json={"items": []}),
                     ("GET", "/service/list"): httpx.Response(200, json=[1, 2])})
    client = odata(server)
    with pytest.raises(InvalidPayloadError, match=r"GET things answered without a 'value' "
                                                  r"list; is the base URL right\?"):
        await client.page("things")
    with pytest.raises(InvalidPayloadError, match="not an OData object"):
        [p async for p in client.pages("list")]
    await client.http.aclose()


async def test_a_next_link_to_another_host_is_never_followed() -> None:
    server = Server({("GET", "/service/things"): page([{"n": 1}],
                                                      "https://elsewhere.test/things?p=2")})
    client = odata(server)
    with pytest.raises(InvalidPayloadError, match=r"elsewhere\.test.*refusing to send the token"):
        [p async for p in client.pages("things")]
    assert len(server.seen) == 1
    with pytest.raises(InvalidPayloadError):
        client.check_link("things?$skiptoken=2")  # relative: its base is unclear
    client.check_link(f"{ROOT}/things?$skiptoken=2")
    await client.http.aclose()


# -- literals and query options ---------------------------------------------------------------


def test_quoting_doubles_single_quotes() -> None:
    assert quote("O'Brien's") == "'O''Brien''s'"
    assert quote("") == "''"
    assert filter_eq("ref", "it's") == "ref eq 'it''s'"


def test_query_options_join_filters_and_bracket_an_or() -> None:
    assert query_options(None, "a eq 1", "", "b eq 2 or b eq 3", select="id,a",
                         expand="lines") == {
        "$select": "id,a", "$expand": "lines", "$filter": "a eq 1 and (b eq 2 or b eq 3)"}
    assert query_options(None) == {}


def test_datetime_literals_are_utc_with_milliseconds() -> None:
    moment = datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert datetime_literal(moment) == "2024-03-01T10:30:05.123Z"
    assert datetime_literal(datetime(2024, 3, 1, tzinfo=UTC)) == "2024-03-01T00:00:00.000Z"


def test_enum_names_are_decoded() -> None:
    assert decode_enum("On_x0020_hold") == "On hold"
    assert decode_enum("Non_x002D_Stock") == "Non-Stock"
    assert decode_enum("Adjmt_x002E_") == "Adjmt."
    assert decode_enum("_x0020_") == " "
    assert decode_enum("Plain") == "Plain"
    assert decode_enum("_x00zz_") == "_x00zz_"


def test_next_link_and_etag_read_only_non_empty_strings() -> None:
    assert next_link({"@odata.nextLink": "https://x/y"}) == "https://x/y"
    assert next_link({"@odata.nextLink": ""}) is None
    assert next_link([]) is None
    assert etag_of({"@odata.etag": 'W/"1"'}) == 'W/"1"'
    assert etag_of({"@odata.etag": ""}) is None
    assert etag_of({"@odata.etag": 5}) is None


# -- errors ------------------------------------------------------------------------------------


def test_the_error_envelope_is_one_line() -> None:
    body = {"error": {"code": "BadRequest", "message": "The field is too long.  Ref: 12."}}
    assert error_text(body) == "BadRequest: The field is too long.  Ref: 12."
    assert error_text(body, tidy=lambda m: m.split("Ref:")[0]) == \
        "BadRequest: The field is too long."
    assert error_text({"error": {"code": "", "message": "Only a message"}}) == "Only a message"
    assert error_text({"error": {"code": "OnlyACode"}}) == "OnlyACode"
    assert error_text({"error": {"code": "X", "message": "m" * 1000}}) == ("X: " + "m" * 297)
    for other in ({"error": {}}, {"error": "invalid_client"}, {"message": "x"}, [], None, "x"):
        assert error_text(other) is None


async def test_an_error_answer_carries_the_envelope_as_its_detail() -> None:
    server = Server({("PATCH", "/service/things(1)"): httpx.Response(
        412, json={"error": {"code": "EntityChanged", "message": "Changed by someone."}})})
    client = odata(server)
    with pytest.raises(ConflictError) as caught:
        await client.patch("things(1)", 'W/"1"', {"a": 1})
    assert caught.value.detail == "EntityChanged: Changed by someone."
    assert "\n" not in str(caught.value)
    await client.http.aclose()


# -- entities and writes -----------------------------------------------------------------------


async def test_patch_sends_if_match_and_the_body_and_answers_the_entity() -> None:
    record = {"@odata.context": "ctx", "@odata.etag": 'W/"2"', "id": "1", "a": Decimal("1.5")}
    server = Server({("PATCH", "/service/things(1)"): httpx.Response(200, json={
        **record, "a": 1.5})})
    client = odata(server)
    response = await client.patch("things(1)", 'W/"1"', {"a": Decimal("1.50")},
                                  headers={"Content-Type": "application/json"})
    sent = server.seen[0]
    assert sent.headers["If-Match"] == 'W/"1"'
    assert sent.content == b'{"a":1.50}'  # money as an exact JSON number
    entity = client.entity(response, key="id")
    assert "@odata.context" not in entity and entity["a"] == Decimal("1.5")
    assert client.etag(entity) == 'W/"2"'
    with pytest.raises(ValueError, match="ETag"):
        await client.patch("things(1)", "", {"a": 1})
    assert len(server.seen) == 1  # an empty ETag is never sent (nor turned into *)
    await client.http.aclose()


async def test_a_record_without_an_etag_or_key_is_refused() -> None:
    server = Server({("GET", "/service/things(1)"): httpx.Response(200, json={"a": 1}),
                     ("POST", "/service/things"): httpx.Response(201, json={"no": "key"})})
    client = odata(server)
    with pytest.raises(InvalidPayloadError, match="GET answered 200 without the record"):
        await client.get("things(1)", key="id")
    record = await client.get("things(1)")
    with pytest.raises(InvalidPayloadError, match=r"thing 1 came without an @odata\.etag"):
        client.etag(record, "thing 1")
    with pytest.raises(InvalidPayloadError, match="POST answered 201 without the record"):
        client.entity(await client.post("things", {"a": 1}), key="id")
    await client.http.aclose()


async def test_a_refused_write_is_not_sent_again() -> None:
    server = Server({("POST", "/service/things(1)/Act.post"): httpx.Response(
        400, json={"error": {"code": "Dialog", "message": "Cannot post."}})})
    client = odata(server)
    client.http.retry = RetryPolicy(attempts=3, initial=0.0, maximum=0.0, jitter=0.0)
    with pytest.raises(RefusedError, match=r"Dialog: Cannot post\."):
        await client.post("things(1)/Act.post")
    assert len(server.seen) == 1 and server.seen[0].content == b""
    await client.http.aclose()


# -- $batch ------------------------------------------------------------------------------------


async def test_batch_sends_json_requests_and_answers_in_order() -> None:
    answer = {"responses": [
        {"id": "1", "status": 404, "body": {"error": {"code": "NotFound", "message": "no"}}},
        {"id": "0", "status": 200, "body": {"value": [{"n": 1}]}},
    ]}
    server = Server({("POST", "/service/$batch"): httpx.Response(200, json=answer)})
    client = odata(server)
    replies = await client.batch(
        [BatchGet("things", {"$filter": "a eq 'x y'"}), BatchGet("ids", None, 500),
         BatchGet("missing")],
        max_page_size=50, headers={"X-Extra": "yes"})
    assert replies == [BatchReply(200, {"value": [{"n": 1}]}),
                       BatchReply(404, {"error": {"code": "NotFound", "message": "no"}}),
                       BatchReply(None, None)]
    sent = server.seen[0]
    assert sent.headers["Prefer"] == "odata.maxpagesize=50"
    assert json.loads(sent.content) == {"requests": [
        {"id": "0", "method": "GET", "url": "things?%24filter=a+eq+%27x+y%27",
         "headers": {"Prefer": "odata.maxpagesize=50", "X-Extra": "yes"}},
        {"id": "1", "method": "GET", "url": "ids",
         "headers": {"Prefer": "odata.maxpagesize=500", "X-Extra": "yes"}},
        {"id": "2", "method": "GET", "url": "missing",
         "headers": {"Prefer": "odata.maxpagesize=50", "X-Extra": "yes"}},
    ]}
    await client.http.aclose()


async def test_a_batch_answer_without_responses_is_refused() -> None:
    server = Server({("POST", "/service/$batch"): httpx.Response(200, json={"value": []})})
    client = odata(server)
    with pytest.raises(InvalidPayloadError, match="no 'responses' list"):
        await client.batch([BatchGet("things")])
    await client.http.aclose()

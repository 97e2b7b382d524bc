"""The SuiteQL endpoint the NetSuite simulator serves (returns_console/systems/netsuite/
simulator_suiteql.py), held to docs/vendors/netsuite.md: the request (§3.1), paging and the
100,000-result ceiling (§3.2), the page and its values (§3.3), BUILTIN.DF and the Oracle
date functions (§3.4), and NetSuite's error envelope (§7.1, §7.2)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from returns_console.systems.netsuite.simulator_suiteql import (
    ERROR_MEDIA_TYPE,
    ERROR_TYPE,
    MALFORMED,
    SUITEQL_PATH,
    SuiteQLEndpoint,
    SuiteQLEngine,
    SuiteQLError,
    error_response,
)

N, T = "NUMERIC", "TEXT"
SCHEMA: dict[str, Any] = {
    "transaction": {"id": N, "type": T, "tranid": T, "status": T, "trandate": "DATE",
                    "lastmodifieddate": "DATETIME", "foreigntotal": N, "memo": T,
                    "entity": N},
    "transactionline": {"transaction": N, "id": N, "item": N, "quantity": N, "isclosed": T},
    "NextTransactionLineLink": {"previousdoc": N, "nextdoc": N, "nexttype": T},
    "item": {"id": N, "itemid": T, "isinactive": T},
}
PREFER = {"Prefer": "transient"}
HOST = "https://demo123.suitetalk.api.netsuite.com"


def build_engine(**kw: Any) -> SuiteQLEngine:
    """25 documents (RtnAuth 1..20, ItemRcpt 21..25, each receipt linked from RA n-20),
    two lines each, and a few items (ids -7..10 as the §3.1 sample's range suggests)."""
    engine = SuiteQLEngine(SCHEMA, **kw)
    engine.insert_many("transaction", [{
        "id": n, "type": "RtnAuth" if n <= 20 else "ItemRcpt", "tranid": f"RA{n:03}",
        # odd documents carry a display text; even ones have none (DF gives the letter)
        "status": "B" if n % 2 else "A", "status__df": "Pending Receipt" if n % 2 else None,
        "trandate": f"2024-01-{n:02}", "lastmodifieddate": f"2024-01-{n:02} 12:{n:02}:00",
        "foreigntotal": Decimal("12.50") if n == 1 else n, "memo": "boxed" if n == 2 else None,
        "entity": 100 + n % 3} for n in range(1, 26)])
    engine.insert_many("transactionline", [
        {"transaction": n, "id": line, "item": 5 if line == 1 else 10, "quantity": line,
         "isclosed": False} for n in range(1, 26) for line in (1, 2)])
    engine.insert_many("NextTransactionLineLink", [
        {"previousdoc": n - 20, "nextdoc": n, "nexttype": "ItemRcpt"} for n in range(21, 26)])
    engine.insert_many("item", [
        {"id": i, "itemid": f"SKU{i}", "isinactive": i < 0} for i in (-7, -3, 0, 5, 10)])
    return engine


@pytest.fixture(scope="module")
def engine() -> SuiteQLEngine:
    return build_engine()


def serve(engine: SuiteQLEngine, **kw: Any) -> httpx.AsyncClient:
    endpoint = SuiteQLEndpoint(engine, **kw)
    app = Starlette(routes=[endpoint.route()])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HOST)


@pytest.fixture
async def client(engine: SuiteQLEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(engine) as http:
        yield http


async def post(client: httpx.AsyncClient, q: str, params: list[Any] | None = None,
               headers: dict[str, str] | None = PREFER, **query: Any) -> httpx.Response:
    body: dict[str, Any] = {"q": q}
    if params is not None:
        body["params"] = params
    return await client.post(SUITEQL_PATH, params=query, json=body, headers=headers)


async def fetch_page(client: httpx.AsyncClient, q: str, params: list[Any] | None = None,
                     **query: Any) -> Any:
    response = await post(client, q, params, **query)
    assert response.status_code == 200, response.text
    return response.json()


def items(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    page = response.json()
    assert all(item.pop("links") == [] for item in page["items"])
    return page["items"]


def detail(response: httpx.Response) -> dict[str, str]:
    """The one `o:errorDetails` entry of an error answer, after checking its envelope."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == ERROR_MEDIA_TYPE
    body = response.json()
    assert body["type"] == ERROR_TYPE and body["status"] == 400
    [entry] = body["o:errorDetails"]
    entry["title"] = body["title"]
    return entry


# ------------------------------------------------------------------------ paging


async def test_paging_walks_every_row_once(client: httpx.AsyncClient) -> None:
    """§3.2: pages of `limit` at offsets that are multiples of it; §3.3: count, hasMore,
    offset, totalResults and the links NetSuite sends (order as §8 S2/S3)."""
    q = "SELECT t.id, t.tranid FROM transaction t ORDER BY t.id"
    seen: list[str] = []
    rels = []
    for offset, count, more in ((0, 10, True), (10, 10, True), (20, 5, False)):
        page = await fetch_page(client, q, limit=10, offset=offset)
        assert (page["count"], page["hasMore"], page["offset"], page["totalResults"]) == \
            (count, more, offset, 25)
        assert len(page["items"]) == count
        seen += [item["id"] for item in page["items"]]
        links = {link["rel"]: link["href"] for link in page["links"]}
        rels.append([link["rel"] for link in page["links"]])
        assert links["self"] == f"{HOST}{SUITEQL_PATH}?limit=10&offset={offset}"
        if more:
            assert links["next"] == f"{HOST}{SUITEQL_PATH}?limit=10&offset={offset + 10}"
            assert links["last"] == f"{HOST}{SUITEQL_PATH}?limit=10&offset=20"
    assert seen == [str(n) for n in range(1, 26)]
    assert rels == [["next", "last", "self"], ["prev", "first", "next", "last", "self"],
                    ["prev", "first", "self"]]


async def test_default_page_is_a_thousand_rows(client: httpx.AsyncClient) -> None:
    """§3.2: 1000 results a page unless `limit` says otherwise."""
    page = await fetch_page(client, "SELECT id FROM transactionline")
    assert (page["count"], page["hasMore"], page["totalResults"]) == (50, False, 50)
    assert page["links"] == [{"rel": "self",
                              "href": f"{HOST}{SUITEQL_PATH}?limit=1000&offset=0"}]


async def test_offset_must_be_a_multiple_of_limit(client: httpx.AsyncClient) -> None:
    """§3.2: "offset must be divisible by limit" (Offset=20, Limit=10 is fine)."""
    entry = detail(await post(client, "SELECT id FROM item", limit=10, offset=15))
    assert entry["o:errorCode"] == "INVALID_PARAMETER"
    assert entry["o:errorQueryParam"] == "offset"
    assert "divisible" in entry["detail"]
    assert (await post(client, "SELECT id FROM item", limit=10, offset=20)).status_code == 200


@pytest.mark.parametrize("limit", ["1001", "0", "-5", "ten"])
async def test_limit_is_one_to_a_thousand(client: httpx.AsyncClient, limit: str) -> None:
    """§3.2: `limit` at most 1000 (and a page has at least one row)."""
    entry = detail(await post(client, "SELECT id FROM item", limit=limit))
    assert (entry["o:errorCode"], entry["o:errorQueryParam"]) == ("INVALID_PARAMETER", "limit")


async def test_a_thousand_is_allowed(client: httpx.AsyncClient) -> None:
    """§3.2: the largest page is 1000."""
    assert (await fetch_page(client, "SELECT id FROM item", limit=1000))["count"] == 5


async def test_the_ceiling_refuses_a_page_past_it_and_a_new_query_starts_again() -> None:
    """§3.2: at most 100,000 results a query (20 here); the way on is a keyset WHERE on
    an ordered unique column, which is a new query."""
    async with serve(build_engine(), max_results=20) as small:
        q = "SELECT t.id FROM transaction t ORDER BY t.id"
        below = await fetch_page(small, q, limit=10, offset=10)
        assert (below["hasMore"], below["totalResults"]) == (True, 25)
        assert {link["rel"]: link["href"] for link in below["links"]}["last"].endswith(
            "limit=10&offset=10")  # the last page the ceiling allows
        entry = detail(await post(small, q, limit=10, offset=20))
        assert entry["o:errorCode"] == "INVALID_PARAMETER"
        assert "maximum of 20 results" in entry["detail"]
        after = await fetch_page(small, "SELECT t.id FROM transaction t WHERE t.id > ? "
                                        "ORDER BY t.id", ["20"], limit=10, offset=0)
        assert [i["id"] for i in after["items"]] == ["21", "22", "23", "24", "25"]
        # a query with no more rows than the ceiling reads to its end
        upto = await fetch_page(small, "SELECT id FROM transaction WHERE id <= ? ORDER BY id",
                                ["20"], limit=10, offset=10)
        assert (upto["count"], upto["hasMore"]) == (10, False)


async def test_an_offset_past_the_end_is_an_empty_page(client: httpx.AsyncClient) -> None:
    """§3.2/§3.3: nothing left to send (our reading: an empty page, not an error)."""
    page = await fetch_page(client, "SELECT id FROM item", limit=5, offset=10)
    assert (page["count"], page["hasMore"], page["totalResults"], page["items"]) == \
        (0, False, 5, [])


# ------------------------------------------------------------------------ the request


async def test_prefer_transient_is_required(client: httpx.AsyncClient) -> None:
    """§3.1: `Prefer: transient` "is a required header parameter"."""
    for headers in ({}, {"Prefer": "respond-async"}):
        entry = detail(await post(client, "SELECT id FROM item", headers=headers))
        assert (entry["o:errorCode"], entry["o:errorHeader"]) == ("INVALID_REQUEST", "Prefer")
        assert "transient" in entry["detail"]
    answer = await post(client, "SELECT id FROM item", headers={"Prefer": "Transient"})
    assert answer.status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b'["SELECT 1"]', b'{"params": []}',
                                  b'{"q": ""}', b'{"q": "SELECT id FROM item", "params": "1"}',
                                  b'{"q": "SELECT id FROM item WHERE id = ?", "params": [{}]}'])
async def test_a_body_that_is_not_a_query_is_malformed(client: httpx.AsyncClient,
                                                      body: bytes) -> None:
    """§3.1: the body is `{"q": "...", "params": [...]}`; else §7.2 D."""
    response = await client.post(SUITEQL_PATH, content=body,
                                 headers={**PREFER, "Content-Type": "application/json"})
    entry = detail(response)
    assert (entry["o:errorCode"], entry["detail"], entry["title"]) == \
        ("INVALID_REQUEST", MALFORMED, "Bad Request")


async def test_only_a_select_is_run(client: httpx.AsyncClient, engine: SuiteQLEngine) -> None:
    """§3.1: only SELECT is meaningful; nothing else reaches the data."""
    for q in ("DELETE FROM item", "UPDATE item SET itemid = 'x'",
              "SELECT id FROM item; DELETE FROM item", "PRAGMA table_info(item)",
              "DROP TABLE item", "SELECT name FROM sqlite_master",
              "INSERT INTO item (id) VALUES (99)"):
        entry = detail(await post(client, q))
        assert entry["title"] == "Invalid search query."
        assert entry["detail"].startswith("Search error occurred: ")
    assert len(engine.rows("item")) == 5
    assert items(await post(client, "SELECT id FROM item WHERE id = 5;")) == [{"id": "5"}]


@pytest.mark.parametrize(("q", "params", "reason"), [
    ("SELECT t.nosuchfield FROM transaction t", [], "no such column: t.nosuchfield"),
    ("SELECT id FROM nosuchtable", [], "no such table: nosuchtable"),
    ("SELECT id FROM item WHERE", [], "syntax error"),
    ("SELECT id FROM item WHERE id = ?", [], "1 parameter"),
    ("SELECT BUILTIN.DF(t.nosuch) FROM transaction t", [], "no such column: t.nosuch"),
    ("SELECT TO_CHAR(trandate, 'Q') FROM transaction", [], "TO_CHAR"),
    ("SELECT status__df FROM transaction", [], "status__df"),
])
async def test_a_query_that_cannot_run_is_an_invalid_search(
        client: httpx.AsyncClient, q: str, params: list[str], reason: str) -> None:
    """§7.1 (last bullet): 400, title "Invalid search query.", detail "Search error
    occurred: …"; the error code is our reading (the doc names none)."""
    entry = detail(await post(client, q, params))
    assert entry["title"] == "Invalid search query."
    assert entry["detail"].startswith("Search error occurred: ")
    assert reason in entry["detail"]
    assert (entry["o:errorCode"], entry["o:errorQueryParam"]) == ("INVALID_PARAMETER", "q")


def test_error_response_writes_the_documented_envelope() -> None:
    """§7.2 C, verbatim but for whitespace: the 404 record-service answer."""
    response = error_response(404, "NONEXISTENT_ID", "Record does not exist.")
    assert response.status_code == 404
    assert response.headers["content-type"] == ERROR_MEDIA_TYPE
    assert response.body == (
        b'{"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", '
        b'"title": "Not Found", "status": 404, "o:errorDetails": '
        b'[{"detail": "Record does not exist.", "o:errorCode": "NONEXISTENT_ID"}]}')
    assert b'"o:errorPath": "item.items[0].item"' in error_response(
        400, "INVALID_CONTENT", "Invalid Field Value", path="item.items[0].item").body


# ------------------------------------------------------------------------ the values


async def test_values_are_strings_and_nulls_are_left_out(client: httpx.AsyncClient) -> None:
    """§3.3: every value a string (the S1 sample's `"count": "143"`), booleans 'T'/'F',
    numbers in their plain text; a NULL column is not in the item."""
    q = ("SELECT t.id, t.foreigntotal, t.memo, t.entity FROM transaction t "
         "WHERE t.id IN (?, ?) ORDER BY t.id")
    rows = items(await post(client, q, ["1", "2"]))
    assert rows == [{"id": "1", "foreigntotal": "12.5", "entity": "101"},
                    {"id": "2", "foreigntotal": "2", "memo": "boxed", "entity": "102"}]
    [counted] = items(await post(client, "SELECT type, COUNT(*) as count FROM transaction "
                                         "WHERE type = ? GROUP BY type", ["ItemRcpt"]))
    assert counted == {"type": "ItemRcpt", "count": "5"}
    assert items(await post(client, "SELECT isinactive FROM item WHERE id = ?", ["-7"])) == \
        [{"isinactive": "T"}]
    assert items(await post(client, "SELECT quantity * 1.5 AS q FROM transactionline "
                                    "WHERE transaction = 1 ORDER BY id")) == \
        [{"q": "1.5"}, {"q": "3"}]


async def test_keys_are_lower_case(client: httpx.AsyncClient) -> None:
    """§3.3: column keys lower-case, aliases too (tap reads `status_description`)."""
    [row] = items(await post(client, "SELECT T.TranId, t.TRANID AS Foo, t.Id AS \"Bar\", "
                                     "UPPER(t.type) FROM TRANSACTION T WHERE T.ID = ?", ["3"]))
    assert row == {"tranid": "RA003", "foo": "RA003", "bar": "3", "expr1": "RTNAUTH"}


async def test_builtin_df_reads_the_display_companion(client: httpx.AsyncClient) -> None:
    """§3.4: BUILTIN.DF(field) is the field's display value; §4.7: status letter and text
    side by side. No companion filled: the value itself; SELECT * shows no companion."""
    q = ("SELECT t.status, BUILTIN.DF(t.status) AS status_description, "
         "BUILTIN.DF(t.tranid) AS name FROM transaction t WHERE t.id <= ? ORDER BY t.id")
    rows = items(await post(client, q, ["2"]))
    assert rows == [{"status": "B", "status_description": "Pending Receipt", "name": "RA001"},
                    {"status": "A", "status_description": "A", "name": "RA002"}]
    # the tap's spelling: table-qualified, spaces inside the parentheses
    q = ("SELECT BUILTIN.DF( Transaction.Status ) AS status_description "
         "FROM Transaction WHERE Transaction.id = ?")
    assert items(await post(client, q, ["3"])) == [{"status_description": "Pending Receipt"}]
    [star] = items(await post(client, "SELECT * FROM transaction WHERE id = ?", ["1"]))
    assert star["status"] == "B" and not any(key.endswith("__df") for key in star)


async def test_dates_through_to_char_and_bound_strings(client: httpx.AsyncClient) -> None:
    """§3.4: TO_TIMESTAMP/TO_DATE with bound string parameters (§3.1) in the WHERE,
    TO_CHAR in the SELECT, as the tap's incremental read does; §3.3: a raw date column is
    formatted per the account's preference, so the connector TO_CHARs every date."""
    rows = items(await post(client, """
        SELECT t.id, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate,
               TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, t.trandate AS raw,
               TO_CHAR(t.lastmodifieddate, 'DD.MM.YY HH12:MI AM') AS local
        FROM transaction t
        WHERE t.lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS')
          AND t.trandate <= TO_DATE(?, 'YYYY-MM-DD')
        ORDER BY t.lastmodifieddate""", ["2024-01-22 12:22:00", "2024-01-24"]))
    assert rows == [
        {"id": "23", "lastmodifieddate": "2024-01-23 12:23:00", "trandate": "2024-01-23",
         "raw": "23/01/2024", "local": "23.01.24 12:23 PM"},
        {"id": "24", "lastmodifieddate": "2024-01-24 12:24:00", "trandate": "2024-01-24",
         "raw": "24/01/2024", "local": "24.01.24 12:24 PM"}]
    iso = build_engine(date_display=None, datetime_display=None)
    assert iso.run("SELECT trandate, lastmodifieddate FROM transaction WHERE id = ?", ["1"]) \
        == [{"trandate": "2024-01-01", "lastmodifieddate": "2024-01-01 12:01:00"}]


async def test_an_id_compares_as_a_number_with_a_string_parameter(
        client: httpx.AsyncClient) -> None:
    """§3.1: parameters arrive as strings; `t.id > ?` with "9" must still be numeric
    ("10" > "9" as numbers, not as text), as must §3.1's own BETWEEN sample."""
    q = "SELECT t.id FROM transaction t WHERE t.id > ? ORDER BY t.id"
    rows = items(await post(client, q, ["9"]))
    assert [r["id"] for r in rows] == [str(n) for n in range(10, 26)]
    assert items(await post(client, "SELECT * FROM item WHERE id BETWEEN ? AND ? ORDER BY id",
                            ["-7", "0"])) == [
        {"id": "-7", "itemid": "SKU-7", "isinactive": "T"},
        {"id": "-3", "itemid": "SKU-3", "isinactive": "T"},
        {"id": "0", "itemid": "SKU0", "isinactive": "F"}]
    q = "SELECT id FROM transaction WHERE id IN (?, ?) ORDER BY id"
    assert [r["id"] for r in items(await post(client, q, ["9", "10"]))] == ["9", "10"]
    # a keyset over two columns, as the connector pages past the ceiling
    q = ("SELECT t.id, tl.id AS line FROM transaction t JOIN transactionline tl "
         "ON tl.transaction = t.id WHERE t.id > ? OR (t.id = ? AND tl.id > ?) "
         "ORDER BY t.id, tl.id")
    rows = items(await post(client, q, ["24", "24", "1"]))
    assert rows == [{"id": "24", "line": "2"}, {"id": "25", "line": "1"},
                    {"id": "25", "line": "2"}]
    # an expression has no affinity: TO_NUMBER makes the parameter a number
    q = "SELECT id FROM transaction WHERE NVL(entity, 0) > TO_NUMBER(?)"
    assert len(items(await post(client, q, ["101"]))) == 8


async def test_joins_subqueries_and_oracle_expressions(client: httpx.AsyncClient) -> None:
    """§4.8: a return's receipts through NextTransactionLineLink (any case), a JOIN and a
    LEFT JOIN, IN (subquery), CASE, ||, NVL, COALESCE, UPPER/LOWER."""
    rows = items(await post(client, """
        SELECT ra.tranid, rcpt.tranid AS receipt, l.nexttype, tl.id AS line, it.itemid,
               CASE WHEN tl.isclosed = 'T' THEN 'closed' ELSE 'open' END AS state,
               ra.tranid || '/' || LOWER(rcpt.type) AS path, NVL(ra.memo, 'none') AS memo,
               COALESCE(ra.memo, UPPER(it.itemid)) AS either
        FROM NextTransactionLineLink l
        JOIN transaction ra ON ra.id = l.previousdoc
        JOIN transaction rcpt ON rcpt.id = l.nextdoc
        JOIN transactionline tl ON tl.transaction = ra.id
        LEFT JOIN item it ON it.id = tl.item AND it.isinactive = 'F'
        WHERE l.previousdoc IN (SELECT t.id FROM transaction t WHERE t.type = ?)
          AND ra.id <= ?
        ORDER BY ra.id, tl.id""", ["RtnAuth", "2"]))
    assert rows == [
        {"tranid": "RA001", "receipt": "RA021", "nexttype": "ItemRcpt", "line": "1",
         "itemid": "SKU5", "state": "open", "path": "RA001/itemrcpt", "memo": "none",
         "either": "SKU5"},
        {"tranid": "RA001", "receipt": "RA021", "nexttype": "ItemRcpt", "line": "2",
         "itemid": "SKU10", "state": "open", "path": "RA001/itemrcpt", "memo": "none",
         "either": "SKU10"},
        {"tranid": "RA002", "receipt": "RA022", "nexttype": "ItemRcpt", "line": "1",
         "itemid": "SKU5", "state": "open", "path": "RA002/itemrcpt", "memo": "boxed",
         "either": "boxed"},
        {"tranid": "RA002", "receipt": "RA022", "nexttype": "ItemRcpt", "line": "2",
         "itemid": "SKU10", "state": "open", "path": "RA002/itemrcpt", "memo": "boxed",
         "either": "boxed"}]


# ------------------------------------------------------------------------ the engine


def test_engine_writes_and_a_write_refreshes_paged_results() -> None:
    """The simulator's side: insert (checked per column type), update, delete, rows; a
    page after a write sees the write (§3.2: each request runs the query)."""
    engine = build_engine()
    q = "SELECT id FROM item ORDER BY id"
    assert engine.page(q, limit=2, offset=0)[0] == 5
    engine.insert("item", {"id": "11", "itemid": "SKU11", "isinactive": "F"})
    assert engine.page(q, limit=2, offset=4) == (6, [{"id": "10"}, {"id": "11"}])
    assert engine.update("transaction", {"id": 2}, {"status": "G", "status__df": "Refunded",
                                                    "memo": None}) == 1
    assert engine.run("SELECT status, BUILTIN.DF(status) AS text, memo FROM transaction "
                      "WHERE id = 2") == [{"status": "G", "text": "Refunded"}]
    assert engine.delete("item", {"id": 11}) == 1
    assert engine.page(q, limit=2, offset=4) == (5, [{"id": "10"}])
    [row] = engine.rows("transaction", id="1")
    assert (row["foreigntotal"], row["trandate"], row["status__df"]) == \
        (Decimal("12.5"), "2024-01-01", "Pending Receipt")
    assert "memo__df" not in row
    with pytest.raises(ValueError, match="no column"):
        engine.insert("item", {"id": 12, "colour": "red"})
    with pytest.raises(ValueError, match="15 significant digits"):
        engine.insert("transaction", {"id": 99, "foreigntotal": "1.0000000000000001"})
    with pytest.raises(ValueError, match="DATE"):
        engine.insert("transaction", {"id": 99, "trandate": "13/01/2024"})
    with pytest.raises(SuiteQLError, match="only SELECT"):
        engine.run("DELETE FROM item")
    assert len(engine.rows("transaction")) == 25  # the refused inserts left nothing


async def test_thirty_thousand_joined_rows_page_without_rerunning() -> None:
    """§3.2: a walk of 30,000 joined rows in 1000-row pages; the query runs once and a
    deep page costs no more than the first."""
    engine = SuiteQLEngine(SCHEMA, indexes={"transactionline": ["transaction"]})
    engine.insert_many("transaction", [{"id": n, "type": "RtnAuth", "tranid": f"RA{n}",
                                        "status": "B", "status__df": "Pending Receipt",
                                        "lastmodifieddate": "2024-03-01 10:00:00"}
                                       for n in range(1, 6001)])
    engine.insert_many("transactionline", [{"transaction": n, "id": line, "quantity": 1}
                                           for n in range(1, 6001) for line in range(1, 6)])
    q = ("SELECT t.id, tl.id AS line, BUILTIN.DF(t.status) AS statustext, "
         "TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate "
         "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
         "WHERE t.type = ? ORDER BY t.id, tl.id")
    async with serve(engine) as big:
        first = await fetch_page(big, q, ["RtnAuth"], limit=1000, offset=0)
        assert (first["totalResults"], first["count"], first["hasMore"]) == (30000, 1000, True)
        started = time.perf_counter()
        deep = await fetch_page(big, q, ["RtnAuth"], limit=1000, offset=29000)
        assert time.perf_counter() - started < 0.5
    assert (deep["count"], deep["hasMore"]) == (1000, False)
    assert deep["items"][-1] == {"links": [], "id": "6000", "line": "5",
                                 "statustext": "Pending Receipt",
                                 "lastmodifieddate": "2024-03-01 10:00:00"}
    seen = {(r["id"], r["line"]) for offset in range(0, 30000, 1000)
            for r in engine.page(q, ["RtnAuth"], limit=1000, offset=offset)[1]}
    assert len(seen) == 30000

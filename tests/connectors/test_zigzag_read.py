"""ZigZag's read where its answers are not what the profile expects (a review's
reproductions): a list read in part is never all clear, lines that are no list are a
payload problem, a merge says what a read of the records says, a webhook's id stays in
its path segment."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from returns_console.connectors.errors import InvalidPayloadError
from returns_console.connectors.http import RetryPolicy
from returns_console.systems.zigzag.connector import ZigZagConnector
from returns_console.systems.zigzag.options import ZigZagOptions


def _ret(rid: str, status: str = "Approved", **kw: Any) -> dict[str, Any]:
    return {"returnId": rid, "status": status, "products": [{"productSku": "S",
                                                              "quantity": 1}], **kw}


def _connector(handler: Any = None, **options: Any) -> ZigZagConnector:
    transport = httpx.MockTransport(handler) if handler else None
    return ZigZagConnector(base_url="https://zz.example", username="u", password="p",
                           options=ZigZagOptions(retailer_code="R", **options),
                           transport=transport, retry=RetryPolicy(attempts=1))


def _api(pages: Any) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Token"):
            return httpx.Response(200, json={"token": "a.b.c"})
        return httpx.Response(200, json=pages(request))
    return handler


def test_a_server_capping_pages_below_ours_is_read_to_the_empty_page() -> None:
    rows = [_ret(f"Z{n}") for n in range(100)]

    def pages(request: httpx.Request) -> Any:
        page = int(request.url.params["page"])
        return {"returns": rows[(page - 1) * 25:page * 25]}  # 25 a page, whatever was asked

    connector = _connector(_api(pages), returns_list_path="/r", paging="page", page_size=50)
    batch = asyncio.run(connector.fetch_returns())
    assert len(batch.views) == 100


@pytest.mark.parametrize(("options", "pages"), [
    ({"paging": "cursor"}, lambda r: {"returns": [_ret("Z")], "next": "same"}),
    ({"paging": "page", "max_pages": 3}, lambda r: {"returns": [_ret(r.url.params["page"])]}),
    ({"paging": "page"}, lambda r: {"returns": [_ret("Z1")]}),  # the same page again
])
def test_a_list_read_in_part_is_an_error_never_all_clear(options: dict, pages: Any) -> None:
    connector = _connector(_api(pages), returns_list_path="/r", **options)
    with pytest.raises(InvalidPayloadError):
        asyncio.run(connector.fetch_returns())


def test_a_numeric_cursor_is_followed() -> None:
    def pages(request: httpx.Request) -> Any:
        at = int(request.url.params.get("cursor", "0"))
        return {"returns": [_ret(f"Z{at}")], "next": at + 1 if at < 2 else None}

    connector = _connector(_api(pages), returns_list_path="/r", paging="cursor")
    assert len(asyncio.run(connector.fetch_returns()).views) == 3


def test_lines_that_are_no_list_are_a_payload_problem() -> None:
    batch = _connector().batch([_ret("Z1", products=5)])
    assert batch.views == [] and "not a list" in batch.problems["Z1"][0].error


def test_a_merge_says_what_the_records_say() -> None:
    connector = _connector(updated_since_param="since")
    earlier = connector.batch([_ret("A"), _ret("B")])
    changed = connector.batch([_ret("A", status="Teleported")])
    merged = connector.merge(earlier, changed)
    again = connector.from_raw(merged)
    assert [v.return_ref for v in merged.views] == [v.return_ref for v in again.views] == ["B"]
    assert set(merged.problems) == set(again.problems) == {"A"}
    whole = _connector()  # no changed-since parameter: every read is the list, it replaces
    assert whole.merge(earlier, changed) is changed

"""SuiteQL over REST, read (docs/vendors/netsuite.md §3): `POST /query/v1/suiteql` with
`Prefer: transient`, pages of up to 1,000 rows, each a new query after the last row read
(`queries.Query.build(after)`, ordered by a unique key as the docs advise): offset 0 is a
multiple of any limit, and no query comes near the 100,000-result ceiling.

Also NetSuite's error envelope (§7.1), read in both its forms into one line a person can
act on: `title: detail [o:errorCode]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from ...connectors.errors import InvalidPayloadError
from ...connectors.http import HttpClient, json_or_none
from .queries import Query, written_in

PATH = "/services/rest/query/v1/suiteql"


class SuiteQL:
    def __init__(self, http: HttpClient, system: str, page_size: int = 1000, *,
                 bound: bool = True) -> None:
        self.http = http
        self.system = system
        self.page_size = page_size
        #: Values as bound parameters (REST SuiteQL from 2026.2), else written into the text.
        self.bound = bound

    async def pages(self, query: Query) -> AsyncIterator[list[Any]]:
        """Every row of `query`, a page at a time, in its order. Each page is a new query
        after the last row read (offset 0): rows that change during the read cannot
        shift an offset into a duplicate or a gap, and the 100,000-result ceiling (§3.2)
        is never reached. A row that is not an object is passed on (the caller reports
        it), not dropped."""
        after: tuple[str, ...] | None = None
        limit = self.page_size
        while True:
            text, params = query.build(after)
            if params and not self.bound:
                text, params = written_in(text, params), []
            body: dict[str, Any] = {"q": text}
            if params:
                body["params"] = params
            response = await self.http.request(
                "POST", PATH, params={"limit": limit, "offset": 0}, json_body=body,
                headers={"Prefer": "transient"})
            page = self.http.decode(response)
            rows = _items(page, self.system, query.name)
            yield rows
            keyed = [row for row in rows if isinstance(row, Mapping)]
            if not _has_more(page, 0, len(rows)) or not keyed:
                return
            following = query.key(keyed[-1])
            if following == after:  # the server repeats itself: stop rather than loop
                raise InvalidPayloadError(self.system, f"the {query.name} query's pages do "
                                          "not move on")
            after = following


def _items(page: Any, system: str, name: str) -> list[Any]:
    if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
        raise InvalidPayloadError(system, f"the {name} query's answer has no items list")
    return [{str(k).lower(): v for k, v in item.items() if k != "links"}
            if isinstance(item, Mapping) else item for item in page["items"]]


def _has_more(page: Mapping[str, Any], offset: int, count: int) -> bool:
    more = page.get("hasMore")
    if isinstance(more, bool):
        return more
    total = page.get("totalResults")  # Oracle's sample shows no hasMore (§8 S1)
    try:
        return offset + count < int(str(total))
    except (TypeError, ValueError):
        return False


def error_text(response: httpx.Response) -> str | None:
    """NetSuite's error body as one line: `o:errorDetails` (one or more) or the top-level
    `detail` / `o:errorCode` form record actions send (§7.1, §7.2 F)."""
    body = json_or_none(response)
    if not isinstance(body, Mapping):
        text = response.text.strip()
        return text[:200].replace("\n", " ") if text else None
    parts: list[str] = []
    details = body.get("o:errorDetails")
    for entry in details if isinstance(details, list) else ():
        if isinstance(entry, Mapping):
            detail = str(entry.get("detail") or "").strip()
            code = entry.get("o:errorCode")
            where = entry.get("o:errorPath")
            parts.append(detail + (f" (at {where})" if where else "")
                         + (f" [{code}]" if code else ""))
    if not parts:
        detail = str(body.get("detail") or "").strip()
        code = body.get("o:errorCode")
        if detail or code:
            parts.append(detail + (f" [{code}]" if code else ""))
    if not parts and isinstance(body.get("error"), str):  # the token endpoint's (RFC 6749)
        described = str(body.get("error_description") or "").strip()
        parts.append(f"{body['error']}: {described}" if described else body["error"])
    title = str(body.get("title") or "").strip()
    said = "; ".join(p for p in parts if p)
    line = " ".join((f"{title}: {said}" if title and said else (said or title)).split())
    return line[:300] or None


def rate_limited(response: httpx.Response) -> bool:
    """A concurrency refusal: 429 (§7.2 E), or a 400 naming a request limit (RESTlets'
    `SSS_REQUEST_LIMIT_EXCEEDED`, §7.3), which is a rate limit whatever its status says."""
    if response.status_code == 429:
        return True
    if response.status_code != 400:
        return False
    text = error_text(response) or ""
    return "REQUEST_LIMIT_EXCEEDED" in text or "CONCURRENCY_LIMIT_EXCEEDED" in text

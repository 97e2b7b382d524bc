"""OData v4, the client side: what every connector to an OData API needs and no system should
write again (Business Central today, Dynamics 365 Finance & Operations next).

Server-driven paging (`@odata.nextLink`, asked for with `Prefer: odata.maxpagesize`), a
collection body's `value` list, string literals and query options, ETags and `If-Match`,
JSON `$batch`, the error envelope and `_xHHHH_` enum names. It names no system's entity,
field or status: those, and what a record means, stay in the system's folder.

`ODataClient` wraps the console's `HttpClient`, which keeps the retries, the token and the
typed errors; this module only adds what the protocol says.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

import httpx

from ...connectors.errors import InvalidPayloadError
from ...connectors.http import HttpClient

NEXT_LINK = "@odata.nextLink"
ETAG = "@odata.etag"
CONTEXT = "@odata.context"
#: The longest error text kept from an error body (a stack trace is not a message).
ERROR_LENGTH = 300

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


class Page(NamedTuple):
    """One page of a collection: its records, the link to the next page (None on the last)
    and the body as it came (a cache can keep it and read it again later)."""

    value: list[Any]
    next_link: str | None
    content: bytes


class BatchGet(NamedTuple):
    """One read inside a `$batch`: a path under the service root, its query options and,
    when it differs from the batch's, its own page size."""

    path: str
    params: Mapping[str, str] | None = None
    max_page_size: int | None = None


class BatchReply(NamedTuple):
    """One read's answer inside a `$batch`: its status as the answer gave it (an int from a
    well-behaved service; None when the answer left this read out) and its body."""

    status: Any
    body: Any


# ------------------------------------------------------------------------------ literals


def quote(value: str) -> str:
    """`value` as an OData string literal: in single quotes, each `'` doubled. A value is
    never put into `$filter` any other way (a quote in it would end the literal)."""
    return "'" + value.replace("'", "''") + "'"


def filter_eq(field: str, value: str) -> str:
    """The `$filter` clause `field eq 'value'`."""
    return f"{field} eq {quote(value)}"


def enum_literal(enum_type: str, member: str) -> str:
    """An enum member as an OData v4 filter literal, qualified by its type:
    `Namespace.EnumType'Member'` (services that type their enums refuse a bare string)."""
    return enum_type + quote(member)


def datetime_literal(moment: datetime) -> str:
    """An OData `DateTimeOffset` literal: UTC, milliseconds, `Z` (unquoted in `$filter`)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def query_options(*filters: str | None, select: str | None = None,
                  expand: str | None = None) -> dict[str, str]:
    """`$select`, `$expand` and `$filter` query parameters. The filter clauses given (None
    and empty ones left out) are joined with `and`; a clause holding an `or` is put in
    parentheses first, since `and` binds tighter."""
    out: dict[str, str] = {}
    if select:
        out["$select"] = select
    if expand:
        out["$expand"] = expand
    kept = [c for c in filters if c]
    if kept:
        out["$filter"] = " and ".join(f"({c})" if " or " in c else c for c in kept)
    return out


def decode_enum(value: str) -> str:
    """An enum member name as a person writes it. OData member names cannot hold spaces or
    symbols, so services escape each one as `_xHHHH_` (its hex code): `On_x0020_hold` is
    "On hold", `_x0020_` alone a blank."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)


# ------------------------------------------------------------------------------ bodies


def next_link(body: Any) -> str | None:
    """The body's `@odata.nextLink` (where the server continues the collection), if any."""
    link = body.get(NEXT_LINK) if isinstance(body, dict) else None
    return link if isinstance(link, str) and link else None


def etag_of(record: Mapping[str, Any]) -> str | None:
    """The record's `@odata.etag` (its version, to send back as `If-Match`), if it has one."""
    value = record.get(ETAG)
    return value if isinstance(value, str) and value else None


def error_text(body: Any, *, tidy: Callable[[str], str] | None = None) -> str | None:
    """OData's error envelope, `{"error": {"code": ..., "message": ...}}`, as one line a
    person can act on: `code: message` (either alone when the other is missing), at most
    ERROR_LENGTH characters. None for any other body, so the caller can try other shapes.
    `tidy` cleans the message first (a service's own tail, such as a correlation id)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    message = str(error.get("message") or "")
    message = (tidy(message) if tidy is not None else message).strip()
    text = f"{code}: {message}" if code and message else str(code or message or "")
    return text[:ERROR_LENGTH] or None


# ------------------------------------------------------------------------------ client


class ODataClient:
    """The OData protocol over one system's `HttpClient`: paging, entities, writes with
    `If-Match`, `$batch`. Errors are the HttpClient's typed ones, plus InvalidPayloadError
    for an answer that is not OData at all.

    `root` is the service root next links must stay under (scheme and host): they carry
    the token, so a link elsewhere is refused. It defaults to the client's base URL."""

    def __init__(self, http: HttpClient, *, root: str | None = None) -> None:
        self.http = http
        self.root = root if root is not None else str(http.client.base_url)

    @property
    def system(self) -> str:
        return self.http.system

    # -- reading -----------------------------------------------------------------------

    async def page(self, path: str, params: Mapping[str, str] | None = None, *,
                   max_page_size: int | None = None,
                   headers: Mapping[str, str] | None = None) -> Page:
        """One page of a collection, without following its next link. `max_page_size` is
        sent as `Prefer: odata.maxpagesize` (the server may send fewer); `headers` go with
        it. InvalidPayloadError for a body that is not a collection: such an answer comes
        from something other than the OData service (mostly a wrong base URL)."""
        response = await self.http.request("GET", path, params=params,
                                           headers=self._headers(max_page_size, headers))
        body = self.http.decode(response)
        if not isinstance(body, dict):
            raise InvalidPayloadError(self.system, f"GET {path} answered with something that "
                                      "is not an OData object; is the base URL right?")
        value = body.get("value")
        if not isinstance(value, list):
            raise InvalidPayloadError(self.system, f"GET {path} answered without a 'value' "
                                      "list; is the base URL right?")
        return Page(value, next_link(body), response.content)

    async def pages(self, path: str, params: Mapping[str, str] | None = None, *,
                    max_page_size: int | None = None,
                    headers: Mapping[str, str] | None = None) -> AsyncIterator[Page]:
        """Every page of a collection, following `@odata.nextLink` to the end; each page
        handed over as it arrives, so the caller can use it before the next one loads. The
        next link already holds the query, so only the first request sends `params`; every
        request sends the page size and `headers`. A link off the service root is refused
        (InvalidPayloadError), as is an absolute `path` off it."""
        if urlsplit(path).scheme:
            self.check_link(path)
        page = await self.page(path, params, max_page_size=max_page_size, headers=headers)
        while True:
            yield page
            if page.next_link is None:
                return
            self.check_link(page.next_link)
            page = await self.page(page.next_link, max_page_size=max_page_size,
                                   headers=headers)

    def check_link(self, link: str) -> None:
        """Refuse a link to anywhere but the service root's scheme and host: following it
        would send the token there. A relative link is refused too (its base is unclear)."""
        ours, theirs = urlsplit(self.root), urlsplit(link)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise InvalidPayloadError(self.system, f"a next link points at {theirs.netloc}, "
                                      f"not {ours.netloc}; refusing to send the token there")

    async def get(self, path: str, params: Mapping[str, str] | None = None, *,
                  key: str | None = None,
                  headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One entity, by its path (with its `@odata.etag`, to change it with)."""
        response = await self.http.request("GET", path, params=params,
                                           headers=dict(headers) if headers else None)
        return self.entity(response, key=key)

    def entity(self, response: httpx.Response, *, key: str | None = None) -> dict[str, Any]:
        """The entity an answer carries (a read, a create's 201, an update's 200), without
        `@odata.context`. InvalidPayloadError when the body is no JSON object, or lacks the
        string field `key` (the entity's key, where it has a single one)."""
        body = self.http.decode(response)
        if not isinstance(body, dict) or (key is not None and not isinstance(body.get(key),
                                                                             str)):
            raise InvalidPayloadError(self.system, f"{response.request.method} answered "
                                      f"{response.status_code} without the record")
        return {k: v for k, v in body.items() if k != CONTEXT}

    # -- writing -----------------------------------------------------------------------

    def etag(self, record: Mapping[str, Any], what: str = "record") -> str:
        """The record's ETag, required: a change sent without one could overwrite someone
        else's (InvalidPayloadError naming `what`)."""
        found = etag_of(record)
        if found is None:
            raise InvalidPayloadError(self.system, f"{what} came without an {ETAG}; it "
                                      "cannot be changed safely")
        return found

    async def patch(self, path: str, etag: str, body: Any, *,
                    headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Change an entity only if it is still the version read: `If-Match: etag`. A
        changed entity is the server's 409 or 412 (ConflictError); it is never overwritten
        silently, so an empty ETag is refused here rather than sent as `*`. Sent as a write:
        not repeated when it may have arrived (the caller looks instead)."""
        if not etag:
            raise ValueError("a PATCH needs the entity's ETag (If-Match)")
        return await self.http.request("PATCH", path, json_body=body,
                                       headers={**(headers or {}), "If-Match": etag},
                                       write=True)

    async def post(self, path: str, body: Any = None, *,
                   headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Create an entity (deep insert included) or call a bound action (no body; often
        204). Sent as a write: not repeated when it may have arrived."""
        return await self.http.request("POST", path, json_body=body,
                                       headers=dict(headers or {}), write=True)

    # -- $batch ------------------------------------------------------------------------

    async def batch(self, reads: Sequence[BatchGet], *, max_page_size: int | None = None,
                    headers: Mapping[str, str] | None = None) -> list[BatchReply]:
        """Many GETs as one JSON `$batch` request (one round trip, one request against the
        rate limit), their replies in the order of `reads`. Each read sends its page size
        (its own, else `max_page_size`) and `headers`; the batch request itself only the
        page size. Services cap the reads in a batch: the caller sends that many at most.
        A reply's own failure is left to the caller (it decides what a 404 means)."""
        requests = [{
            "id": str(n), "method": "GET",
            "headers": self._headers(read.max_page_size or max_page_size, headers),
            "url": read.path + (f"?{urlencode(read.params)}" if read.params else ""),
        } for n, read in enumerate(reads)]
        response = await self.http.request("POST", "$batch", json_body={"requests": requests},
                                           headers=self._headers(max_page_size, None))
        answer = self.http.decode(response)
        replies = answer.get("responses") if isinstance(answer, dict) else None
        if not isinstance(replies, list):
            raise InvalidPayloadError(self.system, "the $batch answer has no 'responses' list")
        by_id = {str(r.get("id")): r for r in replies if isinstance(r, dict)}
        out = []
        for n in range(len(reads)):
            reply = by_id.get(str(n)) or {}
            out.append(BatchReply(reply.get("status"), reply.get("body")))
        return out

    @staticmethod
    def _headers(max_page_size: int | None,
                 headers: Mapping[str, str] | None) -> dict[str, str]:
        prefer = {"Prefer": f"odata.maxpagesize={max_page_size}"} if max_page_size else {}
        return {**prefer, **(headers or {})}

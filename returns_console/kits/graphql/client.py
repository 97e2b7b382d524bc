"""GraphQL over HTTP, the client side: what every connector to a GraphQL API needs and no
system should write again (Shopify's Admin API first).

One POST per operation (`{"query", "variables"}`), the answer's `data` and `errors`, cursor
connections paged with `first`/`after` and `pageInfo {hasNextPage endCursor}`, and cost-
based throttling paced from `extensions.cost` (`cost.py`): the client waits for the bucket
before it sends, so the server's "throttled" is the exception, and then it is waited out
as the server's own figures say, not retried blindly. It names no system's type or field.

`GraphQLClient` wraps the console's `HttpClient`, which keeps the retries, the auth and the
typed errors of HTTP; this module only adds what GraphQL says.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import httpx

from ...connectors.errors import ConnectorError, InvalidPayloadError, RateLimitedError
from ...connectors.http import HttpClient
from ...redaction import redact
from ...visible import visible
from .cost import CostBucket

#: The error code a cost-throttled answer carries (`errors[].extensions.code`).
THROTTLED = "THROTTLED"
#: How many throttled answers in a row one operation waits out before it gives up.
THROTTLED_TRIES = 5
#: The longest error text kept (a server's message, not its stack).
ERROR_LENGTH = 300


class Reply(NamedTuple):
    """One answer: its `data`, its `extensions` and the body as it came."""

    data: Mapping[str, Any]
    extensions: Mapping[str, Any]
    content: bytes


class Page(NamedTuple):
    """One page of a connection: its nodes, the cursor after it (None: the last page), and
    the answer it came in."""

    nodes: list[Any]
    end_cursor: str | None
    reply: Reply


class GraphQLError(ConnectorError):
    """The server answered with `errors` (a query it refused, a field it would not give)."""

    def __init__(self, system: str, message: str, *, codes: Sequence[str] = (),
                 data: Any = None) -> None:
        super().__init__(system, message)
        self.codes = tuple(codes)
        self.data = data


class GraphQLClient:
    """Operations against one GraphQL endpoint (`path` under the HTTP client's base URL)."""

    def __init__(self, http: HttpClient, path: str, *, bucket: CostBucket | None = None,
                 first_cost: float = 50.0) -> None:
        self.http = http
        self.path = path
        self.bucket = bucket if bucket is not None else CostBucket()
        #: The requested cost the server last gave each operation (its text and variables
        #: but the cursor): what the bucket must hold before it is sent again;
        #: `first_cost` before it is known.
        self._costs: dict[tuple[str, str], float] = {}
        self._first_cost = first_cost
        #: Throttled answers seen (never expected while the bucket is paced).
        self.throttled = 0

    @property
    def system(self) -> str:
        return self.http.system

    async def execute(self, document: str, variables: Mapping[str, Any] | None = None
                      ) -> Reply:
        """Send one operation; its `data`, or a typed error. A throttled answer is waited
        out (as long as its own throttle status says) and sent again."""
        body: dict[str, Any] = {"query": document}
        if variables:
            body["variables"] = dict(variables)
        shape = (document, json.dumps({k: v for k, v in (variables or {}).items()
                                       if k != "after"}, sort_keys=True, default=str))
        for _ in range(THROTTLED_TRIES):
            cost = self._costs.get(shape, self._first_cost)
            await self.bucket.acquire(cost)
            throttle = None
            try:
                response = await self.http.request("POST", self.path, json_body=body)
                answer = self.http.decode(response)
                extensions = answer.get("extensions") if isinstance(answer, Mapping) else None
                extensions = extensions if isinstance(extensions, Mapping) else {}
                figures = extensions.get("cost")
                if isinstance(figures, Mapping):
                    throttle = figures.get("throttleStatus")
                    requested = _points(figures.get("requestedQueryCost"))
                    if requested is not None:
                        self._costs[shape] = requested
            finally:
                self.bucket.answered(cost, throttle)
            if not isinstance(answer, Mapping):
                raise InvalidPayloadError(self.system, f"POST {self.path} answered with "
                                          "JSON that is not a GraphQL response object")
            errors = answer.get("errors")
            if errors:
                codes = _codes(errors)
                if codes and all(code == THROTTLED for code in codes):
                    self.throttled += 1
                    blind = self.bucket.refused(self._costs.get(shape, cost))
                    if blind:
                        await self.bucket.sleep(blind)
                    continue
                raise self._error(errors, codes, answer.get("data"), response.request)
            data = answer.get("data")
            if not isinstance(data, Mapping):
                raise InvalidPayloadError(self.system, f"POST {self.path} answered with no "
                                          "data and no errors")
            return Reply(data, extensions, response.content)
        raise RateLimitedError(self.system, f"POST {self.path} was throttled "
                               f"{THROTTLED_TRIES} times in a row (another app or process "
                               "is spending this store's query budget)")

    async def pages(self, document: str, variables: Mapping[str, Any] | None,
                    connection: Sequence[str], *, after: str | None = None
                    ) -> AsyncIterator[Page]:
        """Every page of the connection at `connection` (the path of field names from
        `data`, aliases as the document spells them), following `endCursor` through the
        document's `$after` variable (set here: `after` is where to start) until
        `hasNextPage` is false."""
        cursor = after
        where = ".".join(connection)
        while True:
            reply = await self.execute(document, {**(variables or {}), "after": cursor})
            node: Any = reply.data
            for name in connection:
                node = node.get(name) if isinstance(node, Mapping) else None
            if not isinstance(node, Mapping):
                raise InvalidPayloadError(self.system, f"the answer has no connection at "
                                          f"{where}")
            nodes = node.get("nodes")
            if nodes is None and isinstance(node.get("edges"), list):
                nodes = [e.get("node") for e in node["edges"] if isinstance(e, Mapping)]
            if not isinstance(nodes, list):
                raise InvalidPayloadError(self.system, f"{where} has no list of nodes")
            info = node.get("pageInfo")
            more = isinstance(info, Mapping) and info.get("hasNextPage") is True
            end = info.get("endCursor") if isinstance(info, Mapping) else None
            if more and (not isinstance(end, str) or not end or end == cursor):
                raise InvalidPayloadError(self.system, f"{where} says there is a next page "
                                          "but gives no new cursor to it")
            yield Page(nodes, end if more else None, reply)
            if not more:
                return
            cursor = end

    def _error(self, errors: Any, codes: Sequence[str], data: Any,
               request: httpx.Request) -> GraphQLError:
        messages = []
        for item in errors if isinstance(errors, list) else [errors]:
            text = item.get("message") if isinstance(item, Mapping) else item
            if isinstance(text, str) and text not in messages:
                messages.append(text)
        said = "; ".join(messages) or "an error with no message"
        said = visible(redact(said, self.http.secrets_of(request)))
        if len(said) > ERROR_LENGTH:
            said = said[:ERROR_LENGTH - 1] + "…"
        named = sorted({c for c in codes if c})
        code = f" [{', '.join(named)}]" if named else ""
        return GraphQLError(self.system, f"POST {self.path} was refused{code}: {said}",
                            codes=codes, data=data)


def _points(value: Any) -> float | None:
    """A cost figure from an answer (int, float or Decimal), if it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _codes(errors: Any) -> list[str]:
    """Each error's `extensions.code` (an error without one counts as a code of its own,
    so a mix is never taken for all-throttled)."""
    out = []
    for item in errors if isinstance(errors, list) else [errors]:
        ext = item.get("extensions") if isinstance(item, Mapping) else None
        code = ext.get("code") if isinstance(ext, Mapping) else None
        out.append(code if isinstance(code, str) else "")
    return out

"""The HTTP endpoint systems push to: `POST /hooks/<system>/<suffix>`.

Each delivery is read raw (a signature covers the bytes as sent, so nothing is parsed
first), verified by the system's own WebhookSpec, keyed by the sender's delivery id and
kept in the inbox. The answers are what senders act on:

- 200 once the delivery is stored, and equally for a duplicate (`{"stored": false}`): a
  sender retries on anything else, so a duplicate answered with an error would come again
  for days;
- 401 for a missing or wrong signature, 400 for a delivery without an id, 404 for a system
  or path not served, 413 for a body over the cap: nothing is stored;
- 503 when the inbox cannot store it now: the sender's retry is the remedy.

No answer repeats anything the request carried (body, headers, path): whoever posts a
forged delivery learns nothing from the reply, and no log of replies holds customer data.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..connectors.base import (
    ChannelAnswer,
    ChannelRequest,
    ChannelRoute,
    InboxEvent,
    WebhookSpec,
)
from ..redaction import SECRET_HEADERS
from ..store.inbox import MAX_BODY, BodyTooLarge, Inbox
from ..visible import visible

_log = logging.getLogger(__name__)
#: How often an answer is decided again when another was recorded while it was decided.
DECIDE_ATTEMPTS = 5


class _TooLarge(Exception):
    pass


def receiver(inbox: Inbox, sources: Mapping[str, WebhookSpec], *, max_body: int = MAX_BODY,
             clock: Callable[[], datetime] | None = None,
             channels: Mapping[str, Sequence[ChannelRoute]] | None = None) -> Starlette:
    """The ASGI app receiving deliveries for `sources` (system → its spec) into `inbox`,
    and serving the endpoints of `channels` (system → its routes: an ERP that fetches from
    us as well as pushing). `clock` stamps arrivals (for tests)."""
    specs = dict(sources)
    now = clock or (lambda: datetime.now(UTC))

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def hook(request: Request) -> JSONResponse:
        system = request.path_params["system"]
        spec = specs.get(system)
        if spec is None or request.path_params["suffix"].strip("/") != spec.suffix.strip("/"):
            return _answer(404, "no hook is served here")
        try:
            body = await _read(request, max_body)
        except _TooLarge:
            return _answer(413, f"a delivery may be at most {max_body} bytes")
        headers = _headers(request)
        if not _verified(spec, headers, body):
            return _answer(401, "the signature is missing or does not match")
        delivery_id = _text(spec.delivery_id, headers, body)
        if not delivery_id:
            return _answer(400, "the delivery carries no delivery id")
        topic = _text(spec.topic, headers, body)
        if not topic:
            return _answer(400, "the delivery carries no event type")
        keep = {name.lower() for name in spec.keep_headers} - SECRET_HEADERS
        kept = {name: visible(value) for name, value in headers.items() if name in keep}
        event = InboxEvent(system=system, delivery_id=visible(delivery_id),
                           topic=visible(topic), received_at=now(), body=body, headers=kept)
        try:
            new = await run_in_threadpool(inbox.receive, event)
        except BodyTooLarge:
            return _answer(413, f"a delivery may be at most {inbox.max_body} bytes")
        except sqlite3.Error:
            return _answer(503, "the delivery could not be stored now: send it again")
        return JSONResponse({"stored": new})

    routes = [Route("/hooks/health", health, methods=["GET"])]
    for system, served in (channels or {}).items():
        for route in served:
            routes.append(Route(f"/hooks/{system}/{route.suffix.strip('/')}",
                                _channel_endpoint(inbox, route, max_body, now, system),
                                methods=[route.method]))
    routes.append(Route("/hooks/{system}/{suffix:path}", hook, methods=["POST"]))
    app = Starlette(routes=routes)
    # A sender posts to exactly the address registered with it; a redirect to another
    # path is not an answer it acts on, so a near miss is a plain 404.
    app.router.redirect_slashes = False
    return app


def _keep(inbox: Inbox, answer: ChannelAnswer, system: str) -> bool:
    """Store what `answer` keeps (see `ChannelAnswer.keep_if_latest`); False: not kept,
    another answer of the same topic came first."""
    if answer.keep_if_latest is None:
        for event in answer.keep:
            inbox.receive(event)
        return True
    topic, seq = answer.keep_if_latest
    return inbox.receive_if_latest(answer.keep, system, topic, seq)


def _channel_endpoint(inbox: Inbox, route: ChannelRoute, max_body: int,
                      now: Callable[[], datetime], system: str
                      ) -> Callable[[Request], Awaitable[Response]]:
    """One channel endpoint: the request handed to its system's handler, what the handler
    wants kept stored before the answer goes (503 when it cannot be: the ERP asks again)."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _read(request, max_body)
        except _TooLarge:
            return _answer(413, f"a request may be at most {max_body} bytes")
        asked = ChannelRequest(method=request.method, headers=_headers(request),
                               query=dict(request.query_params), body=body,
                               received_at=now())
        for _ in range(DECIDE_ATTEMPTS):
            try:
                answer = await route.handle(asked)
            except Exception as exc:  # a handler's bug: say nothing of it to the sender
                _log.error("the %s endpoint %s failed: %s", route.method, route.suffix,
                           _where(exc))
                return _answer(500, "the request could not be answered now")
            try:
                kept = await run_in_threadpool(_keep, inbox, answer, system)
            except (sqlite3.Error, BodyTooLarge):
                return _answer(503, "the request could not be recorded now: send it again")
            if kept:
                return Response(answer.body, status_code=answer.status,
                                media_type=answer.media_type, headers=answer.headers)
        # another answer was recorded each time this one was decided: asked again later
        return _answer(503, "busy answering another request: send it again")

    return endpoint


def _where(exc: BaseException) -> str:
    """A failure's type and the line that raised it, for the operator's log: not its
    message, which may quote what a system sent (customer data, a secret)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    place = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" \
        if tb is not None else ""
    return f"{type(exc).__name__}{place}"


async def _read(request: Request, max_body: int) -> bytes:
    """The raw body, refused as soon as it is known to be over `max_body` (announced or
    counted), so a huge upload is never held in memory."""
    try:
        announced = int(request.headers.get("content-length", ""))
    except ValueError:
        announced = None
    if announced is not None and announced > max_body:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(request: Request) -> dict[str, str]:
    """Lower-case names; a repeated header counts by its first value."""
    found: dict[str, str] = {}
    for name, value in request.headers.items():
        found.setdefault(name.lower(), value)
    return found


def _verified(spec: WebhookSpec, headers: Mapping[str, str], body: bytes) -> bool:
    try:
        return spec.verify(headers, body) is True
    except Exception:  # a check that cannot decide has not verified anything
        return False


def _text(read: Callable[[Mapping[str, str], bytes], str | None],
          headers: Mapping[str, str], body: bytes) -> str | None:
    try:
        value = read(headers, body)
    except Exception:  # an unreadable id or type is a delivery without one
        return None
    return value.strip() if isinstance(value, str) else None


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)

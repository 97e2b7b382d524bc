"""The one HTTP layer every connector uses (httpx, async).

It owns what every real API needs and no connector should write again: a timeout, a bound on
concurrent requests per system, retries with exponential backoff and jitter that honour
`Retry-After` (tenacity), one token refresh on 401, typed errors with readable messages, and
a log of the calls made (method, redacted URL, status, milliseconds) for the console to show.

Writes (`write=True`) are sent differently: POST and PATCH are not idempotent, so a write is
sent again only when the server certainly did not act on it (429, or no connection made),
never after a timeout or a 5xx; and a 4xx that means "no" is a `RefusedError` carrying the
system's message. JSON bodies are encoded here, Decimals as exact JSON numbers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import jiter
from tenacity import AsyncRetrying, retry_if_exception
from tenacity.wait import wait_exponential_jitter

from ..exact_json import exact_json
from ..redaction import redact, request_secrets
from ..visible import needs_visible, visible, visible_json
from .errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    InvalidPayloadError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RefusedError,
    RequestError,
    ServerError,
)
from .pacing import Pacer

#: Query parameters whose values never leave this module.
SECRET_PARAMS = frozenset({
    "api_token", "api_key", "apikey", "key", "token", "access_token", "client_secret",
    "secret", "password", "signature", "sig", "code", "x-api-key",
    # signed storage links (a bulk export's file): whoever holds them may download it
    "x-goog-signature", "x-goog-credential", "x-amz-signature", "x-amz-credential",
    "x-amz-security-token",
})


def redact_url(url: str | httpx.URL) -> str:
    """The URL with user info dropped and secret-looking query values replaced by ***."""
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [(k, "***" if k.lower() in SECRET_PARAMS else v)
         for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="/:$,'()*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def json_text(value: Any) -> str:
    """`value` as the JSON sent to a system: money never passes through a float."""
    return exact_json(value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5
    #: A server asking for a longer wait than this is treated as down for now.
    max_retry_after: float = 120.0


@dataclass(frozen=True, slots=True)
class CallRecord:
    at: datetime
    system: str
    method: str
    url: str
    status: int | None
    ms: float
    attempt: int
    error: str | None = None
    #: A short digest of the body sent (None: no body): tells apart the requests of an API
    #: that posts every query to one URL (GraphQL), so a retry is known for the same one.
    body: str | None = None


class CallLog:
    """The most recent calls, newest last, shared by every client of a session."""

    def __init__(self, size: int = 2000) -> None:
        self._calls: deque[CallRecord] = deque(maxlen=size)
        self.total = 0

    def add(self, record: CallRecord) -> None:
        self._calls.append(record)
        self.total += 1

    def __iter__(self):
        return iter(list(self._calls))

    def __len__(self) -> int:
        return len(self._calls)

    def count(self, system: str | None = None) -> int:
        return sum(1 for c in self._calls if system is None or c.system == system)


class Auth(Protocol):
    """How a system proves who we are. Secrets stay inside the implementation."""

    async def headers(self, http: HttpClient) -> Mapping[str, str]: ...

    async def refresh(self, http: HttpClient) -> bool:
        """Forget a cached token; True if a retry with fresh credentials makes sense."""
        ...

    def secrets(self) -> list[str]:
        """Every secret value it holds now, to be masked in any text a server sends back."""
        ...


class SigningAuth(Auth, Protocol):
    """An auth that must see each request as sent: a signature over the method, the URL and a
    fresh nonce and timestamp (OAuth 1.0a). HttpClient calls `sign` on every attempt, after
    the headers are applied and just before sending, so a retry is signed anew."""

    def sign(self, request: httpx.Request) -> None: ...


class NoAuth:
    async def headers(self, http: HttpClient) -> Mapping[str, str]:
        return {}

    def secrets(self) -> list[str]:
        return []

    async def refresh(self, http: HttpClient) -> bool:
        return False


ErrorParser = Callable[[httpx.Response], str | None]


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _Wait:
    """Exponential backoff with jitter, but never shorter than the server's Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial, max=policy.maximum, jitter=policy.jitter
        )

    def __call__(self, state) -> float:
        backoff = self._backoff(state)
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        return max(backoff, asked) if asked is not None else backoff


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: httpx would make one per client,
    reading the whole CA bundle each time (about 50 ms each, and a check opens two). It
    reads SSL_CERT_FILE / SSL_CERT_DIR once, at the first client. Shared, so never changed
    after it is made: no client certificate, no HTTP/2 (a client that needs either makes
    its own)."""
    return httpx.create_ssl_context()


class HttpClient:
    """An async client for one system: base URL, auth, limits, retries and the call log."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        log: CallLog | None = None,
        error_parser: ErrorParser | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Any] | None = None,
        pacer: Pacer | None = None,
        throttled: Callable[[httpx.Response], bool] | None = None,
        wait_said: Callable[[httpx.Response], float | None] | None = None,
    ) -> None:
        self.system = system
        #: How long a rate-limited answer without Retry-After asks to wait, read from its
        #: body (an API that says it there); None: only the header counts.
        self._wait_said = wait_said
        #: A refusal that is a rate limit whatever its status (an API that says so in a
        #: 400's body): retried as a 429 is.
        self._throttled = throttled
        self.auth = auth or NoAuth()
        self.retry = retry or RetryPolicy()
        self.log = log if log is not None else CallLog()
        self._parse_error = error_parser or _default_error
        self._limit = asyncio.Semaphore(concurrency)
        #: Requests holding a slot whose bytes are not on the wire yet (`_hand_over`).
        self._unsent = 0
        self._sleep = sleep or asyncio.sleep
        #: Spaces the starts of requests (every attempt), for APIs that count per second.
        self.pacer = pacer
        #: The transport given (None: the network): a second client for another host of
        #: the same system (a signed download link) goes the same way.
        self.transport = transport
        self.client = httpx.AsyncClient(
            base_url=base_url,
            # A host that does not answer is known in seconds; a slow answer may take long.
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            headers={"Accept": "application/json", **(headers or {})},
            follow_redirects=False,
            verify=tls_context(),
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    @property
    def sleep(self) -> Callable[[float], Any]:
        """How this client waits (a test's clock makes waits instant)."""
        return self._sleep

    # -- requests --------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
        write: bool = False,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise a typed ConnectorError.

        `write=True` for a request that changes something: retried only when the server
        certainly did not act on it, and a 4xx other than auth, not found, conflict or
        throttling raises RefusedError (the system said no)."""
        policy = self.retry
        retrying = AsyncRetrying(
            stop=_stop(policy),
            wait=_Wait(policy),
            retry=retry_if_exception(_should_retry(policy, write)),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(
                    method, url, params, json_body, data, headers, authenticate,
                    attempt.retry_state.attempt_number, write,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.request("GET", url, params=params)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body, with every non-integer number as Decimal: money never passes
        through a float; control characters in its strings made visible."""
        try:
            return decode_json(response.content)
        except ValueError:
            raise InvalidPayloadError(
                self.system,
                f"{response.request.method} {redact_url(response.request.url)} answered "
                f"{response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None

    async def _send_once(self, method, url, params, json_body, data, headers, authenticate,
                         attempt: int, write: bool = False) -> httpx.Response:
        refreshed = False
        while True:
            sent_headers = dict(headers or {})
            credentials: Mapping[str, str] = {}
            if authenticate:
                credentials = await self.auth.headers(self)
                sent_headers.update(credentials)
            response = await self._timed(method, url, params, json_body, data, sent_headers,
                                         attempt, sign=authenticate, hand_over=not write)
            if response.status_code == 401 and authenticate and not refreshed:
                refreshed = True
                # another request refused with the same token may have fetched a new one
                # meanwhile (a read runs several at once): that one, not yet another
                if await self.auth.headers(self) != credentials:
                    continue
                if await self.auth.refresh(self):
                    continue
            return self._check(response, write)

    async def _timed(self, method, url, params, json_body, data, headers,
                     attempt: int, *, sign: bool = False,
                     hand_over: bool = True) -> httpx.Response:
        content = None
        if json_body is not None:
            content = json_text(json_body).encode()
            if not any(k.lower() == "content-type" for k in headers):
                headers = {**headers, "Content-Type": "application/json"}
        request = self.client.build_request(method, url, params=params, content=content,
                                            data=data, headers=headers)
        shown = redact_url(request.url)
        started = time.perf_counter()
        async with self._limit:
            if self.pacer is not None:
                await self.pacer.acquire()
            signer = getattr(self.auth, "sign", None) if sign else None
            if callable(signer):  # last, so a timestamp in the signature is the send time
                signer(request)
            sending = _Sending(self, request)
            sent = time.perf_counter()
            try:
                response = await self.client.send(request)
                await response.aread()
                # httpx's response and its stream refer to each other: a cycle only the
                # collector frees, which a bulk read pauses (domain/memory.py), so every
                # body read would stay in memory until the read ends. The body is read.
                response.stream = _READ
            except (httpx.LocalProtocolError, UnicodeEncodeError):
                # Never quote the header: it is most likely a credential.
                self._record(method, shown, None, started, attempt, "unsendable header",
                             content)
                raise RequestError(self.system, f"{method} {shown} could not be sent: a "
                                   "header value (most likely a credential) contains "
                                   "characters HTTP does not allow") from None
            except httpx.TimeoutException as exc:
                self._record(method, shown, None, started, attempt, "timeout", content)
                raise NetworkError(self.system, f"{method} {shown} timed out",
                                   maybe_sent=_maybe_sent(exc)) from None
            except httpx.TransportError as exc:
                reason = _transport_reason(exc)
                self._record(method, shown, None, started, attempt, reason, content)
                raise NetworkError(self.system, f"cannot reach {shown}: {reason}",
                                   maybe_sent=_maybe_sent(exc),
                                   refused=isinstance(exc, httpx.ConnectError)) from None
            finally:
                sending.done()
            if response.status_code == 429 and self.pacer is not None:
                self._pause(response)  # before any other request of this client can start
        self._record(method, shown, response.status_code, started, attempt, None, content)
        if (hand_over and len(response.content) <= HAND_OVER_MAX_BYTES
                and time.perf_counter() - sent >= HAND_OVER_AFTER_S):
            await self._hand_over()  # a read's page that came a round trip late (see there)
        return response

    async def _hand_over(self) -> None:
        """With this request's slot free, the request that waited for it is sent before
        this one's answer goes back to be parsed: parsing a page holds the event loop for
        milliseconds, and the next request would go out that much later, every page (a
        read of a hundred pages four at a time lost a tenth of its time so). A few turns
        of the loop, until every request holding a slot is on the wire. Only where the
        answer took a real round trip (an API's, not loopback's: there the next answer
        would only arrive while this one is parsed, and at 50,000 returns the check held
        100 MB more at its peak for no time gained), and not after a big page (several
        would be held at once; a chain of small pages is where a round trip a page adds
        up)."""
        await asyncio.sleep(0)  # a request waiting for the slot takes it
        for _ in range(HAND_OVER_TURNS):
            if not self._unsent:
                return
            await asyncio.sleep(0)

    def _pause(self, response: httpx.Response) -> None:
        """A 429 with Retry-After holds every request to the system, not only this one's
        retry. A wait beyond the retry cap is not held: that request fails now (the system
        counts as down for now) and the others should fail as fast, not hang."""
        assert self.pacer is not None
        wait = self._retry_after(response)
        if wait is not None and wait <= self.retry.max_retry_after:
            self.pacer.pause_for(wait)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """The wait a rate-limited answer asks for: its Retry-After, else what its body says
        (where the system's connector knows how to read it)."""
        wait = retry_after_seconds(response)
        if wait is None and self._wait_said is not None:
            try:
                wait = self._wait_said(response)
            except Exception:
                wait = None
        return wait

    def _record(self, method: str, url: str, status: int | None, started: float, attempt: int,
                error: str | None, content: bytes | None = None) -> None:
        self.log.add(CallRecord(
            at=datetime.now(UTC), system=self.system, method=method, url=url, status=status,
            ms=(time.perf_counter() - started) * 1000, attempt=attempt, error=error,
            body=hashlib.blake2s(content, digest_size=6).hexdigest() if content else None,
        ))

    def _check(self, response: httpx.Response, write: bool = False) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        try:
            detail = self._parse_error(response)
        except (ValueError, RecursionError, TypeError):  # a body no parser could read
            detail = None
        if detail:  # a server may echo the request's credentials back: never pass them on
            detail = visible(redact(detail, self.secrets_of(response.request)))
        error = self._error(response, write, detail)
        error.detail = detail
        raise error

    def secrets_of(self, request: httpx.Request) -> set[str]:
        """What a request carried that must not be repeated: its credentials, and every
        secret the auth knows (the key, the client secret, the token it was issued)."""
        try:
            form = request.content if "form" in request.headers.get("content-type", "") \
                else None
        except httpx.RequestNotRead:
            form = None
        found = request_secrets(request.headers, request.url.params.multi_items(), form)
        known = getattr(self.auth, "secrets", None)
        return found | set(known()) if callable(known) else found

    def _error(self, response: httpx.Response, write: bool,
               detail: str | None) -> ConnectorError:
        status = response.status_code
        request = response.request
        where = f"{request.method} {redact_url(request.url)}"
        said = f": {detail}" if detail else ""
        system = self.system
        if status in (401, 403):
            # an auth may know more causes of a refusal than wrong credentials
            hint = ((getattr(self.auth, "refused_hint", None) or "check the credentials")
                    if status == 401 else "the credentials lack permission for this")
            return AuthError(system, f"{where} was refused ({status}){said}; {hint}",
                             status=status)
        if status == 404:
            return NotFoundError(system, f"{where} was not found (404){said}", status=status)
        if status in (409, 412):
            return ConflictError(system, f"{where} conflicts with a change made since it was "
                                 f"read ({status}){said}", status=status)
        if status == 429 or (self._throttled is not None and self._throttled(response)):
            wait = self._retry_after(response)
            return RateLimitedError(system, f"{where} was rate limited ({status}){said}",
                                    retry_after=wait)
        if status >= 500 or status == 408:
            return ServerError(system, f"{where} failed ({status}){said}", status=status,
                               retry_after=retry_after_seconds(response))
        if write:
            return RefusedError(system, f"{where} was refused ({status}){said}", status=status)
        return RequestError(system, f"{where} was rejected ({status}){said}", status=status)


#: Attempts at a port nothing listens on: one more, in case it was restarting.
REFUSED_ATTEMPTS = 2


def _stop(policy: RetryPolicy) -> Callable[[Any], bool]:
    """The policy's attempts; fewer for a refused connection, which waiting rarely cures."""
    def stop(state: Any) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        failed = state.outcome.exception() if state.outcome is not None else None
        return (isinstance(failed, NetworkError) and failed.refused
                and state.attempt_number >= REFUSED_ATTEMPTS)

    return stop


def _should_retry(policy: RetryPolicy, write: bool = False) -> Callable[[BaseException], bool]:
    def check(error: BaseException) -> bool:
        if not isinstance(error, ConnectorError) or not error.retryable:
            return False
        # A write is sent again only when the server certainly did not act on it: it said
        # "too many requests", or no connection was ever made. After a timeout or a 5xx the
        # change may be done; the caller looks before it tries again.
        if write and not (isinstance(error, RateLimitedError) or (
                isinstance(error, NetworkError) and not error.maybe_sent)):
            return False
        asked = getattr(error, "retry_after", None)
        return asked is None or asked <= policy.max_retry_after

    return check


def _maybe_sent(exc: httpx.TransportError) -> bool:
    """Whether the request may have reached the server: not when the connection (or a
    slot in the pool) was never had."""
    return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and "All connection attempts failed" in text:
        return "connection refused (nothing answers at that address)"
    if "Connection refused" in text or "ConnectError" in type(exc).__name__:
        return "connection refused" if "refused" in text.lower() else text
    return text


#: Turns of the event loop a request's answer waits, at most, for the requests that took
#: the free slots to be sent (`HttpClient._hand_over`); sending one takes about five.
HAND_OVER_TURNS = 20
#: The largest answer after which a request hands its slot over (`HttpClient._hand_over`).
HAND_OVER_MAX_BYTES = 1 << 20
#: The shortest wait for an answer after which a request hands its slot over.
HAND_OVER_AFTER_S = 0.03


class _Sending:
    """One request holding a slot, counted in `HttpClient._unsent` until its body is on
    the wire (httpcore's trace says so) or it ends, whichever comes first."""

    __slots__ = ("client", "counted")

    def __init__(self, client: HttpClient, request: httpx.Request) -> None:
        self.client = client
        self.counted = True
        client._unsent += 1
        request.extensions = {**request.extensions, "trace": self.trace}

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            self.done()

    def done(self) -> None:
        if self.counted:
            self.counted = False
            self.client._unsent -= 1


#: What a response's stream is once its body is read (see `_timed`).
_READ = httpx.ByteStream(b"")


def decode_json(content: bytes | str) -> Any:
    """A JSON body as the connectors read it: non-integer numbers as Decimal, control
    characters in strings made visible. ValueError for anything that is not JSON, however
    it fails (a body nested 200,000 deep exhausts the decoder's recursion, not a crash)."""
    raw = content.encode() if isinstance(content, str) else content
    try:
        # The same values as json.loads with Decimal; 1.2x faster, and a string that comes
        # back in record after record (a status, a key, a date) is one object, not one each.
        value = jiter.from_json(raw, float_mode="decimal", allow_inf_nan=False)
    except ValueError:
        # What it refuses, json.loads reads as before (UTF-16, a BOM, lone surrogates, NaN)
        # or fails on as before.
        try:
            value = json.loads(raw, parse_float=Decimal)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply to read") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"the body is not UTF-8 JSON ({exc.reason})") from None
    if json.detect_encoding(raw) not in ("utf-8", "utf-8-sig"):
        # json reads UTF-16 and UTF-32 too, whose bytes the quick look does not know:
        # every string of such a body is looked at
        return visible_json(value)
    return visible_json(value) if needs_visible(raw) else value


def json_or_none(response: httpx.Response) -> Any:
    """The body as JSON for an error parser, or None when it is not (however it fails)."""
    try:
        return decode_json(response.content)
    except ValueError:
        return None


def _default_error(response: httpx.Response) -> str | None:
    text = response.text.strip()
    if not text:
        return None
    return text[:200].replace("\n", " ")

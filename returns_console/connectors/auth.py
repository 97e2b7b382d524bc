"""How each system proves who we are. Secrets live only inside these objects (SecretStr)
and only ever leave in a request header or token request body."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from .errors import AuthError, ConnectorError, InvalidPayloadError, RequestError
from .http import HttpClient


class ApiKeyHeader:
    """A static key in a header (Swap `x-api-key`, Happy Returns' key header, ...)."""

    def __init__(self, header: str, key: SecretStr | str) -> None:
        self.header = header
        self._key = key if isinstance(key, SecretStr) else SecretStr(key)

    async def headers(self, http: HttpClient) -> Mapping[str, str]:
        return {self.header: self._key.get_secret_value()}

    async def refresh(self, http: HttpClient) -> bool:
        return False  # a static key does not get better by asking again

    def secrets(self) -> list[str]:
        return [self._key.get_secret_value()]

    def __repr__(self) -> str:
        return f"ApiKeyHeader({self.header!r}, '***')"


class BearerToken:
    """A bearer token fetched by `_fetch` (each subclass says how), cached until `leeway`
    seconds before it expires by `clock`, and fetched again after a 401."""

    def __init__(self, *, leeway: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._leeway = leeway
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        #: The token endpoint's refusal, and until when it stands: the requests waiting on
        #: the lock (a read runs several at once) are told it, not sent again to be refused.
        self._refused: tuple[AuthError, float] | None = None

    #: How long a refusal stands (a person may fix the credentials meanwhile).
    REFUSAL_HOLDS = 60.0

    async def headers(self, http: HttpClient) -> Mapping[str, str]:
        async with self._lock:
            if self._refused is not None and self._clock() < self._refused[1]:
                raise self._refused[0]
            if self._token is None or self._clock() >= self._expires:
                try:
                    await self._fetch(http)
                except AuthError as exc:
                    self._refused = (exc, self._clock() + self.REFUSAL_HOLDS)
                    raise
            assert self._token is not None
            return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    async def refresh(self, http: HttpClient) -> bool:
        async with self._lock:
            self._token = None
        return True

    async def _fetch(self, http: HttpClient) -> None:
        raise NotImplementedError

    def _keep(self, token: SecretStr, lifetime: float) -> None:
        self._token = token
        self._expires = self._clock() + max(0.0, lifetime - self._leeway)


class OAuthClientCredentials(BearerToken):
    """OAuth 2.0 client credentials (Microsoft Entra ID for Business Central): a bearer token
    fetched from the token URL, cached until shortly before it expires, refreshed on 401."""

    def __init__(self, token_url: str, client_id: str, client_secret: SecretStr | str,
                 scope: str, *, leeway: float = 60.0) -> None:
        super().__init__(leeway=leeway)
        self.token_url = token_url
        self.client_id = client_id
        self._secret = (client_secret if isinstance(client_secret, SecretStr)
                        else SecretStr(client_secret))
        self.scope = scope

    async def _fetch(self, http: HttpClient) -> None:
        token, lifetime = await request_token(
            http, self.token_url,
            {"grant_type": "client_credentials", "client_id": self.client_id,
             "client_secret": self._secret.get_secret_value(), "scope": self.scope},
            refused="the token endpoint refused the client id and secret; check them in "
                    "the profile")
        self._keep(token, lifetime)

    def secrets(self) -> list[str]:
        token = self._token.get_secret_value() if self._token is not None else None
        return [v for v in (self._secret.get_secret_value(), token) if v]

    def __repr__(self) -> str:
        return f"OAuthClientCredentials({self.token_url!r}, {self.client_id!r}, '***')"


def oauth_error(detail: str | None) -> str | None:
    """An OAuth error body (RFC 6749 §5.2: `error`, `error_description`) as one line; any
    other error text as the parser gave it."""
    if not detail:
        return None
    try:
        body = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return detail
    description = str(body.get("error_description") or "").strip()
    return f"{body['error']}: {description}" if description else body["error"]


async def request_token(http: HttpClient, token_url: str, form: Mapping[str, str], *,
                        refused: str,
                        scrub: Callable[[str], str] | None = None) -> tuple[SecretStr, float]:
    """POST an OAuth 2.0 token request; the access token and its lifetime in seconds.

    For the token-based auths that fetch a bearer token the way `OAuthClientCredentials`
    does. `refused` is the sentence for a 400/401/403: RFC 6749 §5.2 answers a token
    request it does not accept with 400 (`invalid_grant`, `invalid_client`, ...), or 401,
    and the OAuth error's code and description follow it; `scrub` cleans any other error's
    text further than the redaction layer can (a key's fragment that the error parser cut
    in half)."""
    try:
        response = await http.request("POST", token_url, authenticate=False, data=form)
    except (AuthError, RequestError) as exc:
        if isinstance(exc, RequestError) and exc.status != 400:
            raise
        said = oauth_error(exc.detail)
        text = f"{refused}{f' (it said: {said})' if said else ''}"
        raise AuthError(http.system, scrub(text) if scrub else text,
                        status=exc.status) from None
    except ConnectorError as exc:
        text = f"could not get a token: {exc}"
        error = ConnectorError(http.system, scrub(text) if scrub else text, status=exc.status)
        # The token request had its own retries; retrying the API call would repeat them.
        error.__class__ = type(exc)
        error.retryable = False
        raise error from None
    body = http.decode(response)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise InvalidPayloadError(http.system, "the token endpoint answered without an "
                                  "access_token")
    lifetime = body.get("expires_in", 3600)
    try:
        lifetime = float(lifetime)
    except (TypeError, ValueError):
        lifetime = 3600.0
    return SecretStr(token), lifetime

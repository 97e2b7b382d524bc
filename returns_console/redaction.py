"""Secrets out of text a server sent back, before it is shown, logged or stored.

A server may echo the request in its error body (`Invalid API key 'sk_live_…'`,
`Authorization: Bearer eyJ…`). Every text that came from a server passes `redact()` with the
secrets the request carried and those the caller knows (the profile's key, an issued token);
what looks like a credential whatever its value (a bearer or basic token, a JWT, a
`client_secret=…` pair) goes too.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

MASK = "***"
#: Shorter values are not searched for: "1" or "abc" would blank out ordinary words.
MIN_SECRET = 6
#: Header names whose values are credentials.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key",
                            "apikey", "cookie", "x-auth-token", "ocp-apim-subscription-key"})
#: Parts of a header's name that make its value a credential (an access-token header of
#: a vendor's own naming, an `X-…-Signature`).
SECRET_HEADER_PARTS = ("token", "secret", "password", "api-key", "apikey", "signature")
#: Form and query keys whose values are credentials (matched as parts of the key).
SECRET_KEY_PARTS = ("secret", "password", "passwd", "token", "api_key", "apikey", "api-key",
                    "signature", "assertion")

_SCHEME_VALUE = re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
_PAIR = re.compile(
    r"(?i)([\"']?[A-Za-z0-9_-]*(?:secret|password|passwd|token|api[_-]?key|apikey|signature)"
    r"[A-Za-z0-9_-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]{4,})")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every given secret and everything credential-shaped masked."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len,
                         reverse=True):
        text = text.replace(secret, MASK)
    text = _SCHEME_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _JWT.sub(MASK, text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)


def redact_value(value: object, secrets: Iterable[str] = ()) -> object:
    """`redact` through a JSON-like value (dicts, lists, strings); other values as they are."""
    known = tuple(secrets)
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, Mapping):
        return {k: redact_value(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, known) for v in value]
    return value


def request_secrets(headers: Mapping[str, str], query: Iterable[tuple[str, str]] = (),
                    form: bytes | str | None = None) -> set[str]:
    """The credentials a request carried: secret headers' values (a bearer token, the key,
    a basic pair and its decoded user and password), secret-named query and form values."""
    found: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        if not value or (lower not in SECRET_HEADERS
                         and not any(part in lower for part in SECRET_HEADER_PARTS)):
            continue
        found.add(value)
        scheme, _, rest = value.partition(" ")
        if rest:
            found.add(rest.strip())
            if scheme.lower() == "basic":
                found |= _basic_parts(rest.strip())
    pairs = list(query)
    if form:
        text = form.decode("utf-8", "replace") if isinstance(form, bytes) else form
        pairs += parse_qsl(text, keep_blank_values=False)
    for key, value in pairs:
        if any(part in key.lower() for part in SECRET_KEY_PARTS) and value:
            found.add(value)
    return found


def _basic_parts(encoded: str) -> set[str]:
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return set()
    return {p for p in (password, f"{user}:{password}") if p}

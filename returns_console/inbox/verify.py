"""Signature checks for pushed deliveries: an HMAC-SHA256 of the raw body with a shared
secret, sent as base64 or hex in a header. Systems build their WebhookSpec's `verify` from
these, so each only says which header and which encoding.

The digest is compared as bytes with `hmac.compare_digest` (the time taken says nothing
about how much of a forged signature was right). Leading and trailing whitespace and a
`sha256=` prefix are tolerated: senders differ, proxies trim. The secret never leaves the
check: no repr, no pickling, no message carries it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping

#: (header value, raw body) → signed with our secret?
Check = Callable[[str | None, bytes], bool]

_PREFIX = "sha256="


class _Key:
    """The secret, shown as `<secret>` wherever it might be printed (a traceback with
    locals, a debugger, a log of the check's closure)."""

    __slots__ = ("_value",)

    def __init__(self, secret: str | bytes) -> None:
        value = secret.encode() if isinstance(secret, str) else bytes(secret)
        if not value:
            # An empty key signs with a value anyone can compute: accepting it would
            # accept every forged delivery.
            raise ValueError("a webhook signing secret cannot be empty")
        self._value = value

    def digest(self, body: bytes) -> bytes:
        return hmac.new(self._value, body, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "<secret>"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a webhook signing secret is not pickled")


def hmac_sha256_base64(secret: str | bytes) -> Check:
    """A check for a header carrying base64(HMAC-SHA256(secret, raw body))."""
    return _check(_Key(secret), _from_base64)


def hmac_sha256_hex(secret: str | bytes) -> Check:
    """A check for a header carrying hex(HMAC-SHA256(secret, raw body)), either case."""
    return _check(_Key(secret), _from_hex)


def from_header(name: str, check: Check) -> Callable[[Mapping[str, str], bytes], bool]:
    """A WebhookSpec `verify`: `check` applied to header `name` (absent: refused)."""
    wanted = name.lower()

    def verify(headers: Mapping[str, str], raw_body: bytes) -> bool:
        return check(headers.get(wanted), raw_body)

    return verify


def _check(key: _Key, decode: Callable[[str], bytes | None]) -> Check:
    def check(header_value: str | None, raw_body: bytes) -> bool:
        if not header_value:
            return False
        given = decode(_bare(header_value))
        if given is None:
            return False
        return hmac.compare_digest(given, key.digest(raw_body))

    return check


def _bare(value: str) -> str:
    value = value.strip()
    if value[:len(_PREFIX)].lower() == _PREFIX:
        value = value[len(_PREFIX):].strip()
    return value


def _from_base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None


def _from_hex(value: str) -> bytes | None:
    try:
        return bytes.fromhex(value) if value.isascii() else None
    except ValueError:
        return None

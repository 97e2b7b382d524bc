"""Presenter mode: the console on a projector or a screen share shows no customer's name,
email or address, and no hostname of the systems behind it.

Pure functions over strings and JSON-like data, so they are easy to test and cannot leak
through a widget that forgot to call them: the screens mask text before it becomes a cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..domain.model import ReturnCase

DOT = "•••"

_EMAIL = re.compile(r"[\w.+'-]+@(?:[\w-]+\.)+[A-Za-z]{2,}")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#\"'<>]+(?P<rest>[^\s\"'<>]*)")
_HOST = re.compile(
    r"(?<![\w@.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])"
    r"(?::\d{1,5})?"
)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])")

#: Key fragments that always hold personal data, whatever object they sit in.
_PERSONAL_KEYS = ("email", "address", "phone", "street", "city", "postcode", "postalcode",
                  "zip", "mobile")
#: A "name" key is personal when it says whose name it is (not a product's or a store's).
_PERSON_PREFIXES = ("customer", "billto", "sellto", "shipto", "contact", "first", "last",
                    "full", "recipient", "buyer", "given", "family", "sur")
#: Every bill-to / sell-to / ship-to field is a party's contact detail (BC spreads the
#: customer's address over sellToCity, billToPostCode, ...).
_PARTY_PREFIXES = ("billto", "sellto", "shipto")
#: Objects whose plain "name" / "displayName" is a person's.
_PERSON_OBJECTS = ("customer", "contact", "address", "billing", "shipping", "recipient",
                   "buyer", "billto", "sellto", "shipto")


def mask_name(name: str) -> str:
    """"Jane Doe" -> "J••• D•••": enough to tell two customers apart, not to name one."""
    return " ".join(word[0] + DOT for word in name.split())


def mask_email(email: str) -> str:
    """"jane.doe@example.com" -> "j•••@e•••.com": the shape of an address, not the address."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return mask_name(email)
    host, dot, tld = domain.rpartition(".")
    if not dot:
        return f"{local[0]}{DOT}@{domain[:1]}{DOT}"
    return f"{local[0]}{DOT}@{host[:1]}{DOT}.{tld}"


def mask_secret(secret: str) -> str:
    """An email is masked as an email, anything else as a name."""
    return mask_email(secret) if "@" in secret else mask_name(secret)


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Every whole-word occurrence of each secret (any case) replaced by its mask.

    Longest first, so a name inside an email address never leaves half of the address.
    """
    for secret in sorted({s.strip() for s in secrets if s and s.strip()}, key=len,
                         reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(secret)}(?!\w)", re.IGNORECASE)
        text = pattern.sub(lambda m: mask_secret(m.group(0)), text)
    return text


def mask_emails(text: str) -> str:
    """Any email address at all, not only the customer's (a note may quote a colleague)."""
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)


def mask_host(text: str) -> str:
    """URLs keep their path ("https://•••/path"), bare hostnames and IPs become "•••"."""
    text = _URL.sub(lambda m: f"https://{DOT}{m.group('rest')}", text)
    text = _IPV4.sub(DOT, text)
    return _HOST.sub(DOT, text)


def _squash(key: str) -> str:
    return key.replace("_", "").replace("-", "").casefold()


def is_personal_key(key: str, parent: str = "") -> bool:
    """Whether a JSON key holds a person's details (its parent key disambiguates "name")."""
    k = _squash(key)
    if k.startswith(_PARTY_PREFIXES) or any(part in k for part in _PERSONAL_KEYS):
        return True
    if "name" not in k:
        return False
    if k.startswith(_PERSON_PREFIXES) or "customer" in k:
        return True
    return k in ("name", "displayname") and any(p in _squash(parent) for p in _PERSON_OBJECTS)


class Masker:
    """Masks one return's customer everywhere: names and emails it knows by value (the
    case's and those found in raw records), any other email, and every hostname."""

    def __init__(self, case: ReturnCase | None = None, secrets: Iterable[str] = ()) -> None:
        found = list(secrets)
        if case is not None:
            found += [case.platform.customer_name or "", case.platform.customer_email or ""]
        self.secrets: set[str] = {s.strip() for s in found if s and s.strip()}

    def mask(self, text: object) -> str:
        """Free text, safe to show: known secrets, then any email, then hostnames."""
        out = "" if text is None else str(text)
        return mask_host(mask_emails(mask_text(out, self.secrets)))

    def learn(self, record: Any, parent: str = "") -> None:
        """Remember the personal values in a raw record, so free text elsewhere that
        repeats them (a note, a description) is masked too."""
        if isinstance(record, dict):
            for key, value in record.items():
                if isinstance(value, str) and is_personal_key(str(key), parent):
                    if value.strip():
                        self.secrets.add(value.strip())
                else:
                    self.learn(value, str(key))
        elif isinstance(record, list):
            for value in record:
                self.learn(value, parent)

    def record(self, record: Any, parent: str = "", personal: bool = False) -> Any:
        """A copy of a JSON-like record with personal values masked and hosts hidden.
        Keys stay as they are: they are the schema, not the customer."""
        if isinstance(record, dict):
            return {key: self.record(value, str(key),
                                     personal or is_personal_key(str(key), parent))
                    for key, value in record.items()}
        if isinstance(record, list | tuple):
            return [self.record(value, parent, personal) for value in record]
        if personal:
            return self._personal(record)
        return self.mask(record) if isinstance(record, str) else record

    @staticmethod
    def _personal(value: Any) -> Any:
        if value is None or value == "":
            return value
        if isinstance(value, str):
            return mask_secret(value)
        return DOT

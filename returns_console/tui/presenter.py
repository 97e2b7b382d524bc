"""Presenter mode: the console on a projector or a screen share shows nothing that names the
client or its customers: no customer's name, email, number or address, no tenant, store,
company or environment name of the client's own, and no hostname of the systems behind it.

Pure functions over strings and JSON-like data, so they are easy to test and cannot leak
through a widget that forgot to call them: the screens mask text before it becomes a cell.
One `Masker` per session knows the identifying values (`session_masker`: the profile's
options and URLs, the customers of the loaded report and master data); a screen extends it
with what only it knows (a return's customer, a raw record's values). The app tells every
open screen when presenter mode is switched (`PresenterChanged`); a screen takes `Presenting`
for the state, the masker and the repaint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from textual.message import Message

from ..domain.model import ReturnCase

if TYPE_CHECKING:
    from textual.app import App

    from ..config import Profile
    from ..domain.reference import ErpMaster

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
#: Keys (squashed) whose value names the client itself: its store, shop, tenant, company.
_CLIENT_KEYS = frozenset({"store", "storeid", "storename", "shop", "shopname", "shopdomain",
                          "merchant", "merchantid", "merchantname", "tenant", "tenantid",
                          "tenantname", "company", "companyname", "brand", "brandname"})
#: Objects whose plain "name" / "displayName" is the client's.
_CLIENT_OBJECTS = ("company", "companies", "store", "shop", "merchant", "tenant")
#: Profile options (squashed key, or its start) whose value identifies the client.
_CLIENT_OPTIONS = ("store", "shop", "merchant", "tenant", "environment", "company", "clientid",
                   "account", "subdomain", "realm", "organisation", "organization")
#: Words that name no one: an environment or profile called so is shown as it is.
GENERIC = frozenset({"production", "prod", "sandbox", "demo", "test", "testing", "staging",
                     "stage", "dev", "development", "uat", "qa", "live", "default", "main",
                     "local", "localhost", "snapshot", "session"})
#: Legal forms: "Northwind Outfitters Ltd" is also the store "Northwind Outfitters".
_LEGAL_FORMS = frozenset({"ltd", "limited", "plc", "inc", "incorporated", "llc", "llp", "lp",
                          "gmbh", "ag", "kg", "sa", "sas", "sarl", "bv", "nv", "pty", "co",
                          "corp", "corporation", "company", "ab", "as", "a/s", "oy", "spa",
                          "srl", "sl"})
_WORD = re.compile(r"\w+")


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


def is_client_key(key: str, parent: str = "") -> bool:
    """Whether a JSON key holds the client's own name or id (store, shop, tenant, company)."""
    k = _squash(key)
    if k in _CLIENT_KEYS:
        return True
    return k in ("name", "displayname") and any(p in _squash(parent) for p in _CLIENT_OBJECTS)


def customers_of(case: ReturnCase) -> list[str]:
    """Everything in a return that names its customer: name, email, the ERP's numbers."""
    p, e = case.platform, case.erp
    return [v for v in (p.customer_name, p.customer_email, e.customer_ref,
                        *(n.customer_ref for n in e.credit_notes)) if v]


def client_names(value: str) -> list[str]:
    """A client value and the names it implies: a company without its legal form (the store
    is often called so), the organisation of an Entra `*.onmicrosoft.com` tenant."""
    value = value.strip()
    names = [value]
    words = value.replace(",", " ").split()
    while len(words) > 1 and words[-1].casefold().rstrip(".") in _LEGAL_FORMS:
        words.pop()
    if len(words) < len(value.split()):
        names.append(" ".join(words))
    if value.casefold().endswith(".onmicrosoft.com"):
        names.append(value.split(".")[0])
    return [n for n in names if len(n) >= 3 and n.casefold() not in GENERIC]


def url_hosts(url: str) -> list[str]:
    """The host of a URL with and without its port ("127.0.0.1:8765", "127.0.0.1")."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return []
    return [h for h in (netloc, host) if h]


def profile_values(profile: Profile) -> list[str]:
    """What in a profile names the client: its name (unless generic), the identifying
    options (store, tenant, company, an environment of its own ...) and every host it
    reaches. Secrets are never in a profile; options like page sizes name no one."""
    found: list[str] = []
    if profile.name.casefold() not in GENERIC:
        found.append(profile.name)
    for side in (profile.platform, profile.erp):
        found += url_hosts(side.base_url)
        for key, value in side.options.items():
            if not isinstance(value, str) or not value.strip():
                continue
            if "://" in value:
                found += url_hosts(value)
            elif _squash(key).startswith(_CLIENT_OPTIONS):
                found += client_names(value)
    return found


def session_masker(profile: Profile | None = None, cases: Iterable[ReturnCase] = (),
                   master: ErpMaster | None = None, profile_name: str | None = None) -> Masker:
    """The masker of a session: the client's values from its profile, and every customer
    the loaded report and the ERP's master data know (names, emails, numbers)."""
    hidden = profile_values(profile) if profile is not None else []
    if profile_name and profile_name.casefold() not in GENERIC:
        hidden.append(profile_name)
    secrets: list[str] = []
    for case in cases:
        secrets += customers_of(case)
    if master is not None:
        for customer in master.customers.values():
            secrets += [customer.number, customer.email or ""]
    return Masker(secrets=secrets, hidden=hidden)


class _Index:
    """Values found as whole words in any case, looked up by their first word and length, so
    a text is read once however many values there are (a session may know thousands of
    customers)."""

    def __init__(self, secrets: Iterable[str], hidden: Iterable[str]) -> None:
        #: casefolded value -> (the value, hidden?): a client value wins over a personal one
        self.values: dict[str, tuple[str, bool]] = {}
        for value, is_hidden in [(v, False) for v in secrets] + [(v, True) for v in hidden]:
            key = value.casefold()
            if not self.values.get(key, ("", False))[1]:
                self.values[key] = (value, is_hidden)
        #: first word -> the lengths of the values starting with it, longest first
        self.heads: dict[str, list[int]] = {}
        #: values that do not start with a word character, found by a search of their own
        self.odd: list[tuple[re.Pattern[str], bool]] = []
        lengths: dict[str, set[int]] = {}
        for key, (value, is_hidden) in self.values.items():
            head = _WORD.match(key)
            if head:
                lengths.setdefault(head.group(), set()).add(len(value))
            else:
                self.odd.append((re.compile(rf"(?<!\w){re.escape(value)}(?!\w)",
                                            re.IGNORECASE), is_hidden))
        self.heads = {head: sorted(found, reverse=True) for head, found in lengths.items()}

    def at(self, text: str, start: int, head: str) -> tuple[int, bool] | None:
        """The longest value at `start` that ends a word: (its end, hidden?)."""
        for length in self.heads.get(head, ()):
            end = start + length
            if end > len(text):
                continue
            found = self.values.get(text[start:end].casefold())
            if found is not None and not _WORD.match(text, end):
                return end, found[1]
        return None


class Masker:
    """Masks what names the client or a customer: the values it knows (customers' names,
    emails and numbers keep an initial; the client's store, tenant, company, hosts become
    "•••"), then any other email, then every hostname.

    `extended` lays a screen's own values over the session's without copying them."""

    def __init__(self, case: ReturnCase | None = None, secrets: Iterable[str] = (), *,
                 hidden: Iterable[str] = (), base: Masker | None = None) -> None:
        found = list(secrets)
        if case is not None:
            found += [case.platform.customer_name or "", case.platform.customer_email or ""]
        #: personal values (a customer's): masked keeping their shape
        self.secrets: set[str] = {s.strip() for s in found if s and s.strip()}
        #: the client's own values: masked entirely
        self.hidden: set[str] = {h.strip() for h in hidden if h and h.strip()}
        self.base = base
        self._index: _Index | None = None
        self._indexed = (-1, -1)

    def extended(self, case: ReturnCase | None = None, secrets: Iterable[str] = (), *,
                 hidden: Iterable[str] = ()) -> Masker:
        """This masker and more: what one screen knows besides the session."""
        return Masker(case, secrets, hidden=hidden, base=self)

    def knows(self, text: str) -> bool:
        """Whether a value is one this masker (or its base) hides."""
        key = text.strip().casefold()
        return any(key in index.values for index in self._chain())

    def _own(self) -> _Index:
        size = (len(self.secrets), len(self.hidden))
        if self._index is None or size != self._indexed:
            self._index, self._indexed = _Index(self.secrets, self.hidden), size
        return self._index

    def _chain(self) -> list[_Index]:
        chain: list[_Index] = []
        masker: Masker | None = self
        while masker is not None:
            chain.append(masker._own())
            masker = masker.base
        return chain

    def mask(self, text: object) -> str:
        """Free text, safe to show: known values, then any email, then hostnames."""
        out = "" if text is None else str(text)
        return mask_host(mask_emails(self._mask_values(out)))

    def _mask_values(self, text: str) -> str:
        chain = [index for index in self._chain() if index.values]
        if not chain or not text:
            return text
        out, done = [], 0
        for word in _WORD.finditer(text):
            start = word.start()
            if start < done:
                continue
            head = word.group().casefold()
            best: tuple[int, bool] | None = None
            for index in chain:
                hit = index.at(text, start, head)
                if hit is not None and (best is None or hit[0] > best[0]):
                    best = hit
            if best is not None:
                end, is_hidden = best
                out += [text[done:start], _masked(text[start:end], is_hidden)]
                done = end
        out.append(text[done:])
        text = "".join(out)
        for index in chain:
            for pattern, is_hidden in index.odd:
                text = pattern.sub(partial(_masked_match, is_hidden), text)
        return text

    def learn(self, record: Any, parent: str = "") -> None:
        """Remember the personal values in a raw record (and the client's own: its store,
        company ...), so free text elsewhere that repeats them (a note, a description) is
        masked too."""
        if isinstance(record, dict):
            for key, value in record.items():
                if isinstance(value, str) and is_personal_key(str(key), parent):
                    if value.strip():
                        self.secrets.add(value.strip())
                elif isinstance(value, str) and is_client_key(str(key), parent):
                    self.hidden.update(client_names(value))
                else:
                    self.learn(value, str(key))
        elif isinstance(record, list):
            for value in record:
                self.learn(value, parent)

    def record(self, record: Any, parent: str = "", personal: bool = False) -> Any:
        """A copy of a JSON-like record with personal values masked and hosts hidden.
        Keys stay as they are: they are the schema, not the customer."""
        if isinstance(record, dict):
            return {key: DOT if _client_scalar(key, value, parent) else
                    self.record(value, str(key), personal or is_personal_key(str(key), parent))
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


def _client_scalar(key: object, value: Any, parent: str) -> bool:
    """A value that names the client (a store id, a company name) and nothing else."""
    return (isinstance(value, str | int) and not isinstance(value, bool) and value != ""
            and is_client_key(str(key), parent))


def _masked(found: str, hidden: bool) -> str:
    return DOT if hidden else mask_secret(found)


def _masked_match(hidden: bool, match: re.Match[str]) -> str:
    return _masked(match.group(0), hidden)


# -- screens ----------------------------------------------------------------------------------


class PresenterChanged(Message, bubble=False):
    """From the app to each open screen: presenter mode switched on or off, or what it has
    to hide changed (a new report, new customers). Screens repaint themselves on it."""

    def __init__(self, on: bool, masker: Masker | None = None) -> None:
        super().__init__()
        self.on = on
        self.masker = masker


@runtime_checkable
class PresenterHost(Protocol):
    """What a screen may ask of the app it runs in about presenter mode (an app that is not
    the console, as in a test harness, simply has none: nothing is masked)."""

    presenter: bool

    def presenter_masker(self) -> Masker: ...


class Presenting:
    """For a Screen: presenter mode as the app has it when the screen opens (or as the
    screen is told), then as `PresenterChanged` says; `safe()` is the one masking call.

    A screen overrides `presenter_changed()` to repaint, and `own_masker()` to lay its
    own values (a return's customer) over the session's."""

    _presenter: bool | None = None
    _masker: Masker | None = None
    _session_masker: Masker | None = None

    if TYPE_CHECKING:
        app: App[object]  # the Screen's, which this is mixed into

    @property
    def presenter(self) -> bool:
        if self._presenter is None:
            app = self.app
            self._presenter = app.presenter if isinstance(app, PresenterHost) else False
        return self._presenter

    @presenter.setter
    def presenter(self, on: bool | None) -> None:
        self._presenter = on

    @property
    def masker(self) -> Masker:
        if self._masker is None:
            base = self._session_masker
            if base is None:  # opened as the app is: its session's values
                app = self.app
                base = self._session_masker = (app.presenter_masker()
                                               if isinstance(app, PresenterHost) else None)
            self._masker = self.own_masker(base)
        return self._masker

    def own_masker(self, base: Masker | None) -> Masker:
        return base.extended() if base is not None else Masker()

    def safe(self, text: object) -> str:
        """Text from an API or a person, as it may be shown: masked in presenter mode."""
        if text is None:
            return ""
        return self.masker.mask(text) if self.presenter else str(text)

    def on_presenter_changed(self, message: PresenterChanged) -> None:
        self.set_presenter(message.on, message.masker)

    def set_presenter(self, on: bool, masker: Masker | None = None) -> None:
        """Presenter mode switched while the screen is open: repainted at once."""
        self._presenter = on
        if masker is not None and masker is not self._session_masker:
            self._session_masker, self._masker = masker, None
        if getattr(self, "is_mounted", False):
            self.presenter_changed()

    def presenter_changed(self) -> None:
        """Repaint what presenter mode changes (each screen its own)."""

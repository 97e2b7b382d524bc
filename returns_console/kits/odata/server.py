"""OData v4 query options for the simulators of OData APIs (Business Central, later F&O).

What the connectors use and nothing more: `$filter` (`field op value` clauses joined by `and`
/ `or`, `and` binding tighter, parentheses allowed), `$select`, `$expand` of nested
collections, `$top`, `$skip`, and server-driven paging (`Prefer: odata.maxpagesize=N`,
an opaque `$skiptoken` in `@odata.nextLink`). Values are typed the way OData v4 writes
literals: 'quoted strings' ('' escapes a quote), ISO date-times, ISO dates, unquoted GUIDs,
numbers, true / false / null. Comparing a field with a literal of another type is an error,
as it is on a real OData service, so a connector sending the wrong literal finds out here.

Errors are `ODataError`s carrying status, code and message; each simulator renders them in
its own API's error body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

MAX_PAGE_SIZE = 20_000


class ODataError(Exception):
    """A request the service refuses: rendered by the simulator in its API's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _bad(message: str) -> ODataError:
    return ODataError(400, "BadRequest", message)


# ------------------------------------------------------------------------------ $filter

OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
_OP_NAMES = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
             "lt": "LessThan", "le": "LessThanOrEqual"}
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()']+))")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?$")
_FIELD = re.compile(r"^[A-Za-z_@][\w.@]*$")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Junction:
    op: str  # "and" | "or"
    left: Node
    right: Node


Node = Clause | Junction


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date-time with an offset (any number of fractional digits), or None."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    head, fraction, zone = match.groups()
    # Python reads at most microseconds; OData allows up to 7 digits.
    fraction = "." + fraction[1:7].ljust(6, "0") if fraction else ""
    zone = "+00:00" if zone.upper() == "Z" else zone
    try:
        moment = datetime.fromisoformat(head + fraction + zone)
    except ValueError:
        return None
    return moment.astimezone(UTC)


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _GUID.match(token):
        return UUID(token)
    if _DATE.match(token):
        try:
            return date.fromisoformat(token)
        except ValueError:
            raise _bad(f"'{token}' is not a valid Edm.Date.") from None
    if "T" in token.upper() and token[:1].isdigit():
        moment = parse_datetime(token)
        if moment is None:
            raise _bad(f"'{token}' is not a valid Edm.DateTimeOffset.")
        return moment
    if _NUMBER.match(token):
        try:
            return Decimal(token.rstrip("mMdDfFlL"))
        except InvalidOperation:
            pass
    raise _bad(f"Syntax error: '{token}' is not a valid literal in $filter.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise _bad(f"Syntax error at position {pos} in '{text}'.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _bad(f"Syntax error: unexpected end of $filter '{self.text}'.")
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek() is not None:
            raise _bad(f"Syntax error at '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.peek() == ("word", "or"):
            self.take()
            node = Junction("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.primary()
        while self.peek() == ("word", "and"):
            self.take()
            node = Junction("and", node, self.primary())
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "open":
            node = self.disjunction()
            if self.take()[0] != "close":
                raise _bad(f"Syntax error: ')' expected in '{self.text}'.")
            return node
        if kind != "word" or not _FIELD.match(text):
            raise _bad(f"Syntax error at '{text}' in '{self.text}'.")
        op_kind, op = self.take()
        if op_kind != "word" or op not in OPERATORS:
            raise _bad(f"Syntax error: unknown operator '{op}' in '{self.text}'.")
        value_kind, value = self.take()
        if value_kind not in ("word", "str"):
            raise _bad(f"Syntax error at '{value}' in '{self.text}'.")
        return Clause(text, op, _literal(value))


def parse_filter(text: str) -> Node:
    if not text.strip():
        raise _bad("The $filter query option is empty.")
    return _Parser(text).parse()


def filter_fields(node: Node) -> set[str]:
    if isinstance(node, Clause):
        return {node.field}
    return filter_fields(node.left) | filter_fields(node.right)


def _edm(value: Any) -> str:
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, datetime):
        return "Edm.DateTimeOffset"
    if isinstance(value, date):
        return "Edm.Date"
    if isinstance(value, Decimal | int | float):
        return "Edm.Decimal"
    if isinstance(value, UUID):
        return "Edm.Guid"
    return "Edm.String"


def _field_type(value: Any) -> str:
    """The Edm type a stored JSON value stands for (dates and GUIDs are strings in JSON)."""
    if isinstance(value, str):
        if _GUID.match(value):
            return "Edm.Guid"
        if _DATE.match(value):
            return "Edm.Date"
        if parse_datetime(value) is not None:
            return "Edm.DateTimeOffset"
    return _edm(value)


def _coerce(stored: Any, literal: Any, op: str) -> Any:
    if stored is None:
        return None
    kind = _edm(literal)
    mismatch = ODataError(
        400, "BadRequest",
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{_field_type(stored)}' and '{kind}' for operator kind '{_OP_NAMES[op]}'.",
    )
    try:
        if kind == "Edm.Boolean":
            if not isinstance(stored, bool):
                raise mismatch
            return stored
        if kind == "Edm.DateTimeOffset":
            moment = parse_datetime(stored) if isinstance(stored, str) else None
            if moment is None:
                raise mismatch
            return moment
        if kind == "Edm.Date":
            if not (isinstance(stored, str) and _DATE.match(stored)):
                raise mismatch
            return date.fromisoformat(stored)
        if kind == "Edm.Decimal":
            if isinstance(stored, bool) or not isinstance(stored, int | float | Decimal):
                raise mismatch
            return Decimal(str(stored))
        if kind == "Edm.Guid":
            if not isinstance(stored, str):
                raise mismatch
            return UUID(stored)
        # JSON carries dates, date-times and GUIDs as strings; OData does not compare them
        # with a string literal.
        if _field_type(stored) != "Edm.String":
            raise mismatch
        return stored
    except ValueError:
        raise mismatch from None


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    if op == "gt":
        return left > right
    if op == "ge":
        return left >= right
    if op == "lt":
        return left < right
    return left <= right


def matches(node: Node, record: Mapping[str, Any]) -> bool:
    if isinstance(node, Junction):
        if node.op == "and":
            return matches(node.left, record) and matches(node.right, record)
        return matches(node.left, record) or matches(node.right, record)
    stored = record.get(node.field)
    if node.value is None:
        return _compare(stored, node.op, None)
    return _compare(_coerce(stored, node.value, node.op), node.op, node.value)


# ------------------------------------------------------------------------------ shaping


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def shape(record: Mapping[str, Any], *, select: Sequence[str], expand: Sequence[str],
          navigations: Iterable[str], keep: Sequence[str] = ("@odata.etag", "id")) -> dict:
    """The record as the service sends it: navigations only when expanded, only the selected
    fields (plus the key and ETag) when `$select` is given."""
    navs = set(navigations)
    out = {k: v for k, v in record.items() if k not in navs or k in expand}
    if select:
        wanted = set(select) | set(keep) | set(expand)
        out = {k: v for k, v in out.items() if k in wanted}
    return out


# ------------------------------------------------------------------------------ paging


def max_page_size(prefer: str | None, default: int = MAX_PAGE_SIZE) -> tuple[int, bool]:
    """The page size a `Prefer` header asks for (capped at the service's maximum), and
    whether the preference was applied."""
    for part in (prefer or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            try:
                size = int(value.strip())
            except ValueError:
                return default, False
            if size < 1:
                return default, False
            return min(size, MAX_PAGE_SIZE), True
    return default, False


def encode_skiptoken(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str, fingerprint: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        same = data["q"] == fingerprint
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _bad("The skip token is not valid.") from None
    if not same or offset < 0:
        raise _bad("The skip token does not belong to this query.")
    return offset


def fingerprint(params: Iterable[tuple[str, str]]) -> str:
    """Which query a skip token belongs to (every option but the token itself)."""
    kept = sorted((k, v) for k, v in params if k != "$skiptoken")
    return hashlib.sha1(json.dumps(kept).encode(), usedforsecurity=False).hexdigest()[:12]


def next_link(base: str, params: Iterable[tuple[str, str]], token: str) -> str:
    """`base` (scheme, host and path) with the request's query and a new `$skiptoken`."""
    kept = [(k, v) for k, v in params if k != "$skiptoken"] + [("$skiptoken", token)]
    return base + "?" + urlencode(kept, quote_via=quote, safe="$,'()*:")


@dataclass(slots=True)
class Page:
    rows: list[dict]
    next_link: str | None
    page_size: int
    applied: bool


def query(
    records: Sequence[Mapping[str, Any]],
    params: Sequence[tuple[str, str]],
    *,
    base_url: str,
    prefer: str | None,
    navigations: Iterable[str] = (),
    unknown_property: Callable[[str], ODataError],
) -> Page:
    """Answer one collection GET: filter, order-preserving skip/top, shape, one page."""
    q = dict(params)
    navs = set(navigations)
    known = set().union(*(r.keys() for r in records)) if records else set()
    expand = split_list(q.get("$expand"))
    for name in expand:
        if name not in navs:
            raise unknown_property(name)
    select = split_list(q.get("$select"))
    for name in select:
        if name in navs or (records and name not in known):
            raise unknown_property(name)
    rows: Iterable[Mapping[str, Any]] = records
    if q.get("$filter") is not None:
        node = parse_filter(q["$filter"])
        for name in filter_fields(node):
            if records and name not in known:
                raise unknown_property(name)
        rows = [r for r in records if matches(node, r)]
    rows = list(rows)
    for option in ("$skip", "$top"):
        if option in q:
            try:
                n = int(q[option])
            except ValueError:
                raise _bad(f"Invalid value '{q[option]}' for {option} query option.") from None
            if n < 0:
                raise _bad(f"Invalid value '{q[option]}' for {option} query option.")
            rows = rows[n:] if option == "$skip" else rows[:n]
    size, applied = max_page_size(prefer)
    fp = fingerprint(params)
    offset = decode_skiptoken(q["$skiptoken"], fp) if "$skiptoken" in q else 0
    chosen = rows[offset:offset + size]
    link = None
    if offset + size < len(rows):
        link = next_link(base_url, params, encode_skiptoken(offset + size, fp))
    shaped = [shape(r, select=select, expand=expand, navigations=navs) for r in chosen]
    return Page(rows=shaped, next_link=link, page_size=size, applied=applied)

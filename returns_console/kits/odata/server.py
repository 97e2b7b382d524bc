"""OData v4 query options for the simulators of OData APIs (Business Central, later F&O).

What the connectors use and nothing more: `$filter` (`field op value` clauses joined by `and`
/ `or`, `and` binding tighter, parentheses allowed), `$select`, `$expand` of nested
collections, `$top`, `$skip`, and server-driven paging (`Prefer: odata.maxpagesize=N`,
an opaque `$skiptoken` in `@odata.nextLink`). Values are typed the way OData v4 writes
literals: 'quoted strings' ('' escapes a quote), ISO date-times, ISO dates, unquoted GUIDs,
numbers, true / false / null, and enum members qualified by their type
(`Namespace.EnumType'Member'`, `eq` and `ne` only). Comparing a field with a literal of another
type is an error, as it is on a real OData service, so a connector sending the wrong literal
finds out here; a service that names its enum fields (`enums=`) refuses a bare string on one.

Errors are `ODataError`s carrying status, code and message; each simulator renders them in
its own API's error body.

A page costs the same whatever the collection's size (a benchmark must time the client, not
the simulator). A simulator keeps its records in `TrackedList`s (`track`), which know when
they or any record in them change; `query` keeps what it learns about such a list on the list
itself until then: each filtered field's values read once as the filter's type (a column),
and each query's matches found so far, in stored order, so the next page of a chain carries
on where the last one stopped instead of filtering and slicing the whole collection again.
A page asks only for as many records as it returns (and one more, to know whether there is
a next page). Answers are exactly those of filtering everything at every request: same
pages, same skip tokens (an offset into the matches), same errors (a filter that could fail
on any record is evaluated over all of them, as before). `WORK` counts the records examined,
so tests can see that a page's cost does not grow with the collection.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
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
class EnumLiteral:
    """An enum member as OData v4 writes it in a filter: `Namespace.EnumType'Member'`."""

    type: str
    member: str

    def __str__(self) -> str:
        return f"{self.type}'{self.member}'"


_QUALIFIED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


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


@functools.lru_cache(maxsize=1 << 18)
def _parsed_datetime(text: str) -> datetime | None:
    """`parse_datetime`, remembered: filters compare the same stored stamps page after page."""
    return parse_datetime(text)


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
        following = self.peek()
        if value_kind == "word" and _QUALIFIED.match(value) and following is not None \
                and following[0] == "str":
            self.take()
            if op not in ("eq", "ne"):
                raise _bad(f"The operator '{op}' is not supported on enum values; use eq or "
                           "ne.")
            return Clause(text, op, EnumLiteral(value, following[1][1:-1].replace("''", "'")))
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
        if _parsed_datetime(value) is not None:
            return "Edm.DateTimeOffset"
    return _edm(value)


def _coerce(stored: Any, literal: Any, op: str) -> Any:
    if stored is None:
        return None
    kind = _edm(literal)
    try:
        if kind == "Edm.Boolean":
            if isinstance(stored, bool):
                return stored
        elif kind == "Edm.DateTimeOffset":
            moment = _parsed_datetime(stored) if isinstance(stored, str) else None
            if moment is not None:
                return moment
        elif kind == "Edm.Date":
            if isinstance(stored, str) and _DATE.match(stored):
                return date.fromisoformat(stored)
        elif kind == "Edm.Decimal":
            if not isinstance(stored, bool) and isinstance(stored, int | float | Decimal):
                return Decimal(str(stored))
        elif kind == "Edm.Guid":
            if isinstance(stored, str):
                return UUID(stored)
        # JSON carries dates, date-times and GUIDs as strings; OData does not compare them
        # with a string literal.
        elif _field_type(stored) == "Edm.String":
            return stored
    except ValueError:
        pass
    # made only when refused: a column of 50,000 cells made 50,000 errors it never raised
    raise ODataError(
        400, "BadRequest",
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{_field_type(stored)}' and '{kind}' for operator kind '{_OP_NAMES[op]}'.",
    ) from None


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
    if isinstance(node.value, EnumLiteral):
        return _compare(stored, node.op, node.value.member)
    return _compare(_coerce(stored, node.value, node.op), node.op, node.value)


def check_enums(node: Node, enums: Mapping[str, str]) -> None:
    """Refuse what a service with typed enums refuses: a field of an enum type compared with
    anything but a member of that type (a bare string among them), and an enum literal on
    a field that is no enum. `enums`: field name → its enum type, qualified."""
    if isinstance(node, Junction):
        check_enums(node.left, enums)
        check_enums(node.right, enums)
        return
    kind = enums.get(node.field)
    value = node.value
    if kind is None:
        if isinstance(value, EnumLiteral):
            raise _bad(f"The property '{node.field}' is not of an enum type; '{value}' "
                       "cannot be compared with it.")
        return
    if value is None:
        return
    if not isinstance(value, EnumLiteral):
        raise _bad("A binary operator with incompatible types was detected. Found operand "
                   f"types '{kind}' and '{_edm(value)}' for operator kind "
                   f"'{_OP_NAMES[node.op]}'.")
    if value.type != kind:
        raise _bad(f"The enum type '{value.type}' does not match the property "
                   f"'{node.field}' of type '{kind}'.")


# ------------------------------------------------------------------------------ shaping


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def shape(record: Mapping[str, Any], *, select: Sequence[str], expand: Sequence[str],
          navigations: Iterable[str], keep: Sequence[str] = ("@odata.etag", "id")) -> dict:
    """The record as the service sends it: navigations only when expanded, only the selected
    fields (plus the key and ETag) when `$select` is given."""
    if select:
        # the wanted names looked up, not every field scanned: a selected name is never a
        # navigation (query() refuses it); the key and ETag come first, as the service sends
        return {k: record[k] for k in dict.fromkeys((*keep, *select, *expand)) if k in record}
    navs = set(navigations)
    return {k: v for k, v in record.items() if k not in navs or k in expand}


# ------------------------------------------------------------------------------ paging


def max_page_size(prefer: str | None, default: int = MAX_PAGE_SIZE,
                  most: int = MAX_PAGE_SIZE) -> tuple[int, bool]:
    """The page size a `Prefer` header asks for (capped at the service's maximum, `most`),
    and whether the preference was applied."""
    for part in (prefer or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            try:
                size = int(value.strip())
            except ValueError:
                return default, False
            if size < 1:
                return default, False
            return min(size, most), True
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


# ------------------------------------------------------------------------------ tracking


class Indexed(list[Any]):
    """A list of records `query` may remember things about (`memo`: columns, matches found,
    derived lists), forgotten when the list changes."""

    __slots__ = ("memo", "parents")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self.memo: dict[Any, Any] = {}
        self.parents: tuple[Any, ...] = ()

    def changed(self) -> None:
        self.memo = {}
        for parent in getattr(self, "parents", ()):
            parent.changed()


class TrackedList(Indexed):
    """An `Indexed` list that notices its own changes and those of the records in it (they
    are `TrackedRecord`s): whatever is put in is tracked too."""

    __slots__ = ()

    def replaced(self, index: int) -> None:
        """One record was replaced in place (an edit): its columns are patched, not read
        again whole; the rest of the memo is forgotten."""
        kept: dict[Any, Any] = {}
        was: dict[Any, Any] = {}
        for key, value in self.memo.items():
            if key[0] == "col" and value is not None:
                column, literal = value
                cell = _cell(self[index], key[1], literal)
                if cell is not _UNSAFE:
                    was[key[1:]] = column[index]
                    column[index] = cell
                    kept[key] = value
        for key, value in self.memo.items():
            if key[0] == "index" and key[1:] in was:  # its column was patched: so is it
                old, new = was[key[1:]], kept[("col", *key[1:])][0][index]
                if old is not None:
                    value[old].remove(index)
                    if not value[old]:
                        del value[old]
                if new is not None:
                    bisect.insort(value.setdefault(new, []), index)
                kept[key] = value
        self.memo = kept
        for parent in getattr(self, "parents", ()):
            parent.changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [track(v, self) for v in value])
            self.changed()
            return
        super().__setitem__(index, track(value, self))
        position = index.__index__()
        self.replaced(position + len(self) if position < 0 else position)

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self.changed()

    def __iadd__(self, values: Iterable[Any]) -> TrackedList:  # type: ignore[override,misc]
        super().__iadd__([track(v, self) for v in values])
        self.changed()
        return self

    def __imul__(self, times: Any) -> TrackedList:  # type: ignore[override,misc]
        super().__imul__(times)
        self.changed()
        return self

    def append(self, value: Any) -> None:
        super().append(track(value, self))
        self.changed()

    def extend(self, values: Iterable[Any]) -> None:
        super().extend([track(v, self) for v in values])
        self.changed()

    def insert(self, index: Any, value: Any) -> None:
        super().insert(index, track(value, self))
        self.changed()

    def pop(self, *args: Any) -> Any:
        value = super().pop(*args)
        self.changed()
        return value

    def remove(self, value: Any) -> None:
        super().remove(value)
        self.changed()

    def clear(self) -> None:
        super().clear()
        self.changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self.changed()

    def reverse(self) -> None:
        super().reverse()
        self.changed()


class TrackedRecord(dict[Any, Any]):
    """A record that tells the lists holding it when it changes."""

    __slots__ = ("parents",)
    parents: tuple[Any, ...]

    def changed(self) -> None:
        for parent in getattr(self, "parents", ()):
            parent.changed()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, track(value, self))
        self.changed()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.changed()

    def __ior__(self, other: Any) -> TrackedRecord:  # type: ignore[override,misc]
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update({k: track(v, self) for k, v in dict(*args, **kwargs).items()})
        self.changed()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return self[key]

    def pop(self, *args: Any) -> Any:
        value = super().pop(*args)
        self.changed()
        return value

    def popitem(self) -> tuple[Any, Any]:
        item = super().popitem()
        self.changed()
        return item

    def clear(self) -> None:
        super().clear()
        self.changed()


def track(value: Any, parent: Any = None) -> Any:
    """`value` with every dict and list in it (at any depth) made a `TrackedRecord` or a
    `TrackedList`, each knowing what holds it; anything else as it is."""
    if isinstance(value, TrackedRecord | TrackedList):
        parents = getattr(value, "parents", ())
        if parent is not None and not any(p is parent for p in parents):
            value.parents = (*parents, parent)
        return value
    if isinstance(value, dict):
        record = TrackedRecord()
        record.parents = (parent,) if parent is not None else ()
        dict.update(record, {k: track(v, record) if isinstance(v, dict | list) else v
                             for k, v in value.items()})
        return record
    if isinstance(value, list):
        items = TrackedList()
        items.parents = (parent,) if parent is not None else ()
        list.extend(items, [track(v, items) if isinstance(v, dict | list) else v
                            for v in value])
        return items
    return value


def remember(records: Sequence[Any], key: Any, make: Callable[[], Any]) -> Any:
    """What `make` gives, kept with an `Indexed` list until the list changes (made anew
    each time for any other sequence)."""
    if not isinstance(records, Indexed):
        return make()
    memo = records.memo
    if key not in memo:
        memo[key] = make()
    return memo[key]


@dataclass(slots=True)
class Work:
    """What answering pages cost: records a filter or a field lookup looked at (a column
    read counts every record), and records put on pages."""

    examined: int = 0
    shaped: int = 0

    def reset(self) -> None:
        self.examined = self.shaped = 0


#: The engine's work so far (tests compare it at two collection sizes).
WORK = Work()

_UNSAFE = object()
#: What each kind of literal compares a stored value as (anything else could raise).
_KIND_TYPES: dict[str, type | tuple[type, ...]] = {
    "Edm.Boolean": bool, "Edm.DateTimeOffset": datetime, "Edm.Date": date,
    "Edm.Decimal": Decimal, "Edm.Guid": UUID, "Edm.String": str}


def _cell(record: Mapping[str, Any], name: str, literal: Any) -> Any:
    """A record's field as a filter with `literal` compares it, or _UNSAFE when comparing
    it could fail (so the filter must run over every record, failing where it did)."""
    stored = record.get(name)
    if stored is None:
        return None
    try:
        value = _coerce(stored, literal, "eq")
    except ODataError:
        return _UNSAFE
    if not isinstance(value, _KIND_TYPES[_edm(literal)]) or (
            isinstance(value, Decimal) and value.is_nan()):
        return _UNSAFE
    return value


def _column(records: Sequence[Mapping[str, Any]], name: str, literal: Any) -> list | None:
    """Every record's field as the filter compares it, or None when one could fail."""
    def make() -> tuple[list, Any] | None:
        column = []
        for record in records:
            WORK.examined += 1
            cell = _cell(record, name, literal)
            if cell is _UNSAFE:
                return None
            column.append(cell)
        return column, literal

    made = remember(records, ("col", name, _edm(literal)), make)
    return None if made is None else made[0]


def _compiled(node: Node, records: Sequence[Mapping[str, Any]]) -> Callable[[int], bool] | None:
    """The filter as a test of a record's position, over columns; None when evaluating it
    could fail on some record (then it runs the way it always did)."""
    if isinstance(node, Junction):
        left, right = _compiled(node.left, records), _compiled(node.right, records)
        if left is None or right is None:
            return None
        if node.op == "and":
            return lambda i: left(i) and right(i)
        return lambda i: left(i) or right(i)
    name, op, literal = node.field, node.op, node.value
    if literal is None:
        return lambda i: _compare(records[i].get(name), op, None)
    if isinstance(literal, EnumLiteral):
        member = literal.member
        return lambda i: _compare(records[i].get(name), op, member)
    column = _column(records, name, literal)
    if column is None:
        return None
    if op == "eq":
        return lambda i: column[i] == literal
    if op == "ne":
        return lambda i: column[i] != literal
    return lambda i: _compare(column[i], op, literal)


class _Everything:
    """Every record matches (no $filter)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def get(self, start: int, stop: int) -> Sequence[int]:
        return range(start, min(stop, self.size))

    def has(self, count: int) -> bool:
        return self.size >= count


class _Matches:
    """The positions of the records a filter keeps, in stored order, found only as far as
    a page needs them; the next page carries on from there."""

    __slots__ = ("found", "next", "size", "test")

    def __init__(self, size: int, test: Callable[[int], bool] | None,
                 found: list[int] | None = None) -> None:
        self.found: list[int] = found if found is not None else []
        self.next = size if found is not None else 0
        self.size = size
        self.test = test

    def _upto(self, count: int) -> None:
        found, test, position, size = self.found, self.test, self.next, self.size
        if test is None:
            return
        while len(found) < count and position < size:
            if test(position):
                found.append(position)
            position += 1
        WORK.examined += position - self.next
        self.next = position

    def get(self, start: int, stop: int) -> Sequence[int]:
        self._upto(stop)
        return self.found[start:stop]

    def has(self, count: int) -> bool:
        self._upto(count)
        return len(self.found) >= count


def _has_field(records: Sequence[Mapping[str, Any]], name: str) -> bool:
    """Whether any record has the field (the first one usually does)."""
    def look() -> bool:
        for record in records:
            WORK.examined += 1
            if name in record:
                return True
        return False
    return bool(remember(records, ("has", name), look))


def _one_of(node: Node) -> tuple[str, list[Any]] | None:
    """The field and literals of `a eq x or a eq y or ...` (one field, one kind of literal:
    how a client asks for records by their keys), else None."""
    if isinstance(node, Junction):
        if node.op != "or":
            return None
        left, right = _one_of(node.left), _one_of(node.right)
        if left is None or right is None or left[0] != right[0] or (
                _edm(left[1][0]) != _edm(right[1][0])):
            return None
        return left[0], left[1] + right[1]
    if node.op != "eq" or node.value is None or isinstance(node.value, EnumLiteral):
        return None
    return node.field, [node.value]


def _looked_up(records: Sequence[Mapping[str, Any]], node: Node) -> _Matches | None:
    """The matches of a chain of `eq` on one field from an index of its column (kept until
    the records change): a look-up per literal instead of a test of every record, so a
    client asking for 20 records by id costs what 20 records cost."""
    chain = _one_of(node)
    if chain is None or not isinstance(records, Indexed):
        return None
    name, literals = chain
    column = _column(records, name, literals[0])
    if column is None:
        return None

    def make() -> dict[Any, list[int]]:
        index: dict[Any, list[int]] = {}
        WORK.examined += len(column)
        for position, cell in enumerate(column):
            if cell is not None:
                index.setdefault(cell, []).append(position)
        return index

    index = remember(records, ("index", name, _edm(literals[0])), make)
    found = sorted({p for literal in literals for p in index.get(literal, ())})
    return _Matches(len(records), None, found)


def _filtered(records: Sequence[Mapping[str, Any]], text: str, node: Node) -> Any:
    def make() -> _Matches:
        looked_up = _looked_up(records, node)
        if looked_up is not None:
            return looked_up
        test = _compiled(node, records)
        if test is None:  # a record could fail the filter: all of them, as always
            WORK.examined += len(records)
            return _Matches(len(records), None,
                            [i for i, r in enumerate(records) if matches(node, r)])
        return _Matches(len(records), test)
    return remember(records, ("filter", text), make)


def query(
    records: Sequence[Mapping[str, Any]],
    params: Sequence[tuple[str, str]],
    *,
    base_url: str,
    prefer: str | None,
    navigations: Iterable[str] = (),
    unknown_property: Callable[[str], ODataError],
    most: int = MAX_PAGE_SIZE,
    enums: Mapping[str, str] | None = None,
) -> Page:
    """Answer one collection GET: filter, order-preserving skip/top, shape, one page.

    The same answer as filtering every record and slicing the result, at the cost of the
    page: matches are looked for only as far as the page needs (and kept, with the
    columns they were found by, on an `Indexed` list until it changes)."""
    q = dict(params)
    navs = set(navigations)
    expand = split_list(q.get("$expand"))
    for name in expand:
        if name not in navs:
            raise unknown_property(name)
    select = split_list(q.get("$select"))
    for name in select:
        if name in navs or (records and not _has_field(records, name)):
            raise unknown_property(name)
    found: _Everything | _Matches = _Everything(len(records))
    if q.get("$filter") is not None:
        node = parse_filter(q["$filter"])
        if enums is not None:
            check_enums(node, enums)
        for name in filter_fields(node):
            if records and not _has_field(records, name):
                raise unknown_property(name)
        found = _filtered(records, q["$filter"], node)
    skip, top = 0, None
    for option in ("$skip", "$top"):
        if option in q:
            try:
                n = int(q[option])
            except ValueError:
                raise _bad(f"Invalid value '{q[option]}' for {option} query option.") from None
            if n < 0:
                raise _bad(f"Invalid value '{q[option]}' for {option} query option.")
            if option == "$skip":
                skip = n
            else:
                top = n
    size, applied = max_page_size(prefer, most, most)
    fp = fingerprint(params)
    offset = decode_skiptoken(q["$skiptoken"], fp) if "$skiptoken" in q else 0
    # The page is rows[offset:offset + size] of rows = matches[skip:][:top].
    end = offset + size if top is None else min(offset + size, top)
    chosen = [records[i] for i in found.get(skip + offset, skip + end)] if end > offset else []
    link = None
    if (top is None or offset + size < top) and found.has(skip + offset + size + 1):
        link = next_link(base_url, params, encode_skiptoken(offset + size, fp))
    WORK.shaped += len(chosen)
    shaped = [shape(r, select=select, expand=expand, navigations=navs) for r in chosen]
    return Page(rows=shaped, next_link=link, page_size=size, applied=applied)

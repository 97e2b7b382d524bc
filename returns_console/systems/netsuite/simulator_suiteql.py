"""NetSuite's SuiteQL query service over SQLite, for the NetSuite simulator.

`SuiteQLEngine` keeps the simulated account's tables in an in-memory SQLite database and
runs SuiteQL (Oracle-flavoured SQL) against them; `SuiteQLEndpoint` answers
`POST /services/rest/query/v1/suiteql?limit=&offset=` as NetSuite does
(docs/vendors/netsuite.md §1.1, §3); `error_response` writes NetSuite's error envelope
(netsuite.md §7.1) for any simulated service.

How the caller declares and stores data
- The schema is `{table: {column: "TEXT" | "NUMERIC" | "DATE" | "DATETIME"}}`. Table and
  column names are stored lower-case (SuiteQL's are, netsuite.md §4); SQLite identifiers are
  case-insensitive, so `NextTransactionLineLink` finds `nexttransactionlinelink`.
- NUMERIC columns (ids, foreign keys, quantities, money) hold numbers: `insert` takes an
  int, a float, a Decimal or a numeric string and stores an INTEGER or a REAL. A non-integral
  value may have at most 15 significant digits (a double keeps those exactly, so "12.5" comes
  back "12.5"); more is refused rather than rounded: declare the column TEXT to keep such
  text verbatim. Values come back as NetSuite sends them, strings, integers without ".0"
  and without trailing zeros (12.50 → "12.5") [func: our reading of §3.3].
- DATE columns hold `YYYY-MM-DD`, DATETIME columns `YYYY-MM-DD HH:MM:SS` (UTC; an aware
  datetime is converted, a naive one is taken as UTC, microseconds are dropped: the time
  zone of SuiteQL datetimes is UNKNOWN, netsuite.md §10 U5 proposes UTC). Stored so, text
  comparison and ordering are chronological.
- TEXT columns hold text; a Python bool is stored 'T'/'F' (netsuite.md §3.3).
- Every column `c` has a hidden companion `c__df` (TEXT) for its display value:
  `insert(table, {"status": "B", "status__df": "Pending Receipt"})`. `BUILTIN.DF(x.c)`
  (netsuite.md §3.4) is rewritten to `COALESCE(x.c__df, x.c)`: the display text where the
  caller filled it, else the value itself. Companions never appear in `SELECT *` and a
  query cannot name them.

What a query may use (netsuite.md §3.1, §3.3, §3.4): one SELECT (anything else is refused),
anonymous `?` parameters, joins, `IN (subquery)`, `CASE`, `||`, `UPPER`, `LOWER`,
`COALESCE`, `NVL` (rewritten to IFNULL), `TO_CHAR(value[, format])`,
`TO_DATE(text[, format])`, `TO_TIMESTAMP(text[, format])`, `TO_NUMBER(text)`. Formats
understand YYYY YY MONTH MON MM DD HH24 HH12 HH MI SS AM PM, punctuation and "quoted text";
a TO_CHAR whose format is digits only (YYYY MM DD HH24 MI SS) runs as SQLite's own
strftime, no Python call per row. `LIKE` is case-sensitive, as Oracle's. Names SQLite
reserves but SuiteQL allows (`transaction`, NetSuite's table and line column, netsuite.md
§4.8) are quoted on the way in.

Speed and consistency (netsuite.md §3.2): `page` runs a query once into a temporary table
(rows numbered in the query's order) and serves every page of it by rowid, so the total and
each page come from one run and a page costs its own rows, whatever its offset. The result
is kept until the next write (`insert`, `update`, `delete`), up to `cached_results` of
them; paging a query while the data changes sees the new data, as re-running would.

Our readings where the doc is silent or ambiguous:
- Bound parameters are bound as the strings they arrive as (netsuite.md §3.1). A NUMERIC
  column compared with one (`t.id > ?`, `t.id = ?`, `t.id IN (?, ?)`, `BETWEEN ? AND ?`)
  compares numerically, because SQLite applies the column's NUMERIC affinity to the
  parameter. An expression has no affinity: `NVL(t.id, 0) > ?` compares a number with text
  (always false); write `NVL(t.id, 0) > TO_NUMBER(?)`. Params are not turned into numbers
  up front because that breaks text comparisons such as `UPPER(t.tranid) = ?` with "1001".
- A DATE or DATETIME column selected without TO_CHAR comes back in the account's date format,
  as SuiteQL formats dates per the user's preference (netsuite.md §3.3): `date_display`
  and `datetime_display` (strftime formats; default "%d/%m/%Y" for both: a raw datetime
  loses its time, as SuiteQL's is said to [func, unverified]); None sends the stored ISO
  text. TO_CHAR output is
  always what its format says.
- TO_DATE gives `YYYY-MM-DD` when its format has no time element, else
  `YYYY-MM-DD HH:MM:SS`; TO_TIMESTAMP always the latter. Compare DATE columns with TO_DATE
  and DATETIME columns with TO_TIMESTAMP: text comparison puts `2024-01-01` before
  `2024-01-01 00:00:00`.
- An unaliased expression column is keyed `expr1`, `expr2`, ... in select-list order
  [func]; a plain column by its name; every key lower-case (netsuite.md §3.3). Alias
  duplicates: the later column wins, as a JSON reader of a duplicate key would.
- Errors: a query SQLite cannot run (unknown table or column, syntax, parameter count) or
  that is not a single SELECT answers 400, title "Invalid search query.", detail
  "Search error occurred: <reason>" (netsuite.md §7.1, last bullet), `o:errorCode`
  "INVALID_PARAMETER" and `o:errorQueryParam` "q" (the code is ours: the doc names none).
  A missing `Prefer: transient` answers 400 `INVALID_REQUEST` with `o:errorHeader`
  "Prefer"; a body that is not `{"q": "...", "params": [...]}` 400 `INVALID_REQUEST` with
  §7.2 D's text; a bad `limit`/`offset` 400 `INVALID_PARAMETER` with `o:errorQueryParam`.
- The 100,000-result ceiling (netsuite.md §3.2, `max_results`) counts per request: a page
  reaching past it when the query has more rows than that is refused (400
  `INVALID_PARAMETER`, detail quoting the doc). `hasMore` stays true on the last page
  below the ceiling (there are more rows); a new query (a keyset `WHERE id > ?`) starts a
  new count. An offset past the end answers an empty page.
- Links (netsuite.md §3.3; order as in the collection samples §8 S2/S3): `prev` and `first`
  after the first page, `next` and `last` while `hasMore` (`last` the last page the ceiling
  allows), `self` always; each href is the request URL with `limit` and `offset` set.
- Success is sent as `application/vnd.oracle.resource+json; type=collection` (by analogy
  with `type=singular`, §8 S4, and `type=error`); errors as
  `application/vnd.oracle.resource+json; type=error` (§7.2 F prints it without "+json").
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from http import HTTPStatus
from typing import Any, Final, Literal

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ColumnType = Literal["TEXT", "NUMERIC", "DATE", "DATETIME"]
SqlValue = str | int | float | None

#: Where NetSuite serves SuiteQL (netsuite.md §1.1).
SUITEQL_PATH: Final = "/services/rest/query/v1/suiteql"
#: The most results one query returns (netsuite.md §3.2).
MAX_RESULTS: Final = 100_000
#: The largest and the default page (netsuite.md §3.2).
MAX_LIMIT: Final = 1000
ERROR_TYPE: Final = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
ERROR_MEDIA_TYPE: Final = "application/vnd.oracle.resource+json; type=error"
COLLECTION_MEDIA_TYPE: Final = "application/vnd.oracle.resource+json; type=collection"
#: netsuite.md §7.2 D, verbatim.
MALFORMED: Final = "The request could not be understood by the server due to malformed syntax."
SEARCH_TITLE: Final = "Invalid search query."
DF_SUFFIX: Final = "__df"

_TYPES: Final[Mapping[str, str]] = {
    # The first word names the sqlite3 converter (raw dates are formatted on the way out);
    # "TEXT" gives the column TEXT affinity.
    "TEXT": "TEXT", "NUMERIC": "NUMERIC", "DATE": "NSDATE TEXT", "DATETIME": "NSDATETIME TEXT"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[a-z_][a-z0-9_$#]*")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class _StoredDate(str):
    """A DATE column's text as read raw from a table (not through a function)."""


class _StoredDatetime(str):
    """A DATETIME column's text as read raw from a table."""


sqlite3.register_converter("NSDATE", lambda raw: _StoredDate(raw.decode()))
sqlite3.register_converter("NSDATETIME", lambda raw: _StoredDatetime(raw.decode()))


class SuiteQLError(Exception):
    """A query the engine will not or cannot run; `reason` is the short text NetSuite's
    "Search error occurred: …" detail carries (netsuite.md §7.1)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------- query preparation

_SEGMENT = re.compile(r"""
    (?P<str>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<open>['"]|/\*)
""", re.S | re.X)
_DF = re.compile(r"BUILTIN\s*\.\s*DF\s*\(\s*((?:[A-Za-z_]\w*\s*\.\s*)?[A-Za-z_]\w*)\s*\)", re.I)
_BUILTIN = re.compile(r"(?<![\w.$])BUILTIN\s*\.", re.I)
_NVL = re.compile(r"(?<![\w.$])NVL(?=\s*\()", re.I)
_COMPANION = re.compile(r"\w*__df(?!\w)", re.I)
_NAMED_PARAM = re.compile(r"\?\d|[:@][A-Za-z_]")
_SELECT = re.compile(r"\s*(?:\(\s*)*SELECT(?![\w$])", re.I)
#: SQLite keywords that SuiteQL (Oracle) lets a name be: `transaction` is NetSuite's table
#: and `transactionline.transaction` its column (netsuite.md §4.8). Quoted on the way in.
_SQLITE_KEYWORDS = re.compile(r"(?<![\w$])(?:transaction|commit|nothing|returning|limit)"
                              r"(?![\w$])", re.I)


def _segments(q: str) -> list[tuple[str, str]]:
    """`q` cut into code, string literals and quoted identifiers; comments become a space."""
    out: list[tuple[str, str]] = []
    at = 0
    for match in _SEGMENT.finditer(q):
        if match.start() > at:
            out.append(("code", q[at:match.start()]))
        kind = match.lastgroup or "code"
        if kind == "open":
            raise SuiteQLError("unterminated quoted text or comment")
        out.append(("code", " ") if kind == "comment" else (kind, match.group()))
        at = match.end()
    if at < len(q):
        out.append(("code", q[at:]))
    return out


@dataclass(frozen=True, slots=True)
class Prepared:
    """A SuiteQL query as SQLite runs it: `sql`, how many `?` it binds, and `probe`, the
    same with every `?` NULL (a view cannot hold parameters; it tells the column types)."""

    sql: str
    params: int
    probe: str


@lru_cache(maxsize=512)
def prepare(q: str) -> Prepared:
    """SuiteQL `q` as SQLite runs it: a single SELECT (netsuite.md §3.1), BUILTIN.DF and
    NVL rewritten (§3.4), digits-only TO_CHAR made native. Raises SuiteQLError."""
    segments = _segments(q)
    # one statement: a ';' only at the very end
    for i, (kind, text) in enumerate(segments):
        if kind == "code" and ";" in text:
            head, _, tail = text.partition(";")
            if tail.strip() or any(k != "code" or t.strip() for k, t in segments[i + 1:]):
                raise SuiteQLError("only one statement can be run at a time")
            segments = [*segments[:i], ("code", head)]
            break
    first = next(((k, t) for k, t in segments if k != "code" or t.strip()), None)
    if first is None or first[0] != "code" or not _SELECT.match(first[1]):
        raise SuiteQLError("only SELECT statements are supported")
    parts: list[str] = []
    mask: list[str] = []  # the same text with what is inside quotes blanked out
    probe: list[str] = []
    params = 0
    for kind, text in segments:
        if kind == "ident":
            if _COMPANION.search(text):
                raise SuiteQLError(f"unknown identifier {text}")
        elif kind == "code":
            if bad := _COMPANION.search(text):
                raise SuiteQLError(f"unknown identifier {bad.group()!r}")
            if _NAMED_PARAM.search(text):
                raise SuiteQLError("only anonymous ? parameters are supported")
            text = _DF.sub(lambda m: _df(m.group(1)), text)
            if _BUILTIN.search(text):
                raise SuiteQLError("BUILTIN.DF takes one field (alias.field); "
                                   "no other BUILTIN function is supported")
            text = _NVL.sub("IFNULL", text)
            text = _SQLITE_KEYWORDS.sub(lambda m: f'"{m.group()}"', text)
            params += text.count("?")
        parts.append(text)
        mask.append(text if kind == "code" else text[0] + "_" * (len(text) - 2) + text[-1])
        probe.append(text.replace("?", "NULL") if kind == "code" else text)
    sql = _native_to_char("".join(parts), "".join(mask)).strip()
    return Prepared(sql, params, "".join(probe).strip())


def _df(field: str) -> str:
    field = re.sub(r"\s+", "", field)
    return f"COALESCE({field}{DF_SUFFIX}, {field})"


# ------------------------------------------------------------------- Oracle functions

_FORMAT = re.compile(r'"[^"]*"|YYYY|YY|MONTH|MON|MM|DD|HH24|HH12|HH|MI|SS|AM|PM|A\.M\.|P\.M\.'
                     r'|[^A-Za-z"]+|[A-Za-z]+', re.I)
_FORMAT_CODES = {"YYYY": "%Y", "YY": "%y", "MONTH": "%B", "MON": "%b", "MM": "%m",
                 "DD": "%d", "HH24": "%H", "HH12": "%I", "HH": "%I", "MI": "%M", "SS": "%S",
                 "AM": "%p", "PM": "%p", "A.M.": "%p", "P.M.": "%p"}
_TIME_CODES = frozenset({"%H", "%I", "%M", "%S", "%p"})


@lru_cache(maxsize=128)
def oracle_format(fmt: str) -> tuple[str, bool]:
    """An Oracle datetime format as a strftime/strptime one, and whether it has a time."""
    out: list[str] = []
    timed = False
    for token in _FORMAT.findall(fmt):
        code = _FORMAT_CODES.get(token.upper())
        if code is not None:
            out.append(code)
            timed = timed or code in _TIME_CODES
        elif token.startswith('"'):
            out.append(token[1:-1].replace("%", "%%"))
        elif token[0].isalpha():
            raise ValueError(f"unsupported date format element {token!r}")
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out), timed


def sqlite_format(fmt: str) -> str | None:
    """An Oracle format as SQLite's own strftime writes it, if it can (digits only)."""
    out: list[str] = []
    for token in _FORMAT.findall(fmt):
        code = _NATIVE_CODES.get(token.upper())
        if code is not None:
            out.append(code)
        elif token.startswith('"'):
            out.append(token[1:-1].replace("%", "%%"))
        elif token[0].isalpha():
            return None
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


_NATIVE_CODES = {"YYYY": "%Y", "MM": "%m", "DD": "%d", "HH24": "%H", "MI": "%M", "SS": "%S"}
_TO_CHAR = re.compile(r"(?<![\w$.])TO_CHAR\s*\(", re.I)
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def _native_to_char(sql: str, mask: str) -> str:
    """`TO_CHAR(x, '<digits-only format>')` as SQLite's `strftime('<format>', x)`: the
    same text for the stored ISO dates, without a Python call per row (a deep page sorts
    every row before it). Other TO_CHARs stay the registered function. `mask` is `sql`
    with quoted contents blanked, so parentheses and commas inside quotes do not count."""
    found = _TO_CHAR.search(mask)
    if found is None:
        return sql
    opening = found.end() - 1
    depth, commas, close = 0, [], None
    for at in range(opening, len(mask)):
        if mask[at] == "(":
            depth += 1
        elif mask[at] == ")":
            depth -= 1
            if depth == 0:
                close = at
                break
        elif mask[at] == "," and depth == 1:
            commas.append(at)
    if close is None:
        return sql  # SQLite reports the syntax error
    rest = _native_to_char(sql[close + 1:], mask[close + 1:])
    if len(commas) == 1:
        comma = commas[0]
        fmt = sql[comma + 1:close].strip()
        native = sqlite_format(fmt[1:-1].replace("''", "'")) \
            if _LITERAL.fullmatch(fmt) else None
        if native is not None:
            value = _native_to_char(sql[opening + 1:comma], mask[opening + 1:comma])
            literal = native.replace("'", "''")
            return f"{sql[:found.start()]}strftime('{literal}', {value}){rest}"
    inner = _native_to_char(sql[opening + 1:close], mask[opening + 1:close])
    return f"{sql[:opening + 1]}{inner}){rest}"


def _moment(value: object) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date")


@lru_cache(maxsize=4096)
def _to_char(value: object, fmt: object = None) -> str | None:
    if value is None:
        return None
    if fmt is None:
        return _number_text(value) if isinstance(value, int | float) else str(value)
    if isinstance(value, int | float):
        raise ValueError("number formats are not supported")
    return _moment(value).strftime(oracle_format(str(fmt))[0])


def _parse(text: object, fmt: object) -> tuple[datetime, bool]:
    if fmt is None:
        moment = _moment(text)
        return moment, len(str(text).strip()) > 10
    pattern, timed = oracle_format(str(fmt))
    try:
        return datetime.strptime(str(text).strip(), pattern), timed
    except ValueError:
        raise ValueError(f"{text!r} does not match the format {fmt!r}") from None


@lru_cache(maxsize=4096)
def _to_date(text: object, fmt: object = None) -> str | None:
    if text is None:
        return None
    moment, timed = _parse(text, fmt)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if timed else "%Y-%m-%d")


@lru_cache(maxsize=4096)
def _to_timestamp(text: object, fmt: object = None) -> str | None:
    if text is None:
        return None
    return _parse(text, fmt)[0].strftime("%Y-%m-%d %H:%M:%S")


def _to_number(text: object) -> int | float | None:
    if text is None:
        return None
    if isinstance(text, int | float):
        return text
    try:
        number = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return int(number) if number == number.to_integral_value() else float(number)


# ------------------------------------------------------------------------ values


def _number_text(value: int | float) -> str:
    """A number as SuiteQL writes it: integers plain, decimals without trailing zeros."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _store_numeric(value: object) -> int | float:
    if isinstance(value, bool):
        raise TypeError("a NUMERIC column takes a number, not a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a number SuiteQL can hold")
        return value
    if isinstance(value, Decimal | str):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a number SuiteQL can hold")
        if number == number.to_integral_value():
            whole = int(number)
            if -(2**63) <= whole < 2**63:
                return whole
        if len(number.normalize().as_tuple().digits) > 15:
            raise ValueError(f"{value!r} has more than 15 significant digits: "
                             "declare the column TEXT to keep it exactly")
        return float(number)
    raise TypeError(f"a NUMERIC column takes a number, not {type(value).__name__}")


def _store_date(value: object) -> str:
    if isinstance(value, datetime):
        return _utc(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        return date.fromisoformat(value.strip()).isoformat()
    raise ValueError(f"a DATE column takes a date or 'YYYY-MM-DD', not {value!r}")


def _store_datetime(value: object) -> str:
    if isinstance(value, datetime):
        return _utc(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value.strip())).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    raise ValueError(f"a DATETIME column takes a datetime or 'YYYY-MM-DD HH:MM:SS', "
                     f"not {value!r}")


def _store_text(value: object) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a TEXT column takes text, not {type(value).__name__}")


_STORE: Final[Mapping[str, Callable[[object], object]]] = {
    "TEXT": _store_text, "NUMERIC": _store_numeric, "DATE": _store_date,
    "DATETIME": _store_datetime, "DF": _store_text}


# ------------------------------------------------------------------------- engine


def _quote(name: str) -> str:
    """An identifier for SQLite (names are checked against _IDENT first)."""
    return f'"{name}"'


class SuiteQLEngine:
    """The simulated account's tables in one in-memory SQLite database, and SuiteQL over
    them. Every method holds one lock; the engine may be shared between threads."""

    def __init__(self, schema: Mapping[str, Mapping[str, ColumnType]], *,
                 indexes: Mapping[str, Iterable[str | Sequence[str]]] | None = None,
                 date_display: str | None = "%d/%m/%Y",
                 datetime_display: str | None = "%d/%m/%Y",
                 cached_results: int = 8) -> None:
        """`schema`: `{table: {column: type}}` (see the module docstring); each table's
        `id` column is indexed, `indexes` adds `{table: [column or (columns…)]}`.
        `date_display` / `datetime_display`: the account's format for raw date columns.
        `cached_results`: how many query results `page` keeps between writes."""
        self.date_display = date_display
        self.datetime_display = datetime_display
        self._lock = threading.Lock()
        #: What the authorizer lets a statement do: "all" (the engine's own statements),
        #: "read" (a query), or fill the temp table named here with a query's rows.
        self._mode = "all"
        self._function_error: str | None = None
        #: Materialised results by (sql, params), oldest first; emptied by any write.
        self._results: OrderedDict[tuple[str, tuple[str, ...]], _Result] = OrderedDict()
        self._result_names = itertools.count(1)
        self.cached_results = cached_results
        self._schema: dict[str, dict[str, str]] = {}
        self._conn = sqlite3.connect(":memory:", check_same_thread=False,
                                     isolation_level=None,
                                     detect_types=sqlite3.PARSE_DECLTYPES)
        self._conn.execute("PRAGMA case_sensitive_like = ON")  # Oracle's LIKE
        for name, fn in (("TO_CHAR", _to_char), ("TO_DATE", _to_date),
                         ("TO_TIMESTAMP", _to_timestamp)):
            self._conn.create_function(name, 1, self._guard(name, fn), deterministic=True)
            self._conn.create_function(name, 2, self._guard(name, fn), deterministic=True)
        self._conn.create_function("TO_NUMBER", 1, self._guard("TO_NUMBER", _to_number),
                                   deterministic=True)
        for table, columns in schema.items():
            self._create(table, columns)
        for table, wanted in (indexes or {}).items():
            for index in wanted:
                self.create_index(table, *([index] if isinstance(index, str) else index))
        self._conn.set_authorizer(self._authorize)

    # -- schema --------------------------------------------------------------------------

    def _create(self, table: str, columns: Mapping[str, ColumnType]) -> None:
        name = table.lower()
        if not _IDENT.fullmatch(name) or name.startswith("sqlite_") or name in self._schema:
            raise ValueError(f"bad or repeated table name {table!r}")
        declared: dict[str, str] = {}
        for column, kind in columns.items():
            col = column.lower()
            if not _IDENT.fullmatch(col) or col.endswith(DF_SUFFIX) or col in declared:
                raise ValueError(f"bad or repeated column name {table}.{column}")
            if kind not in _TYPES:
                raise ValueError(f"{table}.{column}: type {kind!r} is not one of {list(_TYPES)}")
            declared[col] = kind
        if not declared:
            raise ValueError(f"table {table!r} has no columns")
        ddl = ", ".join(f'"{c}" {_TYPES[k]}, "{c}{DF_SUFFIX}" TEXT' for c, k in declared.items())
        self._conn.execute(f'CREATE TABLE "{name}" ({ddl})')
        self._schema[name] = declared
        if "id" in declared:
            self._conn.execute(f'CREATE INDEX "{name}__id" ON "{name}" ("id")')

    def create_index(self, table: str, *columns: str) -> None:
        """An index on `table(columns…)`, for the joins a simulator's queries make."""
        name = self._table(table)
        cols = [self._column(name, c)[0] for c in columns]
        if not cols:
            raise ValueError("an index needs at least one column")
        index = f"{name}__{'_'.join(cols)}"
        with self._lock:
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {_quote(index)} ON {_quote(name)} "
                               f"({', '.join(_quote(c) for c in cols)})")

    @property
    def schema(self) -> Mapping[str, Mapping[str, str]]:
        return self._schema

    def _table(self, table: str) -> str:
        name = table.lower()
        if name not in self._schema:
            raise ValueError(f"no table {table!r}")
        return name

    def _column(self, table: str, column: str) -> tuple[str, str]:
        """The stored column name and its type ("TEXT" for a display companion)."""
        col = column.lower()
        base = col[:-len(DF_SUFFIX)] if col.endswith(DF_SUFFIX) else col
        if base not in self._schema[table]:
            raise ValueError(f"no column {column!r} in {table}")
        return col, ("DF" if base != col else self._schema[table][col])

    def _value(self, table: str, column: str, value: object) -> tuple[str, object]:
        col, kind = self._column(table, column)
        if value is None:
            return col, None
        try:
            return col, _STORE[kind](value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{table}.{col}: {exc}") from None

    def _where(self, table: str, where: Mapping[str, object]) -> tuple[str, list[object]]:
        terms: list[str] = []
        args: list[object] = []
        for column, value in where.items():
            col, stored = self._value(table, column, value)
            if stored is None:
                terms.append(f'"{col}" IS NULL')
            else:
                terms.append(f'"{col}" = ?')
                args.append(stored)
        return (" WHERE " + " AND ".join(terms)) if terms else "", args

    # -- data ----------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, object]) -> None:
        """One row; columns left out are NULL; `c__df` fills c's display value."""
        self.insert_many(table, [row])

    def insert_many(self, table: str, rows: Iterable[Mapping[str, object]]) -> int:
        """Rows in one transaction (all or none); how many."""
        name = self._table(table)
        prepared: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        #: for each set of keys rows come with: the stored columns and their converters
        shapes: dict[tuple[str, ...], tuple[tuple[str, ...], list[Callable[[object], object]]]]
        shapes = {}
        count = 0
        for row in rows:
            keys = tuple(row)
            if (shape := shapes.get(keys)) is None:
                resolved = [self._column(name, k) for k in keys]
                cols = tuple(c for c, _ in resolved)
                if not cols or len(set(cols)) != len(cols):
                    raise ValueError(f"a row for {table} with no column or one twice: {keys}")
                shape = shapes[keys] = (cols, [_STORE[kind] for _, kind in resolved])
            cols, stores = shape
            try:
                values = tuple(None if v is None else store(v)
                               for store, v in zip(stores, row.values(), strict=True))
            except (TypeError, ValueError):
                # again, one by one, for an error naming the column
                values = tuple(self._value(name, k, v)[1] for k, v in row.items())
            prepared.setdefault(cols, []).append(values)
            count += 1
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                for cols, batch in prepared.items():
                    self._conn.executemany(
                        f"INSERT INTO {_quote(name)} ({', '.join(_quote(c) for c in cols)}) "
                        f"VALUES ({', '.join('?' * len(cols))})", batch)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self._forget_results()
        return count

    def update(self, table: str, where: Mapping[str, object],
               values: Mapping[str, object]) -> int:
        """Set `values` on the rows equal to `where` (None: IS NULL); how many changed.
        A companion is not cleared when its column changes: set `c__df` too."""
        name = self._table(table)
        if not values:
            raise ValueError("nothing to update")
        sets = [self._value(name, c, v) for c, v in values.items()]
        clause, args = self._where(name, where)
        with self._lock:
            cursor = self._conn.execute(
                f"UPDATE {_quote(name)} SET {', '.join(f'{_quote(c)} = ?' for c, _ in sets)}"
                f"{clause}", [v for _, v in sets] + args)
            self._forget_results()
            return cursor.rowcount

    def delete(self, table: str, where: Mapping[str, object]) -> int:
        """Delete the rows equal to `where` (an empty mapping: every row); how many."""
        name = self._table(table)
        clause, args = self._where(name, where)
        with self._lock:
            count = self._conn.execute(f"DELETE FROM {_quote(name)}{clause}", args).rowcount
            self._forget_results()
            return count

    def rows(self, table: str, /, **match: object) -> list[dict[str, Any]]:
        """The rows equal to `match`, in insertion order, as stored: NUMERIC as int or
        Decimal, dates as ISO text, companions only where filled."""
        name = self._table(table)
        clause, args = self._where(name, match)
        with self._lock:
            cursor = self._conn.execute(f"SELECT * FROM {_quote(name)}{clause} ORDER BY rowid",
                                        args)
            names = [d[0] for d in cursor.description]
            found = cursor.fetchall()
        out = []
        for row in found:
            record: dict[str, Any] = {}
            for col, value in zip(names, row, strict=True):
                if col.endswith(DF_SUFFIX) and value is None:
                    continue
                if isinstance(value, float):
                    value = Decimal(repr(value))
                elif isinstance(value, str):
                    value = str(value)
                record[col] = value
            out.append(record)
        return out

    # -- queries ---------------------------------------------------------------------------

    def run(self, q: str, params: Sequence[str] = ()) -> list[dict[str, str]]:
        """Every row of SuiteQL `q`, as SuiteQL items without `links`: lower-case keys,
        string values, NULLs left out (netsuite.md §3.3). Raises SuiteQLError."""
        prepared, args = self._prepared(q, params)
        with self._lock:
            cursor = self._execute("read", prepared.sql, args)
            names = [d[0] for d in cursor.description]
            found = self._fetch(cursor)
        return self._items(names, found)

    def page(self, q: str, params: Sequence[str] = (), *, limit: int,
             offset: int) -> tuple[int, list[dict[str, str]]]:
        """How many rows `q` has in all, and the `limit` of them from `offset`.

        The query runs once into a temporary table (kept until the next write, up to
        `cached_results` of them), and every page of it is read from there by rowid: the
        total and the pages come from one run, and a page costs its own rows, not the
        offset's. Raises SuiteQLError."""
        prepared, args = self._prepared(q, params)
        with self._lock:
            result = self._result(prepared, args)
            cursor = self._execute(
                "all", f"SELECT * FROM temp.{_quote(result.table)} WHERE rowid > ? "
                       f"AND rowid <= ? ORDER BY rowid", [offset, offset + limit])
            found = self._fetch(cursor)
        return result.total, self._items(result.names, found)

    def _prepared(self, q: str, params: Sequence[str]) -> tuple[Prepared, list[str]]:
        prepared = prepare(q)
        if prepared.params != len(params):
            raise SuiteQLError(f"the query has {prepared.params} parameter(s), "
                               f"{len(params)} given")
        return prepared, [str(p) for p in params]

    def _result(self, prepared: Prepared, args: list[str]) -> _Result:
        """`prepared`'s rows in a temp table, numbered from 1 in the query's order."""
        key = (prepared.sql, tuple(args))
        if (cached := self._results.get(key)) is not None:
            self._results.move_to_end(key)
            return cached
        # the column names as SuiteQL sends them (a result may repeat one) ...
        names = [d[0] for d in self._execute("read", f"{prepared.sql}\nLIMIT 0",
                                             args).description]
        # ... and their declared types, so a raw date column still reads as one
        probe = f"_ns_probe_{next(self._result_names)}"
        try:
            self._execute("all", f"CREATE TEMP VIEW {_quote(probe)} AS {prepared.probe}", [])
            types = [row[2] for row in self._conn.execute(
                f"PRAGMA temp.table_info({_quote(probe)})").fetchall()]
        finally:
            self._conn.execute(f"DROP VIEW IF EXISTS temp.{_quote(probe)}")
        table = f"_ns_result_{next(self._result_names)}"
        # no affinity (values stay as the query made them) but the date converters' names
        columns = ", ".join(f'"c{i}" {_result_type(kind)}'.rstrip()
                            for i, kind in enumerate(types))
        self._conn.execute(f"CREATE TEMP TABLE {_quote(table)} ({columns})")
        try:
            total = self._execute(table, f"INSERT INTO temp.{_quote(table)}\n{prepared.sql}",
                                  args).rowcount
        except SuiteQLError:
            self._conn.execute(f"DROP TABLE temp.{_quote(table)}")
            raise
        result = self._results[key] = _Result(table, names, total)
        while len(self._results) > max(self.cached_results, 1):
            self._drop(self._results.popitem(last=False)[1])
        return result

    def _forget_results(self) -> None:
        while self._results:
            self._drop(self._results.popitem()[1])

    def _drop(self, result: _Result) -> None:
        self._conn.execute(f"DROP TABLE IF EXISTS temp.{_quote(result.table)}")

    def _execute(self, mode: str, sql: str, args: Sequence[object]) -> sqlite3.Cursor:
        """Run `sql` as the authorizer's `mode` allows ("read", "all", or the name of the
        result table it may fill); an SQLite failure is a SuiteQLError."""
        self._mode = mode
        self._function_error = None
        try:
            return self._conn.execute(sql, args)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            reason = self._function_error or str(exc)
            raise SuiteQLError(reason.replace(DF_SUFFIX, "")) from None
        finally:
            self._mode = "all"

    def _fetch(self, cursor: sqlite3.Cursor) -> list[Any]:
        self._function_error = None
        try:
            return cursor.fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            reason = self._function_error or str(exc)
            raise SuiteQLError(reason.replace(DF_SUFFIX, "")) from None

    def _items(self, names: Sequence[str], found: Sequence[Sequence[object]]
               ) -> list[dict[str, str]]:
        keys: list[str | None] = []
        unnamed = 0
        for name in names:
            key = name.lower()
            if key.endswith(DF_SUFFIX):
                keys.append(None)  # a companion, reached by SELECT *
            elif _KEY.fullmatch(key):
                keys.append(key)
            else:
                unnamed += 1
                keys.append(f"expr{unnamed}")
        items = []
        for row in found:
            item: dict[str, str] = {}
            for column, value in zip(keys, row, strict=True):
                if column is not None and value is not None:
                    item[column] = value if type(value) is str else self._text(value)
            items.append(item)
        return items

    def _text(self, value: object) -> str:
        if isinstance(value, _StoredDate):
            return self._display(value, self.date_display)
        if isinstance(value, _StoredDatetime):
            return self._display(value, self.datetime_display)
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return _number_text(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    @staticmethod
    def _display(value: str, fmt: str | None) -> str:
        if fmt is None:
            return str(value)
        try:
            return datetime.fromisoformat(value).strftime(fmt)
        except ValueError:
            return str(value)

    def _guard(self, name: str, fn: Callable[..., SqlValue]) -> Callable[..., SqlValue]:
        """`fn` as an SQLite function whose failure names itself in the search error
        (sqlite3 only says "user-defined function raised exception")."""
        def call(*args: object) -> SqlValue:
            try:
                return fn(*args)
            except Exception as exc:
                self._function_error = f"{name}: {exc}"
                raise
        return call

    def _authorize(self, action: int, arg1: str | None, arg2: str | None,
                   database: str | None, trigger: str | None) -> int:
        """A query may read tables (not SQLite's own) and call functions; filling a
        result may also insert into its temp table; the engine's own statements pass."""
        if self._mode == "all":
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            return sqlite3.SQLITE_DENY if (arg1 or "").lower().startswith("sqlite_") \
                else sqlite3.SQLITE_OK
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_INSERT and arg1 == self._mode and database == "temp":
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY


def _result_type(declared: str) -> str:
    """A result column's type: BLOB affinity, keeping a date converter's name."""
    word = declared.split(" ", 1)[0].upper()
    return f"{word} BLOB" if word in ("NSDATE", "NSDATETIME") else ""


@dataclass(frozen=True, slots=True)
class _Result:
    """A query's rows in temp table `table` (rowid 1..total), with its column names."""

    table: str
    names: list[str]
    total: int


# ----------------------------------------------------------------------- HTTP


def error_response(status: int, code: str, detail: str, title: str | None = None, *,
                   path: str | None = None, query_param: str | None = None,
                   header: str | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    """NetSuite's error envelope (netsuite.md §7.1, samples §7.2):
    `{type, title, status, o:errorDetails: [{detail, o:errorCode, …}]}`; `title` defaults
    to the status's reason phrase. `path`, `query_param`, `header` fill `o:errorPath`,
    `o:errorQueryParam`, `o:errorHeader`; `headers` are response headers (Retry-After…)."""
    entry: dict[str, str] = {"detail": detail, "o:errorCode": code}
    for key, value in (("o:errorPath", path), ("o:errorQueryParam", query_param),
                       ("o:errorHeader", header)):
        if value is not None:
            entry[key] = value
    body = {"type": ERROR_TYPE, "title": title or HTTPStatus(status).phrase,
            "status": status, "o:errorDetails": [entry]}
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    media_type=ERROR_MEDIA_TYPE, headers=dict(headers or {}))


def _prefers_transient(value: str | None) -> bool:
    """`Prefer: transient` (netsuite.md §3.1), among other preferences if any."""
    if not value:
        return False
    return any(part.split(";")[0].split("=")[0].strip().lower() == "transient"
               for part in value.split(","))


class SuiteQLEndpoint:
    """`POST /services/rest/query/v1/suiteql` over a `SuiteQLEngine` (netsuite.md §3).
    Mount `route()`, or call `handle(request)` from a simulator's own route after its
    authentication and fault checks."""

    def __init__(self, engine: SuiteQLEngine, *, max_results: int = MAX_RESULTS,
                 max_limit: int = MAX_LIMIT, default_limit: int = MAX_LIMIT) -> None:
        if not 1 <= default_limit <= max_limit or max_results < 1:
            raise ValueError("need 1 <= default_limit <= max_limit and max_results >= 1")
        self.engine = engine
        self.max_results = max_results
        self.max_limit = max_limit
        self.default_limit = default_limit
        #: False: an account before 2026.2, whose REST SuiteQL has no bound parameters
        #: (§3.1). What it answers to `params` is not documented: here, the search error.
        self.takes_params = True

    def route(self, path: str = SUITEQL_PATH) -> Route:
        return Route(path, self.handle, methods=["POST"])

    async def handle(self, request: Request) -> Response:
        if not _prefers_transient(request.headers.get("prefer")):
            return error_response(400, "INVALID_REQUEST",
                                  "The Prefer header must be 'transient' for SuiteQL queries: "
                                  "Prefer: transient is a required header parameter.",
                                  header="Prefer")
        paging = self._paging(request.query_params)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        body = _query_body(await request.body())
        if body is None:
            return error_response(400, "INVALID_REQUEST", MALFORMED)
        q, params = body
        if params and not self.takes_params:
            return search_error("parameters are not supported in REST SuiteQL before 2026.2")
        try:
            total, rows = await run_in_threadpool(self.engine.page, q, params,
                                                  limit=limit, offset=offset)
        except SuiteQLError as exc:
            return search_error(exc.reason)
        if min(offset + limit, total) > self.max_results:
            return error_response(
                400, "INVALID_PARAMETER",
                f"Using SuiteQL queries, you can return a maximum of {self.max_results:,} "
                f"results; this query has {total:,} and offset {offset:,} with limit "
                f"{limit:,} reaches past that. If you expect more, use SuiteAnalytics Connect "
                "with the NetSuite2.com data source, or narrow the query.",
                query_param="offset")
        has_more = offset + len(rows) < total
        page = {"links": self._links(request, limit, offset, total, has_more),
                "count": len(rows), "hasMore": has_more, "offset": offset,
                "totalResults": total, "items": [{"links": [], **row} for row in rows]}
        return Response(json.dumps(page, ensure_ascii=False), media_type=COLLECTION_MEDIA_TYPE)

    def _paging(self, query: QueryParams) -> tuple[int, int] | Response:
        """`limit` 1..max_limit (default 1000) and `offset` a multiple of it (§3.2)."""
        values: dict[str, int] = {}
        for name, default in (("limit", self.default_limit), ("offset", 0)):
            raw = query.get(name)
            if raw is None:
                values[name] = default
            elif re.fullmatch(r"\s*\d{1,9}\s*", raw):
                values[name] = int(raw)
            else:
                return error_response(400, "INVALID_PARAMETER",
                                      f"Invalid value for the {name} query parameter: "
                                      f"{raw!r} is not a whole number.", query_param=name)
        limit, offset = values["limit"], values["offset"]
        if not 1 <= limit <= self.max_limit:
            return error_response(400, "INVALID_PARAMETER",
                                  f"Invalid value for the limit query parameter: {limit}. "
                                  f"The limit must be between 1 and {self.max_limit}.",
                                  query_param="limit")
        if offset % limit:
            return error_response(400, "INVALID_PARAMETER",
                                  f"Invalid value for the offset query parameter: {offset}. "
                                  f"The offset must be divisible by the limit ({limit}).",
                                  query_param="offset")
        return limit, offset

    def _links(self, request: Request, limit: int, offset: int, total: int,
               has_more: bool) -> list[dict[str, str]]:
        def link(rel: str, at: int) -> dict[str, str]:
            return {"rel": rel,
                    "href": str(request.url.include_query_params(limit=limit, offset=at))}

        links = []
        if offset > 0:
            links += [link("prev", offset - limit), link("first", 0)]
        if has_more:
            last = (total - 1) // limit * limit
            if total > self.max_results and self.max_results >= limit:
                last = min(last, (self.max_results - limit) // limit * limit)
            links += [link("next", offset + limit), link("last", max(last, offset))]
        links.append(link("self", offset))
        return links


def search_error(reason: str) -> Response:
    """A query NetSuite cannot run: 400 "Invalid search query." (netsuite.md §7.1)."""
    return error_response(400, "INVALID_PARAMETER", f"Search error occurred: {reason}",
                          title=SEARCH_TITLE, query_param="q")


def _query_body(raw: bytes) -> tuple[str, list[str]] | None:
    """`{"q": "...", "params": [...]}` (netsuite.md §3.1); params strings (numbers are
    taken as their text); None when the body is not that."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("q"), str) or \
            not body["q"].strip():
        return None
    params = body.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, list):
        return None
    texts: list[str] = []
    for value in params:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        texts.append(value if isinstance(value, str) else _number_text(value))
    return body["q"], texts

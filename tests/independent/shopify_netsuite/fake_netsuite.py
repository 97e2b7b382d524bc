"""A fake of Oracle NetSuite SuiteTalk REST web services (record service + SuiteQL), from the
NetSuite Help Center.

Served (paths as under https://{accountId}.suitetalk.api.netsuite.com):
  * ``POST /services/rest/auth/oauth2/v1/token`` -- OAuth 2.0 client credentials (M2M):
    form-encoded ``grant_type=client_credentials``,
    ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``,
    ``client_assertion=<JWT>`` (Help Center section_162755359851 "POST Request to the Token
    Endpoint and the Access Token Response"). The JWT header must have ``typ`` JWT, ``alg`` one
    of PS256/PS384/PS512/ES256/ES384/ES512 and ``kid`` (the certificate id); the payload
    ``iss`` (client id), ``scope`` (restlets, rest_webservices, suite_analytics, comma
    separated), ``aud`` (the token endpoint), ``iat`` and ``exp`` (exp less than 60 minutes
    after iat) (section_162790605110 "The Request Token Structure"). The signature is verified
    against the PUBLIC key of the certificate mapped under that ``kid`` (``certificates=``;
    section_162755359851: "The token is signed with the private part of the certificate used
    for mapping of the application"): PS256/384/512 (RSASSA-PSS, MGF1 with the same hash, salt
    as long as the hash: RFC 7518 §3.5) for an RSA key, ES256/384/512 for an EC key on
    P-256/P-384/P-521 (the signature is r||s, each of fixed width: RFC 7518 §3.4). RS256 is
    refused (not in Oracle's list), and so is an alg that does not fit the key (PS* with an EC
    key, ES384 with a P-256 key, ...). A certificate the fake is given must be one NetSuite
    takes (RSA 3072 or 4096 bits, EC 256/384/521 bits: subsect_162755332391), else make_app
    refuses it. Without a mapped certificate no assertion is accepted.
  * Token-Based Authentication (``tba=Tba(...)``): ``Authorization: OAuth realm="<account>",
    oauth_consumer_key, oauth_token, oauth_nonce, oauth_timestamp, oauth_signature_method=
    "HMAC-SHA256", oauth_version="1.0", oauth_signature`` on any REST/SuiteQL request
    (section_1534941088 "The Signature for Web Services and RESTlets", section_1534941295
    "The Authorization Headers"). The signature is HMAC-SHA256 over the RFC 5849 §3.4.1 base
    string (METHOD & enc(base string URI: scheme and host lower case, the port unless the
    scheme's default, the path; no query) & enc(normalized parameters: the query string's
    parameters plus the oauth_ header parameters other than realm and oauth_signature, each
    name and value encoded per §3.6, sorted by name then value); a JSON body is not a
    parameter source, §3.4.1.3.1), keyed with enc(consumer secret)&enc(token secret) (§3.4.2),
    base64, percent-encoded in the header. The realm must be the account id ("The value of the
    realm is the account ID", subsect_158521885412) and is not signed ("The realm parameter is
    not a part of the single string", section_157652573296). HMAC-SHA1 is refused ("As of
    2023.1, the support ended for the HMAC-SHA1 signature method"). A nonce is taken once and
    must be at least six characters long (section_156338994830); the timestamp must be within
    300 s of the fake's clock (Oracle states no tolerance: assumption 8).
  * ``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``Prefer: transient`` and
    body ``{"q": "SELECT ..."}`` (section_157909186990, section_158394344595). Paging: default
    and maximum 1000 a page, at most 100,000 results; the answer has ``links`` (self, first,
    prev, next, last), ``count``, ``hasMore``, ``offset``, ``totalResults``, ``items``
    (section_156414087576 "Collection Paging"; research notes erp-apis.md 4.4).
    The doc warns that a query without a unique sort order can return duplicate or missing
    results across pages (section_158394344595 "Important"): without ORDER BY this fake
    returns each page from a differently shuffled order.
  * ``GET /services/rest/record/v1/{recordType}`` (ids + links, ``limit``/``offset``,
    ``q=<field> <OPERATOR> <value>`` filtering: section_1545222128), ``GET
    .../{recordType}/{id}`` (``expandSubResources=true``, ``fields=a,b``; ``eid:`` external
    ids), ``GET .../{recordType}/{id}/{sublist}`` and ``.../{sublist}/{line}``. Record types:
    returnAuthorization, itemReceipt, creditMemo, cashRefund, salesOrder, customer,
    inventoryItem, accountingPeriod, location, currency.
  * ``POST .../record/v1/returnAuthorization/{id}/!transform/itemReceipt`` (the RA's Receive:
    section_157901123882; netsuite.md §5.1-§5.2), with property-name validation
    (``X-NetSuite-PropertyNameValidation``, section_156570709583); the readings it takes
    where the docs are silent are listed at ReceiptWriter. Every other write is journalled and
    answered 400. ``app.state.writes`` is the journal, ``app.state.faults`` loses answers.
  * Errors use the REST error envelope ``{"type", "title", "status", "o:errorDetails":
    [{"detail", "o:errorCode", ...}]}`` (section_156570709583 "Error Handling in REST Web
    Services"); a bad or missing bearer token, and a TBA header that does not verify, is the
    documented 401 INVALID_LOGIN (the verbatim sample).
  * Return authorization status letters A Pending Approval, B Pending Receipt, C Cancelled,
    D Partially Received, E Pending Refund/Partially Received, F Pending Refund, G Refunded,
    H Closed (research notes 4.3; Help Center section_N1310133 "Customer Return Authorization
    Status"); credit memo A Open, B Fully Applied.
  * Accounting periods with ``closed``, ``alllocked``, ``arlocked``, ``aplocked``,
    ``isquarter``, ``isyear``, ``isposting`` (Records Catalog, accountingperiod).
  * REST record datetimes are ISO 8601 UTC ("2017-07-21T17:32:28Z"), dates "2017-07-21"
    (section_157305090645 "Using Datetime Fields").

Assumptions (not settled by the docs):
  1. SuiteQL returns every value as a string (numbers unpadded, e.g. "81.6"; booleans "T"/"F")
     and leaves out the columns whose value is null; column keys are lower case; an
     expression without an alias is named ``expr1``, ``expr2``, ...
  2. SuiteQL shows DATE and DATETIME columns in the user's date format, M/D/YYYY, without the
     time; ``TO_CHAR(col, 'YYYY-MM-DD"T"HH24:MI:SS')`` gives the time. The user's time zone
     is UTC. ``TO_DATE``/``TO_TIMESTAMP``, ``SYSDATE`` (+/- days), ``TRUNC``, ``NVL``,
     ``ADD_MONTHS``, ``FETCH FIRST n ROWS ONLY`` and ``BUILTIN.DF`` are understood; date
     literals 'M/D/YYYY' or 'YYYY-MM-DD' compare with date columns.
  3. SuiteQL tables and columns served: transaction (id, tranid, trandate, type, recordtype,
     status, entity, otherrefnum, externalid, memo, createddate, lastmodifieddate,
     postingperiod, currency, exchangerate, foreigntotal, taxtotal, subsidiary, location,
     posting, voided), transactionline (transaction, id, uniquekey, linesequencenumber,
     mainline, taxline, item, quantity, quantityshiprecv, rate, foreignamount, netamount,
     location, createdfrom, memo, itemtype, isclosed, iscogs, units, entity,
     linelastmodifieddate -- netsuite.md §4.8; the transaction's stamp unless a line has its
     own), previoustransactionlinelink (previousdoc,
     previousline, nextdoc, nextline, linktype, previoustype, nexttype; also served as
     nexttransactionlinelink, §4.8), customer, item,
     location, accountingperiod, currency, subsidiary, paymentmethod (id, name,
     isinactive). ``createdfrom`` is a transactionline
     column (not a transaction column) in SuiteQL; the REST record has ``createdFrom``.
     An unknown table or column is a 400 INVALID_PARAMETER.
  4. Signs in transactionline: sales order lines have negative quantity and amount; return
     authorization, item receipt, credit memo and cash refund lines positive. The main line
     (mainline 'T') carries the total; tax is a line with taxline 'T'.
  5. ``Prefer: transient`` is required on SuiteQL (400 INVALID_HEADER without it).
  6. REST record GETs leave out empty fields; references are ``{"id", "refName", "links"}``;
     ``status`` is ``{"id": <letter>, "refName": <label>}``; sublists are links unless
     ``expandSubResources=true``.
  7. The token answer is ``{"access_token", "token_type": "Bearer", "expires_in": "3600"}``
     (expires_in a string); token endpoint errors are OAuth errors ``{"error":
     "invalid_request" | "invalid_grant" | "invalid_client"}`` with status 400: an unknown
     ``kid``, a signature that does not verify or an alg that does not fit the key is
     ``invalid_client`` (a client assertion authenticates the client: RFC 7523 §3.2).
  8. TBA: the timestamp may be at most 300 s from the fake's clock either way (Oracle gives no
     figure; netsuite.md §2.3 "exact tolerance UNKNOWN"); a nonce is refused the second time
     whatever its timestamp. Every REST answer logs how it was authenticated (``auth``:
     ``tba`` / ``bearer`` / ``none``, and ``auth_error`` when refused); every token request
     logs the assertion's ``alg`` and ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .scenario import NOW, World

MARK = "\x02"  # prefix of stored DATE/DATETIME values inside SQLite
ALGS = {"PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
MAX_LIMIT = 1000
MAX_RESULTS = 100_000

STATUS = {
    "RtnAuth": {"A": "Pending Approval", "B": "Pending Receipt", "C": "Cancelled",
                "D": "Partially Received", "E": "Pending Refund/Partially Received",
                "F": "Pending Refund", "G": "Refunded", "H": "Closed"},
    "CustCred": {"A": "Open", "B": "Fully Applied", "V": "Voided"},
    "SalesOrd": {"A": "Pending Approval", "B": "Pending Fulfillment", "G": "Billed",
                 "H": "Closed"},
}
TYPE_LABEL = {"RtnAuth": "Return Authorization", "ItemRcpt": "Item Receipt",
              "CustCred": "Credit Memo", "CashRfnd": "Cash Refund", "SalesOrd": "Sales Order"}
RECORD_TYPES = {"returnAuthorization": "RtnAuth", "itemReceipt": "ItemRcpt",
                "creditMemo": "CustCred", "cashRefund": "CashRfnd", "salesOrder": "SalesOrd"}
OTHER_RECORDS = {"customer": "customer", "inventoryItem": "item",
                 "accountingPeriod": "accountingperiod", "location": "location",
                 "currency": "currency"}


def _err(status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5." +
        {400: "1", 401: "2", 403: "4", 404: "5", 405: "6", 429: "29"}.get(status, "1"),
        "title": title, "status": status,
        "o:errorDetails": [dict({"detail": detail, "o:errorCode": code}, **extra)]}
    return JSONResponse(body, status_code=status)


# ================================================================================ date helpers
def _store(v: Any) -> Any:
    if isinstance(v, datetime):
        return MARK + v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return MARK + v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _parse_mark(v: str) -> datetime:
    s = v[1:]
    return datetime.fromisoformat(s if len(s) > 10 else s + " 00:00:00").replace(tzinfo=UTC)


_ORA_FMT = [("YYYY", "%Y"), ("HH24", "%H"), ("HH12", "%I"), ("HH", "%I"), ("MI", "%M"),
            ("SS", "%S"), ("MM", "%m"), ("DD", "%d"), ("MON", "%b"), ("AM", "%p"),
            ("PM", "%p"), ("YY", "%y")]


def _ora_to_py(fmt: str) -> str:
    out, i = "", 0
    while i < len(fmt):
        if fmt[i] == '"':
            j = fmt.index('"', i + 1)
            out += fmt[i + 1:j]
            i = j + 1
            continue
        for o, p in _ORA_FMT:
            if fmt[i:i + len(o)].upper() == o:
                out += p
                i += len(o)
                break
        else:
            out += fmt[i]
            i += 1
    return out


def _to_char(v: Any, fmt: str | None = None) -> Any:
    if v is None:
        return None
    if isinstance(v, str) and v.startswith(MARK):
        dt = _parse_mark(v)
        return dt.strftime(_ora_to_py(fmt)) if fmt else _display(v)
    return _num(v) if isinstance(v, int | float) else v


def _parse_date_text(s: str, fmt: str | None = None) -> datetime:
    s = s.strip()
    if fmt:
        return datetime.strptime(s, _ora_to_py(fmt)).replace(tzinfo=UTC)
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?", s)
    if m:
        mo, d, y, hh, mi, ss = m.groups()
        return datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                        tzinfo=UTC)
    dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("T", " "))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _to_date(s: Any, fmt: str | None = None) -> Any:
    if s is None:
        return None
    if isinstance(s, str) and s.startswith(MARK):
        return s
    return _store(_parse_date_text(str(s), fmt))


def _trunc(v: Any, _fmt: str | None = None) -> Any:
    if isinstance(v, str) and v.startswith(MARK):
        return MARK + v[1:11]
    return int(v) if isinstance(v, float) else v


def _date_add(v: Any, days: float) -> Any:
    if isinstance(v, str) and v.startswith(MARK):
        return _store(_parse_mark(v) + timedelta(days=days))
    return None


def _add_months(v: Any, n: int) -> Any:
    if not (isinstance(v, str) and v.startswith(MARK)):
        return None
    dt = _parse_mark(v)
    m = dt.month - 1 + int(n)
    y, m = dt.year + m // 12, m % 12 + 1
    return _store(dt.replace(year=y, month=m, day=min(dt.day, 28)))


def _num(v: Any) -> str:
    d = Decimal(str(v))
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def _display(v: Any) -> str:
    """SuiteQL output of one value (assumptions 1 and 2)."""
    if isinstance(v, str) and v.startswith(MARK):
        dt = _parse_mark(v)
        return f"{dt.month}/{dt.day}/{dt.year}"
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, int | float):
        return _num(v)
    return str(v)


# ============================================================================== the database
def _documented_columns(world: World) -> None:
    """Columns docs/vendors/netsuite.md §4.8 names that a world may leave out:
    ``transactionline.linelastmodifieddate`` (the line's own stamp, §3.4; here its
    transaction's ``lastmodifieddate`` unless the row carries one)."""
    rows = world.ns.get("transactionline")
    if not rows or "linelastmodifieddate" in rows[0]:
        return
    stamp = {t["id"]: t.get("lastmodifieddate") for t in world.ns.get("transaction", [])}
    for ln in rows:
        ln.setdefault("linelastmodifieddate", stamp.get(ln["transaction"]))


class Store:
    def __init__(self, world: World) -> None:
        self.w = world
        self.lock = threading.Lock()
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        _documented_columns(world)
        self.cols: dict[str, list[str]] = {}
        for table, rows in world.ns.items():
            cols = sorted({k for r in rows for k in r} | {"id"})
            if table == "transaction":
                cols = [c for c in cols if c != "createdfrom"]  # assumption 3
            qcols = ", ".join(f'"{c}"' for c in cols)
            # a column holding only numbers is NUMERIC, so that a bound parameter (text, as in
            # Oracle's sample) compares with it as a number, as Oracle converts implicitly
            typed = ", ".join(
                f'"{c}" NUMERIC' if rows and all(
                    isinstance(r.get(c), int | float | Decimal) and not isinstance(
                        r.get(c), bool) for r in rows if r.get(c) is not None)
                and any(r.get(c) is not None for r in rows) else f'"{c}"' for c in cols)
            self.db.execute(f'CREATE TABLE "{table}" ({typed})')
            self.cols[table] = cols
            for r in rows:
                self.db.execute(
                    f'INSERT INTO "{table}" ({qcols}) VALUES '
                    f'({", ".join("?" * len(cols))})', [_store(r.get(c)) for c in cols])
        self.names = {
            "entity": {c["id"]: f"{c['entityid']} {c['firstname']} {c['lastname']}"
                       for c in world.ns["customer"]},
            "item": {i["id"]: i["itemid"] for i in world.ns["item"]},
            "location": {r["id"]: r["name"] for r in world.ns["location"]},
            "postingperiod": {p["id"]: p["periodname"] for p in world.ns["accountingperiod"]},
            "currency": {c["id"]: c["symbol"] for c in world.ns["currency"]},
            "subsidiary": {s["id"]: s["name"] for s in world.ns["subsidiary"]},
        }
        self.names["createdfrom"] = {
            t["id"]: f"{TYPE_LABEL.get(t['type'], t['type'])} #{t['tranid']}"
            for t in world.ns["transaction"]}
        self.names["transaction"] = self.names["createdfrom"]
        self.names["parent"] = self.names["postingperiod"]
        db = self.db
        db.create_function("_to_char", -1, _to_char)
        db.create_function("_to_date", -1, _to_date)
        db.create_function("_trunc", -1, _trunc)
        db.create_function("_date_add", 2, _date_add)
        db.create_function("_add_months", 2, _add_months)
        db.create_function("_sysdate", 0, lambda: _store(NOW))
        db.create_function("_nvl2", 3, lambda a, b, c: b if a is not None else c)
        db.create_function("_df", 2, self._df)
        db.create_function("_df_status", 2, self._df_status)
        # NextTransactionLineLink and PreviousTransactionLineLink are the two views of one
        # link table (docs/vendors/netsuite.md §4.8: "NextTransactionLineLink /
        # PreviousTransactionLineLink with columns previousdoc, previousline, ...")
        if "previoustransactionlinelink" in world.ns:
            db.execute('CREATE VIEW "nexttransactionlinelink" AS SELECT * FROM '
                       '"previoustransactionlinelink"')
        # what the REST record view of an item receipt line shows that SuiteQL does not
        # (the Restock box has no documented SuiteQL column, netsuite.md §4.3):
        # (receipt id, receipt line) -> {"orderLine": RA line, "restock": bool}
        self.receipt_meta: dict[tuple[int, int], dict[str, Any]] = {}

    # ---- writes (the itemReceipt transform, below) ------------------------------------------
    def insert(self, table: str, row: dict[str, Any]) -> None:
        """A new row, in the world's lists (the REST view) and in SQLite (SuiteQL); keys the
        table has no column for are kept in the world's row only (e.g. the transaction's
        ``createdfrom``, a line column in SuiteQL: assumption 3)."""
        cols = self.cols[table]
        with self.lock:
            self.w.ns[table].append(row)
            self.db.execute(
                f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)}) '
                f'VALUES ({", ".join("?" * len(cols))})', [_store(row.get(c)) for c in cols])

    def update(self, table: str, row: dict[str, Any], **changes: Any) -> None:
        """Changes to one row (found by identity in the world's list; in SQLite by its key:
        ``id`` for transaction, ``(transaction, id)`` for transactionline)."""
        with self.lock:
            key = {"transaction": ("id",), "transactionline": ("transaction", "id")}[table]
            where = " AND ".join(f'"{k}" = ?' for k in key)
            sets = ", ".join(f'"{c}" = ?' for c in changes if c in self.cols[table])
            vals = [_store(v) for c, v in changes.items() if c in self.cols[table]]
            if sets:
                self.db.execute(f'UPDATE "{table}" SET {sets} WHERE {where}',
                                [*vals, *[_store(row[k]) for k in key]])
            row.update(changes)

    def _df(self, col: str, v: Any) -> Any:
        if v is None:
            return None
        if col == "type":
            return TYPE_LABEL.get(v, v)
        table = self.names.get(col)
        if table is not None:
            return table.get(int(v), str(v)) if isinstance(v, int | float) else v
        return _display(v)

    def _df_status(self, ttype: Any, v: Any) -> Any:
        if v is None:
            return None
        label = STATUS.get(ttype, {}).get(v, v)
        return f"{TYPE_LABEL.get(ttype, ttype)} : {label}"

    # ---- SuiteQL --------------------------------------------------------------------------
    def translate(self, q: str) -> tuple[str, bool]:
        parts = re.split(r"('(?:[^']|'')*')", q)
        out = []
        for i, p in enumerate(parts):
            if i % 2:  # a string literal
                lit = p[1:-1]
                if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}", lit):
                    p = "'" + _store(_parse_date_text(lit).date()) + "'"
                out.append(p)
                continue
            p = re.sub(r"\bDATE\s*(?=$)", "", p, flags=re.I)
            # TRANSACTION is an SQL keyword in SQLite: quote the table/column name
            p = re.sub(r"\btransaction\b", '"transaction"', p, flags=re.I)
            p = re.sub(r"BUILTIN\.DF\s*\(\s*((?:\w+\.)?)status\s*\)",
                       r"_df_status(\1type, \1status)", p, flags=re.I)
            p = re.sub(r"BUILTIN\.DF\s*\(\s*((?:\w+\.)?(\w+))\s*\)", r"_df('\2', \1)", p,
                       flags=re.I)
            if re.search(r"BUILTIN\.", p, re.I):
                raise ValueError("Unsupported BUILTIN function")
            for ora, lite in (("TO_CHAR", "_to_char"), ("TO_DATE", "_to_date"),
                              ("TO_TIMESTAMP", "_to_date"), ("NVL2", "_nvl2"),
                              ("NVL", "IFNULL"), ("TRUNC", "_trunc"),
                              ("ADD_MONTHS", "_add_months")):
                p = re.sub(rf"\b{ora}\s*\(", f"{lite}(", p, flags=re.I)
            p = re.sub(r"\b(SYSDATE|CURRENT_DATE|CURRENT_TIMESTAMP)\b", "_sysdate()", p,
                       flags=re.I)
            p = re.sub(r"_sysdate\(\)\s*([-+])\s*(\d+(?:\.\d+)?)",
                       lambda m: f"_date_add(_sysdate(), {m.group(1)}{m.group(2)})", p)
            p = re.sub(r"FETCH\s+(?:FIRST|NEXT)\s+(\d+)\s+ROWS?\s+ONLY", r"LIMIT \1", p,
                       flags=re.I)
            if re.search(r"\bROWNUM\b", p, re.I):
                raise ValueError("ROWNUM is not supported by this fake")
            out.append(p)
        sql = "".join(out).strip().rstrip(";")
        has_order = bool(re.search(r"\bORDER\s+BY\b", sql, re.I))
        return sql, has_order

    def suiteql(self, q: str, limit: int, offset: int,
                params: list[Any] | None = None) -> tuple[list[dict[str, str]], int]:
        if not re.match(r"\s*(SELECT|WITH)\b", q, re.I):
            raise ValueError("Only SELECT queries are supported")
        sql, has_order = self.translate(q)
        binds = list(params or [])
        with self.lock:
            total = self.db.execute(f"SELECT COUNT(*) FROM ({sql})", binds).fetchone()[0]
            if has_order:
                cur = self.db.execute(f"SELECT * FROM ({sql}) LIMIT ? OFFSET ?",
                                      (*binds, limit, offset))
                rows = cur.fetchall()
            else:
                cur = self.db.execute(sql, binds)
                rows = cur.fetchall()
                random.Random(offset * 7919 + 17).shuffle(rows)  # no unique order: unstable
                rows = rows[offset:offset + limit]
            names = []
            n_expr = 0
            for d in cur.description:
                nm = d[0]
                if not re.fullmatch(r"[A-Za-z_]\w*", nm):
                    n_expr += 1
                    nm = f"expr{n_expr}"
                names.append(nm.lower())
        items = []
        for r in rows:
            item: dict[str, Any] = {"links": []}
            for nm, v in zip(names, r, strict=True):
                if v is not None:
                    item[nm] = _display(v)
            items.append(item)
        return items, total


# ================================================================================ the REST view
class Records:
    def __init__(self, store: Store, base: str) -> None:
        self.s = store
        self.w = store.w
        self.base = base
        self.tx = {t["id"]: t for t in self.w.ns["transaction"]}
        self.lines: dict[int, list[dict[str, Any]]] = {}
        for ln in self.w.ns["transactionline"]:
            self.lines.setdefault(ln["transaction"], []).append(ln)

    def url(self, rtype: str, rid: Any, *more: Any) -> str:
        return "/".join([f"{self.base}/services/rest/record/v1/{rtype}", str(rid),
                         *map(str, more)])

    def ref(self, rtype: str, rid: Any, names: str) -> dict[str, Any] | None:
        if rid is None:
            return None
        return {"links": [{"rel": "self", "href": self.url(rtype, rid)}], "id": str(rid),
                "refName": self.s.names[names].get(rid, str(rid))}

    @staticmethod
    def _iso(v: Any) -> str | None:
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(v, date):
            return v.isoformat()
        return v

    @staticmethod
    def _n(v: Any) -> Any:
        return None if v is None else float(v)

    def ids(self, rtype: str) -> list[dict[str, Any]]:
        if rtype in RECORD_TYPES:
            return [t for t in self.w.ns["transaction"] if t["type"] == RECORD_TYPES[rtype]]
        table = OTHER_RECORDS[rtype]
        rows = self.w.ns[table]
        if rtype == "inventoryItem":
            rows = [r for r in rows if r["itemtype"] == "InvtPart"]
        return rows

    def transaction(self, rtype: str, t: dict[str, Any], expand: bool) -> dict[str, Any]:
        ttype = t["type"]
        lines = [ln for ln in self.lines.get(t["id"], []) if ln["mainline"] == "F"
                 and ln["taxline"] == "F"]
        sub = self.sublist(rtype, t, expand)
        created_from = t.get("createdfrom")
        net = sum((Decimal(str(ln["foreignamount"])) for ln in lines
                   if ln["foreignamount"] is not None), Decimal(0))
        rec: dict[str, Any] = {
            "links": [{"rel": "self", "href": self.url(rtype, t["id"])}],
            "id": str(t["id"]), "tranId": t["tranid"], "tranDate": self._iso(t["trandate"]),
            "createdDate": self._iso(t["createddate"]),
            "lastModifiedDate": self._iso(t["lastmodifieddate"]),
            "entity": self.ref("customer", t["entity"], "entity"),
            "createdFrom": None if created_from is None else {
                **(self.ref(
                    {v: k for k, v in RECORD_TYPES.items()}[self.tx[created_from]["type"]],
                    created_from, "createdfrom") or {})},
            "otherRefNum": t["otherrefnum"], "externalId": t["externalid"], "memo": t["memo"],
            "currency": self.ref("currency", t["currency"], "currency"),
            "exchangeRate": self._n(t["exchangerate"]),
            "subsidiary": self.ref("subsidiary", t["subsidiary"], "subsidiary"),
            "location": self.ref("location", t["location"], "location"),
            "postingPeriod": self.ref("accountingPeriod", t["postingperiod"], "postingperiod"),
            "item": sub,
        }
        if ttype in STATUS and t["status"]:
            rec["status"] = {"id": t["status"], "refName": STATUS[ttype][t["status"]]}
        if ttype == "RtnAuth":
            rec["orderStatus"] = rec.get("status")
        if ttype != "ItemRcpt":
            rec["subtotal"] = float(net)
            rec["taxTotal"] = self._n(t["taxtotal"])
            rec["total"] = self._n(t["foreigntotal"])
        return {k: v for k, v in rec.items() if v is not None}

    def line(self, rtype: str, t: dict[str, Any], ln: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "links": [{"rel": "self", "href": self.url(rtype, t["id"], "item", ln["id"])}],
            "line": ln["id"], "item": self.ref("inventoryItem", ln["item"], "item"),
            "quantity": self._n(ln["quantity"]),
            "location": self.ref("location", ln["location"], "location"),
            "description": self.s.names["item"].get(ln["item"]),
            "isClosed": ln["isclosed"] == "T",
        }
        if t["type"] == "ItemRcpt":
            out["itemReceive"] = True
            out["orderLine"] = ln["id"]
            meta = self.s.receipt_meta.get((t["id"], ln["id"]))
            if meta:  # a receipt the transform made: its RA line and its Restock box
                out["orderLine"] = meta["orderLine"]
                out["restock"] = meta["restock"]
        else:
            out["rate"] = self._n(ln["rate"])
            out["amount"] = self._n(ln["foreignamount"])
        return {k: v for k, v in out.items() if v is not None}

    def sublist(self, rtype: str, t: dict[str, Any], expand: bool) -> dict[str, Any]:
        lines = [ln for ln in self.lines.get(t["id"], []) if ln["mainline"] == "F"
                 and ln["taxline"] == "F"]
        links = [{"rel": "self", "href": self.url(rtype, t["id"], "item")}]
        if not expand:
            return {"links": links}
        items = [self.line(rtype, t, ln) for ln in lines]
        return {"links": links, "items": items, "totalResults": len(items),
                "count": len(items), "hasMore": False, "offset": 0}

    def other(self, rtype: str, r: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"links": [{"rel": "self", "href": self.url(rtype, r["id"])}],
                               "id": str(r["id"])}
        camel = {"itemid": "itemId", "displayname": "displayName", "isinactive": "isInactive",
                 "entityid": "entityId", "firstname": "firstName", "lastname": "lastName",
                 "companyname": "companyName", "email": "email", "isperson": "isPerson",
                 "externalid": "externalId", "datecreated": "dateCreated",
                 "lastmodifieddate": "lastModifiedDate", "periodname": "periodName",
                 "startdate": "startDate", "enddate": "endDate", "closed": "closed",
                 "alllocked": "allLocked", "arlocked": "arLocked", "aplocked": "apLocked",
                 "isquarter": "isQuarter", "isyear": "isYear", "isadjust": "isAdjust",
                 "isposting": "isPosting", "closedondate": "closedOnDate", "name": "name",
                 "symbol": "symbol", "makeinventoryavailable": "makeInventoryAvailable",
                 "upccode": "upcCode"}
        for k, v in r.items():
            if k not in camel or v is None:
                continue
            if v in ("T", "F") and k not in ("name", "symbol", "email"):
                v = v == "T"
            out[camel[k]] = self._iso(v)
        if rtype == "accountingPeriod" and r.get("parent"):
            out["parent"] = self.ref("accountingPeriod", r["parent"], "postingperiod")
        if rtype == "customer":
            out["currency"] = self.ref("currency", r["currency"], "currency")
        return out

    def get(self, rtype: str, rid: str, expand: bool) -> dict[str, Any] | None:
        rows = self.ids(rtype)
        if rid.startswith("eid:"):
            r = next((x for x in rows if x.get("externalid") == rid[4:]), None)
        else:
            r = next((x for x in rows if str(x["id"]) == rid), None)
        if r is None:
            return None
        return self.transaction(rtype, r, expand) if rtype in RECORD_TYPES else \
            self.other(rtype, r)


# ----------------------------------------------------------- record collection filtering
_Q_TERM = re.compile(r'(\w+)\s+([A-Z_]+)\s*("(?:[^"]*)"|\S+)?')


def _q_match(rec: dict[str, Any], q: str) -> bool:
    """``q=<field> <OPERATOR> <value>`` with AND / OR (section_1545222128)."""
    for group in re.split(r"\s+OR\s+", q.strip()):
        ok = True
        for cond in re.split(r"\s+AND\s+", group):
            m = _Q_TERM.fullmatch(cond.strip().strip("()"))
            if not m:
                raise ValueError(f"Invalid query: {cond}")
            fld, op, raw = m.groups()
            val = (raw or "").strip('"')
            have = rec.get(fld)
            if isinstance(have, dict):
                have = have.get("id")
            if op in ("EMPTY", "EMPTY_NOT"):
                res = (have in (None, "")) == (op == "EMPTY")
            elif op in ("AFTER", "BEFORE", "ON", "ON_OR_AFTER", "ON_OR_BEFORE"):
                if have is None:
                    res = False
                else:
                    hv = datetime.fromisoformat(str(have).replace("Z", "+00:00"))
                    hv = hv if hv.tzinfo else hv.replace(tzinfo=UTC)
                    tv = _parse_date_text(val)
                    res = {"AFTER": hv > tv, "BEFORE": hv < tv, "ON": hv.date() == tv.date(),
                           "ON_OR_AFTER": hv >= tv, "ON_OR_BEFORE": hv <= tv}[op]
            elif op in ("IS", "IS_NOT", "EQUAL", "EQUAL_NOT"):
                hv = have
                if isinstance(hv, bool):
                    hv = "true" if hv else "false"
                res = (str(hv) == val) == (op in ("IS", "EQUAL"))
            elif op in ("ANY_OF", "ANY_OF_NOT"):
                res = (str(have) in val.split(",")) == (op == "ANY_OF")
            elif op in ("CONTAIN", "CONTAIN_NOT"):
                res = (val in str(have or "")) == (op == "CONTAIN")
            elif op in ("START_WITH", "START_WITH_NOT"):
                res = str(have or "").startswith(val) == (op == "START_WITH")
            elif op in ("GREATER", "GREATER_OR_EQUAL", "LESS", "LESS_OR_EQUAL"):
                hv, tv = float(have or 0), float(val)
                res = {"GREATER": hv > tv, "GREATER_OR_EQUAL": hv >= tv, "LESS": hv < tv,
                       "LESS_OR_EQUAL": hv <= tv}[op]
            else:
                raise ValueError(f"Unknown operator {op}")
            if not res:
                ok = False
        if ok:
            return True
    return False


# ============================================================================= authentication
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
# RFC 7518 §3.4: ES256 = P-256 + SHA-256, ES384 = P-384 + SHA-384, ES512 = P-521 + SHA-512;
# r and s are each as wide as the curve's order (32, 48, 66 octets)
_EC_ALGS = {"ES256": ("secp256r1", 32), "ES384": ("secp384r1", 48), "ES512": ("secp521r1", 66)}
TBA_MAX_SKEW_S = 300  # assumption 8


def load_public_key(cert: Any) -> PublicKey:
    """The public key of a certificate as NetSuite's M2M setup takes it (an x.509 certificate,
    PEM; a bare public key or a key object is taken too, for tests). RSA keys of 3072 or 4096
    bits and EC keys of 256, 384 or 521 bits only (subsect_162755332391)."""
    key: Any = cert
    if isinstance(cert, x509.Certificate):
        key = cert.public_key()
    elif isinstance(cert, str | bytes):
        pem = cert.encode() if isinstance(cert, str) else cert
        if b"CERTIFICATE" in pem:
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in (3072, 4096):
            raise ValueError(f"NetSuite takes RSA keys of 3072 or 4096 bits, not {key.key_size}")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in {c for c, _ in _EC_ALGS.values()}:
            raise ValueError(f"NetSuite takes EC keys on P-256/P-384/P-521, not {key.curve.name}")
        return key
    raise ValueError(f"not an RSA or EC public key: {type(key).__name__}")


def self_signed_certificate(private_key: Any, common_name: str = "returns-console") -> str:
    """A PEM x.509 certificate for a private key, as one would upload to NetSuite (valid for
    a year: NetSuite shortens anything over two)."""
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
            .sign(private_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def verify_jws(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> str | None:
    """None when ``signature`` is a valid JWS signature of ``signing_input`` by ``key`` under
    ``alg`` (RFC 7518 §3.4 ES*, §3.5 PS*); else why not."""
    if alg not in ALGS:
        return f"alg {alg} is not one of {sorted(ALGS)}"
    h = _HASHES[alg[2:]]()
    if alg.startswith("PS"):
        if not isinstance(key, rsa.RSAPublicKey):
            return f"{alg} needs an RSA certificate"
        try:
            key.verify(signature, signing_input,
                       padding.PSS(mgf=padding.MGF1(_HASHES[alg[2:]]()),
                                   salt_length=h.digest_size), h)
        except InvalidSignature:
            return "signature does not verify"
        return None
    curve, width = _EC_ALGS[alg]
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
        return f"{alg} needs an EC certificate on {curve}"
    if len(signature) != 2 * width:
        return f"{alg} signature must be r||s, {2 * width} octets (RFC 7518 §3.4), not " \
               f"{len(signature)}"
    r = int.from_bytes(signature[:width], "big")
    s_ = int.from_bytes(signature[width:], "big")
    try:
        key.verify(encode_dss_signature(r, s_), signing_input, ec.ECDSA(h))
    except InvalidSignature:
        return "signature does not verify"
    return None


@dataclass(frozen=True)
class Tba:
    """The Token-Based Authentication credentials the fake account knows: the integration
    record's consumer key/secret and one access token's id/secret, and the account id (the
    realm)."""
    account_id: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


def oauth_enc(value: str) -> str:
    """RFC 5849 §3.6: UTF-8, then every octet other than ALPHA, DIGIT, '-', '.', '_', '~' as
    %XX with upper-case hex (PHP rawurlencode, which Oracle's examples use)."""
    return quote(value.encode(), safe="-._~")


_OAUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_.~-]+)\s*=\s*"([^"]*)"\s*')


def parse_oauth_header(value: str) -> dict[str, str] | None:
    """RFC 5849 §3.5.1: ``OAuth name="value", ...``, each value percent-encoded. None when the
    header is not of that form (or names a parameter twice)."""
    if value[:6].lower() != "oauth ":
        return None
    out: dict[str, str] = {}
    for part in value[6:].split(","):
        if not part.strip():
            continue
        m = _OAUTH_PARAM.fullmatch(part)
        if not m or m.group(1) in out:
            return None
        out[m.group(1)] = unquote(m.group(2))
    return out


def signature_base_string(method: str, url: str, oauth_params: Mapping[str, str],
                          form_body: list[tuple[str, str]] | None = None) -> str:
    """RFC 5849 §3.4.1. ``url`` is the request's absolute URL with its query; ``form_body`` the
    parameters of an application/x-www-form-urlencoded body (never a JSON body)."""
    sp = urlsplit(url)
    scheme = sp.scheme.lower()
    host = (sp.hostname or "").lower()
    port = sp.port
    authority = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} \
        else f"{host}:{port}"
    base_uri = f"{scheme}://{authority}{sp.path or '/'}"  # §3.4.1.2
    pairs = parse_qsl(sp.query, keep_blank_values=True)  # §3.4.1.3.1, query as form-encoded
    pairs += [(k, v) for k, v in oauth_params.items() if k not in ("realm", "oauth_signature")]
    pairs += form_body or []
    norm = "&".join(f"{k}={v}" for k, v in sorted(
        (oauth_enc(k), oauth_enc(v)) for k, v in pairs))  # §3.4.1.3.2
    return "&".join([method.upper(), oauth_enc(base_uri), oauth_enc(norm)])


def hmac_sha256_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 §3.4.2 with SHA-256: key = enc(consumer secret) & enc(token secret)."""
    key = f"{oauth_enc(consumer_secret)}&{oauth_enc(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base_string.encode(),
                                      hashlib.sha256).digest()).decode()


class TbaVerifier:
    def __init__(self, creds: Tba, clock: Callable[[], float]) -> None:
        self.creds = creds
        self.clock = clock
        self.nonces: set[tuple[str, str, str]] = set()
        self.lock = threading.Lock()

    def check(self, method: str, url: str, header: str,
              form_body: list[tuple[str, str]] | None = None) -> str | None:
        """None when the request's TBA header verifies; else the reason it is refused."""
        p = parse_oauth_header(header)
        if p is None:
            return "malformed OAuth header"
        c = self.creds
        need = ("realm", "oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp",
                "oauth_signature_method", "oauth_signature")
        missing = [n for n in need if not p.get(n)]
        if missing:
            return f"missing {', '.join(missing)}"
        if p["realm"] != c.account_id:
            return f"realm {p['realm']!r} is not the account id"
        if p["oauth_signature_method"] != "HMAC-SHA256":
            return f"signature method {p['oauth_signature_method']!r} (only HMAC-SHA256)"
        if p.get("oauth_version", "1.0") != "1.0":
            return "oauth_version must be 1.0"
        if p["oauth_consumer_key"] != c.consumer_key:
            return "unknown consumer key"
        if p["oauth_token"] != c.token_id:
            return "unknown token"
        ts = p["oauth_timestamp"]
        if not ts.isdigit():
            return "timestamp is not a positive integer"
        skew = int(ts) - self.clock()
        if abs(skew) > TBA_MAX_SKEW_S:
            return f"timestamp {skew:+.0f} s from the server's clock"
        if len(p["oauth_nonce"]) < 6:
            return "nonce shorter than six characters"
        want = hmac_sha256_signature(signature_base_string(method, url, p, form_body),
                                     c.consumer_secret, c.token_secret)
        if not hmac.compare_digest(want, p["oauth_signature"]):
            return "signature does not verify"
        key = (p["oauth_consumer_key"], p["oauth_token"], p["oauth_nonce"])
        with self.lock:
            if key in self.nonces:
                return "nonce used before"
            self.nonces.add(key)
        return None


# ====================================================================== the itemReceipt transform
# POST /record/v1/returnAuthorization/{id}/!transform/itemReceipt (netsuite.md §5.2: "optional
# JSON body overriding fields and lines; success HTTP 204 No Content"; the new id in
# ``Location``, §6.1 / S8), what the RA's Receive button makes (§5.1 step 3: with Advanced
# Receiving an item receipt against the RA; per line Restock checked puts the unit back in
# inventory, unchecked writes it off; partial receipts allowed).
#
# Readings of what the docs leave open (each the harsh one; the fake also works the request out
# under every other reading and journals whether the result would differ):
#   R1. How a body line is addressed (§5.2: "targets lines by 1-based `line`" -- of which
#       record is not said). APPLIED: ``line`` k is the k-th line of the NEW record, i.e. of the
#       lines the transform pre-fills. Also worked out: k is the RA's line k. ``orderLine``
#       (the SOAP ItemReceiptItem field naming the source order's line [3p: NetSweet
#       item_receipt_item.rb]) names the RA's line under every reading.
#   R2. What the transform pre-fills (§5.2: "the transform pre-fills all open lines"): the RA's
#       item lines that are not closed, have quantity left to receive and are of a type a
#       receipt takes (inventory, assembly, non-inventory); never a service, discount,
#       description or tax line. Quantity left = quantity - quantityshiprecv.
#   R3. A pre-filled line the body does not name (§5.2 / U14 "UNKNOWN"). APPLIED: received
#       whole and RESTOCKED (the worst: goods booked in and put on sale). Also: not received.
#   R4. A named line without the Receive box: APPLIED received (the UI pre-ticks it); also not.
#       Without ``quantity``: all that is left. Without the Restock box (§4.3 / U13, default
#       unknown): APPLIED restocked; also written off.
#   R5. REST names of the boxes (§4.3 "REST names UNKNOWN"; U13): ``itemReceive`` and
#       ``restock``, the SOAP ItemReceiptItem names [3p: NetSweet item_receipt_item.rb,
#       ExploreConsulting netsuite-fasttrack-toolkit ItemReceiptBase.ts sublist fields
#       itemreceive, restock].
#   R6. Property names (§6.1: ``X-NetSuite-PropertyNameValidation: ignore|warning|error``,
#       default warning). Known body fields: those of the item receipt record [3p: NetSweet
#       item_receipt.rb: createdDate, currencyName, exchangeRate, landedCostPerLine,
#       lastModifiedDate, memo, tranDate, tranId, createdFrom, currency, customForm, entity,
#       landedCostMethod, partner, postingPeriod, subsidiary, externalId, the item sublist;
#       ExploreConsulting adds location, class]. NOT ``otherRefNum``: an item receipt carries no
#       PO/Check No. (scenario assumption 1). Known line fields: the SOAP ItemReceiptItem's.
#       With ``error`` an unknown name is 400 and nothing is made; with warning/ignore it is
#       dropped (a warning header), and the defaults of R4 apply to what it meant.
#   R7. Refusals (§5.1 "A return can't be received ... until the authorization is approved";
#       §5.2 "receipt needs remaining quantity to receive"; error form UNKNOWN, expect 400
#       USER_ERROR, §7): RA Pending Approval, Cancelled, Closed, Refunded or with nothing left;
#       a quantity over what is left; a line that is not pre-filled; a receipt receiving
#       nothing. A second item receipt with the same externalId: 400 USER_ERROR "This entity
#       already exists." (§7.1 [3p]). An external id is letters, digits, ``_``, ``-`` (§6.1).
#   R8. The receipt: dated the fake's clock (the world's NOW plus the seconds the fake has been
#       up); one line per RA line received (numbered 1..m in RA order), ``createdfrom`` the RA
#       (a line column, assumption 3), ``quantity`` positive (assumption 4), location the body
#       line's, else the RA line's, else the RA's; no status letter (unknown, §4.7). The RA's
#       ``quantityshiprecv`` grows, its status becomes D (Partially Received) or, nothing left,
#       F (Pending Refund) (§4.7), and its stamps move. The Restock box is kept for the REST view
#       of the receipt line only (no documented SuiteQL column, §4.3).
#   Faults (a test's ``faults[ra_id]``): ``"503"`` -- the receipt is made, the answer is a 503
#   UNEXPECTED_ERROR; ``"drop"`` -- the receipt is made, the answer's headers and part of its
#   body are sent and the connection is closed (no answer a client can read); ``"misread"`` --
#   NetSuite reads the body otherwise: each line received takes all that is left on its RA line
#   whatever quantity was sent (answered 204); ``"edit"`` -- someone edits the RA in NetSuite
#   just as the client reads it: at the first REST GET of the RA record, its first two item
#   lines swap item, quantity, rate and amount (the GET already shows the edit).
RECEIVE_FIELD = "itemReceive"
RESTOCK_FIELD = "restock"
RECEIPT_BODY_FIELDS = {
    "createdDate", "currencyName", "exchangeRate", "landedCostPerLine", "lastModifiedDate",
    "memo", "tranDate", "tranId", "createdFrom", "currency", "customForm", "entity",
    "landedCostMethod", "partner", "postingPeriod", "subsidiary", "externalId", "item",
    "location", "class", "department"}
RECEIPT_LINE_FIELDS = {
    "binNumbers", "currency", "description", "expirationDate", "isDropShipment", "itemName",
    "itemReceive", "jobName", "line", "onHand", "options", "orderLine", "quantity",
    "quantityRemaining", "rate", "restock", "serialNumbers", "unitCostOverride", "unitsDisplay",
    "billVarianceStatus", "inventoryDetail", "item", "landedCost", "location", "class",
    "units"}
RECEIVABLE_TYPES = {"InvtPart", "Assembly", "NonInvtPart"}
RA_RECEIVABLE = {"B", "D", "E"}  # Pending Receipt, Partially Received, Pending Refund/Part. R.
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]+")
READINGS = [(ln, om, rc, rs) for ln in ("new", "ra") for om in ("received", "skipped")
            for rc in (True, False) for rs in (True, False)]
APPLIED = ("new", "received", True, True)


class TransformError(Exception):
    def __init__(self, status: int, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path

    def response(self) -> JSONResponse:
        extra = {"o:errorPath": self.path} if self.path else {}
        title = {400: "Bad Request", 404: "Not Found"}.get(self.status, "Error")
        return _err(self.status, title, f"Error while accessing a resource. {self.detail}",
                    self.code, **extra)


def _left(ln: dict[str, Any]) -> Decimal:
    return abs(Decimal(str(ln.get("quantity") or 0))) - abs(
        Decimal(str(ln.get("quantityshiprecv") or 0)))


def prefilled(ra_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines the transform pre-fills, in RA order (reading R2)."""
    return [ln for ln in ra_lines if ln.get("isclosed") != "T" and _left(ln) > 0
            and ln.get("itemtype") in RECEIVABLE_TYPES]


def _num_ok(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def receipt_outcome(ra_lines: list[dict[str, Any]], items: list[dict[str, Any]],
                    reading: tuple[str, str, bool, bool]) -> dict[int, tuple[Decimal, bool]]:
    """What the transform would receive under one reading: RA line id -> (quantity, restock),
    lines received only. Raises TransformError for a request that reading refuses."""
    by_line, omitted_rd, receive_default, restock_default = reading
    pre = prefilled(ra_lines)
    out: dict[int, tuple[Decimal, bool] | None] = {}
    for i, it in enumerate(items):
        path = f"item.items[{i}]"
        target = None
        if "orderLine" in it:
            target = next((ln for ln in pre if str(ln["id"]) == str(it["orderLine"])), None)
        elif "line" in it:
            try:
                k = int(it["line"])
            except (TypeError, ValueError):
                raise TransformError(400, "INVALID_CONTENT", "Invalid line number.",
                                     f"{path}.line") from None
            if by_line == "new":
                target = pre[k - 1] if 1 <= k <= len(pre) else None
            else:
                target = next((ln for ln in pre if ln["id"] == k), None)
        else:
            raise TransformError(400, "INVALID_CONTENT", "A sublist line must name its line.",
                                 path)
        if target is None:
            raise TransformError(400, "USER_ERROR", "The line does not exist on this item "
                                 "receipt.", f"{path}.line")
        if target["id"] in out:
            raise TransformError(400, "USER_ERROR", "A line is named twice.", f"{path}.line")
        receive = it.get(RECEIVE_FIELD, receive_default)
        if not receive:
            out[target["id"]] = None
            continue
        qty = Decimal(str(it["quantity"])) if "quantity" in it else _left(target)
        if qty <= 0 or qty > _left(target):
            raise TransformError(400, "USER_ERROR", f"You can not receive more than "
                                 f"{_left(target)} of this item.", f"{path}.quantity")
        out[target["id"]] = (qty, bool(it.get(RESTOCK_FIELD, restock_default)))
    for ln in pre:
        if ln["id"] not in out:
            out[ln["id"]] = (_left(ln), True) if omitted_rd == "received" else None
    got = {k: v for k, v in out.items() if v is not None}
    if not got:
        raise TransformError(400, "USER_ERROR", "You must enter at least one line item for "
                             "this transaction.", "item")
    return got


class ReceiptWriter:
    """The transform's side of the fake: checks a request, makes the receipt, keeps a journal
    of every write request (``writes``)."""

    def __init__(self, store: Store, extra_body_fields: frozenset[str] = frozenset()) -> None:
        self.s = store
        self.body_fields = RECEIPT_BODY_FIELDS | extra_body_fields
        self.started = time.monotonic()
        self.writes: list[dict[str, Any]] = []
        self.faults: dict[int, str] = {}
        self.edited: list[int] = []  # RAs the ``edit`` fault changed
        self.seq = {"ir": 9000}

    def now(self) -> datetime:
        return (NOW + timedelta(seconds=int(time.monotonic() - self.started) + 1)).replace(
            microsecond=0)

    def edit_on_read(self, ref: str) -> None:
        """Fault ``edit``: the RA's first two item lines swap contents (once)."""
        ra = self._ra(ref)
        if ra is None or self.faults.get(ra["id"]) != "edit":
            return
        self.faults.pop(ra["id"])
        a, b = self._lines(ra["id"])[:2]
        cols = ("item", "quantity", "rate", "foreignamount", "netamount", "itemtype")
        va, vb = {c: a[c] for c in cols}, {c: b[c] for c in cols}
        now = self.now()
        self.s.update("transactionline", a, **vb, linelastmodifieddate=now)
        self.s.update("transactionline", b, **va, linelastmodifieddate=now)
        self.s.update("transaction", ra, lastmodifieddate=now)
        self.edited.append(ra["id"])

    def _ra(self, ref: str) -> dict[str, Any] | None:
        rows = [t for t in self.s.w.ns["transaction"] if t["type"] == "RtnAuth"]
        if ref.startswith("eid:"):
            return next((t for t in rows if t.get("externalid") == ref[4:]), None)
        return next((t for t in rows if str(t["id"]) == ref), None)

    def _lines(self, tid: int) -> list[dict[str, Any]]:
        return sorted((ln for ln in self.s.w.ns["transactionline"] if ln["transaction"] == tid
                       and ln["mainline"] == "F" and ln["taxline"] == "F"),
                      key=lambda ln: ln["id"])

    def check_names(self, body: dict[str, Any], mode: str, entry: dict[str, Any]
                    ) -> dict[str, Any]:
        """R6: unknown property names -- 400 under ``error``, else dropped (and warned)."""
        unknown = [k for k in body if k not in self.body_fields
                   and not k.startswith("custbody")]
        items = body.get("item", {}).get("items", []) if isinstance(body.get("item"),
                                                                    dict) else []
        for i, it in enumerate(items if isinstance(items, list) else []):
            if isinstance(it, dict):
                unknown += [f"item.items[{i}].{k}" for k in it if k not in RECEIPT_LINE_FIELDS
                            and not k.startswith("custcol")]
        entry["unknown_names"] = unknown
        if unknown and mode == "error":
            raise TransformError(400, "INVALID_CONTENT", f"Invalid field name(s): "
                                 f"{', '.join(unknown)}.", unknown[0])
        if not unknown:
            return body
        clean = {k: v for k, v in body.items() if k in self.body_fields
                 or k.startswith("custbody")}
        if isinstance(clean.get("item"), dict) and isinstance(clean["item"].get("items"), list):
            clean["item"] = dict(clean["item"], items=[
                {k: v for k, v in it.items() if k in RECEIPT_LINE_FIELDS
                 or k.startswith("custcol")} if isinstance(it, dict) else it
                for it in clean["item"]["items"]])
        return clean

    def transform(self, ra_ref: str, body: dict[str, Any], mode: str, entry: dict[str, Any],
                  base: str) -> int:
        """Makes the receipt; returns its id, or raises TransformError."""
        ra = self._ra(ra_ref)
        if ra is None:
            raise TransformError(404, "NONEXISTENT_ID", "Record does not exist.")
        entry["ra"] = ra["id"]
        body = self.check_names(body, mode, entry)
        item = body.get("item", {"items": []})
        if not isinstance(item, dict) or not isinstance(item.get("items", []), list) or \
                not all(isinstance(it, dict) for it in item.get("items", [])):
            raise TransformError(400, "INVALID_CONTENT", "The item sublist must be "
                                 "{\"items\": [...]}.", "item")
        items = item.get("items", [])
        for i, it in enumerate(items):
            for f in (RECEIVE_FIELD, RESTOCK_FIELD, "isDropShipment"):
                if f in it and not isinstance(it[f], bool):
                    raise TransformError(400, "INVALID_CONTENT", f"Invalid Field Value "
                                         f"{it[f]!r} for the following field: {f}",
                                         f"item.items[{i}].{f}")
            if "quantity" in it and not _num_ok(it["quantity"]):
                raise TransformError(400, "INVALID_CONTENT", f"Invalid Field Value "
                                     f"{it['quantity']!r} for the following field: quantity",
                                     f"item.items[{i}].quantity")
        ext = body.get("externalId")
        if ext is not None:
            if not isinstance(ext, str) or not _EXTERNAL_ID.fullmatch(ext):
                raise TransformError(400, "INVALID_CONTENT", f"Invalid Field Value {ext!r} for "
                                     "the following field: externalId", "externalId")
            if any(t["type"] == "ItemRcpt" and t.get("externalid") == ext
                   for t in self.s.w.ns["transaction"]):
                raise TransformError(400, "USER_ERROR", "This entity already exists.",
                                     "externalId")
        status = ra.get("status")
        if status not in RA_RECEIVABLE:
            label = STATUS["RtnAuth"].get(status or "", status)
            raise TransformError(400, "USER_ERROR", f"You can not receive a return "
                                 f"authorization that is {label}.")
        ra_lines = self._lines(ra["id"])
        if not prefilled(ra_lines):
            raise TransformError(400, "USER_ERROR", "There are no items left to receive on "
                                 "this return authorization.")
        outcomes: dict[str, Any] = {}
        for rd in READINGS:
            try:
                got = receipt_outcome(ra_lines, items, rd)
                outcomes["/".join(map(str, rd))] = {k: (str(q), r) for k, (q, r) in got.items()}
            except TransformError as e:
                outcomes["/".join(map(str, rd))] = f"refused: {e.detail}"
        applied = outcomes["/".join(map(str, APPLIED))]
        entry["readings"] = outcomes
        entry["reading_dependent"] = any(v != applied for v in outcomes.values())
        got = receipt_outcome(ra_lines, items, APPLIED)  # raises as the applied reading does
        if self.faults.get(ra["id"]) == "misread":
            entry["fault"] = self.faults.pop(ra["id"])
            byid = {ln["id"]: ln for ln in ra_lines}
            got = {k: (_left(byid[k]), r) for k, (_q, r) in got.items()}
        locs = {r["id"] for r in self.s.w.ns["location"]}
        line_loc: dict[int, Any] = {}
        for i, it in enumerate(items):
            loc = it.get("location")
            if loc is None:
                continue
            lid = loc.get("id") if isinstance(loc, dict) else loc
            try:
                lid = int(str(lid))
            except ValueError:
                lid = None
            if lid not in locs:
                raise TransformError(400, "INVALID_CONTENT", f"Invalid Field Value {loc!r} "
                                     "for the following field: location",
                                     f"item.items[{i}].location")
            pre = prefilled(ra_lines)
            k = it.get("orderLine")
            tgt = (next((ln["id"] for ln in pre if str(ln["id"]) == str(k)), None)
                   if k is not None else pre[int(it["line"]) - 1]["id"])
            line_loc[tgt] = lid
        return self._commit(ra, ra_lines, got, body, line_loc)

    def _commit(self, ra: dict[str, Any], ra_lines: list[dict[str, Any]],
                got: dict[int, tuple[Decimal, bool]], body: dict[str, Any],
                line_loc: dict[int, Any]) -> int:
        s = self.s
        now = self.now()
        tid = max(t["id"] for t in s.w.ns["transaction"]) + 1
        self.seq["ir"] += 1
        tranid = f"IR{self.seq['ir']}"
        uk = max(ln["uniquekey"] for ln in s.w.ns["transactionline"])
        header_loc = body.get("location")
        header_loc = (header_loc.get("id") if isinstance(header_loc, dict) else header_loc)
        row = {c: None for c in s.cols["transaction"]}
        row.update({
            "id": tid, "tranid": tranid, "trandate": now.date(), "type": "ItemRcpt",
            "recordtype": "itemreceipt", "status": None, "entity": ra["entity"],
            "otherrefnum": None, "externalid": body.get("externalId"),
            "memo": body.get("memo"), "createddate": now, "lastmodifieddate": now,
            "postingperiod": 100 + now.month, "currency": ra.get("currency"),
            "exchangerate": ra.get("exchangerate"), "foreigntotal": None, "taxtotal": None,
            "subsidiary": ra.get("subsidiary"),
            "location": int(header_loc) if header_loc else ra.get("location"),
            "posting": "T", "voided": "F", "createdfrom": ra["id"]})
        s.insert("transaction", row)
        base_line = {c: None for c in s.cols["transactionline"]}
        uk += 1
        s.insert("transactionline", dict(base_line, **{
            "id": 0, "uniquekey": uk, "transaction": tid, "linesequencenumber": 0,
            "mainline": "T", "taxline": "F", "createdfrom": ra["id"], "isclosed": "F",
            "iscogs": "F", "entity": ra["entity"], "memo": body.get("memo"),
            "linelastmodifieddate": now}))
        k = 0
        for ln in ra_lines:
            if ln["id"] not in got:
                continue
            qty, restock = got[ln["id"]]
            k += 1
            uk += 1
            loc = line_loc.get(ln["id"]) or ln.get("location") or row["location"]
            s.insert("transactionline", dict(base_line, **{
                "id": k, "uniquekey": uk, "transaction": tid, "linesequencenumber": k,
                "mainline": "F", "taxline": "F", "item": ln["item"], "quantity": qty,
                "location": loc, "createdfrom": ra["id"], "itemtype": ln.get("itemtype"),
                "isclosed": "F", "iscogs": "F", "units": ln.get("units"),
                "entity": ra["entity"], "linelastmodifieddate": now}))
            s.receipt_meta[(tid, k)] = {"orderLine": ln["id"], "restock": restock}
            if "previoustransactionlinelink" in s.cols:
                s.insert("previoustransactionlinelink", {
                    "previousdoc": ra["id"], "previousline": ln["id"], "nextdoc": tid,
                    "nextline": k, "linktype": "RcptRtrn", "previoustype": "RtnAuth",
                    "nexttype": "ItemRcpt"})
            s.update("transactionline", ln, quantityshiprecv=abs(Decimal(str(
                ln.get("quantityshiprecv") or 0))) + qty, linelastmodifieddate=now)
        left = any(_left(ln) > 0 for ln in ra_lines if ln.get("isclosed") != "T"
                   and ln.get("itemtype") in RECEIVABLE_TYPES)
        s.update("transaction", ra, status="D" if left else "F", lastmodifieddate=now)
        s.names["createdfrom"][tid] = f"Item Receipt #{tranid}"
        return tid


class _DroppedAnswer(Response):
    """Headers and a part of a body, then the connection closed: the request was done, the
    answer never arrives whole (uvicorn closes a connection whose response is incomplete)."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"512")]})
        await send({"type": "http.response.body", "body": b'{"links": [', "more_body": True})


# ====================================================================================== the app
def _b64url_json(part: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    out = json.loads(raw)
    if not isinstance(out, dict):
        raise ValueError("not an object")
    return out


def _page_links(url: str, params: dict[str, Any], limit: int, offset: int,
                total: int) -> list[dict[str, str]]:
    def href(off: int) -> str:
        return f"{url}?{urlencode({**params, 'limit': limit, 'offset': off})}"

    links = []
    last = max(0, (total - 1) // limit * limit) if total else 0
    if offset > 0:
        links.append({"rel": "prev", "href": href(max(0, offset - limit))})
    links.append({"rel": "first", "href": href(0)})
    if offset + limit < total:
        links.append({"rel": "next", "href": href(offset + limit)})
    links.append({"rel": "last", "href": href(last)})
    links.append({"rel": "self", "href": href(offset)})
    return links


def make_app(world: World, *, client_id: str | None = None,
             certificates: Mapping[str, Any] | None = None, tba: Tba | None = None,
             clock: Callable[[], float] = time.time,
             receipt_body_fields_extra: frozenset[str] = frozenset()) -> Starlette:
    """``certificates``: certificate id (the JWT's ``kid``) -> the mapped certificate (PEM, or
    its public key); ``tba``: the TBA credentials the account knows (None: TBA refused);
    ``clock``: the server's clock (seconds since the epoch); ``receipt_body_fields_extra``:
    body fields the itemReceipt transform takes beyond reading R6's (an account whose item
    receipt carries them)."""
    store = Store(world)
    tokens: dict[str, float] = {}
    log: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    cert_keys = {kid: load_public_key(c) for kid, c in (certificates or {}).items()}
    tba_verifier = TbaVerifier(tba, clock) if tba else None

    def records(request: Request) -> Records:
        if "records" not in state:
            state["records"] = Records(store, str(request.base_url).rstrip("/"))
        return state["records"]

    def authorised(request: Request, entry: dict[str, Any]) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            entry["auth"] = "bearer"
            exp = tokens.get(auth[7:])
            if exp is None or exp <= clock():
                entry["auth_error"] = "unknown or expired access token"
                return False
            return True
        if auth[:6].lower() == "oauth ":
            entry["auth"] = "tba"
            params = parse_oauth_header(auth) or {}
            entry["realm"] = params.get("realm")
            entry["oauth_signature_method"] = params.get("oauth_signature_method")
            if tba_verifier is None:
                entry["auth_error"] = "TBA is not enabled for this account"
                return False
            why = tba_verifier.check(request.method, str(request.url), auth)
            if why:
                entry["auth_error"] = why
                return False
            return True
        entry["auth"] = "none" if not auth else "other"
        entry["auth_error"] = "no credentials"
        return False

    def unauthorised() -> JSONResponse:
        # verbatim envelope of the doc sample (section_156570709583)
        return _err(401, "Unauthorized",
                    "Invalid login attempt. For more details, see the Login Audit Trail in the "
                    "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit "
                    "Trail.", "INVALID_LOGIN")

    def paging(request: Request) -> tuple[int, int] | JSONResponse:
        try:
            limit = int(request.query_params.get("limit", MAX_LIMIT))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return _err(400, "Bad Request", "Invalid value for the limit or offset query "
                        "parameter.", "INVALID_PARAMETER", **{"o:errorQueryParam": "limit"})
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return _err(400, "Bad Request", f"The limit must be between 1 and {MAX_LIMIT} and "
                        "the offset must not be negative.", "INVALID_PARAMETER",
                        **{"o:errorQueryParam": "limit"})
        if offset >= MAX_RESULTS:
            return _err(400, "Bad Request", "You can return a maximum of 100,000 results with "
                        "SuiteQL.", "INVALID_PARAMETER", **{"o:errorQueryParam": "offset"})
        return limit, offset

    async def token(request: Request) -> JSONResponse:
        log.append({"path": request.url.path, "method": "POST"})
        # form-encoded body (section_162755359851: "Request parameters must be encoded based on
        # the HTML specification for the application/x-www-form-urlencoded media type")
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            log[-1]["status"] = 400
            return JSONResponse({"error": "invalid_request", "error_description":
                                 "the body must be application/x-www-form-urlencoded"},
                                status_code=400)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}

        def bad(error: str, desc: str) -> JSONResponse:
            log[-1]["status"] = 400
            log[-1].setdefault("auth_error", desc)
            return JSONResponse({"error": error, "error_description": desc}, status_code=400)

        if form.get("grant_type") != "client_credentials":
            return bad("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return bad("invalid_request", "client_assertion_type must be "
                       "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        assertion = str(form.get("client_assertion") or "")
        parts = assertion.split(".")
        if len(parts) != 3 or not all(parts):
            return bad("invalid_request", "client_assertion is not a signed JWT")
        try:
            head, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
            base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except Exception:
            return bad("invalid_request", "client_assertion is not a JWT")
        log[-1]["alg"], log[-1]["kid"] = head.get("alg"), head.get("kid")
        if head.get("typ", "JWT") != "JWT" or head.get("alg") not in ALGS:
            return bad("invalid_request", f"JWT alg must be one of {sorted(ALGS)}")
        if not head.get("kid"):
            return bad("invalid_request", "JWT header must carry kid (the certificate id)")
        cert_key = cert_keys.get(str(head["kid"]))
        if cert_key is None:
            log[-1]["auth_error"] = "no certificate mapped under kid"
            return bad("invalid_client", "kid is not a mapped certificate id")
        try:
            sig = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except Exception:
            return bad("invalid_request", "client_assertion is not a JWT")
        why = verify_jws(str(head["alg"]), cert_key, f"{parts[0]}.{parts[1]}".encode(), sig)
        if why:
            log[-1]["auth_error"] = why
            return bad("invalid_client", "the assertion's signature does not verify with the "
                       "mapped certificate")
        scopes = claims.get("scope")
        scope_list = scopes if isinstance(scopes, list) else str(scopes or "").split(",")
        if "rest_webservices" not in [s.strip() for s in scope_list]:
            return bad("invalid_request", "scope must include rest_webservices")
        if not claims.get("iss") or (client_id and claims.get("iss") != client_id):
            return bad("invalid_client", "iss is not a known client id")
        if not str(claims.get("aud", "")).endswith(TOKEN_PATH):
            return bad("invalid_request", "aud must be the token endpoint")
        try:
            iat, exp = float(claims["iat"]), float(claims["exp"])
        except Exception:
            return bad("invalid_request", "iat and exp are required")
        now = clock()
        if exp <= now or exp - iat > 3600 or iat > now + 300:
            return bad("invalid_grant", "the assertion is expired or lives over 60 minutes")
        tok = secrets.token_urlsafe(48)
        tokens[tok] = now + 3600
        log[-1]["status"] = 200
        return JSONResponse({"access_token": tok, "token_type": "Bearer", "expires_in": "3600"})

    async def suiteql(request: Request) -> Response:
        entry: dict[str, Any] = {"path": request.url.path, "method": "POST"}
        log.append(entry)
        if not authorised(request, entry):
            entry["status"] = 401
            return unauthorised()
        if "transient" not in request.headers.get("prefer", "").lower():
            entry["status"] = 400
            return _err(400, "Bad Request", "The request must contain the header "
                        "'Prefer: transient'.", "INVALID_HEADER",
                        **{"o:errorHeader": "Prefer"})
        pg = paging(request)
        if isinstance(pg, JSONResponse):
            entry["status"] = 400
            return pg
        limit, offset = pg
        try:
            body = await request.json()
            q = body["q"]
            assert isinstance(q, str)
            # anonymous bound parameters, "params": ["-7", "0"] (NetSuite 2026.2 release
            # notes, section_N3950559 "Support for Bound Parameters in REST SuiteQL Search")
            params = body.get("params")
            assert params is None or (isinstance(params, list) and all(
                isinstance(v, str | int | float) and not isinstance(v, bool) for v in params))
        except Exception:
            entry["status"] = 400
            return _err(400, "Bad Request", "The request body must be a JSON object with the "
                        "query in q.", "INVALID_CONTENT", **{"o:errorPath": "q"})
        entry["q"] = q[:500]
        try:
            items, total = store.suiteql(q, limit, offset, params)
        except (sqlite3.Error, ValueError) as e:
            entry["status"] = 400
            m = re.search(r"no such (column|table): (\S+)", str(e))
            what = (f"{m.group(1).title()} '{m.group(2)}' was not found." if m else str(e))
            return _err(400, "Bad Request", "Invalid search query. Detailed unprocessed "
                        f"description follows. Search error occurred: {what}",
                        "INVALID_PARAMETER")
        url = str(request.url).split("?")[0]
        entry["status"] = 200
        return JSONResponse({
            "links": _page_links(url, {}, limit, offset, total), "count": len(items),
            "hasMore": offset + limit < total, "offset": offset, "totalResults": total,
            "items": items})

    async def record(request: Request) -> Response:
        entry: dict[str, Any] = {"path": request.url.path, "method": "GET"}
        log.append(entry)
        if not authorised(request, entry):
            entry["status"] = 401
            return unauthorised()
        rtype = request.path_params["rtype"]
        rest = [p for p in request.path_params.get("rest", "").split("/") if p]
        if rtype not in RECORD_TYPES and rtype not in OTHER_RECORDS:
            entry["status"] = 404
            return _err(404, "Not Found", f"Record type '{rtype}' does not exist.",
                        "NONEXISTENT_RECORD_TYPE", **{"o:urlPath": rtype})
        if rtype.lower() == "returnauthorization" and len(rest) == 1:
            n_edited = len(writer.edited)
            writer.edit_on_read(rest[0])
            if len(writer.edited) > n_edited:
                state.pop("records", None)
                entry["edited"] = True
        recs = records(request)
        if not rest:  # the collection: ids and links only
            pg = paging(request)
            if isinstance(pg, JSONResponse):
                entry["status"] = 400
                return pg
            limit, offset = pg
            rows = recs.ids(rtype)
            q = request.query_params.get("q")
            if q:
                try:
                    full = [(r, recs.get(rtype, str(r["id"]), False) or {}) for r in rows]
                    rows = [r for r, view in full if _q_match(view, q)]
                except (ValueError, KeyError) as e:
                    entry["status"] = 400
                    return _err(400, "Bad Request", f"Invalid query: {e}", "INVALID_PARAMETER",
                                **{"o:errorQueryParam": "q"})
            page = rows[offset:offset + limit]
            url = str(request.url).split("?")[0]
            params = {"q": q} if q else {}
            entry["status"] = 200
            return JSONResponse({
                "links": _page_links(url, params, limit, offset, len(rows)),
                "count": len(page), "hasMore": offset + limit < len(rows), "offset": offset,
                "totalResults": len(rows),
                "items": [{"links": [{"rel": "self", "href": recs.url(rtype, r["id"])}],
                           "id": str(r["id"])} for r in page]})
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        rec = recs.get(rtype, rest[0], expand or len(rest) > 1)
        if rec is None:
            entry["status"] = 404
            return _err(404, "Not Found", "The record instance does not exist. Provide a valid "
                        "record instance ID.", "NONEXISTENT_ID", **{"o:urlPath": rest[0]})
        if len(rest) >= 2:
            sub = rec.get(rest[1])
            if not isinstance(sub, dict) or "items" not in sub:
                entry["status"] = 404
                return _err(404, "Not Found", f"Sublist '{rest[1]}' does not exist.",
                            "NONEXISTENT_ID", **{"o:urlPath": rest[1]})
            if len(rest) == 2:
                entry["status"] = 200
                return JSONResponse({"links": sub["links"], "items": [
                    {"links": it["links"]} for it in sub["items"]],
                    "totalResults": sub["totalResults"], "count": sub["count"],
                    "hasMore": False, "offset": 0})
            line = next((it for it in sub["items"] if str(it["line"]) == rest[2]), None)
            if line is None:
                entry["status"] = 404
                return _err(404, "Not Found", "The sublist line does not exist.",
                            "NONEXISTENT_ID", **{"o:urlPath": rest[2]})
            entry["status"] = 200
            return JSONResponse(line)
        fields = request.query_params.get("fields")
        if fields:
            keep = {f.strip() for f in fields.split(",")} | {"links", "id"}
            rec = {k: v for k, v in rec.items() if k in keep}
        entry["status"] = 200
        return JSONResponse(rec)

    writer = ReceiptWriter(store, receipt_body_fields_extra)

    async def write(request: Request) -> Response:
        """Every write request is journalled (``app.state.writes``); the one modelled is the
        itemReceipt transform of a return authorization (see ReceiptWriter)."""
        entry: dict[str, Any] = {"path": request.url.path, "method": request.method,
                                 "seq": len(writer.writes) + 1}
        log.append(entry)
        writer.writes.append(entry)
        if not authorised(request, entry):
            entry["status"] = 401
            return unauthorised()
        entry["headers"] = {h: request.headers.get(h) for h in (
            "x-netsuite-propertynamevalidation", "x-netsuite-propertyvaluevalidation",
            "prefer", "content-type", "x-netsuite-idempotency-key")}
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            assert isinstance(body, dict)
        except Exception:
            entry["status"] = 400
            entry["raw"] = raw[:500].decode(errors="replace")
            return _err(400, "Bad Request", "The request could not be understood by the server "
                        "due to malformed syntax.", "INVALID_REQUEST")
        entry["body"] = body
        rtype = request.path_params["rtype"]
        rest = [x for x in request.path_params.get("rest", "").split("/") if x]
        # record type ids are case-insensitive in URLs (netsuite.md §1.1)
        if request.method != "POST" or rtype.lower() != "returnauthorization" or \
                len(rest) != 3 or rest[1].lower() != "!transform" or \
                rest[2].lower() != "itemreceipt":
            entry["status"] = 400
            entry["error"] = "not modelled"
            return _err(400, "Bad Request", "This fake serves no write but the itemReceipt "
                        "transform of a return authorization.", "INVALID_REQUEST")
        mode = (request.headers.get("x-netsuite-propertynamevalidation") or "warning").lower()
        base = str(request.base_url).rstrip("/")
        try:
            tid = writer.transform(rest[0], body, mode, entry, base)
        except TransformError as e:
            entry["status"] = e.status
            entry["error"] = e.detail
            return e.response()
        state.pop("records", None)  # the REST view is rebuilt from the changed rows
        entry["receipt"] = tid
        fault = writer.faults.get(entry["ra"])
        if fault in ("503", "drop"):
            writer.faults.pop(entry["ra"])
            entry["fault"] = fault
        if fault == "503":
            entry["status"] = 503
            return _err(503, "Service Unavailable", "An unexpected error occurred. Error ID: "
                        f"fk{tid}x", "UNEXPECTED_ERROR")
        if fault == "drop":
            entry["status"] = "dropped"
            return _DroppedAnswer()
        entry["status"] = 204
        headers = {"Location": f"{base}/services/rest/record/v1/itemReceipt/{tid}"}
        if entry.get("unknown_names"):
            headers["X-NetSuite-Warning"] = "Unknown properties ignored: " + ", ".join(
                entry["unknown_names"])
        return Response(status_code=204, headers=headers)

    app = Starlette(routes=[
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route("/services/rest/query/v1/suiteql", suiteql, methods=["POST"]),
        Route("/services/rest/record/v1/{rtype}", record, methods=["GET"]),
        Route("/services/rest/record/v1/{rtype}/{rest:path}", record, methods=["GET"]),
        Route("/services/rest/record/v1/{rtype}", write, methods=["POST", "PATCH", "PUT",
                                                                  "DELETE"]),
        Route("/services/rest/record/v1/{rtype}/{rest:path}", write,
              methods=["POST", "PATCH", "PUT", "DELETE"]),
    ])
    app.state.log = log
    app.state.store = store
    app.state.writes = writer.writes
    app.state.faults = writer.faults
    app.state.writer = writer
    return app

"""A fake of Dynamics 365 Business Central API v2.0 (plus the Entra ID client-credentials token
endpoint), written from Microsoft's public documentation and the published API page sources:

* dev-itpro/webservices/api-endpoint-structure.md, api-reference/v2.0/endpoints-apis-for-dynamics.md
  (``/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/...``);
* dev-itpro/administration/automation-apis-using-s2s-authentication.md (client credentials:
  ``POST {authority}/{tenant}/oauth2/v2.0/token`` then ``Authorization: Bearer``);
* api-reference/v2.0/resources/dynamics_*.md (companies, salesCreditMemos(+Lines), salesOrders,
  salesInvoices, items, customers, locations, paymentMethods, customerReturnReasons,
  accountingPeriods, unitsOfMeasure);
* microsoft/BCApps src/Apps/W1/APIV2/app/src/pages/APIV2SalesRetOrders.Page.al (page 30251),
  APIV2SalesRetOrdLines.Page.al (30202), APIV2ReturnReceipts.Page.al (30252);
* dev-itpro/webservices/Server-Driven-Paging-in-OData-Web-Services.md (``@odata.nextLink``,
  "Max Page Size"), use-odata-batch.md (JSON ``$batch``), dynamics-error-codes.md (error body).

Behaviour worth knowing:
* Server-driven paging with a Max Page Size of 10 (a server setting; ``Prefer:
  odata.maxpagesize`` may lower it). Clients must follow ``@odata.nextLink``.
* The buffer-based line sets (salesCreditMemoLines, salesInvoiceLines, salesOrderLines) refuse a
  company-level read without an id/documentId filter, as BC does ("You must specify an Id or a
  Document Id to get the lines."). Reading them through the parent or with ``$expand`` works.
* ``$filter`` (eq ne gt ge lt le, and/or/not, parentheses, in, contains/startswith/endswith),
  ``$select``, ``$expand`` (with nested ``$select``/``$filter``), ``$orderby``, ``$top``,
  ``$skip``, ``$count``; JSON ``$batch`` (max 100 operations).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import scenario

MAX_PAGE_SIZE = 10
LINE_SETS_NEEDING_DOC = {"salesCreditMemoLines", "salesInvoiceLines", "salesOrderLines"}
CHILDREN = {
    # parent set: (child set, child field, parent field)
    "salesReturnOrders": ("salesReturnOrderLines", "documentNumber", "number"),
    "salesCreditMemos": ("salesCreditMemoLines", "documentId", "id"),
    "salesOrders": ("salesOrderLines", "documentId", "id"),
    "salesInvoices": ("salesInvoiceLines", "documentId", "id"),
}


class ODataError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _err_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{message}  CorrelationId:  {uuid.uuid4()}."}}


# ------------------------------------------------------------------------------ $filter
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
    | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[mMdDfFlL]?
    | (?P<name>[A-Za-z_@$][A-Za-z0-9_./@$]*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}


def _tokenize(text: str) -> list[tuple[str, Any]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataError(400, "BadRequest", f"Syntax error at position {pos} in '{text}'.")
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "str":
            out.append(("lit", ("str", val[1:-1].replace("''", "'"))))
        elif kind == "guid":
            out.append(("lit", ("guid", val.lower())))
        elif kind == "dt":
            out.append(("lit", ("dt", _to_dt(val))))
        elif kind == "date":
            out.append(("lit", ("date", date.fromisoformat(val))))
        elif kind == "num":
            out.append(("lit", ("num", Decimal(val))))
        elif kind == "name":
            low = val.lower()
            if low in ("true", "false"):
                out.append(("lit", ("bool", low == "true")))
            elif low == "null":
                out.append(("lit", ("null", None)))
            elif low in _CMP | {"and", "or", "not", "in"}:
                out.append(("kw", low))
            else:
                out.append(("name", val))
        else:
            out.append(("p", val))
    return out


def _to_dt(text: str) -> datetime:
    t = text
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=scenario.UTC)
    return dt


def _coerce(value: Any, kind: str) -> Any:
    """Record value -> comparable in the literal's kind (None when not comparable)."""
    if value is None:
        return None
    try:
        if kind in ("dt", "date"):
            if isinstance(value, str):
                dt = _to_dt(value) if "T" in value else _to_dt(value + "T00:00:00Z")
                return dt
            return None
        if kind == "num":
            if isinstance(value, bool):
                return None
            return Decimal(str(value))
        if kind == "guid":
            return str(value).lower()
        if kind == "bool":
            return bool(value) if isinstance(value, bool) else None
        return str(value)
    except (ValueError, InvalidOperation):
        return None


def _lit_value(lit: tuple[str, Any]) -> Any:
    kind, v = lit
    if kind == "date":
        return _to_dt(v.isoformat() + "T00:00:00Z")
    return v


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], fields: set[str] | None) -> None:
        self.t = tokens
        self.i = 0
        self.fields = fields

    def peek(self) -> tuple[str, Any] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise ODataError(400, "BadRequest", "Unexpected end of $filter expression.")
        self.i += 1
        return tok

    def expect(self, kind: str, val: Any = None) -> None:
        tok = self.take()
        if tok[0] != kind or (val is not None and tok[1] != val):
            raise ODataError(400, "BadRequest", f"Syntax error in $filter near '{tok[1]}'.")

    def parse(self) -> Callable[[dict[str, Any]], bool]:
        fn = self.or_()
        if self.peek() is not None:
            raise ODataError(400, "BadRequest", f"Syntax error in $filter near '{self.peek()[1]}'.")
        return fn

    def or_(self) -> Callable[[dict[str, Any]], bool]:
        left = self.and_()
        while self.peek() == ("kw", "or"):
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def and_(self) -> Callable[[dict[str, Any]], bool]:
        left = self.unary()
        while self.peek() == ("kw", "and"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def unary(self) -> Callable[[dict[str, Any]], bool]:
        if self.peek() == ("kw", "not"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if self.peek() == ("p", "("):
            self.take()
            inner = self.or_()
            self.expect("p", ")")
            return inner
        return self.comparison()

    def operand(self) -> tuple[str, Any]:
        tok = self.take()
        if tok[0] == "lit":
            return ("lit", tok[1])
        if tok[0] == "name":
            if self.peek() == ("p", "("):
                self.take()
                args = [self.operand()]
                while self.peek() == ("p", ","):
                    self.take()
                    args.append(self.operand())
                self.expect("p", ")")
                return ("call", (tok[1].lower(), args))
            name = tok[1]
            if self.fields is not None and name not in self.fields:
                raise ODataError(
                    400,
                    "BadRequest",
                    f"Could not find a property named '{name}' on type 'Microsoft.NAV.entity'.",
                )
            return ("prop", name)
        raise ODataError(400, "BadRequest", f"Syntax error in $filter near '{tok[1]}'.")

    def comparison(self) -> Callable[[dict[str, Any]], bool]:
        left = self.operand()
        nxt = self.peek()
        if nxt is not None and nxt[0] == "kw" and nxt[1] in _CMP:
            op = self.take()[1]
            right = self.operand()
            return _make_cmp(left, op, right)
        if nxt == ("kw", "in"):
            self.take()
            self.expect("p", "(")
            lits = [self.operand()]
            while self.peek() == ("p", ","):
                self.take()
                lits.append(self.operand())
            self.expect("p", ")")
            tests = [_make_cmp(left, "eq", lit) for lit in lits]
            return lambda r: any(t(r) for t in tests)
        if left[0] == "call":
            return lambda r: bool(_eval(left, r))
        raise ODataError(400, "BadRequest", "A binary operator was expected in $filter.")


def _eval(node: tuple[str, Any], rec: dict[str, Any]) -> Any:
    kind, v = node
    if kind == "prop":
        return rec.get(v)
    if kind == "lit":
        return _lit_value(v)
    name, args = v
    vals = [_eval(a, rec) for a in args]
    if name in ("contains", "substringof", "startswith", "endswith"):
        if len(vals) != 2 or vals[0] is None or vals[1] is None:
            return False
        a, b = str(vals[0]), str(vals[1])
        if name == "substringof":
            a, b = b, a
        return {
            "contains": b in a,
            "substringof": b in a,
            "startswith": a.startswith(b),
            "endswith": a.endswith(b),
        }[name]
    if name == "tolower":
        return None if vals[0] is None else str(vals[0]).lower()
    if name == "toupper":
        return None if vals[0] is None else str(vals[0]).upper()
    raise ODataError(400, "BadRequest", f"Unknown function '{name}'.")


def _make_cmp(
    left: tuple[str, Any], op: str, right: tuple[str, Any]
) -> Callable[[dict[str, Any]], bool]:
    # normalise to (record side, literal side)
    flip = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge", "eq": "eq", "ne": "ne"}
    if left[0] == "lit" and right[0] != "lit":
        left, right, op = right, left, flip[op]
    lit_kind = right[1][0] if right[0] == "lit" else "str"

    def test(rec: dict[str, Any]) -> bool:
        raw = _eval(left, rec)
        lit = _eval(right, rec)
        if lit_kind == "null" or lit is None:
            return (
                (raw is None or raw == "")
                if op == "eq"
                else (raw not in (None, ""))
                if op == "ne"
                else False
            )
        a = _coerce(raw, lit_kind) if left[0] == "prop" else raw
        b = lit
        if lit_kind == "guid":
            b = str(b).lower()
        if a is None:
            return op == "ne"
        try:
            return {
                "eq": a == b,
                "ne": a != b,
                "gt": a > b,
                "ge": a >= b,
                "lt": a < b,
                "le": a <= b,
            }[op]
        except TypeError:
            return False

    return test


def compile_filter(text: str, fields: set[str] | None) -> Callable[[dict[str, Any]], bool]:
    return _Parser(_tokenize(text), fields).parse()


# ------------------------------------------------------------------------------ helpers
def _split_top(text: str, sep: str) -> list[str]:
    out, depth, cur, quote_ = [], 0, "", False
    for ch in text:
        if ch == "'":
            quote_ = not quote_
        if not quote_:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == sep and depth == 0:
                out.append(cur)
                cur = ""
                continue
        cur += ch
    if cur.strip():
        out.append(cur)
    return [x.strip() for x in out]


def _parse_expand(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for part in _split_top(text, ","):
        m = re.match(r"^([A-Za-z]+)\s*(?:\((.*)\))?$", part, re.S)
        if not m:
            raise ODataError(400, "BadRequest", f"Syntax error in $expand near '{part}'.")
        opts: dict[str, str] = {}
        if m.group(2):
            for o in _split_top(m.group(2), ";"):
                k, _, v = o.partition("=")
                opts[k.strip()] = v.strip()
        out[m.group(1)] = opts
    return out


def etag_for(rec: dict[str, Any]) -> str:
    h = hashlib.sha256(f"{rec.get('id')}|{rec.get('lastModifiedDateTime')}".encode()).hexdigest()
    raw = f"JzE5OzE{int(h[:12], 16)};00;'"
    return 'W/"' + base64.b64encode(raw.encode()).decode() + '"'


_SEG = re.compile(r"^([A-Za-z$]+)(?:\((.*)\))?$")


def _key(text: str | None) -> str | None:
    if text is None:
        return None
    t = text.strip()
    if t.startswith("id="):
        t = t[3:]
    return t.strip("'").lower()


class BCService:
    def __init__(self, world: scenario.World) -> None:
        self.world = world
        self.tokens: set[str] = set()
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    # -- core GET resolution ---------------------------------------------------------------
    def get(
        self,
        api_root: str,
        rel_path: str,
        query: list[tuple[str, str]],
        prefer: str | None,
        company_hint: str | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        q = {k: v for k, v in query}
        segs = [s for s in rel_path.strip("/").split("/") if s]
        if not segs:
            return (
                200,
                {
                    "@odata.context": f"{api_root}/$metadata",
                    "value": [{"name": "companies", "kind": "EntitySet", "url": "companies"}],
                },
                {},
            )
        parsed = []
        for s in segs:
            m = _SEG.match(s)
            if not m:
                raise ODataError(
                    404,
                    "BadRequest_NotFound",
                    f"No HTTP resource was found that matches the request URI '{rel_path}'.",
                )
            parsed.append((m.group(1), _key(m.group(2))))

        if parsed[0][0] == "companies":
            if len(parsed) == 1 and parsed[0][1] is None:
                comps = [{k: v for k, v in c.items() if k != "_sets"} for c in self.world.companies]
                return self._collection(
                    api_root, "companies", comps, q, prefer, rel_path, query, None
                )
            comp = self._company(parsed[0][1])
            rest = parsed[1:]
            ctx_prefix = f"companies({comp['id']})"
            if not rest:
                rec = {k: v for k, v in comp.items() if k != "_sets"}
                return 200, self._entity(api_root, "companies/$entity", rec, q), {}
        else:
            hint = q.get("company") or company_hint
            if not hint:
                raise ODataError(
                    400,
                    "BadRequest_NotFound",
                    "No company was specified (use companies({id}) or ?company=).",
                )
            comp = self._company_by_any(hint)
            rest = parsed
            ctx_prefix = f"companies({comp['id']})"

        sets = comp["_sets"]
        name, key = rest[0]
        if name not in sets:
            raise ODataError(
                404, "BadRequest_NotFound", f"Resource not found for the segment '{name}'."
            )
        records = sets[name]
        if len(rest) == 1:
            if key is None:
                if name in LINE_SETS_NEEDING_DOC:
                    f = q.get("$filter", "")
                    if not re.search(r"\b(documentId|id)\b", f):
                        raise ODataError(
                            400,
                            "Application_DialogException",
                            "You must specify an Id or a Document Id to get the lines.",
                        )
                return self._collection(
                    api_root,
                    f"{ctx_prefix}/{name}",
                    records,
                    q,
                    prefer,
                    rel_path,
                    query,
                    (comp, name),
                )
            rec = self._find(records, key, name)
            return (
                200,
                self._entity(api_root, f"{ctx_prefix}/{name}/$entity", rec, q, (comp, name)),
                {},
            )
        # navigation to child
        parent = self._find(records, key, name)
        child_name, child_key = rest[1]
        if name not in CHILDREN or CHILDREN[name][0] != child_name or len(rest) > 2:
            raise ODataError(
                404, "BadRequest_NotFound", f"Resource not found for the segment '{child_name}'."
            )
        cset, cfield, pfield = CHILDREN[name]
        children = [r for r in sets[cset] if r.get(cfield) == parent.get(pfield)]
        if child_key is None:
            return self._collection(
                api_root,
                f"{ctx_prefix}/{name}({parent['id']})/{child_name}",
                children,
                q,
                prefer,
                rel_path,
                query,
                (comp, child_name),
            )
        rec = self._find(children, child_key, child_name)
        return (
            200,
            self._entity(
                api_root, f"{ctx_prefix}/{name}({parent['id']})/{child_name}/$entity", rec, q
            ),
            {},
        )

    def _company(self, key: str | None) -> dict[str, Any]:
        for c in self.world.companies:
            if c["id"] == key:
                return c
        raise ODataError(
            404, "BadRequest_NotFound", f"The specified company '{key}' could not be found."
        )

    def _company_by_any(self, hint: str) -> dict[str, Any]:
        for c in self.world.companies:
            if hint.lower() in (c["id"], c["name"].lower()):
                return c
        raise ODataError(
            404, "BadRequest_NotFound", f"The specified company '{hint}' could not be found."
        )

    @staticmethod
    def _find(records: list[dict[str, Any]], key: str | None, name: str) -> dict[str, Any]:
        for r in records:
            if str(r.get("id", "")).lower() == key:
                return r
        raise ODataError(
            404,
            "Internal_RecordNotFound",
            f"The {name} does not exist. Identification fields and values: Id='{key}'",
        )

    def _shape(
        self, rec: dict[str, Any], q: dict[str, str], ctx: tuple[dict[str, Any], str] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": etag_for(rec)}
        sel = q.get("$select")
        if sel:
            fields = [f.strip() for f in sel.split(",") if f.strip()]
            for f in fields:
                if f not in rec:
                    raise ODataError(
                        400,
                        "BadRequest",
                        f"Could not find a property named '{f}' on type 'Microsoft.NAV.entity'.",
                    )
                out[f] = rec[f]
        else:
            out.update(rec)
        exp = q.get("$expand")
        if exp and ctx is not None:
            comp, set_name = ctx
            for child, opts in _parse_expand(exp).items():
                if set_name not in CHILDREN or CHILDREN[set_name][0] != child:
                    raise ODataError(
                        400,
                        "BadRequest",
                        f"Could not find a property named '{child}' on type "
                        f"'Microsoft.NAV.{set_name[:-1]}'.",
                    )
                cset, cfield, pfield = CHILDREN[set_name]
                kids = [r for r in comp["_sets"][cset] if r.get(cfield) == rec.get(pfield)]
                if "$filter" in opts:
                    fn = compile_filter(opts["$filter"], set(kids[0]) if kids else None)
                    kids = [k for k in kids if fn(k)]
                out[child] = [
                    self._shape(k, {"$select": opts["$select"]} if "$select" in opts else {}, None)
                    for k in kids
                ]
        return out

    def _entity(
        self,
        api_root: str,
        ctx: str,
        rec: dict[str, Any],
        q: dict[str, str],
        sctx: tuple[dict[str, Any], str] | None = None,
    ) -> dict[str, Any]:
        body = {"@odata.context": f"{api_root}/$metadata#{ctx}"}
        body.update(self._shape(rec, q, sctx))
        return body

    def _collection(
        self,
        api_root: str,
        ctx: str,
        records: list[dict[str, Any]],
        q: dict[str, str],
        prefer: str | None,
        rel_path: str,
        query: list[tuple[str, str]],
        sctx: tuple[dict[str, Any], str] | None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fields = set(records[0]) if records else None
        recs = list(records)
        if q.get("$filter"):
            fn = compile_filter(q["$filter"], fields)
            recs = [r for r in recs if fn(r)]
        if q.get("$orderby"):
            for part in reversed(_split_top(q["$orderby"], ",")):
                bits = part.split()
                fld, desc = bits[0], len(bits) > 1 and bits[1].lower() == "desc"
                recs.sort(key=lambda r: (r.get(fld) is None, r.get(fld)), reverse=desc)
        total = len(recs)
        # window asked for by the client
        try:
            skip = int(q.get("$skip", "0"))
            top = int(q["$top"]) if "$top" in q else None
        except ValueError:
            raise ODataError(400, "BadRequest", "Invalid $top or $skip.") from None
        start, end = skip, (skip + top if top is not None else total)
        if "$skiptoken" in q:
            try:
                a, b = q["$skiptoken"].split("-")
                start, end = int(a), int(b)
            except ValueError:
                raise ODataError(400, "BadRequest", "Invalid $skiptoken.") from None
        end = min(end, total)
        page = MAX_PAGE_SIZE
        headers: dict[str, str] = {}
        if prefer:
            m = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer)
            if m:
                page = max(1, min(page, int(m.group(1))))
                headers["Preference-Applied"] = f"odata.maxpagesize={page}"
        chunk = recs[start : min(end, start + page)]
        body: dict[str, Any] = {"@odata.context": f"{api_root}/$metadata#{ctx}"}
        if q.get("$count", "").lower() == "true":
            body["@odata.count"] = total
        body["value"] = [self._shape(r, q, sctx) for r in chunk]
        if start + page < end:
            keep = [(k, v) for k, v in query if k not in ("$skip", "$top", "$skiptoken")]
            keep.append(("$skiptoken", f"{start + page}-{end}"))
            body["@odata.nextLink"] = f"{api_root}/{rel_path.strip('/')}?" + urlencode(
                keep, quote_via=quote, safe="$(),'"
            )
        return 200, body, headers


def _metadata_xml(world: scenario.World) -> str:
    sets = sorted({k for c in world.companies for k in c["_sets"]})
    body = "".join(f'<EntitySet Name="{s}" EntityType="Microsoft.NAV.{s[:-1]}"/>' for s in sets)
    return (
        '<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" '
        'xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
        '<Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<EntityContainer Name="NAV">'
        '<EntitySet Name="companies" EntityType="Microsoft.NAV.company"/>'
        f"{body}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )


def make_app(world: scenario.World) -> Starlette:
    svc = BCService(world)

    def api_root_of(request: Request, prefix_segments: list[str]) -> str:
        base = f"{request.url.scheme}://{request.url.netloc}"
        return base + "/" + "/".join(prefix_segments)

    async def token(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        form = dict(
            parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        )
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
            form.setdefault("client_id", cid)
            form.setdefault("client_secret", sec)
        with svc.lock:
            svc.log.append(
                {
                    "path": request.url.path,
                    "method": "POST",
                    "grant_type": form.get("grant_type"),
                    "scope": form.get("scope"),
                }
            )
        if tenant.lower() != scenario.TENANT.lower():
            return JSONResponse(
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
                status_code=400,
            )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": (
                        "AADSTS70003: The app requested an unsupported grant type."
                    ),
                },
                status_code=400,
            )
        if (
            form.get("client_id") != scenario.CLIENT_ID
            or form.get("client_secret") != scenario.CLIENT_SECRET
        ):
            return JSONResponse(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
                status_code=401,
            )
        tok = "eyJ0eXAiOiJKV1QifQ." + uuid.uuid4().hex + "." + uuid.uuid4().hex
        svc.tokens.add(tok)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": tok,
            }
        )

    def check_auth(request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in svc.tokens:
            return JSONResponse(
                _err_body(
                    "Authentication_InvalidCredentials",
                    "The server has rejected the client credentials.",
                ),
                status_code=401,
                headers={
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
                },
            )
        return None

    def split_api_path(path: str) -> tuple[list[str], str] | None:
        # /v2.0/{tenant}/{environment}/api/v2.0/<rest>   or   /v2.0/{environment}/api/v2.0/<rest>
        segs = path.strip("/").split("/")
        try:
            i = segs.index("api")
        except ValueError:
            return None
        if segs[0] != "v2.0" or i + 1 >= len(segs) or segs[i + 1] != "v2.0" or i not in (2, 3):
            return None
        env = segs[i - 1]
        if env.lower() != scenario.ENVIRONMENT.lower():
            return None
        if i == 3 and segs[1].lower() != scenario.TENANT.lower():
            return None
        return segs[: i + 2], "/".join(segs[i + 2 :])

    async def api(request: Request) -> Response:
        with svc.lock:
            svc.log.append(
                {
                    "path": request.url.path,
                    "method": request.method,
                    "query": request.url.query,
                    "prefer": request.headers.get("prefer"),
                }
            )
        split = split_api_path(request.url.path)
        if split is None:
            return JSONResponse(
                _err_body(
                    "BadRequest_NotFound",
                    "No HTTP resource was found that matches the request URI.",
                ),
                status_code=404,
            )
        bad = check_auth(request)
        if bad is not None:
            return bad
        prefix, rel = split
        root = api_root_of(request, prefix)
        if rel == "$metadata":
            return Response(_metadata_xml(world), media_type="application/xml")
        if rel == "$batch":
            if request.method != "POST":
                return JSONResponse(
                    _err_body("BadRequest_MethodNotAllowed", "Method not allowed."), status_code=405
                )
            return await batch(request, root)
        if request.method != "GET":
            return JSONResponse(
                _err_body("BadRequest_MethodNotAllowed", "This fake is read-only for the check."),
                status_code=405,
            )
        query = parse_qsl(request.url.query, keep_blank_values=True)
        try:
            status, body, headers = svc.get(root, rel, query, request.headers.get("prefer"))
        except ODataError as e:
            return JSONResponse(_err_body(e.code, e.message), status_code=e.status)
        headers = {**headers, "OData-Version": "4.0"}
        return JSONResponse(
            body,
            status_code=status,
            headers=headers,
            media_type="application/json; odata.metadata=minimal",
        )

    async def batch(request: Request, root: str) -> Response:
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype:
            return JSONResponse(
                _err_body(
                    "BadRequest",
                    "Only JSON $batch is supported here (Content-Type: application/json).",
                ),
                status_code=400,
            )
        try:
            payload = await request.json()
            reqs = payload["requests"]
        except Exception:
            return JSONResponse(
                _err_body("BadRequest", "The $batch request body is not valid JSON batch."),
                status_code=400,
            )
        if len(reqs) > 100:
            return JSONResponse(
                _err_body(
                    "BadRequest", "The number of operations in a $batch request exceeds 100."
                ),
                status_code=400,
            )
        out = []
        for r in reqs:
            rid = r.get("id")
            method = (r.get("method") or "GET").upper()
            url = r.get("url") or ""
            hdrs = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
            with svc.lock:
                svc.log.append({"path": "$batch:" + url, "method": method})
            if method != "GET":
                out.append(
                    {
                        "id": rid,
                        "status": 405,
                        "headers": {},
                        "body": _err_body(
                            "BadRequest_MethodNotAllowed", "This fake is read-only for the check."
                        ),
                    }
                )
                continue
            if url.startswith("http"):
                parts = urlsplit(url)
                split = split_api_path(parts.path)
                rel = split[1] if split else parts.path
                qs = parts.query
            else:
                rel, _, qs = url.lstrip("/").partition("?")
                if rel.startswith("api/v2.0/"):
                    rel = rel[len("api/v2.0/") :]
            try:
                status, body, headers = svc.get(
                    root,
                    rel,
                    parse_qsl(qs, keep_blank_values=True),
                    hdrs.get("prefer") or request.headers.get("prefer"),
                    company_hint=hdrs.get("company"),
                )
                out.append(
                    {
                        "id": rid,
                        "status": status,
                        "headers": {
                            "content-type": "application/json; odata.metadata=minimal",
                            "odata-version": "4.0",
                            **{k.lower(): v for k, v in headers.items()},
                        },
                        "body": body,
                    }
                )
            except ODataError as e:
                out.append(
                    {
                        "id": rid,
                        "status": e.status,
                        "headers": {
                            "content-type": "application/json; odata.metadata=minimal",
                            "odata-version": "4.0",
                        },
                        "body": _err_body(e.code, e.message),
                    }
                )
        return JSONResponse({"responses": out}, headers={"OData-Version": "4.0"})

    async def not_found(request: Request) -> Response:
        with svc.lock:
            svc.log.append({"path": request.url.path, "method": request.method, "status": 404})
        return JSONResponse(
            _err_body(
                "BadRequest_NotFound", "No HTTP resource was found that matches the request URI."
            ),
            status_code=404,
        )

    routes = [
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/v2.0/{path:path}", api, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
    ]
    app = Starlette(routes=routes)
    app.state.service = svc
    app.state.log = svc.log
    return app

"""The WRITE side of the fake Dynamics 365 Finance & Operations OData service, written from the
vendor documentation only (docs/vendors/d365-fo.md, cited "§x.y", and Microsoft Learn pages
named below). It wraps the read-only fake of the earlier independent check (fake_fo.py, reused
unchanged for every GET and for $batch) and adds:

* ``GET /data/$metadata`` with the F&O edit annotations (§9 S11:
  ``Microsoft.Dynamics.OData.Core.V1.AllowEdit`` / ``AllowEditOnCreate`` / ``IsRequired``).
  Learn "Behavioral properties on data entities" (fin-ops-core/dev-itpro/data-entities/
  behavioral-properties-data-entities): field-level **AllowEdit** / **AllowEditOnCreate** /
  **Mandatory**, "This behavior is enforced for all consumers – X++, OData, and so on"; and
  entity-level **IsReadOnly** ("Only read operations are allowed"). An installation variant
  (``variant="locked"``) marks the link field ``CustomersOrderReference`` AllowEdit=false and
  AllowEditOnCreate=false: the way an installation forbids the write (an extension that sets the
  field's properties to No), which the fake then enforces (400).
* ``PATCH /data/<Set>(<full key>)`` (§1.1 CRUD via PATCH; all key fields required) with
  ``If-Match``: OData v4 Part 1 §8.2.1 / §11.4.1.1 (F&O serves OData v4, Learn "Open Data
  Protocol (OData)"): a request whose If-Match ETag no longer matches is not applied and answers
  **412 Precondition Failed**; ``*`` matches any. A PATCH without If-Match is applied (whether
  F&O *requires* it is not documented, §8.2 / U7) but logged so the check can require it. A
  successful PATCH answers **204 No Content** (§7.1, 3p st203) and the record's ETag changes
  (§8.2: the ETag changed after an update); the OData update path re-reads the record
  (``Forupdate, Reread, ...``, Learn OData page "Validate methods").
* ``POST /data/ReturnOrderHeadersV2`` and ``POST /data/ReturnOrderLinesV2`` (§7.1, sample S12):
  F&O generates ``ReturnOrderNumber`` (the sales-order number sequence: a return order is a
  sales order, §5.2) and ``RMANumber`` (its own sequence), ``ReturnInventoryLotId`` and
  ``LineCreationSequenceNumber`` on lines (§5.3); answers **201 Created** with the entity
  (§7.1, OData v4 §11.4.2). The customer account must exist (Learn sales-returns, "Create a
  return order header"); lines need an existing header of the same legal entity, a released
  product, a NEGATIVE ``ReturnSalesQuantity`` (§5.3 / U15, hotwax). No uniqueness on
  ``CustomersOrderReference``: a second POST makes a second return order (§7.1 "Idempotency:
  none in the protocol"). ``dataAreaId`` missing = the service user's default company (§1.2).
* Writes to any other entity set are refused (posted documents, journals, BI entities: this
  check only expects return orders to be written) and, like every write, logged.
* Errors use the §8.1 envelope (``innererror.type`` AxODataWriteException for validation).
* Faults planted by the check: a 429 with Retry-After on chosen writes (§4.1, not applied);
  a concurrent edit by "someone else" applied just before a chosen PATCH (so the If-Match the
  product sends is stale); a lost answer after the commit (connection dropped mid-response, or
  500) on chosen POSTs.

CHOICES where the docs are silent (repeated in the report)
 W1. Which fields are AllowEdit / AllowEditOnCreate = false in a standard installation is not
     published for these entities (§5 "RO/RW is not known"). This fake marks as not editable
     (both): the keys, ``RMANumber``, ``ReturnInventoryLotId``, statuses (``ReturnStatus``,
     ``ReturnOrderStatus``), the computed totals/amounts and the receipt/close fields
     (``ReturnedSalesQuantity``, ``ActualReturnArrivalDate``, ``ReturnClosedDate``): F&O's own
     processes move them (§6.2). Keys are AllowEdit=false as in S11.
 W2. Entity-level IsReadOnly has no documented $metadata form; it is not annotated here, only
     enforced (400) for SalesInvoiceHeadersV2 / SalesInvoiceV2Lines (posted documents) and every
     other set this check does not expect to be written.
 W3. 412 body: not published (§9: "Not found anywhere public: ... 412 body"): the §8.1
     envelope with X++'s update-conflict text.
 W4. A positive ``ReturnSalesQuantity`` is refused (U15 unknown; §5.3 hotwax writes negative).
 W5. A key PATCH in a company other than the default needs ``cross-company=true`` (as the read
     fake's key GET, U22); otherwise 404.
 W6. Header ``ReturnDeadline`` defaults to today + 30 days; unset strings are ""; header totals
     are recomputed from the lines after each line POST.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import fake_fo, scenario

NS = fake_fo.NS
ANN = "Microsoft.Dynamics.OData.Core.V1"
HEADERS = "ReturnOrderHeadersV2"
LINES = "ReturnOrderLinesV2"
WRITABLE = {HEADERS, LINES}
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE", "MERGE"}
WRITE_EXC = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
ENTITY_CLASS = {HEADERS: "ReturnOrderHeaderV2Entity", LINES: "ReturnOrderLineV2Entity"}

# W1: not editable, neither on create nor later (system-maintained / generated)
_NOT_EDITABLE = {
    HEADERS: {"dataAreaId", "ReturnOrderNumber", "RMANumber", "ReturnStatus", "ReturnOrderStatus",
              "OrderTotalAmount", "OrderTotalTaxAmount", "OrderTotalChargesAmount",
              "TotalDiscountAmount", "IsReplacementSalesOrderCreated",
              "ReplacementSalesOrderNumber", "FormattedReturnAddress"},
    LINES: {"dataAreaId", "ReturnOrderNumber", "ReturnInventoryLotId",
            "LineCreationSequenceNumber", "RMANumber", "ReturnStatus", "ReturnedSalesQuantity",
            "LineAmount", "TotalTaxAmount", "TotalChargesAmount", "TotalDiscountAmount",
            "ReturnUnitCost", "ActualReturnArrivalDate", "ReturnClosedDate",
            "ReturningInventoryLotId"},
}
# dataAreaId and the header number are given on create of a line (its parent), not generated
_CREATE_ALLOWED = {HEADERS: {"dataAreaId"}, LINES: {"dataAreaId", "ReturnOrderNumber"}}
_REQUIRED = {HEADERS: {"dataAreaId", "CustomerAccountNumber"},
             LINES: {"dataAreaId", "ReturnOrderNumber", "ItemNumber", "ReturnSalesQuantity"}}
#: fields whose presence in a create or update moves goods or money, or posts (safety check)
MONEY_OR_STOCK = {
    HEADERS: {"ReturnStatus", "ReturnOrderStatus", "OrderTotalAmount", "OrderTotalTaxAmount",
              "OrderTotalChargesAmount", "TotalDiscountAmount", "IsReplacementSalesOrderCreated",
              "ReplacementSalesOrderNumber"},
    LINES: {"ReturnStatus", "ReturnedSalesQuantity", "ActualReturnArrivalDate",
            "ReturnClosedDate", "LineAmount", "TotalTaxAmount", "TotalChargesAmount",
            "TotalDiscountAmount", "ReturnUnitCost"},
}


def annotations(variant: str) -> dict[tuple[str, str], dict[str, bool]]:
    out: dict[tuple[str, str], dict[str, bool]] = {}
    for set_name, names in _NOT_EDITABLE.items():
        for n in names:
            out[(set_name, n)] = {"AllowEdit": False,
                                  "AllowEditOnCreate": n in _CREATE_ALLOWED[set_name]}
    for set_name, names in _REQUIRED.items():
        for n in names:
            out.setdefault((set_name, n), {})["IsRequired"] = True
    if variant == "locked":
        # the installation forbids the link field: neither set on create nor changed
        out[(HEADERS, "CustomersOrderReference")] = {"AllowEdit": False,
                                                     "AllowEditOnCreate": False}
    return out


def metadata_xml(variant: str) -> str:
    """fake_fo's CSDL plus the F&O edit annotations of this installation (§9 S11 form)."""
    ann = annotations(variant)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
           "<edmx:DataServices>",
           f'<Schema Namespace="{NS}" xmlns="http://docs.oasis-open.org/odata/ns/edm">']
    for name, members in fake_fo.ENUMS.items():
        out.append(f'<EnumType Name="{name}">')
        out += [f'<Member Name="{m}" Value="{i}">'
                f'<Annotation Term="{ANN}.LabelId" String="@SYS{1000 + i}" /></Member>'
                for i, m in enumerate(members)]
        out.append("</EnumType>")
    for ent in fake_fo.ENTITIES.values():
        out.append(f'<EntityType Name="{ent.type_name}">')
        out.append("<Key>" + "".join(f'<PropertyRef Name="{k}" />' for k in ent.key) + "</Key>")
        for p, typ in ent.props.items():
            nullable = "true" if typ == "e:Timezone" else "false"
            scale = ' Precision="32" Scale="6"' if typ == "dec" else ""
            out.append(f'<Property Name="{p}" Type="{fake_fo._edm(typ)}" '
                       f'Nullable="{nullable}"{scale}>')
            out.append(f'<Annotation Term="{ANN}.ConfigurationKeyEnabled" Bool="true" />')
            for term, val in ann.get((ent.source or ent.name, p), {}).items():
                out.append(f'<Annotation Term="{ANN}.{term}" Bool="{str(val).lower()}" />')
            out.append("</Property>")
        for n, nav in ent.navs.items():
            t = f"{NS}.{fake_fo.ENTITIES[nav.target].type_name}"
            out.append(f'<NavigationProperty Name="{n}" '
                       f'Type="{"Collection(" + t + ")" if nav.many else t}" />')
        out.append("</EntityType>")
    out.append('<EntityContainer Name="Resources">')
    for ent in fake_fo.ENTITIES.values():
        out.append(f'<EntitySet Name="{ent.name}" EntityType="{NS}.{ent.type_name}">')
        out += [f'<NavigationPropertyBinding Path="{n}" Target="{nav.target}" />'
                for n, nav in ent.navs.items()]
        out.append("</EntitySet>")
    out += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(out)


def new_etag(rec: dict[str, Any], key: tuple[str, ...]) -> str:
    """A fresh opaque weak ETag ('<recVersion>,<RecId>' in base64, §3.4): every write bumps the
    record version, even one that sets a value it already had."""
    old = base64.b64decode(rec["@odata.etag"][3:-1].encode()).decode() if rec.get(
        "@odata.etag") else "'0,0'"
    try:
        rec_id = int(old.strip("'").split(",")[1])
    except (IndexError, ValueError):
        rec_id = 5637144576
    version = uuid.uuid4().int % 2**31
    return 'W/"' + base64.b64encode(f"'{version},{rec_id}'".encode()).decode() + '"'


class WriteError(Exception):
    def __init__(self, status: int, message: str, typ: str = WRITE_EXC,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.typ = status, message, typ
        self.headers = headers or {}


def _infolog(set_name: str, *warnings: str) -> str:
    cls = ENTITY_CLASS.get(set_name, set_name)
    return (f"Write failed for table row of type '{cls}'. Infolog: "
            + "; ".join(f"Warning: {w}" for w in warnings) + ".")


@dataclass
class Faults:
    """What the check plants on writes."""

    #: (method, entity set, n): the n-th such write (1-based) answers 429 and is not applied
    throttle: set[tuple[str, str, int]] = field(default_factory=set)
    #: header key (company, ReturnOrderNumber) -> {field: value}: someone else's edit, applied
    #: just before the first PATCH of that record is evaluated
    concurrent_edit: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: link values whose first header POST is committed, then the connection dropped
    drop_header_answer: set[str] = field(default_factory=set)
    #: link values whose header's first line POST is committed, then answered 500
    fail_first_line_answer: set[str] = field(default_factory=set)


class WriteFake:
    """An ASGI app: writes and $metadata here, everything else to fake_fo's read app."""

    def __init__(self, world: scenario.World, *, variant: str = "standard",
                 faults: Faults | None = None, throttle_every: int = 0, throttle_max: int = 0,
                 retry_after: int = 1) -> None:
        self.world = world
        self.variant = variant
        self.faults = faults or Faults()
        self.inner = fake_fo.make_app(world, throttle_every=throttle_every,
                                      throttle_max=throttle_max, retry_after=retry_after)
        self.svc: fake_fo.Service = self.inner.state.service
        self.log: list[dict[str, Any]] = self.inner.state.log  # shared with the reads
        self.writes: list[dict[str, Any]] = []
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._fired: set[Any] = set()
        self.metadata = metadata_xml(variant)
        self.ann = annotations(variant)

    # -- plumbing ---------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        path, method = scope["path"], scope["method"].upper()
        if path == "/data/$metadata" and method == "GET":
            await self._metadata(scope, receive, send)
            return
        if path.startswith("/data/") and method in WRITE_METHODS and path != "/data/$batch":
            await self._write(scope, receive, send)
            return
        if path == "/data/$batch":
            with self._lock:
                self.writes.append({"t": time.time(), "method": "POST", "set": "$batch",
                                    "key": None, "body": None, "status": None,
                                    "committed": False, "note": "batch (fake_fo answers 405 to "
                                    "any write inside it)"})
        await self.inner(scope, receive, send)

    def _authorised(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        claims = self.inner.state.tokens.get(auth[7:].strip())
        env = f"{request.url.scheme}://{request.url.netloc}".lower().rstrip("/")
        return bool(claims and claims["exp"] > time.time() and claims["aud"] == env)

    async def _metadata(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        if not self._authorised(request):
            self.log.append({"method": "GET", "path": scope["path"], "query": "", "status": 401})
            await Response(b"", 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})(
                scope, receive, send)
            return
        self.log.append({"method": "GET", "path": scope["path"], "query": "", "status": 200})
        await Response(self.metadata.encode(), 200, {"OData-Version": "4.0"},
                       media_type="application/xml")(scope, receive, send)

    # -- one write ----------------------------------------------------------------------------
    async def _write(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        raw = await request.body()
        method = scope["method"].upper()
        rest = scope["path"][len("/data/"):]
        entry: dict[str, Any] = {
            "t": time.time(), "method": method, "path": scope["path"], "query": request.url.query,
            "set": None, "key": None, "body": None, "if_match": request.headers.get("if-match"),
            "content_type": request.headers.get("content-type"), "status": None,
            "committed": False, "note": "", "record": None,
        }
        with self._lock:
            self.writes.append(entry)
        root = f"{request.url.scheme}://{request.url.netloc}".lower().rstrip("/") + "/data"
        try:
            if not self._authorised(request):
                raise WriteError(401, "")
            m = re.fullmatch(r"([A-Za-z_]\w*)(?:\((.*)\))?", rest, re.S)
            if not m or m.group(1) not in fake_fo.ENTITIES:
                raise WriteError(404, "No HTTP resource was found that matches the request URI "
                                      f"'{root}/{rest}'.", "System.Web.Http.HttpResponseException")
            set_name, key_text = m.group(1), m.group(2)
            entry["set"] = set_name
            try:
                body = json.loads(raw.decode("utf-8") or "null")
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise WriteError(400, "The request body is not valid JSON.",
                                 "Microsoft.OData.ODataException") from None
            entry["body"] = body
            self._identify(entry, set_name, key_text, body)
            n = self._count(method, set_name)
            if (method, set_name, n) in self.faults.throttle:
                entry["note"] = "throttled (not applied)"
                raise WriteError(429, "Number of requests exeeded the limit of 6000 over the "
                                      "time window of 300 seconds.",
                                 "Microsoft.Dynamics.Platform.Integration.Services.OData."
                                 "ODataThrottlingException",
                                 {"Retry-After": str(self.retry_after)})
            if set_name not in WRITABLE:
                raise WriteError(400, _infolog(set_name, f"Entity '{set_name}' is read-only "
                                               "in this installation; data modification "
                                               "operations are not allowed"))
            if not isinstance(body, dict) and method in ("POST", "PATCH", "PUT", "MERGE"):
                raise WriteError(400, "The request body must be a JSON object.",
                                 "Microsoft.OData.ODataException")
            if method == "POST":
                if key_text is not None:
                    raise WriteError(405, "The requested resource does not support http method "
                                          "'POST'.", "System.Web.Http.HttpResponseException")
                await self._post(scope, receive, send, request, entry, set_name, body, root)
                return
            if method == "PATCH":
                if key_text is None:
                    raise WriteError(405, "The requested resource does not support http method "
                                          "'PATCH'.", "System.Web.Http.HttpResponseException")
                resp = self._patch(request, entry, set_name, key_text, body)
                await resp(scope, receive, send)
                return
            raise WriteError(405, f"This check does not expect '{method}' on {set_name}: "
                                  "refused and logged.", "System.Web.Http.HttpResponseException")
        except WriteError as e:
            entry["status"] = e.status
            entry["error"] = e.message
            self.log.append({"method": method, "path": scope["path"],
                             "query": request.url.query, "status": e.status})
            if e.status == 401:
                await Response(b"", 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})(
                    scope, receive, send)
                return
            await JSONResponse(fake_fo.error_body(e.message, e.typ), e.status,
                               {"OData-Version": "4.0", **e.headers})(scope, receive, send)

    def _identify(self, entry: dict[str, Any], set_name: str, key_text: str | None,
                  body: Any) -> None:
        """Which return order a write is about, known before anything can refuse it."""
        if key_text is not None:
            try:
                key = fake_fo.parse_key(key_text, fake_fo.ENTITIES[set_name])
            except fake_fo.ODataError:
                return
            entry["record"] = f"{key.get('dataAreaId', '')}/{key.get('ReturnOrderNumber', '')}"
        elif set_name == LINES and isinstance(body, dict):
            co = str(body.get("dataAreaId") or scenario.DEFAULT_COMPANY).lower()
            header = self._find(HEADERS, {"dataAreaId": co,
                                          "ReturnOrderNumber": str(body.get("ReturnOrderNumber"))})
            if header is not None:
                entry["link"] = header["CustomersOrderReference"]

    def _count(self, method: str, set_name: str) -> int:
        with self._lock:
            k = (method, set_name)
            self._counts[k] = self._counts.get(k, 0) + 1
            return self._counts[k]

    def _find(self, set_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        ent = fake_fo.ENTITIES[set_name]
        for rec in self.svc.data[set_name]:
            if fake_fo._key_match(ent, rec, key):
                return rec
        return None

    def _check_fields(self, set_name: str, body: dict[str, Any], creating: bool) -> None:
        ent = fake_fo.ENTITIES[set_name]
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name not in ent.props:
                raise WriteError(400, f"The property '{name}' does not exist on type "
                                      f"'{NS}.{ent.type_name}'. Make sure to only use property "
                                      "names that are defined by the type.",
                                 "Microsoft.OData.ODataException")
            flags = self.ann.get((set_name, name), {})
            allowed = flags.get("AllowEditOnCreate" if creating else "AllowEdit", True)
            if not allowed:
                raise WriteError(400, _infolog(set_name, f"Field '{name}' can't be "
                                               + ("set on a new record" if creating
                                                  else "changed on an existing record")
                                               + " (Allow edit"
                                               + (" on create" if creating else "")
                                               + " = No)"))
            typ = ent.props[name]
            if typ.startswith("e:"):
                members = fake_fo.ENUMS[typ[2:]]
                if value not in members and not (value is None and typ[2:] in
                                                 fake_fo.NULLABLE_ENUMS):
                    raise WriteError(400, f"Cannot convert the literal '{value}' to the expected "
                                          f"type '{NS}.{typ[2:]}'.",
                                     "Microsoft.OData.ODataException")
            elif typ in ("dec", "int") and not isinstance(value, (int, float)):
                raise WriteError(400, f"Cannot convert a primitive value to the expected type "
                                      f"'{fake_fo._edm(typ)}' for property '{name}'.",
                                 "Microsoft.OData.ODataException")
            elif typ == "s" and not isinstance(value, str):
                raise WriteError(400, f"Cannot convert a primitive value to the expected type "
                                      f"'Edm.String' for property '{name}'.",
                                 "Microsoft.OData.ODataException")

    def _exists(self, set_name: str, co: str, field_name: str, value: str) -> bool:
        return any(r.get("dataAreaId") == co and str(r.get(field_name, "")).casefold()
                   == value.casefold() for r in self.svc.data[set_name])

    # -- PATCH ------------------------------------------------------------------------------
    def _patch(self, request: Request, entry: dict[str, Any], set_name: str, key_text: str,
               body: dict[str, Any]) -> Response:
        ent = fake_fo.ENTITIES[set_name]
        try:
            key = fake_fo.parse_key(key_text, ent)
        except fake_fo.ODataError as e:
            raise WriteError(e.status, e.message, e.typ) from None
        entry["key"] = key
        cross = request.query_params.get("cross-company", "").lower() == "true"
        rec = self._find(set_name, key)
        if rec is None or (not cross and rec.get("dataAreaId") != scenario.DEFAULT_COMPANY):
            raise WriteError(404, f"No resource was found for '{set_name}({key_text})'.",
                             "System.Web.Http.HttpResponseException")
        hkey = (rec["dataAreaId"], rec.get("ReturnOrderNumber", ""))
        entry["record"] = f"{hkey[0]}/{hkey[1]}"
        entry["before"] = {k: rec.get(k) for k in body} if isinstance(body, dict) else None
        entry["etag_at_arrival"] = rec["@odata.etag"]
        edit = self.faults.concurrent_edit.get(hkey) if set_name == HEADERS else None
        if edit and ("edit", hkey) not in self._fired:
            self._fired.add(("edit", hkey))
            rec.update(edit)
            rec["@odata.etag"] = new_etag(rec, ent.key)
            self._sync_v1(set_name, rec)
            entry["note"] = f"someone else changed {sorted(edit)} just before this PATCH"
        if_match = entry["if_match"]
        if if_match is not None:
            tags = [t.strip() for t in if_match.split(",")]
            if "*" not in tags and rec["@odata.etag"] not in tags:
                raise WriteError(412, _infolog(set_name, "Cannot edit a record in Return order "
                                               "(SalesTable). An update conflict occurred due "
                                               "to another user process deleting the record "
                                               "or changing one or more fields in the record"))
        for k in ent.key:
            if k in body and str(body[k]).casefold() != str(rec.get(k)).casefold():
                raise WriteError(400, f"The key property '{k}' cannot be changed.",
                                 "Microsoft.OData.ODataException")
        self._check_fields(set_name, {k: v for k, v in body.items() if k not in ent.key},
                           creating=False)
        rec.update({k: v for k, v in body.items() if not k.startswith("@odata.")})
        rec["@odata.etag"] = new_etag(rec, ent.key)
        self._sync_v1(set_name, rec)
        entry["status"], entry["committed"] = 204, True
        self.log.append({"method": "PATCH", "path": entry["path"], "query": entry["query"],
                         "status": 204})
        return Response(b"", 204, {"OData-Version": "4.0", "ETag": rec["@odata.etag"]})

    # -- POST -------------------------------------------------------------------------------
    async def _post(self, scope: dict[str, Any], receive: Any, send: Any, request: Request,
                    entry: dict[str, Any], set_name: str, body: dict[str, Any],
                    root: str) -> None:
        self._check_fields(set_name, body, creating=True)
        co = str(body.get("dataAreaId") or scenario.DEFAULT_COMPANY).lower()  # §1.2
        today = datetime.now(UTC).date()
        fault = None
        if set_name == HEADERS:
            rec = self._new_header(co, body, today)
            link = rec["CustomersOrderReference"]
            if link in self.faults.drop_header_answer and ("drop", link) not in self._fired:
                self._fired.add(("drop", link))
                fault = "drop"
        else:
            rec, header = self._new_line(co, body)
            link = header["CustomersOrderReference"]
            if (link in self.faults.fail_first_line_answer
                    and ("line500", link) not in self._fired):
                self._fired.add(("line500", link))
                fault = "500"
        ent = fake_fo.ENTITIES[set_name]
        full = fake_fo.complete(ent, rec)
        full["@odata.etag"] = new_etag({}, ent.key)
        self.svc.data[set_name].append(full)
        self._sync_v1(set_name, full)
        if set_name == LINES:
            self._recompute_header(header)
        key_txt = ",".join(f"{k}='{full[k]}'" for k in ent.key)
        entry.update(committed=True, record=f"{co}/{full['ReturnOrderNumber']}",
                     created={k: full[k] for k in ent.key}, link=link)
        if fault == "drop":
            entry["status"], entry["note"] = 201, "committed; answer lost (connection dropped)"
            self.log.append({"method": "POST", "path": entry["path"], "query": "",
                             "status": "dropped"})
            await send({"type": "http.response.start", "status": 201,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"@odata.context":"',
                        "more_body": False})
            return
        if fault == "500":
            entry["status"], entry["note"] = 500, "committed; answered 500 (answer lost)"
            self.log.append({"method": "POST", "path": entry["path"], "query": "",
                             "status": 500})
            await JSONResponse(fake_fo.error_body("An error has occurred.",
                                                  "System.Net.Http.HttpRequestException"),
                               500, {"OData-Version": "4.0"})(scope, receive, send)
            return
        entry["status"] = 201
        self.log.append({"method": "POST", "path": entry["path"], "query": "", "status": 201})
        out = {"@odata.context": f"{root}/$metadata#{set_name}/$entity", **full}
        await JSONResponse(out, 201, {"OData-Version": "4.0", "ETag": full["@odata.etag"],
                                      "Location": f"{root}/{set_name}({key_txt})"})(
            scope, receive, send)

    def _new_header(self, co: str, body: dict[str, Any], today: Any) -> dict[str, Any]:
        missing = [f for f in _REQUIRED[HEADERS] if f != "dataAreaId" and not body.get(f)]
        if missing:
            raise WriteError(400, _infolog(HEADERS, *(f"Field '{f}' must be filled in"
                                                      for f in missing)))
        cust_no = body["CustomerAccountNumber"]
        cust = next((r for r in self.svc.data["CustomersV3"]
                     if r["dataAreaId"] == co and r["CustomerAccount"] == cust_no), None)
        if cust is None:
            raise WriteError(400, _infolog(
                HEADERS, f"The value '{cust_no}' in field 'Customer account' is not found in "
                "the related table 'Customers'",
                f"validateField failed on field '{ENTITY_CLASS[HEADERS]}.CustomerAccountNumber'"))
        checks = (("CustomerReturnReasonCode", "ReturnReasonCodeBiEntities", "ReasonCodeId",
                   "Return reason code"),
                  ("DefaultReturnWarehouseId", "Warehouses", "WarehouseId", "Warehouse"),
                  ("InvoiceCustomerAccountNumber", "CustomersV3", "CustomerAccount",
                   "Invoice account"))
        for fld, set_name, key_field, label in checks:
            v = body.get(fld)
            if v and not self._exists(set_name, co, key_field, v):
                raise WriteError(400, _infolog(
                    HEADERS, f"The value '{v}' in field '{label}' is not found in the related "
                    f"table", f"validateField failed on field '{ENTITY_CLASS[HEADERS]}.{fld}'"))
        wh = body.get("DefaultReturnWarehouseId") or ""
        site = next((r["OperationalSiteId"] for r in self.svc.data["Warehouses"]
                     if r["dataAreaId"] == co and r["WarehouseId"] == wh), "")
        rec = {k: v for k, v in body.items() if not k.startswith("@odata.")}
        rec.update(
            dataAreaId=co,
            ReturnOrderNumber=f"{self.world.seq(co + 'SO', 10401):06d}",
            RMANumber=f"{self.world.seq(co + 'RMA', 701):05d}",
            InvoiceCustomerAccountNumber=body.get("InvoiceCustomerAccountNumber") or cust_no,
            CurrencyCode=body.get("CurrencyCode") or cust.get("SalesCurrencyCode", ""),
            DefaultReturnSiteId=body.get("DefaultReturnSiteId") or site,
            ReturnDeadline=scenario.fo_date(today + timedelta(days=30)),  # W6
            ReturnStatus="Created", ReturnOrderStatus="Backorder",
            IsReturnProcessingStopped=body.get("IsReturnProcessingStopped", "No"),
            Email=body.get("Email") or cust.get("PrimaryContactEmail", ""),
        )
        return rec

    def _new_line(self, co: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        missing = [f for f in _REQUIRED[LINES] if f != "dataAreaId" and body.get(f) in
                   (None, "")]
        if missing:
            raise WriteError(400, _infolog(LINES, *(f"Field '{f}' must be filled in"
                                                    for f in missing)))
        header = self._find(HEADERS, {"dataAreaId": co,
                                      "ReturnOrderNumber": str(body["ReturnOrderNumber"])})
        if header is None:
            raise WriteError(400, _infolog(LINES, f"Return order {body['ReturnOrderNumber']} "
                                           f"does not exist in {co}"))
        if header["ReturnStatus"] not in ("Created", "Open"):
            raise WriteError(400, _infolog(LINES, f"Return order {header['ReturnOrderNumber']} "
                                           f"has return status {header['ReturnStatus']}: lines "
                                           "can't be added"))
        item = str(body["ItemNumber"])
        product = next((r for r in self.svc.data["ReleasedProductsV2"]
                        if r["dataAreaId"] == co and r["ItemNumber"] == item), None)
        if product is None:
            raise WriteError(400, _infolog(LINES, f"The value '{item}' in field 'Item number' "
                                           "is not found in the related table 'Released "
                                           "products'"))
        qty = Decimal(str(body["ReturnSalesQuantity"]))
        if qty >= 0:  # W4
            raise WriteError(400, _infolog(LINES, "The return quantity must be negative"))
        for fld, set_name, key_field, label in (
                ("ReturnWarehouseId", "Warehouses", "WarehouseId", "Warehouse"),
                ("ReturnDispositionCode", "ReturnDispositionCodes", "DispositionCode",
                 "Disposition code")):
            v = body.get(fld)
            if v and not self._exists(set_name, co, key_field, v):
                raise WriteError(400, _infolog(LINES, f"The value '{v}' in field '{label}' is "
                                               "not found in the related table"))
        siblings = [r for r in self.svc.data[LINES] if r["dataAreaId"] == co
                    and r["ReturnOrderNumber"] == header["ReturnOrderNumber"]]
        price = Decimal(str(body.get("SalesPrice", product.get("SalesPrice", 0))))
        wh = body.get("ReturnWarehouseId") or header.get("DefaultReturnWarehouseId", "")
        site = next((r["OperationalSiteId"] for r in self.svc.data["Warehouses"]
                     if r["dataAreaId"] == co and r["WarehouseId"] == wh), "")
        rec = {k: v for k, v in body.items() if not k.startswith("@odata.")}
        rec.update(
            dataAreaId=co,
            ReturnOrderNumber=header["ReturnOrderNumber"],
            ReturnInventoryLotId=f"{co.upper()}-{self.world.seq(co + 'LOT', 300001):06d}",
            LineCreationSequenceNumber=max((r["LineCreationSequenceNumber"] for r in siblings),
                                           default=0) + 1,
            RMANumber=header["RMANumber"],
            SalesUnitSymbol=body.get("SalesUnitSymbol") or product.get("SalesUnitSymbol", ""),
            SalesPrice=scenario.num(price),
            LineAmount=scenario.num(scenario.q2(price * qty)),
            ReturnWarehouseId=wh, ReturnSiteId=body.get("ReturnSiteId") or site,
            ReturnStatus="Awaiting", ReferenceType="Sales",
            ReferenceNumber=header["ReturnOrderNumber"],
            CustomerAccountNumber=header["CustomerAccountNumber"],
            InvoiceCustomerAccountNumber=header["InvoiceCustomerAccountNumber"],
        )
        return rec, header

    def _recompute_header(self, header: dict[str, Any]) -> None:
        lines = [r for r in self.svc.data[LINES] if r["dataAreaId"] == header["dataAreaId"]
                 and r["ReturnOrderNumber"] == header["ReturnOrderNumber"]]
        header["OrderTotalAmount"] = scenario.num(sum((Decimal(str(r["LineAmount"]))
                                                       for r in lines), Decimal(0)))
        header["@odata.etag"] = new_etag(header, fake_fo.ENTITIES[HEADERS].key)
        self._sync_v1(HEADERS, header)

    def _sync_v1(self, set_name: str, rec: dict[str, Any]) -> None:
        """Keep the V1 projections (ReturnOrderHeaders / ReturnOrderLines) in step."""
        for ent in fake_fo.ENTITIES.values():
            if ent.source != set_name:
                continue
            proj = fake_fo.complete(ent, {k: v for k, v in rec.items()
                                          if k in ent.props})
            proj["@odata.etag"] = rec["@odata.etag"]
            rows = self.svc.data[ent.name]
            for i, r in enumerate(rows):
                if all(r.get(k) == rec.get(k) for k in ent.key):
                    rows[i] = proj
                    break
            else:
                rows.append(proj)

    # -- views for the check ---------------------------------------------------------------
    def records(self, set_name: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.svc.data[set_name])

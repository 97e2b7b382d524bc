"""Dynamics 365 Finance & Operations as its docs describe it (docs/vendors/d365-fo.md): a
second reading of them, not a mirror of the connector (which it never imports).

The environment keeps OData data entities (§5) for several legal entities and serves them
at `<environment>/data/<EntitySet>`: the user's default company unless `cross-company=true`
(§1.2), `$filter` with lower-case `and`/`or` and enum members qualified by their type (a
bare string on an enum is refused, §3.3), `$select`, `$top`/`$skip`, server-driven pages of
up to 10,000 records with an opaque `@odata.nextLink` (§3.2), a weak `@odata.etag` on every
record, enums as member names, decimals as numbers, "" for an unset string and 1900-01-01
for a blank date (§3.4). Tokens come from an Entra-like endpoint and are good only for the
environment they were asked for (scope = the environment URL + /.default, §2.2). Over the
limits: 429 with Retry-After (§4.1). Errors in the OData envelope (§8.1).

A canonical scenario is played through the return order's lifecycle (§6.1-6.2): the return
order (RMA) is created (header `Created`, lines `Awaiting`); an arrival registers lines
(`Registered` with a disposition code, or `Quarantine` without one until inspected; a
partial arrival splits the line, the rest still `Awaiting`); the packing slip makes them
`Received`; the invoice (the credit note: a `SalesInvoiceHeadersV2` record whose
`SalesOrderNumber` is the return order's number, amounts negative) makes them `Invoiced`
and closes the order. Where the scenario says what F&O cannot: a customer the company lacks
is one on hold (a return order names an existing customer); a draft credit note is not
there (F&O's invoice journal holds posted invoices only); a cancelled return order has no
arrivals (only a `Created` one can be cancelled); an ERP record under an unknown reference
is a return order header under it; a second credit note of one return (a duplicate) is
posted from another sales order carrying the return's reference, since a return order's own
invoices never credit the same goods twice.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...exact_json import compact_json
from ...kits.odata.server import ODataError, TrackedList, query, track
from ...sandbox.faults import Faults

TENANT = "contoso-sandbox.onmicrosoft.com"
CLIENT_ID = "5a1f8e2c-0d3b-4c6a-9f7e-2b8d4c6e1a30"
CLIENT_SECRET = "fo-sandbox-client-secret"
COMPANY = "usrt"
#: The service user's default company (§1.2): what a read without cross-company sees.
DEFAULT_COMPANY = "dat"
MAX_PAGE = 10_000
TOKEN_SECONDS = 3599
NS = "Microsoft.Dynamics.DataEntities"
BLANK = "1900-01-01T00:00:00Z"
WAREHOUSE = "MAIN"

#: Enum-typed properties per entity set (§5.4, §5.8, §5.9): what `$filter` must qualify.
ENUMS: dict[str, dict[str, str]] = {
    "ReturnOrderHeadersV2": {"ReturnStatus": f"{NS}.ReturnStatusHeader",
                             "ReturnOrderStatus": f"{NS}.SalesStatus",
                             "IsReturnProcessingStopped": f"{NS}.NoYes",
                             "IsReplacementSalesOrderCreated": f"{NS}.NoYes"},
    "ReturnOrderLinesV2": {"ReturnStatus": f"{NS}.ReturnStatusLine"},
    "CustomersV3": {"OnHoldStatus": f"{NS}.CustVendorBlocked"},
    "ProductDefaultOrderSettings": {"IsSalesProcessingStopped": f"{NS}.NoYes",
                                    "IsInventoryProcessingStopped": f"{NS}.NoYes"},
    "ReleasedProductsV2": {"ProductType": f"{NS}.EcoResProductType"},
    "LedgerFiscalPeriods": {"PeriodStatus": f"{NS}.FiscalPeriodStatus",
                            "SalesAccessLevel": f"{NS}.ModulePeriodStat"},
    "FiscalPeriods": {"Type": f"{NS}.FiscalPeriodType"},
    "ReturnDispositionCodes": {"DispositionAction": f"{NS}.DispositionAction"},
}
#: Entity sets without a dataAreaId (§5.9): every company sees them.
SHARED = frozenset({"LedgerFiscalPeriods", "FiscalPeriods"})
SETS = ("ReturnOrderHeadersV2", "ReturnOrderLinesV2", "SalesInvoiceHeadersV2",
        "ReleasedProductsV2", "ProductDefaultOrderSettings", "CustomersV3",
        "LedgerFiscalPeriods", "FiscalPeriods", "ReturnDispositionCodes",
        "ReturnReasonCodeBiEntities", "Warehouses", "CustomerPaymentMethods")
#: The scenario's disposition codes and the built-in action each references (§5.5).
DISPOSITIONS = {"RESELL": "Credit", "QUARANTINE": "Scrap", "SUPPLIER": "Scrap",
                "REPLACE": "ReplaceCredit", "CREDONLY": "CreditOnly"}
#: §9 S6: the resource-based limit's message (the others are gone since 10.0.36, §4.2).
THROTTLED = ("This request could not be processed at this time due to system experiencing "
             "high resource utilization.")


def day_stamp(day: date) -> str:
    """A date-only field as F&O sends it (§3.4: the date at noon UTC)."""
    return f"{day.isoformat()}T12:00:00Z"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _number(value: Any) -> float:
    """A decimal as F&O's JSON carries it (a number)."""
    return float(Decimal(str(value)))


@dataclass
class Environment:
    """One environment's records by entity set, changed only through its lifecycle."""

    sets: dict[str, TrackedList] = field(
        default_factory=lambda: {name: track([]) for name in SETS})
    _seq: dict[str, int] = field(default_factory=dict)
    _versions: int = 0

    def next(self, kind: str) -> int:
        self._seq[kind] = self._seq.get(kind, 0) + 1
        return self._seq[kind]

    def etag(self, rec_id: int) -> str:
        """A weak ETag like F&O's (§3.4, §8.2: base64 of 'recVersion,RecId')."""
        self._versions += 1
        token = base64.b64encode(f"'{self._versions},{rec_id}'".encode()).decode()
        return f'W/"{token}"'

    def add(self, entity: str, record: dict[str, Any], company: str | None = COMPANY) -> dict:
        rec_id = 5637144576 + self.next("recid")
        body = {"@odata.etag": self.etag(rec_id)}
        if company is not None:
            body["dataAreaId"] = company
        body.update(record)
        self.sets[entity].append(body)
        return self.sets[entity][-1]

    def find(self, entity: str, **match: Any) -> list[dict]:
        return [r for r in self.sets[entity] if all(r.get(k) == v for k, v in match.items())]


class _Renderer:
    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        as_of = snapshot.get("as_of")
        self.as_of = _moment(as_of) if as_of else datetime.now(UTC).replace(microsecond=0)
        self.env = Environment()
        self.customers: set[str] = set()

    def render(self) -> Environment:
        master = self.snapshot.get("erp_master") or {}
        env = self.env
        for item in master.get("items") or []:
            uom = item.get("base_uom") or "ea"
            env.add("ReleasedProductsV2", {
                "ItemNumber": item["number"], "ProductNumber": item["number"],
                "SearchName": item["number"], "InventoryUnitSymbol": uom,
                "SalesUnitSymbol": uom,
                "ProductType": "Service" if item.get("type") == "service" else "Item"})
            blocked = "Yes" if item.get("blocked") else "No"
            env.add("ProductDefaultOrderSettings", {
                "ItemNumber": item["number"], "IsSalesProcessingStopped": blocked,
                "IsInventoryProcessingStopped": "No", "IsProcurementProcessingstopped": "No"})
        for customer in master.get("customers") or []:
            self.customer(customer["number"], customer.get("email"))
        for code in master.get("locations") or []:
            env.add("Warehouses", {"WarehouseId": code, "WarehouseName": code,
                                   "OperationalSiteId": "1"})
        for code in master.get("payment_methods") or []:
            env.add("CustomerPaymentMethods", {"Name": code, "Description": code,
                                               "PaymentType": "Other"})
        for code in master.get("reasons") or []:
            env.add("ReturnReasonCodeBiEntities", {"ReasonCodeId": code,
                                                   "ReasonCodeGroupId": "RET",
                                                   "Description": code})
        for code, action in DISPOSITIONS.items():
            env.add("ReturnDispositionCodes", {"DispositionCode": code,
                                               "DispositionDescription": code.title(),
                                               "DispositionAction": action})
        self.periods(master.get("periods") or [])
        # another legal entity's records, which a read without cross-company never sees
        env.add("Warehouses", {"WarehouseId": "DAT-1", "WarehouseName": "Other company",
                               "OperationalSiteId": "1"}, company=DEFAULT_COMPANY)
        cases = list(self.snapshot.get("returns") or [])
        cases.sort(key=lambda c: (c.get("platform", {}).get("created_at") or "",
                                  (c.get("erp") or {}).get("return_ref") or ""))
        for case in cases:
            self.play(case)
        return env

    def periods(self, periods: list[dict[str, Any]]) -> None:
        """One fiscal calendar of monthly operating periods (§5.9): dates in FiscalPeriods,
        status and module access in LedgerFiscalPeriods."""
        for period in sorted(periods, key=lambda p: p["start"]):
            start = date.fromisoformat(period["start"])
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            name = f"Period {start.month}"
            year = str(start.year)
            self.env.add("FiscalPeriods", {
                "Calendar": "Fiscal", "FiscalYear": year, "PeriodName": name,
                "StartDate": day_stamp(start), "EndDate": day_stamp(end), "Type": "Operating",
                "Month": start.strftime("%B"), "ShortName": start.strftime("%b %Y")},
                company=None)
            closed = bool(period.get("closed"))
            self.env.add("LedgerFiscalPeriods", {
                "LedgerName": COMPANY.upper(), "LegalEntityId": COMPANY, "Calendar": "Fiscal",
                "YearName": year, "PeriodName": name,
                "PeriodStatus": "Closed" if closed else "Open",
                "SalesAccessLevel": "All", "CustAccessLevel": "All",
                "InventAccessLevel": "All", "LedgerAccessLevel": "All"}, company=None)

    def customer(self, number: str, email: str | None = None, *, hold: str = "No") -> None:
        if number in self.customers:
            return
        self.customers.add(number)
        self.env.add("CustomersV3", {
            "CustomerAccount": number, "OrganizationName": f"Customer {number}",
            "PartyType": "Organization", "CustomerGroupId": "RETAIL",
            "PrimaryContactEmail": email or "", "OnHoldStatus": hold,
            "SalesCurrencyCode": "GBP", "CreditLimit": 0})

    def play(self, case: dict[str, Any]) -> None:
        erp = case.get("erp") or {}
        if not erp or (not erp.get("return_ref") and not erp.get("stages")):
            return
        env = self.env
        stages = erp.get("stages") or {}
        platform = case.get("platform") or {}
        started = _moment(platform["created_at"]) if platform.get("created_at") else self.as_of
        authorised = stages.get("authorised") or {}
        unlinked = bool(case.get("unlinked"))
        if authorised.get("status") not in ("done", "pending", "failed") and not unlinked:
            return
        customer = erp.get("customer_ref") or ""
        if customer and customer not in self.customers:
            self.customer(customer, hold="All")
        created = _moment(authorised["at"]) if authorised.get("at") else started
        number = f"{env.next('return'):06d}"
        lines = [] if unlinked else list(erp.get("lines") or [])
        reason = next((ln.get("reason") for ln in lines if ln.get("reason")), "")
        state = erp.get("return_order_state") or "open"
        cancelled = authorised.get("status") == "failed" or state == "cancelled"
        stopped = authorised.get("status") == "pending" or state == "on_hold"
        received = stages.get("received") or {}
        inspected = stages.get("inspected") or {}
        arrived = received.get("status") == "done" and not cancelled
        decided = inspected.get("status") == "done"
        notes = [n for n in erp.get("credit_notes") or []
                 if n.get("status") == "posted" and not unlinked]
        slip = (stages.get("restocked") or {}).get("status") == "done" or bool(notes)
        header = env.add("ReturnOrderHeadersV2", {
            "ReturnOrderNumber": number, "RMANumber": f"{int(number):05d}",
            "CustomerAccountNumber": customer, "InvoiceCustomerAccountNumber": customer,
            "CustomersOrderReference": erp.get("return_ref") or "",
            "CustomerRequisitionNumber": erp.get("order_ref") or "",
            "CustomerReturnReasonCode": reason or "",
            "ReturnDeadline": day_stamp(created.date() + timedelta(days=30)),
            "DefaultReturnSiteId": "1", "DefaultReturnWarehouseId": WAREHOUSE,
            "CurrencyCode": "GBP", "LanguageId": "en-gb", "Email": "",
            "ReturnStatus": "Canceled" if cancelled else ("Open" if arrived else "Created"),
            "ReturnOrderStatus": "Canceled" if cancelled else "Backorder",
            "IsReturnProcessingStopped": "Yes" if stopped and not cancelled else "No",
            "ReplacementSalesOrderNumber": "", "IsReplacementSalesOrderCreated": "No",
            "OrderTotalAmount": 0, "OrderTotalTaxAmount": 0, "OrderTotalChargesAmount": 0,
            "TotalDiscountAmount": 0})
        status = "Canceled" if cancelled else "Awaiting"
        for line in lines:
            quantity = Decimal(line.get("quantity") or 0)
            got = min(Decimal(line.get("received_quantity") or 0), quantity) if arrived \
                else Decimal(0)
            base = {"ReturnOrderNumber": number, "RMANumber": header["RMANumber"],
                    "ItemNumber": line["item_no"], "SalesUnitSymbol": line.get("uom") or "ea",
                    "ReturnWarehouseId": line.get("location") or WAREHOUSE,
                    "ExpectedReturnArrivalDate": day_stamp(created.date() + timedelta(days=7)),
                    "CustomerAccountNumber": customer}
            if got > 0:
                at = _moment(received["at"]) if received.get("at") else started
                done = "Invoiced" if notes else ("Received" if slip and decided
                                                 else ("Registered" if decided
                                                       else "Quarantine"))
                self.line(base, got, done, arrived_at=at,
                          disposition=(line.get("disposition") or "") if decided else "",
                          returned=got if done in ("Received", "Invoiced") else Decimal(0),
                          closed_at=_moment(notes[-1]["posted_at"]) if notes and notes[-1].get(
                              "posted_at") else None)
            if quantity - got > 0 or quantity == 0:
                self.line(base, quantity - got, status)
        for n, note in enumerate(notes):
            # a return order's invoices credit what no earlier one did (§6.1): a second
            # credit of the same return is one posted from another sales order that carries
            # the return's reference (a credit made by hand, or by a second integration run)
            self.invoice(note, number if n == 0 else f"SO-{env.next('order'):06d}", erp)
        if notes and lines and not cancelled:
            header["ReturnStatus"] = "Closed"
            header["ReturnOrderStatus"] = "Invoiced"
        elif slip and arrived and decided:
            header["ReturnOrderStatus"] = "Delivered"
        exchanged = stages.get("exchanged") or {}
        if exchanged.get("status") == "done":
            header["IsReplacementSalesOrderCreated"] = "Yes"
            header["ReplacementSalesOrderNumber"] = f"SO-{env.next('order'):06d}"

    def line(self, base: dict[str, Any], quantity: Decimal, status: str, *,
             arrived_at: datetime | None = None, disposition: str = "",
             returned: Decimal = Decimal(0), closed_at: datetime | None = None) -> None:
        env = self.env
        seq = env.next("line")
        env.add("ReturnOrderLinesV2", {
            **base, "ReturnInventoryLotId": f"{seq:09d}", "LineCreationSequenceNumber": seq,
            "ReturnSalesQuantity": -_number(quantity),  # negative on a return line (U15)
            "ReturnedSalesQuantity": -_number(returned), "ReturnStatus": status,
            "ReturnDispositionCode": disposition,
            "ActualReturnArrivalDate": stamp(arrived_at) if arrived_at else BLANK,
            "ReturnClosedDate": stamp(closed_at) if closed_at else BLANK,
            "SalesPrice": 0, "LineAmount": 0, "TotalTaxAmount": 0, "ItemBatchNumber": "",
            "ItemSerialNumber": "", "ProductColorId": "", "ProductSizeId": "",
            "ProductStyleId": "", "ProductConfigurationId": ""})

    def invoice(self, note: dict[str, Any], number: str, erp: dict[str, Any]) -> None:
        """The credit note: the return order's invoice, amounts negative (U20); charges
        positive for a fee the customer pays, negative for shipping refunded."""
        amounts = note.get("amounts") or {}
        money = {k: Decimal(str(amounts.get(k) or 0))
                 for k in ("items", "tax", "shipping", "discounts", "fees")}
        total = money["items"] + money["tax"] + money["shipping"] - money["discounts"] \
            - money["fees"]
        posted = note.get("posted_at")
        day = date.fromisoformat(note["posting_date"]) if note.get("posting_date") else (
            _moment(posted).date() if posted else self.as_of.date())
        seq = self.env.next("invoice")
        customer = note.get("customer_ref") or erp.get("customer_ref") or ""
        if customer and customer not in self.customers:
            self.customer(customer, hold="All")
        self.env.add("SalesInvoiceHeadersV2", {
            "InvoiceNumber": f"CIV-{seq:06d}", "InvoiceDate": day_stamp(day),
            "LedgerVoucher": f"ARI-{seq:06d}", "SalesOrderNumber": number,
            "CustomersOrderReference": note.get("external_ref") or "",
            "InvoiceCustomerAccountNumber": customer,
            "CurrencyCode": (amounts.get("currency") or "GBP").upper(),
            "TotalInvoiceAmount": -_number(total), "TotalTaxAmount": -_number(money["tax"]),
            "InvoiceHeaderTaxAmount": 0,
            "TotalChargeAmount": _number(money["fees"] - money["shipping"]),
            "TotalDiscountAmount": _number(money["discounts"]),
            "PaymentTermsName": "", "DeliveryModeCode": "", "ContactPersonId": ""})


def render(snapshot: dict[str, Any]) -> Environment:
    return _Renderer(snapshot).render()


# -- the web service -------------------------------------------------------------------------


class FoSimulator:
    """The token endpoint and the OData service over an `Environment` (sandbox/hosted.py)."""

    def __init__(self, env: Environment, *, faults: Faults | None = None,
                 tenant: str = TENANT, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET, page_size: int = MAX_PAGE) -> None:
        self.env = env
        self.faults = faults or Faults()
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        #: Token → (the audience it was issued for, when it expires).
        self.tokens: dict[str, tuple[str, float]] = {}
        self.requests = 0
        self.token_requests = 0
        self.writes: list[dict[str, Any]] = []
        self._failures: list[tuple[int, bool]] = []
        #: Header fields `$metadata` marks AllowEdit false on this installation (U16).
        self.locked: frozenset[str] = frozenset()

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/data/$metadata", self._metadata, methods=["GET"]),
            Route("/data/{entity}", self._entity, methods=["GET", "POST", "PATCH"]),
            Route("/data/{rest:path}", self._not_simulated,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ])

    # -- what the sandbox asks of every simulator ----------------------------------------

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"tenant": self.tenant, "client_id": self.client_id, "company": COMPANY,
                "token_url": f"{base_url}/{self.tenant}/oauth2/v2.0/token"}

    def touch(self, refs: set[str], at: datetime) -> None:
        """Return orders carry no change stamp (§5.2): an edit shows only as a new ETag."""
        for record in self.env.sets["ReturnOrderHeadersV2"]:
            if record.get("CustomersOrderReference") in refs:
                record["@odata.etag"] = self.env.etag(0)

    def expire_sessions(self) -> None:
        self.tokens.clear()

    def native_code(self, kind: str, code: str) -> str:
        return code

    def credentials(self) -> dict[str, str]:
        return {"client_secret": self.client_secret}

    def native(self) -> Any:
        return {name: list(records) for name, records in self.env.sets.items()}

    def writes_json(self) -> bytes:
        return json.dumps(self.writes, default=str).encode()

    def clear_writes(self) -> int:
        cleared = len(self.writes)
        self.writes.clear()
        return cleared

    def bump(self, entity: str, record_id: str) -> dict[str, Any]:
        """Someone else saves the return order (same values): its ETag changes."""
        name = "ReturnOrderHeadersV2" if entity in ("headers", "ReturnOrderHeadersV2") \
            else entity
        for record in self.env.sets.get(name, []):
            if record.get("ReturnOrderNumber") == record_id:
                record["@odata.etag"] = self.env.etag(0)
                return dict(record)
        raise KeyError(f"no {entity} {record_id}")

    def fail_writes(self, count: int = 1, *, status: int = 503, after: bool = False) -> None:
        self._failures.extend([(status, after)] * max(0, count))

    # -- tokens (§2.2) -------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        tenant = request.path_params["tenant"]
        if tenant != self.tenant:
            return _entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        form = dict(parse_qsl((await request.body()).decode(errors="replace"),
                              keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _entra_error(400, "unsupported_grant_type", 70003,
                                "The app requested an unsupported grant type.")
        if form.get("client_id") != self.client_id:
            return _entra_error(400, "unauthorized_client", 700016,
                                f"Application with identifier '{form.get('client_id')}' was "
                                f"not found in the directory '{tenant}'.")
        if form.get("client_secret") != self.client_secret:
            return _entra_error(401, "invalid_client", 7000215,
                                "Invalid client secret provided. Ensure the secret being sent "
                                "in the request is the client secret value, not the client "
                                f"secret ID, for a secret added to app '{self.client_id}'.")
        scope = form.get("scope") or ""
        if not scope.endswith("/.default"):
            return _entra_error(400, "invalid_scope", 70011,
                                "The provided value for the input parameter 'scope' is not "
                                f"valid. The scope {scope} is not valid.")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (scope.removesuffix("/.default"), time.monotonic() + TOKEN_SECONDS)
        return JSONResponse({"token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                             "ext_expires_in": TOKEN_SECONDS, "access_token": token})

    def _authorised(self, request: Request) -> bool:
        """A token of ours, unexpired, whose audience is this environment: the URL the
        request came to, lower case, without a trailing slash (§2.2)."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        found = self.tokens.get(header.removeprefix("Bearer "))
        if found is None or found[1] < time.monotonic():
            return False
        here = str(request.url).split("/data/", 1)[0].lower().rstrip("/")
        return found[0] == here

    # -- the OData service ---------------------------------------------------------------

    async def _metadata(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorised(request):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(metadata(self.locked), media_type="application/xml")

    async def _entity(self, request: Request) -> Response:
        """A collection (GET, POST to create) or one record by its key (GET, PATCH)."""
        self.requests += 1
        if request.method == "GET":
            fault = await self.faults.before(request, _server_error, _throttled)
            if fault is not None:
                return fault
        if not self._authorised(request):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        segment = request.path_params["entity"]
        if "(" in segment:
            return await self._keyed(request, segment)
        if request.method == "POST":
            return await self._write(request, segment, None)
        if request.method != "GET":
            return _odata_error(405, "The HTTP method is not allowed on a collection.")
        return await self._collection(request, segment)

    async def _collection(self, request: Request, entity: str) -> Response:
        records = self.env.sets.get(entity)
        if records is None:
            return _odata_error(404, f"Resource not found for the segment '{entity}'.")
        params = list(request.query_params.multi_items())
        given = dict(params)
        cross = given.get("cross-company", "").lower() == "true"
        if entity not in SHARED and not cross:
            # the default company only (§1.2): another's records are not there
            records = track([r for r in records if r.get("dataAreaId") == DEFAULT_COMPANY])
        base = str(request.url).split("?", 1)[0]
        try:
            page = query(records, params, base_url=base,
                         prefer=request.headers.get("prefer") or
                         f"odata.maxpagesize={self.page_size}",
                         unknown_property=_unknown(entity), most=self.page_size,
                         enums=ENUMS.get(entity, {}))
        except ODataError as exc:
            return _odata_error(exc.status, exc.message)
        body: dict[str, Any] = {"@odata.context": f"{base.rsplit('/data/', 1)[0]}/data/"
                                f"$metadata#{entity}", "value": page.rows}
        if page.next_link:
            body["@odata.nextLink"] = page.next_link
        return Response(compact_json(body),
                        media_type="application/json; odata.metadata=minimal")

    async def _keyed(self, request: Request, segment: str) -> Response:
        entity, _, rest = segment.partition("(")
        key = dict(_KEY_PART.findall(rest.rstrip(")")))
        cross = request.query_params.get("cross-company", "").lower() == "true"
        company = {k: v.replace("''", "'") for k, v in key.items()}.get("dataAreaId")
        number = key.get("ReturnOrderNumber", "").replace("''", "'")
        found = next((r for r in self.env.sets.get(entity, [])
                      if r.get("ReturnOrderNumber") == number
                      and r.get("dataAreaId") == company
                      and (cross or company == DEFAULT_COMPANY)), None) \
            if entity == "ReturnOrderHeadersV2" else None
        if found is None:
            return _odata_error(404, f"No resource was found for the key in '{segment}'.")
        if request.method == "GET":
            return JSONResponse({"@odata.context": "$metadata#" + entity + "/$entity",
                                 **found})
        if request.method == "PATCH":
            return await self._write(request, entity, found)
        return _odata_error(405, "The HTTP method is not allowed on this resource.")

    async def _write(self, request: Request, entity: str, record: dict | None) -> Response:
        """A PATCH of a header, or a POST of a header or a line; journaled as received."""
        raw = await request.body()
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode(errors="replace")
        status, response = self._change(request, entity, record, body)
        self.writes.append({
            "method": request.method, "path": request.path_params["entity"],
            "query": dict(request.query_params),
            "headers": {k: v for k, v in request.headers.items()
                        if k.lower() not in ("authorization", "cookie")},
            "body": body, "status": status})
        return response

    def _change(self, request: Request, entity: str, record: dict | None,
                body: Any) -> tuple[int, Response]:
        failing = self._failures.pop(0) if self._failures else None
        if failing is not None and not failing[1]:
            return failing[0], _server_error_status(failing[0])
        if not isinstance(body, dict):
            return 400, _odata_error(400, "The request body is not a JSON object.")
        if record is not None:  # PATCH
            given = request.headers.get("if-match")
            if given is not None and given != record.get("@odata.etag"):
                return 412, _odata_error(412, "The record was changed by another user since "
                                              "it was read (the ETag does not match).")
            for name in body:
                if name not in HEADER_EDITABLE or name in self.locked:
                    return 400, _write_failed(
                        "ReturnOrderHeaderV2Entity",
                        f"Warning: Field '{name}' cannot be changed.")
            record.update(body)
            record["@odata.etag"] = self.env.etag(0)
            done = 204, Response(status_code=204)
        elif entity == "ReturnOrderHeadersV2":
            done = self._new_header(body)
        elif entity == "ReturnOrderLinesV2":
            done = self._new_line(body)
        else:
            return 405, _odata_error(405, f"The console's sandbox does not create {entity}.")
        if failing is not None:  # made, but the answer is lost
            return failing[0], _server_error_status(failing[0])
        return done

    def _new_header(self, body: dict[str, Any]) -> tuple[int, Response]:
        company = body.get("dataAreaId") or DEFAULT_COMPANY
        customer = body.get("CustomerAccountNumber")
        if not any(c.get("CustomerAccount") == customer and c.get("dataAreaId") == company
                   for c in self.env.sets["CustomersV3"]):
            return 400, _write_failed(
                "ReturnOrderHeaderV2Entity",
                f"Warning: The value '{customer}' in field 'Customer account' is not found in "
                "the related table 'Customers'.")
        env = self.env
        number = f"{env.next('return'):06d}"
        today = datetime.now(UTC).date()
        made = env.add("ReturnOrderHeadersV2", {
            "ReturnOrderNumber": number, "RMANumber": f"{int(number):05d}",
            "CustomerAccountNumber": customer,
            "InvoiceCustomerAccountNumber": body.get("InvoiceCustomerAccountNumber") or customer,
            "CustomersOrderReference": body.get("CustomersOrderReference") or "",
            "CustomerRequisitionNumber": body.get("CustomerRequisitionNumber") or "",
            "CustomerReturnReasonCode": body.get("CustomerReturnReasonCode") or "",
            "ReturnDeadline": day_stamp(today + timedelta(days=30)),
            "DefaultReturnSiteId": "1",
            "DefaultReturnWarehouseId": body.get("DefaultReturnWarehouseId") or WAREHOUSE,
            "CurrencyCode": body.get("CurrencyCode") or "GBP", "LanguageId": "en-gb",
            "Email": "", "ReturnStatus": "Created", "ReturnOrderStatus": "Backorder",
            "IsReturnProcessingStopped": "No", "ReplacementSalesOrderNumber": "",
            "IsReplacementSalesOrderCreated": "No", "OrderTotalAmount": 0,
            "OrderTotalTaxAmount": 0, "OrderTotalChargesAmount": 0, "TotalDiscountAmount": 0},
            company=company)
        return 201, JSONResponse({"@odata.context": "$metadata#ReturnOrderHeadersV2/$entity",
                                  **made}, status_code=201)

    def _new_line(self, body: dict[str, Any]) -> tuple[int, Response]:
        company = body.get("dataAreaId") or DEFAULT_COMPANY
        number = body.get("ReturnOrderNumber")
        header = next((h for h in self.env.sets["ReturnOrderHeadersV2"]
                       if h.get("ReturnOrderNumber") == number
                       and h.get("dataAreaId") == company), None)
        if header is None:
            return 400, _write_failed("ReturnOrderLineV2Entity",
                                      f"Warning: Return order {number} does not exist.")
        item = body.get("ItemNumber")
        product = next((r for r in self.env.sets["ReleasedProductsV2"]
                        if str(r.get("ItemNumber")).casefold() == str(item).casefold()
                        and r.get("dataAreaId") == company), None)
        if product is None:
            return 400, _write_failed(
                "ReturnOrderLineV2Entity",
                f"Warning: The value '{item}' in field 'Item number' is not found in the "
                "related table 'Released products'.")
        quantity = body.get("ReturnSalesQuantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity >= 0:
            # the sandbox's reading of U15: a return line's quantity is negative
            return 400, _write_failed(
                "ReturnOrderLineV2Entity",
                "Error: The quantity on a return line must be negative.")
        seq = self.env.next("line")
        made = self.env.add("ReturnOrderLinesV2", {
            "ReturnOrderNumber": number, "RMANumber": header["RMANumber"],
            "ReturnInventoryLotId": f"{seq:09d}", "LineCreationSequenceNumber": seq,
            "ItemNumber": product["ItemNumber"],
            "SalesUnitSymbol": body.get("SalesUnitSymbol") or product["SalesUnitSymbol"],
            "ReturnWarehouseId": body.get("ReturnWarehouseId") or
            header["DefaultReturnWarehouseId"],
            "ReturnSalesQuantity": quantity, "ReturnedSalesQuantity": 0,
            "ReturnStatus": "Awaiting", "ReturnDispositionCode": "",
            "ExpectedReturnArrivalDate": day_stamp(datetime.now(UTC).date()),
            "ActualReturnArrivalDate": BLANK, "ReturnClosedDate": BLANK,
            "SalesPrice": body.get("SalesPrice") or 0, "LineAmount": 0, "TotalTaxAmount": 0,
            "CustomerAccountNumber": header["CustomerAccountNumber"], "ItemBatchNumber": "",
            "ItemSerialNumber": "", "ProductColorId": "", "ProductSizeId": "",
            "ProductStyleId": "", "ProductConfigurationId": ""}, company=company)
        return 201, JSONResponse({"@odata.context": "$metadata#ReturnOrderLinesV2/$entity",
                                  **made}, status_code=201)

    async def _not_simulated(self, request: Request) -> Response:
        self.requests += 1
        return _odata_error(404, "Resource not found for the segment "
                                 f"'{request.path_params['rest'].split('/')[0]}'.")


#: The header fields a PATCH may change here (the sandbox's reading of U16; `$metadata`
#: marks the rest AllowEdit false).
HEADER_EDITABLE = frozenset({"CustomersOrderReference", "CustomerRequisitionNumber",
                             "CustomerReturnReasonCode"})
_KEY_PART = re.compile(r"(\w+)='((?:[^']|'')*)'")


def metadata(locked: frozenset[str] = frozenset()) -> str:
    """The part of `$metadata` the console's writer reads (§1.1, §9 S11): the entity sets of
    return orders and their types, each property's edit annotation."""
    def prop(name: str, editable: bool) -> str:
        note = "" if editable else (
            '<Annotation Term="Microsoft.Dynamics.OData.Core.V1.AllowEdit" Bool="false" />')
        return (f'<Property Name="{name}" Type="Edm.String">{note}</Property>')

    header = "".join(prop(n, n in HEADER_EDITABLE and n not in locked) for n in (
        "dataAreaId", "ReturnOrderNumber", "RMANumber", "CustomerAccountNumber",
        "CustomersOrderReference", "CustomerRequisitionNumber", "CustomerReturnReasonCode"))
    line = "".join(prop(n, False) for n in ("dataAreaId", "ReturnOrderNumber",
                                            "ReturnInventoryLotId", "ItemNumber"))
    return (
        '<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" '
        'xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
        f'<Schema Namespace="{NS}" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        f'<EntityType Name="ReturnOrderHeaderV2">{header}</EntityType>'
        f'<EntityType Name="ReturnOrderLineV2">{line}</EntityType>'
        '<EntityContainer Name="Resources">'
        f'<EntitySet Name="ReturnOrderHeadersV2" EntityType="{NS}.ReturnOrderHeaderV2" />'
        f'<EntitySet Name="ReturnOrderLinesV2" EntityType="{NS}.ReturnOrderLineV2" />'
        '</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>')


def _write_failed(entity: str, infolog: str) -> Response:
    """§8.1 / §9 S10: a write F&O refuses, its infolog in `innererror.message`."""
    return JSONResponse({"error": {"code": "", "message": "An error has occurred.",
                                   "innererror": {
                                       "message": f"Write failed for table row of type "
                                                  f"'{entity}'. Infolog: {infolog}",
                                       "type": "Microsoft.Dynamics.Platform.Integration."
                                               "Services.OData.AxODataWriteException",
                                       "stacktrace": "   at sandbox"}}}, status_code=400)


def _server_error_status(status: int) -> Response:
    return JSONResponse({"error": {"code": "", "message": "An error has occurred."}},
                        status_code=status)


def _unknown(entity: str) -> Any:
    def make(name: str) -> ODataError:
        return ODataError(400, "", f"Could not find a property named '{name}' on type "
                                   f"'{NS}.{entity.rstrip('s')}'.")
    return make


def _odata_error(status: int, message: str, headers: Mapping[str, str] | None = None
                 ) -> Response:
    """§8.1's envelope: an empty code, the text in `message` (a write failure puts the
    infolog in `innererror.message`)."""
    return JSONResponse({"error": {"code": "", "message": message}}, status_code=status,
                        headers=dict(headers or {}))


def _throttled(retry_after: float) -> Response:
    return _odata_error(429, THROTTLED, {"Retry-After": f"{max(1, round(retry_after))}"})


def _server_error() -> Response:
    return JSONResponse({"error": {"code": "", "message": "An error has occurred.",
                                   "innererror": {"message": "The service is unavailable.",
                                                  "type": "System.Exception",
                                                  "stacktrace": "   at sandbox"}}},
                        status_code=500)


def _entra_error(status: int, error: str, code: int, description: str) -> Response:
    trace = "255d1aef-8c98-452f-ac51-23d051240864"
    return JSONResponse({
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
                             "Correlation ID: fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7\r\n"
                             "Timestamp: 2026-01-01 00:00:00Z",
        "error_codes": [code], "trace_id": trace,
        "correlation_id": "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"}, status_code=status)


def build(snapshot: dict, *, faults: Faults | None = None, **knobs: Any) -> FoSimulator:
    """The simulator loaded with a canonical scenario's ERP side; `page_size` (knob) makes
    the server's pages smaller than 10,000, so paging shows in a small scenario."""
    page_size = int(knobs.pop("page_size", MAX_PAGE))
    if knobs:
        raise TypeError(f"the F&O simulator takes no {', '.join(knobs)}")
    return FoSimulator(render(snapshot), faults=faults, page_size=page_size)

"""Business Central simulator: API v2.0 of one company, rendered from a demo scenario.

Paths, Entra ID client-credentials tokens, entity-set and field names, status strings,
`@odata.etag`, server-driven paging and the error body follow
docs/vendors/business-central.md. Where the vendor facts mark something UNKNOWN the
simulator makes a choice and the connector does not depend on it:

- salesReturnOrders `status` is sent as "Open", "Released" or "Pending Approval" (the OData
  spelling is unknown; the connector also accepts "Pending_x0020_Approval"). BC has no closed
  or cancelled return order (a fully posted one is deleted), so canonical `closed` and
  `cancelled` states are sent as "Open": the demo scenario never has them.
- 429 carries `Retry-After` (documented only for 502/503).
- The 503 error code (`Internal_ServiceUnavailable`) is ours; the docs give none.
- A fee on a credit memo is a line for the fee service item with quantity -1, so its
  `amountExcludingTax` is negative (BC accepts negative quantities on sales documents).

Writes (docs/vendors/business-central.md §1.4 to §1.6, messages from BCApps' APIV2 pages
where those quote them): PATCH checks `If-Match` (missing or unreadable: 400
`BadRequest_InvalidToken`; stale: 409 `Request_EntityChanged`; `*` passes, as in BC) and
answers 200 with the record, its ETag and `lastModifiedDateTime` new. A posted credit memo
cannot be changed, and salesReturnOrders / returnReceipts / accountingPeriods are read-only
API pages (405).
POST salesCreditMemos deep-inserts a draft with its lines (201), all or nothing; the bound
action `Microsoft.NAV.post` (204) turns a draft into a posted memo ("Open") with a posted
number and a NEW id (older BC versions do this; newer ones keep the draft's id), the draft
gone. Every write request is kept in `BcSimulator.writes`, the journal tests read. The
simulator's own choices:

- Error codes for BC's field errors (`Application_FieldValidationException` for a value
  missing from a related table, `Application_DialogException` for the rest) and the texts
  of messages the research does not quote (read-only property, blocked customer) are ours.
- A new credit memo line carries 20% VAT on an inventory item, none on a service item (as
  the demo company's memos); prices default to the item's unit price.
- The shipping item (`SHIPPING`) is not in the demo company's item list (its reads compare
  that list with the scenario), but the simulator knows it, as the company's memos use it.
- Creating and changing are simulated for what the connector writes: credit memos, and
  PATCH on sales orders and master data; other writes answer 405 saying so.
- Draft numbers come from the series S-CR1001, S-CR1002, ...; posted ones continue the
  highest PCM number.

`render_company` turns a canonical snapshot into the entity sets; `BcSimulator` serves them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...exact_json import exact_json
from ...kits.odata.server import (
    WORK,
    Indexed,
    ODataError,
    query,
    remember,
    shape,
    split_list,
    track,
)
from ...sandbox.faults import Faults

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL,
                       "https://api.businesscentral.dynamics.com/returns-console/sandbox")
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
#: BC's blank date.
BLANK_DATE = "0001-01-01"
COMPANY_NAME = "Northwind Outfitters Ltd"
LOCAL_CURRENCY = "GBP"
SHIPPING_ITEM = "SHIPPING"
FEE_ITEM = "FEE-RETURN"
SCOPE = "https://api.businesscentral.dynamics.com/.default"
CENT = Decimal("0.01")

#: Entity set → (entity type, nested line collection it can $expand, if any).
ENTITY_SETS: dict[str, tuple[str, str | None]] = {
    "items": ("item", None),
    "customers": ("customer", None),
    "locations": ("location", None),
    "customerReturnReasons": ("customerReturnReason", None),
    "paymentMethods": ("paymentMethod", None),
    "accountingPeriods": ("accountingPeriod", None),
    "unitsOfMeasure": ("unitOfMeasure", None),
    "salesInvoices": ("salesInvoice", "salesInvoiceLines"),
    "salesReturnOrders": ("salesReturnOrder", "salesReturnOrderLines"),
    "returnReceipts": ("returnReceipt", None),
    "salesCreditMemos": ("salesCreditMemo", "salesCreditMemoLines"),
    "salesOrders": ("salesOrder", "salesOrderLines"),
}
#: Navigations the demo company renders no records for: expanded, they are empty lists.
EMPTY_NAVS = frozenset({"salesInvoiceLines", "salesOrderLines"})
#: Line collections also addressable on their own: line set → (entity type, parent set).
LINE_SETS = {
    "salesReturnOrderLines": ("salesReturnOrderLine", "salesReturnOrders"),
    "salesCreditMemoLines": ("salesCreditMemoLine", "salesCreditMemos"),
}
#: What older tenants lack (present only in microsoft/BCApps, not in the Learn docs).
RETURN_ORDER_SETS = frozenset({"salesReturnOrders", "returnReceipts", "salesReturnOrderLines"})

#: API pages BC publishes read-only (BCApps: Editable=false; the docs list GET only).
READ_ONLY_SETS = frozenset({"salesReturnOrders", "returnReceipts", "salesReturnOrderLines",
                            "accountingPeriods"})
#: Sets whose records the simulator lets a PATCH change.
PATCHABLE_SETS = frozenset({"salesCreditMemos", "salesOrders", "items", "customers",
                            "locations", "customerReturnReasons", "paymentMethods",
                            "unitsOfMeasure"})
#: Properties no PATCH or POST sets: BC computes them.
READ_ONLY_FIELDS = frozenset({"id", "number", "status", "lastModifiedDateTime",
                              "pricesIncludeTax", "totalAmountExcludingTax", "totalTaxAmount",
                              "totalAmountIncludingTax", "amountExcludingTax", "taxPercent",
                              "amountIncludingTax", "netAmount",
                              "netTaxAmount", "netAmountIncludingTax",
                              "invoiceDiscountAllocation", "documentId", "sequence"})
#: What a POST of a credit memo may carry: the research's property lists (section 1.2).
CREDIT_MEMO_FIELDS = frozenset({
    "externalDocumentNumber", "creditMemoDate", "postingDate", "dueDate", "customerId",
    "customerNumber", "customerName", "billToName", "billToCustomerId",
    "billToCustomerNumber", "sellToAddressLine1", "sellToAddressLine2", "sellToCity",
    "sellToCountry", "sellToState", "sellToPostCode", "billToAddressLine1",
    "billToAddressLine2", "billToCity", "billToCountry", "billToState",
    "billToPostCode", "shortcutDimension1Code", "shortcutDimension2Code", "currencyId",
    "currencyCode", "paymentTermsId", "shipmentMethodId", "salesperson",
    "discountAmount", "discountAppliedBeforeTax", "invoiceId", "invoiceNumber",
    "phoneNumber", "email", "customerReturnReasonId", "salesCreditMemoLines"})
#: And each of its lines.
CREDIT_MEMO_LINE_FIELDS = frozenset({
    "itemId", "accountId", "lineType", "lineObjectNumber", "description",
    "description2", "unitOfMeasureId", "unitOfMeasureCode", "unitPrice", "quantity",
    "discountAmount", "discountPercent", "discountAppliedBeforeTax", "taxCode",
    "shipmentDate", "itemVariantId", "locationId"})
#: Headers the write journal never keeps.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
VAT_RATE = Decimal(20)

#: As OData sends enum names: a space is `_x0020_`, a hyphen `_x002D_`
#: (docs/vendors/business-central.md §1.3a).
RETURN_ORDER_STATUS = {"open": "Open", "released": "Released",
                       "on_hold": "Pending_x0020_Approval",
                       "closed": "Open", "cancelled": "Open"}
CREDIT_MEMO_STATUS = {"draft": "Draft", "posted": "Open", "cancelled": "Canceled"}
CUSTOMER_BLOCKED = {"": " ", "ship": "Ship", "invoice": "Invoice", "all": "All"}
ITEM_TYPE = {"inventory": "Inventory", "service": "Service",
             "non_inventory": "Non_x002D_Inventory"}
UNITS = {"PCS": ("Piece", "H87"), "PACK": ("Pack", "PK"), "EA": ("Each", "EA")}
LOCATION_NAMES = {"MAIN": "Main warehouse", "QUAR": "Quarantine", "RETURNS": "Returns bay"}
REASON_NAMES = {"SIZE": "Wrong size", "UNWANTED": "No longer wanted", "DEFECT": "Defective",
                "DESCR": "Not as described"}
PAYMENT_NAMES = {"CARD": "Card payment", "GIFTCARD": "Gift card"}


# ------------------------------------------------------------------------------ helpers


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """BC's `lastModifiedDateTime`: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_number(value: Decimal | int) -> int | float:
    # BC sends JSON numbers; the connector reads them back as Decimal, never float.
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def etag_for(record: dict[str, Any]) -> str:
    """A weak ETag shaped like BC's (`W/"JzQ0O…"`, base64 of `'44;<key><version>;'`): the key
    part follows the record id, the version part its content, so it changes with the record."""
    body = {k: v for k, v in record.items() if k != "@odata.etag"}
    content = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()
    key = base64.b64encode(hashlib.sha256(str(body.get("id")).encode()).digest()[:20]).decode()
    version = int.from_bytes(content[:8], "big") % 10**13
    inner = f"'44;{key}1;{version:013d};'"
    return 'W/"' + base64.b64encode(inner.encode()).decode() + '"'


def with_etag(record: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in record.items() if k != "@odata.etag"}
    return {"@odata.etag": etag_for(body), **body}


def _done(stage: dict | None) -> TypeGuard[dict]:
    return bool(stage and stage.get("status") == "done" and stage.get("at"))


def _digits(stage: dict | None, fallback: int) -> str:
    ids = (stage or {}).get("record_ids") or []
    found = re.sub(r"\D", "", ids[0]) if ids else ""
    return found or f"{fallback:06d}"


def _split(total: Decimal, parts: int) -> list[Decimal]:
    """`total` in `parts` equal shares to the cent, the remainder on the first."""
    if parts <= 0:
        return []
    share = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    out = [share] * parts
    out[0] += total - share * parts
    return out


class _Sets(dict[str, list[dict[str, Any]]]):
    """Entity set name → its records, each set a `TrackedList` (however it is put in), so
    the OData engine can keep what it learns about a set until the set changes."""

    def __init__(self, sets: Mapping[str, list[dict[str, Any]]] | None = None) -> None:
        super().__init__()
        for name, records in (sets or {}).items():
            self[name] = records

    def __setitem__(self, name: str, records: list[dict[str, Any]]) -> None:
        super().__setitem__(name, track(records))


@dataclass(slots=True)
class BcData:
    """One company's entity sets, each a list of records exactly as the API sends them
    (kept as `TrackedList`s: see kits/odata/server.py)."""

    tenant: str
    environment: str
    company: dict[str, Any]
    sets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Other companies of the same environment (read-only here): BC environments commonly
    #: hold several, and a connector reading the wrong one must not go unnoticed.
    neighbours: list[BcData] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sets = _Sets(self.sets)

    def find(self, entity_set: str, **match: Any) -> dict[str, Any]:
        for record in self.sets[entity_set]:
            if all(record.get(k) == v for k, v in match.items()):
                return record
        raise KeyError(f"no {entity_set} record with {match}")

    def clock(self) -> datetime:
        """The server's time for a write: now, but never before a stamp it already holds
        (the demo's timeline can run a little ahead of the wall clock, and an incremental
        reader must see every write as the newest change)."""
        newest = max((r["lastModifiedDateTime"] for records in self.sets.values()
                      for r in records if isinstance(r.get("lastModifiedDateTime"), str)),
                     default="")
        now = datetime.now(UTC)
        if newest and newest > stamp(now):
            return datetime.fromisoformat(newest.replace("Z", "+00:00")) + timedelta(
                milliseconds=1)
        return now

    def update(self, entity_set: str, record_id: str, *, at: datetime | None = None,
               **changes: Any) -> dict[str, Any]:
        """Change a record as a user in BC would: new values, `lastModifiedDateTime` and
        `@odata.etag`."""
        records = self.sets[entity_set]
        moment = at or self.clock()
        for n, record in enumerate(records):
            if record["id"] == record_id:
                changed = with_etag({**record, **changes, "lastModifiedDateTime": stamp(moment)})
                if changed["@odata.etag"] == record.get("@odata.etag"):
                    # The same content in the same millisecond: BC's version still moves on.
                    changed = with_etag({**changed, "lastModifiedDateTime": stamp(
                        moment + timedelta(milliseconds=1))})
                records[n] = changed
                return records[n]
        raise KeyError(f"no {entity_set} record {record_id}")


# ------------------------------------------------------------------------------ rendering


class _Renderer:
    def __init__(self, snapshot: dict, tenant: str, environment: str) -> None:
        self.snapshot = snapshot
        self.tenant = tenant
        self.environment = environment
        as_of = snapshot.get("as_of")
        self.as_of = parse_time(as_of) if as_of else datetime.now(UTC).replace(microsecond=0)
        self.master_at = (self.as_of - timedelta(days=400)).replace(
            hour=8, minute=0, second=0, microsecond=0)
        self.unit_ids: dict[str, str] = {}
        self.customers: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.exchange_invoices: list[dict] = []

    def guid(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{self.tenant}/{self.environment}/{kind}/{key}"))

    def entity(self, kind: str, key: str, fields: dict[str, Any],
               modified: datetime | None = None) -> dict[str, Any]:
        body = {"id": self.guid(kind, key), **fields}
        if modified is not None:
            body["lastModifiedDateTime"] = stamp(modified)
        return with_etag(body)

    def customer_name(self, number: str) -> str:
        digits = re.sub(r"\D", "", number)
        return f"Customer {int(digits)}" if digits else number

    # -- master data ---------------------------------------------------------------------

    def render(self) -> BcData:
        master = self.snapshot.get("erp_master") or {}
        returns = self.snapshot.get("returns") or []
        company = {
            "id": self.guid("company", COMPANY_NAME),
            "systemVersion": "30.0.0.0",
            "timestamp": 1000,
            "name": COMPANY_NAME,
            "displayName": COMPANY_NAME,
            "businessProfileId": "",
            "systemCreatedAt": stamp(self.master_at),
            "systemCreatedBy": ZERO_GUID,
            "systemModifiedAt": stamp(self.master_at),
            "systemModifiedBy": ZERO_GUID,
        }
        sets: dict[str, list[dict]] = {}
        sets["unitsOfMeasure"] = self.units(master, returns)
        sets["items"] = self.items(master)
        sets["customers"] = self.customer_records(master)
        sets["locations"] = [
            self.entity("location", code, {
                "code": code, "displayName": LOCATION_NAMES.get(code, code.title()),
                "contact": "", "addressLine1": "", "addressLine2": "", "city": "",
                "state": "", "country": "GB", "postalCode": "", "phoneNumber": "",
                "email": "", "website": ""}, self.master_at)
            for code in sorted(self._codes(master.get("locations")))
        ]
        sets["customerReturnReasons"] = [
            self.entity("customerReturnReason", code, {
                "code": code, "description": REASON_NAMES.get(code, code.title())},
                self.master_at)
            for code in sorted(self._codes(master.get("reasons")))
        ]
        sets["paymentMethods"] = [
            self.entity("paymentMethod", code, {
                "code": code, "displayName": PAYMENT_NAMES.get(code, code.title())},
                self.master_at)
            for code in sorted(self._codes(master.get("payment_methods")))
        ]
        sets["accountingPeriods"] = [
            self.entity("accountingPeriod", p["start"], {
                "startingDate": p["start"], "name": p.get("name") or "",
                "newFiscalYear": date.fromisoformat(p["start"]).month == 1,
                "closed": bool(p.get("closed")), "dateLocked": False}, self.master_at)
            for p in sorted(master.get("periods") or [], key=lambda p: p["start"])
        ]
        sets["salesInvoices"] = self.sales_invoices(returns)
        documents = self.documents(returns)
        sets.update(documents)
        sets["salesInvoices"] += self.exchange_invoices
        for name, records in sets.items():
            key = "startingDate" if name == "accountingPeriods" else (
                "code" if records and "code" in records[0] else "number")
            records.sort(key=lambda r: (str(r.get(key, "")), r["id"]))
        return BcData(tenant=self.tenant, environment=self.environment, company=company,
                      sets=sets)

    @staticmethod
    def _codes(values: Iterable[Any] | None) -> set[str]:
        out = set()
        for v in values or ():
            code = v.get("code") if isinstance(v, dict) else v
            if isinstance(code, str) and code:
                out.add(code)
        return out

    def units(self, master: dict, returns: list[dict]) -> list[dict]:
        codes = set(UNITS)
        codes |= {i["base_uom"] for i in master.get("items") or [] if i.get("base_uom")}
        codes |= {ln["uom"] for c in returns for ln in (c.get("erp") or {}).get("lines") or []
                  if ln.get("uom")}
        out = []
        for code in sorted(codes):
            name, iso_code = UNITS.get(code, (code.title(), ""))
            record = self.entity("unitOfMeasure", code, {
                "code": code, "displayName": name, "internationalStandardCode": iso_code,
                "symbol": ""}, self.master_at)
            self.unit_ids[code] = record["id"]
            out.append(record)
        return out

    def items(self, master: dict) -> list[dict]:
        out = []
        for item in master.get("items") or []:
            number = item["number"]
            kind = ITEM_TYPE[item.get("type") or "inventory"]
            uom = item.get("base_uom") or ""
            out.append(self.entity("item", number, {
                "number": number,
                "displayName": number.replace("-", " ").title(),
                "displayName2": "",
                "type": kind,
                "itemCategoryId": ZERO_GUID,
                "itemCategoryCode": "",
                "blocked": bool(item.get("blocked")),
                "gtin": "",
                "inventory": 0,
                "unitPrice": 0,
                "priceIncludesTax": False,
                "unitCost": 0,
                "taxGroupId": ZERO_GUID,
                "taxGroupCode": "",
                "baseUnitOfMeasureId": self.unit_ids.get(uom, ZERO_GUID),
                "baseUnitOfMeasureCode": uom,
                "generalProductPostingGroupId": ZERO_GUID,
                "generalProductPostingGroupCode": "SERVICES" if kind == "Service" else "RETAIL",
                "inventoryPostingGroupId": ZERO_GUID,
                "inventoryPostingGroupCode": "" if kind == "Service" else "RESALE",
            }, self.master_at))
        return out

    def customer_records(self, master: dict) -> list[dict]:
        out = []
        for c in master.get("customers") or []:
            number = c["number"]
            record = self.entity("customer", number, {
                "number": number,
                "displayName": self.customer_name(number),
                "type": "Person",
                "addressLine1": "", "addressLine2": "", "city": "", "state": "",
                "country": "GB", "postalCode": "", "phoneNumber": "",
                "email": c.get("email") or "",
                "website": "", "salespersonCode": "", "balanceDue": 0, "creditLimit": 0,
                "taxLiable": True, "taxAreaId": ZERO_GUID, "taxAreaDisplayName": "",
                "taxRegistrationNumber": "", "currencyId": ZERO_GUID, "currencyCode": "",
                "paymentTermsId": ZERO_GUID, "shipmentMethodId": ZERO_GUID,
                "paymentMethodId": ZERO_GUID,
                "blocked": CUSTOMER_BLOCKED[c.get("blocked") or ""],
            }, self.master_at)
            self.customers[number] = record
            out.append(record)
        return out

    def _customer_fields(self, number: str | None, prefix: str = "customer") -> dict:
        number = number or ""
        return {f"{prefix}Id": self.guid("customer", number) if number else ZERO_GUID,
                f"{prefix}Number": number,
                f"{prefix}Name": self.customer_name(number) if number else ""}

    # -- documents -----------------------------------------------------------------------

    def sales_invoices(self, returns: list[dict]) -> list[dict]:
        """One posted sales invoice per original order any ERP record refers to."""
        orders: dict[str, tuple[str | None, datetime]] = {}
        for case in returns:
            erp = case.get("erp") or {}
            moments = [parse_time(s["at"]) for s in (erp.get("stages") or {}).values()
                       if s.get("at")]
            created = (case.get("platform") or {}).get("created_at")
            if created:
                moments.append(parse_time(created))
            first = min(moments) if moments else self.as_of
            refs = [(erp.get("order_ref"), erp.get("customer_ref"))] + [
                (cn.get("order_ref"), cn.get("customer_ref"))
                for cn in erp.get("credit_notes") or []]
            for ref, customer in refs:
                if not ref:
                    continue
                known = orders.get(ref)
                orders[ref] = (known[0] if known else customer,
                               min(known[1], first) if known else first)
        out = []
        for n, (ref, (customer, first)) in enumerate(orders.items(), start=1):
            posted = first - timedelta(days=7)
            day = posted.date().isoformat()
            digits = re.sub(r"\D", "", ref) or str(n)
            record = self.entity("salesInvoice", ref, {
                "number": f"SI-{n:06d}",
                "externalDocumentNumber": ref,
                "invoiceDate": day, "postingDate": day, "dueDate": day,
                "promisedPayDate": BLANK_DATE,
                "customerPurchaseOrderReference": "",
                **self._customer_fields(customer),
                "billToName": self.customer_name(customer or ""),
                "currencyId": ZERO_GUID, "currencyCode": "",
                "orderId": ZERO_GUID, "orderNumber": f"SO{int(digits):06d}",
                "status": "Paid", "remainingAmount": 0,
            }, posted)
            self.invoices[ref] = record
            out.append(record)
        return out

    def documents(self, returns: list[dict]) -> dict[str, list[dict]]:
        """Each return's documents in the state BC keeps them (docs/vendors/business-central.md
        §1.3a): a return order posted Receive + Invoice is deleted, leaving its posted return
        receipt and credit memo (one in four stays, as when the credit memo was made apart and the
        "Delete Invoiced Sales Return Orders" job has not run yet); a replacement sales
        order shipped and invoiced is deleted, leaving its posted sales invoice."""
        orders, receipts, memos, sales_orders = [], [], [], []
        for n, case in enumerate(returns, start=1):
            erp = case.get("erp") or {}
            stages = erp.get("stages") or {}
            lines = erp.get("lines") or []
            authorised, received = stages.get("authorised"), stages.get("received")
            notes = erp.get("credit_notes") or []
            # Posted from the return order itself (Receive + Invoice): the memo carries the
            # order's references. A memo made apart leaves the order until the batch job.
            invoiced = any(note.get("status") == "posted"
                           and note.get("order_ref") == erp.get("order_ref")
                           and note.get("customer_ref") == erp.get("customer_ref")
                           for note in notes)
            if _done(authorised):
                number = f"SRO{_digits(authorised, n)}"
                fully_posted = _done(received) and invoiced and all(
                    line.get("received_quantity") == line.get("quantity") for line in lines)
                if not fully_posted or n % 4 == 0:
                    orders.append(self.return_order(number, erp, authorised, received, lines))
                if _done(received):
                    receipts.append(self.return_receipt(number, erp, authorised, received))
            for note in notes:
                memos.append(self.credit_memo(note, lines, paid=n % 3 == 0))
            exchanged = stages.get("exchanged")
            if _done(exchanged):
                order = self.sales_order(erp, exchanged, n)
                # shipped and invoiced (every other one, once two days old): deleted
                if n % 2 == 0 and parse_time(exchanged["at"]) < self.as_of - timedelta(days=2):
                    self.exchange_invoices.append(self.invoiced(order, erp))
                else:
                    sales_orders.append(order)
        return {"salesReturnOrders": orders, "returnReceipts": receipts,
                "salesCreditMemos": memos, "salesOrders": sales_orders}

    def invoiced(self, order: dict, erp: dict) -> dict:
        """A replacement order shipped and invoiced: BC deletes it and keeps the posted
        sales invoice, which carries the order's external document number."""
        day = order["orderDate"]
        number = "PSI" + order["number"].removeprefix("SO-X")
        customer = erp.get("customer_ref") or ""
        return self.entity("salesInvoice", number, {
            "number": number,
            "externalDocumentNumber": order["externalDocumentNumber"],
            "invoiceDate": day, "postingDate": day, "dueDate": day,
            "promisedPayDate": BLANK_DATE, "customerPurchaseOrderReference": "",
            **self._customer_fields(customer),
            "billToName": self.customer_name(customer) if customer else "",
            "currencyId": ZERO_GUID, "currencyCode": "",
            "orderId": ZERO_GUID, "orderNumber": order["number"],
            "status": "Open", "remainingAmount": 0,
        }, parse_time(order["lastModifiedDateTime"]) + timedelta(days=1))

    def return_order(self, number: str, erp: dict, authorised: dict, received: dict | None,
                     lines: list[dict]) -> dict:
        at = parse_time(authorised["at"])
        modified = parse_time(received["at"]) if _done(received) else at
        day = at.date().isoformat()
        customer = erp.get("customer_ref") or ""
        state = erp.get("return_order_state") or "open"
        doc_id = self.guid("salesReturnOrder", number)
        out_lines = []
        for k, line in enumerate(lines, start=1):
            qty = Decimal(line["quantity"])
            got = Decimal(line["received_quantity"]) if line.get("received_quantity") else (
                Decimal(0))
            out_lines.append(self.entity("salesReturnOrderLine", f"{number}/{k}", {
                "documentType": "Return Order",
                "documentNumber": number,
                "sequence": 10000 * k,
                "lineType": "Item",
                "lineObjectNumber": line["item_no"],
                "description": line["item_no"].replace("-", " ").title(),
                "description2": "",
                "unitOfMeasureCode": line.get("uom") or "",
                "quantity": json_number(qty),
                "unitPrice": 0, "lineDiscountPercent": 0, "lineDiscountAmount": 0,
                "lineAmount": 0, "taxPercent": 0, "amountIncludingTax": 0,
                "returnQtyToReceive": json_number(qty - got),
                "returnQtyReceived": json_number(got),
                "shortcutDimension1Code": "", "shortcutDimension2Code": "",
            }, modified))
        return with_etag({
            "id": doc_id,
            "number": number,
            "externalDocumentNumber": erp.get("return_ref") or "",
            "documentDate": day, "postingDate": day, "dueDate": day, "orderDate": day,
            "requestedDeliveryDate": BLANK_DATE,
            "sellToCustomerNumber": customer,
            "sellToCustomerName": self.customer_name(customer) if customer else "",
            "billToName": self.customer_name(customer) if customer else "",
            "billToCustomerNumber": customer,
            "currencyCode": "", "pricesIncludingVAT": False,
            "paymentTermsCode": "", "shipmentMethodCode": "", "salespersonCode": "",
            "yourReference": erp.get("order_ref") or "",
            "locationCode": "",
            "shortcutDimension1Code": "", "shortcutDimension2Code": "",
            "status": RETURN_ORDER_STATUS[state],
            "lastModifiedDateTime": stamp(modified),
            "salesReturnOrderLines": out_lines,
        })

    def return_receipt(self, order_number: str, erp: dict, authorised: dict,
                       received: dict) -> dict:
        at = parse_time(received["at"])
        customer = erp.get("customer_ref") or ""
        number = f"PRR{order_number.removeprefix('SRO')}"
        return self.entity("returnReceipt", number, {
            "number": number,
            "externalDocumentNumber": erp.get("return_ref") or "",
            "documentDate": parse_time(authorised["at"]).date().isoformat(),
            "postingDate": at.date().isoformat(),
            "dueDate": at.date().isoformat(),
            "sellToCustomerNumber": customer,
            "sellToCustomerName": self.customer_name(customer) if customer else "",
            "billToCustomerNumber": customer,
            "currencyCode": "", "pricesIncludingVAT": False,
            "yourReference": erp.get("order_ref") or "",
            "locationCode": "",
            "orderNumber": order_number,
        }, at)

    def credit_memo(self, note: dict, lines: list[dict], *, paid: bool = False) -> dict:
        amounts = note.get("amounts") or {}
        money = {k: Decimal(amounts.get(k) or 0)
                 for k in ("items", "tax", "shipping", "discounts", "fees")}
        currency = (amounts.get("currency") or LOCAL_CURRENCY).upper()
        posting = note.get("posting_date")
        if note.get("posted_at"):
            modified = parse_time(note["posted_at"])
        elif posting:
            modified = datetime.combine(date.fromisoformat(posting), datetime.min.time(), UTC)
        else:
            modified = self.as_of
        day = posting or BLANK_DATE
        status = CREDIT_MEMO_STATUS[note.get("status") or "posted"]
        if paid and status == "Open":
            # Applied to the refund payment later: BC moves lastModifiedDateTime, not the
            # posting date (the docs' own salesInvoice sample shows the same).
            status = "Paid"
            modified = min(modified + timedelta(days=4, hours=3), self.as_of)
        doc_id = self.guid("salesCreditMemo", note["id"])
        customer = note.get("customer_ref") or ""
        invoice = self.invoices.get(note.get("order_ref") or "")
        item_amounts = _split(money["items"], len(lines))
        item_taxes = _split(money["tax"], len(lines))
        rate = (money["tax"] * 100 / money["items"]).quantize(CENT) if money["items"] else 0
        out_lines: list[dict] = []

        def add(item_no: str, qty: Decimal, uom: str, amount: Decimal, tax: Decimal,
                location: str | None) -> None:
            seq = 10000 * (len(out_lines) + 1)
            price = (amount / qty).quantize(Decimal("0.00001")) if qty else amount
            out_lines.append(self.entity("salesCreditMemoLine", f"{note['id']}/{seq}", {
                "documentId": doc_id,
                "sequence": seq,
                "itemId": self.guid("item", item_no),
                "accountId": ZERO_GUID,
                "lineType": "Item",
                "lineObjectNumber": item_no,
                "description": item_no.replace("-", " ").title(),
                "description2": "",
                "unitOfMeasureId": self.unit_ids.get(uom, ZERO_GUID),
                "unitOfMeasureCode": uom,
                "unitPrice": json_number(price),
                "quantity": json_number(qty),
                "discountAmount": 0, "discountPercent": 0, "discountAppliedBeforeTax": False,
                "amountExcludingTax": json_number(amount),
                "taxCode": "VAT" if tax else "",
                "taxPercent": json_number(rate) if tax else 0,
                "totalTaxAmount": json_number(tax),
                "amountIncludingTax": json_number(amount + tax),
                "invoiceDiscountAllocation": 0,
                "netAmount": json_number(amount),
                "netTaxAmount": json_number(tax),
                "netAmountIncludingTax": json_number(amount + tax),
                "shipmentDate": day,
                "itemVariantId": ZERO_GUID,
                "locationId": self.guid("location", location) if location else ZERO_GUID,
            }))

        for line, amount, tax in zip(lines, item_amounts, item_taxes, strict=True):
            qty = Decimal(line.get("received_quantity") or line["quantity"])
            add(line["item_no"], qty, line.get("uom") or "", amount, tax, line.get("location"))
        if money["shipping"] > 0:
            add(SHIPPING_ITEM, Decimal(1), "EA", money["shipping"], Decimal(0), None)
        if money["fees"] > 0:
            add(FEE_ITEM, Decimal(-1), "EA", -money["fees"], Decimal(0), None)
        excluding = money["items"] + money["shipping"] - money["discounts"] - money["fees"]
        reason = next((ln.get("reason") for ln in lines if ln.get("reason")), None)
        return with_etag({
            "id": doc_id,
            "number": note.get("number") or note["id"],
            "externalDocumentNumber": note.get("external_ref") or "",
            "creditMemoDate": day,
            "postingDate": day,
            "dueDate": day,
            **self._customer_fields(customer),
            "billToName": self.customer_name(customer) if customer else "",
            "billToCustomerId": self.guid("customer", customer) if customer else ZERO_GUID,
            "billToCustomerNumber": customer,
            "sellToAddressLine1": "", "sellToAddressLine2": "", "sellToCity": "",
            "sellToCountry": "GB", "sellToState": "", "sellToPostCode": "",
            "billToAddressLine1": "", "billToAddressLine2": "", "billToCity": "",
            "billToCountry": "GB", "billToState": "", "billToPostCode": "",
            "shortcutDimension1Code": "", "shortcutDimension2Code": "",
            "currencyId": ZERO_GUID if currency == LOCAL_CURRENCY else self.guid("currency",
                                                                              currency),
            "currencyCode": "" if currency == LOCAL_CURRENCY else currency,
            "paymentTermsId": ZERO_GUID, "shipmentMethodId": ZERO_GUID, "salesperson": "",
            "pricesIncludeTax": False,
            "discountAmount": json_number(money["discounts"]),
            "discountAppliedBeforeTax": True,
            "totalAmountExcludingTax": json_number(excluding),
            "totalTaxAmount": json_number(money["tax"]),
            "totalAmountIncludingTax": json_number(excluding + money["tax"]),
            "status": status,
            "lastModifiedDateTime": stamp(modified),
            "invoiceId": invoice["id"] if invoice else ZERO_GUID,
            "invoiceNumber": invoice["number"] if invoice else "",
            "phoneNumber": "",
            "email": (self.customers.get(customer) or {}).get("email", ""),
            "customerReturnReasonId": (self.guid("customerReturnReason", reason) if reason
                                       else ZERO_GUID),
            "salesCreditMemoLines": out_lines,
        })

    def sales_order(self, erp: dict, exchanged: dict, n: int) -> dict:
        at = parse_time(exchanged["at"])
        ids = exchanged.get("record_ids") or []
        number = ids[0] if ids and ids[0].startswith("SO-X") else f"SO-X{_digits(exchanged, n)}"
        customer = erp.get("customer_ref") or ""
        return self.entity("salesOrder", number, {
            "number": number,
            "externalDocumentNumber": erp.get("return_ref") or "",
            "orderDate": at.date().isoformat(),
            "postingDate": at.date().isoformat(),
            **self._customer_fields(customer),
            "currencyCode": "",
            "status": "Open",
        }, at)


def render_company(snapshot: dict, *, tenant: str, environment: str) -> BcData:
    """A canonical snapshot (its `erp_master` and each return's `erp` side) as one Business
    Central company's entity sets, shaped as API v2.0 sends them, in an environment that
    also holds a second company (BC's own demo company) with decoys: credit memos under the
    same external document numbers, which only a connector reading the wrong company sees."""
    data = _Renderer(snapshot, tenant, environment).render()
    data.neighbours.append(_decoy(data))
    return data


DECOY_COMPANY = "CRONUS UK Ltd."


def _decoy(data: BcData) -> BcData:
    company = {**data.company, "id": str(uuid.uuid5(NAMESPACE, f"decoy/{data.company['id']}")),
               "name": DECOY_COMPANY, "displayName": DECOY_COMPANY}
    memos = [with_etag({**memo, "id": str(uuid.uuid5(NAMESPACE, "decoy/" + memo["id"])),
                        "number": "CR" + memo["number"]})
             for memo in data.sets.get("salesCreditMemos", [])[:3]]
    return BcData(tenant=data.tenant, environment=data.environment, company=company,
                  sets={name: [] for name in data.sets} | {"salesCreditMemos": memos})


# ------------------------------------------------------------------------------ server


def _lines(parents: list[dict[str, Any]], name: str) -> Indexed:
    """Every document's lines, in order: a line set read on its own."""
    WORK.examined += len(parents)
    return Indexed(line for record in parents for line in record[name])


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


ODATA_HEADERS = {"OData-Version": "4.0"}
ODATA_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true"


def bc_error(status: int, code: str, message: str,
             headers: dict[str, str] | None = None) -> Response:
    """BC's error body: the message ends with two spaces and the correlation id."""
    text = f"{message}  CorrelationId:  {uuid.uuid4()}."
    return Response(_dumps({"error": {"code": code, "message": text}}), status_code=status,
                    media_type="application/json", headers={**ODATA_HEADERS, **(headers or {})})


def _entra_error(status: int, error: str, code: int, description: str) -> Response:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = uuid.uuid4(), uuid.uuid4()
    return Response(_dumps({
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                             f"Correlation ID: {correlation} Timestamp: {now}",
        "error_codes": [code], "timestamp": now, "trace_id": str(trace),
        "correlation_id": str(correlation),
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }), status_code=status, media_type="application/json")


class BcSimulator:
    """Entra ID's token endpoint and BC API v2.0 for one company, over `BcData`."""

    def __init__(self, data: BcData, *, tenant: str, environment: str, client_id: str,
                 client_secret: str, faults: Faults | None = None,
                 return_orders_api: bool = True) -> None:
        self.data = data
        self.tenant = tenant
        self.environment = environment
        self.client_id = client_id
        self.client_secret = client_secret
        self.faults = faults or Faults()
        self.return_orders_api = return_orders_api
        self.tokens: set[str] = set()
        #: API requests served (any answer, faults included); token requests apart.
        self.requests = 0
        self.token_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        #: Every write request received (method, path below the API root, query, headers
        #: but credentials, JSON body, the status answered), oldest first.
        self.writes: list[dict[str, Any]] = []
        #: How the next writes fail: (status, after), consumed one per write.
        self._failures: list[tuple[int, bool]] = []
        self._draft_numbers = itertools.count(1001)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/v2.0/{tenant}/{environment}/api/v2.0/$batch", self._batch,
                  methods=["POST"]),
            Route("/v2.0/{tenant}/{environment}/api/v2.0/{rest:path}", self._api,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ])

    # -- what the sandbox asks of every simulator (sandbox/hosted.py) --------------------

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"tenant": self.tenant, "environment": self.environment,
                "client_id": self.client_id, "company": self.data.company["name"],
                "token_url": f"{base_url}/{self.tenant}/oauth2/v2.0/token"}

    def touch(self, refs: set[str], at: datetime) -> None:
        for entity_set in ("salesReturnOrders", "salesCreditMemos"):
            for record in list(self.data.sets.get(entity_set, [])):
                if record.get("externalDocumentNumber") in refs:
                    self.data.update(entity_set, record["id"], at=at)

    def expire_sessions(self) -> None:
        self.expire_tokens()

    def native_code(self, kind: str, code: str) -> str:
        return code  # the ERP side of the mappings is already the ERP's own codes

    def credentials(self) -> dict[str, str]:
        return {"client_secret": self.client_secret}

    def native(self) -> Any:
        return {"company": self.data.company, **self.data.sets}

    def expire_tokens(self) -> None:
        """Every issued token stops working (as at expiry)."""
        self.tokens.clear()

    # -- knobs for tests and the sandbox -------------------------------------------------

    def fail_writes(self, count: int = 1, *, status: int = 503, after: bool = False) -> None:
        """The next `count` writes fail with `status`: before anything is done, or (`after`)
        once the change is made, as when the answer is lost on the way back."""
        self._failures.extend([(status, after)] * max(0, count))

    def bump(self, entity_set: str, record_id: str) -> dict[str, Any]:
        """A concurrent edit: someone else saves the record (same values), so its ETag and
        `lastModifiedDateTime` change. KeyError when there is no such record."""
        if entity_set not in self.data.sets:
            raise KeyError(f"no entity set {entity_set}")
        return self.data.update(entity_set, record_id.lower())

    def clear_writes(self) -> int:
        cleared = len(self.writes)
        self.writes.clear()
        return cleared

    def writes_json(self) -> bytes:
        """The write journal as JSON, numbers exactly as they were sent."""
        return exact_json(self.writes, default=str).encode()

    # -- Entra ID ------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        tenant = request.path_params["tenant"]
        if tenant != self.tenant:
            return _entra_error(400, "invalid_request", 90002,
                                f"Tenant '{tenant}' not found.")
        form = dict(parse_qsl((await request.body()).decode(errors="replace"),
                              keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _entra_error(400, "unsupported_grant_type", 70003,
                                "The app requested an unsupported grant type.")
        if not form.get("scope"):
            return _entra_error(400, "invalid_request", 900144,
                                "The request body must contain the following parameter: "
                                "'scope'.")
        if form.get("client_id") != self.client_id:
            return _entra_error(400, "unauthorized_client", 700016,
                                f"Application with identifier '{form.get('client_id')}' was "
                                f"not found in the directory '{tenant}'.")
        if form.get("client_secret") != self.client_secret:
            return _entra_error(401, "invalid_client", 7000215,
                                "Invalid client secret provided. Ensure the secret being sent "
                                "in the request is the client secret value, not the client "
                                f"secret ID, for a secret added to app '{self.client_id}'.")
        if form["scope"] != SCOPE:
            return _entra_error(400, "invalid_resource", 500011,
                                f"The resource principal named {form['scope']} was not found "
                                f"in the tenant named {tenant}.")
        token = secrets.token_urlsafe(32)
        self.tokens.add(token)
        return Response(_dumps({"token_type": "Bearer", "expires_in": 3599,
                                "ext_expires_in": 3599, "access_token": token}),
                        media_type="application/json")

    # -- the API -------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self._answer(request)
        finally:
            self.in_flight -= 1
        if request.method != "GET":
            self._journal(request, await request.body(), response.status_code)
        return response

    def _journal(self, request: Request, body: bytes, status: int) -> None:
        try:
            parsed: Any = json.loads(body, parse_float=Decimal) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        self.writes.append({
            "method": request.method,
            "path": request.path_params.get("rest", ""),
            "query": dict(request.query_params),
            "headers": {k: v for k, v in request.headers.items()
                        if k.lower() not in SECRET_HEADERS},
            "body": parsed,
            "status": status,
        })

    async def _answer(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            return bc_error(401, "Authentication_InvalidCredentials",
                            "The server has rejected the client credentials.",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        fault = await self.faults.before(request, self._unavailable, self._throttled)
        if fault is not None:
            return fault
        params = request.path_params
        if params["tenant"] != self.tenant or params["environment"] != self.environment:
            return bc_error(404, "BadRequest_NotFound",
                            f"The environment '{params['environment']}' of tenant "
                            f"'{params['tenant']}' does not exist.")
        # Mounted under a prefix (the demo sandbox serves BC under /bc), links keep it.
        mount = request.scope.get("root_path", "").rstrip("/")
        root = (f"{request.url.scheme}://{request.url.netloc}{mount}/v2.0/{self.tenant}/"
                f"{self.environment}/api/v2.0")
        if request.method != "GET":
            return await self._write(request, params["rest"], root)
        try:
            return self._route(request, params["rest"], root)
        except ODataError as exc:
            return bc_error(exc.status, exc.code, exc.message)

    async def _batch(self, request: Request) -> Response:
        """OData JSON batch: one HTTP request carrying many GETs, answered together."""
        self.requests += 1
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            return bc_error(401, "Authentication_InvalidCredentials",
                            "The server has rejected the client credentials.")
        fault = await self.faults.before(request, self._unavailable, self._throttled)
        if fault is not None:
            return fault
        try:
            body = json.loads(await request.body())
            operations = body["requests"]
            assert isinstance(operations, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return bc_error(400, "BadRequest", "The batch request body is not valid JSON "
                            "with a 'requests' list.")
        if len(operations) > 100:
            return bc_error(400, "BadRequest_BatchTooLarge",
                            "A batch request can contain at most 100 operations.")
        mount = request.scope.get("root_path", "").rstrip("/")
        root = (f"{request.url.scheme}://{request.url.netloc}{mount}/v2.0/{self.tenant}/"
                f"{self.environment}/api/v2.0")
        answers = []
        for op in operations:
            op = op if isinstance(op, dict) else {}
            rest, _, query_string = str(op.get("url", "")).partition("?")
            headers = [(k.lower().encode(), str(v).encode())
                       for k, v in (op.get("headers") or {}).items()]
            scope = {**request.scope, "method": str(op.get("method", "GET")).upper(),
                     "query_string": query_string.encode(), "headers": headers,
                     "path": f"{mount}/v2.0/{self.tenant}/{self.environment}/api/v2.0/{rest}"}
            sub = Request(scope)
            if scope["method"] != "GET":
                reply = bc_error(405, "BadRequest_MethodNotAllowed",
                                 "The sandbox batch takes GET operations only.")
            else:
                try:
                    reply = self._route(sub, rest.lstrip("/"), root)
                except ODataError as exc:
                    reply = bc_error(exc.status, exc.code, exc.message)
            answers.append({"id": op.get("id"), "status": reply.status_code,
                            "headers": {"content-type": reply.media_type or ODATA_TYPE},
                            "body": json.loads(bytes(reply.body))})
        return Response(_dumps({"responses": answers}), media_type="application/json")

    def _not_found(self, request: Request) -> ODataError:
        return ODataError(404, "BadRequest_NotFound",
                          "No HTTP resource was found that matches the request URI "
                          f"'{request.url}'.")

    def _route(self, request: Request, rest: str, root: str) -> Response:
        every = [self.data, *self.data.neighbours]
        if rest == "companies":
            return self._collection(request, [d.company for d in every], "company", (), root,
                                    rest, "$metadata#companies")
        match = re.fullmatch(r"companies\(([^)/]*)\)(?:/(\w+)(?:\(([^)/]*)\))?)?", rest)
        if match is None:
            raise self._not_found(request)
        company_id, entity_set, key = match.groups()
        data = next((d for d in every if company_id.strip("'").lower() == d.company["id"]),
                    None)
        if data is None:
            raise ODataError(404, "BadRequest_NotFound",
                             f"The company '{company_id}' does not exist.")
        company = data.company
        if entity_set is None:
            return self._single(company, f"{root}/$metadata#companies/$entity")
        if entity_set in RETURN_ORDER_SETS and not self.return_orders_api:
            raise self._not_found(request)
        if entity_set in ENTITY_SETS:
            kind, nav = ENTITY_SETS[entity_set]
            records = data.sets.get(entity_set, [])
            navs: tuple[str, ...] = (nav,) if nav else ()
        elif entity_set in LINE_SETS:
            kind, parent = LINE_SETS[entity_set]
            parents = data.sets.get(parent, [])
            records = remember(parents, ("lines", entity_set),
                               lambda: _lines(parents, entity_set))
            navs = ()
        else:
            raise self._not_found(request)
        context = f"$metadata#companies({company['id']})/{entity_set}"
        if key is not None:
            wanted = key.strip("'").lower()
            for record in records:
                if record["id"] == wanted:
                    expand = split_list(request.query_params.get("$expand"))
                    select = split_list(request.query_params.get("$select"))
                    for name in expand + select:
                        if (name in navs) != (name in expand) or (
                                name not in navs and name not in record):
                            raise self._unknown(kind, name)
                    shaped = shape(record, select=select, expand=expand, navigations=navs)
                    for name in expand:
                        shaped.setdefault(name, [])
                    return self._single(shaped, f"{root}/{context}/$entity")
            raise ODataError(404, "Internal_RecordNotFound",
                             f"The {kind} with id '{key}' does not exist.")
        return self._collection(request, records, kind, navs, root, rest, context)

    @staticmethod
    def _unknown(kind: str, name: str) -> ODataError:
        return ODataError(400, "BadRequest", f"Could not find a property named '{name}' on "
                          f"type 'Microsoft.NAV.{kind}'.")

    def _collection(self, request: Request, records: list[dict], kind: str,
                    navs: tuple[str, ...], root: str, rest: str, context: str) -> Response:
        page = query(
            records, list(request.query_params.multi_items()),
            base_url=f"{root}/{rest}", prefer=request.headers.get("prefer"),
            navigations=navs,
            unknown_property=lambda name: ODataError(
                400, "BadRequest",
                f"Could not find a property named '{name}' on type 'Microsoft.NAV.{kind}'."),
        )
        for name in set(split_list(request.query_params.get("$expand"))) & EMPTY_NAVS:
            for row in page.rows:
                row.setdefault(name, [])
        body: dict[str, Any] = {"@odata.context": f"{root}/{context}", "value": page.rows}
        if page.next_link:
            body["@odata.nextLink"] = page.next_link
        headers = dict(ODATA_HEADERS)
        if page.applied:
            headers["Preference-Applied"] = f"odata.maxpagesize={page.page_size}"
        return Response(_dumps(body), media_type=ODATA_TYPE, headers=headers)

    def _single(self, record: dict, context: str) -> Response:
        return Response(_dumps({"@odata.context": context, **record}), media_type=ODATA_TYPE,
                        headers=ODATA_HEADERS)

    # -- writes --------------------------------------------------------------------------

    async def _write(self, request: Request, rest: str, root: str) -> Response:
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[1]:
            return self._failed(failure[0])
        try:
            response = self._route_write(request, rest, root, await request.body())
        except ODataError as exc:
            return bc_error(exc.status, exc.code, exc.message)
        if failure is not None and response.status_code < 300:
            return self._failed(failure[0])  # done, but the answer is lost
        return response

    def _failed(self, status: int) -> Response:
        if status == 503:
            return self._unavailable()
        return bc_error(status, "Internal_ServerError",
                        "The sandbox failed this write on purpose (POST /_sandbox/fail-writes).")

    def _route_write(self, request: Request, rest: str, root: str, raw: bytes) -> Response:
        match = re.fullmatch(
            r"companies\(([^)/]*)\)/(\w+)(?:\(([^)/]*)\))?(?:/(Microsoft\.NAV\.\w+))?", rest)
        if match is None:
            raise self._not_found(request)
        company_id, entity_set, key, action = match.groups()
        company = self.data.company
        if company_id.strip("'").lower() != company["id"]:
            raise ODataError(404, "BadRequest_NotFound",
                             f"The company '{company_id}' does not exist.")
        if entity_set in RETURN_ORDER_SETS and not self.return_orders_api:
            raise self._not_found(request)
        if entity_set not in ENTITY_SETS and entity_set not in LINE_SETS:
            raise self._not_found(request)
        method = request.method
        if entity_set in READ_ONLY_SETS:
            raise ODataError(405, "BadRequest_MethodNotAllowed",
                             f"'{method}' requests for '{entity_set}' of EdmType "
                             f"'{'Entity' if key else 'EntitySet'}' are not allowed within "
                             "Dynamics 365 Business Central OData web services.")
        context = f"{root}/$metadata#companies({company['id']})/{entity_set}"
        if action is not None:
            if method != "POST" or key is None or entity_set != "salesCreditMemos" \
                    or action != "Microsoft.NAV.post":
                raise self._not_simulated(method, f"{entity_set}/{action}")
            return self._post_credit_memo(key)
        if method == "PATCH" and key is not None and entity_set in PATCHABLE_SETS:
            return self._patch(request, entity_set, key, _json_object(raw), context)
        if method == "POST" and key is None and entity_set == "salesCreditMemos":
            return self._create_credit_memo(request, _json_object(raw), root, context)
        raise self._not_simulated(method, entity_set)

    @staticmethod
    def _not_simulated(method: str, what: str) -> ODataError:
        return ODataError(405, "BadRequest_MethodNotAllowed",
                          f"The sandbox does not simulate {method} on {what}.")

    def _record(self, entity_set: str, key: str) -> dict[str, Any]:
        wanted = key.strip("'").lower()
        for record in self.data.sets.get(entity_set, []):
            if record["id"] == wanted:
                return record
        kind = ENTITY_SETS[entity_set][0]
        raise ODataError(404, "Internal_RecordNotFound",
                         f"The {kind} with id '{key}' does not exist.")

    def _patch(self, request: Request, entity_set: str, key: str, body: dict[str, Any],
               context: str) -> Response:
        """PATCH with optimistic concurrency, as BC: the If-Match token first, then the
        values; 200 with the record as it now is."""
        record = self._record(entity_set, key)
        token = request.headers.get("if-match", "").strip()
        if not token or not (token == "*" or re.fullmatch(r'(W/)?"[^"]+"', token)):
            raise ODataError(400, "BadRequest_InvalidToken",
                             "Could not validate the client concurrency token required by "
                             "the service. Please provide a valid token in the client "
                             "request.")
        if token != "*" and token != record["@odata.etag"]:
            raise ODataError(409, "Request_EntityChanged",
                             "Another user has already changed the record.")
        kind, nav = ENTITY_SETS[entity_set]
        changes = {k: v for k, v in body.items() if not k.startswith("@odata.")}
        for name, value in changes.items():
            if name == "id" and str(value).lower() != record["id"]:
                raise ODataError(400, "Application_DialogException",
                                 'The "id" cannot be changed.')
            if name == nav or name not in record:
                raise self._unknown(kind, name)
            if name in READ_ONLY_FIELDS and name != "id":
                raise ODataError(400, "BadRequest",
                                 f"The property '{name}' cannot be changed: Business Central "
                                 "sets it.")
        if entity_set == "salesCreditMemos" and record.get("status") not in ("Draft",
                                                                              "In Review"):
            raise ODataError(400, "Application_DialogException",
                             "The credit memo has been posted and can no longer be modified.")
        if "externalDocumentNumber" in changes:
            _check_length("externalDocumentNumber", changes["externalDocumentNumber"], 35)
        changes.pop("id", None)
        updated = self.data.update(entity_set, record["id"], **_stored(changes))
        shaped = {k: v for k, v in updated.items() if k != nav}
        return self._single(shaped, f"{context}/$entity")

    def _guid(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{self.tenant}/{self.environment}/{kind}/{key}"))

    def _create_credit_memo(self, request: Request, body: dict[str, Any], root: str,
                            context: str) -> Response:
        """A draft credit memo and its lines (deep insert), checked as BC checks them; all
        or nothing."""
        for name in body:
            if name not in CREDIT_MEMO_FIELDS and not name.startswith("@odata."):
                raise self._unknown("salesCreditMemo", name)
        customer = self._customer_of(body)
        if customer.get("blocked") == "All":
            raise ODataError(400, "Application_DialogException",
                             f"You cannot create this type of document when Customer "
                             f"{customer['number']} is blocked with type All")
        external = body.get("externalDocumentNumber") or ""
        _check_length("externalDocumentNumber", external, 35)
        currency = str(body.get("currencyCode") or "").upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise ODataError(400, "Application_FieldValidationException",
                             f"The field Currency Code of table Sales Header contains a value "
                             f"({currency}) that cannot be found in the related table "
                             "(Currency).")
        day = _date_field(body, "postingDate") or datetime.now(UTC).date().isoformat()
        raw_lines = body.get("salesCreditMemoLines") or []
        if not isinstance(raw_lines, list) or not all(isinstance(x, dict) for x in raw_lines):
            raise ODataError(400, "BadRequest", "salesCreditMemoLines must be a list of "
                             "objects.")
        doc_id = str(uuid.uuid4())
        lines = [self._memo_line(doc_id, 10000 * k, line, day)
                 for k, line in enumerate(raw_lines, start=1)]
        numbers = {r.get("number") for r in self.data.sets["salesCreditMemos"]}
        number = next(n for n in (f"S-CR{k}" for k in self._draft_numbers)
                      if n not in numbers)
        record = self._memo(doc_id, number, "Draft", customer, external, currency, day,
                            lines, self._references(body))
        self.data.sets["salesCreditMemos"].append(record)
        expand = split_list(request.query_params.get("$expand"))
        shaped = shape(record, select=(), expand=expand, navigations=("salesCreditMemoLines",))
        location = f"{root}/companies({self.data.company['id']})/salesCreditMemos({doc_id})"
        return Response(_dumps({"@odata.context": f"{context}/$entity", **shaped}),
                        status_code=201, media_type=ODATA_TYPE,
                        headers={**ODATA_HEADERS, "Location": location})

    def _references(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The invoice and reason a new credit memo points at, checked as BC checks them."""
        out: dict[str, Any] = {}
        invoice_id = str(body.get("invoiceId") or "").lower()
        number = body.get("invoiceNumber")
        if (invoice_id and invoice_id != ZERO_GUID) or number:
            invoice = next((r for r in self.data.sets.get("salesInvoices", [])
                            if r["id"] == invoice_id or (number and r["number"] == number)),
                           None)
            if invoice is None:
                raise ODataError(400, "Application_DialogException",
                                 'The "invoiceId" does not match to an Invoice.')
            out |= {"invoiceId": invoice["id"], "invoiceNumber": invoice["number"]}
        reason = str(body.get("customerReturnReasonId") or "").lower()
        if reason and reason != ZERO_GUID:
            if reason not in {r["id"] for r in self.data.sets.get("customerReturnReasons", [])}:
                raise ODataError(400, "Application_DialogException",
                                 'The "customerReturnReasonId" does not match to a Reason '
                                 'Code.')
            out["customerReturnReasonId"] = reason
        return out

    def _customer_of(self, body: Mapping[str, Any]) -> dict[str, Any]:
        number, ident = body.get("customerNumber"), body.get("customerId")
        if not number and not ident:
            raise ODataError(400, "Application_DialogException",
                             'A "customerNumber" or a "customerId" must be provided.')
        for customer in self.data.sets.get("customers", []):
            if (number and customer["number"] == number) or (
                    ident and not number and customer["id"] == str(ident).lower()):
                return customer
        raise ODataError(400, "Application_FieldValidationException",
                         f"The field Sell-to Customer No. of table Sales Header contains a "
                         f"value ({number or ident}) that cannot be found in the related "
                         "table (Customer).")

    def _item(self, number: str) -> dict[str, Any]:
        for item in self.data.sets.get("items", []):
            if item["number"] == number:
                return item
        if number == SHIPPING_ITEM:  # used by the company's memos, not in its item list
            return {"id": self._guid("item", number), "number": number, "type": "Service",
                    "blocked": False, "unitPrice": 0, "baseUnitOfMeasureCode": "EA"}
        raise ODataError(400, "Application_FieldValidationException",
                         f"The field No. of table Sales Line contains a value ({number}) that "
                         "cannot be found in the related table (Item).")

    def _memo_line(self, doc_id: str, seq: int, line: dict[str, Any], day: str) -> dict:
        for name in line:
            if name not in CREDIT_MEMO_LINE_FIELDS and not name.startswith("@odata."):
                raise self._unknown("salesCreditMemoLine", name)
        line_type = line.get("lineType") or "Item"
        if line_type != "Item":
            raise self._not_simulated("POST", f"salesCreditMemoLines of lineType {line_type}")
        number = line.get("lineObjectNumber")
        if not number and line.get("itemId"):
            number = next((i["number"] for i in self.data.sets.get("items", [])
                           if i["id"] == str(line["itemId"]).lower()), str(line["itemId"]))
        item = self._item(str(number or ""))
        if item.get("blocked"):
            raise ODataError(400, "Application_DialogException",
                             f"Blocked must be equal to 'No'  in Item: No.={item['number']}. "
                             "Current value is 'Yes'.")
        uom = str(line.get("unitOfMeasureCode") or item.get("baseUnitOfMeasureCode") or "")
        units = {u["code"]: u["id"] for u in self.data.sets.get("unitsOfMeasure", [])}
        if uom and uom not in units:
            raise ODataError(400, "Application_FieldValidationException",
                             f"The field Unit of Measure Code of table Sales Line contains a "
                             f"value ({uom}) that cannot be found in the related table (Item "
                             "Unit of Measure).")
        location = line.get("locationId")
        if location and location != ZERO_GUID:
            known = {r["id"] for r in self.data.sets.get("locations", [])}
            if str(location).lower() not in known:
                raise ODataError(400, "Application_DialogException",
                                 'The "locationId" does not match to a Location.')
        qty = _number(line.get("quantity", 0), "quantity")
        price = _number(line.get("unitPrice", item.get("unitPrice") or 0), "unitPrice")
        amount = (qty * price).quantize(CENT)
        rate = VAT_RATE if item.get("type") == "Inventory" else Decimal(0)
        tax = (amount * rate / 100).quantize(CENT)
        return with_etag({
            "id": str(uuid.uuid4()), "documentId": doc_id, "sequence": seq,
            "itemId": item["id"], "accountId": ZERO_GUID, "lineType": "Item",
            "lineObjectNumber": item["number"],
            "description": line.get("description") or item["number"].replace("-", " ").title(),
            "description2": line.get("description2") or "",
            "unitOfMeasureId": units.get(uom, ZERO_GUID), "unitOfMeasureCode": uom,
            "unitPrice": json_number(price), "quantity": json_number(qty),
            "discountAmount": 0, "discountPercent": 0, "discountAppliedBeforeTax": False,
            "amountExcludingTax": json_number(amount),
            "taxCode": "VAT" if rate else "", "taxPercent": json_number(rate),
            "totalTaxAmount": json_number(tax), "amountIncludingTax": json_number(amount + tax),
            "invoiceDiscountAllocation": 0, "netAmount": json_number(amount),
            "netTaxAmount": json_number(tax), "netAmountIncludingTax": json_number(amount + tax),
            "shipmentDate": day, "itemVariantId": ZERO_GUID,
            "locationId": str(location).lower() if location else ZERO_GUID,
        })

    def _memo(self, doc_id: str, number: str, status: str, customer: dict[str, Any],
              external: str, currency: str, day: str, lines: list[dict],
              references: Mapping[str, Any]) -> dict[str, Any]:
        """A credit memo record in the shape the renderer gives the demo company's."""
        excluding = sum((Decimal(str(ln["amountExcludingTax"])) for ln in lines), Decimal(0))
        tax = sum((Decimal(str(ln["totalTaxAmount"])) for ln in lines), Decimal(0))
        record: dict[str, Any] = {
            "id": doc_id, "number": number, "externalDocumentNumber": external,
            "creditMemoDate": day, "postingDate": day, "dueDate": day,
            "customerId": customer["id"], "customerNumber": customer["number"],
            "customerName": customer.get("displayName", ""),
            "billToName": customer.get("displayName", ""), "billToCustomerId": customer["id"],
            "billToCustomerNumber": customer["number"],
            "sellToAddressLine1": "", "sellToAddressLine2": "", "sellToCity": "",
            "sellToCountry": "GB", "sellToState": "", "sellToPostCode": "",
            "billToAddressLine1": "", "billToAddressLine2": "", "billToCity": "",
            "billToCountry": "GB", "billToState": "", "billToPostCode": "",
            "shortcutDimension1Code": "", "shortcutDimension2Code": "",
            "currencyId": self._guid("currency", currency) if currency else ZERO_GUID,
            "currencyCode": currency,
            "paymentTermsId": ZERO_GUID, "shipmentMethodId": ZERO_GUID, "salesperson": "",
            "pricesIncludeTax": False, "discountAmount": 0, "discountAppliedBeforeTax": True,
            "totalAmountExcludingTax": json_number(excluding),
            "totalTaxAmount": json_number(tax),
            "totalAmountIncludingTax": json_number(excluding + tax),
            "status": status, "lastModifiedDateTime": stamp(self.data.clock()),
            "invoiceId": ZERO_GUID, "invoiceNumber": "", "phoneNumber": "",
            "email": customer.get("email", ""), "customerReturnReasonId": ZERO_GUID,
            "salesCreditMemoLines": lines,
            **references,
        }
        return with_etag(record)

    def _post_credit_memo(self, key: str) -> Response:
        """`Microsoft.NAV.post`: only a draft with lines; the posted memo replaces it, with a
        posted number and a new id."""
        draft = self._record("salesCreditMemos", key)
        if draft["status"] != "Draft":
            raise ODataError(400, "Application_DialogException",
                             "The action can be applied to a draft credit memo only.")
        if not draft.get("salesCreditMemoLines"):
            raise ODataError(400, "Application_DialogException",
                             "Please add at least one line item to the credit memo.")
        customer = next((c for c in self.data.sets.get("customers", [])
                         if c["id"] == draft["customerId"]), None)
        if customer is not None and customer.get("blocked") in ("Invoice", "All"):
            raise ODataError(400, "Application_DialogException",
                             f"You cannot post this type of document when Customer "
                             f"{customer['number']} is blocked with type {customer['blocked']}")
        posted_id = str(uuid.uuid5(NAMESPACE, f"posted/{draft['id']}"))
        digits = [int(m.group(1)) for r in self.data.sets["salesCreditMemos"]
                  if (m := re.fullmatch(r"PCM(\d+)", str(r.get("number"))))]
        number = f"PCM{max(digits, default=0) + 1:06d}"
        lines = [with_etag({**ln, "id": str(uuid.uuid5(NAMESPACE, f"posted/{ln['id']}")),
                            "documentId": posted_id})
                 for ln in draft["salesCreditMemoLines"]]
        posted = with_etag({**draft, "id": posted_id, "number": number, "status": "Open",
                            "lastModifiedDateTime": stamp(self.data.clock()),
                            "salesCreditMemoLines": lines})
        memos = self.data.sets["salesCreditMemos"]
        memos[:] = [r for r in memos if r["id"] != draft["id"]] + [posted]
        return Response(status_code=204, headers=ODATA_HEADERS)

    def _unavailable(self) -> Response:
        return bc_error(503, "Internal_ServiceUnavailable",
                        "The service is temporarily unavailable; the request queue timed out.",
                        headers={"Retry-After": f"{self.faults.retry_after:g}"})

    def _throttled(self, retry_after: float) -> Response:
        return bc_error(429, "Application_TooManyRequests",
                        "Too many requests reached. Actual (6001). Maximum (6000).",
                        headers={"Retry-After": f"{retry_after:g}"})


# ------------------------------------------------------------------------------ write helpers


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ODataError(400, "BadRequest", "The request body must be a JSON object.")
    return body


def _check_length(name: str, value: Any, limit: int) -> None:
    text = str(value)
    if len(text) > limit:
        raise ODataError(400, "Application_StringExceededLength",
                         f"The length of the string is {len(text)}, but it must be less than "
                         f"or equal to {limit} characters. Value: {text}")


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ODataError(400, "BadRequest", f"Cannot convert the literal '{value}' to the "
                         f"expected type 'Edm.Decimal' ({name}).")
    return Decimal(str(value))


def _date_field(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value in (None, "", BLANK_DATE):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ODataError(400, "BadRequest", f"Cannot convert the literal '{value}' to the "
                         "expected type 'Edm.Date'.") from None


def _stored(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values as the simulator stores records: numbers as JSON numbers."""
    return {k: json_number(v) if isinstance(v, Decimal) else v for k, v in values.items()}


#: The sandbox's tenant and app registration (public demo values, not secrets).
DEMO_TENANT, DEMO_ENVIRONMENT, DEMO_CLIENT_ID = ("northwind-sandbox", "sandbox",
                                                 "returns-console-demo")
DEMO_CLIENT_SECRET = "sandbox-client-secret"


def build(snapshot: dict, *, faults: Faults | None = None, return_orders_api: bool = True,
          **knobs: Any) -> BcSimulator:
    """The simulator loaded with a canonical scenario's ERP side, rendered as one company.
    `return_orders_api=False`: a tenant without the return-order pages."""
    if knobs:
        raise TypeError(f"the Business Central simulator takes no {', '.join(knobs)}")
    return BcSimulator(render_company(snapshot, tenant=DEMO_TENANT,
                                      environment=DEMO_ENVIRONMENT),
                       tenant=DEMO_TENANT, environment=DEMO_ENVIRONMENT,
                       client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET,
                       faults=faults, return_orders_api=return_orders_api)

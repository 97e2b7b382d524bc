"""A fake of Dynamics 365 Finance & Operations' OData service (``/data``) plus the Microsoft Entra
ID client-credentials token endpoint, written from docs/vendors/d365-fo.md (cited "§x.y") only.

What it serves
* ``POST /{tenant}/oauth2/v2.0/token`` (form-encoded client credentials, §2.2, samples S1-S3).
  The token's audience is the ``scope`` without ``/.default``; every ``/data`` call needs
  ``Authorization: Bearer`` with a token whose audience is the environment URL, lower case, no
  trailing slash (§2.2), else 401.
* ``GET /data`` (service document), ``GET /data/$metadata`` (CSDL with ``EnumType``s, §1.1, §3.3),
  ``GET /data/<EntitySet>``, ``/data/<EntitySet>/$count``, ``/data/<EntitySet>(<full key>)`` and
  ``/data/<EntitySet>(<full key>)/<Navigation>``; ``POST /data/$batch`` (multipart/mixed, GET
  parts only, §3.5).
* Entity sets (§5): ReturnOrderHeadersV2, ReturnOrderLinesV2 (and the V1 ReturnOrderHeaders /
  ReturnOrderLines, projections without the V2-only fields), SalesInvoiceHeadersV2,
  SalesInvoiceV2Lines, SalesOrderHeadersV2, SalesOrderLines, ItemArrivalJournalHeadersV2,
  ItemArrivalJournalLinesV2, ReleasedProductsV2, ProductDefaultOrderSettings, CustomersV3,
  CustomerGroups, CustomerPaymentMethods, Warehouses, OperationalSites, ReturnDispositionCodes,
  ReturnReasonCodeBiEntities, LedgerFiscalPeriods, FiscalPeriods. Anything else is a 404.
* Query options (§3.1): ``$filter`` (``eq ne gt ge lt le and or not`` and parentheses, lower
  case only; ``has``/``in`` rejected; ``'*x*'`` wildcards in ``eq``/``ne``; enum literals must be
  ``Microsoft.Dynamics.DataEntities.<EnumType>'<Member>'`` of the property's own enum type and
  support only ``eq``/``ne``; date-times are unquoted literals), ``$select``, ``$expand`` (first
  level only, with ``$select``/``$filter`` inside), ``$orderby``, ``$top``, ``$skip``, ``$count``,
  ``$format=json``; ``cross-company=true`` (§1.2).
* Companies (§1.2): records carry a lower-case ``dataAreaId``. Without ``cross-company=true``
  only the service account's default company (the DECOY legal entity) is visible, so a
  ``dataAreaId`` filter for another company returns nothing; with it, every company the
  account can access. LedgerFiscalPeriods / FiscalPeriods have no ``dataAreaId`` (§5.9): a
  filter or select on it is a 400.
* Server-driven paging (§3.2) with a SMALL maximum page (7 by default) and an opaque
  ``@odata.nextLink`` (absolute URL with a ``$skiptoken``); ``$top`` larger than the page is
  served over several pages. Every record carries ``@odata.etag`` (§3.4, §8.2).
* Values (§3.3, §3.4): enums as member names; decimals as JSON numbers; empty strings for unset
  strings; blank date-only fields ``1900-01-01T12:00:00Z``, blank date-times
  ``1900-01-01T00:00:00Z``; date-only fields at noon UTC; return quantities negative (§5.3, U15);
  credit note amounts negative (§5.7, U20).
* Throttling (§4.1): every ``throttle_every``-th ``/data`` request (up to ``throttle_max``) is a
  429 with ``Retry-After`` (seconds) and a §9 S6 message in the §8.1 envelope.
* Errors: the §8.1 envelope ``{"error":{"code":"","message":"An error has occurred.",
  "innererror":{"message","type","stacktrace"}}}`` for 400/404/405/429.
* ``app.state.log``: one entry per request (method, path, query, status; batch parts too).

CHOICES where the docs are silent (repeated in the report)
 1. String comparisons in ``$filter`` and key look-ups are case-insensitive (F&O runs on SQL
    Server with a case-insensitive collation); ``*`` is the only wildcard.
 2. Integer literals on enum properties are rejected like bare strings (U3: UNKNOWN).
 3. Arithmetic operators (``add``...``mod``) and all functions (``contains()``...) are 400 here
    (the docs list arithmetic as supported; no reconciler needs it). Lambda paths are 400.
 4. A date-only literal (``2026-10-01``) in a filter on a DateTimeOffset property means midnight
    UTC; a quoted string there is a type error (400).
 5. ``Prefer: odata.maxpagesize`` is ignored (U5); the page is min(7, remaining ``$top``).
    A ``$skiptoken`` is bound to its query: changing the query around it is a 400.
 6. A key look-up in a company other than the default needs ``cross-company=true`` (else 404)
    (U22). Positional keys are a 400; every key field is required (§1.1).
 7. 401 has an empty body and ``WWW-Authenticate: Bearer error="invalid_token"`` (U28 UNKNOWN);
    404 for an unknown set / key uses the §8.1 envelope.
 8. ``$batch`` takes ``multipart/mixed`` only (§3.5, 3p st203); a JSON batch is a 400; write
    operations (anywhere) are 405: this fake is read-only.
 9. Entity types are the set name's singular (``ReturnOrderHeaderV2``); navigation properties:
    ``ReturnOrderHeadersV2/ReturnOrderLines`` (§5.1), ``ReturnOrderLinesV2/ReturnOrderHeader``,
    ``SalesInvoiceHeadersV2/SalesInvoiceLines``, ``SalesOrderHeadersV2/SalesOrderLines``,
    ``ItemArrivalJournalHeadersV2/ItemArrivalJournalLines``.
10. Property lists follow §5; where §5 names a set without its fields (SalesInvoiceV2Lines,
    SalesOrderHeadersV2/Lines, CustomersV3 beyond the listed ones, journals) the extra names are
    this fake's: ``SalesInvoiceV2Lines`` key ``dataAreaId, InvoiceNumber, LineNumber`` with
    ``SalesOrderNumber, InventoryLotId, ItemNumber, InvoicedQuantity, SalesPrice, LineAmount,
    LineTotalTaxAmount, ...``; credit notes link to their return order by ``SalesOrderNumber``
    and also carry its ``CustomersOrderReference``/``CustomerRequisitionNumber``.
11. ``ReturnedSalesQuantity`` is set (negative) from the packing slip on; before, 0 (§6.2).
    ``ActualReturnArrivalDate`` is the arrival journal's posting date. Header ``ReturnStatus``
    is Created until the first registration, Open until invoiced, then Closed.
12. ``LegalEntityId`` on LedgerFiscalPeriods is the lower-case company id; ``LedgerName`` the
    upper-case one; the calendar ``Fiscal`` is shared by both legal entities' ledgers.
13. The token endpoint checks tenant (a ``/common`` or ``/organizations`` authority is refused,
    §2.2), client id, secret and that ``scope`` ends in ``/.default``; ``expires_in`` 3599.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import scenario

NS = "Microsoft.Dynamics.DataEntities"
MAX_PAGE = 7
ODATA_CT = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"

# ---------------------------------------------------------------------------------- enums
ENUMS: dict[str, list[str]] = {  # member order = integer value (§5.4, §5.8, §5.9)
    "NoYes": ["No", "Yes"],
    "ReturnStatusHeader": ["None", "Created", "Open", "Closed", "Canceled"],
    "ReturnStatusLine": [
        "None", "Awaiting", "Registered", "Quarantine", "Received", "Invoiced", "Canceled",
    ],
    "SalesStatus": ["None", "Backorder", "Delivered", "Invoiced", "Canceled"],
    "DispositionAction": [
        "Credit", "CreditOnly", "Scrap", "ReplaceCredit", "ReplaceScrap", "ReturnToCust",
    ],
    "CustVendorBlocked": ["No", "Invoice", "All", "Payment", "Requisition", "Never", "PurchOrder"],
    "FiscalPeriodStatus": ["OnHold", "Open", "Closed"],
    "ModulePeriodStat": ["All", "None", "User"],
    "FiscalPeriodType": ["Opening", "Operating", "Closing"],
    "InventRefType": ["None", "Sales", "Purch", "Production", "ProdLine", "InventJournal"],
    "InventTransType": ["Sales", "Production", "Purch", "InventTransaction", "InventLossProfit"],
    "DirPartyBaseType": ["None", "Person", "Organization"],
    "EcoResProductType": ["Item", "Service"],
    "EcoResProductSubtype": ["ProductMaster", "Product"],
    "InventLocationType": ["Standard", "Quarantine", "Transit"],
    "CustPaymentType": ["Other", "Check", "Electronic", "PromissoryNote"],
    "LedgerJournalACType": ["Ledger", "Cust", "Vend", "Project", "FixedAssets", "Bank"],
    "Timezone": ["GMTMINUS1200INTERNATIONALDATELINEWEST", "GMT_COORDINATEDUNIVERSALTIME"],
}
NULLABLE_ENUMS = {"Timezone"}

# ---------------------------------------------------------------------------------- schema
# property spec: "Name" (Edm.String), "Name:dec", "Name:int", "Name:dt" (utcDateTime),
# "Name:date" (date-only, DateTimeOffset at noon UTC), "Name:e:EnumType"
_ADDR = [
    "ReturnAddressName", "ReturnAddressStreet", "ReturnAddressStreetNumber", "ReturnAddressCity",
    "ReturnAddressZipCode", "ReturnAddressStateId", "ReturnAddressCountyId",
    "ReturnAddressCountryRegionId", "ReturnAddressCountryRegionISOCode",
    "ReturnAddressDescription", "ReturnAddressLocationId", "FormattedReturnAddress",
    "ReturnAddressPostBox", "ReturnAddressDistrictName", "ReturnAddressBuildingCompliment",
    "ReturnAddressLatitude:dec", "ReturnAddressLongitude:dec", "ReturnAddressTimeZone:e:Timezone",
    "IsReturnAddressPrivate:e:NoYes", "IsReturnAddressOrderSpecific:e:NoYes",
    "ReturnAddressDunsNumber", "ReturnAddressCityInKana", "ReturnAddressStreetInKana",
]
_RO_HEADER = [
    "dataAreaId", "ReturnOrderNumber", "RMANumber", "CustomerAccountNumber",
    "InvoiceCustomerAccountNumber", "ContactPersonId", "CustomerReturnReasonCode",
    "CustomersOrderReference", "CustomerRequisitionNumber", "ReturnDeadline:date",
    "DefaultReturnSiteId", "DefaultReturnWarehouseId", "CurrencyCode", "LanguageId", "Email",
    "ReturnStatus:e:ReturnStatusHeader", "ReturnOrderStatus:e:SalesStatus",
    "IsReturnProcessingStopped:e:NoYes", "ReplacementSalesOrderNumber",
    "IsReplacementSalesOrderCreated:e:NoYes", "OrderTotalAmount:dec", "OrderTotalTaxAmount:dec",
    "OrderTotalChargesAmount:dec", "TotalDiscountAmount:dec", *_ADDR,
]
_RO_LINE = [
    "dataAreaId", "ReturnOrderNumber", "ReturnInventoryLotId", "LineCreationSequenceNumber:int",
    "RMANumber", "ItemNumber", "ProductColorId", "ProductSizeId", "ProductStyleId",
    "ProductConfigurationId", "ProductVersionId", "ItemBatchNumber", "ItemSerialNumber",
    "LineDescription", "ExternalItemNumber", "ReturnSalesQuantity:dec",
    "ReturnedSalesQuantity:dec", "ReturnCatchWeightQuantity:dec", "SalesUnitSymbol",
    "SalesPrice:dec", "LineAmount:dec", "TotalTaxAmount:dec", "TotalChargesAmount:dec",
    "TotalDiscountAmount:dec", "ReturnUnitCost:dec", "ReturnSiteId", "ReturnWarehouseId",
    "ReturnWarehouseLocationId", "OrderedInventoryStatusId", "ReturnStatus:e:ReturnStatusLine",
    "ReturnDispositionCode", "ExpectedReturnArrivalDate:date", "ActualReturnArrivalDate:date",
    "ReturnClosedDate:date", "ReferenceType:e:InventRefType", "ReferenceNumber",
    "ReferenceInventoryLotId", "ReturningInventoryLotId",
    "IsReturnedQuantityAvailableForReservation:e:NoYes", "CustomerAccountNumber",
    "InvoiceCustomerAccountNumber", "MainAccountIdDisplayValue", "OriginCountryRegionId",
    "OriginStateId", *_ADDR,
]
_V1_HEADER_DROPS = {
    "ReturnStatus", "InvoiceCustomerAccountNumber", "OrderTotalAmount", "OrderTotalTaxAmount",
    "OrderTotalChargesAmount", "TotalDiscountAmount",
}


@dataclass
class Nav:
    target: str
    on: tuple[str, ...]  # join fields, same name on both sides
    many: bool


@dataclass
class Entity:
    name: str  # entity set (public collection)
    type_name: str  # entity type (public entity)
    key: tuple[str, ...]
    props: dict[str, str]  # name -> "s" | "dec" | "int" | "dt" | "date" | "e:Enum"
    navs: dict[str, Nav] = field(default_factory=dict)
    source: str | None = None  # V1 sets are projections of their V2 set

    @property
    def company(self) -> bool:
        return "dataAreaId" in self.props


def _props(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in specs:
        name, _, typ = s.partition(":")
        out[name] = typ or "s"
    return out


def _entity(
    name: str, type_name: str, key: str, specs: list[str], **kw: Any
) -> tuple[str, Entity]:
    return name, Entity(name, type_name, tuple(key.split(",")), _props(specs), **kw)


ENTITIES: dict[str, Entity] = dict(
    [
        _entity("ReturnOrderHeadersV2", "ReturnOrderHeaderV2", "dataAreaId,ReturnOrderNumber",
                _RO_HEADER, navs={"ReturnOrderLines": Nav(
                    "ReturnOrderLinesV2", ("dataAreaId", "ReturnOrderNumber"), True)}),
        _entity("ReturnOrderLinesV2", "ReturnOrderLineV2",
                "dataAreaId,ReturnOrderNumber,ReturnInventoryLotId", _RO_LINE,
                navs={"ReturnOrderHeader": Nav(
                    "ReturnOrderHeadersV2", ("dataAreaId", "ReturnOrderNumber"), False)}),
        _entity("ReturnOrderHeaders", "ReturnOrderHeader", "dataAreaId,ReturnOrderNumber",
                [p for p in _RO_HEADER if p.split(":")[0] not in _V1_HEADER_DROPS],
                source="ReturnOrderHeadersV2", navs={"ReturnOrderLines": Nav(
                    "ReturnOrderLines", ("dataAreaId", "ReturnOrderNumber"), True)}),
        _entity("ReturnOrderLines", "ReturnOrderLine",
                "dataAreaId,ReturnOrderNumber,ReturnInventoryLotId", _RO_LINE,
                source="ReturnOrderLinesV2"),
        _entity("SalesInvoiceHeadersV2", "SalesInvoiceHeaderV2",
                "dataAreaId,InvoiceNumber,InvoiceDate,LedgerVoucher",
                ["dataAreaId", "InvoiceNumber", "InvoiceDate:date", "LedgerVoucher",
                 "SalesOrderNumber", "CustomersOrderReference", "CustomerRequisitionNumber",
                 "InvoiceCustomerAccountNumber", "OrderingCustomerAccountNumber",
                 "InvoiceAddressName", "CurrencyCode", "TotalInvoiceAmount:dec",
                 "TotalTaxAmount:dec", "TotalChargeAmount:dec", "TotalDiscountAmount:dec",
                 "PaymentTermsName", "DueDate:date"],
                navs={"SalesInvoiceLines": Nav(
                    "SalesInvoiceV2Lines", ("dataAreaId", "InvoiceNumber"), True)}),
        _entity("SalesInvoiceV2Lines", "SalesInvoiceV2Line", "dataAreaId,InvoiceNumber,LineNumber",
                ["dataAreaId", "InvoiceNumber", "InvoiceDate:date", "LineNumber:int",
                 "SalesOrderNumber", "InventoryLotId", "ItemNumber", "ProductName",
                 "InvoicedQuantity:dec", "SalesUnitSymbol", "SalesPrice:dec", "LineAmount:dec",
                 "LineTotalTaxAmount:dec", "LineTotalDiscountAmount:dec",
                 "LineTotalChargesAmount:dec", "ItemSalesTaxGroupCode", "SalesTaxGroupCode",
                 "CurrencyCode"]),
        _entity("SalesOrderHeadersV2", "SalesOrderHeaderV2", "dataAreaId,SalesOrderNumber",
                ["dataAreaId", "SalesOrderNumber", "OrderingCustomerAccountNumber",
                 "InvoiceCustomerAccountNumber", "CustomersOrderReference",
                 "CustomerRequisitionNumber", "SalesOrderName", "SalesOrderStatus:e:SalesStatus",
                 "SalesOrderOriginCode", "CurrencyCode", "DefaultShippingSiteId",
                 "DefaultShippingWarehouseId", "RequestedShippingDate:date", "ReturnOrderNumber",
                 "Email"],
                navs={"SalesOrderLines": Nav(
                    "SalesOrderLines", ("dataAreaId", "SalesOrderNumber"), True)}),
        _entity("SalesOrderLines", "SalesOrderLine", "dataAreaId,SalesOrderNumber,InventoryLotId",
                ["dataAreaId", "SalesOrderNumber", "InventoryLotId",
                 "LineCreationSequenceNumber:int", "ItemNumber", "LineDescription",
                 "OrderedSalesQuantity:dec", "SalesUnitSymbol", "SalesPrice:dec",
                 "LineAmount:dec", "SalesOrderLineStatus:e:SalesStatus", "ShippingSiteId",
                 "ShippingWarehouseId"]),
        _entity("ItemArrivalJournalHeadersV2", "ItemArrivalJournalHeaderV2",
                "dataAreaId,JournalNumber",
                ["dataAreaId", "JournalNumber", "JournalNameId", "Description",
                 "IsPosted:e:NoYes", "PostedDateTime:dt", "PostedUserId", "DefaultAccountNumber",
                 "DefaultReturnItemNumber", "DefaultTransactionReferenceType:e:InventTransType",
                 "DefaultTransactionReferenceNumber", "DefaultReturnDispositionCodeId",
                 "DefaultReceivingSiteId", "DefaultReceivingWarehouseId",
                 "IsQuarantineOrderCreatedForReceivedItem:e:NoYes", "PackingSlipId"],
                navs={"ItemArrivalJournalLines": Nav(
                    "ItemArrivalJournalLinesV2", ("dataAreaId", "JournalNumber"), True)}),
        _entity("ItemArrivalJournalLinesV2", "ItemArrivalJournalLineV2",
                "dataAreaId,JournalNumber,LineNumber",
                ["dataAreaId", "JournalNumber", "LineNumber:dec", "ItemNumber",
                 "ItemQuantity:dec", "IsReturnOrder:e:NoYes", "ReturnItemNumber",
                 "ReturnDispositionCodeId", "TransactionReferenceType:e:InventTransType",
                 "TransactionReferenceNumber", "TransactionDate:date",
                 "ReceivingInventorySiteId", "ReceivingWarehouseId",
                 "IsQuarantineOrderCreatedForReceivedItem:e:NoYes"]),
        _entity("ReleasedProductsV2", "ReleasedProductV2", "dataAreaId,ItemNumber",
                ["dataAreaId", "ItemNumber", "ProductNumber", "ProductName", "SearchName",
                 "ProductSearchName", "ProductType:e:EcoResProductType",
                 "ProductSubType:e:EcoResProductSubtype", "ItemModelGroupId",
                 "InventoryUnitSymbol", "SalesUnitSymbol", "SalesPrice:dec",
                 "ProductLifecycleStateId", "IsPOSRegistrationBlocked:e:NoYes",
                 "IsIntercompanySalesUsageBlocked:e:NoYes", "SalesSalesTaxItemGroupCode"]),
        _entity("ProductDefaultOrderSettings", "ProductDefaultOrderSetting",
                "dataAreaId,ItemNumber",
                ["dataAreaId", "ItemNumber", "IsSalesProcessingStopped:e:NoYes",
                 "IsInventoryProcessingStopped:e:NoYes",
                 "IsProcurementProcessingstopped:e:NoYes", "SalesSiteId", "SalesWarehouseId",
                 "InventorySiteId", "InventoryWarehouseId"]),
        _entity("CustomersV3", "CustomerV3", "dataAreaId,CustomerAccount",
                ["dataAreaId", "CustomerAccount", "OrganizationName", "NameAlias",
                 "PersonFirstName", "PersonLastName", "PartyType:e:DirPartyBaseType",
                 "CustomerGroupId", "InvoiceAccount", "PaymentMethod", "SalesCurrencyCode",
                 "CreditLimit:dec", "OnHoldStatus:e:CustVendorBlocked", "PrimaryContactEmail",
                 "AddressCity", "AddressZipCode", "AddressCountryRegionId",
                 "AddressTimeZone:e:Timezone", "AddressValidTo:dt", "DeliveryAddressValidFrom:dt",
                 "CredManCreditLimitDate:date"]),
        _entity("CustomerGroups", "CustomerGroup", "dataAreaId,CustomerGroupId",
                ["dataAreaId", "CustomerGroupId", "Description", "PaymentTermId",
                 "IsSalesTaxIncludedInPrice:e:NoYes"]),
        _entity("CustomerPaymentMethods", "CustomerPaymentMethod", "dataAreaId,Name",
                ["dataAreaId", "Name", "Description", "PaymentType:e:CustPaymentType",
                 "AccountType:e:LedgerJournalACType"]),
        _entity("Warehouses", "Warehouse", "dataAreaId,WarehouseId",
                ["dataAreaId", "WarehouseId", "WarehouseName", "OperationalSiteId",
                 "QuarantineWarehouseId", "WarehouseType:e:InventLocationType"]),
        _entity("OperationalSites", "OperationalSite", "dataAreaId,SiteId",
                ["dataAreaId", "SiteId", "SiteName"]),
        _entity("ReturnDispositionCodes", "ReturnDispositionCode", "dataAreaId,DispositionCode",
                ["dataAreaId", "DispositionCode", "DispositionDescription",
                 "DispositionAction:e:DispositionAction", "KittingDispositionCodeId"]),
        _entity("ReturnReasonCodeBiEntities", "ReturnReasonCodeBiEntity",
                "dataAreaId,ReasonCodeId",
                ["dataAreaId", "ReasonCodeId", "ReasonCodeGroupId", "Description"]),
        _entity("LedgerFiscalPeriods", "LedgerFiscalPeriod",
                "LedgerName,Calendar,YearName,PeriodName",
                ["LedgerName", "Calendar", "YearName", "PeriodName", "LegalEntityId",
                 "PeriodStatus:e:FiscalPeriodStatus", "SalesAccessLevel:e:ModulePeriodStat",
                 "CustAccessLevel:e:ModulePeriodStat", "InventAccessLevel:e:ModulePeriodStat",
                 "LedgerAccessLevel:e:ModulePeriodStat", "SalesUserGroupInfo",
                 "CustUserGroupInfo", "InventUserGroupInfo", "LedgerUserGroupInfo"]),
        _entity("FiscalPeriods", "FiscalPeriod", "Calendar,FiscalYear,StartDate,EndDate,PeriodName",
                ["Calendar", "FiscalYear", "StartDate:date", "EndDate:date", "PeriodName",
                 "Type:e:FiscalPeriodType", "Quarter", "Month", "ShortName"]),
    ]
)


# ---------------------------------------------------------------------------------- errors
class ODataError(Exception):
    def __init__(self, status: int, message: str, typ: str = "Microsoft.OData.ODataException"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.typ = typ


def error_body(message: str, typ: str = "Microsoft.OData.ODataException") -> dict[str, Any]:
    """The §8.1 envelope: empty code, generic message, the useful text in innererror."""
    return {
        "error": {
            "code": "",
            "message": "An error has occurred.",
            "innererror": {"message": message, "type": typ, "stacktrace": ""},
        }
    }


def _invalid(message: str) -> ODataError:
    return ODataError(400, f"The query specified in the URI is not valid. {message}")


# ---------------------------------------------------------------------------------- values
def parse_dt(text: str) -> datetime:
    v = text.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    if "T" not in v:
        v += "T00:00:00+00:00"
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", v)
    if m:  # fromisoformat in 3.11 takes 3 or 6 fraction digits only
        v = f"{m.group(1)}.{(m.group(2) + '000000')[:6]}{m.group(3)}"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _sort_key(typ: str, value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if typ in ("dec", "int"):
        return (1, Decimal(str(value)))
    if typ in ("dt", "date"):
        return (1, parse_dt(value))
    if typ.startswith("e:"):
        members = ENUMS[typ[2:]]
        return (1, members.index(value) if value in members else -1)
    return (1, str(value).casefold())


# ---------------------------------------------------------------------------------- $filter
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<enum>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*'(?:[^']|'')*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[mMdDfFlL]?(?![\w.])
    | (?P<name>[A-Za-z_$@][\w]*(?:/[\w$]+)*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_CMP = ("eq", "ne", "gt", "ge", "lt", "le")
_LOGIC = ("and", "or", "not")
_ARITH = ("add", "sub", "mul", "div", "divby", "mod")


def tokenize(text: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _invalid(f"Syntax error at position {pos} in '{text}'.")
        start = m.start(m.lastgroup) if m.lastgroup else pos
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "str":
            out.append(("lit", ("str", val[1:-1].replace("''", "'")), start))
        elif kind == "enum":
            typ, _, rest = val.partition("'")
            out.append(("lit", ("enum", (typ, rest[:-1].replace("''", "'"))), start))
        elif kind in ("dt", "date"):
            out.append(("lit", ("dt", parse_dt(val)), start))
        elif kind == "num":
            out.append(("lit", ("num", Decimal(val)), start))
        elif kind == "name":
            low = val.lower()
            if low in ("has", "in"):
                raise _invalid(f"The operators 'has' and 'in' aren't supported ('{val}' at "
                               f"position {start}).")
            if low in _CMP + _LOGIC + _ARITH + ("true", "false", "null") and val != low:
                # docs-issue #4329: upper-case keywords fail validation (§3.1)
                raise _invalid(f"Syntax error: character '{val}' is not valid at position "
                               f"{start} in '{text}'.")
            if low in _ARITH:
                raise _invalid(f"Arithmetic operator '{val}' is not supported by this service.")
            if val in _CMP or val in _LOGIC:
                out.append(("kw", val, start))
            elif val in ("true", "false"):
                out.append(("lit", ("bool", val == "true"), start))
            elif val == "null":
                out.append(("lit", ("null", None), start))
            else:
                out.append(("name", val, start))
        else:
            out.append(("p", val, start))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, Any, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, Any, int]:
        t = self.peek()
        if t is None:
            raise _invalid(f"Syntax error: unexpected end of expression in '{self.text}'.")
        self.i += 1
        return t

    def parse(self) -> tuple[Any, ...]:
        node = self.or_()
        if self.peek() is not None:
            t = self.peek()
            raise _invalid(f"Syntax error at position {t[2]} in '{self.text}'.")  # type: ignore[index]
        return node

    def or_(self) -> tuple[Any, ...]:
        node = self.and_()
        while (t := self.peek()) and t[0] == "kw" and t[1] == "or":
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple[Any, ...]:
        node = self.unary()
        while (t := self.peek()) and t[0] == "kw" and t[1] == "and":
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self) -> tuple[Any, ...]:
        t = self.peek()
        if t and t[0] == "kw" and t[1] == "not":
            self.take()
            return ("not", self.unary())
        if t and t[0] == "p" and t[1] == "(":
            self.take()
            node = self.or_()
            close = self.take()
            if close[:2] != ("p", ")"):
                raise _invalid(f"Syntax error: ')' expected at position {close[2]}.")
            return node
        return self.comparison()

    def operand(self) -> tuple[Any, ...]:
        t = self.take()
        if t[0] == "name":
            nxt = self.peek()
            if nxt and nxt[0] == "p" and nxt[1] == "(":
                raise _invalid(f"Unknown function '{t[1]}' at position {t[2]}.")
            if "/" in t[1]:
                raise _invalid(f"Navigation and lambda paths are not supported ('{t[1]}').")
            return ("prop", t[1], t[2])
        if t[0] == "lit":
            return ("lit", t[1][0], t[1][1])
        raise _invalid(f"Syntax error at position {t[2]} in '{self.text}'.")

    def comparison(self) -> tuple[Any, ...]:
        left = self.operand()
        op = self.take()
        if op[0] != "kw" or op[1] not in _CMP:
            raise _invalid(f"Syntax error at position {op[2]} in '{self.text}': a comparison "
                           "operator (eq, ne, gt, ge, lt, le) was expected.")
        right = self.operand()
        return ("cmp", op[1], left, right)


_OPKIND = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
           "lt": "LessThan", "le": "LessThanOrEqual"}


def _edm(typ: str) -> str:
    if typ.startswith("e:"):
        return f"{NS}.{typ[2:]}"
    return {"s": "Edm.String", "dec": "Edm.Decimal", "int": "Edm.Int32",
            "dt": "Edm.DateTimeOffset", "date": "Edm.DateTimeOffset"}[typ]


def _lit_edm(kind: str, value: Any) -> str:
    if kind == "enum":
        return value[0]
    return {"str": "Edm.String", "num": "Edm.Int32" if isinstance(value, Decimal)
            and value == value.to_integral_value() else "Edm.Decimal",
            "dt": "Edm.DateTimeOffset", "bool": "Edm.Boolean", "null": "null"}[kind]


def compile_filter(text: str, ent: Entity) -> Callable[[dict[str, Any]], bool]:
    node = _Parser(text).parse()
    return _compile(node, ent)


def _compile(node: tuple[Any, ...], ent: Entity) -> Callable[[dict[str, Any]], bool]:
    kind = node[0]
    if kind == "and":
        a, b = _compile(node[1], ent), _compile(node[2], ent)
        return lambda r: a(r) and b(r)
    if kind == "or":
        a, b = _compile(node[1], ent), _compile(node[2], ent)
        return lambda r: a(r) or b(r)
    if kind == "not":
        a = _compile(node[1], ent)
        return lambda r: not a(r)
    if kind == "cmp":
        return _compile_cmp(node[1], node[2], node[3], ent)
    raise _invalid("A boolean expression was expected.")


def _prop_type(ent: Entity, name: str) -> str:
    if name not in ent.props:
        raise _invalid(f"Could not find a property named '{name}' on type "
                       f"'{NS}.{ent.type_name}'.")
    return ent.props[name]


def _check_literal(op: str, typ: str, lit: tuple[Any, ...]) -> Any:
    """Validate a literal against the property type; return the comparable value."""
    _, kind, value = lit

    def incompatible() -> ODataError:
        return _invalid(
            f"A binary operator with incompatible types was detected. Found operand types "
            f"'{_edm(typ)}' and '{_lit_edm(kind, value)}' for operator kind '{_OPKIND[op]}'."
        )

    if kind == "null":
        return None
    if typ.startswith("e:"):
        enum = typ[2:]
        if kind != "enum":
            raise incompatible()  # §3.3: a bare string (or number) on an enum is rejected
        qual, member = value
        if qual != f"{NS}.{enum}":
            if not qual.startswith(NS + ".") or qual[len(NS) + 1:] not in ENUMS:
                raise _invalid(f"The type '{qual}' is not defined in the model.")
            raise incompatible()
        if member not in ENUMS[enum]:
            raise _invalid(f"The string '{member}' is not a valid enumerated type constant for "
                           f"'{NS}.{enum}'.")
        if op not in ("eq", "ne"):
            raise _invalid(f"The operator '{op}' is not supported for enum type "
                           f"'{NS}.{enum}': enums support eq and ne only.")
        return member
    if kind == "enum":
        raise incompatible()
    if typ == "s":
        if kind != "str":
            raise incompatible()
        return value
    if typ in ("dec", "int"):
        if kind != "num":
            raise incompatible()
        return value
    if typ in ("dt", "date"):
        if kind != "dt":
            raise incompatible()
        return value
    raise incompatible()


def _compile_cmp(
    op: str, left: tuple[Any, ...], right: tuple[Any, ...], ent: Entity
) -> Callable[[dict[str, Any]], bool]:
    if left[0] == "lit" and right[0] == "prop":
        flip = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
        left, right, op = right, left, flip.get(op, op)
    if left[0] != "prop":
        raise _invalid("The left operand of a comparison must be a property.")
    name = left[1]
    typ = _prop_type(ent, name)
    if right[0] == "prop":
        other = right[1]
        otyp = _prop_type(ent, other)
        if otyp != typ:
            raise _invalid(f"A binary operator with incompatible types was detected. Found "
                           f"operand types '{_edm(typ)}' and '{_edm(otyp)}'.")
        return lambda r: _cmp(op, typ, r.get(name), r.get(other), True)
    value = _check_literal(op, typ, right)
    if typ == "s" and value is not None and "*" in value and op in ("eq", "ne"):
        pattern = re.compile(
            "^" + ".*".join(re.escape(p) for p in value.split("*")) + "$", re.IGNORECASE | re.S
        )
        if op == "eq":
            return lambda r: r.get(name) is not None and bool(pattern.match(r.get(name)))
        return lambda r: not (r.get(name) is not None and bool(pattern.match(r.get(name))))
    return lambda r: _cmp(op, typ, r.get(name), value, False)


def _norm(typ: str, v: Any, from_record: bool) -> Any:
    if v is None:
        return None
    if typ == "s":
        return str(v).casefold()
    if typ in ("dec", "int"):
        return Decimal(str(v))
    if typ in ("dt", "date"):
        return parse_dt(v) if (from_record or isinstance(v, str)) else v
    if typ.startswith("e:"):
        members = ENUMS[typ[2:]]
        return members.index(v) if v in members else -1
    return v


def _cmp(op: str, typ: str, a: Any, b: Any, b_from_record: bool) -> bool:
    x = _norm(typ, a, True)
    y = _norm(typ, b, b_from_record)
    if op == "eq":
        return x == y
    if op == "ne":
        return x != y
    if x is None or y is None:
        return False
    return {"gt": x > y, "ge": x >= y, "lt": x < y, "le": x <= y}[op]


# ---------------------------------------------------------------------------------- helpers
def etag_for(rec: dict[str, Any], key: tuple[str, ...]) -> str:
    """Opaque weak ETag: base64 of "'<recVersion>,<RecId>'" (the §3.4 observed shape)."""
    rec_id = int(hashlib.sha256("|".join(str(rec.get(k)) for k in key).encode()).hexdigest(),
                 16) % 10**11 + 5637144576
    body = json.dumps({k: v for k, v in rec.items() if not k.startswith("@")}, sort_keys=True)
    version = int(hashlib.sha256(body.encode()).hexdigest(), 16) % 2**31
    raw = f"'{version},{rec_id}'".encode()
    return 'W/"' + base64.b64encode(raw).decode() + '"'


def _default(typ: str) -> Any:
    if typ == "s":
        return ""
    if typ in ("dec", "int"):
        return 0
    if typ == "dt":
        return scenario.BLANK_DATETIME
    if typ == "date":
        return scenario.BLANK_DATE
    enum = typ[2:]
    if enum in NULLABLE_ENUMS:
        return None
    return "No" if enum == "NoYes" else ENUMS[enum][0]


def complete(ent: Entity, rec: dict[str, Any]) -> dict[str, Any]:
    """A record with every property of the entity, in $metadata order, plus its ETag."""
    unknown = set(rec) - set(ent.props)
    if unknown:
        raise ValueError(f"{ent.name}: properties not in the schema: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, typ in ent.props.items():
        out[name] = rec[name] if name in rec else _default(typ)
        if typ.startswith("e:") and out[name] is not None and out[name] not in ENUMS[typ[2:]]:
            raise ValueError(f"{ent.name}.{name}: {out[name]!r} is no {typ[2:]} member")
    return {"@odata.etag": etag_for(out, ent.key), **out}


def load(world: scenario.World) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = {}
    for name, ent in ENTITIES.items():
        if ent.source:
            continue
        data[name] = [complete(ent, copy.deepcopy(r)) for r in world.fo.get(name, [])]
    for name, ent in ENTITIES.items():
        if ent.source:
            data[name] = [
                complete(ent, {k: v for k, v in r.items() if k in ent.props})
                for r in data[ent.source]
            ]
    return data


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, quote, cur = [], 0, False, []
    for ch in text:
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        if ch == sep and depth == 0 and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


_KEY_PAIR = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*('(?:[^']|'')*'|[^,]+)\s*")


def parse_key(text: str, ent: Entity) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for part in _split_top(text, ","):
        m = _KEY_PAIR.fullmatch(part)
        if not m:
            raise ODataError(400, f"Bad Request - Error in query syntax: the key '{text}' must "
                                  "name every key property (Name=value).")
        name, raw = m.group(1), m.group(2).strip()
        pairs[name] = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
    if set(pairs) != set(ent.key):
        raise ODataError(400, "The number of keys specified in the URI does not match number of "
                              f"key properties for the resource '{NS}.{ent.type_name}'.")
    return pairs


def _key_match(ent: Entity, rec: dict[str, Any], key: dict[str, str]) -> bool:
    for name, want in key.items():
        typ = ent.props[name]
        try:
            if _norm(typ, rec.get(name), True) != _norm(typ, want, True):
                return False
        except (ValueError, InvalidOperation):
            return False
    return True


# ---------------------------------------------------------------------------------- service
class Service:
    def __init__(self, world: scenario.World, page_size: int) -> None:
        self.world = world
        self.data = load(world)
        self.page_size = page_size

    # -- one GET below /data ------------------------------------------------------------------
    def get(self, rest: str, query: str, root: str) -> tuple[int, dict[str, str], bytes]:
        try:
            return self._get(rest, query, root)
        except ODataError as e:
            return e.status, {"content-type": ODATA_CT}, json.dumps(
                error_body(e.message, e.typ)).encode()

    def _get(self, rest: str, query: str, root: str) -> tuple[int, dict[str, str], bytes]:
        params = parse_qsl(query, keep_blank_values=True)
        opts: dict[str, str] = {}
        for k, v in params:
            if k.startswith("$"):
                if k not in ("$filter", "$select", "$expand", "$orderby", "$top", "$skip",
                             "$count", "$format", "$skiptoken"):
                    raise _invalid(f"The query parameter '{k}' is not supported.")
                if k in opts:
                    raise _invalid(f"The query parameter '{k}' is specified more than once.")
                opts[k] = v
        fmt = opts.get("$format", "json").lower()
        if fmt not in ("json", "application/json"):
            raise ODataError(406, f"The format '{fmt}' is not supported.")
        cross = dict(params).get("cross-company", "").lower() == "true"
        rest = rest.strip("/")
        if rest in ("", "$metadata"):
            if rest == "":
                return 200, {"content-type": ODATA_CT}, json.dumps(self.service_doc(root)).encode()
            return 200, {"content-type": "application/xml"}, metadata_xml().encode()
        m = re.fullmatch(r"([A-Za-z_]\w*)(?:\((.*)\))?(?:/(\$count|[A-Za-z_]\w*))?", rest, re.S)
        if not m or m.group(1) not in ENTITIES:
            raise ODataError(404, "No HTTP resource was found that matches the request URI "
                                  f"'{root}/{rest}'.", "System.Web.Http.HttpResponseException")
        ent = ENTITIES[m.group(1)]
        key_text, tail = m.group(2), m.group(3)
        records = self.visible(ent, cross)
        if key_text is not None:
            key = parse_key(key_text, ent)
            found = [r for r in records if _key_match(ent, r, key)]
            if not found:
                raise ODataError(404, f"No resource was found for '{ent.name}({key_text})'.",
                                 "System.Web.Http.HttpResponseException")
            rec = found[0]
            if tail is None:
                if "$filter" in opts or "$top" in opts or "$skip" in opts:
                    raise _invalid("Query options $filter, $top and $skip are not allowed on a "
                                   "single entity.")
                select = self.parse_select(opts.get("$select"), ent)
                expand = self.parse_expand(opts.get("$expand"), ent)
                body = {"@odata.context": f"{root}/$metadata#{ent.name}/$entity",
                        **self.shape(rec, ent, select, expand, cross)}
                return 200, {"content-type": ODATA_CT}, json.dumps(body).encode()
            if tail not in ent.navs:
                raise _invalid(f"Could not find a property named '{tail}' on type "
                               f"'{NS}.{ent.type_name}'.")
            nav = ent.navs[tail]
            target = ENTITIES[nav.target]
            related = [r for r in self.visible(target, True)
                       if all(r.get(f) == rec.get(f) for f in nav.on)]
            if not nav.many:
                body = {"@odata.context": f"{root}/$metadata#{target.name}/$entity",
                        **self.shape(related[0], target, None, {}, cross)} if related else None
                if body is None:
                    return 204, {}, b""
                return 200, {"content-type": ODATA_CT}, json.dumps(body).encode()
            return self.collection(target, related, opts, params, root,
                                   f"{ent.name}({key_text})/{tail}", cross)
        if tail == "$count":
            rows = self.apply_filter(records, ent, opts.get("$filter"))
            return 200, {"content-type": "text/plain"}, str(len(rows)).encode()
        if tail is not None:
            raise ODataError(404, "No HTTP resource was found that matches the request URI "
                                  f"'{root}/{rest}'.", "System.Web.Http.HttpResponseException")
        return self.collection(ent, records, opts, params, root, ent.name, cross)

    def visible(self, ent: Entity, cross: bool) -> list[dict[str, Any]]:
        recs = self.data[ent.name]
        if not ent.company:
            return recs
        if cross:
            return [r for r in recs if r["dataAreaId"] in scenario.ACCESSIBLE_COMPANIES]
        return [r for r in recs if r["dataAreaId"] == scenario.DEFAULT_COMPANY]

    def service_doc(self, root: str) -> dict[str, Any]:
        return {"@odata.context": f"{root}/$metadata",
                "value": [{"name": n, "kind": "EntitySet", "url": n} for n in ENTITIES]}

    @staticmethod
    def apply_filter(records: list[dict[str, Any]], ent: Entity,
                     text: str | None) -> list[dict[str, Any]]:
        if text is None:
            return list(records)
        if not text.strip():
            raise _invalid("The $filter expression is empty.")
        pred = compile_filter(text, ent)
        return [r for r in records if pred(r)]

    @staticmethod
    def parse_select(text: str | None, ent: Entity) -> list[str] | None:
        if text is None or text.strip() in ("", "*"):
            return None
        names = [s.strip() for s in text.split(",") if s.strip()]
        for n in names:
            if n not in ent.props and n not in ent.navs:
                raise _invalid(f"Could not find a property named '{n}' on type "
                               f"'{NS}.{ent.type_name}'.")
        return names

    def parse_expand(self, text: str | None, ent: Entity) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        if not text:
            return out
        for item in _split_top(text, ","):
            m = re.fullmatch(r"([A-Za-z_]\w*)(?:\((.*)\))?", item, re.S)
            if not m or m.group(1) not in ent.navs:
                raise _invalid(f"Could not find a navigation property named '{item}' on type "
                               f"'{NS}.{ent.type_name}'.")
            inner: dict[str, str] = {}
            if m.group(2):
                for opt in _split_top(m.group(2), ";"):
                    k, _, v = opt.partition("=")
                    k = k.strip()
                    if k == "$expand":
                        raise _invalid("Only first-level expansion is supported.")
                    if k not in ("$select", "$filter"):
                        raise _invalid(f"The option '{k}' is not supported inside $expand.")
                    inner[k] = v
            target = ENTITIES[ent.navs[m.group(1)].target]
            self.parse_select(inner.get("$select"), target)
            if "$filter" in inner:
                compile_filter(inner["$filter"], target)
            out[m.group(1)] = inner
        return out

    def shape(self, rec: dict[str, Any], ent: Entity, select: list[str] | None,
              expand: dict[str, dict[str, str]], cross: bool) -> dict[str, Any]:
        if select is None:
            out = dict(rec)
        else:
            out = {"@odata.etag": rec["@odata.etag"]}
            out.update({k: rec[k] for k in select if k in ent.props})
        for nav_name, inner in expand.items():
            nav = ent.navs[nav_name]
            target = ENTITIES[nav.target]
            related = [r for r in self.visible(target, True)
                       if all(r.get(f) == rec.get(f) for f in nav.on)]
            related = self.apply_filter(related, target, inner.get("$filter"))
            tsel = self.parse_select(inner.get("$select"), target)
            shaped = [self.shape(r, target, tsel, {}, cross) for r in related]
            out[nav_name] = shaped if nav.many else (shaped[0] if shaped else None)
        return out

    def collection(self, ent: Entity, records: list[dict[str, Any]], opts: dict[str, str],
                   params: list[tuple[str, str]], root: str, path: str,
                   cross: bool) -> tuple[int, dict[str, str], bytes]:
        rows = self.apply_filter(records, ent, opts.get("$filter"))
        select = self.parse_select(opts.get("$select"), ent)
        expand = self.parse_expand(opts.get("$expand"), ent)
        order = opts.get("$orderby")
        keys: list[tuple[str, bool]] = []
        if order:
            for part in _split_top(order, ","):
                bits = part.split()
                if len(bits) > 2 or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
                    raise _invalid(f"Syntax error in $orderby '{order}'.")
                _prop_type(ent, bits[0])
                keys.append((bits[0], len(bits) == 2 and bits[1] == "desc"))
        keys += [(k, False) for k in ent.key if k not in {n for n, _ in keys}]
        for name, desc in reversed(keys):
            rows.sort(key=lambda r, n=name: _sort_key(ent.props[n], r.get(n)), reverse=desc)
        top = _nonneg(opts.get("$top"), "$top")
        skip = _nonneg(opts.get("$skip"), "$skip") or 0
        signature = _signature(path, params)
        consumed = 0
        if "$skiptoken" in opts:
            consumed = _read_token(opts["$skiptoken"], signature)
        start = skip + consumed
        remaining = (top - consumed) if top is not None else len(rows)
        n = max(0, min(self.page_size, remaining, len(rows) - start))
        page = rows[start:start + n]
        body: dict[str, Any] = {
            "@odata.context": f"{root}/$metadata#{ent.name}"
            + (f"({','.join(select)})" if select else "")
        }
        if opts.get("$count", "").lower() == "true":
            body["@odata.count"] = len(rows)
        body["value"] = [self.shape(r, ent, select, expand, cross) for r in page]
        more = start + n < len(rows) and (top is None or consumed + n < top)
        if more:
            kept = "&".join(p for p in _raw_parts(params) if not p.startswith("$skiptoken="))
            token = _make_token(consumed + n, signature)
            body["@odata.nextLink"] = (f"{root}/{path}?" + (kept + "&" if kept else "")
                                       + f"$skiptoken={token}")
        return 200, {"content-type": ODATA_CT}, json.dumps(body).encode()


def _nonneg(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"\d+", value.strip()):
        raise _invalid(f"Invalid value '{value}' for {name}: a non-negative integer is required.")
    return int(value)


def _signature(path: str, params: list[tuple[str, str]]) -> str:
    kept = sorted((k, v) for k, v in params if k != "$skiptoken")
    return hashlib.sha256(json.dumps([path, kept]).encode()).hexdigest()[:16]


def _make_token(consumed: int, signature: str) -> str:
    raw = json.dumps({"c": consumed, "s": signature}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, signature: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
        consumed = int(doc["c"])
        ok = doc["s"] == signature
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise _invalid("The $skiptoken is not valid for this query.")
    return consumed


_SAFE_VALUE = "$-_.~*()',:"


def _raw_parts(params: list[tuple[str, str]]) -> list[str]:
    return [f"{quote(k, safe='$-')}={quote(v, safe=_SAFE_VALUE)}" for k, v in params]


# ---------------------------------------------------------------------------------- $metadata
def metadata_xml() -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
           "<edmx:DataServices>",
           f'<Schema Namespace="{NS}" xmlns="http://docs.oasis-open.org/odata/ns/edm">']
    for name, members in ENUMS.items():
        out.append(f'<EnumType Name="{name}">')
        out += [f'<Member Name="{m}" Value="{i}" />' for i, m in enumerate(members)]
        out.append("</EnumType>")
    for ent in ENTITIES.values():
        out.append(f'<EntityType Name="{ent.type_name}">')
        out.append("<Key>" + "".join(f'<PropertyRef Name="{k}" />' for k in ent.key) + "</Key>")
        for p, typ in ent.props.items():
            nullable = "true" if typ == "e:Timezone" else "false"
            scale = ' Precision="32" Scale="6"' if typ == "dec" else ""
            out.append(f'<Property Name="{p}" Type="{_edm(typ)}" Nullable="{nullable}"{scale} />')
        for n, nav in ent.navs.items():
            t = f"{NS}.{ENTITIES[nav.target].type_name}"
            out.append(f'<NavigationProperty Name="{n}" '
                       f'Type="{"Collection(" + t + ")" if nav.many else t}" />')
        out.append("</EntityType>")
    out.append('<EntityContainer Name="Resources">')
    for ent in ENTITIES.values():
        out.append(f'<EntitySet Name="{ent.name}" EntityType="{NS}.{ent.type_name}">')
        out += [f'<NavigationPropertyBinding Path="{n}" Target="{nav.target}" />'
                for n, nav in ent.navs.items()]
        out.append("</EntitySet>")
    out += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(out)


# ---------------------------------------------------------------------------------- $batch
def _parse_parts(body: str, boundary: str) -> list[tuple[dict[str, str], str]]:
    parts = []
    for chunk in body.split(f"--{boundary}")[1:]:
        if chunk.startswith("--"):
            break
        chunk = chunk.lstrip("\r\n")
        head, _, rest = chunk.replace("\r\n", "\n").partition("\n\n")
        headers = {}
        for line in head.split("\n"):
            k, _, v = line.partition(":")
            if k.strip():
                headers[k.strip().lower()] = v.strip()
        parts.append((headers, rest))
    return parts


def _boundary(content_type: str) -> str | None:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------- the app
def make_app(
    world: scenario.World,
    *,
    page_size: int = MAX_PAGE,
    throttle_every: int = 0,
    throttle_max: int = 0,
    retry_after: int = 1,
) -> Starlette:
    svc = Service(world, page_size)
    log: list[dict[str, Any]] = []
    tokens: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    counters = {"data": 0, "throttled": 0}

    def record(method: str, path: str, query: str, status: int, **extra: Any) -> None:
        with lock:
            log.append({"method": method, "path": path, "query": query, "status": status,
                        **extra})

    def env_url(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}".lower().rstrip("/")

    # -- Entra token endpoint (§2.2) -------------------------------------------------------------
    async def token(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"),
                              keep_blank_values=True))

        def fail(status: int, error: str, code: int, text: str) -> JSONResponse:
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            trace = str(uuid.uuid4())
            record("POST", request.url.path, "", status, error=error)
            return JSONResponse(
                {"error": error,
                 "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\n"
                                      f"Correlation ID: {uuid.uuid4()}\r\nTimestamp: {now}",
                 "error_codes": [code], "timestamp": now, "trace_id": trace,
                 "correlation_id": str(uuid.uuid4())},
                status_code=status,
            )

        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return fail(400, "invalid_request", 900144,
                        "The request body must contain the following parameter: 'grant_type'.")
        if tenant.lower() in ("common", "organizations", "consumers"):
            return fail(400, "invalid_request", 90009,
                        "Application is requesting a token for itself. This scenario is "
                        "supported only if resource is specified using the tenant endpoint.")
        if tenant.lower() != scenario.TENANT.lower():
            return fail(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return fail(400, "unsupported_grant_type", 70003,
                        "The app requested an unsupported grant type.")
        if form.get("client_id") != scenario.CLIENT_ID:
            return fail(400, "unauthorized_client", 700016,
                        f"Application with identifier '{form.get('client_id')}' was not found "
                        f"in the directory '{tenant}'.")
        if form.get("client_secret") != scenario.CLIENT_SECRET:
            return fail(401, "invalid_client", 7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the "
                        "request is the client secret value, not the client secret ID.")
        scope = str(form.get("scope") or "")
        if not scope.endswith("/.default") or " " in scope.strip():
            return fail(400, "invalid_scope", 70011,
                        "The provided value for the input parameter 'scope' is not valid. The "
                        f"scope {scope} is not valid.")
        aud = scope[: -len("/.default")]
        claims = {"aud": aud, "tid": scenario.TENANT, "oid": str(uuid.uuid4()),
                  "appid": scenario.CLIENT_ID, "exp": int(time.time()) + 3599}
        enc = [base64.urlsafe_b64encode(json.dumps(x).encode()).decode().rstrip("=")
               for x in ({"typ": "JWT", "alg": "RS256", "x5t": "fake"}, claims)]
        tok = ".".join([*enc, base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")])
        with lock:
            tokens[tok] = claims
        record("POST", request.url.path, "", 200, scope=scope)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                             "access_token": tok})

    def authorised(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        claims = tokens.get(auth[7:].strip())
        return bool(claims and claims["exp"] > time.time() and claims["aud"] == env_url(request))

    def unauthorised() -> Response:
        return Response(b"", status_code=401,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def throttled() -> Response | None:
        with lock:
            counters["data"] += 1
            hit = (throttle_every and counters["data"] % throttle_every == 0
                   and counters["throttled"] < throttle_max)
            if hit:
                counters["throttled"] += 1
        if not hit:
            return None
        msg = "Number of requests exeeded the limit of 6000 over the time window of 300 seconds."
        return JSONResponse(error_body(msg, "Microsoft.Dynamics.Platform.Integration.Services."
                                            "OData.ODataThrottlingException"),
                            status_code=429, headers={"Retry-After": str(retry_after)})

    async def data(request: Request) -> Response:
        rest = request.scope["path"][len("/data"):]
        query = request.url.query
        method = request.method
        if not authorised(request):
            record(method, request.url.path, query, 401)
            return unauthorised()
        thr = throttled()
        if thr is not None:
            record(method, request.url.path, query, 429)
            return thr
        root = env_url(request) + "/data"
        if rest.strip("/") == "$batch":
            if method != "POST":
                record(method, request.url.path, query, 405)
                return JSONResponse(error_body("$batch takes POST."), status_code=405)
            return await batch(request, root)
        if method != "GET":
            record(method, request.url.path, query, 405)
            return JSONResponse(error_body(f"The requested resource does not support http "
                                           f"method '{method}' in this fake (read-only)."),
                                status_code=405)
        status, headers, body = svc.get(rest, query, root)
        record(method, request.url.path, query, status)
        headers = {**headers, "OData-Version": "4.0"}
        media = headers.pop("content-type", None)
        return Response(body, status_code=status, headers=headers, media_type=media)

    async def batch(request: Request, root: str) -> Response:
        ctype = request.headers.get("content-type", "")
        boundary = _boundary(ctype)
        if not ctype.startswith("multipart/mixed") or not boundary:
            record("POST", request.url.path, "", 400)
            return JSONResponse(error_body("The batch request must have a 'Content-Type' "
                                           "header of 'multipart/mixed' with a boundary."),
                                status_code=400)
        text = (await request.body()).decode()
        out_boundary = f"batchresponse_{uuid.uuid4()}"
        chunks: list[str] = []
        for headers, body in _parse_parts(text, boundary):
            ptype = headers.get("content-type", "")
            if ptype.startswith("multipart/mixed"):
                cs = _boundary(ptype) or ""
                inner_parts = []
                for ih, _ib in _parse_parts(body, cs):
                    resp = _http_part(405, {"content-type": ODATA_CT},
                                      json.dumps(error_body("Write operations are not supported "
                                                            "by this read-only fake.")).encode(),
                                      ih.get("content-id"))
                    inner_parts.append(resp)
                cs_out = f"changesetresponse_{uuid.uuid4()}"
                chunks.append(f"Content-Type: multipart/mixed; boundary={cs_out}\r\n\r\n"
                              + "".join(f"--{cs_out}\r\n{p}" for p in inner_parts)
                              + f"--{cs_out}--\r\n")
                continue
            req_line, _, _ = body.lstrip("\n").partition("\n")
            bits = req_line.strip().split(" ")
            if len(bits) < 2:
                chunks.append(_http_part(400, {"content-type": ODATA_CT}, json.dumps(
                    error_body("Malformed request line in batch part.")).encode(),
                    headers.get("content-id")))
                continue
            method, url = bits[0].upper(), bits[1]
            sp = urlsplit(url)
            path = sp.path
            if sp.scheme:  # absolute
                path = sp.path
            elif not path.startswith("/"):
                path = "/data/" + path
            rest = path[len("/data"):] if path.startswith("/data") else path
            if method != "GET":
                status, h, b = 405, {"content-type": ODATA_CT}, json.dumps(
                    error_body("Write operations are not supported by this read-only fake.")
                ).encode()
            else:
                status, h, b = svc.get(rest, sp.query, root)
            record(method, path, sp.query, status, batch=True)
            chunks.append(_http_part(status, h, b, headers.get("content-id")))
        payload = "".join(f"--{out_boundary}\r\n{c}" for c in chunks) + f"--{out_boundary}--\r\n"
        record("POST", request.url.path, "", 200, parts=len(chunks))
        return Response(payload.encode(), status_code=200,
                        media_type=f"multipart/mixed; boundary={out_boundary}",
                        headers={"OData-Version": "4.0"})

    async def not_found(request: Request) -> Response:
        record(request.method, request.url.path, request.url.query, 404)
        return JSONResponse(error_body(f"No HTTP resource was found that matches the request URI "
                                       f"'{request.url}'.",
                                       "System.Web.Http.HttpResponseException"), status_code=404)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(routes=[
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/data", data, methods=methods),
        Route("/data/{rest:path}", data, methods=methods),
        Route("/{path:path}", not_found, methods=methods),
    ])
    app.state.log = log
    app.state.service = svc
    app.state.tokens = tokens
    return app


_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
            429: "Too Many Requests", 500: "Internal Server Error"}


def _http_part(status: int, headers: dict[str, str], body: bytes, content_id: str | None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    inner = f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
    for k, v in headers.items():
        inner += f"{k.title()}: {v}\r\n"
    inner += "OData-Version: 4.0\r\n\r\n"
    return f"{head}\r\n{inner}{body.decode()}\r\n"

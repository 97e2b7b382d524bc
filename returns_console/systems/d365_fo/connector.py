"""Dynamics 365 Finance & Operations, read over its OData data entities
(docs/d365fo-mapping.md, "Read plan").

Authentication: Entra client credentials for the environment's own URL as the audience
(docs/vendors/d365-fo.md §2.2). Every read names the legal entity (`cross-company=true` and a
`dataAreaId` filter, §1.2) and follows the server's `@odata.nextLink` pages (up to 10,000
records, §3.2). Return orders carry no created or modified stamp (§5.2), so every read is
whole: headers by deadline, all the company's return lines, the credit notes of the window,
and the master data the rules check. A record that does not validate is a payload problem
under its link key, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr, ValidationError

from ...connectors.auth import OAuthClientCredentials
from ...connectors.base import ErpBatch, ReadAgain, StoredRecords, Touch
from ...connectors.errors import MisconfiguredError, NotFoundError
from ...connectors.http import CallLog, HttpClient, RetryPolicy, json_or_none
from ...connectors.pacing import Pacer
from ...connectors.validation import describe
from ...domain.codes import Side, Stage
from ...domain.model import ErpView, PayloadProblem
from ...domain.pace import breathe
from ...domain.pairing import link_of
from ...domain.reference import AccountingPeriod, Customer, ErpMaster, Item
from ...kits.odata.client import (
    ODataClient,
    datetime_literal,
    enum_literal,
    error_text,
    filter_eq,
)
from .mapping import SYSTEM, Assembler, MappingSettings, group_records
from .records import FoHeader, FoInvoice, FoLine, moment

#: What a re-queue can create here: a missing return order (writer.py, §7.1). Posting an
#: arrival, a packing slip or a credit note has no OData action (§7.2): each such finding
#: says what to do in F&O.
CREATES: frozenset[str] = frozenset({"return_order"})
INSTEAD = {
    "RETURN_ORDER_MISSING": "In F&O, create the return order (Sales and marketing > Sales "
    "orders > Returns > All return orders > New return order) for the customer, with the "
    "return's reference as its Customer reference, and add its lines (Find sales order).",
    "RETURN_ORDER_NOT_OPEN": "In F&O, open the return order: a cancelled one cannot take "
    "goods (create a new one); on one whose processing is stopped, clear Stop.",
    "RECEIPT_NOT_POSTED": "In F&O, register the arrival: Inventory management > Periodic "
    "tasks > Arrival overview > Start arrival on the return order's lines, set the "
    "disposition code (or send them to quarantine) and post the arrival journal.",
    "CREDIT_NOTE_MISSING": "In F&O, post the packing slip of the registered lines, then the "
    "invoice: Sales order page of the return order > Invoice > Generate > Invoice (the "
    "credit note); credit only what was received.",
    "EXCHANGE_ORDER_MISSING": "In F&O, set a Replace disposition code on the return line "
    "(Replace and credit, or Replace and scrap) and post the packing slip: it creates the "
    "replacement sales order; or create it up front from the return order (Replacement "
    "order).",
    "QUANTITY_MISMATCH.ordered": "In F&O, correct the quantity on the return order line "
    "(or add the missing line) before its arrival is registered.",
    "QUANTITY_MISMATCH.received": "In F&O, correct the registration: a line registered with "
    "the wrong quantity is changed in the arrival journal before the packing slip is posted.",
}
#: How a master record that cannot be used, and a line's unknown disposition code, are
#: told among a batch's notices (the only notices assembling makes).
SKIPPED = "was skipped: "
UNKNOWN_CODE = (", which the legal entity's ReturnDispositionCodes do not have: what it does "
                "to the goods is not known")
#: Line breaks (as sent, or as decode_json shows a control character: ␍ ␊) and runs of
#: blanks in an error's text (an infolog joins its lines, §8.1).
_BLANKS = re.compile(r"[\s\u240a\u240d]+")
#: F&O's resource: the environment URL, lower case, no trailing slash, + /.default (§2.2).
DEFAULT_SCOPE = "{environment}/.default"
READ_LIMIT = "cross-company"


class FoSettings:
    def __init__(self, *, base_url: str, tenant: str, client_id: str,
                 client_secret: SecretStr | str, company: str,
                 token_url: str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                 scope: str = "", page_size: int = 10_000, history_days: int = 365,
                 max_concurrency: int = 4, link_max_len: int = 20,
                 header_entity: str = "ReturnOrderHeadersV2",
                 line_entity: str = "ReturnOrderLinesV2",
                 reason_entity: str = "ReturnReasonCodeBiEntities",
                 customer_block_values: tuple[str, ...] = ("All", "Invoice"),
                 item_blocked_flags: tuple[str, ...] = ("IsSalesProcessingStopped",
                                                        "IsInventoryProcessingStopped"),
                 mapping: MappingSettings | None = None, timeout: float = 60.0,
                 sync_mode: str = "open_plus_recent", closed_lookback_days: int = 30) -> None:
        #: The environment URL (scheme and host in lower case, as next links come back);
        #: the OData service is its /data.
        parts = urlsplit(base_url.rstrip("/"))
        self.environment = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path,
                                       parts.query, parts.fragment))
        self.service_root = f"{self.environment}/data/"
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.company = company.lower()
        self.token_url = token_url.replace("{tenant}", tenant)
        self.scope = scope or DEFAULT_SCOPE.format(environment=self.environment.lower())
        self.page_size = page_size
        self.history_days = history_days
        self.max_concurrency = max_concurrency
        #: The longest reference the link field takes (U14): a longer one is refused.
        self.link_max_len = link_max_len
        self.header_entity = header_entity
        self.line_entity = line_entity
        self.reason_entity = reason_entity
        self.customer_block_values = frozenset(v.casefold() for v in customer_block_values)
        self.item_blocked_flags = item_blocked_flags
        self.mapping = mapping or MappingSettings()
        self.timeout = timeout
        #: How a refresh reads (U19): `open_plus_recent` (the return orders still open, the
        #: lines closed and invoices dated since the last read) or `full` (everything).
        self.sync_mode = sync_mode
        #: How far back a refresh reads credit notes whatever the last read (a posting
        #: may be dated back into the month).
        self.closed_lookback_days = closed_lookback_days


class Read(NamedTuple):
    """One collection the connector reads: its entity set, the fields it takes, the
    filters beyond the company's, and the field(s) naming each record."""

    entity: str
    select: tuple[str, ...]
    key: tuple[str, ...]
    filters: tuple[str, ...] = ()
    #: Sent with the legal entity filter (entities without dataAreaId are filtered
    #: otherwise, or not at all).
    company_field: str | None = "dataAreaId"


_NS = "Microsoft.Dynamics.DataEntities"
#: Header and line states after which nothing more happens to a return order (U19).
_HEADER_DONE = ("Closed", "Canceled")
_LINE_DONE = ("Invoiced", "Canceled")
#: Return order numbers asked for in one `or` chain (a URL stays short).
_BY_NUMBER = 20
#: Records or link keys assembled between two looks at the event loop (`steps`).
STEP = 500
_HEADER = ("dataAreaId", "ReturnOrderNumber", "RMANumber", "CustomerAccountNumber",
           "CustomersOrderReference", "CustomerRequisitionNumber", "CustomerReturnReasonCode",
           "ReturnStatus", "IsReturnProcessingStopped", "ReplacementSalesOrderNumber",
           "IsReplacementSalesOrderCreated", "CurrencyCode", "ReturnDeadline",
           "DefaultReturnWarehouseId")
_LINE = ("dataAreaId", "ReturnOrderNumber", "ReturnInventoryLotId",
         "LineCreationSequenceNumber", "ItemNumber", "ReturnSalesQuantity",
         "ReturnedSalesQuantity", "SalesUnitSymbol", "ReturnStatus", "ReturnDispositionCode",
         "ReturnWarehouseId", "ActualReturnArrivalDate", "ReturnClosedDate")
_INVOICE = ("dataAreaId", "InvoiceNumber", "InvoiceDate", "LedgerVoucher", "SalesOrderNumber",
            "CustomersOrderReference", "InvoiceCustomerAccountNumber", "CurrencyCode",
            "TotalInvoiceAmount", "TotalTaxAmount", "TotalChargeAmount", "TotalDiscountAmount")
#: Documents: what each is validated as.
DOCUMENTS: dict[str, type[BaseModel]] = {"headers": FoHeader, "lines": FoLine,
                                         "invoices": FoInvoice}
_STAGE_OF = {"headers": Stage.AUTHORISED, "lines": Stage.RECEIVED, "invoices": Stage.CREDITED}


class FoConnector:
    system = SYSTEM

    def __init__(self, settings: FoSettings, *, log: CallLog | None = None,
                 transport: Any = None, retry: RetryPolicy | None = None,
                 pacer: Pacer | None = None, sleep: Any = None) -> None:
        self.settings = settings
        self.http = HttpClient(
            SYSTEM, settings.service_root,
            auth=OAuthClientCredentials(settings.token_url, settings.client_id,
                                        settings.client_secret, settings.scope),
            timeout=settings.timeout, concurrency=settings.max_concurrency, retry=retry,
            log=log, error_parser=_error_text, transport=transport, sleep=sleep, pacer=pacer)
        self.odata = ODataClient(self.http, root=settings.service_root)
        self._links: dict[str, str | None] = {}

    def reads(self, since: datetime) -> dict[str, Read]:
        """Every collection a full read takes (docs/d365fo-mapping.md, "Read plan")."""
        s = self.settings
        day = datetime_literal(since)
        return {
            "headers": Read(s.header_entity, _HEADER, ("ReturnOrderNumber",),
                            (f"ReturnDeadline ge {day}",)),
            "lines": Read(s.line_entity, _LINE, ("ReturnOrderNumber", "ReturnInventoryLotId")),
            # a credit note's total is negative (U20): an invoice's is not read
            "invoices": Read("SalesInvoiceHeadersV2", _INVOICE, ("InvoiceNumber",),
                             (f"InvoiceDate ge {day}", "TotalInvoiceAmount lt 0")),
            "items": Read("ReleasedProductsV2", ("ItemNumber", "InventoryUnitSymbol",
                                                 "SalesUnitSymbol", "ProductType"),
                          ("ItemNumber",)),
            "item_settings": Read("ProductDefaultOrderSettings",
                                  ("ItemNumber", *s.item_blocked_flags), ("ItemNumber",)),
            "customers": Read("CustomersV3", ("CustomerAccount", "OnHoldStatus",
                                              "PrimaryContactEmail"), ("CustomerAccount",)),
            "ledger_periods": Read("LedgerFiscalPeriods", (
                "Calendar", "YearName", "PeriodName", "PeriodStatus", "SalesAccessLevel"),
                ("Calendar", "YearName", "PeriodName"), company_field="LegalEntityId"),
            "fiscal_periods": Read("FiscalPeriods", (
                "Calendar", "FiscalYear", "PeriodName", "StartDate", "EndDate", "Type"),
                ("Calendar", "FiscalYear", "PeriodName"), company_field=None),
            "dispositions": Read("ReturnDispositionCodes", ("DispositionCode",
                                                            "DispositionAction"),
                                 ("DispositionCode",)),
            "warehouses": Read("Warehouses", ("WarehouseId",), ("WarehouseId",)),
            "payment_methods": Read("CustomerPaymentMethods", ("Name",), ("Name",)),
            **({} if s.reason_entity.casefold() == "none" else {
                "reasons": Read(s.reason_entity, ("ReasonCodeId",), ("ReasonCodeId",))}),
        }

    def changed_reads(self, since: datetime, cutoff: datetime, dated: datetime
                      ) -> dict[str, Read]:
        """A refresh's reads (U19, `open_plus_recent`): the return orders of the window
        still open, every line still open or closed since `cutoff` (a day before the last
        read: F&O keeps `ReturnClosedDate` as a date, U21), the credit notes dated since
        `dated` (a posting may be dated back: `closed_lookback_days` before now, at least),
        and the master data whole (as a full read takes it)."""
        s = self.settings
        reads = self.reads(since)
        window, day = datetime_literal(since), datetime_literal(cutoff)
        header, line = f"{_NS}.ReturnStatusHeader", f"{_NS}.ReturnStatusLine"
        reads["headers"] = Read(s.header_entity, _HEADER, ("ReturnOrderNumber",), (
            f"ReturnDeadline ge {window}",
            *(f"ReturnStatus ne {enum_literal(header, state)}" for state in _HEADER_DONE)))
        still_open = " and ".join(f"ReturnStatus ne {enum_literal(line, state)}"
                                  for state in _LINE_DONE)
        reads["lines"] = Read(s.line_entity, _LINE, ("ReturnOrderNumber", "ReturnInventoryLotId"),
                              (f"(({still_open}) or ReturnClosedDate ge {day})",))
        reads["invoices"] = Read("SalesInvoiceHeadersV2", _INVOICE, ("InvoiceNumber",),
                                 (f"InvoiceDate ge {datetime_literal(max(dated, since))}",
                                  "TotalInvoiceAmount lt 0"))
        return reads

    def headers_numbered(self, numbers: list[str], since: datetime) -> Read:
        """The return orders of the window with these numbers (one `or` chain)."""
        chain = " or ".join(filter_eq("ReturnOrderNumber", n) for n in numbers)
        return Read(self.settings.header_entity, _HEADER, ("ReturnOrderNumber",),
                    (f"ReturnDeadline ge {datetime_literal(since)}", f"({chain})"))

    def reads_for_link(self, link: str) -> dict[str, Read]:
        """The return orders and credit notes carrying `link` now (what a write checks
        right before it is sent)."""
        s = self.settings
        field = s.mapping.link_field
        return {
            "headers": Read(s.header_entity, _HEADER, ("ReturnOrderNumber",),
                            (filter_eq(field, link),)),
            "invoices": Read("SalesInvoiceHeadersV2", _INVOICE, ("InvoiceNumber",),
                             (filter_eq("CustomersOrderReference", link),
                              "TotalInvoiceAmount lt 0")),
        }

    def invoices_of(self, number: str) -> Read:
        """One return order's credit notes (its negative invoices)."""
        return Read("SalesInvoiceHeadersV2", _INVOICE, ("InvoiceNumber",),
                    (filter_eq("SalesOrderNumber", number), "TotalInvoiceAmount lt 0"))

    def lines_of(self, number: str) -> Read:
        """One return order's lines."""
        return Read(self.settings.line_entity, _LINE,
                    ("ReturnOrderNumber", "ReturnInventoryLotId"),
                    (filter_eq("ReturnOrderNumber", number),))

    def params(self, read: Read) -> dict[str, str]:
        clauses = [filter_eq(read.company_field, self.settings.company)] \
            if read.company_field else []
        params = {READ_LIMIT: "true", "$select": ",".join(read.select)}
        clauses += list(read.filters)
        if clauses:
            params["$filter"] = " and ".join(clauses)
        return params

    # -- reads ---------------------------------------------------------------------------

    async def fetch_records(self, *, updated_since: datetime | None = None,
                            keep_pages: bool = True) -> ErpBatch:
        """Everything within `history_days`; with `updated_since` (and `sync_mode`
        `open_plus_recent`), what may have changed since: F&O keeps no change stamp on a
        return order or its lines (§5.2), so a refresh reads the return orders still open,
        the lines still open or closed since, the credit notes dated since, and the return
        orders of those lines that are no longer open, by number (U19). Such a batch holds
        raw records only; `merge` lays them over the last read."""
        fetched_at = datetime.now(UTC)
        since = (fetched_at - timedelta(days=self.settings.history_days)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        notices: list[str] = []
        if updated_since is None or self.settings.sync_mode != "open_plus_recent":
            reads = self.reads(since)
            names = list(reads)
            found = await asyncio.gather(*(self._read(name, reads[name], notices)
                                           for name in names))
            rows = dict(zip(names, found, strict=True))
            batch = ErpBatch(fetched_at=fetched_at)
            for _ in self.steps(batch, rows, reasons_read=rows.get("reasons") is not None):
                await asyncio.sleep(0)  # the other side's answers are taken in between
            batch.notices.extend(notices)
            batch.cursor = _iso(fetched_at)
            return batch
        cutoff = (updated_since.astimezone(UTC) - timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        dated = min(cutoff, (fetched_at - timedelta(days=self.settings.closed_lookback_days))
                    .replace(hour=0, minute=0, second=0, microsecond=0))
        reads = self.changed_reads(since, cutoff, dated)
        names = list(reads)
        found = await asyncio.gather(*(self._read(name, reads[name], notices)
                                       for name in names))
        rows = dict(zip(names, found, strict=True))
        # the return orders of lines closed since whose order is no longer open
        read_open = {str(h.get("ReturnOrderNumber")).casefold()
                     for h in rows.get("headers") or () if isinstance(h, Mapping)}
        numbers = sorted({str(ln.get("ReturnOrderNumber")) for ln in rows.get("lines") or ()
                          if isinstance(ln, Mapping) and ln.get("ReturnOrderNumber")
                          and ln.get("ReturnStatus") in _LINE_DONE
                          and str(ln.get("ReturnOrderNumber")).casefold() not in read_open})
        more = await asyncio.gather(*(
            self._read("headers", self.headers_numbered(numbers[at:at + _BY_NUMBER], since),
                       notices) for at in range(0, len(numbers), _BY_NUMBER)))
        rows["headers"] = [*(rows.get("headers") or ()), *(h for part in more for h in part or ())]
        batch = ErpBatch(fetched_at=fetched_at, cursor=_iso(fetched_at), notices=notices,
                         tally={"open_plus_recent": _iso(since)})
        for name, read in reads.items():
            for n, record in enumerate(rows.get(name) or ()):
                batch.raw[self._raw_ref(name, read, record, n, batch)] = record
        return batch

    async def _read(self, name: str, read: Read, notices: list[str]) -> list[Any] | None:
        rows: list[Any] = []
        try:
            async for page in self.odata.pages(read.entity, self.params(read),
                                               max_page_size=self.settings.page_size):
                rows.extend(_numbers_as_sent(record) for record in page.value)
        except NotFoundError as exc:
            if name != "reasons":
                raise MisconfiguredError(SYSTEM, f"F&O has no entity set {read.entity} here "
                                         f"({exc.detail or exc}): the console reads return "
                                         "orders through the V2 entities (an older release's "
                                         "V1 ones lack the return status); is the URL the "
                                         "environment's?") from exc
            notices.append(f"F&O has no entity set {read.entity} for return reasons; return "
                           "reasons are not checked (set the option reason_entity)")
            return None
        return rows

    def assemble(self, rows: Mapping[str, list[Any] | None], fetched_at: datetime | None,
                 *, reasons_read: bool = True) -> ErpBatch:
        """Records as read → the batch: each kept under its raw_ref (what drill-down shows
        and `from_raw` reads again), documents validated and grouped by link key, master
        data from the rest."""
        batch = ErpBatch(fetched_at=fetched_at)
        for _ in self.steps(batch, rows, reasons_read=reasons_read):
            pass
        return batch

    def steps(self, batch: ErpBatch, rows: Mapping[str, list[Any] | None], *,
              reasons_read: bool = True) -> Iterator[None]:
        """`assemble` into `batch` a part at a time (STEP records or link keys): a read on
        an event loop lets the other side's requests go on between parts."""
        fetched_at = batch.fetched_at
        reads = self.reads(fetched_at or datetime.now(UTC))
        good: dict[str, list[tuple[Any, str]]] = {name: [] for name in DOCUMENTS}
        link = self.settings.mapping.link_field
        # the link each return order number files under (a line's or invoice's problem
        # belongs with its return order's)
        self._links = {str(h.get("ReturnOrderNumber")).casefold(): _text(h.get(link))
                       for h in rows.get("headers") or () if isinstance(h, Mapping)}
        master_rows: dict[str, list[dict[str, Any]]] = {}
        for name, read in reads.items():
            kept: list[dict[str, Any]] = []
            for n, record in enumerate(rows.get(name) or ()):
                breathe()
                if n % STEP == STEP - 1:
                    yield
                ref = self._raw_ref(name, read, record, n, batch)
                batch.raw[ref] = record
                if name in DOCUMENTS:
                    if self._a_returns(name, record):
                        self._document(name, record, ref, batch, good)
                elif (bad := _unfit(read, record)) is None:
                    kept.append(dict(record))
                else:
                    batch.notices.append(f"F&O {read.entity} record {ref.rsplit(':', 1)[-1]} "
                                         f"{SKIPPED}{bad}")
            master_rows[name] = kept
        master_rows.setdefault("reasons", [])
        batch.master = self.master(master_rows, reasons_read)
        actions = {str(r.get("DispositionCode")): str(r.get("DispositionAction"))
                   for r in master_rows["dispositions"] if r.get("DispositionCode")}
        assembler = Assembler(self.settings.mapping, actions)
        known = {code.casefold() for code in actions}
        for line, _ref in good["lines"]:
            code = line.disposition.strip()
            if code and actions and code.casefold() not in known:
                batch.notices.append(
                    f"F&O return order {line.number} line {line.lot} carries disposition code "
                    f"{code}{UNKNOWN_CODE}")
        groups = group_records(self.settings.mapping, good["headers"], good["lines"],
                               good["invoices"])
        for n, group in enumerate(groups.values(), start=1):
            breathe()
            if n % STEP == 0:
                yield
            batch.views[group.key] = assembler.view(group)
        for key in batch.problems:
            if not any(k.casefold() == key.casefold() for k in batch.views):
                batch.views[key] = ErpView(system=SYSTEM, return_ref=key)

    @staticmethod
    def _raw_ref(name: str, read: Read, record: Any, n: int, batch: ErpBatch) -> str:
        parts = [record.get(k) for k in read.key] if isinstance(record, Mapping) else []
        ident = "/".join(str(p) for p in parts) if parts and all(
            isinstance(p, str) and p for p in parts) else f"?{n}"
        ref = f"{SYSTEM}:{name}:{ident}"
        return ref if ref not in batch.raw else f"{ref}#{n}"

    def _a_returns(self, name: str, record: Any) -> bool:
        """Whether a record may be a return's, so worth validating: every header read; a
        line of a header read (lines are read for the whole company, of every age); an
        invoice of a header read, or one carrying the link (credit notes of other sales
        orders are read too). A malformed record of no return is no return's problem."""
        if name == "headers" or not isinstance(record, Mapping):
            return True
        if name == "lines":
            return str(record.get("ReturnOrderNumber")).casefold() in self._links
        if str(record.get("SalesOrderNumber")).casefold() in self._links:
            return True
        return self.settings.mapping.link_field == "CustomersOrderReference" and bool(
            _text(record.get("CustomersOrderReference")))

    def _document(self, name: str, record: Any, ref: str, batch: ErpBatch,
                  good: dict[str, list[tuple[Any, str]]]) -> None:
        try:
            good[name].append((DOCUMENTS[name].model_validate(exact_again(record)), ref))
        except ValidationError as exc:
            said = record if isinstance(record, Mapping) else {}
            order = _text(said.get("ReturnOrderNumber")) or _text(said.get("SalesOrderNumber"))
            number = _text(said.get("InvoiceNumber")) or order or "?"
            key = (_text(said.get(self.settings.mapping.link_field)) if name == "headers"
                   else None) or self._links.get((order or "").casefold()) or _text(
                said.get("CustomersOrderReference")) or order or number
            batch.problems.setdefault(key, []).append(PayloadProblem(
                side=Side.ERP, record_id=number, stage=_STAGE_OF[name],
                error=describe(exc), raw_ref=ref))

    def master(self, rows: Mapping[str, list[dict[str, Any]]], reasons_read: bool
               ) -> ErpMaster:
        """Items (blocked by their default order settings, U23), customers (on hold by
        `OnHoldStatus`, U24), fiscal periods (closed unless open with sales access, U25),
        warehouses, payment methods and reason codes."""
        s = self.settings
        stopped = {str(r.get("ItemNumber")).casefold() for r in rows["item_settings"]
                   if any(r.get(flag) == "Yes" for flag in s.item_blocked_flags)}
        items = {}
        for r in rows["items"]:
            number = _text(r.get("ItemNumber"))
            if number:
                items[number] = Item(
                    number=number, blocked=number.casefold() in stopped,
                    # the unit a return line counts in (its SalesUnitSymbol, §5.3)
                    base_uom=_text(r.get("SalesUnitSymbol")) or _text(
                        r.get("InventoryUnitSymbol")),
                    type="service" if r.get("ProductType") == "Service" else "inventory")
        customers = {}
        for r in rows["customers"]:
            number = _text(r.get("CustomerAccount"))
            if number:
                hold = str(r.get("OnHoldStatus") or "").casefold()
                customers[number] = Customer(
                    number=number, email=_text(r.get("PrimaryContactEmail")),
                    blocked=("all" if hold == "all" else "invoice")
                    if hold in s.customer_block_values else "")
        return ErpMaster(
            items=items, customers=customers, items_ignore_case=True,
            locations=_names(rows["warehouses"], "WarehouseId"),
            payment_methods=_names(rows["payment_methods"], "Name"),
            reasons=_names(rows["reasons"], "ReasonCodeId"), reasons_kept=reasons_read,
            periods=periods(rows["ledger_periods"], rows["fiscal_periods"]),
            creates=CREATES, instead=INSTEAD)

    def reasons_read(self, notices: list[str]) -> bool:
        """Whether a read with these notices read the return reason codes: not where the
        profile reads none (`reason_entity` none) nor where the entity set was missing
        (its notice); a full read knows it from what it read (`fetch_records`)."""
        return self.settings.reason_entity.casefold() != "none" and not any(
            "return reasons" in n for n in notices)

    def from_raw(self, kept: ErpBatch) -> ErpBatch:
        rows: dict[str, list[Any]] = {}
        for key, value in kept.raw.items():
            rows.setdefault(_name(key), []).append(value)
        batch = self.assemble(rows, kept.fetched_at,
                              reasons_read=self.reasons_read(kept.notices))
        batch.cursor = kept.cursor
        batch.notices = list(dict.fromkeys([*kept.notices, *batch.notices]))
        return batch

    def merge(self, earlier: ErpBatch, changed: ErpBatch) -> ErpBatch:
        """A refresh's records (`fetch_records`, `open_plus_recent`) laid over the last
        read's, in the last read's order (a record read again takes its place), then
        assembled: only the keys it touched where the last read is held with its views
        (`_merge_touched`), else whole; a full read replaces. ReadAgain where what was
        held cannot be brought up to date: a return order or line held open that the
        refresh did not read again (cancelled or deleted without a closing date: only a
        full read sees it), a document without its key, or nothing held. A closed return
        order edited or deleted since is seen at the next full read (`full_read_hours`)."""
        if not (changed.tally or {}).get("open_plus_recent"):
            return changed
        merged = self._merged_raw(earlier, changed)
        quick = self._merge_touched(earlier, changed, merged)
        if quick is not None:
            return quick
        # (a refresh that could not read the reason codes says so in its notices, which
        # `from_raw` reads: reasons are then not checked)
        batch = self.from_raw(ErpBatch(raw=merged, fetched_at=changed.fetched_at,
                                       cursor=changed.cursor, notices=list(changed.notices)))
        batch.full_at = earlier.full_at
        return batch

    def _merge_touched(self, earlier: ErpBatch, changed: ErpBatch, merged: dict[str, Any]
                       ) -> ErpBatch | None:
        """`merge` for a batch held in memory with its views (the console's last read):
        the keys the refresh touched (keyed.py, as a `check` finds them in the index) are
        assembled again, every other view carried over. None where that cannot be the
        same as assembling everything (as the index gives way), or nothing is held."""
        from .keyed import MemoryRecords, records_of, views_of

        if not earlier.views or not earlier.raw:
            return None
        held = earlier.memo if isinstance(earlier.memo, MemoryRecords) \
            and earlier.memo.raw is earlier.raw else MemoryRecords(earlier.raw,
                                                                   list(earlier.notices))
        if any(UNKNOWN_CODE in n for n in earlier.notices):
            return None  # its notices are told of all lines: assembled whole (as read)
        touch = self.keyed_touch(held, changed)
        if touch is None:
            return None
        # in the order assembling them whole keeps them (entity by entity, as read)
        by_name: dict[str, dict[str, Any]] = {}
        for ref, record in merged.items():
            by_name.setdefault(_name(ref), {})[ref] = record
        raw = {ref: record for name in self.reads(datetime.now(UTC))
               for ref, record in by_name.get(name, {}).items()}
        after = held.after(raw, touch)
        if after is None:
            return None
        keys = {link_of(key) for key in touch.keys}
        part = self.assemble(records_of(after, keys), changed.fetched_at)
        if any(UNKNOWN_CODE in n for n in part.notices):
            return None
        views, problems = views_of(part, keys)
        # as `from_raw` tells them: the read's, then assembling's (the master records
        # skipped, the same master records as before: `touch` compared them)
        notices = list(dict.fromkeys([*changed.notices,
                                      *(n for n in earlier.notices if SKIPPED in n)]))
        return ErpBatch(
            views={**{k: v for k, v in earlier.views.items() if link_of(k) not in keys},
                   **views},
            problems={**{k: v for k, v in earlier.problems.items()
                         if link_of(k) not in keys}, **problems},
            master=earlier.master, raw=raw, fetched_at=changed.fetched_at,
            cursor=changed.cursor, full_at=earlier.full_at, notices=notices,
            unseen=earlier.unseen, memo=after)

    def _merged_raw(self, earlier: ErpBatch, changed: ErpBatch) -> dict[str, Any]:
        """The refresh's records laid over the last read's (see `merge`)."""
        if not earlier.raw:
            raise ReadAgain("no earlier F&O records to lay the refresh over")
        window = moment((changed.tally or {})["open_plus_recent"])
        if any(_keyless(ref) for ref in changed.raw):
            raise ReadAgain("an F&O document without its key cannot be matched")
        fresh = dict(changed.raw)
        merged: dict[str, Any] = {}
        for ref, record in earlier.raw.items():
            name = _name(ref)
            if name not in DOCUMENTS:
                continue  # master data is read whole: the refresh's
            if ref in fresh:
                merged[ref] = fresh.pop(ref)
                continue
            if _keyless(ref) or not isinstance(record, Mapping):
                raise ReadAgain("an F&O document without its key cannot be matched")
            if window is not None and _before(record, name, window):
                continue  # out of the window now, as a full read would leave it
            status = str(record.get("ReturnStatus") or "")
            if name == "headers" and status not in _HEADER_DONE:
                raise ReadAgain(f"F&O return order {record.get('ReturnOrderNumber')} was "
                                "open and is not read again")
            if name == "lines" and status not in _LINE_DONE:
                raise ReadAgain(f"an F&O return line of {record.get('ReturnOrderNumber')} "
                                "was open and is not read again")
            merged[ref] = record
        merged.update(fresh)
        return merged

    # -- the record index (KeyedReads): keyed.py ------------------------------------------

    def record_tags(self, ref: str, record: Any) -> set[str]:
        from .keyed import record_tags

        return record_tags(ref, record)

    def keyed_touch(self, stored: StoredRecords, changed: ErpBatch) -> Touch | None:
        from .keyed import touch

        if any(UNKNOWN_CODE in n for n in stored.notices):
            return None  # told of every line as of the read: a full check tells it now
        masters = {*self.reads(datetime.now(UTC)), "reasons"} - set(DOCUMENTS)
        return touch(stored, changed, masters, self.reasons_read)

    def keyed_views(self, stored: StoredRecords, keys: set[str],
                    master: ErpMaster | None = None
                    ) -> tuple[dict[str, ErpView], dict[str, list[PayloadProblem]]] | None:
        """As assembling every record (`merge`, `from_raw`) makes the views of `keys`,
        from their records in the index; None where a line's disposition code is one the
        codes lack (its notice is told of every line: a full check tells them as they are
        now, so the index keeps only the read's notices and the master records skipped,
        which `keyed_touch` holds as they were)."""
        from .keyed import records_of, views_of

        part = self.assemble(records_of(stored, keys), datetime.now(UTC))
        if any(UNKNOWN_CODE in n for n in part.notices):
            return None
        return views_of(part, keys)

    async def check_connection(self) -> str:
        read = self.reads(datetime.now(UTC))["warehouses"]
        page = await self.odata.page(read.entity, {**self.params(read), "$top": "1"})
        return (f"F&O environment {self.settings.environment}: reachable (legal entity "
                f"{self.settings.company}, {len(page.value)} warehouse"
                f"{'s' if len(page.value) != 1 else ''} on the first page)")

    async def aclose(self) -> None:
        await self.http.aclose()


def _iso(moment_: datetime) -> str:
    return moment_.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _name(ref: str) -> str:
    return ref.split(":", 2)[1] if ref.count(":") >= 2 else ""


#: A raw ref made for a record without its key (`?n`), or for a second record of one key.
_MADE_REF = re.compile(r":\?\d+$|#\d+$")


def _keyless(ref: str) -> bool:
    """A document whose ref `_raw_ref` made up: it cannot be matched across reads."""
    return _name(ref) in DOCUMENTS and _MADE_REF.search(ref) is not None


#: Which of a record's fields hold a number no float holds (more than 17 significant
#: digits: F&O's decimals carry up to 28). The cache and the record index write such a
#: Decimal as text; read back, the field is a number again (`exact_again`). An OData
#: annotation of the console's own: F&O sends none by this name (one sent is dropped).
EXACT = "@returns_console.decimals"


def _numbers_as_sent(record: Any) -> Any:
    """A record with each exact Decimal (a JSON number, parsed exactly) as a float where
    that is the same number: the cache writes a float back as a JSON number, a Decimal as
    text, and an amount read back as text would be taken for a malformed one. A number no
    float holds stays a Decimal, its field named under `EXACT`."""
    if not isinstance(record, dict):
        return record
    record.pop(EXACT, None)
    exact: list[str] = []
    for key, value in record.items():
        if isinstance(value, Decimal) and value.is_finite():
            number = float(value)
            if Decimal(repr(number)) == value:
                record[key] = number
            else:
                exact.append(key)
    if exact:
        record[EXACT] = exact
    return record


def exact_again(record: Any) -> Any:
    """A record as `_numbers_as_sent` made it, each field it named a number again where
    the cache or the index gave it back as text (a text F&O sent is not named: malformed)."""
    if not isinstance(record, dict) or not isinstance(named := record.get(EXACT), list):
        return record
    again = dict(record)
    for key in named:
        value = again.get(key)
        if isinstance(key, str) and isinstance(value, str):
            # not a number: left as text, the model says what is wrong with it
            with contextlib.suppress(ArithmeticError):
                again[key] = Decimal(value)
    return again


#: The field a full read's window judges a document by (lines are read whatever their age).
_WINDOW_FIELD = {"headers": "ReturnDeadline", "invoices": "InvoiceDate"}


def window_date(record: Mapping[str, Any], name: str) -> datetime | None:
    """The moment a full read's window judges a document by (a header's deadline, a credit
    note's date); None for a line, or a date that cannot be read (kept whatever its age)."""
    field = _WINDOW_FIELD.get(name)
    if field is None:
        return None
    try:
        return moment(str(record.get(field) or ""))
    except ValueError:
        return None


def _before(record: Mapping[str, Any], name: str, window: datetime) -> bool:
    """Whether a held document is out of a full read's window now."""
    when = window_date(record, name)
    return when is not None and when < window


def periods(ledger: list[dict[str, Any]], fiscal: list[dict[str, Any]]
            ) -> tuple[AccountingPeriod, ...]:
    """The ledger's operating periods with their dates: a ledger period (status and
    module access) joined to its calendar period (dates) on calendar, year and name. A
    period is closed for a credit note unless it is Open with sales access (U25)."""
    dates = {(r.get("Calendar"), r.get("FiscalYear"), r.get("PeriodName")): r
             for r in fiscal if r.get("Type") in (None, "Operating")}
    out = []
    for r in ledger:
        found = dates.get((r.get("Calendar"), r.get("YearName"), r.get("PeriodName")))
        start = _text(found.get("StartDate")) if found else None
        if not start:
            continue
        try:
            day = datetime.fromisoformat(start.replace("Z", "+00:00")).date()
        except ValueError:
            continue
        closed = r.get("PeriodStatus") != "Open" or r.get("SalesAccessLevel") == "None"
        out.append(AccountingPeriod(start=day, name=_text(r.get("PeriodName")), closed=closed))
    return tuple(sorted(out, key=lambda p: p.start))


def _unfit(read: Read, record: Any) -> str | None:
    """Why a master record cannot be used (None: it can): not an object, its key missing,
    or a field read that is not a single value."""
    if not isinstance(record, Mapping):
        return "not a JSON object"
    for key in read.key:
        if not isinstance(record.get(key), str) or not record[key].strip():
            return f"no {key}"
    for name in read.select:
        # a number no float holds is a Decimal (`_numbers_as_sent`): a single value too
        if not isinstance(record.get(name), str | int | float | bool | Decimal | None):
            return f"{name} is not a single value"
    return None


def _names(rows: list[dict[str, Any]], key: str) -> frozenset[str]:
    return frozenset(v for r in rows if (v := _text(r.get(key))))


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _error_text(response: Any) -> str | None:
    """F&O's OData error (§8.1: the useful text is `innererror.message`, its stack trace
    cut), Entra's OAuth error, or the first line of any other body."""
    body = json_or_none(response)
    if body is None:
        text = response.text[:200].replace("\n", " ").strip()
        return text or None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        inner = error.get("innererror")
        message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str) and message.strip():  # its stacktrace never shown
            return _BLANKS.sub(" ", message).strip()[:300]
        return error_text(body, tidy=lambda m: _BLANKS.sub(" ", m))
    if isinstance(error, str):
        description = str(body.get("error_description") or "")
        first = re.split(r"[\r\n\u240a\u240d]+| Trace ID:", description, maxsplit=1)[0].strip()
        return f"{error}: {first}"[:300] if first else error
    return None

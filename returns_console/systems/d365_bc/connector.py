"""Microsoft Dynamics 365 Business Central: API v2.0 (the ERP side, `d365_bc`).

Auth is Microsoft Entra ID client credentials (a bearer token, cached and refreshed by
`OAuthClientCredentials`). Everything lives under one company:
`{base_url}/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/{entitySet}`. Every entity
set is read at once (at most `concurrency` requests in flight: BC allows 5 per user), each
following `@odata.nextLink` with `Prefer: odata.maxpagesize`. Field names, status strings,
paging, ETags and the error body follow docs/vendors/business-central.md;
docs/swap-bc-mapping.md says how each record maps to the canonical return. The OData
plumbing (paging, `$batch`, ETags, literals, the error envelope) is the shared kit's,
returns_console/kits/odata/client.py; what is Business Central's own stays here.

Choices where BC's API is silent or thin (also in the class docstrings below):

- The link key is `externalDocumentNumber` (case-insensitive); a record without one is
  keyed by its own document number so it still shows (never a silent non-match).
- `order_ref` is the return order's `yourReference` when a return order exists (empty means
  missing); only without a return order does it come from the credit memo's invoice.
- BC's API has no inspection or put-away record: `inspected` and `restocked` are
  `not_applicable`. Line locations come from the credit memo line's `locationId`.
- Tenants without salesReturnOrders / returnReceipts (404) get a notice; a posted credit
  memo with item lines then stands for both the return order and the receipt, and a link
  key with no record at all means `unseen_view(batch)` (authorised and received
  not applicable), which the pairing has to use in place of an empty view.
- Incremental reads (`updated_since`) filter documents on `lastModifiedDateTime gt`; the
  views they give are partial (only what changed), to lay over the last full read by link
  key. Invoices are then read by id, only those the changed credit memos point at, and a
  changed replacement sales order is passed on even when its return did not change.

Writes (the `ErpWriter` side; research section 1.4 to 1.6, and BCApps' APIV2 pages):

- `set_link` PATCHes `externalDocumentNumber` with `If-Match` (never `*`); 409/412, or BC's
  400 `BadRequest_InvalidToken`, is a ConflictError carrying the record read again. BC
  itself refuses it on a posted credit memo ("The credit memo has been posted and can no
  longer be modified.") and on salesReturnOrders / returnReceipts (read-only API pages):
  a RefusedError, nothing changed. Drafts and sales orders can be changed.
- `create_credit` POSTs a draft salesCreditMemo with its lines (deep insert), only fields
  the research lists for salesCreditMemo / salesCreditMemoLine. Shipping is a line of the
  first `shipping_items` item, fees a quantity -1 line of the first `fee_items` item (as the
  read side expects them); left out, with a note, when no such item is configured. Not
  sent: the original invoice (`invoiceId` sets Applies-to Doc. No., which applies the
  credit to that invoice when posted: not something to do unasked), the reason
  (`customerReturnReasonId`) and the payment method (the credit memo has no such field).
  A line location is sent as `locationId`, resolved from the locations last read.
- `post_credit` calls `Microsoft.NAV.post` (204), then finds the posted memo by its link:
  the posted document's id may differ from the draft's.
- `describe_*` touch no network. Ids a description needs (the company's, a location's) are
  those a read in this process learnt (kept per environment, so a connector opened just to
  describe knows them); before any such read they are stand-ins, each with a note.
- Reads made for a write leave out `Data-Access-Intent: ReadOnly` (a read replica may lag,
  and a stale ETag would make the write fail). A write that may have reached BC unanswered
  (timeout, 5xx) is never sent again; the connector looks whether it was done instead.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from httpx import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from ...connectors.auth import OAuthClientCredentials
from ...connectors.base import ErpBatch, ReadAgain, StoredRecords, Touch
from ...connectors.errors import (
    AmbiguousResultError,
    ConflictError,
    ConnectorError,
    InvalidPayloadError,
    MisconfiguredError,
    NetworkError,
    NotFoundError,
    RefusedError,
    ServerError,
)
from ...connectors.http import (
    CallLog,
    HttpClient,
    RetryPolicy,
    decode_json,
    json_or_none,
    json_text,
)
from ...connectors.pacing import Pacer
from ...connectors.validation import as_utc, describe, lean
from ...domain.codes import Side, Stage, StageStatus
from ...domain.model import (
    CreditNote,
    CreditNoteStatus,
    ErpLine,
    ErpView,
    PayloadProblem,
    ReturnOrderState,
    StageView,
)
from ...domain.money import MoneyBreakdown, pad_cents
from ...domain.pace import breathe
from ...domain.pairing import link_of
from ...domain.postings import CreditRequest, RecordRef, WriteResult
from ...domain.reference import AccountingPeriod, Customer, ErpMaster, Item
from ...kits.odata.client import (
    BatchGet,
    ODataClient,
    datetime_literal,
    decode_enum,
    error_text,
    etag_of,
    filter_eq,
    next_link,
    query_options,
)
from . import keyed
from .partial import Links, master_rows, parts, subset, touched_keys

SYSTEM = "d365_bc"
#: Link keys assembled at a time when a whole batch is assembled from kept raw records.
ASSEMBLY_PART = 1000
#: Records validated, or link keys assembled, between two looks at the event loop.
STEP = 500
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
NO_RETURN_ORDERS = ("this Business Central tenant has no salesReturnOrders API; receipts are "
                    "read from posted credit memos")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")
_CORRELATION = re.compile(r"\s*CorrelationId:\s*[0-9A-Fa-f-]*\.?\s*$")
#: Invoices asked for by id per request (`id eq … or id eq …`), to keep URLs short.
IDS_PER_REQUEST = 20
#: The line collection a single read of a sales document expands.
LINES = {"salesCreditMemos": "salesCreditMemoLines",
         "salesReturnOrders": "salesReturnOrderLines",
         "salesOrders": "salesOrderLines", "salesInvoices": "salesInvoiceLines"}
#: What a re-queue can create through API v2.0: a credit memo (POST, then Microsoft.NAV.post).
#: Return orders and return receipts are read-only API pages, and receipts cannot be posted.
CREATES = frozenset({"credit_note"})
#: What to do in Business Central instead, where its API cannot do it.
INSTEAD = {
    "RETURN_ORDER_MISSING": "Business Central's API cannot create sales return orders: create "
    "it in Business Central (Sales Return Orders, New) with External Document No. = the "
    "return reference, or have the integration send it again.",
    "RETURN_ORDER_NOT_OPEN": "Reopen the sales return order in Business Central, then post "
    "the receipt there (Post, Receive); its API cannot post receipts.",
    "RECEIPT_NOT_POSTED": "Post the receipt in Business Central: open the sales return "
    "order, check Return Qty. to Receive, then Post, Receive (its API cannot post receipts).",
    "EXCHANGE_ORDER_MISSING": "Create the replacement sales order in Business Central with "
    "External Document No. = the return reference.",
    "QUANTITY_MISMATCH.ordered": "Correct the line (or add the missing one) on the sales "
    "return order in Business Central, then post its receipt (Post, Receive); its API cannot "
    "change return orders. Or have the integration send the line again.",
    "QUANTITY_MISMATCH.received": "Open the posted return receipt in Business Central, undo "
    "the wrong line (Undo Return Receipt), then post the quantity that arrived from the sales "
    "return order (Post, Receive).",
}
#: BC's External Document No. is a Code[35] field.
LINK_LENGTH = 35
#: Credit memo statuses of an unposted document.
UNPOSTED = frozenset({"Draft", "In Review"})

#: The error BC answers a PATCH with when the If-Match token is missing or unreadable.
INVALID_TOKEN = "BadRequest_InvalidToken"
#: Collection reads may come from a read replica (writes read without it: a replica may lag).
READ_ONLY = {"Data-Access-Intent": "ReadOnly"}
#: BC's largest page (an id listing asks for it: one page).
MAX_PAGE_SIZE = 20000


@dataclass(slots=True, kw_only=True)
class BcSettings:
    base_url: str
    tenant: str
    environment: str
    #: Company id or name; empty means the only company there is.
    company: str = ""
    client_id: str
    client_secret: SecretStr = field(repr=False)
    #: `{tenant}` is replaced by the tenant.
    token_url: str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    scope: str = "https://api.businesscentral.dynamics.com/.default"
    #: Sent as `Prefer: odata.maxpagesize` (BC's maximum is 20,000).
    page_size: int = 20000
    #: How far back sales invoices and replacement sales orders are read.
    history_days: int = 365
    #: The company's local currency (BC leaves `currencyCode` empty for it).
    local_currency: str = "GBP"
    #: Service items whose credit memo lines are fees (negative amounts) or shipping.
    fee_items: tuple[str, ...] = ("FEE-RETURN",)
    shipping_items: tuple[str, ...] = ("SHIPPING",)
    #: Which documents are a return's own (a link on one that matches no platform return is
    #: ERP_RECORD_UNLINKED). Replacement sales orders and their posted invoices carry the
    #: link too, but only count next to a platform return.
    link_documents: tuple[str, ...] = ("salesReturnOrders", "returnReceipts",
                                       "salesCreditMemos")
    #: A regular expression the external document number must match to be a return's link
    #: (empty: any non-empty value). Keeps goodwill credit memos and history filed under other
    #: references out of the comparison.
    link_pattern: str = ""
    #: BC handles 5 concurrent requests per user and queues the rest.
    concurrency: int = 5
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.client_secret, SecretStr):
            self.client_secret = SecretStr(str(self.client_secret))

    @property
    def api_root(self) -> str:
        return (f"{self.base_url.rstrip('/')}/v2.0/{self.tenant}/{self.environment}"
                "/api/v2.0")


# ------------------------------------------------------------------------------ records


def _enum(*choices: str, aliases: dict[str, str] | None = None) -> BeforeValidator:
    """Accept BC's spellings of an enum value (any case, OData-escaped or not); leave
    anything else as it is so the Literal rejects it."""
    lookup = {c.casefold(): c for c in choices} | {
        k.casefold(): v for k, v in (aliases or {}).items()}

    def canonical(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = decode_enum(value)
        return lookup.get(text.casefold(), lookup.get(text.strip().casefold(), value))

    return BeforeValidator(canonical)


def _blank_date(value: Any) -> Any:
    return None if value in ("", "0001-01-01") else value


def _blank_moment(value: Any) -> Any:
    return None if value == "" or (isinstance(value, str) and value.startswith("0001-01-01")) \
        else value


def _blank_guid(value: Any) -> Any:
    return None if value in ("", ZERO_GUID) else value


Day = Annotated[date | None, BeforeValidator(_blank_date)]
Moment = Annotated[datetime | None, BeforeValidator(_blank_moment)]
OptGuid = Annotated[str | None, BeforeValidator(_blank_guid)]
Text = Annotated[str, BeforeValidator(lambda v: "" if v is None else v)]
NonEmpty = Annotated[str, Field(min_length=1)]

ReturnOrderStatus = Annotated[
    Literal["Open", "Released", "Pending Approval", "Pending Prepayment"],
    _enum("Open", "Released", "Pending Approval", "Pending Prepayment"),
]
CreditMemoStatus = Annotated[
    Literal["Draft", "In Review", "Open", "Paid", "Canceled", "Corrective"],
    _enum("Draft", "In Review", "Open", "Paid", "Canceled", "Corrective"),
]
CustomerBlocked = Annotated[
    Literal[" ", "Ship", "Invoice", "All"],
    _enum(" ", "Ship", "Invoice", "All", aliases={"": " "}),
]
ItemType = Annotated[
    Literal["Inventory", "Service", "Non-Inventory"],
    _enum("Inventory", "Service", "Non-Inventory"),
]

RETURN_ORDER_STATE: dict[str, ReturnOrderState] = {
    "Open": "open", "Released": "released", "Pending Approval": "on_hold",
    "Pending Prepayment": "on_hold"}
#: BC's credit memo statuses in words finance uses ("Open" on a posted memo confuses).
CREDIT_MEMO_WORDS = {"Draft": "draft, not posted", "In Review": "draft, in review",
                     "Open": "posted, not yet paid or applied", "Paid": "posted and paid",
                     "Corrective": "posted (corrective)", "Canceled": "cancelled"}
CREDIT_NOTE_STATUS: dict[str, CreditNoteStatus] = {
    "Draft": "draft", "In Review": "draft", "Open": "posted", "Paid": "posted",
    "Corrective": "posted", "Canceled": "cancelled"}
BLOCKED = {" ": "", "Ship": "ship", "Invoice": "invoice", "All": "all"}
ITEM_TYPES = {"Inventory": "inventory", "Service": "service", "Non-Inventory": "non_inventory"}


class _Record(BaseModel):
    # Extra fields are fine (APIs grow); wrong types and unknown enum values are not.
    # Frozen: records are read, never changed (and `lean` gives them a fields-set that
    # an assignment could not update).
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: NonEmpty


class BcItem(_Record):
    number: NonEmpty
    type: ItemType = "Inventory"
    blocked: bool = False
    baseUnitOfMeasureCode: Text = ""


class BcCustomer(_Record):
    number: NonEmpty
    email: Text = ""
    blocked: CustomerBlocked = " "


class BcCode(_Record):
    code: NonEmpty


class BcPeriod(_Record):
    startingDate: date
    name: Text = ""
    closed: bool = False


class _Document(_Record):
    number: NonEmpty
    externalDocumentNumber: Text = ""
    lastModifiedDateTime: Moment = None


class _Line(_Record):
    """What return-order and credit-memo lines share."""

    sequence: int
    lineType: Text = "Item"
    lineObjectNumber: Text = ""
    unitOfMeasureCode: Text = ""


class BcReturnOrderLine(_Line):
    quantity: Decimal = Field(ge=0)
    returnQtyReceived: Decimal | None = Field(default=None, ge=0)


class BcReturnOrder(_Document):
    documentDate: Day = None
    sellToCustomerNumber: Text = ""
    yourReference: Text = ""
    status: ReturnOrderStatus
    salesReturnOrderLines: list[BcReturnOrderLine] = []


class BcReturnReceipt(_Document):
    orderNumber: Text = ""
    documentDate: Day = None
    postingDate: Day = None
    yourReference: Text = ""
    sellToCustomerNumber: Text = ""


class BcCreditMemoLine(_Line):
    quantity: Decimal = Decimal(0)
    amountExcludingTax: Decimal = Decimal(0)
    locationId: OptGuid = None


class BcCreditMemo(_Document):
    customerNumber: Text = ""
    invoiceId: OptGuid = None
    invoiceNumber: Text = ""
    postingDate: Day = None
    creditMemoDate: Day = None
    status: CreditMemoStatus
    currencyCode: Annotated[str, Field(pattern=r"^([A-Za-z]{3})?$"),
                            BeforeValidator(lambda v: "" if v is None else v)] = ""
    discountAmount: Decimal = Decimal(0)
    totalTaxAmount: Decimal = Decimal(0)
    totalAmountExcludingTax: Decimal
    salesCreditMemoLines: list[BcCreditMemoLine] = []


class BcInvoice(_Document):
    customerNumber: Text = ""
    orderNumber: Text = ""
    postingDate: Day = None


class BcSalesOrder(_Document):
    orderDate: Day = None


Model = TypeVar("Model", bound=_Record)
T = TypeVar("T")

#: What each set is asked for. Master data and the look-up documents name their fields.
#: Operations in one $batch request (Business Central's limit).
BATCH_LIMIT = 100
#: Batch keys for id listings, and the document sets a refresh checks for deletions.
IDS = "ids:"
DOCUMENT_SETS = ("salesReturnOrders", "returnReceipts", "salesCreditMemos", "salesOrders")

MASTER_SELECT = {
    "items": "id,number,displayName,type,blocked,baseUnitOfMeasureCode,lastModifiedDateTime",
    "customers": "id,number,displayName,email,blocked,lastModifiedDateTime",
    "locations": "id,code,displayName,lastModifiedDateTime",
    "customerReturnReasons": "id,code,description,lastModifiedDateTime",
    "paymentMethods": "id,code,displayName,lastModifiedDateTime",
    "accountingPeriods": "id,startingDate,name,closed,newFiscalYear,dateLocked,"
                         "lastModifiedDateTime",
    "unitsOfMeasure": "id,code,displayName,lastModifiedDateTime",
}
# `id` always: servers return only the fields selected, and every record is keyed by it.
INVOICE_SELECT = "id,number,externalDocumentNumber,orderNumber,customerNumber,postingDate," \
                 "lastModifiedDateTime"
SALES_ORDER_SELECT = "id,number,externalDocumentNumber,orderDate,customerNumber," \
                     "lastModifiedDateTime"
#: The record model of each entity set (validated page by page as the pages arrive).
MODELS: dict[str, type[_Record]] = {
    "items": BcItem, "customers": BcCustomer, "locations": BcCode,
    "customerReturnReasons": BcCode, "paymentMethods": BcCode, "accountingPeriods": BcPeriod,
    "unitsOfMeasure": BcCode, "salesReturnOrders": BcReturnOrder,
    "returnReceipts": BcReturnReceipt, "salesCreditMemos": BcCreditMemo,
    "salesOrders": BcSalesOrder, "salesInvoices": BcInvoice,
}
#: Records validated ahead, by the identity of their raw dict: (raw, model or its error).
Checked = dict[int, tuple[Any, Any]]


def _check(model: type[_Record], raw: Any) -> Any:
    try:
        return lean(model.model_validate(raw))
    except ValidationError as exc:
        return exc


#: The ERP stage a document stands for (named on its PayloadProblem).
DOCUMENT_STAGE = {"salesReturnOrders": Stage.AUTHORISED, "returnReceipts": Stage.RECEIVED,
                  "salesCreditMemos": Stage.CREDITED, "salesOrders": Stage.EXCHANGED}


@dataclass(slots=True)
class _Group:
    """Every document carrying one link key."""

    key: str
    orders: list[BcReturnOrder] = field(default_factory=list)
    receipts: list[BcReturnReceipt] = field(default_factory=list)
    memos: list[BcCreditMemo] = field(default_factory=list)
    sales_orders: list[BcSalesOrder] = field(default_factory=list)
    #: Posted sales invoices under this key: a replacement order fully shipped and invoiced
    #: is deleted and leaves its invoice.
    invoices: list[BcInvoice] = field(default_factory=list)


@dataclass(slots=True)
class _Known:
    """What reads taught about one environment's company that describing a write needs
    (its id, its location ids). Kept per process, so a connector opened only to describe a
    write knows what an earlier read in the process learnt."""

    company: str | None = None
    #: Location code (casefolded) → id; None until the locations were read.
    locations: dict[str, str] | None = None


_KNOWN: dict[tuple[str, str], _Known] = {}
#: Stand-in for what a description cannot know yet (it is read before sending).
COMPANY_PENDING = "companies({company})"


class BusinessCentralConnector:
    system = SYSTEM

    def __init__(self, settings: BcSettings, *, log: CallLog | None = None,
                 transport=None, retry: RetryPolicy | None = None, sleep=None,
                 pacer: Pacer | None = None) -> None:
        self.settings = settings
        token_url = settings.token_url.replace("{tenant}", settings.tenant)
        self.http = HttpClient(
            SYSTEM, settings.api_root,
            auth=OAuthClientCredentials(token_url, settings.client_id, settings.client_secret,
                                        settings.scope),
            timeout=settings.timeout, concurrency=settings.concurrency, retry=retry, log=log,
            transport=transport, sleep=sleep, error_parser=_error_text,
            pacer=pacer,
        )
        self.odata = ODataClient(self.http, root=settings.api_root)
        self._company: dict[str, Any] | None = None
        #: A company id taken from an earlier process (`recall`), not yet seen still chosen.
        self._recalled: str | None = None
        self._known = _KNOWN.setdefault(
            (settings.api_root, settings.company.strip().casefold()), _Known())

    # -- reading -------------------------------------------------------------------------

    async def _read(self, url: str, params: dict[str, str] | None = None,
                    on_page: Callable[[list[Any]], None] | None = None,
                    pages: list[bytes] | None = None) -> list[Any]:
        """Every record of a collection, following `@odata.nextLink` page by page; each
        page handed to `on_page` as it arrives (validating it while the next one loads),
        and its body kept in `pages` when given."""
        rows: list[Any] = []
        async for page in self.odata.pages(url, params, max_page_size=self.settings.page_size,
                                           headers=READ_ONLY):
            rows.extend(page.value)
            if on_page is not None:
                values = page.value
                for start in range(0, len(values), STEP):
                    on_page(values[start:start + STEP])
                    await asyncio.sleep(0)  # the other side's answers are taken in between
            if pages is not None:
                pages.append(page.content)
        return rows

    async def _read_batched(self, base: str, reads: dict[str, dict[str, str]],
                            optional: tuple[str, ...] = (),
                            sets: dict[str, str] | None = None,
                            ) -> dict[str, list[Any] | None]:
        """Many collection reads as one JSON `$batch` (BC allows 100 operations a batch);
        a collection with more than one page follows its next links as usual. A read
        throttled or failed inside the batch is made again on its own, with retries."""
        names = list(reads)
        entity = {name: (sets or {}).get(name, name) for name in names}
        out: dict[str, list[Any] | None] = {}
        for start in range(0, len(names), BATCH_LIMIT):
            chunk = names[start:start + BATCH_LIMIT]
            replies = await self.odata.batch(
                [BatchGet(f"{base}/{entity[name]}", reads[name],
                          # an id listing fits one page: ask for BC's largest
                          MAX_PAGE_SIZE if name.startswith(IDS) else None)
                 for name in chunk],
                max_page_size=self.settings.page_size, headers=READ_ONLY)
            for name, (status, page) in zip(chunk, replies, strict=True):
                if status == 404 and (name in optional or name.startswith(IDS)):
                    out[name] = None
                    continue
                if status in (408, 429) or (isinstance(status, int) and status >= 500):
                    out[name] = await self._read(f"{base}/{entity[name]}", reads[name] or None)
                    continue
                if status != 200 or not isinstance(page, dict):
                    detail = _error_body(page) or f"status {status}"
                    raise InvalidPayloadError(SYSTEM, f"$batch read of {name} failed: {detail}")
                rows = list(page.get("value") or [])
                link = next_link(page)
                if link is not None:
                    self.odata.check_link(link)
                    rows += await self._read(link)
                out[name] = rows
        return out

    async def _companies(self) -> list[dict]:
        try:
            rows = await self._read("companies")
        except NotFoundError as exc:
            raise MisconfiguredError(SYSTEM, f"{exc}: the base URL, tenant or environment "
                                     "does not lead to a Business Central API v2.0",
                                     status=404) from None
        return [r for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str)]

    async def _company_id(self) -> str:
        if self._company is None:
            self._company = self._choose(await self._companies())
            self._known.company = self._company["id"]
        return self._company["id"]

    def learnt(self) -> dict[str, str]:
        """The company's id (`Remembers`): a refresh asks for every company before any
        read (a round trip before its first) only to find it again."""
        if self._company is None or not isinstance(self._company.get("id"), str):
            return {}
        return {"company": self._company["id"], "named": self.settings.company.strip()}

    def recall(self, known: dict[str, str]) -> None:
        """An id learnt for the company the profile still names; a company deleted since
        answers 404, which fails the read (the full read that follows asks again)."""
        company = known.get("company")
        if (self._company is None and isinstance(company, str) and _GUID.match(company)
                and known.get("named") == self.settings.company.strip()):
            self._company = {"id": company}
            self._recalled = company

    async def _still_chosen(self, reading: Awaitable[T]) -> T:
        """`reading` (under a recalled company id) with the list of companies beside it, no
        round trip later: a company renamed, or another one made where the profile names
        none, would be read on until the next full read, so the read is given up
        (ReadAgain: the full read chooses again) unless the id is still the one chosen."""
        recalled = self._recalled
        if recalled is None:
            return await reading
        read, companies = await asyncio.gather(reading, self._companies(),
                                               return_exceptions=True)
        if isinstance(companies, BaseException):
            raise companies
        try:
            chosen = self._choose(companies)
        except ConnectorError:
            raise ReadAgain("the company the last full read chose is not found") from None
        if chosen["id"] != recalled:
            raise ReadAgain("the profile's company is another one now")
        self._company, self._recalled = chosen, None
        if isinstance(read, BaseException):
            raise read
        return read

    def _choose(self, companies: list[dict]) -> dict:
        wanted = self.settings.company.strip()
        names = ", ".join(str(c.get("name")) for c in companies) or "none"
        if not wanted:
            if len(companies) == 1:
                return companies[0]
            raise ConnectorError(SYSTEM, f"the environment has {len(companies)} companies "
                                 f"({names}); name one in the profile")
        for company in companies:
            if wanted.casefold() in (str(company.get("id", "")).casefold(),
                                     str(company.get("name", "")).casefold(),
                                     str(company.get("displayName", "")).casefold()):
                return company
        raise NotFoundError(SYSTEM, f"no company {wanted!r} in environment "
                            f"{self.settings.environment}; it has: {names}", status=404)

    async def check_connection(self) -> str:
        companies = await self._companies()
        chosen = self._choose(companies)
        self._company = chosen
        self._known.company = chosen["id"]
        return (f"Dynamics 365 Business Central {self.settings.environment}: reachable, "
                f"using company {chosen.get('name')} (id {chosen['id']}), one of "
                f"{len(companies)} compan{'y' if len(companies) == 1 else 'ies'} there")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def find_by_link(self, link: str) -> ErpBatch:
        """Every document carrying one link key (externalDocumentNumber), with the master
        data to read them by: what a write checks first, so it never posts twice."""
        return await self.fetch_records(link=link)

    async def fetch_records(self, *, updated_since: datetime | None = None,
                            link: str | None = None, keep_pages: bool = True) -> ErpBatch:
        fetched_at = datetime.now(UTC)
        company = await self._company_id()
        base = f"companies({company})"
        since = as_utc(updated_since)
        changed = f"lastModifiedDateTime gt {datetime_literal(since)}" if since else None
        if link is not None:
            changed = filter_eq("externalDocumentNumber", link)
        window = (fetched_at - timedelta(days=self.settings.history_days)).date().isoformat()
        reads: dict[str, dict[str, str]] = {
            name: query_options(None if link else changed, select=select)
            for name, select in MASTER_SELECT.items()}
        reads["salesReturnOrders"] = query_options(changed, expand="salesReturnOrderLines")
        reads["returnReceipts"] = query_options(changed)
        reads["salesCreditMemos"] = query_options(changed, expand="salesCreditMemoLines")
        reads["salesOrders"] = query_options(None if link else f"orderDate ge {window}",
                                             changed, select=SALES_ORDER_SELECT)
        if since is None and link is None:
            reads["salesInvoices"] = query_options(f"postingDate ge {window}",
                                                   select=INVOICE_SELECT)
        elif link is None:
            # a replacement order shipped and invoiced since: BC deleted it, its invoice stays
            reads["salesInvoices"] = query_options(changed, select=INVOICE_SELECT)
        optional = ("salesReturnOrders", "returnReceipts")
        checked: Checked = {}

        def checker(name: str) -> Callable[[list[Any]], None]:
            model = MODELS[name]

            def check(page: list[Any]) -> None:
                for raw in page:
                    breathe()
                    checked[id(raw)] = (raw, _check(model, raw))
            return check

        bodies: dict[str, list[bytes]] = {}

        async def read(name: str, params: dict[str, str]) -> list[Any] | None:
            try:
                return await self._read(f"{base}/{name}", params, checker(name),
                                        bodies.setdefault(name, []) if keep_pages else None)
            except NotFoundError:
                if name in optional:
                    return None
                raise

        if since is not None or link is not None:
            # Small reads: all of them in one OData $batch request, not one request each.
            sets: dict[str, str] = {}
            if since is not None:
                # Which documents still exist (a draft credit memo vanishes when posted):
                # ids only, in the same batch, so a refresh can drop what was deleted.
                for name in DOCUMENT_SETS:
                    reads[IDS + name] = {"$select": "id"}
                    sets[IDS + name] = name
                # sales orders within the window the full read keeps, not a company's
                # every order since it began: one older is dropped as a full read drops it
                reads[IDS + "salesOrders"] = query_options(f"orderDate ge {window}",
                                                           select="id")
            rows = await self._still_chosen(
                self._read_batched(base, reads, optional, sets=sets))
            present = {name[len(IDS):]: {r["id"] for r in got
                                         if isinstance(r, dict) and isinstance(r.get("id"), str)}
                       for name, got in list(rows.items())
                       if name.startswith(IDS) and got is not None}
            for name in [n for n in rows if n.startswith(IDS)]:
                del rows[name]
        else:
            results = await asyncio.gather(*(read(n, p) for n, p in reads.items()))
            rows = dict(zip(reads, results, strict=True))
        invoices = list(rows.get("salesInvoices") or [])
        have = {r.get("id") for r in invoices if isinstance(r, dict)}
        wanted = sorted({
            r["invoiceId"] for r in rows["salesCreditMemos"] or ()
            if isinstance(r, dict) and isinstance(r.get("invoiceId"), str)
            and _GUID.match(r["invoiceId"]) and r["invoiceId"] != ZERO_GUID
            and r["invoiceId"] not in have})
        if wanted:
            chunks = [wanted[i:i + IDS_PER_REQUEST]
                      for i in range(0, len(wanted), IDS_PER_REQUEST)]
            by_id = {f"invoices{n}": query_options(" or ".join(f"id eq {guid}"
                                                               for guid in chunk),
                                                   select=INVOICE_SELECT)
                     for n, chunk in enumerate(chunks)}
            found = await self._read_batched(base, by_id,
                                             sets=dict.fromkeys(by_id, "salesInvoices"))
            extra = [r for part in found.values() for r in part or ()]
            invoices += extra
            if extra and since is None and link is None and keep_pages:
                bodies.setdefault("salesInvoices", []).append(
                    json_text({"value": extra}).encode())
        rows["salesInvoices"] = invoices
        self._remember_locations(rows.get("locations"), complete=since is None)
        assembler = _Assembler(self.settings, fetched_at, since, checked)
        for _ in assembler.steps(rows):
            await asyncio.sleep(0)  # the other side's answers are taken in between
        batch = assembler.batch
        if since is None and link is None and keep_pages:
            batch.pages = [(name, body) for name, kept in bodies.items() for body in kept]
        if since is not None and link is None:
            batch.present = present
        return batch

    def _remember_locations(self, rows: list[Any] | None, *, complete: bool) -> None:
        found = {r["code"].casefold(): r["id"] for r in rows or ()
                 if isinstance(r, dict) and isinstance(r.get("code"), str)
                 and isinstance(r.get("id"), str)}
        if complete:
            self._known.locations = found
        elif self._known.locations is not None:
            self._known.locations.update(found)

    # -- writing -------------------------------------------------------------------------

    link_label = "externalDocumentNumber"

    def link_of(self, record: Mapping[str, Any]) -> str | None:
        value = record.get("externalDocumentNumber")
        return value if isinstance(value, str) else None

    def token_of(self, record: Mapping[str, Any]) -> str | None:
        return etag_of(record)

    def credit_steps(self) -> tuple[str, ...]:
        return ("then posted (Microsoft.NAV.post)",)

    def reverse_hint(self, action: str, number: str | None) -> str:
        if action == "requeue_posting":
            return ("A posted credit memo is not undone automatically: cancel it in the ERP "
                    f"(Business Central: Cancel on posted credit memo {number or '?'}).")
        return ("ERP writes are not undone automatically: set the record's external "
                "document number back in Business Central, or fix the reference again here.")

    async def get_record(self, ref: RecordRef) -> dict:
        """The record as BC holds it now, with its lines (sales documents) and
        `@odata.etag`, read from the primary database (not a read replica, which may lag)."""
        await self._company_id()
        lines = LINES.get(ref.entity)
        return await self.odata.get(self._record_path(ref),
                                    {"$expand": lines} if lines else None, key="id")

    def describe_set_link(self, ref: RecordRef, etag: str | None, link: str) -> dict:
        """The PATCH `set_link` sends. Without an ETag, `set_link` reads the record's
        current one first: the description then says so and shows If-Match as None (and a
        company id no read in this process has taught is a stand-in, with a note)."""
        link = _checked_link(link)
        notes = [] if etag else [
            "no ETag was given: the record's current one is read just before sending"]
        return _described("PATCH", self._record_path(ref, notes),
                          {"If-Match": etag or None, "Content-Type": "application/json"},
                          {"externalDocumentNumber": link}, notes)

    async def set_link(self, ref: RecordRef, etag: str | None, link: str) -> WriteResult:
        """Set the record's `externalDocumentNumber`, only if it is unchanged since read.

        Raises ConflictError (with `fresh`, the record now) when BC says it changed or the
        token is not valid, RefusedError when BC will not change it at all (a posted credit
        memo, a read-only entity set), ValueError for an empty or over-long link."""
        _checked_link(link)
        await self._company_id()
        if not etag:
            record = await self.get_record(ref)
            etag = self.odata.etag(record, f"record {record.get('id')}")
        request = self.describe_set_link(ref, etag, link)
        try:
            response = await self._send(request)
        except ConflictError as exc:
            raise await self._conflict(ref, exc) from None
        except RefusedError as exc:
            if (exc.detail or "").startswith(INVALID_TOKEN):
                raise await self._conflict(ref, exc) from None
            raise
        except (ServerError, NetworkError):
            # The change may have been made unanswered: look, never send it again blindly.
            now = await self._look(self.get_record(ref))
            if now is not None and now.get("externalDocumentNumber") == link.strip():
                return _result(now)
            raise
        return _result(self._entity(response))

    def describe_create_credit(self, request: CreditRequest) -> dict:
        """The deep-insert POST `create_credit` sends: a draft credit memo and its lines.
        Raises ValueError for a request BC could only refuse (no link, customer or lines, a
        location BC does not have). Ids no read in this process has taught yet (the
        company's, a location's) are stand-ins, each with a note: they are read before
        sending."""
        link = _checked_link(request.link)
        settings = self.settings
        if not request.customer_ref.strip():
            raise ValueError("a credit memo needs the customer number")
        currency = request.currency.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValueError(f"{request.currency!r} is not a currency code")
        notes: list[str] = []
        lines: list[dict[str, Any]] = []
        for line in request.lines:
            if not line.item_no.strip():
                raise ValueError("a credit line has no item number")
            if line.quantity <= 0:
                raise ValueError(f"item {line.item_no}: the quantity to credit must be "
                                 f"positive, not {line.quantity}")
            body: dict[str, Any] = {"lineType": "Item",
                                    "lineObjectNumber": line.item_no.strip(),
                                    "quantity": line.quantity}
            if line.description:
                body["description"] = line.description
            if line.uom:
                body["unitOfMeasureCode"] = line.uom
            if line.unit_price is not None:
                body["unitPrice"] = line.unit_price
            if line.location:
                body["locationId"] = self._location_id(line.location, notes)
            lines.append(body)
        for amount, items, what, quantity, setting in (
                (request.shipping, settings.shipping_items, "shipping", 1, "shipping_items"),
                (request.fees, settings.fee_items, "fees", -1, "fee_items")):
            if amount < 0:
                raise ValueError(f"{what} must be given as a positive amount, not {amount}")
            if not amount:
                continue
            if items:
                lines.append({"lineType": "Item", "lineObjectNumber": items[0],
                              "quantity": Decimal(quantity), "unitPrice": amount})
            else:
                notes.append(f"{what} {amount} {currency} left out: no {what} item is "
                             f"configured ({setting}); the credit memo is that much "
                             f"{'lower' if quantity > 0 else 'higher'} than the refund")
        if not lines:
            raise ValueError("a credit memo needs at least one line")
        header: dict[str, Any] = {
            "customerNumber": request.customer_ref.strip(),
            "externalDocumentNumber": link,
            # BC leaves the currency empty for the company's own.
            "currencyCode": "" if currency == settings.local_currency.upper() else currency,
        }
        if request.posting_date is not None:
            header["postingDate"] = request.posting_date.isoformat()
        header["salesCreditMemoLines"] = lines
        if request.order_ref:
            notes.append(f"order {request.order_ref} is not linked: the credit memo's "
                         "invoiceId would apply the credit to that invoice when posted")
        if request.reason:
            notes.append(f"reason {request.reason} is not sent (customerReturnReasonId is "
                         "not mapped yet)")
        if request.payment_method:
            notes.append(f"payment method {request.payment_method} is not sent: a BC credit "
                         "memo has no payment method")
        return _described("POST", f"{self._company_path(notes)}/salesCreditMemos",
                          {"Content-Type": "application/json"}, header, notes)

    async def create_credit(self, request: CreditRequest) -> WriteResult:
        """Create the draft credit memo with its lines (one request, all or nothing).

        RefusedError when BC refuses it (an unknown or blocked item, unit or customer),
        with BC's message; nothing is created then."""
        await self._company_id()
        if self._known.locations is None and any(line.location for line in request.lines):
            await self._load_locations()
        described = self.describe_create_credit(request)
        try:
            response = await self._send(described)
        except (ServerError, NetworkError):
            # Created unanswered? A draft carrying the link says so; never POST twice.
            rows = await self._look(self._memos_by_link(described["body"][
                "externalDocumentNumber"]))
            drafts = [r for r in rows or () if r.get("status") in UNPOSTED]
            if len(drafts) == 1:
                return _result(drafts[0])
            raise
        return _result(self._entity(response))

    def describe_post_credit(self, result: WriteResult) -> dict:
        """The bound action `post_credit` sends (no body)."""
        notes = ["the posted credit memo is then read again by its external document number: "
                 "its id may differ from the draft's"]
        path = self._record_path(RecordRef(SYSTEM, "salesCreditMemos", result.record_id),
                                 notes)
        return _described("POST", f"{path}/Microsoft.NAV.post", {}, None, notes)

    async def post_credit(self, result: WriteResult, link: str) -> WriteResult:
        """Post the draft credit memo; return the posted one, found again by `link`.

        RefusedError when BC refuses (not a draft, no lines, ...): the draft stays."""
        if result.final:
            return result
        link = _checked_link(link)
        await self._company_id()
        described = self.describe_post_credit(result)
        before = {r.get("id") for r in await self._memos_by_link(link)
                  if r.get("status") not in UNPOSTED}
        try:
            await self._send(described)
        except (ServerError, NetworkError):
            posted = await self._look(self._posted(link, before, result.record_id))
            if posted is not None:
                return posted
            raise
        posted = await self._posted(link, before, result.record_id)
        if posted is None:
            raise InvalidPayloadError(SYSTEM, f"credit memo {result.number or result.record_id}"
                                      f" was posted, but no posted credit memo carries {link}")
        return posted

    # -- writing: helpers ----------------------------------------------------------------

    def _company_path(self, notes: list[str] | None = None) -> str:
        """`companies(<id>)`; for a description made before any read in this process, a
        stand-in and a note saying the id is read before sending."""
        known = self._company["id"] if self._company else self._known.company
        if known is None:
            if notes is None:
                raise LookupError("the Business Central company is not known yet")
            if "the company id is read from Business Central before sending" not in notes:
                notes.append("the company id is read from Business Central before sending")
            return COMPANY_PENDING
        return f"companies({known})"

    def _record_path(self, ref: RecordRef, notes: list[str] | None = None) -> str:
        if ref.system != SYSTEM:
            raise ValueError(f"{ref} is not a Business Central record")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", ref.entity):
            raise ValueError(f"{ref.entity!r} is not a Business Central entity set")
        # Every API v2.0 record is keyed by a GUID, written bare in the path; anything else
        # would address another record or none, so it is never sent.
        if not _GUID.match(ref.id):
            raise ValueError(f"{ref.id!r} is not a Business Central record id")
        return f"{self._company_path(notes)}/{ref.entity}({ref.id.lower()})"

    def _location_id(self, code: str, notes: list[str]) -> str:
        """A line's location as BC's id; before any read of the locations in this process,
        a stand-in and a note (they are read before sending)."""
        known = self._known.locations
        if known is None:
            notes.append(f"location {code} is sent as its Business Central id, read before "
                         "sending")
            return f"{{id of location {code}}}"
        found = known.get(code.strip().casefold())
        if found is None:
            raise ValueError(f"location {code} is not a location in Business Central")
        return found

    async def _load_locations(self) -> None:
        rows = await self._read(f"{self._company_path()}/locations", {"$select": "id,code"})
        self._remember_locations(rows, complete=True)

    async def _send(self, described: dict) -> Response:
        """The write exactly as described (the preview is the request)."""
        method, path, body = described["method"], described["path"], described["body"]
        headers = {k: v for k, v in described["headers"].items() if v is not None}
        if method == "PATCH":
            return await self.odata.patch(path, headers["If-Match"], body, headers=headers)
        if method == "POST":
            return await self.odata.post(path, body, headers=headers)
        raise ValueError(f"{method} is not a write this connector sends")

    def _entity(self, response: Response) -> dict:
        return self.odata.entity(response, key="id")

    async def credits_for(self, link: str) -> list[WriteResult]:
        """Every credit memo carrying `link` that is not cancelled, drafts included."""
        await self._company_id()
        return [_result(r) for r in await self._memos_by_link(link)
                if r.get("status") not in ("Canceled", "Cancelled")]

    async def _memos_by_link(self, link: str) -> list[dict]:
        """The credit memos carrying `link`, read from the primary database (one page: a
        link is on a handful of memos, far below BC's page size)."""
        page = await self.odata.page(f"{self._company_path()}/salesCreditMemos",
                                     {"$filter": filter_eq("externalDocumentNumber", link),
                                      "$expand": "salesCreditMemoLines"})
        return [r for r in page.value if isinstance(r, dict) and isinstance(r.get("id"), str)]

    async def _posted(self, link: str, before: set[Any], draft_id: str) -> WriteResult | None:
        """The posted credit memo this draft became: the draft's own id (newer BC versions
        keep it), else the one posted memo carrying `link` that was not there before. Two
        new ones (someone else posted one meanwhile) cannot be told apart: never guess
        "the newest", say so."""
        rows = [r for r in await self._memos_by_link(link)
                if r.get("status") not in UNPOSTED and r["id"] not in before]
        same = [r for r in rows if r["id"].casefold() == draft_id.casefold()]
        if same or len(rows) == 1:
            return _result((same or rows)[0])
        if not rows:
            return None
        numbers = ", ".join(sorted(str(r.get("number") or r["id"]) for r in rows))
        raise AmbiguousResultError(SYSTEM, f"the draft was posted, but {len(rows)} new posted "
                                  f"credit memos carry {link} ({numbers}): which one it became "
                                  "cannot be told; check them in Business Central (a duplicate "
                                  "credit)")

    async def _look(self, read: Awaitable[T]) -> T | None:
        """A read made to learn what an unanswered write did; its own failure is not the
        news (the write's error is), so it gives None."""
        try:
            return await read
        except ConnectorError:
            return None

    async def _conflict(self, ref: RecordRef, exc: ConnectorError) -> ConflictError:
        fresh = await self._look(self.get_record(ref))
        number = (fresh or {}).get("number") or ref.id
        said = f": {exc.detail}" if exc.detail else ""
        what = ("changed in Business Central since it was read" if exc.status != 400 else
                "was sent with a concurrency token Business Central could not validate")
        return ConflictError(SYSTEM, f"{ref.entity} {number} {what} ({exc.status}{said}); "
                             "read it again and confirm", status=exc.status, fresh=fresh)

    def from_raw(self, kept: ErpBatch) -> ErpBatch:
        """Views assembled again from a batch's raw records or pages (what the cache
        keeps)."""
        rebuilt = self.merge(kept, ErpBatch(fetched_at=kept.fetched_at, notices=kept.notices))
        rebuilt.cursor = kept.cursor
        return rebuilt

    def merge(self, earlier: ErpBatch, changed: ErpBatch) -> ErpBatch:
        """Lay an incremental read over the last full one: every raw record, newest wins,
        assembled again, so a view is never built from only the part that changed."""
        present = changed.present or {}
        earlier_raw = earlier.raw or raw_from_pages(earlier.pages or ())
        kept = {ref: record for ref, record in earlier_raw.items()
                if (parts := ref.split(":", 2))[1] not in present
                or parts[2] in present[parts[1]]}
        raw = {**kept, **changed.raw}
        quick = self._merge_touched(earlier, earlier_raw, changed, raw)
        if quick is not None:
            return quick
        absent = _absent(changed)
        merged = self._assemble_in_parts(raw, absent, changed.fetched_at)
        if merged is None:
            found: defaultdict[str, list[Any]] = defaultdict(list)
            for raw_ref, record in raw.items():
                found[raw_ref.split(":", 2)[1]].append(record)
            rows: dict[str, list[Any] | None] = dict(found)
            for name in ("salesReturnOrders", "returnReceipts"):
                rows[name] = None if name in absent else rows.get(name, [])
            merged = _Assembler(self.settings, changed.fetched_at or datetime.now(UTC),
                                None).assemble(rows)
        merged.cursor = max(filter(None, (earlier.cursor, changed.cursor)), default=None)
        return merged

    def _assemble_in_parts(self, raw: dict[str, Any], absent: frozenset[str],
                           fetched_at: datetime | None) -> ErpBatch | None:
        """Every view of `raw`, assembled ASSEMBLY_PART link keys at a time: the same
        batch as assembling all at once, without every record validated at once (at
        10,000 returns that held about 80 MB, and the heap stayed that much larger after:
        the console's first refresh). None where parts could differ from the whole: a
        small batch, a record with no id, or an invoice that does not validate (its
        notice would be told once per part)."""
        if len(raw) < 2 * ASSEMBLY_PART or any(ref.endswith(":?") for ref in raw):
            return None
        fetched_at = fetched_at or datetime.now(UTC)
        links = Links(raw)
        again = _Assembler(self.settings, fetched_at, None)
        again.master(master_rows(links))
        master = again.batch.master
        views: dict[str, ErpView] = {}
        problems: dict[str, list[PayloadProblem]] = {}
        cursors: list[str] = []
        told: list[str] = []
        split = parts(links, ASSEMBLY_PART)
        if not split:
            return None
        for keys, rows in split:
            for name in ("salesReturnOrders", "returnReceipts"):
                rows[name] = None if name in absent else rows.get(name, [])
            part = _Assembler(self.settings, fetched_at, None).assemble(rows, master=master)
            told = [n for n in part.notices if _api_notice(n)]
            if len(told) != len(part.notices):
                return None
            views.update((k, v) for k, v in part.views.items() if k.casefold() in keys)
            problems.update((k, v) for k, v in part.problems.items() if k.casefold() in keys)
            if part.cursor:
                cursors.append(part.cursor)
        merged = ErpBatch(views=views, master=master, problems=problems, raw=raw,
                          fetched_at=fetched_at, notices=told + again.batch.notices,
                          cursor=max(cursors, default=None))
        merged.unseen = unseen_view(merged)
        return merged


    def _merge_touched(self, earlier: ErpBatch, earlier_raw: dict[str, Any],
                       changed: ErpBatch, raw: dict[str, Any]) -> ErpBatch | None:
        """`merge` for a batch kept in memory with its views (the console's last read):
        only the link keys the read touched are assembled again (see partial.py), every
        other view is carried over as it is; changed master data is made again (the views
        read only its locations). None when that cannot be the same as assembling
        everything: a batch with no views (as the cache keeps it), locations changed, an
        API that appeared or vanished, an invoice that did not validate."""
        if not earlier.views or not earlier.raw or _absent(earlier) != _absent(changed) \
                or any(n.startswith(INVOICE_SKIPPED) for n in earlier.notices):
            return None
        links = Links(raw)
        found = touched_keys(links, earlier_raw, raw, changed.raw)
        if found is None:
            return None
        keys, master_changed = found
        fetched_at = changed.fetched_at or datetime.now(UTC)
        master, notices = earlier.master, list(earlier.notices)
        if master_changed:
            again = _Assembler(self.settings, fetched_at, None)
            again.master(master_rows(links))
            # as assemble orders them: the APIs missing, then the master records skipped
            master = again.batch.master
            notices = [n for n in notices if _api_notice(n)] + again.batch.notices
        rows = subset(links, keys)
        for name in ("salesReturnOrders", "returnReceipts"):
            rows.setdefault(name, [])
            if name in _absent(earlier):
                rows[name] = None
        part = _Assembler(self.settings, fetched_at, None).assemble(rows, master=master)
        if not set(part.notices) <= set(notices):
            return None
        views = {k: v for k, v in earlier.views.items() if k.casefold() not in keys}
        views.update((k, v) for k, v in part.views.items() if k.casefold() in keys)
        problems = {k: v for k, v in earlier.problems.items() if k.casefold() not in keys}
        problems.update((k, v) for k, v in part.problems.items() if k.casefold() in keys)
        return ErpBatch(views=views, master=master, problems=problems, raw=raw,
                        fetched_at=part.fetched_at, notices=notices,
                        unseen=earlier.unseen,
                        cursor=max(filter(None, (earlier.cursor, changed.cursor)),
                                   default=None))

    # -- the record index (connectors/base.py KeyedReads; the relations in keyed.py) ---

    def record_tags(self, ref: str, record: Any) -> set[str]:
        return keyed.record_tags(ref, record)

    def keyed_touch(self, stored: StoredRecords, changed: ErpBatch) -> Touch | None:
        return keyed.touch(stored, changed, _absent(ErpBatch(notices=list(stored.notices))))

    def keyed_views(self, stored: StoredRecords, keys: set[str],
                    master: ErpMaster | None = None
                    ) -> tuple[dict[str, ErpView], dict[str, list[PayloadProblem]]] | None:
        """As `_merge_touched` assembles a kept batch's touched keys, from the index."""
        if master is None:
            return None
        rows, _ = keyed.records_of(stored, keys)
        absent = _absent(ErpBatch(notices=list(stored.notices)))
        for name in ("salesReturnOrders", "returnReceipts"):
            rows.setdefault(name, [])
            if name in absent:
                rows[name] = None
        part = _Assembler(self.settings, datetime.now(UTC), None).assemble(rows, master=master)
        if not set(part.notices) <= set(stored.notices):
            return None
        return ({k: v for k, v in part.views.items() if link_of(k) in keys},
                {k: v for k, v in part.problems.items() if link_of(k) in keys})


#: How a sales invoice that did not validate is noticed (see `_Assembler.records`).
INVOICE_SKIPPED = "salesInvoices record "


def _api_notice(notice: str) -> bool:
    """Whether a notice says an optional document API is missing (see `assemble`)."""
    return notice == NO_RETURN_ORDERS or "no returnReceipts API" in notice


def _absent(batch: ErpBatch) -> frozenset[str]:
    """The optional document APIs a batch's tenant lacked."""
    out = set()
    if NO_RETURN_ORDERS in batch.notices:
        out.add("salesReturnOrders")
    if any("no returnReceipts API" in n for n in batch.notices):
        out.add("returnReceipts")
    return frozenset(out)


def _checked_link(link: str) -> str:
    """A link key BC can carry: not empty (that would unlink the record), at most 35
    characters (BC would refuse it)."""
    text = (link or "").strip()
    if not text:
        raise ValueError("the new link is empty")
    if len(text) > LINK_LENGTH:
        raise ValueError(f"{text!r} is longer than the {LINK_LENGTH} characters Business "
                         "Central's external document number holds")
    return text


def _described(method: str, path: str, headers: dict[str, str | None], body: Any,
               notes: list[str]) -> dict:
    return {"method": method, "path": path, "headers": headers, "body": body, "notes": notes}


def _result(record: dict) -> WriteResult:
    return WriteResult(
        record_id=record["id"],
        number=record.get("number") if isinstance(record.get("number"), str) else None,
        etag=record.get("@odata.etag") if isinstance(record.get("@odata.etag"), str) else None,
        record=record,
        status=record.get("status") if isinstance(record.get("status"), str) else None,
        final=record.get("status") not in UNPOSTED if isinstance(record.get("status"), str)
        else None)


def raw_from_pages(pages: Iterable[tuple[str, bytes]]) -> dict[str, Any]:
    """Raw records by raw_ref from kept response bodies (money read as Decimal)."""
    raw: dict[str, Any] = {}
    for name, body in pages:
        try:
            page = decode_json(body)
        except ValueError:
            continue
        for record in page.get("value") or () if isinstance(page, dict) else ():
            rid = record.get("id") if isinstance(record, dict) else None
            raw[f"{SYSTEM}:{name}:{rid if isinstance(rid, str) else '?'}"] = record
    return raw


# ------------------------------------------------------------------------------ mapping


class _Assembler:
    """Raw entity sets → master data and one ErpView per link key."""

    def __init__(self, settings: BcSettings, fetched_at: datetime,
                 since: datetime | None, checked: Checked | None = None) -> None:
        self.settings = settings
        self.checked = checked or {}
        self.since = since
        self.batch = ErpBatch(fetched_at=fetched_at)
        self.groups: dict[str, _Group] = {}
        self.fees = {n.casefold() for n in settings.fee_items}
        self.shipping = {n.casefold() for n in settings.shipping_items}
        self.pattern = re.compile(settings.link_pattern) if settings.link_pattern else None

    def assemble(self, rows: dict[str, list[Any] | None],
                 master: ErpMaster | None = None) -> ErpBatch:
        """`master`: the master data as already assembled from the same records (only
        the locations are read again: lines name them by id)."""
        for _ in self.steps(rows, master):
            pass
        return self.batch

    def steps(self, rows: dict[str, list[Any] | None],
              master: ErpMaster | None = None) -> Iterator[None]:
        """`assemble`, a part at a time (the batch is `self.batch` once it is done): a read
        on an event loop lets the other side's requests go on between parts."""
        batch = self.batch
        has_orders = rows.get("salesReturnOrders") is not None
        has_receipts = rows.get("returnReceipts") is not None
        if not (has_orders and has_receipts):
            batch.notices.append(NO_RETURN_ORDERS if not has_orders else
                                 "this Business Central tenant has no returnReceipts API; "
                                 "receipts are read from posted credit memos")
        if master is None:
            self.master(rows)
        else:
            batch.master = master
            self.locations = {r.id.casefold(): r.code for r in self.records(
                "locations", rows.get("locations"), BcCode, master=True)}
        invoices = self.records("salesInvoices", rows.get("salesInvoices"), BcInvoice,
                                master=True)
        self.invoices_by_id = {i.id.casefold(): i for i in invoices}
        self.invoices_by_number = {i.number: i for i in invoices}
        orders = self.records("salesReturnOrders", rows.get("salesReturnOrders"),
                              BcReturnOrder)
        receipts = self.records("returnReceipts", rows.get("returnReceipts"), BcReturnReceipt)
        memos = self.records("salesCreditMemos", rows.get("salesCreditMemos"), BcCreditMemo)
        sales_orders = self.records("salesOrders", rows.get("salesOrders"), BcSalesOrder)
        by_number: dict[str, _Group] = {}
        for order in orders:
            group = self.linked(order.externalDocumentNumber)
            if group is not None:
                group.orders.append(order)
                by_number[order.number] = group
        for memo in memos:
            group = self.linked(memo.externalDocumentNumber)
            if group is not None:
                group.memos.append(memo)
        for receipt in receipts:
            # A receipt belongs with its return order (even one BC deleted once it was fully
            # posted: `orderNumber` still names it); else with its own link.
            group = by_number.get(receipt.orderNumber) or self.linked(
                receipt.externalDocumentNumber)
            if group is not None:
                group.receipts.append(receipt)
        for sales_order in sales_orders:
            group = self.linked(sales_order.externalDocumentNumber)
            if group is not None:
                group.sales_orders.append(sales_order)
        for invoice in invoices:
            # A posted invoice under a link: an exchange's replacement, fully invoiced (or,
            # mostly, a web order's own invoice: not a return document, never unlinked).
            group = self.linked(invoice.externalDocumentNumber)
            if group is not None:
                group.invoices.append(invoice)
        returns = frozenset(self.settings.link_documents)
        yield
        for n, group in enumerate(self.groups.values(), start=1):
            breathe()
            if n % STEP == 0:
                yield
            if has_orders and not (group.orders or group.receipts or group.memos
                                   or group.sales_orders):
                # Invoices alone are web orders' own; an exchange's invoice counts next to
                # its return's documents (where the tenant has return orders at all).
                continue
            batch.views[group.key] = self.view(group, has_orders, has_receipts, returns)
        for key in batch.problems:
            batch.views.setdefault(key, ErpView(system=SYSTEM, return_ref=key))
        stamps = [s for d in (*orders, *receipts, *memos, *sales_orders)
                  if (s := as_utc(d.lastModifiedDateTime)) is not None]
        newest = max(stamps, default=None) or self.since
        batch.cursor = datetime_literal(newest) if newest else None
        batch.unseen = unseen_view(batch)

    # -- records -------------------------------------------------------------------------

    def records(self, name: str, rows: Iterable[Any] | None, model: type[Model], *,
                master: bool = False) -> list[Model]:
        """Valid records of one set; each raw record kept under its raw_ref, each invalid
        one a PayloadProblem under its link key (a notice for master data)."""
        out: list[Model] = []
        for raw in rows or ():
            breathe()  # a person typing in the console goes first (domain/pace.py)
            rid = raw.get("id") if isinstance(raw, dict) else None
            raw_ref = f"{SYSTEM}:{name}:{rid if isinstance(rid, str) else '?'}"
            self.batch.raw[raw_ref] = raw
            ahead = self.checked.get(id(raw))
            record = ahead[1] if ahead is not None and ahead[0] is raw else _check(model, raw)
            if not isinstance(record, ValidationError):
                out.append(record)
            else:
                error = describe(record)
                number = _text(raw, "number") or _text(raw, "code") or rid
                if master:
                    self.batch.notices.append(
                        f"{name} record {number or '?'} was skipped: {error}")
                    continue
                key = self.group(_text(raw, "externalDocumentNumber"),
                                 str(number or rid or f"{SYSTEM}-record-unknown")).key
                self.batch.problems.setdefault(key, []).append(PayloadProblem(
                    side=Side.ERP, record_id=str(number) if number else None,
                    stage=DOCUMENT_STAGE.get(name), error=error, raw_ref=raw_ref))
        return out

    def group(self, ref: str | None, fallback: str) -> _Group:
        key = (ref or "").strip() or fallback
        group = self.groups.get(key.casefold())
        if group is None:
            group = self.groups[key.casefold()] = _Group(key)
        return group

    def linked(self, ref: str) -> _Group | None:
        """The group of a document's link: None where the document carries no return link
        (empty, or not matching the profile's link pattern: goodwill credits, history)."""
        key = ref.strip()
        if not key or (self.pattern is not None and not self.pattern.fullmatch(key)):
            return None
        return self.group(key, key)

    def master(self, rows: dict[str, list[Any] | None]) -> None:
        items = self.records("items", rows.get("items"), BcItem, master=True)
        customers = self.records("customers", rows.get("customers"), BcCustomer, master=True)
        reasons = self.records("customerReturnReasons", rows.get("customerReturnReasons"),
                               BcCode, master=True)
        methods = self.records("paymentMethods", rows.get("paymentMethods"), BcCode,
                               master=True)
        periods = self.records("accountingPeriods", rows.get("accountingPeriods"), BcPeriod,
                               master=True)
        locations = self.records("locations", rows.get("locations"), BcCode, master=True)
        self.locations = {r.id.casefold(): r.code for r in locations}
        # Units of measure are read (their raw kept) but ErpMaster has no place for them:
        # the item's base unit is what reconciliation compares against.
        self.records("unitsOfMeasure", rows.get("unitsOfMeasure"), BcCode, master=True)
        self.batch.master = ErpMaster(
            items={i.number: Item(number=i.number, blocked=i.blocked,
                                  base_uom=i.baseUnitOfMeasureCode or None,
                                  type=ITEM_TYPES[i.type]) for i in items},
            customers={c.number: Customer(number=c.number, email=c.email or None,
                                          blocked=BLOCKED[c.blocked]) for c in customers},
            locations=frozenset(r.code for r in locations),
            reasons=frozenset(r.code for r in reasons),
            payment_methods=frozenset(m.code for m in methods),
            periods=tuple(AccountingPeriod(start=p.startingDate, name=p.name or None,
                                           closed=p.closed)
                          for p in sorted(periods, key=lambda p: p.startingDate)),
            items_ignore_case=True, creates=CREATES, instead=INSTEAD,
        )

    # -- views ---------------------------------------------------------------------------

    def raw_ref(self, name: str, record: _Record) -> str:
        return f"{SYSTEM}:{name}:{record.id}"

    def is_item_line(self, line: BcCreditMemoLine | BcReturnOrderLine) -> bool:
        number = line.lineObjectNumber.strip()
        return (decode_enum(line.lineType).casefold() == "item" and bool(number)
                and number.casefold() not in self.fees
                and number.casefold() not in self.shipping)

    def invoice_of(self, memo: BcCreditMemo) -> BcInvoice | None:
        if memo.invoiceId:
            found = self.invoices_by_id.get(memo.invoiceId.casefold())
            if found is not None:
                return found
        return self.invoices_by_number.get(memo.invoiceNumber) if memo.invoiceNumber else None

    def credit_note(self, memo: BcCreditMemo) -> CreditNote:
        status = CREDIT_NOTE_STATUS[memo.status]
        shipping = fees = Decimal(0)
        for line in memo.salesCreditMemoLines:
            number = line.lineObjectNumber.strip().casefold()
            if number in self.shipping:
                shipping += line.amountExcludingTax
            elif number in self.fees:
                fees -= line.amountExcludingTax
        discounts = memo.discountAmount
        items = memo.totalAmountExcludingTax - shipping + fees + discounts
        invoice = self.invoice_of(memo)
        currency = (memo.currencyCode or self.settings.local_currency).upper()
        return CreditNote(
            id=memo.id, number=memo.number, status=status,
            external_ref=memo.externalDocumentNumber or None,
            order_ref=(invoice.externalDocumentNumber or None) if invoice else None,
            customer_ref=memo.customerNumber or None,
            posting_date=memo.postingDate,
            # A posted memo's business date is its posting date; lastModifiedDateTime moves
            # when it is later applied or paid.
            posted_at=(_midnight(memo.postingDate) or as_utc(memo.lastModifiedDateTime))
            if status == "posted" else None,
            amounts=MoneyBreakdown(
                currency=currency, items=pad_cents(items),
                tax=pad_cents(memo.totalTaxAmount), shipping=pad_cents(shipping),
                discounts=pad_cents(discounts), fees=pad_cents(fees)),
            raw_ref=self.raw_ref("salesCreditMemos", memo),
        )

    def view(self, group: _Group, has_orders: bool, has_receipts: bool,
             returns: frozenset[str]) -> ErpView:
        """One return as Business Central keeps it at this point of its lifecycle: the
        return order while it is open; once posted Receive + Invoice, BC deletes it and
        what remains is the posted return receipt (`orderNumber` names the deleted order)
        and the posted credit memo. Business dates are posting dates: a posted document's
        lastModifiedDateTime moves when it is later applied or paid."""
        order = min(group.orders, key=lambda o: (o.documentDate or date.max, o.number),
                    default=None)
        memos = sorted(group.memos, key=lambda m: (m.postingDate or date.max, _when(m),
                                                   m.number))
        notes = [self.credit_note(m) for m in memos]
        posted = [(m, n) for m, n in zip(memos, notes, strict=True) if n.status == "posted"]
        drafts = [(m, n) for m, n in zip(memos, notes, strict=True) if n.status == "draft"]
        # The credit memo that counts: the first posted one, else the first draft.
        lead = posted or drafts
        lead_memo, lead_note = lead[0] if lead else (None, None)
        receipts = sorted((r for r in group.receipts if order is None
                           or r.orderNumber in ("", order.number)),
                          key=lambda r: (r.postingDate or date.max, r.number))
        first_receipt = receipts[0] if receipts else None
        if order is not None:
            order_ref = order.yourReference.strip() or None
        elif first_receipt is not None and first_receipt.yourReference.strip():
            order_ref = first_receipt.yourReference.strip()
        else:
            first = lead_note or (notes[0] if notes else None)
            order_ref = first.order_ref if first else None
        customer = (order.sellToCustomerNumber if order else "") or (
            first_receipt.sellToCustomerNumber if first_receipt else "") or next(
            (m.customerNumber for m in ([lead_memo] if lead_memo else []) + memos
             if m.customerNumber), "")
        # A posted credit memo with item lines: in standard BC posting it also posts the
        # inventory increase, so it stands for the receipt where BC has no receipt API, and
        # its lines are the return's once BC has deleted the fully posted return order.
        stand_in = posted[0] if posted and any(
            self.is_item_line(ln) for ln in posted[0][0].salesCreditMemoLines) else None
        stages: dict[Stage, StageView] = {}
        lines: list[ErpLine] = []
        if order is not None:
            counted = bool(receipts) or (not has_receipts and stand_in is not None)
            lines = self.order_lines(order, lead_memo, counted)
            stages[Stage.AUTHORISED] = StageView(
                status=StageStatus.DONE,
                at=_midnight(order.documentDate) or as_utc(order.lastModifiedDateTime),
                record_ids=(order.number,), detail=order.status,
                raw_ref=self.raw_ref("salesReturnOrders", order))
        elif first_receipt is not None:
            # Posted and deleted: the receipt still names the return order.
            if stand_in is not None:
                lines = self.memo_lines(stand_in[0])
            stages[Stage.AUTHORISED] = StageView(
                status=StageStatus.DONE,
                at=_midnight(first_receipt.documentDate or first_receipt.postingDate),
                record_ids=(first_receipt.orderNumber or first_receipt.number,),
                detail="deleted by BC once posted",
                raw_ref=self.raw_ref("returnReceipts", first_receipt))
        if not has_orders:
            if stand_in is not None:
                lines = self.memo_lines(stand_in[0])
                stages[Stage.AUTHORISED] = self.stand_in_stage(*stand_in)
            else:
                stages[Stage.AUTHORISED] = StageView(status=StageStatus.NOT_APPLICABLE)
        if receipts and has_receipts:
            last = receipts[-1]
            stages[Stage.RECEIVED] = StageView(
                status=StageStatus.DONE,
                at=_midnight(last.postingDate) or as_utc(last.lastModifiedDateTime),
                record_ids=tuple(r.number for r in receipts), detail="posted return receipt",
                raw_ref=self.raw_ref("returnReceipts", last))
        elif not (has_orders and has_receipts):
            stages[Stage.RECEIVED] = (self.stand_in_stage(*stand_in) if stand_in is not None
                                      else StageView(status=StageStatus.NOT_APPLICABLE))
        # BC's API has no inspection or put-away record.
        stages[Stage.INSPECTED] = StageView(status=StageStatus.NOT_APPLICABLE)
        stages[Stage.RESTOCKED] = StageView(status=StageStatus.NOT_APPLICABLE)
        for found, status in ((posted, StageStatus.DONE), (drafts, StageStatus.PENDING)):
            if found:
                memo, note = found[0]
                stages[Stage.CREDITED] = StageView(
                    status=status, at=note.posted_at or as_utc(memo.lastModifiedDateTime),
                    record_ids=tuple(m.number for m, _ in found),
                    detail=CREDIT_MEMO_WORDS.get(memo.status, memo.status),
                    raw_ref=note.raw_ref)
                break
        replacement = self.replacement(group)
        if replacement is not None:
            stages[Stage.EXCHANGED] = replacement
        own = bool((group.orders and "salesReturnOrders" in returns)
                   or (group.receipts and "returnReceipts" in returns)
                   or (group.memos and "salesCreditMemos" in returns)
                   or (group.sales_orders and "salesOrders" in returns))
        return ErpView(
            system=SYSTEM, return_ref=group.key, order_ref=order_ref,
            customer_ref=customer or None,
            # a return order BC deleted once fully posted is finished: closed
            return_order_state=RETURN_ORDER_STATE[order.status] if order else (
                "closed" if first_receipt is not None and has_orders else None),
            lines=tuple(lines), credit_notes=tuple(notes), stages=stages,
            return_document=own,
        )

    def replacement(self, group: _Group) -> StageView | None:
        """The exchange's replacement: an open sales order, or, once BC deleted it fully
        shipped and invoiced, its posted sales invoice."""
        dated = [(o.orderDate, o.number, "salesOrders", o) for o in group.sales_orders] + [
            (i.postingDate, i.number, "salesInvoices", i) for i in group.invoices]
        if not dated:
            return None
        dated.sort(key=lambda d: (d[0] or date.max, d[1]))
        day, _, name, first = dated[0]
        return StageView(
            status=StageStatus.DONE,
            at=_midnight(day) or as_utc(first.lastModifiedDateTime),
            record_ids=tuple(d[1] for d in dated),
            detail="sales order" if name == "salesOrders" else "posted sales invoice",
            raw_ref=self.raw_ref(name, first))

    def order_lines(self, order: BcReturnOrder, memo: BcCreditMemo | None,
                    received: bool) -> list[ErpLine]:
        """The return order's item lines; each one's location from the matching item line
        (same item, same occurrence) of the credit memo that counts."""
        placed: dict[str, list[BcCreditMemoLine]] = defaultdict(list)
        for memo_line in sorted(memo.salesCreditMemoLines if memo else [],
                                key=lambda ln: ln.sequence):
            if self.is_item_line(memo_line):
                placed[memo_line.lineObjectNumber.strip()].append(memo_line)
        used: dict[str, int] = defaultdict(int)
        out = []
        for line in sorted(order.salesReturnOrderLines, key=lambda ln: ln.sequence):
            if not self.is_item_line(line):
                continue
            item = line.lineObjectNumber.strip()
            k = used[item]
            used[item] += 1
            match = placed[item][k] if k < len(placed[item]) else None
            out.append(ErpLine(
                line_ref=str(line.sequence), item_no=item, uom=line.unitOfMeasureCode or None,
                quantity=line.quantity,
                received_quantity=(line.returnQtyReceived or Decimal(0)) if received else None,
                location=self.location(match)))
        return out

    def memo_lines(self, memo: BcCreditMemo) -> list[ErpLine]:
        """A posted credit memo's item lines, as received (the tenant has no receipts)."""
        return [
            ErpLine(line_ref=str(ln.sequence), item_no=ln.lineObjectNumber.strip(),
                    uom=ln.unitOfMeasureCode or None, quantity=abs(ln.quantity),
                    received_quantity=abs(ln.quantity), location=self.location(ln))
            for ln in sorted(memo.salesCreditMemoLines, key=lambda ln: ln.sequence)
            if self.is_item_line(ln)
        ]

    def stand_in_stage(self, memo: BcCreditMemo, note: CreditNote) -> StageView:
        return StageView(status=StageStatus.DONE, at=note.posted_at, record_ids=(memo.number,),
                         detail="posted credit memo", raw_ref=note.raw_ref)

    def location(self, line: BcCreditMemoLine | None) -> str | None:
        if line is None or not line.locationId:
            return None
        return self.locations.get(line.locationId.casefold())


def unseen_view(batch: ErpBatch) -> ErpView:
    """What a link key with no record in `batch` means. Normally nothing has happened yet;
    on a tenant without salesReturnOrders there is no return order or receipt to miss."""
    if NO_RETURN_ORDERS not in batch.notices:
        return ErpView(system=SYSTEM)
    na = StageView(status=StageStatus.NOT_APPLICABLE)
    return ErpView(system=SYSTEM, stages={
        Stage.AUTHORISED: na, Stage.RECEIVED: na, Stage.INSPECTED: na, Stage.RESTOCKED: na})


_NEVER = datetime.max.replace(tzinfo=UTC)


def _when(document: _Document) -> datetime:
    """When a document last changed, for ordering (undated ones last)."""
    return as_utc(document.lastModifiedDateTime) or _NEVER


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), UTC) if day else None


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _error_text(response: Response) -> str | None:
    """BC's OData error body (and Entra's `{"error", "error_description"}`) as one line,
    without the correlation id."""
    body = json_or_none(response)
    if body is None:
        return response.text[:200].replace("\n", " ") or None
    return _error_body(body)


def _uncorrelated(message: str) -> str:
    """BC's message without the `CorrelationId: <guid>.` it appends."""
    return _CORRELATION.sub("", message)


def _error_body(body: Any) -> str | None:
    text = error_text(body, tidy=_uncorrelated)
    error = body.get("error") if isinstance(body, dict) else None
    if text is not None or not isinstance(error, str):
        return text
    description = str(body.get("error_description") or "")
    first = re.split(r"[\r\n\u240a\u240d]+| Trace ID:", description, maxsplit=1)[0].strip()
    return f"{error}: {first}"[:300] if first else error

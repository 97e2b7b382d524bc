"""F&O's writer: what its public data entities let the console change
(docs/vendors/d365-fo.md §7, docs/d365fo-mapping.md "Actions").

Fix reference: PATCH the return order header's link field with `If-Match` (the ETag read,
§8.2; a 409 or 412 is a conflict, U7). Re-queue a missing return order: POST the header
(F&O numbers it and answers 201 with the record, §7.1), then each line (its quantity
negative, U15). There is no idempotency key and no changeset that could carry the generated
number to the lines (U30): the header is looked up by its link first, and again after an
answer that was lost, so a return order is never made twice. A return order moves no goods
and no money.

Posting an arrival, a packing slip or a credit note has no OData action (§7.2): a credit is
never created here, and those findings say what to do in F&O.

Before the first change a writer makes, it reads `$metadata` (§1.1) and refuses what this
installation does not allow: an entity set it lacks, a field annotated AllowEdit false
(§9 S11, U16). A refusal says what to do in F&O instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote as url_quote

from ...connectors.errors import (
    ConflictError,
    ConnectorError,
    NetworkError,
    RefusedError,
    ServerError,
)
from ...domain.postings import (
    PENDING_NUMBER,
    CreditRequest,
    RecordRef,
    ReturnOrderRequest,
    WriteResult,
)
from ...kits.odata.client import ETAG, quote
from .connector import READ_LIMIT, FoConnector
from .mapping import SYSTEM

HEADERS_READ = "headers"
#: What a key path keeps as it is when it is percent-encoded (OData's own punctuation).
SAFE_IN_KEY = "=',()"
JSON = {"Content-Type": "application/json"}
NO_CREDIT = ("F&O posts a credit note from the return order's Sales order page (Invoice > "
             "Generate > Invoice); no OData action does it, so the console does not")


def open_writer(connector: FoConnector) -> FoWriter:
    return FoWriter(connector)


class FoWriter:
    system = SYSTEM

    def __init__(self, connector: FoConnector) -> None:
        self.connector = connector
        self.settings = connector.settings
        self.http = connector.http
        self.odata = connector.odata
        self.link_field = connector.settings.mapping.link_field
        self.link_label = self.link_field
        #: What `$metadata` allows here, read once before the first change (None: not yet).
        self._allowed: Metadata | None = None

    # -- what a raw record says ----------------------------------------------------------

    def link_of(self, record: Mapping[str, Any]) -> str | None:
        value = record.get(self.link_field)
        return value if isinstance(value, str) else None

    def token_of(self, record: Mapping[str, Any]) -> str | None:
        value = record.get(ETAG)
        return value if isinstance(value, str) and value else None

    def credit_steps(self) -> tuple[str, ...]:
        return (NO_CREDIT,)

    def return_order_steps(self) -> tuple[str, ...]:
        return ("the header first (F&O numbers it), then one line at a time with the number "
                "it gave; looked for by its reference first, so never made twice",
                "it authorises the return only: the arrival, the packing slip and the credit "
                "note stay F&O's steps")

    def reverse_hint(self, action: str, number: str | None) -> str:
        if action == "requeue_posting":
            return (f"Not undone automatically: if return order {number or '?'} should not "
                    "exist, cancel it in F&O (Return orders > Cancel; only while its return "
                    "status is Created).")
        return (f"Not undone automatically: set the return order's Customer reference "
                f"({self.link_field}) back in F&O, or fix the reference again here.")

    # -- paths -----------------------------------------------------------------------------

    def _key_path(self, ref: RecordRef) -> str:
        """The header's key path (§1.1: every key field, each value a quoted literal,
        percent-encoded in the URL)."""
        if ref.system == SYSTEM and ref.entity == "invoices":
            raise ValueError(f"credit note {ref.id} is a posted invoice: F&O does not change "
                             "a posted invoice's Customer reference; reverse it in F&O (Credit "
                             "note on the invoice journal) if it belongs to another return")
        if ref.system != SYSTEM or ref.entity != HEADERS_READ or not ref.id:
            raise ValueError(f"{ref} is not an F&O return order the console can change")
        key = (f"dataAreaId={quote(self.settings.company)},"
               f"ReturnOrderNumber={quote(ref.id)}")
        return f"{self.settings.header_entity}({url_quote(key, safe=SAFE_IN_KEY)})"

    def _checked(self, link: str) -> str:
        text = link.strip()
        if not text:
            raise ValueError("the new reference is empty")
        if "*" in text:  # a wildcard in an eq filter (§3.1): looking it up would match others
            raise ValueError(f"{text!r} holds '*', which F&O reads as a wildcard when a "
                             "reference is looked up: give it without")
        limit = self.settings.link_max_len
        if len(text) > limit:
            raise ValueError(f"{text!r} is longer than the {limit} characters F&O's "
                             f"{self.link_field} is taken to hold (option link_max_len); "
                             "it is never cut short")
        return text

    # -- reading ---------------------------------------------------------------------------

    async def get_record(self, ref: RecordRef) -> dict:
        """The return order header as F&O holds it now (with its ETag)."""
        return await self.odata.get(self._key_path(ref), {READ_LIMIT: "true"})

    async def credits_for(self, link: str) -> list[WriteResult]:
        """The credit notes of the return orders carrying `link`, and those carrying it
        themselves (an invoice copies the Customer reference, not the requisition)."""
        reads = self.connector.reads_for_link(link)
        orders = {r.number for r in await self.return_orders_for(link) if r.number}
        found: dict[str, WriteResult] = {}
        invoice_reads = [self.connector.invoices_of(number) for number in sorted(orders)]
        if self.link_field == "CustomersOrderReference":
            invoice_reads.append(reads["invoices"])
        for read in invoice_reads:
            async for page in self.odata.pages(read.entity, self.connector.params(read)):
                for r in page.value:
                    if isinstance(r, Mapping) and isinstance(r.get("InvoiceNumber"), str):
                        found[r["InvoiceNumber"]] = WriteResult(
                            record_id=r["InvoiceNumber"], number=r["InvoiceNumber"],
                            final=True)
        return list(found.values())

    async def return_orders_for(self, link: str) -> list[WriteResult]:
        read = self.connector.reads_for_link(link)["headers"]
        found = []
        async for page in self.odata.pages(read.entity, self.connector.params(read)):
            found += [self._result(r) for r in page.value if isinstance(r, Mapping)]
        return found

    def _result(self, record: Mapping[str, Any]) -> WriteResult:
        number = record.get("ReturnOrderNumber")
        return WriteResult(record_id=str(number or ""),
                           number=number if isinstance(number, str) else None,
                           etag=self.token_of(record), record=dict(record),
                           status=record.get("ReturnStatus") if isinstance(
                               record.get("ReturnStatus"), str) else None, final=True)

    # -- fix reference ---------------------------------------------------------------------

    def describe_set_link(self, ref: RecordRef, etag: str | None, link: str) -> dict:
        link = self._checked(link)  # the reference first: its refusal is about it
        notes = ["sent only if $metadata lets this installation change the field "
                 "(AllowEdit)",
                 "the record is read just before and its ETag compared (whether F&O itself "
                 "enforces If-Match is not documented)"]
        if not etag:
            notes.append("no ETag was given: the record's current one is read just before "
                         "sending")
        return {"method": "PATCH", "path": self._key_path(ref), "query": {READ_LIMIT: "true"},
                "headers": {"If-Match": etag or None, **JSON},
                "body": {self.link_field: link}, "notes": notes}

    async def set_link(self, ref: RecordRef, etag: str | None, link: str) -> WriteResult:
        """Set the header's link field, only if unchanged since read (`If-Match`).
        ConflictError (with the record now) when F&O says it changed; RefusedError when
        this installation does not let the field change."""
        self._checked(link)
        await self._may("set_link")
        now = await self.get_record(ref)
        current = self.odata.etag(now, f"return order {ref.id}")
        if etag and current != etag:  # our own check: F&O's is not documented (U7)
            raise ConflictError(SYSTEM, f"return order {ref.id} changed in F&O since it was "
                                "read; read it again and confirm", status=412, fresh=now)
        etag = etag or current
        request = self.describe_set_link(ref, etag, link)
        try:
            await self.http.request("PATCH", request["path"], params=request["query"],
                                    json_body=request["body"],
                                    headers={**JSON, "If-Match": etag}, write=True)
        except ConflictError as exc:
            fresh = await _look(self.get_record(ref))
            raise ConflictError(SYSTEM, f"return order {ref.id} changed in F&O since it was "
                                "read; read it again and confirm", status=exc.status,
                                fresh=fresh or {}) from exc
        except (ServerError, NetworkError):
            # The change may be made unanswered: look, never send it again blindly.
            seen = await _look(self.get_record(ref))
            if seen is not None and self.link_of(seen) == request["body"][self.link_field]:
                return self._result(seen)
            raise
        # changed (204): read back for the new ETag; a failed read does not undo the change
        seen = await _look(self.get_record(ref))
        if seen is not None:
            return self._result(seen)
        return WriteResult(record_id=ref.id, number=ref.id, final=True,
                           record={**now, self.link_field: link})

    # -- re-queue: a missing return order --------------------------------------------------

    def _header_body(self, request: ReturnOrderRequest) -> dict[str, Any]:
        mapping = self.settings.mapping
        body: dict[str, Any] = {
            "dataAreaId": self.settings.company,
            "CustomerAccountNumber": request.customer_ref,
            "InvoiceCustomerAccountNumber": request.customer_ref,
            self.link_field: self._checked(request.link)}
        if mapping.order_field != "none" and request.order_ref:
            body[mapping.order_field] = request.order_ref
        if request.reason:
            body["CustomerReturnReasonCode"] = request.reason
        if request.currency:
            body["CurrencyCode"] = request.currency
        warehouse = next((ln.location for ln in request.lines if ln.location), None)
        if warehouse:
            body["DefaultReturnWarehouseId"] = warehouse
        return body

    def line_bodies(self, request: ReturnOrderRequest, number: str) -> list[dict[str, Any]]:
        """Each line's POST body, for the return order F&O numbered `number`."""
        out = []
        for line in request.lines:
            body: dict[str, Any] = {
                "dataAreaId": self.settings.company, "ReturnOrderNumber": number,
                "ItemNumber": line.item_no,
                # negative on a return line (U15): what integrators send
                "ReturnSalesQuantity": _number(-line.quantity)}
            if line.uom:
                body["SalesUnitSymbol"] = line.uom
            if line.location:
                body["ReturnWarehouseId"] = line.location
            # no SalesPrice: the platform's price may include tax where F&O's does not, and
            # F&O prices a return line from the item or the sales line it is found on;
            # invoicing it at a price sent from here could credit more than was paid
            out.append(body)
        return out

    def describe_create_return_order(self, request: ReturnOrderRequest) -> dict:
        if not request.lines:
            raise ValueError("a return order needs at least one line")
        lines = self.line_bodies(request, PENDING_NUMBER)
        return {"method": "POST", "path": self.settings.header_entity, "headers": dict(JSON),
                "body": self._header_body(request),
                "then": [{"method": "POST", "path": self.settings.line_entity,
                          "headers": dict(JSON), "body": body} for body in lines],
                "notes": [
                    f"looked for first by {self.link_field} {request.link}: a return order "
                    "that exists is not made again",
                    f"then {len(lines)} line{'s' if len(lines) != 1 else ''}, one POST each, "
                    "with the number F&O gave the header (quantities negative on a return "
                    "line)",
                    "sent only if $metadata lets this installation create both"]}

    async def create_return_order(self, request: ReturnOrderRequest) -> WriteResult:
        """The header, then its lines. Refused if a return order already carries the link
        (the service looks first; this is the last look). A header whose answer was lost is
        found again by its link (it was made moments ago, under this console's lease) and
        given its lines; a line whose answer was lost is looked for before it is counted
        as missing. Lines that could not be made are said, with the number: the rest is
        added in F&O (the audit log keeps the return order's number)."""
        described = self.describe_create_return_order(request)
        await self._may("create_return_order", header=described["body"],
                        lines=[then["body"] for then in described["then"]])
        if await self.return_orders_for(request.link):
            raise RefusedError(SYSTEM, f"a return order already carries {request.link} in "
                               "F&O; nothing sent")
        try:
            response = await self.http.request("POST", described["path"],
                                               json_body=described["body"], headers=JSON,
                                               write=True)
        except (ServerError, NetworkError):
            seen = await _look(self.return_orders_for(request.link))
            if not seen:
                raise
            header = seen[0]
        else:
            body = self.http.decode(response) if response.content else None
            if isinstance(body, Mapping) and isinstance(body.get("ReturnOrderNumber"), str):
                header = self._result(body)
            else:  # an answer without the record (U26): found by its link
                seen = await _look(self.return_orders_for(request.link))
                if not seen:
                    raise RefusedError(SYSTEM, f"F&O answered {response.status_code} to the "
                                       "return order but it cannot be found by its "
                                       f"reference {request.link}: look in F&O before "
                                       "re-queueing")
                header = seen[0]
        number = header.number or header.record_id
        bodies = self.line_bodies(request, number)
        made = 0
        for body in bodies:
            try:
                await self.http.request("POST", self.settings.line_entity, json_body=body,
                                        headers=JSON, write=True)
            except (ServerError, NetworkError) as exc:
                # made unanswered? count the item's lines now (each body is one line)
                have = await _look(self._line_items(number))
                item = str(body["ItemNumber"]).casefold()
                if have is not None and have.get(item, 0) > sum(
                        1 for b in bodies[:made] if str(b["ItemNumber"]).casefold() == item):
                    made += 1
                    continue
                raise _partial(number, made, len(bodies), exc) from exc
            except ConnectorError as exc:
                raise _partial(number, made, len(bodies), exc) from exc
            made += 1
        return header

    async def line_count(self, number: str) -> int:
        return sum((await self._line_items(number)).values())

    async def _line_items(self, number: str) -> dict[str, int]:
        """How many lines of each item the return order has now."""
        read = self.connector.lines_of(number)
        counts: dict[str, int] = {}
        async for page in self.odata.pages(read.entity, self.connector.params(read)):
            for row in page.value:
                if isinstance(row, Mapping) and isinstance(row.get("ItemNumber"), str):
                    key = row["ItemNumber"].casefold()
                    counts[key] = counts.get(key, 0) + 1
        return counts

    # -- credits: not here -------------------------------------------------------------------

    def describe_create_credit(self, request: CreditRequest) -> dict:
        raise ValueError(NO_CREDIT + ": post it there")

    def describe_post_credit(self, result: WriteResult) -> dict:
        raise ValueError(NO_CREDIT)

    async def create_credit(self, request: CreditRequest) -> WriteResult:
        raise RefusedError(SYSTEM, NO_CREDIT + "; nothing sent")

    async def post_credit(self, result: WriteResult, link: str) -> WriteResult:
        raise RefusedError(SYSTEM, NO_CREDIT + "; nothing sent")

    # -- what this installation allows (§1.1, U16) -----------------------------------------

    async def why_not_allowed(self, action: str, request: Mapping[str, Any]) -> str | None:
        """Why this installation's `$metadata` refuses the request a plan describes (None:
        it allows it), asked while planning so the preview says so before anyone confirms;
        the write asks again before it sends."""
        try:
            if action == "fix_reference":
                await self._may("set_link")
            else:
                await self._may("create_return_order", header=request.get("body") or {},
                                lines=[then.get("body") or {}
                                       for then in request.get("then", ())])
        except RefusedError as exc:
            said = str(exc).split(": ", 1)[-1]  # without the system's prefix
            return said.removesuffix("; nothing sent")
        return None

    async def _may(self, what: str, header: Mapping[str, Any] | None = None,
                   lines: Sequence[Mapping[str, Any]] = ()) -> None:
        if self._allowed is None:
            known = _METADATA.get(self.settings.environment)
            if known is None:  # tens of MB on a real environment: read once a process
                response = await self.http.request("GET", "$metadata")
                known = _METADATA[self.settings.environment] = Metadata(response.text)
            self._allowed = known
        s = self.settings
        if what == "set_link":
            problem = self._allowed.cannot_edit(s.header_entity, self.link_field)
            instead = (f"change the Customer reference on the return order in F&O "
                       f"({self.link_field})")
        else:
            problem = self._allowed.cannot_create(s.header_entity, header or {}) or next(
                (found for line in lines
                 if (found := self._allowed.cannot_create(s.line_entity, line))), None) or \
                self._allowed.cannot_create(s.line_entity, {})
            instead = "create the return order in F&O (Sales and marketing > Returns > All " \
                "return orders), with the return's reference as its Customer reference"
        if problem:
            raise RefusedError(SYSTEM, f"{problem}: {instead}; nothing sent")

    async def aclose(self) -> None:
        await self.connector.aclose()


class Metadata:
    """What `$metadata` says about the entity sets the writer uses: whether each exists
    and which of its properties are annotated AllowEdit false (§9 S11). Read by pattern,
    not a full EDMX parse: the document is large and only a few elements matter."""

    def __init__(self, text: str) -> None:
        self.text = text
        #: Each entity type's body, found once (the document is tens of MB on a real one).
        self._bodies: dict[str, str | None] = {}

    def _type_of(self, entity_set: str) -> str | None:
        found = re.search(r'<EntitySet\s+Name="' + re.escape(entity_set) +
                          r'"\s+EntityType="([\w.]+)"', self.text)
        return found.group(1).rsplit(".", 1)[-1] if found else None

    def _type_body(self, entity_set: str) -> str | None:
        if entity_set not in self._bodies:
            name = self._type_of(entity_set)
            found = None if name is None else re.search(
                r'<EntityType\s+Name="' + re.escape(name) + r'"[^>]*>(.*?)</EntityType>',
                self.text, re.DOTALL)
            self._bodies[entity_set] = found.group(1) if found else None
        return self._bodies[entity_set]

    def cannot_create(self, entity_set: str, fields: Mapping[str, Any]) -> str | None:
        """Why a record with `fields` cannot be created here (None: it can): the entity
        set is missing, or a field sent is annotated AllowEditOnCreate false ("enforced for
        all consumers", Behavioral properties on data entities)."""
        body = self._type_body(entity_set)
        if body is None:
            return f"this F&O installation has no public entity set {entity_set}"
        for field in fields:
            if field == "dataAreaId":
                continue
            if _annotated(body, field, "AllowEditOnCreate"):
                return (f"this F&O installation does not let {field} be set on a new "
                        f"{entity_set} record (AllowEditOnCreate)")
        return None

    def cannot_edit(self, entity_set: str, field: str) -> str | None:
        body = self._type_body(entity_set)
        if body is None:
            return f"this F&O installation has no public entity set {entity_set}"
        if _property(body, field) is None:
            return f"{entity_set} has no field {field} here"
        if _annotated(body, field, "AllowEdit"):
            return f"F&O does not let {field} change once a return order exists (AllowEdit)"
        return None


def _property(body: str, field: str) -> re.Match[str] | None:
    return re.search(r'<Property\s+Name="' + re.escape(field) + r'"[^>]*?(/>|>(.*?)'
                     r'</Property>)', body, re.DOTALL)


def _annotated(body: str, field: str, term: str) -> bool:
    """Whether the property carries the edit annotation `term` set false."""
    found = _property(body, field)
    return found is not None and re.search(
        r'Term="Microsoft\.Dynamics\.OData\.Core\.V1\.' + term + r'"\s+Bool="false"',
        found.group(2) or "") is not None


def _partial(number: str, made: int, wanted: int, exc: ConnectorError) -> RefusedError:
    return RefusedError(SYSTEM, f"return order {number} was created with {made} of {wanted} "
                        f"lines: {exc.detail or exc}; add the rest to it in F&O (it is not "
                        "re-queued: it exists)")


async def _look(call: Any) -> Any:
    """A read made to find out what a lost answer did: None if it fails too."""
    try:
        return await call
    except ConnectorError:
        return None


def _number(value: Decimal) -> float | int:
    """A decimal as a JSON number (F&O takes Edm.Decimal as a number, §3.4)."""
    return int(value) if value == value.to_integral_value() else float(value)


#: What `$metadata` said, by environment URL: read once a process (tens of MB on a real one).
_METADATA: dict[str, Metadata] = {}

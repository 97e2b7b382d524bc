"""NetSuite's writer: what the REST record service lets the console change
(docs/vendors/netsuite.md §6, docs/shopify-netsuite-mapping.md "Writes").

Fix reference: PATCH the link field of a return document. NetSuite documents no ETag or
If-Match (§6.2), so the concurrency check is ours: read the record's `lastModifiedDate` just
before, compare it with the one the operator's decision was based on, PATCH at once, read
again (the race between the read and the PATCH is NetSuite's to close, and the preview says
so). A PATCH answered by a 5xx or not at all may have been made: the record is read, never
sent again blindly.

Re-queue a credit: what NetSuite's Refund button does, over REST: transform the return
authorization into a credit memo (§5.2, `!transform/creditMemo`, 204 and the new record's
`Location`); NetSuite fills its lines from the authorization, crediting what was received
(§5.1). Only from an approved authorization that has received goods; the credit carries the
return's link and an external id made from it, which NetSuite keeps unique per record type,
so a second attempt finds the first (`eid:`, §6.1) instead of making another: synchronous
writes take no idempotency key (§6.3). Saved, a credit memo is final (no drafts).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ...connectors.errors import (
    AmbiguousResultError,
    ConflictError,
    ConnectorError,
    NetworkError,
    NotFoundError,
    NotSentError,
    RefusedError,
    RequestError,
    ServerError,
)
from ...domain.postings import CreditRequest, ReceiptRequest, RecordRef, WriteResult
from . import queries as q
from .connector import NetSuiteConnector
from .mapping import SYSTEM, ra_state
from .records import NsDocument

RECORDS = "/services/rest/record/v1"
#: The document types whose link the console may change (REST record ids, §4.1).
LINKED = frozenset({"returnAuthorization", "creditMemo", "cashRefund", "itemReceipt",
                    "salesOrder"})
#: Make a typo'd field name fail instead of being ignored (§6.1).
VALIDATE = {"X-NetSuite-PropertyNameValidation": "error"}
CENT = Decimal("0.01")
#: Item types an item receipt receives (§4.3: inventory); any other line is credited whole.
_RECEIVABLE = frozenset({"invtpart", "assembly", "kit", "lotnumberedinventoryitem",
                         "serializedinventoryitem"})
#: Item types a re-queued receipt receives: stock items, one receipt line each (a kit may
#: be received as its members, which would number the receipt's lines otherwise).
_RECEIPT_TYPES = frozenset({"invtpart", "assembly"})
#: externalId allows letters, digits, `_` and `-` (§6.1).
_EXTERNAL_ID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def open_writer(connector: NetSuiteConnector) -> NetSuiteWriter:
    return NetSuiteWriter(connector)


class NetSuiteWriter:
    system = SYSTEM

    def __init__(self, connector: NetSuiteConnector) -> None:
        self.connector = connector
        self.http = connector.http
        self.link_field = connector.settings.link_field
        self.link_label = self.link_field

    # -- what a raw record says ----------------------------------------------------------

    def link_of(self, record: Mapping[str, Any]) -> str | None:
        """The link a record carries: a document as the read kept it (`link`), or a
        record as the REST service sends it (its link field)."""
        value = record.get("link", record.get(self.link_field))
        return value if isinstance(value, str) else None

    def token_of(self, record: Mapping[str, Any]) -> str | None:
        """Its `lastModifiedDate` (from SuiteQL's text or the REST record), as ISO 8601."""
        value = record.get("lastModifiedDate", record.get("lastmodifieddate"))
        moment = _moment(value)
        return _iso(moment) if moment else None

    def credit_steps(self) -> tuple[str, ...]:
        return ("made from the return authorization, as its Refund button makes it: "
                "NetSuite fills the lines and amounts from it (what was received), not from "
                "the lines above; saved, the credit memo is final; the next check compares "
                "it with the refund",)

    def reverse_hint(self, action: str, number: str | None) -> str:
        if action == "requeue_posting":
            return (f"A credit memo is not undone automatically: delete credit memo "
                    f"{number or '?'} in NetSuite (a voided one keeps its external id, and a "
                    "later re-queue of the return is refused).")
        return (f"NetSuite writes are not undone automatically: set the record's "
                f"{self.link_field} back in NetSuite, or fix the reference again here.")

    # -- reading -------------------------------------------------------------------------

    def _path(self, ref: RecordRef) -> str:
        if ref.system != SYSTEM or ref.entity not in LINKED or not ref.id.isdigit():
            raise ValueError(f"{ref} is not a NetSuite document the console can change")
        return f"{RECORDS}/{ref.entity}/{ref.id}"

    async def get_record(self, ref: RecordRef) -> dict:
        """The record as NetSuite holds it now (REST, always read in edit mode, §1.4)."""
        response = await self.http.request("GET", self._path(ref))
        body = self.http.decode(response)
        if not isinstance(body, dict):
            raise RefusedError(SYSTEM, f"{ref.entity} {ref.id}: the record service sent no "
                               "record")
        return body

    async def credits_for(self, link: str) -> list[WriteResult]:
        """The live credit memos and cash refunds carrying `link` now, or the external id
        a re-queue of it gives (SuiteQL; voided ones left out)."""
        rows = await self.connector._all(q.credits_for(
            self.connector.settings.link_column, link, credit_external_id(link)))
        out = []
        for row in rows:
            text = str(row.get("statustext") or "")
            if row.get("status") == "V" or "void" in text.casefold():
                continue
            out.append(WriteResult(record_id=str(row.get("id") or ""),
                                   number=row.get("tranid") or None, status=text or None,
                                   final=True))
        return out

    # -- fix reference -------------------------------------------------------------------

    def _checked(self, link: str) -> str:
        text = link.strip()
        if not text:
            raise ValueError("the new link is empty")
        if self.link_field == "externalId" and not set(text) <= _EXTERNAL_ID:
            raise ValueError(f"{text!r} is not a NetSuite external id (letters, digits, _ "
                             "and - only)")
        return text

    def describe_set_link(self, ref: RecordRef, etag: str | None, link: str) -> dict:
        notes = [
            "NetSuite documents no ETag (If-Match): lastModifiedDate is read just before "
            "sending" + (f" and compared with {etag}" if etag else "")
            + "; the record is read again after"]
        return {"method": "PATCH", "path": self._path(ref),
                "headers": {"Content-Type": "application/json", **VALIDATE},
                "body": {self.link_field: self._checked(link)}, "notes": notes}

    async def set_link(self, ref: RecordRef, etag: str | None, link: str) -> WriteResult:
        """Set the record's link field, only if unchanged since `etag` (its
        lastModifiedDate as read). ConflictError (with the record now) when it changed."""
        request = self.describe_set_link(ref, etag, link)
        now = await self.get_record(ref)
        if etag is not None and _moment(now.get("lastModifiedDate")) != _moment(etag):
            number = now.get("tranId") or ref.id
            raise ConflictError(
                SYSTEM, f"{ref.entity} {number} changed in NetSuite since it was read "
                f"(lastModifiedDate {now.get('lastModifiedDate')}, read as {etag}); read it "
                "again and confirm", status=409, fresh=now)
        try:
            await self.http.request(request["method"], request["path"],
                                    json_body=request["body"], headers=VALIDATE, write=True)
        except (ServerError, NetworkError):
            # The change may be made unanswered: look, never send it again blindly.
            seen = await _look(self.get_record(ref))
            if seen is not None and seen.get(self.link_field) == request["body"][
                    self.link_field]:
                return self._result(seen)
            raise
        return self._result(await self.get_record(ref))

    def _result(self, record: dict) -> WriteResult:
        status = record.get("status")
        return WriteResult(
            record_id=str(record.get("id") or ""),
            number=record.get("tranId") if isinstance(record.get("tranId"), str) else None,
            etag=self.token_of(record), record=record,
            status=status.get("refName") if isinstance(status, Mapping) else None)

    # -- re-queue: a credit memo transformed from the return authorization ---------------

    def describe_create_credit(self, request: CreditRequest) -> dict:
        """The transform, or ValueError saying what NetSuite needs first (in its words)."""
        source = request.source
        ref = RecordRef.parse(source.raw_ref) if source is not None else None
        if source is None or ref is None or ref.entity != "returnAuthorization":
            raise ValueError(
                "NetSuite makes a credit memo from the return authorization, and NetSuite has "
                f"none for {request.link}: create it there (Authorize Return on the sales "
                "order) with the return's reference, approve it, then re-queue")
        number = source.number or ref.id
        if source.state == "on_hold":
            raise ValueError(
                f"return authorization {number} is pending approval in NetSuite, and a return "
                "can't be credited until it is approved: approve it there, then re-queue")
        if source.state in ("closed", "cancelled"):
            raise ValueError(_not_creditable(number, source.state, source.state))
        # without Advanced Receiving the credit itself receives (§4.3, §5.1)
        if not source.received and self.connector.settings.mapping.advanced_receiving:
            raise ValueError(
                f"NetSuite credits only what was received, and nothing is received on return "
                f"authorization {number} yet: receive it there (Receive), then re-queue")
        self._path(ref)  # a document the console may write to (raises ValueError if not)
        body: dict[str, Any] = {"externalId": credit_external_id(request.link)}
        if self.link_field != "externalId":
            body[self.link_field] = request.link
        return {"method": "POST",
                "path": f"{RECORDS}/returnAuthorization/{ref.id}/!transform/creditMemo",
                "headers": {"Content-Type": "application/json", **VALIDATE}, "body": body,
                "notes": [
                    f"return authorization {number} is read first: sent only while it is "
                    "approved and still carries the return's reference",
                    f"externalId {body['externalId']} is looked up first (eid:): NetSuite "
                    "keeps external ids unique, so a credit made once is found, never made "
                    "twice",
                    "NetSuite fills the lines and amounts from the return authorization "
                    "(what was received, at its rates, tax as NetSuite computes it): read "
                    "first, and not sent where that is more than the platform refunded"]}

    async def create_credit(self, request: CreditRequest) -> WriteResult:
        """The transform, once NetSuite is seen to allow it and to credit no more than the
        platform refunded. What it made before (the external id) is returned, never made
        again; a voided one is refused."""
        sent = self.describe_create_credit(request)
        source = request.source
        assert source is not None  # describe refuses without one
        ra_ref = RecordRef.parse(source.raw_ref)
        eid = sent["body"]["externalId"]
        made = await self._credit_by_external_id(eid)
        if made is not None:  # made before (another console, or an answer lost)
            return self._credit(made, eid)
        ra, number, said, state = await self._ra_now(ra_ref, source.number or ra_ref.id)
        if state != "open":  # fail closed: only a state known to take a credit
            raise RefusedError(SYSTEM, _not_creditable(number, said or "unknown", state)
                               + "; nothing sent")
        self._carries(ra, number, request.link)
        await self._within_refund(request, ra_ref.id, number)
        try:
            response = await self.http.request(sent["method"], sent["path"],
                                               json_body=sent["body"], headers=VALIDATE,
                                               write=True)
        except (ServerError, NetworkError, RefusedError, RequestError):
            # Made unanswered, or by another console just now (a duplicate external id):
            # look for it, never send it again blindly.
            seen = await _look(self._credit_by_external_id(eid))
            if seen is not None:
                return self._credit(seen, eid)
            raise
        new_id = _id_from_location(response.headers.get("location"))
        record = await _look(self.get_record(RecordRef(SYSTEM, "creditMemo", new_id))) \
            if new_id else None
        record = record or await _look(self._credit_by_external_id(eid))
        if record is None:  # made (NetSuite said so), only not read back: never "failed"
            return WriteResult(record_id=new_id or "", number=None if new_id else
                               f"(external id {eid})", final=True)
        return self._credit(record, eid)

    async def _ra_now(self, ra_ref: RecordRef, number: str
                      ) -> tuple[dict, str, str, str | None]:
        """The RA as NetSuite holds it right before a transform: the record, its number,
        its status as NetSuite says it, and the console's state of it."""
        ra = await self.get_record(ra_ref)
        number = str(ra.get("tranId") or number)
        status = ra.get("status")
        text = str(status.get("refName") or "") if isinstance(status, Mapping) else ""
        letter = str(status.get("id") or "") if isinstance(status, Mapping) else str(
            status or "")
        return ra, number, text or letter, ra_state_of(text, letter)

    def _carries(self, ra: dict, number: str, link: str) -> None:
        """ConflictError where the RA no longer carries `link` (read again and confirm)."""
        carried = self.link_of(ra)
        if _key(carried) != _key(link):
            raise ConflictError(
                SYSTEM, f"return authorization {number} carries {carried or 'no reference'} "
                f"in NetSuite now, not {link}; read it again and confirm",
                status=409, fresh=ra)

    async def _within_refund(self, request: CreditRequest, ra_id: str, number: str) -> None:
        """NetSuite fills the credit from the RA (§5.2): what was received (all of it where
        Advanced Receiving is off: the credit receives; a line that takes no receipt, such
        as a service, in full), at the RA's amounts. RefusedError where that could be more
        than the platform refunded, by item or in value (a fee kept back, a discount, a
        partial refund), or where it cannot be told: money is never created. Fee and
        discount lines are left out (whether they carry over is not documented), so the
        estimate is an upper bound."""
        mapping = self.connector.settings.mapping

        def refuse(why: str) -> RefusedError:
            return RefusedError(SYSTEM, f"{why}: credit it in NetSuite by hand; nothing sent")

        units: dict[str, Decimal] = {}
        value = Decimal(0)
        wanted = {ln.item_no.casefold(): (ln.uom or "").casefold() for ln in request.lines}
        for row in await self.connector._all(q.ra_lines(ra_id)):
            currency = str(row.get("currency") or request.currency)
            if currency.casefold() != request.currency.casefold():
                raise refuse(f"return authorization {number} is in {currency}, the refund in "
                             f"{request.currency}")
            if row.get("mainline") == "T" or row.get("taxline") == "T" or not row.get("item"):
                continue
            item = str(row["item"]).casefold()
            kind = str(row.get("itemtype") or "").casefold()
            if kind in mapping.discount_item_types or item in mapping.fee_items:
                continue  # reduces the credit if it carries over: left out, an upper bound
            quantity, received = _decimal(row.get("quantity")), _decimal(
                row.get("quantityshiprecv"))
            amount, rate = _decimal(row.get("foreignamount")), _decimal(row.get("rate"))
            if quantity is None or (amount is None and rate is None):
                raise refuse(f"a line of return authorization {number} could not be read, so "
                             "what NetSuite would credit is not known")
            receivable = kind in _RECEIVABLE
            if mapping.advanced_receiving and receivable:
                count = abs(received or Decimal(0))
            else:
                count = abs(quantity)
            if not count:
                continue
            value += (abs(amount) * count / abs(quantity) if amount and quantity
                      else abs(rate or Decimal(0)) * count)
            if item in mapping.shipping_items:
                continue  # money, not goods: its value counts, its units do not
            unit = str(row.get("units") or "").casefold()
            if item not in wanted or (unit and wanted[item] and unit != wanted[item]):
                raise refuse(f"return authorization {number} has item {row['item']}"
                             + (f" in {row.get('units')}" if unit else "")
                             + ", which the platform's refund does not have so")
            units[item] = units.get(item, Decimal(0)) + count
        if not units:
            raise RefusedError(SYSTEM, f"nothing is received on return authorization {number} "
                               "in NetSuite now, and it credits only what was received: "
                               "receive it there, then re-queue; nothing sent")
        refunded: dict[str, Decimal] = {}
        for line in request.lines:
            key = line.item_no.casefold()
            refunded[key] = refunded.get(key, Decimal(0)) + line.quantity
        for item, count in sorted(units.items()):
            if count > refunded.get(item, Decimal(0)):
                raise refuse(f"NetSuite would credit {count:f} of item {item} (what return "
                             f"authorization {number} received), the platform refunded "
                             f"{refunded.get(item, Decimal(0)):f}")
        if request.goods is None:
            raise refuse("what the platform refunded for the goods is not known")
        bound = request.goods + request.shipping - request.fees
        if value > bound + CENT / 2:
            raise refuse(f"NetSuite would credit up to {value:f} {request.currency} before "
                         f"tax (return authorization {number}: what was received, at its "
                         f"amounts), the platform refunded {bound:f}")

    async def _credit_by_external_id(self, eid: str) -> dict | None:
        try:
            response = await self.http.request("GET", f"{RECORDS}/creditMemo/eid:{eid}")
        except NotFoundError:
            return None
        body = self.http.decode(response)
        return body if isinstance(body, dict) else None

    def _credit(self, record: dict, eid: str) -> WriteResult:
        """A credit memo found or made: final (NetSuite has no drafts). One voided since is
        not this re-queue's to return: the external id is taken, nothing can be made."""
        status = record.get("status")
        text = str(status.get("refName") or "") if isinstance(status, Mapping) else ""
        letter = str(status.get("id") or "") if isinstance(status, Mapping) else ""
        if letter.upper() == "V" or "void" in text.casefold():
            raise RefusedError(
                SYSTEM, f"credit memo {record.get('tranId') or record.get('id')} with external "
                f"id {eid} is voided in NetSuite, and the id stays taken: delete it there "
                "(or credit by hand there); nothing sent")
        result = self._result(record)
        result.final = True
        return result

    # -- re-queue: an item receipt transformed from the return authorization -----------

    def receipt_steps(self) -> tuple[str, ...]:
        return ("made from the return authorization, as its Receive button makes it: every "
                "line of it named, received or not, Restock ticked only for what the "
                "platform put back on sale (unticked, NetSuite writes the units off)",
                "sent only while every line of the return authorization is open and "
                "unreceived, so the receipt's lines are its lines in order (how a transform "
                "numbers them otherwise is not documented); the receipt is read back after")

    async def receipts_for(self, link: str, ra_id: str | None = None) -> list[WriteResult]:
        """The live item receipts made from an RA carrying `link` now (or from RA `ra_id`),
        or carrying the external id a re-queue gives its receipt (SuiteQL; voided ones left
        out). Each result's `record` holds its `externalId`: whether it is the console's."""
        rows = await self.connector._all(q.receipts_for(
            self.connector.settings.link_column, link, receipt_external_id(link), ra_id))
        return [WriteResult(record_id=str(row.get("id") or ""),
                            number=row.get("tranid") or None,
                            record={"externalId": row.get("externalid")},
                            status=str(row.get("statustext") or "") or None, final=True)
                for row in rows
                if row.get("status") != "V"
                and "void" not in str(row.get("statustext") or "").casefold()]

    def describe_create_receipt(self, request: ReceiptRequest) -> dict:
        """The transform, or ValueError saying what NetSuite needs first (in its words).
        Its lines are the RA's as the check read them, each by its number; the send
        reads them again and sends only while they are still so."""
        source = request.source
        ref = RecordRef.parse(source.raw_ref)
        number = source.number or ref.id
        if ref.entity != "returnAuthorization":
            raise ValueError(f"NetSuite receives against a return authorization, and "
                             f"{number} is not one: receive it in NetSuite")
        if not self.connector.settings.mapping.advanced_receiving:
            raise ValueError("without Advanced Receiving NetSuite's credit memo receives the "
                             "goods: re-queue the credit once the platform refunds")
        if source.state == "on_hold":
            raise ValueError(f"return authorization {number} is pending approval in "
                             "NetSuite, and a return can't be received until it is approved: "
                             "approve it there, then re-queue")
        if source.state in ("closed", "cancelled"):
            raise ValueError(f"return authorization {number} is {source.state} in NetSuite: "
                             "nothing can be received on it")
        for line in request.lines:
            if line.match_by is not None:
                raise ValueError(f"item {line.item_no} is mapped by {line.match_by}, and a "
                                 "NetSuite receipt names items by their record: receive it "
                                 "in NetSuite")
            if line.restocked not in (Decimal(0), line.quantity):
                raise ValueError(
                    f"the platform put {line.restocked:f} of {line.quantity:f} units of item "
                    f"{line.item_no} back on sale, and a NetSuite receipt line has one "
                    "Restock box: receive it in NetSuite, Restock ticked for those units "
                    "alone (split the line there)")
        self._path(ref)  # a document the console may write to (raises ValueError if not)
        read = [_RaLine(line=ln.line_ref, item=ln.item_no, quantity=ln.quantity,
                        received=ln.received_quantity or Decimal(0), units=ln.uom,
                        location=ln.location)
                for ln in request.order_lines]
        # no link field: an item receipt has no PO/Check No. in the docs read, and one sent
        # to a record without it fails under name validation; it is found by its RA
        body: dict[str, Any] = {"externalId": receipt_external_id(request.link)}
        try:
            body["item"] = {"items": self._receipt_items(request, read, number)}
        except _NotSure as exc:
            raise ValueError(f"{exc}: receive it in NetSuite") from None
        return {"method": "POST",
                "path": f"{RECORDS}/returnAuthorization/{ref.id}/!transform/itemReceipt",
                "headers": {"Content-Type": "application/json", **VALIDATE}, "body": body,
                "notes": [
                    f"return authorization {number} and its lines are read first: sent only "
                    "while it is approved, carries the return's reference, and its lines are "
                    "as above, in form order, every one inventory, open and unreceived (they "
                    "are then the receipt's, in order), each received where the platform "
                    "put the goods",
                    f"externalId {body['externalId']} is looked up first, and the receipts "
                    "made from the return authorization: a receipt made once is found, never "
                    "made twice",
                    "field names are checked by NetSuite (X-NetSuite-PropertyNameValidation: "
                    "error): a wrong name fails, never receives the wrong lines",
                    "the receipt's lines are read back and compared with what the platform "
                    "received"]}

    async def create_receipt(self, request: ReceiptRequest) -> WriteResult:
        """The transform as described, once NetSuite is seen to hold the RA as read (its
        lines numbered as the receipt's will be, none received or closed, only inventory).
        One this console made before (its external id) is returned, read back; one made
        otherwise (by hand) is not this write's: NotSentError."""
        sent = self.describe_create_receipt(request)
        ra_ref = RecordRef.parse(request.source.raw_ref)
        eid = sent["body"]["externalId"]
        number = request.source.number or ra_ref.id
        made = await self.receipts_for(request.link, ra_ref.id)
        ours = [m for m in made if m.record.get("externalId") == eid]
        if ours:  # made before by a re-queue (another console, or an answer lost)
            return await self._receipt_checked(request, ours[0].record_id, eid)
        if made:
            found = made[0].number or made[0].record_id
            raise NotSentError(SYSTEM, f"NetSuite has item receipt {found} from return "
                               f"authorization {number} already (not made by a re-queue): "
                               "nothing sent")
        ra, number, said, state = await self._ra_now(ra_ref, number)
        if state != "open":
            raise NotSentError(SYSTEM, f"return authorization {number} is "
                               f"{said or 'in an unknown state'} in NetSuite, not a state the "
                               "console knows can be received: receive it there; nothing sent")
        self._carries(ra, number, request.link)
        now = await self._ra_lines_now(ra_ref.id)
        try:
            items = self._receipt_items(request, now, number)
        except _NotSure as exc:
            raise NotSentError(SYSTEM, f"{exc}: receive it in NetSuite; nothing sent") \
                from None
        if items != sent["body"]["item"]["items"]:
            raise ConflictError(
                SYSTEM, f"the lines of return authorization {number} changed in NetSuite "
                "since they were read; read it again and confirm", status=409, fresh=ra)
        try:
            response = await self.http.request(sent["method"], sent["path"],
                                               json_body=sent["body"], headers=VALIDATE,
                                               write=True)
        except (ServerError, NetworkError, RefusedError, RequestError):
            # made unanswered, or by another console just now: look, never send it again
            seen = await _look(self._receipt_by_external_id(eid))
            if seen is not None:
                return await self._receipt_checked(request, str(seen.get("id")), eid)
            raise
        new_id = _id_from_location(response.headers.get("location"))
        if new_id is None:
            seen = await _look(self._receipt_by_external_id(eid))
            if seen is None:  # made (NetSuite said so), only not found: never "failed"
                return WriteResult(record_id="", number=f"(external id {eid})", final=True)
            new_id = str(seen.get("id"))
        return await self._receipt_checked(request, new_id, eid)

    async def receipt_made(self, link: str) -> WriteResult | None:
        """The item receipt carrying the external id a re-queue of `link` gives (§6.1:
        unique per record type), as NetSuite holds it now; None: none."""
        record = await self._receipt_by_external_id(receipt_external_id(link))
        if record is None:
            return None
        result = self._result(record)
        result.final = True
        return result

    async def _receipt_by_external_id(self, eid: str) -> dict | None:
        try:
            response = await self.http.request("GET", f"{RECORDS}/itemReceipt/eid:{eid}")
        except NotFoundError:
            return None
        body = self.http.decode(response)
        return body if isinstance(body, dict) else None

    async def _ra_lines_now(self, ra_id: str) -> list[_RaLine]:
        """The RA's item lines as NetSuite holds them now, in id order; a line that is
        closed, not inventory or out of form order is kept with what it says (the items
        check refuses it)."""
        out = []
        rows = await self.connector._all(q.ra_lines(ra_id, self.connector.settings.location_key))
        for row in rows:
            if row.get("mainline") == "T" or row.get("taxline") == "T" \
                    or row.get("iscogs") == "T" or not row.get("item"):
                continue
            sequence = _decimal(row.get("linesequencenumber"))
            out.append(_RaLine(
                line=str(row.get("id")), item=str(row["item"]),
                quantity=abs(_decimal(row.get("quantity")) or Decimal(0)),
                received=abs(_decimal(row.get("quantityshiprecv")) or Decimal(0)),
                units=str(row.get("units") or "") or None,
                location=str(row.get("location") or "") or None,
                closed=row.get("isclosed") == "T",
                inventory=str(row.get("itemtype") or "").casefold() in _RECEIPT_TYPES,
                sequence=int(sequence) if sequence is not None else None))
        return out

    def _receipt_items(self, request: ReceiptRequest, lines: list[_RaLine], number: str
                       ) -> list[dict[str, Any]]:
        """Every line of the RA by its number, received or not, as planned; _NotSure where
        the receipt's lines could be numbered otherwise than the RA's (a line received,
        closed, empty or not inventory, numbers not 1 to n in form order), where the RA does
        not hold the units planned, or would receive them elsewhere than the platform put
        them."""
        receive, restock = self.connector.settings.receipt_fields
        if [ln.line for ln in lines] != [str(n) for n in range(1, len(lines) + 1)]:
            raise _NotSure(f"the lines of return authorization {number} are not numbered 1 "
                           f"to {len(lines)} (or it has lines beside the goods, such as fees "
                           "or shipping), so which of them a receipt's line numbers name is "
                           "not certain")
        sequences = [ln.sequence for ln in lines if ln.sequence is not None]
        if len(sequences) == len(lines) and sequences != sorted(sequences):
            raise _NotSure(f"the lines of return authorization {number} are in another order "
                           "on its form than by number, so which of them a receipt's line "
                           "numbers name is not certain")
        by_item: dict[str, list[_RaLine]] = {}
        for ln in lines:
            if not ln.inventory:
                raise _NotSure(f"return authorization {number} has a line of item {ln.item} "
                               "that is not inventory, which a receipt may leave out, and "
                               "then its lines are numbered otherwise")
            if ln.closed or ln.received:
                raise _NotSure(f"a line of return authorization {number} is received or "
                               "closed already")
            if ln.quantity <= 0:
                raise _NotSure(f"a line of return authorization {number} authorises nothing, "
                               "which a receipt leaves out, and then its lines are numbered "
                               "otherwise")
            by_item.setdefault(ln.item.casefold(), []).append(ln)
        out: dict[str, dict[str, Any]] = {
            ln.line: {"line": int(ln.line), receive: False} for ln in lines}
        for want in request.lines:
            found = by_item.get(want.item_no.casefold(), [])
            if len(found) != 1:
                raise _NotSure(f"item {want.item_no} is on {len(found) or 'no'} line"
                               f"{'' if len(found) == 1 else 's'} of return authorization "
                               f"{number}, where the platform received it")
            ln = found[0]
            if out[ln.line][receive]:
                raise _NotSure(f"item {want.item_no} is planned twice for one line of return "
                               f"authorization {number}")
            if ln.units and want.uom and ln.units.casefold() != want.uom.casefold():
                raise _NotSure(f"return authorization {number} has item {want.item_no} in "
                               f"{ln.units}, the platform's units are {want.uom}")
            if want.quantity > ln.quantity:
                raise _NotSure(f"the platform received {want.quantity:f} of item "
                               f"{want.item_no}, return authorization {number} authorises "
                               f"{ln.quantity:f}")
            if ln.location and want.location and ln.location.casefold() \
                    != want.location.casefold():
                raise _NotSure(f"return authorization {number} receives item {want.item_no} "
                               f"at {ln.location}, the platform put it at {want.location}: "
                               "choose the location there")
            out[ln.line] = {"line": int(ln.line), receive: True,
                            "quantity": _number(want.quantity, want.item_no),
                            restock: bool(want.restocked)}
        return list(out.values())

    async def _receipt_checked(self, request: ReceiptRequest, new_id: str, eid: str
                               ) -> WriteResult:
        """The receipt made, read back: its lines must hold what the platform received,
        item by item; AmbiguousResultError (made, not to be sent again) where not."""
        record = await _look(self.get_record(RecordRef(SYSTEM, "itemReceipt", new_id)))
        number = str((record or {}).get("tranId") or new_id)
        try:
            rows = await self.connector._all(q.receipt_lines(new_id))
        except ConnectorError:
            rows = None
        if rows is not None:
            got: dict[str, Decimal] = {}
            for row in rows:
                if row.get("mainline") == "T" or row.get("taxline") == "T" \
                        or row.get("iscogs") == "T" or not row.get("item"):
                    continue
                key = str(row["item"]).casefold()
                got[key] = got.get(key, Decimal(0)) + abs(_decimal(row.get("quantity"))
                                                          or Decimal(0))
            wanted: dict[str, Decimal] = {}
            for line in request.lines:
                key = line.item_no.casefold()
                wanted[key] = wanted.get(key, Decimal(0)) + line.quantity
            if got != wanted:
                said = ", ".join(f"{k} {v:f}" for k, v in sorted(got.items())) or "nothing"
                wrong = AmbiguousResultError(
                    SYSTEM, f"item receipt {number} was made, but it received {said} where "
                    "the platform received " + ", ".join(
                        f"{k} {v:f}" for k, v in sorted(wanted.items()))
                    + ": correct or delete it in NetSuite; do not re-queue")
                wrong.made = number  # type: ignore[attr-defined]  # for the audit row
                raise wrong
        if record is None:
            return WriteResult(record_id=new_id, number=f"(external id {eid})", final=True)
        result = self._result(record)
        result.final = True
        return result

    def describe_post_credit(self, result: WriteResult) -> dict:
        raise ValueError("a NetSuite credit memo is final when saved: nothing to post")

    async def post_credit(self, result: WriteResult, link: str) -> WriteResult:
        return result

    async def aclose(self) -> None:
        await self.connector.aclose()


def credit_external_id(link: str) -> str:
    """The external id a re-queued credit memo gets: made from the link (letters, digits,
    `_` and `-` only, §6.1), with a digest so two links that read alike stay apart. Under
    60 characters (NetSuite's limit is not in the docs read)."""
    text = link.strip()
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40]
    return f"rc-{safe}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass(frozen=True, slots=True)
class _RaLine:
    """A return authorization's item line, as read by the check or by SuiteQL now."""

    line: str
    item: str
    quantity: Decimal
    received: Decimal
    units: str | None = None
    #: Where the line receives (the location's name or id, as the profile names them).
    location: str | None = None
    closed: bool = False
    #: An inventory item (a receipt receives it); the check's read does not say.
    inventory: bool = True
    #: Its place on the form (`linesequencenumber`); the check's read does not say.
    sequence: int | None = None


class _NotSure(Exception):
    """Why the receipt's lines could be read two ways, or the RA lacks what is planned."""


def receipt_external_id(link: str) -> str:
    """The external id a re-queued item receipt gets (as `credit_external_id`)."""
    return "rr" + credit_external_id(link)[2:]


def _number(value: Decimal, item: str) -> int | float:
    """A quantity as a JSON number (NetSuite's REST takes numbers, §6.1); _NotSure where
    a number cannot carry it exactly (a unit factor that does not divide evenly)."""
    if value == value.to_integral_value():
        return int(value)
    if Decimal(repr(float(value))) != value:
        raise _NotSure(f"{value} units of item {item} cannot be sent exactly")
    return float(value)


async def _look_all(read: Any) -> list[WriteResult]:
    try:
        found = await read
    except ConnectorError:
        return []
    return list(found or [])


def ra_state_of(text: str, letter: str) -> str | None:
    """The console's state of an RA by its status text, else its letter (mapping.py)."""
    return ra_state(NsDocument(id="0", type="RtnAuth", statustext=text or None,
                               status=letter or None))[1]


def _not_creditable(number: str, said: str, state: str | None) -> str:
    if state == "on_hold":
        return (f"return authorization {number} is {said} in NetSuite, and a return can't be "
                "credited until it is approved: approve it there, then re-queue")
    if state == "closed":
        return (f"return authorization {number} is {said} in NetSuite: see its Related "
                "Records (Receipts & Refunds) for a credit; credit there by hand if none")
    if state == "cancelled":
        return f"return authorization {number} is {said} in NetSuite: it cannot be credited"
    return (f"return authorization {number} is {said} in NetSuite, not a state the console "
            "knows can be credited: credit it there")


def _key(link: str | None) -> str:
    return (link or "").strip().casefold()


def _decimal(value: Any) -> Decimal | None:
    """A SuiteQL number (text, §3.3); None where absent or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _id_from_location(location: str | None) -> str | None:
    """The new record's internal id from the `Location` NetSuite answers a create with."""
    tail = (location or "").rstrip("/").rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


async def _look(read: Any) -> dict | None:
    try:
        found = await read
    except ConnectorError:
        return None
    return found if isinstance(found, dict) else None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

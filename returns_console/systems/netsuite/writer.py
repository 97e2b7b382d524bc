"""NetSuite's writer: what the REST record service lets the console change
(docs/vendors/netsuite.md §6, docs/shopify-netsuite-mapping.md "Writes").

Fix reference only, so far: PATCH the link field of a return document. NetSuite documents
no ETag or If-Match (§6.2), so the concurrency check is ours: read the record's
`lastModifiedDate` just before, compare it with the one the operator's decision was based
on, PATCH at once, read again (the race between the read and the PATCH is NetSuite's to
close, and the preview says so). A PATCH answered by a 5xx or not at all may have been made:
the record is read, never sent again blindly. Re-queueing a credit (a transform of the
return authorization) is not offered yet: its methods refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...connectors.errors import (
    ConflictError,
    ConnectorError,
    NetworkError,
    RefusedError,
    ServerError,
)
from ...domain.postings import CreditRequest, RecordRef, WriteResult
from .connector import NetSuiteConnector
from .mapping import SYSTEM

RECORDS = "/services/rest/record/v1"
#: The document types whose link the console may change (REST record ids, §4.1).
LINKED = frozenset({"returnAuthorization", "creditMemo", "cashRefund", "itemReceipt",
                    "salesOrder"})
#: Make a typo'd field name fail instead of being ignored (§6.1).
VALIDATE = {"X-NetSuite-PropertyNameValidation": "error"}
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
        return ()

    def reverse_hint(self, action: str, number: str | None) -> str:
        if action == "requeue_posting":
            return (f"A credit memo is not undone automatically: void or delete credit memo "
                    f"{number or '?'} in NetSuite.")
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
        raise RefusedError(SYSTEM, "re-queueing a credit is not offered for NetSuite yet")

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

    # -- re-queue: not offered yet -------------------------------------------------------

    def describe_create_credit(self, request: CreditRequest) -> dict:
        raise ValueError("re-queueing a credit is not offered for NetSuite yet")

    async def create_credit(self, request: CreditRequest) -> WriteResult:
        raise RefusedError(SYSTEM, "re-queueing a credit is not offered for NetSuite yet")

    def describe_post_credit(self, result: WriteResult) -> dict:
        raise ValueError("a NetSuite credit memo is final when saved: nothing to post")

    async def post_credit(self, result: WriteResult, link: str) -> WriteResult:
        return result

    async def aclose(self) -> None:
        await self.connector.aclose()


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

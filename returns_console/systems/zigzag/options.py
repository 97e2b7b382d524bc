"""ZigZag profile options. ZigZag publishes its API's introduction (auth, errors, webhook
retries) but no endpoint reference (docs/vendors/zigzag.md §2): every path, parameter and
field name is an option, each default what public material shows or, where nothing does,
unset, so that the read says which option to set instead of guessing (§9; the mapping doc
lists which is which)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec import SystemOptions, WordList

#: No rate is documented (U21): a conservative two requests a second.
RATE_PER_SECOND = 2.0


class ZigZagOptions(SystemOptions):
    retailer_code: str = Field(min_length=1, pattern=r"^[\w.-]+$", description=(
        "Your retailer code at ZigZag (every public request body carries one, e.g. GL123)"))
    retailer_param: str = Field("retailerCode", pattern=r"^\w*$", description=(
        "The query parameter the retailer code goes in on a read (empty: not sent); where "
        "ZigZag wants it is not published (U4)"))
    token_path: str = Field("/Return/api/v1/Account/Token", pattern=r"^/\S*$", description=(
        "Where the username and password get a JWT (POST, JSON body): ZigZag's docs say "
        "POST /token, public code posts here (U3)"))
    token_ttl_seconds: int = Field(1800, ge=60, le=86400, description=(
        "How long a token lasts (documented: 30 minutes); a 401 gets a new one at once"))
    returns_list_path: str = Field("", pattern=r"^(/\S*)?$", description=(
        "The path that lists returns (GET). ZigZag has not published it (U5): ask ZigZag, "
        "and set it; unset, a read says so and reads nothing"))
    return_get_path: str = Field("", pattern=r"^(/\S*\{id\}\S*)?$", description=(
        "The path that reads one return, with {id} (GET; U5): a webhook names a return to "
        "read again by it; unset, the next read of the list finds the change"))
    paging: Literal["none", "page", "cursor"] = Field("none", description=(
        "How the list pages (U6): none (one answer), page (a page number), or cursor"))
    page_param: str = Field("page", pattern=r"^\w+$", description="The page number parameter")
    first_page: int = Field(1, ge=0, le=1, description=(
        "The first page's number (0 or 1: not published)"))
    size_param: str = Field("pageSize", pattern=r"^\w*$", description=(
        "The page size parameter (empty: not sent)"))
    page_size: int = Field(50, ge=1, le=1000, description="Returns a page (U6)")
    max_pages: int = Field(200, ge=1, le=100_000, description=(
        "The most pages a read follows (a list that never ends is cut, and the read says so)"))
    cursor_param: str = Field("cursor", pattern=r"^\w+$", description=(
        "The cursor parameter (paging cursor)"))
    cursor_field: WordList = Field(("nextCursor", "cursor", "next"), description=(
        "Where an answer gives the next cursor (the first present)"))
    updated_since_param: str = Field("", pattern=r"^\w*$", description=(
        "The parameter that asks for returns changed since a moment (U7); unset: every "
        "read reads the whole list"))
    list_field: WordList = Field(("returns", "items", "data", "results", "value"),
                                 description=(
        "Where a list answer keeps its returns, when it is not a bare list (the first "
        "present; U8)"))
    field_return_id: WordList = Field(("returnId", "ReturnId", "id"), description=(
        "The return's id field, the first present (U8)"))
    field_order: WordList = Field(("orderNumber", "OrderNumber"), description=(
        "The order number field (U8)"))
    field_status: WordList = Field(("status", "returnStatus", "Status"), description=(
        "The status field (U8)"))
    field_lines: WordList = Field(("products", "items", "lines", "returnItems"),
                                  description="The return's lines (U8)")
    field_sku: WordList = Field(("productSku", "sku", "SKU"), description=(
        "A line's SKU (U8)"))
    field_quantity: WordList = Field(("quantity", "Quantity"), description=(
        "A line's quantity (U8)"))
    field_reason: WordList = Field(("returnReasonId", "reasonId", "reason"), description=(
        "A line's return reason (U8)"))
    field_email: WordList = Field(("email", "customerEmail"), description=(
        "The customer's e-mail (U8)"))
    field_created: WordList = Field(("createdAt", "createdDate", "dateCreated"),
                                    description="When the return was made (U8, U16)")
    field_updated: WordList = Field(("updatedAt", "lastUpdated", "dateUpdated"),
                                    description=(
        "When its status last changed (U8, U16): the current status's stage is dated by it"))
    refunded_means_received: bool = Field(True, description=(
        "A Refunded return had its goods received first (ZigZag's flow: Received unlocks "
        "the refund); false where gift cards are issued at label time, before the goods "
        "are back (U12)"))
    webhook_header: str = Field("Authorization", pattern=r"^[\w-]+$", description=(
        "The header ZigZag's webhooks carry the agreed secret in (U19: no signature is "
        "documented); the secret is `listen`'s webhook_secret"))

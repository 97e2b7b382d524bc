"""Dynamics 365 Finance & Operations profile options: the environment, its Entra app and
legal entity, and the facts the docs leave to each installation, each a documented default
(docs/vendors/d365-fo.md §11, docs/d365fo-mapping.md)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..spec import SystemOptions, WordList

#: Server-driven paging serves at most this many records a page (§3.2).
MAX_PAGE = 10_000


class FoOptions(SystemOptions):
    tenant: str = Field(min_length=1, description=(
        "Entra tenant id or domain the environment belongs to (tokens come from it, §2.2)"))
    client_id: str = Field(min_length=1, description=(
        "Entra app registration (client) id, listed in F&O under System administration > "
        "Setup > Microsoft Entra applications with a service user"))
    company: str = Field(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9_-]+$",
                         description=(
        "The legal entity (dataAreaId, e.g. usmf) whose returns are read: every read sends "
        "cross-company=true with a dataAreaId filter (§1.2)"))
    token_url: str = Field("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                           description="Where tokens come from ({tenant} is replaced)")
    scope: str = Field("", description=(
        "OAuth scope (empty: the environment URL, lower case, without a trailing slash, "
        "+ /.default: F&O refuses a token for another audience, §2.2)"))
    return_sync_mode: Literal["open_plus_recent", "full"] = Field(
        "open_plus_recent", description=(
            "How a refresh reads (return orders carry no change stamp): open_plus_recent "
            "reads the return orders still open, the lines closed and credit notes dated "
            "since the last read, and lays them over it (anything it cannot bring up to "
            "date is read whole); full reads everything every time"))
    closed_lookback_days: int = Field(30, ge=1, le=366, description=(
        "How far back a refresh reads credit notes (U19): a posting dated back into the "
        "month is still seen"))
    page_size: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE, description=(
        "Records a page (Prefer: odata.maxpagesize): 10,000 is the documented maximum"))
    history_days: int = Field(365, ge=1, description=(
        "How far back return orders (by deadline) and credit notes (by invoice date) are "
        "read: return orders carry no created or modified date (§5.2)"))
    link_field: Literal["CustomersOrderReference", "CustomerRequisitionNumber"] = Field(
        "CustomersOrderReference", description=(
            "The return order header field that carries the platform's return reference "
            "(Customer reference, or Customer requisition)"))
    order_field: Literal["CustomerRequisitionNumber", "CustomersOrderReference", "none"] = \
        Field("CustomerRequisitionNumber", description=(
            "The header field that carries the web order's reference (none: not kept)"))
    link_max_len: int = Field(20, ge=1, le=255, description=(
        "The longest reference the link field takes (not documented, U14): a longer one is "
        "refused, never cut short"))
    max_concurrency: int = Field(4, ge=1, le=20, description=(
        "Requests in flight at once (user-based limits are gone since 10.0.36; resource "
        "limits answer 429 with Retry-After, §4)"))
    reason_entity: str = Field("ReturnReasonCodeBiEntities", pattern=r"^\w+$", description=(
        "The entity set return reason codes are read from (none: reasons are not checked)"))
    customer_block_values: WordList = Field(("All", "Invoice"), description=(
        "Customer OnHoldStatus members that stop a credit note (U24)"))
    item_blocked_flags: WordList = Field(
        ("IsSalesProcessingStopped", "IsInventoryProcessingStopped"), description=(
            "Default order settings flags that block an item for returns (U23)"))

    @field_validator("company")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()  # F&O sends dataAreaId in lower case (§1.2)

    @field_validator("item_blocked_flags")
    @classmethod
    def _flags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for flag in value:
            if not re.fullmatch(r"Is\w+", flag):
                raise ValueError(f"{flag!r} is not a default order settings flag (Is...)")
        return value

    @model_validator(mode="after")
    def _refreshes_are_read_whole_now_and_then(self) -> FoOptions:
        if self.return_sync_mode == "open_plus_recent" and not self.full_read_hours:
            # a closed return order edited or deleted shows only in a full read
            raise ValueError("return_sync_mode open_plus_recent needs full_read_hours above "
                             "0: a closed return order edited or deleted since is seen only "
                             "when everything is read (or set return_sync_mode full)")
        return self

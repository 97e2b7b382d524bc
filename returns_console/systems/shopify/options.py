"""Shopify profile options: what the Admin API needs to be reached, and the facts its docs
leave open (each a documented default; docs/shopify-netsuite-mapping.md, "Options")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec import SystemOptions, WordList


class ShopifyOptions(SystemOptions):
    api_version: str = Field("2026-07", pattern=r"^\d{4}-\d{2}$", description=(
        "The Admin API version every request names (Shopify supports each about a year)"))
    history_days: int = Field(60, ge=1, description=(
        "How far back a full read goes (orders older than 60 days need the "
        "read_all_orders scope)"))
    watermark_overlap_minutes: int = Field(60, ge=0, description=(
        "A refresh reads again from this long before its cursor (a change to a return may "
        "not move its order's updatedAt: the docs do not say)"))
    restock_evidence: Literal["disposition_then_refund_line", "disposition",
                              "refund_line"] = Field(
        "disposition_then_refund_line", description=(
            "Where restocking is read: RESTOCKED dispositions where the return has reverse "
            "fulfillment, else refund lines with restockType RETURN"))
    disposition_final_types: WordList = Field(
        ("RESTOCKED", "NOT_RESTOCKED", "MISSING"), description=(
            "Disposition types that end a unit's inspection (PROCESSING_REQUIRED does not)"))
    location_key: Literal["name", "id"] = Field("name", description=(
        "How a location is named to the mapping table: its name (unique among the shop's "
        "active locations) or its id (gid://shopify/Location/..., survives a rename)"))
    authorised_at: Literal["approval", "request"] = Field("approval", description=(
        "When a return counts as authorised, so NetSuite's (or the ERP's) return document is "
        "due: at the merchant's approval (a REQUESTED return awaits it), or at the request "
        "(for an integration that makes it as soon as the customer asks)"))
    condition_source: Literal["none", "disposition_type"] = Field("none", description=(
        "Shopify grades no condition: `disposition_type` lets a line's last final "
        "disposition (RESTOCKED, NOT_RESTOCKED, MISSING) stand for it, keying the "
        "disposition mapping table, so DISPOSITION_UNMAPPED and "
        "DISPOSITION_LOCATION_WRONG can be seen"))
    bulk_full_read: Literal["auto", "always", "never"] = Field("auto", description=(
        "A full read finds its returns through a bulk operation (the orders, their returns "
        "and their lines in one export the rate limit does not pace; about a third of the "
        "read's points): `auto` when that saves at least bulk_min_saving_s seconds at the "
        "store's rate, `always`, or `never`"))
    bulk_min_saving_s: float = Field(60.0, ge=0, description=(
        "Seconds of rate limit a bulk operation must save before `auto` starts one: what "
        "an export's start, polls and Shopify's export time are taken to cost (60 s: about "
        "400 orders on Standard, 4,000 on Plus, 8,000 on Enterprise)"))
    bulk_max_wait_s: float = Field(180.0, gt=0, description=(
        "How long a bulk operation may run before it is cancelled and the read goes the "
        "paged way (keep it under the command's deadline)"))

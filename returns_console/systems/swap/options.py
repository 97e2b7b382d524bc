"""Swap Commerce profile options: what the API needs to be reached, and the facts its docs
leave open (each a documented default; docs/swap-bc-mapping.md says why)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec import SystemOptions, WordList


class SwapOptions(SystemOptions):
    store: str = Field(min_length=1, description="Swap store id (e.g. store_123abc)")
    api_version: int = Field(1, ge=1, le=2, description=(
        "1: /v1/external/returns (1-50 a page); 2: /v2 with last_RMA_updated_date (up to 100)"))
    items_per_page: int | None = Field(None, ge=1, le=100, description=(
        "Returns per page (empty: the version's maximum)"))
    history_days: int = Field(365, ge=1, description=(
        "How far back returns are read, by submission date (from_date in v1, on every read; "
        "from_return_submission_date in v2, on a full read, which Swap documents only for "
        "dates after 1 August): an older return is not set against an ERP read over the "
        "same window"))
    default_location: str | None = Field(None, description=(
        "Where goods go when the record does not say (v1 names no destination)"))
    reason_key: Literal["main_reason_id", "main_reason_text"] = Field(
        "main_reason_id", description="Which product field keys the reason mapping table")
    qc_done: WordList = Field(("Completed", "Passed", "Failed", "Done"), description=(
        "quality_control_status values that mean inspected (Swap does not publish them)"))
    refund_types: WordList = Field(("Refund", "Shop Now Credit", "Shop Later Credit"),
                                   description="Return types whose lines are paid back")
    exchange_types: WordList = Field(("Exchange", "Additional Payment"), description=(
        "Return types whose lines are replaced by another item"))
    pending_statuses: WordList = Field(("Needs Review",), description=(
        "return_status values that await the merchant's decision (Swap lists Needs Review "
        "without defining it): such a return is not yet approved, so nothing is expected "
        "of the ERP and nothing is re-queued for it"))
    instant_credit_types: WordList = Field((), description=(
        "Types whose store credit Swap issues at request (read as credited from the request)"))

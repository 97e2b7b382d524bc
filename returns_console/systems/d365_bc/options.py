"""Business Central profile options: the tenant and app registration to reach it, and the
facts its docs leave to each company (fee and shipping items, the link's pattern)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ..spec import SystemOptions, WordList


class BcOptions(SystemOptions):
    tenant: str = Field(min_length=1, description="Entra tenant id or domain")
    environment: str = Field(min_length=1, description="BC environment name (e.g. production)")
    client_id: str = Field(min_length=1, description="Entra app registration (client) id")
    company: str = Field("", description="Company id or name (empty: the only company there)")
    token_url: str = Field("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                           description="Where tokens come from ({tenant} is replaced)")
    scope: str = Field("https://api.businesscentral.dynamics.com/.default",
                       description="OAuth scope of the BC API")
    page_size: int = Field(20000, ge=1, le=20000, description=(
        "Records a page (Prefer: odata.maxpagesize): BC's documented maximum, 20,000, "
        "unless a smaller one is wanted"))
    history_days: int = Field(365, ge=1, description=(
        "How far back sales invoices and replacement orders are read"))
    local_currency: str = Field("GBP", min_length=3, max_length=3, description=(
        "The company's local currency (BC leaves currencyCode empty for it)"))
    fee_items: WordList = Field(("FEE-RETURN",), description=(
        "Service items whose credit memo lines are fees"))
    shipping_items: WordList = Field(("SHIPPING",), description=(
        "Service items whose credit memo lines are shipping"))
    link_pattern: str = Field("", description=(
        "Regular expression a return's link must match (empty: any non-empty value)"))
    concurrency: int = Field(5, ge=1, le=20, description=(
        "Requests in flight at once (BC serves 5 per user and queues the rest)"))

    @field_validator("link_pattern")
    @classmethod
    def _a_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

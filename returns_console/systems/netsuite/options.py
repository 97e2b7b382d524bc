"""NetSuite profile options: the account and its OAuth 2.0 machine-to-machine integration,
and the facts the docs leave to each account (each a documented default;
docs/vendors/netsuite.md §10, docs/shopify-netsuite-mapping.md "NetSuite")."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..spec import SystemOptions, WordList

#: SuiteQL page size: Oracle's default and the most a page holds (netsuite.md §3.2).
MAX_PAGE = 1000


class NetSuiteOptions(SystemOptions):
    account_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$", description=(
        "The account id (e.g. 1234567 or 1234567_SB1 for a sandbox): the OAuth realm"))
    auth: Literal["m2m", "tba"] = Field("m2m", description=(
        "How the console signs in: m2m (OAuth 2.0 client credentials, a JWT signed by the "
        "certificate's key: secret private_key) or tba (Token-Based Authentication, OAuth "
        "1.0a HMAC-SHA256, for an existing integration: secrets consumer_key, "
        "consumer_secret, token_id, token_secret)"))
    client_id: str = Field("", description=(
        "The integration record's client id (the JWT's issuer); auth m2m needs it"))
    certificate_id: str = Field("", description=(
        "The certificate id NetSuite gave when the certificate was mapped (the JWT's kid); "
        "auth m2m needs it"))
    token_url: str = Field("", description=(
        "The token endpoint (empty: <url>/services/rest/auth/oauth2/v1/token)"))
    scope: str = Field("rest_webservices", description=(
        "The JWT's scope claim: rest_webservices (SuiteQL and records), comma-separated"))
    link_field: str = Field("otherRefNum", description=(
        "The return authorization's body field that carries the platform's return "
        "reference: otherRefNum (PO/Check No.), externalId, or a custom custbody_ field"))
    history_days: int = Field(365, ge=1, description=(
        "How far back return authorizations, receipts and credits are read (by trandate)"))
    incremental_overlap_s: int = Field(300, ge=0, le=86400, description=(
        "A refresh reads the documents and customers modified since a little before the "
        "last one it saw: lastmodifieddate has a resolution of a second, and a document "
        "saved during a read may carry a stamp before it"))
    bound_parameters: bool = Field(True, description=(
        "Send the values of a SuiteQL query as bound parameters, which REST SuiteQL takes "
        "from NetSuite 2026.2; false for an account on an earlier release: they are "
        "written into the query as quoted literals"))
    page_size: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE, description=(
        "Rows a SuiteQL page holds: 1,000 is the documented maximum"))
    max_concurrency: int = Field(2, ge=1, le=20, description=(
        "Requests in flight at once: the account's concurrency limit is shared by every "
        "integration (5 on a development account), so leave it headroom"))
    advanced_receiving: bool = Field(True, description=(
        "The account receives returns with item receipts (the Advanced Receiving feature); "
        "false: the credit memo or cash refund made from the RA receives the goods"))
    receipt_receive_field: str = Field("itemReceive", pattern=r"^\w+$", description=(
        "The REST name of an item receipt line's Receive box (not in Oracle's pages: see "
        "the account's metadata catalog); a wrong name makes a re-queued receipt fail, "
        "never receive the wrong lines"))
    receipt_restock_field: str = Field("restock", pattern=r"^\w+$", description=(
        "The REST name of an item receipt line's Restock box (not in Oracle's pages); a "
        "re-queued receipt always sends it, so its default never decides"))
    inspection_evidence: Literal["receipt", "none"] = Field("receipt", description=(
        "NetSuite decides each unit's fate on the item receipt (its Restock box): "
        "`receipt` counts the receipt as the inspection, `none` reads no inspection"))
    fee_items: WordList = Field(("FEE-RETURN",), description=(
        "Items whose credit memo lines are fees the customer pays (restocking, return "
        "shipping)"))
    shipping_items: WordList = Field(("SHIPPING",), description=(
        "Items whose credit memo lines refund shipping"))
    discount_item_types: WordList = Field(("Discount",), description=(
        "Item types whose credit memo lines are discounts"))
    location_key: Literal["name", "id"] = Field("name", description=(
        "How a location is named to the mapping table: its name or its internal id (the "
        "docs do not say names are unique)"))
    reason_list: str = Field("customlist_return_reason", pattern=r"^\w+$", description=(
        "The custom list return reasons are kept in (NetSuite has no standard one): its "
        "script id, read as a SuiteQL table; `none`: reasons are not checked"))
    ignored_item_types: WordList = Field(
        ("Subtotal", "Description", "Group", "EndGroup", "Payment"), description=(
            "Item types whose lines carry neither goods nor money of their own"))
    local_currency: str = Field("GBP", min_length=3, max_length=3, description=(
        "The currency of a document whose currency cannot be read"))

    @model_validator(mode="after")
    def _m2m_names_its_certificate(self) -> NetSuiteOptions:
        missing = [n for n in ("client_id", "certificate_id")
                   if self.auth == "m2m" and not getattr(self, n).strip()]
        if missing:  # named like any required option (config.option_problems)
            raise PydanticCustomError("missing", "auth m2m needs {options}",
                                      {"options": " ".join(missing)})
        return self

    @field_validator("link_field")
    @classmethod
    def _a_field(cls, value: str) -> str:
        if not re.fullmatch(r"otherRefNum|externalId|custbody\w+", value):
            raise ValueError("give otherRefNum, externalId or a custbody_ field")
        return value

    @property
    def link_column(self) -> str:
        """The SuiteQL column of the link field (column names are lower-case, §3.3)."""
        return self.link_field.lower()

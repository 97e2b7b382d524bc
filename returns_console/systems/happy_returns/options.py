"""Happy Returns profile options: the retailer a key is scoped to, and the facts the public
docs leave open, each a documented default (docs/vendors/happy-returns.md §10,
docs/happy-returns-mapping.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec import SystemOptions

#: The leaky bucket's documented rate (§3): 0.5 requests a second, one bucket per key.
RATE_PER_SECOND = 0.5


class HappyReturnsOptions(SystemOptions):
    retailer_id: str = Field(min_length=1, pattern=r"^[\w.-]+$", description=(
        "The retailer's Happy Returns id (retailerID, e.g. modern-retailer): one key may "
        "serve several retailers; deliveries for another are ignored"))
    link_ref: Literal["auto", "happyReturnsExpressCode", "externalRMAID",
                      "happyReturnsReturnID"] = Field("auto", description=(
        "Which Happy Returns reference the ERP's return documents carry: auto pairs an ERP "
        "document carrying any of the express code, the external RMA id or the return id"))
    signature_scheme: Literal["hmac_sha256_hex", "hmac_sha256_base64", "none"] = Field(
        "hmac_sha256_hex", description=(
            "How X-Hr-Signature is made (its algorithm is not in the public docs): an "
            "HMAC-SHA256 of the raw body with the webhook secret, hex or base64; none keeps "
            "deliveries unverified"))
    approved_credits: bool = Field(True, description=(
        "A return approved for a refund counts as refunded on the platform side (Happy "
        "Returns initiates the refund through the store; its amount is not in Happy Returns' "
        "payloads, so money is compared by the ERP and the store)"))
    lookup_path: str = Field("/return", pattern=r"^/[\w/-]*$", description=(
        "The Get Return Details path (POST; not in the stored docs, as public integrations "
        "use it)"))

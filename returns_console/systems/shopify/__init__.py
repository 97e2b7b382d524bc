"""Shopify: a returns platform on the GraphQL Admin API (docs/vendors/shopify.md,
docs/shopify-netsuite-mapping.md). This module only declares the system; its connector and
simulator are imported when used."""

from __future__ import annotations

from ...domain.codes import Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import ShopifyOptions

SPEC = SystemSpec(
    id="shopify",
    name="Shopify",
    side=Side.PLATFORM,
    summary="returns platform; GraphQL Admin API, cost-based throttling, "
            "X-Shopify-Access-Token",
    options=ShopifyOptions,
    secrets=("access_token",),
    # the app's client secret signs webhooks; the previous one while a rotation takes effect
    listen_secrets=("webhook_secret", "webhook_secret_previous"),
    capabilities=Capabilities(
        reads=(ReadShape.PULL, ReadShape.HINTS),
        incremental=True,
        stages=frozenset({Stage.AUTHORISED, Stage.IN_TRANSIT, Stage.RECEIVED, Stage.INSPECTED,
                          Stage.CREDITED, Stage.EXCHANGED, Stage.RESTOCKED}),
        facts=frozenset({"platform_location", "platform_restock", "platform_in_transit",
                         "platform_inspection_queue", "platform_money", "platform_received",
                         "platform_exchange", "platform_restock_by_line"}),
        concurrency=2,
        # pages are sized by the single-query cost limit, not a page maximum (queries.py)
        max_page_size=None,
    ),
    connector=f"{__name__}.factory:open_connector",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "reverseFulfillmentOrders", "returnLineItems", "refundLineItems", "restockType",
        "X-Shopify-Access-Token", "PROCESSING_REQUIRED", "NOT_RESTOCKED",
        "requestApprovedAt", "shopMoney",
        # the orders search's filter (§2.2); Swap's API has a field of the same name
        "return_status",
    }),
)

"""Swap Commerce: a returns platform with a paged external returns API (docs/vendors/
swap-commerce.md). This module only declares the system; its connector and simulator are
imported when used."""

from __future__ import annotations

from ...domain.codes import Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import SwapOptions

SPEC = SystemSpec(
    id="swap",
    name="Swap Commerce",
    side=Side.PLATFORM,
    summary="returns platform; external returns API v1/v2, paged, x-api-key",
    options=SwapOptions,
    secrets=("api_key",),
    capabilities=Capabilities(
        reads=(ReadShape.PULL,),
        incremental=True,
        keyed_reads=True,
        stages=frozenset({Stage.AUTHORISED, Stage.IN_TRANSIT, Stage.RECEIVED,
                          Stage.INSPECTED, Stage.CREDITED, Stage.EXCHANGED}),
        facts=frozenset({"platform_location", "platform_condition", "platform_in_transit",
                         "platform_money", "platform_received", "platform_exchange"}),
        concurrency=4,
        max_page_size=100,
    ),
    page_option="items_per_page",
    connector=f"{__name__}.factory:open_connector",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "rma_number", "date_updated", "shopify_order_name", "return_status",
        "delivery_status", "quality_control_status", "main_reason_id", "main_reason_text",
        "Shop Now Credit", "Shop Later Credit", "store_northwind",
    }),
)

"""Happy Returns (a UPS company): a returns platform with no list endpoint, read from its
webhooks and looked up one return at a time (docs/vendors/happy-returns.md,
docs/happy-returns-mapping.md). This module only declares the system; its connector and
simulator are imported when used."""

from __future__ import annotations

from ...domain.codes import Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import RATE_PER_SECOND, HappyReturnsOptions

SPEC = SystemSpec(
    id="happy_returns",
    name="Happy Returns",
    side=Side.PLATFORM,
    summary=("returns platform; return.asn webhooks into the inbox, Get Return Details "
             "look-ups (X-Hr-Apikey, 0.5 requests a second)"),
    options=HappyReturnsOptions,
    secrets=("api_key",),
    listen_secrets=("webhook_secret",),
    capabilities=Capabilities(
        reads=(ReadShape.EVENTS, ReadShape.LOOKUP),
        # started, dropped off, approved for a refund, expired (§4.1); nothing of the
        # goods reaching the retailer, no money (§5.5), no exchange (U25)
        stages=frozenset({Stage.AUTHORISED, Stage.IN_TRANSIT, Stage.INSPECTED,
                          Stage.CREDITED}),
        # a drop-off is the last it knows of the parcel: it cannot show one still on its
        # way after weeks (platform_in_transit: a carrier leg that stays open)
        facts=frozenset(),
        rate_per_second=RATE_PER_SECOND,
        burst=1,
        concurrency=1,
    ),
    connector=f"{__name__}.factory:open_connector",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "X-Hr-Apikey", "X-Hr-Signature", "happyReturnsReturnID", "happyReturnsExpressCode",
        "externalRMAID", "return_status_updated", "return_dropoff_method_created",
        "orderLineItemID",
    }),
)

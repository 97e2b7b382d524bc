"""ZigZag Global: a returns platform whose API reference is not public
(docs/vendors/zigzag.md, docs/zigzag-mapping.md): its paths and fields are profile options.
This module only declares the system; its connector and simulator are imported when used."""

from __future__ import annotations

from ...domain.codes import Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import RATE_PER_SECOND, ZigZagOptions

SPEC = SystemSpec(
    id="zigzag",
    name="ZigZag",
    side=Side.PLATFORM,
    summary=("returns platform; username and password for a 30-minute JWT, its list's path "
             "and fields as options (not published), webhooks as hints"),
    options=ZigZagOptions,
    secrets=("username", "password"),
    listen_secrets=("webhook_secret",),
    capabilities=Capabilities(
        reads=(ReadShape.PULL, ReadShape.HINTS),
        stages=frozenset({Stage.AUTHORISED, Stage.RECEIVED, Stage.CREDITED,
                          Stage.EXCHANGED}),
        # Received and Exchange are statuses (§3.1); no money fields are published (U17)
        facts=frozenset({"platform_received", "platform_exchange"}),
        rate_per_second=RATE_PER_SECOND,
        burst=2,
        concurrency=2,
    ),
    connector=f"{__name__}.factory:open_connector",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({"returnId", "productSku", "retailerCode", "Pending approval",
                         "/Return/api/v1"}),
)

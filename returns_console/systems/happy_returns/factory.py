"""A Happy Returns connector from a profile's validated options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import HappyReturnsConnector
from .fold import Settings
from .options import HappyReturnsOptions


def open_connector(c: Connection) -> HappyReturnsConnector:
    o: HappyReturnsOptions = c.options
    return HappyReturnsConnector(
        base_url=c.base_url, api_key=c.secret("api_key"),
        settings=Settings(retailer_id=o.retailer_id, link_ref=o.link_ref,
                          approved_credits=o.approved_credits),
        webhook_secret=lambda: c.secret("webhook_secret").get_secret_value(),
        signature_scheme=o.signature_scheme, lookup_path=o.lookup_path,
        log=c.log, transport=c.transport, retry=c.retry, pacer=c.pacer)

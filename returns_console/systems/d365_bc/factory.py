"""A Business Central connector (which is also its writer) from a profile's options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import BcSettings, BusinessCentralConnector
from .options import BcOptions


def open_connector(c: Connection) -> BusinessCentralConnector:
    o: BcOptions = c.options
    return BusinessCentralConnector(
        BcSettings(base_url=c.base_url, tenant=o.tenant, environment=o.environment,
                   client_id=o.client_id, client_secret=c.secret("client_secret"),
                   company=o.company, token_url=o.token_url, scope=o.scope,
                   page_size=o.page_size, history_days=o.history_days,
                   local_currency=o.local_currency, fee_items=o.fee_items,
                   shipping_items=o.shipping_items, link_pattern=o.link_pattern,
                   concurrency=o.concurrency),
        log=c.log, transport=c.transport, retry=c.retry, pacer=c.pacer)

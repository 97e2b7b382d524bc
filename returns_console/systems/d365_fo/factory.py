"""An F&O connector from a profile's validated options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import FoConnector, FoSettings
from .mapping import MappingSettings
from .options import FoOptions


def open_connector(c: Connection) -> FoConnector:
    o: FoOptions = c.options
    return FoConnector(
        FoSettings(
            base_url=c.base_url, tenant=o.tenant, client_id=o.client_id,
            client_secret=c.secret("client_secret"), company=o.company,
            token_url=o.token_url, scope=o.scope, page_size=o.page_size,
            history_days=o.history_days, max_concurrency=o.max_concurrency,
            link_max_len=o.link_max_len,
            reason_entity=o.reason_entity, customer_block_values=o.customer_block_values,
            item_blocked_flags=o.item_blocked_flags,
            mapping=MappingSettings(link_field=o.link_field, order_field=o.order_field),
            sync_mode=o.return_sync_mode, closed_lookback_days=o.closed_lookback_days),
        log=c.log, transport=c.transport, retry=c.retry, pacer=c.pacer)

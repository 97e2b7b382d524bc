"""A Swap Commerce connector from a profile's validated options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import SwapConnector, SwapSettings
from .options import SwapOptions


def open_connector(c: Connection) -> SwapConnector:
    o: SwapOptions = c.options
    return SwapConnector(
        SwapSettings(
            base_url=c.base_url, store=o.store, api_key=c.secret("api_key"),
            api_version=o.api_version, items_per_page=o.items_per_page,
            history_days=o.history_days, default_location=o.default_location,
            reason_key=o.reason_key, qc_done=o.qc_done, refund_types=o.refund_types,
            exchange_types=o.exchange_types, instant_credit_types=o.instant_credit_types,
            pending_statuses=o.pending_statuses),
        log=c.log, transport=c.transport, retry=c.retry, pacer=c.pacer)

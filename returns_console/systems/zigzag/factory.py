"""A ZigZag connector from a profile's validated options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import ZigZagConnector
from .options import ZigZagOptions


def open_connector(c: Connection) -> ZigZagConnector:
    o: ZigZagOptions = c.options
    return ZigZagConnector(
        base_url=c.base_url, username=c.secret("username").get_secret_value(),
        password=c.secret("password"), options=o,
        webhook_secret=lambda: c.secret("webhook_secret").get_secret_value(),
        log=c.log, transport=c.transport, retry=c.retry, pacer=c.pacer)

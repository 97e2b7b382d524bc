"""A Khaos Control connector from a profile's validated options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import KhaosConnector
from .options import KhaosOptions


def open_connector(c: Connection) -> KhaosConnector:
    o: KhaosOptions = c.options
    # the channel's credentials are asked for only when the channel is served (`listen`): a
    # check reads the inbox and needs none
    return KhaosConnector(base_url=c.base_url, options=o,
                          credentials=lambda: (c.secret("username"), c.secret("password")))

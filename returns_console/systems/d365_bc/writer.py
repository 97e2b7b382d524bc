"""Business Central's writer: the connector itself carries the writes (it holds the company
id, the token and the HTTP client the reads warmed up), so this only hands it over."""

from __future__ import annotations

from .connector import BusinessCentralConnector


def open_writer(connector: BusinessCentralConnector) -> BusinessCentralConnector:
    return connector

"""Reading an ERP that calls us (a channel protocol): its records are what the inbox holds
of it, pushed by the ERP or served to it by `listen`. Nothing is requested; a read that
finds nothing received says so (degraded, never all clear)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .. import systems
from ..connectors.base import OWN_TOPIC_PREFIX, ChannelErp, ErpBatch
from ..connectors.errors import ConnectorError
from ..store.inbox import Inbox


@dataclass(slots=True)
class ErpRead:
    batch: ErpBatch
    #: What this read could not see (its source is then degraded, never all clear).
    gaps: list[str] = field(default_factory=list)


class NoErpInbox(ConnectorError):
    """An ERP that calls us, read by a run that has no inbox."""


def read_erp_inbox(connector: object, system: str, inbox: Inbox | None) -> ErpRead:
    """The ERP's records from every event the inbox holds of it (each read folds them all
    again: a channel's volume is what the ERP pushed, and a fold from the start cannot
    drift from what was received)."""
    name = systems.display_name(system)
    if inbox is None or not isinstance(connector, ChannelErp):
        raise NoErpInbox(system, f"{name} calls us, and this run has no inbox to read it from")
    events = inbox.events(system)
    batch = connector.records_from_events(events)
    batch.fetched_at = inbox.last_received(system) or datetime.now(UTC)
    read = ErpRead(batch, gaps=list(batch.gaps))
    if not any(not e.topic.startswith(OWN_TOPIC_PREFIX) for e in events):
        read.gaps.append(f"nothing has been received from {name} yet: run `returns-console "
                         f"listen` and point {name}'s channel at it")
    return read

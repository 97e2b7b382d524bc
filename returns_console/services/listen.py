"""`returns-console listen`: the inbox receiver for a profile's systems that push to us.

Each pushing system's connector supplies its WebhookSpec (how its deliveries are signed,
keyed and typed, with the signing secret from the profile's secrets); an ERP whose public
interface is a channel protocol (it fetches from us and pushes to us) supplies its routes.
The receiver names no system. Deliveries, and what a channel served, are kept in the inbox,
which the check and the console read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

from starlette.applications import Starlette

from .. import systems
from ..config import Profile
from ..connectors.base import (
    ChannelContext,
    ChannelErp,
    ChannelRoute,
    EventSource,
    HintSource,
    PlatformBatch,
    WebhookSpec,
)
from ..connectors.http import CallLog
from ..domain.reference import Mappings
from ..errors import UserError
from ..inbox.receiver import receiver
from ..store.inbox import Inbox
from .connections import SecretLookup, open_erp, open_platform

#: A channel's download feed reads the platform again at most this often (the ERP pulls
#: every few minutes; a retry a second later is served what was read a second ago).
FEED_REFRESH_S = 60.0


def pushing_systems(profile: Profile) -> list[str]:
    """The profile's systems that call us (their registry entry reads events)."""
    found = []
    for settings in (profile.platform, profile.erp):
        spec = systems.find(settings.system)
        if spec is not None and spec.capabilities.pushes_events:
            found.append(settings.system)
    return found


def _nothing_to_listen_for(profile: Profile) -> UserError:
    names = " and ".join(systems.display_name(s.system) for s in (profile.platform, profile.erp))
    return UserError(f"profile {profile.name}: {names} do not push events to us; "
                     "`returns-console check` reads them (nothing to listen for)")


async def webhook_specs(profile: Profile, lookup: SecretLookup) -> dict[str, WebhookSpec]:
    """System id → how to verify its deliveries (channel systems apart); a UserError when
    none of the profile's systems pushes (there is nothing to listen for)."""
    pushing = pushing_systems(profile)
    if not pushing:
        raise _nothing_to_listen_for(profile)
    specs: dict[str, WebhookSpec] = {}
    log = CallLog()
    for system in pushing:
        opener = open_platform if system == profile.platform.system else open_erp
        connector = opener(profile, lookup, log)
        try:
            if isinstance(connector, ChannelErp):
                continue
            if not isinstance(connector, (EventSource, HintSource)):
                raise UserError(f"{systems.display_name(system)} declares events but its "
                                "connector cannot read them")
            specs[system] = connector.webhook()
        finally:  # only its signing secret was wanted: no request is made
            await connector.aclose()
    return specs


class PlatformFeed:
    """The platform's returns for a channel's download feed: read through its connector
    (whole the first time, then what changed), at most every FEED_REFRESH_S seconds."""

    def __init__(self, profile: Profile, lookup: SecretLookup, *,
                 inbox: Inbox | None = None, earlier: PlatformBatch | None = None,
                 refresh_s: float = FEED_REFRESH_S,
                 transport: object | None = None) -> None:
        self.profile = profile
        self.lookup = lookup
        self.inbox = inbox
        self.batch = earlier
        self.refresh_s = refresh_s
        self.transport = transport
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def __call__(self) -> PlatformBatch:
        async with self._lock:
            if self.batch is None or time.monotonic() - self._read_at >= self.refresh_s:
                self.batch = await self._read()
                self._read_at = time.monotonic()
            return self.batch

    async def _read(self) -> PlatformBatch:
        from .live import read_platform_only

        return await read_platform_only(self.profile, self.lookup, self.batch,
                                        inbox=self.inbox, transport=self.transport)


async def listen_app(profile: Profile, lookup: SecretLookup, inbox: Inbox, *,
                     clock: Callable[[], datetime] | None = None,
                     returns: Callable[[], Awaitable[PlatformBatch]] | None = None,
                     mappings: Callable[[], Mappings] | None = None,
                     ) -> tuple[Starlette, dict[str, str]]:
    """The receiver app and, per system, the path to register with it (a channel's: the
    address its configuration is fetched from). A channel's feed offers the platform's
    returns from `returns` (default: read through the platform's connector), mapped by
    `mappings` (default: none)."""
    pushing = pushing_systems(profile)
    if not pushing:
        raise _nothing_to_listen_for(profile)
    specs = await webhook_specs(profile, lookup)
    paths = {system: f"/hooks/{system}/{spec.suffix.strip('/')}"
             for system, spec in specs.items()}
    channels: dict[str, Sequence[ChannelRoute]] = {}
    for system in pushing:
        if system in specs or system != profile.erp.system:
            continue
        connector = open_erp(profile, lookup, CallLog())
        if not isinstance(connector, ChannelErp):
            await connector.aclose()
            raise UserError(f"{systems.display_name(system)} declares events but its "
                            "connector cannot serve them")
        feed = returns or PlatformFeed(profile, lookup, inbox=inbox)
        context = ChannelContext(
            returns=feed,
            history=partial(inbox.events, system),
            mappings=mappings or Mappings)
        routes = connector.channel(context)
        channels[system] = routes
        paths[system] = f"/hooks/{system}/{routes[0].suffix.strip('/')}"
    return receiver(inbox, specs, clock=clock, channels=channels), paths

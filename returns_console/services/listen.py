"""`returns-console listen`: the inbox receiver for a profile's systems that push to us.

Each pushing system's connector supplies its WebhookSpec (how its deliveries are signed,
keyed and typed, with the signing secret from the profile's secrets); the receiver names no
system. Deliveries are kept in the inbox, which the check and the console read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette

from .. import systems
from ..config import Profile
from ..connectors.base import EventSource, HintSource, WebhookSpec
from ..connectors.http import CallLog
from ..errors import UserError
from ..inbox.receiver import receiver
from ..store.inbox import Inbox
from .connections import SecretLookup, open_erp, open_platform


def pushing_systems(profile: Profile) -> list[str]:
    """The profile's systems that call us (their registry entry reads events)."""
    found = []
    for settings in (profile.platform, profile.erp):
        spec = systems.find(settings.system)
        if spec is not None and spec.capabilities.pushes_events:
            found.append(settings.system)
    return found


async def webhook_specs(profile: Profile, lookup: SecretLookup) -> dict[str, WebhookSpec]:
    """System id → how to verify its deliveries; a UserError when none of the profile's
    systems pushes (there is nothing to listen for)."""
    pushing = pushing_systems(profile)
    if not pushing:
        names = " and ".join(systems.display_name(s.system)
                             for s in (profile.platform, profile.erp))
        raise UserError(f"profile {profile.name}: {names} do not push events to us; "
                        "`returns-console check` reads them (nothing to listen for)")
    specs: dict[str, WebhookSpec] = {}
    log = CallLog()
    for system in pushing:
        opener = open_platform if system == profile.platform.system else open_erp
        connector = opener(profile, lookup, log)
        try:
            if not isinstance(connector, (EventSource, HintSource)):
                raise UserError(f"{systems.display_name(system)} declares events but its "
                                "connector cannot read them")
            specs[system] = connector.webhook()
        finally:  # only its signing secret was wanted: no request is made
            await connector.aclose()
    return specs


async def listen_app(profile: Profile, lookup: SecretLookup, inbox: Inbox, *,
                     clock: Callable[[], datetime] | None = None
                     ) -> tuple[Starlette, dict[str, str]]:
    """The receiver app and, per system, the path to register with it."""
    specs = await webhook_specs(profile, lookup)
    paths = {system: f"/hooks/{system}/{spec.suffix.strip('/')}"
             for system, spec in specs.items()}
    return receiver(inbox, specs, clock=clock), paths

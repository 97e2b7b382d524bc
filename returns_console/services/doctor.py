"""`doctor`: try each side of a profile and say, in words, what works and what does not."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC

from ..config import Profile, option_problems, secret_names
from ..connectors.errors import AuthError, ConnectorError
from ..connectors.http import CallLog
from ..errors import UserError
from ..store.inbox import Inbox
from .connections import SecretLookup, open_erp, open_platform, secret_sources
from .live import within

#: A listen secret `<name>_previous` is `<name>` before a rotation (still accepted a while).
ROTATED = "_previous"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    ok: bool
    what: str
    detail: str


async def diagnose(profile: Profile, lookup: SecretLookup, *,
                   deadline: float | None = None,
                   inbox: Inbox | None = None) -> list[Diagnosis]:
    """Each secret present or not, each system's options checked against its options model,
    then each connection tried; a connection still not answering after `deadline` seconds
    fails, named."""
    out = []
    began = time.monotonic()  # one deadline for the whole command, not one per connection
    checked = set(secret_names(profile))
    for system, name in secret_names(profile, listening=True):
        present = bool(lookup(system, name))
        if (system, name) in checked:
            out.append(Diagnosis(present, f"{system} {name}",
                                 "found (value not shown)" if present else "missing"))
        else:  # a check works without it: not a failure
            rotated = name.removesuffix(ROTATED)
            why = (f"not set: needed only while {rotated} is being rotated"
                   if rotated != name else "not set: only `returns-console listen` needs "
                   "it (to verify the deliveries it receives)")
            found = "found (value not shown)" + (
                f"; remove it once the rotation of {rotated} is done: deliveries signed with "
                "it are accepted while it is set" if rotated != name else "")
            out.append(Diagnosis(True, f"{system} {name}", found if present else why))
    if inbox is not None:
        out.append(_deliveries(profile.platform.system, inbox))
    for settings in (profile.platform, profile.erp):
        problems = option_problems(settings.system, settings.options)
        out.append(Diagnosis(not problems, f"{settings.system} options",
                             "; ".join(problems) if problems else "valid"))
    for side, opener, settings in (("platform", open_platform, profile.platform),
                                   ("erp", open_erp, profile.erp)):
        what = f"{side} {settings.system} at {settings.base_url}"
        try:
            connector = opener(profile, lookup, CallLog())
        except UserError as exc:
            out.append(Diagnosis(False, what, str(exc)))
            continue
        try:
            left = None if deadline is None else max(0.1, deadline - (time.monotonic() - began))
            out.append(Diagnosis(True, what, await within(
                left, settings.system, side, connector.check_connection())))
        except ConnectorError as exc:
            where = secret_sources(profile, settings.system, lookup) \
                if isinstance(exc, AuthError) and exc.status != 403 else ""
            out.append(Diagnosis(False, what, f"{exc} ({where})" if where else str(exc)))
        finally:
            await connector.aclose()
    return out


def _deliveries(system: str, inbox: Inbox) -> Diagnosis:
    """What the inbox holds of a pushing platform (`listen` keeps it): never a failure
    here, the check says how complete its read was."""
    try:
        kept, last = inbox.count(system), inbox.last_received(system)
    except sqlite3.Error as exc:  # `listen` holding it longer than a read waits
        return Diagnosis(True, f"{system} deliveries", f"the inbox could not be read now "
                         f"({exc}); try again")
    if not kept or last is None:
        return Diagnosis(True, f"{system} deliveries", "none received yet: run `returns-console "
                         "listen` and register its address with the system (README)")
    return Diagnosis(True, f"{system} deliveries", f"{kept} kept, the last received "
                     f"{last.astimezone(UTC).strftime('%Y-%m-%d %H:%M')} UTC")

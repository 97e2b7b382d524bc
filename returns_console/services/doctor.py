"""`doctor`: try each side of a profile and say, in words, what works and what does not."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..config import Profile, option_problems, secret_names
from ..connectors.errors import AuthError, ConnectorError
from ..connectors.http import CallLog
from ..errors import UserError
from .connections import SecretLookup, open_erp, open_platform, secret_sources
from .live import within


@dataclass(frozen=True, slots=True)
class Diagnosis:
    ok: bool
    what: str
    detail: str


async def diagnose(profile: Profile, lookup: SecretLookup, *,
                   deadline: float | None = None) -> list[Diagnosis]:
    """Each secret present or not, each system's options checked against its options model,
    then each connection tried; a connection still not answering after `deadline` seconds
    fails, named."""
    out = []
    began = time.monotonic()  # one deadline for the whole command, not one per connection
    for system, name in secret_names(profile):
        present = bool(lookup(system, name))
        out.append(Diagnosis(present, f"{system} {name}",
                             "found (value not shown)" if present else "missing"))
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
                if isinstance(exc, AuthError) and exc.status == 401 else ""
            out.append(Diagnosis(False, what, f"{exc} ({where})" if where else str(exc)))
        finally:
            await connector.aclose()
    return out

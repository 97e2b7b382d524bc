"""From a profile to live connectors: its systems' validated options and secrets, handed to
the factory each system declares in the registry (systems/). Connectors stay free of config
and secret storage; nothing here names a system.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .. import systems
from ..config import (
    Profile,
    SystemSettings,
    any_secrets,
    listen_secrets,
    option_problems,
    required_secrets,
    stored_secret_name,
)
from ..errors import UserError
from ..secrets import SecretStore, env_var_name

if TYPE_CHECKING:  # imported when a connection is opened: the console's start needs none
    from ..connectors.base import Erp, ErpWriter, ReturnsPlatform
    from ..connectors.http import CallLog, RetryPolicy

#: (system, secret name) -> value or None. A SecretStore for real profiles, a dict for the
#: sandbox, whose demo credentials are public.
SecretLookup = Callable[[str, str], str | None]


def _retry(profile: str, options: object) -> RetryPolicy:
    """Options every system takes: `retry_attempts` (5) and `retry_max_wait` seconds (30)."""
    from ..connectors.http import RetryPolicy

    return RetryPolicy(attempts=getattr(options, "retry_attempts", 5),
                       maximum=float(getattr(options, "retry_max_wait", 30.0)))


def _secret_getter(profile: Profile, system: str, lookup: SecretLookup
                   ) -> Callable[[str], SecretStr]:
    # prefixed with the system's id when both sides need the same name
    stored_as = {n: stored_secret_name(profile, system, n)
                 for n in (*any_secrets(system), *listen_secrets(system))}

    def get(name: str) -> SecretStr:
        key = stored_as.get(name, name)
        value = (lookup(system, key) or "").strip()  # a pasted newline or space is noise
        if not value:
            raise UserError(
                f"profile {profile.name} has no {system} {key}: run `returns-console setup "
                f"--profile {profile.name} --secret {key}` or set "
                f"{env_var_name(profile.name, key)}"
            )
        return SecretStr(value)

    return get


class StoreLookup:
    """A profile's secrets from the store, and where each came from (never its value)."""

    def __init__(self, profile: Profile, store: SecretStore | None = None) -> None:
        self.profile = profile.name
        self.store = store or SecretStore()

    def __call__(self, system: str, name: str) -> str | None:
        return self.store.get(self.profile, name)

    def where(self, system: str, name: str) -> str:
        source = self.store.where(self.profile, name)
        if source == "environment":
            return f"the environment variable {env_var_name(self.profile, name)}"
        if source == "keyring":
            return (f"the OS keyring (replace it: returns-console setup --profile "
                    f"{self.profile} --secret {name})")
        return source


def store_lookup(profile: Profile, store: SecretStore | None = None) -> SecretLookup:
    return StoreLookup(profile, store)


def secret_sources(profile: Profile, system: str, lookup: SecretLookup) -> str:
    """Where each of a system's secrets came from, when the lookup can say."""
    where = getattr(lookup, "where", None)
    if where is None:
        return ""
    settings = profile.platform if profile.platform.system == system else profile.erp
    names = [stored_secret_name(profile, system, n)
             for n in required_secrets(system, settings.options)]
    return "; ".join(f"{name} from {where(system, name)}" for name in names)


def _open(profile: Profile, settings: SystemSettings, lookup: SecretLookup, log: CallLog,
          transport: object | None) -> Any:
    from ..connectors.connection import Connection
    from ..connectors.pacing import Pacer

    spec = systems.find(settings.system)
    if spec is None or not spec.built:
        working = systems.ids(spec.side if spec else None, built=True)
        name = spec.name if spec else settings.system
        raise UserError(f"profile {profile.name}: {name} has no connector yet "
                        f"(available: {', '.join(working)})")
    problems = option_problems(settings.system, settings.options)
    if problems:
        flag = "--platform-option" if settings is profile.platform else "--erp-option"
        missing = [p.rsplit(" ", 1)[-1] for p in problems if " needs option " in p]
        how = (f": returns-console setup --profile {profile.name} "
               + " ".join(f"{flag} {k}=…" for k in missing)) if missing else ""
        raise UserError(f"profile {profile.name}: {'; '.join(problems)}{how}")
    options = spec.options.model_validate(settings.options)
    getter = _secret_getter(profile, settings.system, lookup)
    factory = spec.load("connector")
    rate = spec.capabilities.rate_per_second
    pacer = Pacer(rate, spec.capabilities.burst) if rate else None
    return factory(Connection(profile.name, settings.base_url, options, getter, log,
                              _retry(profile.name, options), transport, pacer))


def open_platform(profile: Profile, lookup: SecretLookup, log: CallLog,
                  transport: object | None = None) -> ReturnsPlatform:
    return _open(profile, profile.platform, lookup, log, transport)


def open_erp(profile: Profile, lookup: SecretLookup, log: CallLog,
             transport: object | None = None) -> Erp:
    return _open(profile, profile.erp, lookup, log, transport)


def open_writer(profile: Profile, lookup: SecretLookup, log: CallLog,
                transport: object | None = None) -> ErpWriter | None:
    """The ERP's writer (None: its system declares none, so it cannot be written to)."""
    spec = systems.find(profile.erp.system)
    if spec is None or spec.writer is None:
        return None
    return spec.load("writer")(open_erp(profile, lookup, log, transport))

"""From a profile to live connectors: the registry of systems, their options and secrets.

This is the one place that knows both the config's shape and each connector's settings, so
connectors stay free of config and secrets handling, and adding a system is one factory here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from ..config import REQUIRED_SECRETS, Profile, SystemSettings, secret_names
from ..connectors.base import Erp, ReturnsPlatform
from ..connectors.http import CallLog, RetryPolicy
from ..errors import UserError
from ..secrets import SecretStore, env_var_name

#: (system, secret name) -> value or None. A SecretStore for real profiles, a dict for the
#: sandbox, whose demo credentials are public.
SecretLookup = Callable[[str, str], str | None]


@dataclass(slots=True)
class Connection:
    """Everything a connector factory gets: where, how, and the shared HTTP plumbing."""

    profile: str
    settings: SystemSettings
    secret: Callable[[str], SecretStr]
    log: CallLog
    transport: object | None = None


def _opt(settings: SystemSettings, key: str, default=None):
    return settings.options.get(key, default)


def _retry(c: Connection) -> RetryPolicy:
    """Options every system takes: `retry_attempts` (5) and `retry_max_wait` seconds (30)."""
    try:
        return RetryPolicy(attempts=max(1, int(_opt(c.settings, "retry_attempts", 5))),
                           maximum=float(_opt(c.settings, "retry_max_wait", 30.0)))
    except (TypeError, ValueError):
        raise UserError(f"profile {c.profile}: retry_attempts and retry_max_wait must be "
                        "numbers") from None


def _words(value: object, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _swap(c: Connection) -> ReturnsPlatform:
    from ..connectors.platforms.swap import SwapConnector, SwapSettings

    s = c.settings
    store = _opt(s, "store")
    if not store:
        raise UserError(f"profile {c.profile}: Swap needs the store id: "
                        f"returns-console setup --profile {c.profile} --platform-option store=…")
    return SwapConnector(
        SwapSettings(
            base_url=s.base_url, store=str(store), api_key=c.secret("api_key"),
            api_version=_int(_opt(s, "api_version", 1), "api_version"),
            items_per_page=_int(_opt(s, "items_per_page"), "items_per_page"),
            history_days=_int(_opt(s, "history_days", 365), "history_days"),
            default_location=_opt(s, "default_location"),
            reason_key=_choice(c, "reason_key", ("main_reason_id", "main_reason_text")),
            **{key: _words(_opt(s, key), ()) for key in (
                "qc_done", "refund_types", "exchange_types", "instant_credit_types")
               if _opt(s, key)},
        ),
        log=c.log, transport=c.transport, retry=_retry(c),
    )


def _business_central(c: Connection) -> Erp:
    from ..connectors.erps.business_central import BcSettings, BusinessCentralConnector

    s = c.settings
    missing = [k for k in ("tenant", "environment", "client_id") if not _opt(s, k)]
    if missing:
        raise UserError(f"profile {c.profile}: Business Central needs "
                        + ", ".join(missing) + f": returns-console setup --profile {c.profile} "
                        + " ".join(f"--erp-option {k}=…" for k in missing))
    extra = {key: _opt(s, key) for key in ("company", "token_url", "scope", "local_currency")
             if _opt(s, key)}
    for key in ("page_size", "history_days", "concurrency"):
        if _opt(s, key) is not None:
            extra[key] = _int(_opt(s, key), key)
    for key in ("fee_items", "shipping_items"):
        if _opt(s, key) is not None:
            extra[key] = _words(_opt(s, key), ())
    return BusinessCentralConnector(
        BcSettings(base_url=s.base_url, tenant=str(_opt(s, "tenant")),
                   environment=str(_opt(s, "environment")), client_id=str(_opt(s, "client_id")),
                   client_secret=c.secret("client_secret"), **extra),
        log=c.log, transport=c.transport, retry=_retry(c),
    )


def _choice(c: Connection, key: str, choices: tuple[str, ...]) -> str:
    """An option with a fixed set of values; the first is the default."""
    value = str(_opt(c.settings, key, choices[0])).strip()
    if value not in choices:
        raise UserError(f"profile {c.profile}: option {key} must be one of "
                        f"{', '.join(choices)}, not {value!r}")
    return value


def _int(value: object, name: str = "option") -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserError(f"option {name} must be a whole number, not {value!r}") from None


PLATFORMS: dict[str, Callable[[Connection], ReturnsPlatform]] = {"swap": _swap}
ERPS: dict[str, Callable[[Connection], Erp]] = {"d365_bc": _business_central}


def _secret_getter(profile: Profile, system: str, lookup: SecretLookup
                   ) -> Callable[[str], SecretStr]:
    names = dict(secret_names(profile))  # system -> stored name (prefixed on a clash)
    stored_as = {n: names.get(system, n) for n in REQUIRED_SECRETS.get(system, ())}

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
    stored = dict(secret_names(profile))
    names = [stored.get(system, n) for n in REQUIRED_SECRETS.get(system, ())]
    return "; ".join(f"{name} from {where(system, name)}" for name in names)


def _open(profile: Profile, settings: SystemSettings, registry: dict, lookup: SecretLookup,
          log: CallLog, transport: object | None):
    factory = registry.get(settings.system)
    if factory is None:
        raise UserError(f"profile {profile.name}: the {settings.system} connector is not "
                        f"available yet (available: {', '.join(registry)})")
    getter = _secret_getter(profile, settings.system, lookup)
    return factory(Connection(profile.name, settings, getter, log, transport))


def open_platform(profile: Profile, lookup: SecretLookup, log: CallLog,
                  transport: object | None = None) -> ReturnsPlatform:
    return _open(profile, profile.platform, PLATFORMS, lookup, log, transport)


def open_erp(profile: Profile, lookup: SecretLookup, log: CallLog,
             transport: object | None = None) -> Erp:
    return _open(profile, profile.erp, ERPS, lookup, log, transport)

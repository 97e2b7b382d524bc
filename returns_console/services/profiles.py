"""Creating, updating and describing profiles, for `setup` and `profiles` (and later the TUI).

Why a service: the merge rules (what an update keeps, which secrets a pair of systems needs,
which option names are fine) are the same whoever asks, and a person should get the same
one-line answer from the CLI as from a settings screen. Nothing here reads a secret's value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from .. import systems
from ..config import (
    AppConfig,
    Profile,
    describe,
    looks_secret,
    secret_names,
)
from ..domain.codes import Side
from ..errors import UserError
from ..secrets import ENVIRONMENT, KEYRING, UNAVAILABLE, SecretStore, env_var_name

#: Field paths of a profile as the `setup` options that set them, for messages.
_OPTION_FOR = {
    "name": "--profile",
    "platform.system": "--platform",
    "platform.base_url": "--platform-url",
    "platform.options": "--platform-option",
    "erp.system": "--erp",
    "erp.base_url": "--erp-url",
    "erp.options": "--erp-option",
}


def parse_options(pairs: Iterable[str], flag: str) -> dict[str, str | None]:
    """KEY=VALUE strings as a dict; `KEY=` (empty value) means remove that option.
    Values stay strings: a store id like 0012 must not turn into the number 12."""
    out: dict[str, str | None] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{flag} wants KEY=VALUE, got {key or pair!r}")
        if looks_secret(key):
            # The value is deliberately left out of the message: it may be the secret.
            raise UserError(f"{flag} {key}=... looks like a secret; options are written to the "
                            f"config file, so use --secret {key} (OS keyring) instead")
        out[key] = value or None
    return out


def upsert_profile(config: AppConfig, name: str, *, platform: str | None,
                   platform_url: str | None, erp: str | None, erp_url: str | None,
                   platform_options: dict[str, str | None], erp_options: dict[str, str | None],
                   make_default: bool) -> tuple[AppConfig, bool]:
    """The config with profile `name` created or updated; True when it is new.
    An update changes only what is given; the first profile becomes the default."""
    current = config.profiles.get(name)
    created = current is None
    if created:
        missing = [flag for flag, given in (("--platform", platform),
                                            ("--platform-url", platform_url),
                                            ("--erp", erp), ("--erp-url", erp_url)) if not given]
        if missing:
            raise UserError(f"new profile {name} needs {', '.join(missing)}")
    for side, word, system in ((Side.PLATFORM, "platform", platform), (Side.ERP, "ERP", erp)):
        working = systems.ids(side, built=True)
        if system and system not in working:
            known = systems.find(system)
            what = (f"{known.name} has no connector yet"
                    if known is not None and known.side is side
                    else f"{system!r} is not a {word} the console knows")
            raise UserError(f"{what}; {word}s that work today: {', '.join(working)}")
    data: dict[str, Any] = current.model_dump() if current else {
        "name": name, "platform": {"options": {}}, "erp": {"options": {}}}
    for part, system, url, options in (("platform", platform, platform_url, platform_options),
                                       ("erp", erp, erp_url, erp_options)):
        if system:
            data[part]["system"] = system
        if url:
            data[part]["base_url"] = url
        for key, value in options.items():
            if value is None:
                data[part]["options"].pop(key, None)
            else:
                data[part]["options"][key] = value
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"profile {name}: {_with_flags(describe(exc))}") from None
    default = name if make_default or not config.profiles else config.default_profile
    updated = config.model_copy(update={
        "profiles": {**config.profiles, name: profile}, "default_profile": default})
    return AppConfig.model_validate(updated.model_dump()), created


def check_secret_names(profile: Profile, names: Iterable[str]) -> None:
    """Refuse names the profile's systems do not use: a typo would be stored and never read."""
    wanted = [n for _, n in secret_names(profile, listening=True)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UserError(f"secret {name} is given twice")
        seen.add(name)
        if name not in wanted:
            said = _elsewhere(profile, name) or (
                f"{profile.platform.system} and {profile.erp.system} use no secret named "
                f"{name!r}")
            raise UserError(f"{said}; profile {profile.name} needs: {', '.join(wanted)}")


def _elsewhere(profile: Profile, name: str) -> str:
    """Which other way of signing in uses `name`, when one of the profile's systems has it
    (a secret for `auth=tba` given to a profile on `auth=m2m`)."""
    for flag, settings in (("--platform-option", profile.platform),
                           ("--erp-option", profile.erp)):
        spec = systems.find(settings.system)
        if spec is None or spec.auth_option is None:
            continue
        current = settings.options.get(spec.auth_option) or \
            spec.options.model_fields[spec.auth_option].default
        for value, names in spec.auth_secrets.items():
            if name in names:
                return (f"{settings.system} uses {name!r} only with {flag} "
                        f"{spec.auth_option}={value} (profile {profile.name} signs in with "
                        f"{spec.auth_option}={current})")
    return ""


def describe_profiles(config: AppConfig, store: SecretStore,
                      only: str | None = None) -> list[dict[str, Any]]:
    """Each profile (or just `only`) with, per needed secret, where it comes from (never the
    value)."""
    rows = []
    for name, profile in config.profiles.items():
        if only is not None and name != only:
            continue
        checked = set(secret_names(profile))
        secrets = [{"name": secret, "system": system, "source": store.where(name, secret),
                    "env_var": env_var_name(name, secret),
                    "needed_by": "check" if (system, secret) in checked else "listen"}
                   for system, secret in secret_names(profile, listening=True)]
        rows.append({
            "name": name,
            "default": name == config.default_profile,
            "platform": profile.platform.model_dump(mode="json"),
            "erp": profile.erp.model_dump(mode="json"),
            "read_only": profile.read_only,
            "secrets": secrets,
        })
    return rows


def secret_hint(profile: str, row: dict[str, Any]) -> str:
    """One secret's status for people: where it comes from, or how to provide it."""
    source = row["source"]
    if source == ENVIRONMENT:
        return f"environment ({row['env_var']})"
    if source == KEYRING:
        return "keyring"
    only = " (only `returns-console listen` needs it)" if row.get("needed_by") == "listen" \
        else ""
    if source == UNAVAILABLE:
        return f"missing{only}, no OS keyring here: set {row['env_var']}"
    return (f"missing{only}: run `returns-console setup --profile {profile} --secret "
            f"{row['name']}` or set {row['env_var']}")


def _with_flags(message: str) -> str:
    for path, flag in _OPTION_FOR.items():
        if message.startswith(f"{path}:"):
            return f"{flag}{message[len(path):]}"
    return message

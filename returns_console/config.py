"""Settings: which pair of systems each profile reconciles, and how strictly.

Why pydantic with `extra="forbid"`: a typo in a hand-edited TOML file must fail loudly with the
field path, not be ignored while the app quietly uses a default. Why no secret fields at all:
config files get copied, committed and pasted into tickets; secrets live in the OS keyring or
the environment (see secrets.py), and a config that tries to hold one is refused on load and on
save. Every failure is a one-line UserError naming the file.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from . import systems
from .domain.codes import Side, Stage
from .errors import UserError

#: A system id: which ones exist, and on which side, is the registry's (systems/__init__.py).
PlatformSystem = str
ErpSystem = str


def required_secrets(system: str, options: Mapping[str, Any] | None = None
                     ) -> tuple[str, ...]:
    """The secrets a system's connector needs, by name (the keyring / env var key); given
    the profile's options, those of the way they choose to authenticate."""
    found = systems.find(system)
    return found.secrets_for(options) if found else ()


def any_secrets(system: str) -> tuple[str, ...]:
    """Every secret a system's connector may need, whichever way it authenticates (what
    redaction must know, and the names a stored secret may have)."""
    found = systems.find(system)
    return found.every_secret if found else ()


def listen_secrets(system: str) -> tuple[str, ...]:
    """The secrets only `returns-console listen` needs for a system (its deliveries'
    signing secret): a check never asks for them."""
    found = systems.find(system)
    return found.listen_secrets if found else ()


def _every_secret(system: str) -> tuple[str, ...]:
    return any_secrets(system) + listen_secrets(system)


_KNOWN_SECRETS = {name for spec in systems.all_systems()
                  for name in (*spec.every_secret, *spec.listen_secrets)}
_SECRET_MARKERS = ("secret", "password", "api_key", "apikey", "token")
#: Names that say where or how long, not what (`token_path`, `token_ttl_seconds`).
_NOT_A_VALUE = re.compile(r"_(url|path|seconds|param|field|header)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
OptionValue = str | int | float | bool


def looks_secret(key: str) -> bool:
    """True for key names that suggest a secret value (`token_url` is a URL, not a token)."""
    name = re.sub(r"[-. ]", "_", key.lower()).replace("token_url", "")
    if _NOT_A_VALUE.search(name):  # where a token is got, for how long: not the token
        return name in _KNOWN_SECRETS
    return name in _KNOWN_SECRETS or any(marker in name for marker in _SECRET_MARKERS)


def secret_names(profile: Profile, *, listening: bool = False) -> list[tuple[str, str]]:
    """(system, secret name) for every secret a profile needs (with `listening`, also those
    only `listen` needs, after them). When both sides need the same name (zigzag and khaos
    both use `password`) each is prefixed with its system id, so the two never share one
    keyring entry or environment variable."""
    sides = (profile.platform, profile.erp)
    pairs = [(s.system, n) for s in sides for n in required_secrets(s.system, s.options)]
    if listening:
        pairs += [(s.system, n) for s in sides for n in listen_secrets(s.system)]
    return [(system, stored_secret_name(profile, system, n)) for system, n in pairs]


def stored_secret_name(profile: Profile, system: str, name: str) -> str:
    """The name `system`'s secret `name` is stored under for `profile` (see secret_names)."""
    clash = any(name in _every_secret(s.system) for s in (profile.platform, profile.erp)
                if s.system != system)
    return f"{system}_{name}" if clash else name


class _Model(BaseModel):
    # hide_input_in_errors: a secret pasted into the wrong field must not reach a traceback.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)


def checked_url(value: str) -> str:
    """An http(s) URL with a host and a usable port, carrying no credential: a password in
    `user:pass@` or a key in the query would sit in the config file and be printed."""
    if not re.match(r"^https?://[^/\s?#]+[^\s]*$", value):
        raise ValueError("must be an http:// or https:// URL with a host")
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user or password (user:pass@): store the secret "
                         "with `returns-console setup --secret NAME` (the OS keyring) or an "
                         "environment variable instead")
    secret_keys = [k for k, _ in parse_qsl(parts.query) if looks_secret(k)]
    if secret_keys:
        raise ValueError(f"must not carry {secret_keys[0]!r} in its query: store the secret "
                         "with `returns-console setup --secret NAME` (the OS keyring) or an "
                         "environment variable instead")
    try:
        parts.port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        raise ValueError("has a port out of range (1-65535)") from None
    if parts.port == 0:
        raise ValueError("has a port out of range (1-65535)")
    return value


class SystemSettings(_Model):
    """How to reach one system. Non-secret knobs only: store id, tenant, environment ..."""

    #: Which side it may be is checked by the profile (so a wrong platform lists platforms).
    system: str = Field(min_length=1)
    base_url: str
    options: dict[str, OptionValue] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checked_url(value)

    @field_validator("options")
    @classmethod
    def _no_secret_options(cls, value: dict[str, OptionValue]) -> dict[str, OptionValue]:
        for key, item in value.items():
            if looks_secret(key):
                raise ValueError(f"option {key!r} looks like a secret: store it with "
                                 f"`returns-console setup --secret {key}` instead")
            if isinstance(item, str) and re.match(r"(?i)^https?://", item):
                try:
                    checked_url(item)
                except ValueError as exc:
                    raise ValueError(f"option {key!r}: {exc}") from None
        return value


class Profile(_Model):
    """One returns platform paired with one ERP, and the policy to reconcile them with."""

    name: str
    platform: SystemSettings
    erp: SystemSettings
    read_only: bool = False
    #: Shown in colour on every screen; unset: "sandbox" when both systems are on this
    #: machine, else "production".
    environment: Literal["production", "sandbox", "demo"] | None = None
    #: Money tolerance per component, written as a string ("0.01") so it stays exact.
    tolerance: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    grace_hours: dict[Stage, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _usable_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("profile names are 1-64 letters, digits, '-', '_' or '.', "
                             "starting with a letter or digit")
        return value

    @field_validator("tolerance", mode="before")
    @classmethod
    def _exact_tolerance(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError('write the tolerance as a string, e.g. "0.01", so it stays exact')
        return value

    @field_validator("platform")
    @classmethod
    def _a_platform(cls, value: SystemSettings) -> SystemSettings:
        return _on_side(value, Side.PLATFORM)

    @field_validator("erp")
    @classmethod
    def _an_erp(cls, value: SystemSettings) -> SystemSettings:
        return _on_side(value, Side.ERP)

    @field_serializer("tolerance")
    def _tolerance_text(self, value: Decimal | None) -> str | None:
        return None if value is None else str(value)


def _on_side(value: SystemSettings, side: Side) -> SystemSettings:
    """A declared system of the right side, with options its options model accepts. An
    unknown option or a bad value fails here, at load, with its name; a required option
    left out is named when the profile is used (`doctor`, connecting), so a profile can be
    written in steps."""
    spec = systems.find(value.system)
    word = "a returns platform" if side is Side.PLATFORM else "an ERP"
    if spec is None or spec.side is not side:
        raise ValueError(f"system {value.system!r} is not {word}: "
                         f"{', '.join(systems.ids(side))}")
    problems = option_problems(value.system, value.options, missing=False)
    if problems:
        raise ValueError(problems[0])
    return value


def option_problems(system: str, options: dict[str, Any], *, missing: bool = True) -> list[str]:
    """What is wrong with a system's options, one sentence each (never the value given).
    `missing=False` leaves out required options not given yet."""
    spec = systems.find(system)
    if spec is None:
        return []
    try:
        spec.options.model_validate(options)
    except ValidationError as exc:
        out = []
        for error in exc.errors(include_url=False, include_input=False):
            name = ".".join(str(part) for part in error["loc"]) or "options"
            if error["type"] == "missing":
                # a required option, or those another option's value asks for
                named = str((error.get("ctx") or {}).get("options", name)).split()
                if missing:
                    out += [f"{spec.name} needs option {n}" for n in named]
            elif error["type"] == "extra_forbidden":
                known = ", ".join(spec.options.model_fields)
                out.append(f"{spec.name} has no option {name!r} (its options: {known})")
            else:
                out.append(f"option {name}: {error['msg'].removeprefix('Value error, ')}")
        return out
    return []


def system_options(settings: SystemSettings) -> Any:
    """The validated options model of a profile's system (ValidationError if incomplete)."""
    return systems.spec(settings.system).options.model_validate(settings.options)


class AppConfig(_Model):
    """The whole config file. Profile names are the `[profiles.NAME]` table keys."""

    profiles: dict[str, Profile] = Field(default_factory=dict)
    default_profile: str | None = None
    theme: str | None = None
    operator: str | None = None
    keymap: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if isinstance(profiles, dict):
            data = {**data, "profiles": {
                key: {"name": key, **value} if isinstance(value, dict) else value
                for key, value in profiles.items()
            }}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> AppConfig:
        for key, profile in self.profiles.items():
            if profile.name != key:
                raise ValueError(f"profile {key!r} has name {profile.name!r}: "
                                 "the name comes from the [profiles.NAME] header; drop it")
        if self.default_profile is not None and self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile here")
        return self


def load_config(path: Path) -> AppConfig:
    """Read the config file; a missing file is an empty config (first run)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AppConfig()
    except OSError as exc:
        raise UserError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"config {path} is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config {path} is not valid TOML: {_one_line(str(exc))}") from None
    _refuse_secrets(data, path)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"config {path}: {describe(exc)}") from None


def save_config(config: AppConfig, path: Path) -> None:
    """Write atomically (temp file in the same folder, then replace): a crash or a full disk
    never leaves a half-written config behind."""
    data = dump_config(config)
    _refuse_secrets(data, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                tomli_w.dump(data, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UserError(f"cannot write config {path}: {exc.strerror or exc}") from None


def dump_config(config: AppConfig) -> dict[str, Any]:
    """The TOML-ready dict: defaults left out so the file shows only what was chosen."""
    data = config.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    for profile in data.get("profiles", {}).values():
        profile.pop("name", None)
    return data


def describe(exc: ValidationError) -> str:
    """A pydantic error as one line: field path and problem, never the offending value
    (which could be a secret pasted in the wrong place)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    problem = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        text = f"unknown key {where}"
    else:
        text = f"{where}: {problem}" if where else problem
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return _one_line(text + (more if len(errors) > 1 else ""))


def _refuse_secrets(data: Any, path: Path, trail: tuple[str, ...] = ()) -> None:
    if isinstance(data, list):
        for item in data:
            _refuse_secrets(item, path, trail)
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        here = (*trail, str(key))
        # Profile names are the user's own labels ("token-test"), not settings: not checked.
        if trail != ("profiles",) and looks_secret(str(key)):
            from .secrets import env_var_name

            profile = trail[1] if len(trail) > 1 and trail[0] == "profiles" else "NAME"
            name = str(key) if str(key) in _KNOWN_SECRETS else "NAME"
            raise UserError(
                f"config {path}: {'.'.join(here)} looks like a secret, and config files must "
                f"not hold secrets: remove it and run `returns-console setup --profile {profile} "
                f"--secret {name}` (OS keyring) or set {env_var_name(profile, name)}")
        _refuse_secrets(value, path, here)


def _one_line(text: str) -> str:
    return " ".join(text.split())

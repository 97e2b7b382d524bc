"""API keys and passwords: the OS keyring, with environment variables for servers.

Why both: a desk machine has a keyring (Keychain, Credential Manager, Secret Service) and a
person types a secret once; a headless box running `check` from cron has none, so it gets the
secret from its service manager as RETURNS_CONSOLE_<PROFILE>_<NAME>. The environment wins so an
operator can override a stored secret for one run. Values never appear in logs, messages or
reprs: what leaves this module in an object is a pydantic SecretStr.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Literal

# keyring is imported where a secret is first read or written (about 0.1 s with its
# backends): the console's first frame and `check --snapshot` need none.
from pydantic import BaseModel, ConfigDict, SecretStr

from .errors import UserError

SERVICE = "returns-console"
KEYRING = "keyring"
ENVIRONMENT = "environment"
MISSING = "missing"
UNAVAILABLE = "keyring unavailable"
Source = Literal["keyring", "environment", "missing", "keyring unavailable"]


def env_var_name(profile: str, name: str) -> str:
    """RETURNS_CONSOLE_<PROFILE>_<NAME>: upper case, anything not A-Z or 0-9 becomes `_`."""
    return "RETURNS_CONSOLE_" + re.sub(r"[^A-Z0-9]", "_", f"{profile}_{name}".upper())


def keyring_username(profile: str, name: str) -> str:
    return f"{profile}/{name}"


class ResolvedSecret(BaseModel):
    """A secret and where it came from; the value prints as '**********'."""

    model_config = ConfigDict(frozen=True)

    profile: str
    name: str
    source: Source
    value: SecretStr | None = None


class SecretStore:
    """Look up, store and forget secrets per profile. Holds no values itself."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def __repr__(self) -> str:
        return f"SecretStore(service={SERVICE!r})"

    def resolve(self, profile: str, name: str) -> ResolvedSecret:
        """The environment first, then the keyring; an unusable keyring is not an error here."""
        env = os.environ if self._environ is None else self._environ
        from_env = env.get(env_var_name(profile, name))
        if from_env:
            return ResolvedSecret(profile=profile, name=name, source=ENVIRONMENT,
                                  value=SecretStr(from_env))
        import keyring
        from keyring.errors import KeyringError

        try:
            stored = keyring.get_password(SERVICE, keyring_username(profile, name))
        except (KeyringError, OSError):
            return ResolvedSecret(profile=profile, name=name, source=UNAVAILABLE)
        if not stored:
            return ResolvedSecret(profile=profile, name=name, source=MISSING)
        return ResolvedSecret(profile=profile, name=name, source=KEYRING,
                              value=SecretStr(stored))

    def get(self, profile: str, name: str) -> str | None:
        """The plain value for a connector to use right away, or None."""
        value = self.resolve(profile, name).value
        return None if value is None else value.get_secret_value()

    def where(self, profile: str, name: str) -> Source:
        """Where the secret would come from (see Source); never the value itself."""
        return self.resolve(profile, name).source

    def set(self, profile: str, name: str, value: str) -> None:
        """Store in the OS keyring, or explain how to use the environment variable instead."""
        if not value:
            raise UserError(f"refusing to store an empty {name} for profile {profile}")
        import keyring
        from keyring.errors import KeyringError

        user = keyring_username(profile, name)
        try:
            keyring.set_password(SERVICE, user, value)
            kept = keyring.get_password(SERVICE, user) == value
        except (KeyringError, OSError) as exc:
            raise UserError(self._no_keyring(profile, name, type(exc).__name__)) from None
        if not kept:  # e.g. the "null" backend, which accepts and forgets
            raise UserError(self._no_keyring(profile, name, "the keyring did not keep it"))

    def delete(self, profile: str, name: str) -> bool:
        """Forget a stored secret; False when there was none. Environment variables stay."""
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            keyring.delete_password(SERVICE, keyring_username(profile, name))
        except PasswordDeleteError:
            return False
        except (KeyringError, OSError) as exc:
            raise UserError(self._no_keyring(profile, name, type(exc).__name__)) from None
        return True

    @staticmethod
    def _no_keyring(profile: str, name: str, why: str) -> str:
        return (f"no OS keyring is available to store {name} for profile {profile} ({why}): "
                f"set the environment variable {env_var_name(profile, name)} instead, "
                "or install and unlock a keyring backend")


#: The key that makes the audit chain keyed (HMAC): an environment variable wins, else the OS
#: keyring, where it is created on first use. Never beside the log.
AUDIT_KEY_ENV = "RETURNS_CONSOLE_AUDIT_KEY"
AUDIT_KEY_USER = "audit-key"


def audit_key(environ: Mapping[str, str] | None = None, *, create: bool = True) -> bytes | None:
    """The audit key, or None when there is none and the keyring cannot keep one (the log
    is then chained unkeyed, and `audit verify` says so)."""
    env = os.environ if environ is None else environ
    if text := env.get(AUDIT_KEY_ENV, "").strip():
        return text.encode()
    import keyring
    from keyring.errors import KeyringError

    try:
        stored = keyring.get_password(SERVICE, AUDIT_KEY_USER)
        if stored:
            return stored.encode()
        if not create:
            return None
        import secrets as random

        made = random.token_hex(32)
        keyring.set_password(SERVICE, AUDIT_KEY_USER, made)
        return made.encode() if keyring.get_password(SERVICE, AUDIT_KEY_USER) == made else None
    except (KeyringError, RuntimeError, OSError):
        return None

"""Keyring backends for tests, so no test ever reads or writes the real OS keyring.

In-process tests install them with `keyring.set_keyring()`; subprocess tests name them in
PYTHON_KEYRING_BACKEND (e.g. `tests.config.fake_keyring.FileKeyring`), which keyring honours.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A dict: what a working desktop keyring looks like to the app."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class NoKeyring(KeyringBackend):
    """A headless Linux box: every call raises NoKeyringError."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("no backend")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("no backend")

    def delete_password(self, service: str, username: str) -> None:
        raise NoKeyringError("no backend")


class FileKeyring(MemoryKeyring):
    """MemoryKeyring kept in the JSON file named by FAKE_KEYRING_FILE: survives between the
    subprocesses of one test, so `setup` can store and `profiles` can find."""

    def _file(self) -> Path:
        return Path(os.environ["FAKE_KEYRING_FILE"])

    def get_password(self, service: str, username: str) -> str | None:
        self._load()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._load()
        super().set_password(service, username, password)
        self._file().write_text(json.dumps([[*key, value] for key, value in self.items.items()]))

    def _load(self) -> None:
        if self._file().exists():
            self.items = {(s, u): p for s, u, p in json.loads(self._file().read_text())}

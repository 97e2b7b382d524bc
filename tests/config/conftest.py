"""Every config test runs with its own RETURNS_CONSOLE_HOME, no RETURNS_CONSOLE_* variables
from the developer's shell, and a keyring that raises unless a test installs a working one."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import keyring.core
import pytest

from .fake_keyring import MemoryKeyring, NoKeyring


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("RETURNS_CONSOLE_") or name == "PYTHON_KEYRING_BACKEND":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("RETURNS_CONSOLE_HOME", str(home))
    # Registers the current backend for restoring after the test, then replaces it.
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    keyring.set_keyring(NoKeyring())
    return home


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def no_keyring() -> NoKeyring:
    backend = NoKeyring()
    keyring.set_keyring(backend)
    return backend

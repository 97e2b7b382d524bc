"""SecretStore: environment first, then keyring; a missing keyring is explained, not fatal."""

from __future__ import annotations

import pytest

from returns_console.errors import UserError
from returns_console.secrets import SERVICE, SecretStore, env_var_name

from .fake_keyring import MemoryKeyring, NoKeyring

VALUE = "sk_live_do-not-leak-42"


def test_env_var_name() -> None:
    assert env_var_name("demo-swap", "api_key") == "RETURNS_CONSOLE_DEMO_SWAP_API_KEY"
    assert env_var_name("eu.shop 2", "access_token") == "RETURNS_CONSOLE_EU_SHOP_2_ACCESS_TOKEN"


def test_set_get_delete_in_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.get("demo", "api_key") is None and store.where("demo", "api_key") == "missing"
    store.set("demo", "api_key", VALUE)
    assert memory_keyring.items == {(SERVICE, "demo/api_key"): VALUE}
    assert store.get("demo", "api_key") == VALUE
    assert store.where("demo", "api_key") == "keyring"
    assert store.delete("demo", "api_key") is True
    assert store.delete("demo", "api_key") is False
    assert store.get("demo", "api_key") is None


def test_environment_beats_keyring(memory_keyring: MemoryKeyring,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    SecretStore().set("demo-swap", "api_key", "from-keyring")
    monkeypatch.setenv("RETURNS_CONSOLE_DEMO_SWAP_API_KEY", VALUE)
    store = SecretStore()
    assert store.get("demo-swap", "api_key") == VALUE
    assert store.where("demo-swap", "api_key") == "environment"


def test_injected_environment() -> None:
    store = SecretStore(environ={"RETURNS_CONSOLE_P_PASSWORD": VALUE})
    assert store.get("p", "password") == VALUE


def test_no_keyring_get_returns_none(no_keyring: NoKeyring) -> None:
    store = SecretStore()
    assert store.get("demo", "api_key") is None
    assert store.where("demo", "api_key") == "keyring unavailable"


def test_no_keyring_environment_still_works(no_keyring: NoKeyring,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_CONSOLE_DEMO_API_KEY", VALUE)
    assert SecretStore().get("demo", "api_key") == VALUE


def test_no_keyring_set_explains_the_environment_variable(no_keyring: NoKeyring) -> None:
    with pytest.raises(UserError) as caught:
        SecretStore().set("demo-swap", "api_key", VALUE)
    message = str(caught.value)
    assert "no OS keyring" in message and "RETURNS_CONSOLE_DEMO_SWAP_API_KEY" in message
    assert VALUE not in message and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_no_keyring_delete_explains(no_keyring: NoKeyring) -> None:
    with pytest.raises(UserError, match="RETURNS_CONSOLE_DEMO_API_KEY"):
        SecretStore().delete("demo", "api_key")


def test_a_keyring_that_forgets_is_reported(memory_keyring: MemoryKeyring,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_keyring, "set_password", lambda *args: None)
    with pytest.raises(UserError, match="did not keep it"):
        SecretStore().set("demo", "api_key", VALUE)


def test_values_never_in_reprs(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("demo", "api_key", VALUE)
    resolved = store.resolve("demo", "api_key")
    assert resolved.value is not None and resolved.value.get_secret_value() == VALUE
    for text in (repr(store), repr(resolved), str(resolved), resolved.model_dump_json()):
        assert VALUE not in text


def test_empty_value_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(UserError):
        SecretStore().set("demo", "api_key", "")

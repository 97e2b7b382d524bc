"""The config file: round trip, first run, and one-line refusals of bad files."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from returns_console import systems
from returns_console.config import (
    AppConfig,
    Profile,
    SystemSettings,
    load_config,
    looks_secret,
    option_problems,
    required_secrets,
    save_config,
    secret_names,
)
from returns_console.domain.codes import Stage
from returns_console.errors import UserError

GOOD = """\
default_profile = "demo-swap"
theme = "textual-dark"
operator = "sam"

[keymap]
requeue = "ctrl+r"

[profiles.demo-swap]
read_only = true
tolerance = "0.01"
grace_hours = { received = 48, credited = 12.5 }

[profiles.demo-swap.platform]
system = "swap"
base_url = "https://api.swap.test/v1"

[profiles.demo-swap.platform.options]
store = "0012"
api_version = 2

[profiles.demo-swap.erp]
system = "d365_bc"
base_url = "https://api.businesscentral.dynamics.com"

[profiles.demo-swap.erp.options]
tenant = "contoso"
environment = "production"
token_url = "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
client_id = "abc-123"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(UserError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def profile(**changes) -> Profile:
    fields = {"name": "p", "platform": {"system": "shopify", "base_url": "https://s.test"},
              "erp": {"system": "netsuite", "base_url": "https://n.test"}, **changes}
    return Profile.model_validate(fields)


def test_loads_every_field(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    demo = config.profiles["demo-swap"]
    assert demo.name == "demo-swap" and demo.read_only
    assert demo.tolerance == Decimal("0.01")
    assert demo.grace_hours == {Stage.RECEIVED: 48, Stage.CREDITED: 12.5}
    assert demo.platform.options == {"store": "0012", "api_version": 2}
    assert demo.erp.options["token_url"].startswith("https://login")
    assert (config.default_profile, config.theme, config.operator) == (
        "demo-swap", "textual-dark", "sam")
    assert config.keymap == {"requeue": "ctrl+r"}


def test_round_trip(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    again = tmp_path / "again" / "config.toml"
    save_config(config, again)
    assert load_config(again) == config
    assert "name =" not in again.read_text()  # the table header is the name


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(AppConfig(profiles={"p": profile()}), path)
    path.chmod(0o640)
    save_config(AppConfig(), path)
    assert os.listdir(tmp_path) == ["config.toml"]
    assert path.stat().st_mode & 0o777 == 0o640  # replacing keeps the user's permissions
    assert load_config(path) == AppConfig()


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml")
    assert config == AppConfig()
    assert config.profiles == {} and config.default_profile is None and config.keymap == {}


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "dark"\n[profiles.a\nread_only = true\n')
    message = refusal(path)
    assert "not valid TOML" in message and "line 2" in message


def test_unknown_key_refused_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("read_only = true", "read_only = true\ncolour = 1"))
    assert "unknown key profiles.demo-swap.colour" in refusal(path)


def test_invalid_value_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('system = "swap"', 'system = "amazon"'))
    message = refusal(path)
    assert "profiles.demo-swap.platform" in message and "'amazon'" in message
    assert "d365_bc" not in message  # issue 10.9: a platform's choices, not the ERPs


def test_float_tolerance_refused(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, GOOD.replace('"0.01"', "0.01")))
    assert "profiles.demo-swap.tolerance" in message and "string" in message


def test_systems_on_the_wrong_side_refused(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, GOOD.replace('system = "swap"', 'system = "khaos"')))
    assert "returns platform" in message


def test_default_profile_must_exist(tmp_path: Path) -> None:
    assert "default_profile" in refusal(write(tmp_path, 'default_profile = "ghost"\n'))


@pytest.mark.parametrize("key", ["api_key", "client_secret", "password", "access_token",
                                 "apiKey", "Shopify-Access-Token", "token"])
def test_secret_looking_key_refused_anywhere(tmp_path: Path, key: str) -> None:
    value = "do-not-echo-me"
    for text in (f'{key} = "{value}"\n' + GOOD,
                 GOOD.replace('store = "0012"', f'store = "0012"\n{key} = "{value}"'),
                 GOOD.replace("[profiles.demo-swap.erp]\n",
                              f'[profiles.demo-swap.erp]\n{key} = "{value}"\n')):
        message = refusal(write(tmp_path, text))
        assert "looks like a secret" in message and "returns-console setup" in message
        assert value not in message


def test_secret_refusal_names_the_profile_and_variable(tmp_path: Path) -> None:
    text = GOOD.replace('client_id = "abc-123"', 'client_secret = "x"')
    assert "RETURNS_CONSOLE_DEMO_SWAP_CLIENT_SECRET" in refusal(write(tmp_path, text))


def test_looks_secret() -> None:
    assert not looks_secret("token_url") and not looks_secret("oauth_token_url")
    assert not looks_secret("client_id") and not looks_secret("store_id")
    assert looks_secret("token_url_secret") and looks_secret("refresh_token")
    # where a token is got and for how long are options (ZigZag's token_path, token_ttl)
    assert not looks_secret("token_path") and not looks_secret("token_ttl_seconds")
    assert looks_secret("webhook_secret") and looks_secret("password")


def test_profile_names_may_contain_secret_words(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(AppConfig(profiles={"token-test": profile(name="token-test")}), path)
    assert list(load_config(path).profiles) == ["token-test"]


def test_models_refuse_secret_options() -> None:
    with pytest.raises(ValidationError) as caught:
        SystemSettings(system="swap", base_url="https://x", options={"api_key": "hidden-value"})
    assert "hidden-value" not in str(caught.value)


def test_models_refuse_bad_urls_and_names() -> None:
    with pytest.raises(ValidationError):
        SystemSettings(system="swap", base_url="ftp://x")
    with pytest.raises(ValidationError):
        profile(name="has space")


def test_every_declared_system_names_its_secrets() -> None:
    declared = systems.all_systems()
    assert {s.id for s in declared} >= {"swap", "d365_bc"} and len(declared) == 8
    assert all(required_secrets(s.id) == s.secrets for s in declared)
    # a system that calls us needs its secrets only to serve it (`listen`)
    assert all(s.secrets or s.listen_secrets for s in declared)


def test_options_are_checked_against_the_systems_model_at_load(tmp_path: Path) -> None:
    """A typo'd option, or a value of the wrong kind, fails at load with its name; a
    required option not given yet is named when the profile is used."""
    message = refusal(write(tmp_path, GOOD.replace('store = "0012"', 'store_id = "0012"')))
    assert "has no option 'store_id'" in message and "store" in message
    message = refusal(write(tmp_path, GOOD.replace("api_version = 2", 'api_version = "x"')))
    assert "api_version" in message
    loaded = load_config(write(tmp_path, GOOD.replace('store = "0012"\n', "")))
    options = loaded.profiles["demo-swap"].platform.options
    assert option_problems("swap", options) == ["Swap Commerce needs option store"]


def test_secret_names_disambiguate_a_shared_name() -> None:
    assert secret_names(profile()) == [("shopify", "access_token"), ("netsuite", "private_key")]
    both = profile(platform={"system": "zigzag", "base_url": "https://z"},
                   erp={"system": "khaos", "base_url": "https://k"})
    assert secret_names(both) == [("zigzag", "zigzag_username"), ("zigzag", "zigzag_password")]
    listening = secret_names(both, listening=True)
    assert [n for n in listening if n[0] == "khaos"] == [("khaos", "khaos_username"),
                                                        ("khaos", "khaos_password")]

"""`locate`, `setup` and `profiles` as a person runs them: a real process, its own home.

The keyring in the child process is chosen with PYTHON_KEYRING_BACKEND: a file-backed fake,
or one that raises NoKeyringError like a headless Linux box. Never the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk_live_Never-Print-This-7f3a"
WORKING = "tests.config.fake_keyring.FileKeyring"
HEADLESS = "tests.config.fake_keyring.NoKeyring"
NEW_PROFILE = ["setup", "--profile", "demo-swap", "--platform", "swap",
               "--platform-url", "https://api.swap.test", "--erp", "d365_bc",
               "--erp-url", "https://api.bc.test", "--platform-option", "store=0012",
               "--erp-option", "tenant=contoso"]


@pytest.fixture
def run(isolated: Path, tmp_path: Path):
    def run(*args: str, stdin: str = "", backend: str = HEADLESS,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        child = {**os.environ, "RETURNS_CONSOLE_HOME": str(isolated),
                 "PYTHON_KEYRING_BACKEND": backend,
                 "FAKE_KEYRING_FILE": str(tmp_path / "keyring.json"), **(env or {})}
        return subprocess.run([sys.executable, "-m", "returns_console", *args], input=stdin,
                              capture_output=True, text=True, cwd=ROOT, env=child, timeout=60)
    return run


def assert_one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith("returns-console: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    for text in expected:
        assert text in done.stderr


def assert_never_leaked(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def test_locate_lines_and_json(run, isolated: Path) -> None:
    done = run("locate")
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "config_file", "data_dir", "cache_db", "audit_db", "triage_db", "inbox_db", "log_dir"]
    assert lines[0] == f"config_file: {isolated / 'config.toml'}"
    paths = json.loads(run("locate", "--format", "json").stdout)
    assert paths["audit_db"] == str(isolated / "data" / "audit.sqlite3")
    assert all(Path(p).is_relative_to(isolated) for p in paths.values())
    assert not isolated.exists()  # locating creates nothing


def test_config_flag_moves_the_config_file(run, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    assert json.loads(run("--config", str(other), "locate", "--format", "json").stdout)[
        "config_file"] == str(other)
    done = run("--config", str(other), *NEW_PROFILE)
    assert done.returncode == 0, done.stderr
    assert other.exists()
    assert "demo-swap" in run("--config", str(other), "profiles").stdout
    assert "no profiles" in run("profiles").stdout


def test_setup_then_profiles_with_a_working_keyring(run, isolated: Path) -> None:
    done = run(*NEW_PROFILE, "--secret-stdin", "api_key", stdin=SECRET + "\n", backend=WORKING)
    assert done.returncode == 0, done.stderr
    assert "created profile demo-swap" in done.stdout
    assert "stored api_key in the OS keyring" in done.stdout
    assert "still needed: client_secret" in done.stdout
    config = (isolated / "config.toml").read_text()
    assert 'store = "0012"' in config and 'default_profile = "demo-swap"' in config
    listed = run("profiles", backend=WORKING)
    assert listed.returncode == 0, listed.stderr
    assert "demo-swap (default): swap https://api.swap.test -> d365_bc" in listed.stdout
    assert "  api_key (swap): keyring" in listed.stdout
    assert "client_secret (d365_bc): missing" in listed.stdout
    as_json = json.loads(run("profiles", "--format", "json", backend=WORKING).stdout)
    sources = {s["name"]: s["source"] for s in as_json["profiles"][0]["secrets"]}
    assert sources == {"api_key": "keyring", "client_secret": "missing"}
    assert_never_leaked(done.stdout, done.stderr, listed.stdout, listed.stderr, config,
                        json.dumps(as_json))


def test_setup_updates_only_what_is_given(run, isolated: Path) -> None:
    assert run(*NEW_PROFILE).returncode == 0
    done = run("setup", "--profile", "demo-swap", "--erp-url", "https://bc2.test",
               "--platform-option", "store=", "--erp-option", "company=7")
    assert done.returncode == 0, done.stderr
    assert "updated profile demo-swap" in done.stdout
    config = (isolated / "config.toml").read_text()
    assert "https://bc2.test" in config and "https://api.swap.test" in config
    assert "store =" not in config and 'company = "7"' in config and "contoso" in config


def test_headless_secret_from_environment(run, isolated: Path) -> None:
    env = {"RETURNS_CONSOLE_DEMO_SWAP_API_KEY": SECRET}
    done = run(*NEW_PROFILE, env=env)
    assert done.returncode == 0, done.stderr
    listed = run("profiles", env=env)
    assert "api_key (swap): environment (RETURNS_CONSOLE_DEMO_SWAP_API_KEY)" in listed.stdout
    assert ("client_secret (d365_bc): missing, no OS keyring here: "
            "set RETURNS_CONSOLE_DEMO_SWAP_CLIENT_SECRET") in listed.stdout
    assert_never_leaked(done.stdout, done.stderr, listed.stdout, listed.stderr,
                        (isolated / "config.toml").read_text())


def test_headless_secret_stdin_fails_cleanly_and_writes_nothing(run, isolated: Path) -> None:
    done = run(*NEW_PROFILE, "--secret-stdin", "api_key", stdin=SECRET + "\n")
    assert_one_line_error(done, "no OS keyring", "RETURNS_CONSOLE_DEMO_SWAP_API_KEY")
    assert_never_leaked(done.stdout, done.stderr)
    assert not (isolated / "config.toml").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["setup", "--profile", "fresh"], "needs --platform, --platform-url, --erp, --erp-url"),
    ([*NEW_PROFILE[:6], "ftp://x", *NEW_PROFILE[7:]], "--platform-url: must be an http"),
    ([*NEW_PROFILE, "--platform-option", f"api_key={SECRET}"], "use --secret api_key"),
    ([*NEW_PROFILE, "--platform-option", "oops"], "KEY=VALUE"),
    ([*NEW_PROFILE, "--secret", "apikey"], "needs: api_key, client_secret"),
    ([*NEW_PROFILE, "--secret", "api_key"], "--secret-stdin api_key"),
    ([*NEW_PROFILE, "--secret-stdin", "api_key"], "no value on stdin"),
    (["setup", "--profile", "no good", *NEW_PROFILE[3:]], "--profile"),
])
def test_setup_errors_are_one_line(run, isolated: Path, args: list[str], expected: str) -> None:
    done = run(*args)
    assert_one_line_error(done, expected)
    assert_never_leaked(done.stderr)
    assert not (isolated / "config.toml").exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("[profiles.a\n", "line 1"),
    ("colour = 1\n", "unknown key colour"),
    (f'[profiles.a.platform.options]\napi_key = "{SECRET}"\n', "looks like a secret"),
])
def test_bad_config_files_are_one_line(run, isolated: Path, text: str, expected: str) -> None:
    isolated.mkdir(parents=True)
    (isolated / "config.toml").write_text(text)
    for command in (["profiles"], [*NEW_PROFILE]):
        done = run(*command)
        assert_one_line_error(done, str(isolated / "config.toml"), expected)
        assert_never_leaked(done.stderr)


def test_setup_refuses_a_planned_system_with_no_connector(monkeypatch) -> None:
    """A system declared but not built (Shopify once, Khaos Control until issue 16) is
    named as such, not as unknown."""
    from returns_console import systems
    from returns_console.config import AppConfig
    from returns_console.domain.codes import Side
    from returns_console.errors import UserError
    from returns_console.services.profiles import upsert_profile

    planned = systems.SystemSpec("sap", "SAP S/4HANA", Side.ERP)
    found = dict(systems._specs())
    monkeypatch.setattr(systems, "_specs", lambda: {**found, "sap": planned})
    with pytest.raises(UserError, match="SAP S/4HANA has no connector yet; ERPs that work"):
        upsert_profile(AppConfig(), "shop", platform="swap", platform_url="https://s.example",
                       erp="sap", erp_url="https://sap.example", platform_options={},
                       erp_options={}, make_default=False)


def test_a_config_whose_platform_is_an_erp_lists_platforms_only(run, isolated: Path) -> None:
    config = isolated / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[profiles.x.platform]\nsystem = "d365_bc"\nbase_url = "https://a.example"'
                      '\n[profiles.x.erp]\nsystem = "d365_bc"\nbase_url = "https://b.example"\n')
    done = run("check", "--profile", "x")
    assert done.returncode == 2 and "returns platform" in done.stderr
    assert "netsuite" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("url", "said"), [
    (f"https://user:{SECRET}@api.swap.test", "must not carry a user or password"),
    (f"https://api.swap.test/v1?api_key={SECRET}", "must not carry 'api_key' in its query"),
    ("https://api.swap.test:99999", "port out of range"),
])
def test_setup_refuses_a_url_with_a_credential_or_a_bad_port(run, isolated: Path, url: str,
                                                             said: str) -> None:
    """Issue 11.3 / 11.8: a credential in a URL would sit in the config file and be printed
    (setup says where the secret goes instead); port 99999 was accepted and `check` died
    later with `ValueError: Port out of range`."""
    args = [a if a != "https://api.swap.test" else url for a in NEW_PROFILE]
    done = run(*args)
    assert_one_line_error(done, said)
    assert_never_leaked(done.stdout, done.stderr)
    if "secret" in said or "user" in said or "query" in said:
        assert "setup --secret" in done.stderr
    assert not (isolated / "config.toml").exists()


def test_setup_refuses_a_token_url_with_a_credential(run, isolated: Path) -> None:
    done = run(*NEW_PROFILE, "--erp-option",
               f"token_url=https://login.test/token?client_secret={SECRET}")
    assert_one_line_error(done, "token_url", "must not carry 'client_secret'")
    assert_never_leaked(done.stdout, done.stderr)


def test_listen_says_there_is_nothing_to_listen_for_when_no_system_pushes(run) -> None:
    assert run(*NEW_PROFILE).returncode == 0
    done = run("listen", "--profile", "demo-swap")
    assert_one_line_error(done, "Swap Commerce and Dynamics 365 Business Central do not push",
                          "nothing to listen for")

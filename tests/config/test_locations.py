"""Where things live: OS defaults, RETURNS_CONSOLE_HOME, and --config."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from returns_console.locations import all_paths, resolve

ORDER = ["config_file", "data_dir", "cache_db", "audit_db", "triage_db", "inbox_db", "log_dir"]


def test_platform_defaults_without_overrides() -> None:
    paths = all_paths(environ={})
    assert list(paths) == ORDER
    assert paths["config_file"] == (
        platformdirs.user_config_path("returns-console", appauthor=False) / "config.toml")
    assert paths["data_dir"] == platformdirs.user_data_path("returns-console", appauthor=False)
    assert paths["log_dir"] == platformdirs.user_log_path("returns-console", appauthor=False)
    assert paths["cache_db"] == paths["data_dir"] / "cache.sqlite3"
    assert paths["audit_db"] == paths["data_dir"] / "audit.sqlite3"


def test_home_puts_everything_under_one_folder(tmp_path: Path) -> None:
    paths = all_paths(environ={"RETURNS_CONSOLE_HOME": str(tmp_path)})
    assert list(paths) == ORDER
    assert all(path.is_relative_to(tmp_path) for path in paths.values())
    assert paths["config_file"] == tmp_path / "config.toml"


def test_home_from_the_real_environment(isolated: Path) -> None:
    assert resolve().config_file == isolated / "config.toml"


def test_config_flag_beats_home(tmp_path: Path) -> None:
    found = resolve(tmp_path / "other.toml", environ={"RETURNS_CONSOLE_HOME": str(tmp_path / "h")})
    assert found.config_file == tmp_path / "other.toml"
    assert found.data_dir == tmp_path / "h" / "data"


def test_relative_config_path_is_made_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("mine.toml", environ={}).config_file == tmp_path / "mine.toml"


def test_resolving_creates_nothing(tmp_path: Path) -> None:
    resolve(environ={"RETURNS_CONSOLE_HOME": str(tmp_path / "nope")})
    assert not (tmp_path / "nope").exists()

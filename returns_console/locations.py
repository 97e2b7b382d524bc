"""Every file and folder the app reads or writes, decided in one place.

Why one module: support questions start with "where is my config?", and `returns-console
locate` must answer with exactly the paths the app really uses. Paths come from platformdirs so
they follow each OS's conventions; `--config FILE` moves the config file, and
RETURNS_CONSOLE_HOME moves everything under one folder (for tests, portable installs and
side-by-side environments). Nothing here creates a folder: asking where is not writing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "returns-console"
HOME_ENV = "RETURNS_CONSOLE_HOME"
CONFIG_NAME = "config.toml"
CACHE_DB_NAME = "cache.sqlite3"
AUDIT_DB_NAME = "audit.sqlite3"
TRIAGE_DB_NAME = "triage.sqlite3"
INBOX_DB_NAME = "inbox.sqlite3"


@dataclass(frozen=True)
class Locations:
    """The resolved paths. Build with `resolve()`, never by hand, so overrides apply."""

    config_file: Path
    data_dir: Path
    log_dir: Path

    @property
    def cache_db(self) -> Path:
        """Last-sync cache: lets `check` answer `stale` instead of `down`."""
        return self.data_dir / CACHE_DB_NAME

    @property
    def audit_db(self) -> Path:
        """Audit log of operator actions: never in the cache, so clearing a cache keeps it."""
        return self.data_dir / AUDIT_DB_NAME

    @property
    def audit_witness(self) -> Path:
        """Beside the config, not the log: remembers that an audit log exists, so deleting
        the log and its head file together is seen as a deletion."""
        return self.config_file.parent / "audit-log.seen"

    @property
    def triage_db(self) -> Path:
        """Each exception's triage state (acknowledged, snoozed, owner, note, tags)."""
        return self.data_dir / TRIAGE_DB_NAME

    @property
    def inbox_db(self) -> Path:
        """Deliveries systems pushed to `returns-console listen`, kept until read (and
        after: a later connector may read them again)."""
        return self.data_dir / INBOX_DB_NAME

    def as_mapping(self) -> dict[str, Path]:
        """Every path, in the order `locate` prints them."""
        return {
            "config_file": self.config_file,
            "data_dir": self.data_dir,
            "cache_db": self.cache_db,
            "audit_db": self.audit_db,
            "triage_db": self.triage_db,
            "inbox_db": self.inbox_db,
            "log_dir": self.log_dir,
        }


def resolve(config_file: Path | str | None = None,
            environ: Mapping[str, str] | None = None) -> Locations:
    """Where things live: `--config` beats RETURNS_CONSOLE_HOME beats the OS defaults."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV, "").strip()
    if home:
        root = _absolute(home)
        found = Locations(root / CONFIG_NAME, root / "data", root / "logs")
    else:
        found = Locations(
            platformdirs.user_config_path(APP_NAME, appauthor=False) / CONFIG_NAME,
            platformdirs.user_data_path(APP_NAME, appauthor=False),
            platformdirs.user_log_path(APP_NAME, appauthor=False),
        )
    if config_file is not None and str(config_file).strip():
        found = Locations(_absolute(config_file), found.data_dir, found.log_dir)
    return found


def all_paths(config_file: Path | str | None = None,
              environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Every path the app uses, in a stable order: what `returns-console locate` prints."""
    return resolve(config_file, environ).as_mapping()


def _absolute(path: Path | str) -> Path:
    # Absolute so `locate` output can be pasted anywhere; no resolve() so symlinks show as set.
    return Path(os.path.abspath(Path(path).expanduser()))

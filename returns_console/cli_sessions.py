"""What several commands (`cli.py`, `cli_act.py`) need to open a profile: kept apart so the
two command modules do not import each other."""

from __future__ import annotations

from .errors import UserError


def load_profile(obj: dict, name: str | None):
    from .config import load_config
    from .locations import resolve

    path = resolve(obj.get("config_path")).config_file
    config = load_config(path)
    name = name or config.default_profile
    if not name:
        raise UserError(f"no profile given and no default profile in {path}; "
                        "create one with `returns-console setup`")
    if name not in config.profiles:
        known = ", ".join(sorted(config.profiles)) or "none yet"
        raise UserError(f"no profile {name!r} in {path} (profiles: {known})")
    return config.profiles[name]


def deadline_of(obj: dict) -> float:
    from .services.deadlines import DEFAULT_DEADLINE

    return obj.get("deadline") or DEFAULT_DEADLINE


def profile_session(obj: dict, name: str | None, read_only: bool = False):
    from .locations import resolve
    from .services.connections import store_lookup
    from .services.mappings import load_mappings, save_mappings
    from .services.session import LiveSession

    profile = load_profile(obj, name)
    where = resolve(obj.get("config_path"))
    return LiveSession(profile, store_lookup(profile), lambda: load_mappings(obj, profile.name),
                       where.cache_db, inbox_path=where.inbox_db,
                       read_only=read_only or obj.get("read_only", False),
                       save_mappings=lambda m: save_mappings(obj, profile.name, m),
                       deadline=deadline_of(obj))

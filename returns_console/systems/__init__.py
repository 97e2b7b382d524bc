"""The registry: every system the console knows, declared once.

A built system is one folder here (`systems/<id>/`, whose `__init__` holds its SystemSpec)
and one line in BUILT. A system users pair but we have not built yet is one line in PLANNED,
so a profile naming it is told so instead of "unknown". Config types, CLI choices, display
names, `setup` help, `doctor`, the sandbox and the docs' pair table all come from here;
nothing else lists systems.
"""

from __future__ import annotations

import importlib
from functools import cache

from ..domain.codes import Side
from .spec import Capabilities, ReadShape, SystemOptions, SystemSpec

#: One line per built system: its folder under returns_console/systems/.
BUILT: tuple[str, ...] = (
    "swap",
    "shopify",
    "happy_returns",
    "zigzag",
    "d365_bc",
    "netsuite",
    "d365_fo",
    "khaos",
)

#: The pair `demo`, `sandbox` and the scenario builder use when none is named.
DEFAULT_PAIR: tuple[str, str] = ("swap", "d365_bc")

#: Declared, not built yet: (id, display name, side, secrets its API will need).
PLANNED: tuple[SystemSpec, ...] = ()


@cache
def _specs() -> dict[str, SystemSpec]:
    found: dict[str, SystemSpec] = {}
    for system_id in BUILT:
        spec = importlib.import_module(f"{__name__}.{system_id}").SPEC
        if spec.id != system_id:
            raise RuntimeError(f"systems/{system_id} declares itself as {spec.id!r}")
        found[system_id] = spec
    for spec in PLANNED:
        found.setdefault(spec.id, spec)
    return found


def all_systems() -> list[SystemSpec]:
    """Every declared system, built ones first, platforms before ERPs."""
    return sorted(_specs().values(), key=lambda s: (s.side is Side.ERP, not s.built))


def spec(system_id: str) -> SystemSpec:
    """The system's declaration; KeyError for an id nobody declared."""
    return _specs()[system_id]


def find(system_id: str) -> SystemSpec | None:
    return _specs().get(system_id)


def ids(side: Side | None = None, *, built: bool | None = None) -> tuple[str, ...]:
    return tuple(s.id for s in all_systems()
                 if (side is None or s.side is side) and (built is None or s.built == built))


def names() -> dict[str, str]:
    """Display name by id, for sentences (the domain gets them in its Context)."""
    return {s.id: s.name for s in all_systems()}


def display_name(system_id: str) -> str:
    found = find(system_id)
    return found.name if found else system_id


__all__ = ["BUILT", "DEFAULT_PAIR", "PLANNED", "Capabilities", "ReadShape", "SystemOptions",
           "SystemSpec", "all_systems", "display_name", "find", "ids", "names", "spec"]

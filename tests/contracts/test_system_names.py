"""A system is one folder: its own names (API fields, entity sets, statuses, its id) appear
only there. Generic layers that name a system's field are how Business Central got built
into the console; this test lists every place that would happen again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from returns_console import systems
from returns_console.kits import KIT_NAMES

PACKAGE = Path(systems.__file__).resolve().parents[1]
SYSTEMS_DIR = PACKAGE / "systems"
KITS_DIR = PACKAGE / "kits"


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _hits(names: set[str], allowed: list[Path]) -> list[str]:
    # whole names only: one vendor's `return_status` is not inside another's
    # `return_status_updated`
    pattern = re.compile("(?<![\\w])(?:" + "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)) + ")(?![\\w])")
    out = []
    for path in _sources():
        if any(path.is_relative_to(folder) for folder in allowed):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                out.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {match.group()}")
    return out


@pytest.mark.parametrize("spec", [s for s in systems.all_systems() if s.built],
                         ids=lambda s: s.id)
def test_a_systems_own_names_stay_in_its_folder(spec: systems.SystemSpec) -> None:
    quoted_id = {f'"{spec.id}"', f"'{spec.id}'", f"systems.{spec.id}"}
    hits = _hits(set(spec.own_names) | quoted_id, [SYSTEMS_DIR / spec.id,
                                                   SYSTEMS_DIR / "__init__.py"])
    # Two vendors may use the same word ("Pending Approval"): where another system declares
    # it as its own too, it is that system's name in that system's folder.
    shared = {(name, other.id) for other in systems.all_systems() if other is not spec
              for name in set(spec.own_names) & set(other.own_names)}
    hits = [hit for hit in hits if not any(
        hit.endswith(f": {name}") and f"/systems/{other}/" in hit for name, other in shared)]
    assert not hits, "names of " + spec.name + " outside its folder:\n" + "\n".join(hits)


@pytest.mark.parametrize("kit", sorted(KIT_NAMES))
def test_a_kits_names_stay_in_the_kit_and_the_systems_that_speak_it(kit: str) -> None:
    hits = _hits(set(KIT_NAMES[kit]), [KITS_DIR / kit, SYSTEMS_DIR])
    assert not hits, f"{kit} names outside the kit and the systems:\n" + "\n".join(hits)


def test_every_built_system_declares_names_to_guard() -> None:
    for spec in systems.all_systems():
        if spec.built:
            assert spec.own_names, f"{spec.id} declares no names of its own"
            assert (SYSTEMS_DIR / spec.id / "__init__.py").is_file()

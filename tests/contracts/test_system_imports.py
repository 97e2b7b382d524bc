"""The import contracts that depend on which systems exist, derived from the registry (the
static ones live in pyproject's [tool.importlinter]): systems do not import each other; a
system's simulator and its connector do not import each other (the simulator stays an
independent reading of the vendor's docs); generic layers import no system by name."""

from __future__ import annotations

import grimp
import pytest

from returns_console import systems

PACKAGE = "returns_console"
BUILT = [s.id for s in systems.all_systems() if s.built]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def _modules(graph: grimp.ImportGraph, system: str) -> set[str]:
    root = f"{PACKAGE}.systems.{system}"
    return {m for m in graph.modules if m == root or m.startswith(root + ".")}


def _simulator_side(module: str) -> bool:
    return module.rsplit(".", 1)[-1].startswith("simulator")


def _imports(graph: grimp.ImportGraph, sources: set[str], targets: set[str]) -> list[str]:
    return sorted(f"{s} -> {t}" for s in sources
                  for t in graph.find_modules_directly_imported_by(s) if t in targets)


def test_systems_do_not_import_each_other(graph: grimp.ImportGraph) -> None:
    found = []
    for a in BUILT:
        for b in BUILT:
            if a != b:
                found += _imports(graph, _modules(graph, a), _modules(graph, b))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("system", BUILT)
def test_a_simulator_and_its_connector_do_not_import_each_other(
        graph: grimp.ImportGraph, system: str) -> None:
    mine = _modules(graph, system)
    simulator = {m for m in mine if _simulator_side(m)}
    assert simulator, f"{system} has no simulator module"
    client = mine - simulator - {f"{PACKAGE}.systems.{system}"}
    found = _imports(graph, simulator, mine - simulator) + _imports(graph, client, simulator)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("system", BUILT)
def test_a_simulator_is_a_server_not_a_client_of_the_app(graph: grimp.ImportGraph,
                                                         system: str) -> None:
    simulator = {m for m in _modules(graph, system) if _simulator_side(m)}
    forbidden = {m for m in graph.modules if m.split(".")[1:2] in (
        ["connectors"], ["services"], ["store"], ["tui"], ["cli"], ["config"], ["secrets"])}
    found = _imports(graph, simulator, forbidden)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("system", BUILT)
def test_a_connector_knows_nothing_of_config_the_store_the_ui_or_the_sandbox(
        graph: grimp.ImportGraph, system: str) -> None:
    client = {m for m in _modules(graph, system) if not _simulator_side(m)}
    forbidden = {m for m in graph.modules if m.split(".")[1:2] in (
        ["sandbox"], ["services"], ["store"], ["tui"], ["cli"], ["config"], ["secrets"])}
    found = _imports(graph, client, forbidden)
    assert not found, "\n".join(found)


def test_generic_layers_import_no_system_by_name(graph: grimp.ImportGraph) -> None:
    every_system = set().union(*(_modules(graph, s) for s in BUILT))
    generic = {m for m in graph.modules if not m.startswith(f"{PACKAGE}.systems.")
               or m == f"{PACKAGE}.systems.spec"}
    found = _imports(graph, generic, every_system)
    assert not found, "\n".join(found)

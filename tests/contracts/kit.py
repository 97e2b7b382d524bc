"""What the registry contracts (test_registry_contracts.py) share: the systems and pairs to
run them on, taken from the registry, and small helpers to build a pair's sandbox, read it
through the real connectors and compare what they found with what was planted.

Nothing here names a system: a system added to the registry is tested by adding it there.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from returns_console import systems
from returns_console.config import Profile, SystemSettings
from returns_console.connectors.base import ChannelErp, ReturnsPlatform
from returns_console.connectors.http import CallLog
from returns_console.domain.codes import Side
from returns_console.sandbox.demo import Sandbox, build_sandbox
from returns_console.sandbox.faults import Faults
from returns_console.services.check import CheckReport
from returns_console.services.demo import demo_mappings, demo_push
from returns_console.services.live import LiveData, fetch_live, live_report
from returns_console.systems.spec import ReadShape

#: One clock for the whole module: the scenario's dates and the reconciliation's "now" agree,
#: and the connectors' own history windows (taken from the real clock) include every record.
NOW = datetime.now(UTC).replace(microsecond=0)
#: Where an in-process sandbox claims to live (requests never leave the process).
IN_PROCESS = "http://sandbox.test"
#: Scenario sizes tried, smallest first, when a contract needs a plant 30 returns lack.
SIZES = (30, 60, 90)

BUILT: list[systems.SystemSpec] = [s for s in systems.all_systems() if s.built]
SIMULATED = [s for s in BUILT if s.simulator is not None]
PAIRS: list[tuple[str, str]] = [(p.id, e.id) for p in SIMULATED if p.side is Side.PLATFORM
                                for e in SIMULATED if e.side is Side.ERP]


def system_params() -> list[Any]:
    return [pytest.param(s, id=s.id) for s in BUILT]


def pair_params(*, requests_both: bool = False) -> list[Any]:
    """Every pair; with `requests_both`, only pairs whose ERP the console makes requests of
    (an ERP that calls us is asked nothing: faults and paging are its platform's, tested
    with the other ERPs)."""
    return [pytest.param(p, e, id=f"{p}-{e}") for p, e in PAIRS
            if not requests_both or ReadShape.EVENTS not in systems.spec(e).capabilities.reads]


def pair_of(system: str) -> tuple[str, str]:
    """The first pair a system's contracts run in (each system's partner does not matter)."""
    for pair in PAIRS:
        if system in pair:
            return pair
    pytest.fail(f"{system} is built but no sandbox pair has it: it needs a simulator (and a "
                "built system on the other side)")


def side_of(profile: Profile, system: str) -> str:
    return "platform" if profile.platform.system == system else "erp"


# -- sandboxes --------------------------------------------------------------------------------


def sandbox(platform: str, erp: str, *, returns: int = 30, faults: Faults | None = None,
            **knobs: Any) -> Sandbox:
    return build_sandbox(NOW, platform=platform, erp=erp, returns=returns, faults=faults,
                         **knobs)


def sandbox_planting(platform: str, erp: str, wanted: Iterable[str]) -> Sandbox:
    """The smallest sandbox of the pair with a plant (not a delay) of one of `wanted`."""
    wanted = set(wanted)
    for size in SIZES:
        box = sandbox(platform, erp, returns=size)
        if any(t["code"] in wanted and not t["delay"] for t in box.truth):
            return box
    pytest.fail(f"{platform} × {erp}: no scenario up to {SIZES[-1]} returns plants any of "
                f"{sorted(wanted)}")


def in_process(box: Sandbox) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=box.app())


def tuned(profile: Profile, **extra: Any) -> Profile:
    """The profile with `extra` options on both sides (e.g. retry knobs)."""
    return profile.model_copy(update={
        side: SystemSettings(system=s.system, base_url=s.base_url,
                             options={**s.options, **extra.get(s.system, {}),
                                      **extra.get("*", {})})
        for side, s in (("platform", profile.platform), ("erp", profile.erp))})


def page_option(spec: systems.SystemSpec) -> tuple[str, int] | None:
    """The option a system declares for its page size (`page_option`) and its smallest
    allowed value."""
    if spec.page_option is None:
        return None
    info = spec.options.model_fields[spec.page_option]
    low = next((getattr(m, "ge", None) for m in info.metadata
                if getattr(m, "ge", None) is not None), 1)
    return spec.page_option, int(low)


def check(box: Sandbox, profile: Profile, lookup=None, *, transport=None,
          log: CallLog | None = None) -> tuple[LiveData, CheckReport]:
    """The live check of the pair: both sides read through their real connectors (a
    platform that pushes has its simulator's deliveries posted to a receiver first, as the
    demo does, and is read from that inbox)."""
    pushed = demo_push(box, profile, secrets=lookup, transport=transport)
    try:
        if pushed is not None:
            pushed.push()
        data = asyncio.run(fetch_live(profile, lookup or box.secret, transport=transport,
                                      log=log, inbox=pushed.inbox if pushed else None))
    finally:
        if pushed is not None:
            pushed.close()
    return data, live_report(profile, data, demo_mappings(box), now=NOW)


def reader(box: Sandbox, side: str) -> Callable[[Any], Awaitable[Any]]:
    """One authenticated read of a side's connector, whatever its shape: a pull, or a
    look-up of a reference the scenario has (a pushing platform's API is only asked that);
    an ERP that calls us is read from what it sent (nothing is asked of it)."""
    if side == "erp":
        async def read_erp(connector: Any) -> Any:
            if isinstance(connector, ChannelErp):
                return connector.records_from_events([])
            return await connector.fetch_records()
        return read_erp
    ref = box.scenario.snapshot["returns"][0]["platform"]["return_ref"]

    async def read(connector: Any) -> Any:
        if isinstance(connector, ReturnsPlatform):
            return await connector.fetch_returns()
        return await connector.lookup([ref])

    return read


def findings(report: CheckReport) -> set[tuple[str, str]]:
    return {(f["return_ref"], f["code"]) for f in report.to_json()["findings"]}


def delays(report: CheckReport) -> set[tuple[str, str]]:
    return {(f["return_ref"], f["code"]) for f in report.to_json()["delays"]}


def planted(box: Sandbox, *, delayed: bool = False) -> set[tuple[str, str]]:
    return {(t["return_ref"], t["code"]) for t in box.truth if t["delay"] is delayed}


# -- any JSON ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


def bent(record: Any, path: list[int], value: Any) -> Any:
    """The record with one field (at a drawn depth) replaced by a drawn JSON value."""
    out = copy.deepcopy(record)
    node = out
    for step in path[:-1]:
        if isinstance(node, dict) and node:
            node = node[sorted(node)[step % len(node)]]
        elif isinstance(node, list) and node:
            node = node[step % len(node)]
    if isinstance(node, dict) and node:
        node[sorted(node)[path[-1] % len(node)]] = value
    elif isinstance(node, list) and node:
        node[path[-1] % len(node)] = value
    return out


# -- the write journal ------------------------------------------------------------------------


def journal(box: Sandbox) -> list[dict]:
    return json.loads(box.erp.writes_json(), parse_float=Decimal)

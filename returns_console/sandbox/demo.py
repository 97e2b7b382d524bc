"""The demo sandbox: one platform simulator and one ERP simulator, any pair the registry
knows, on one loopback port, loaded with one canonical scenario, plus the profile and
(public) credentials that reach them.

    http://127.0.0.1:PORT/PLATFORM/...                          the platform's API
    http://127.0.0.1:PORT/ERP/...                               the ERP's API
    http://127.0.0.1:PORT/_sandbox                              what is served, ground truth
    http://127.0.0.1:PORT/_sandbox/writes                       every write the ERP received
                                                                (GET; DELETE clears it)
    POST /_sandbox/bump?entity=SET&id=ID                        someone else edits an ERP record
    POST /_sandbox/fail-writes?count=N&status=503&after=false   the next N ERP writes fail
    http://127.0.0.1:PORT/_sandbox/stats                        requests and bytes served, per
                                                                system and path (GET; DELETE
                                                                resets it)

PLATFORM and ERP are the systems' registry ids (e.g. /swap, /d365_bc).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .. import systems
from ..config import Profile, SystemSettings
from ..domain.codes import Side
from ..domain.reference import Mappings
from ..scenarios.catalogue import Scenario, build_scenario
from .faults import Faults
from .hosted import HostedErp, HostedSystem
from .stats import Counting, Served

DEFAULT_PAIR = systems.DEFAULT_PAIR


def profile_name(platform: str, erp: str) -> str:
    """The demo profile of a pair: demo-swap-d365bc for the default pair."""
    return f"demo-{platform.replace('_', '')}-{erp.replace('_', '')}"


#: Kept for callers of the default pair.
PROFILE = profile_name(*DEFAULT_PAIR)


def mount_of(system: str) -> str:
    """Where a system is served under the sandbox's root: its registry id."""
    return system


@dataclass(slots=True)
class Sandbox:
    scenario: Scenario
    platform_id: str
    erp_id: str
    platform: HostedSystem
    erp: HostedErp
    #: What each simulator served (`GET /_sandbox/stats`).
    served: Served = field(default_factory=Served)

    def __post_init__(self) -> None:
        if not self.served.systems:
            self.served = Served((self.platform_id, self.erp_id))

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/_sandbox", self._index),
            Route("/_sandbox/truth", self._truth),
            Route("/_sandbox/touch", self._touch, methods=["POST"]),
            Route("/_sandbox/writes", self._writes, methods=["GET", "DELETE"]),
            Route("/_sandbox/bump", self._bump, methods=["POST"]),
            Route("/_sandbox/fail-writes", self._fail_writes, methods=["POST"]),
            Route("/_sandbox/stats", self._stats, methods=["GET", "DELETE"]),
            Mount(f"/{mount_of(self.platform_id)}",
                  app=Counting(self.platform.app(), self.platform_id, self.served)),
            Mount(f"/{mount_of(self.erp_id)}",
                  app=Counting(self.erp.app(), self.erp_id, self.served)),
        ])

    @property
    def truth(self) -> list[dict]:
        return self.scenario.truth

    @property
    def requests(self) -> int:
        return self.platform.requests + self.erp.requests

    @property
    def profile_name(self) -> str:
        return profile_name(self.platform_id, self.erp_id)

    def profile(self, base_url: str) -> Profile:
        """The demo profile, pointing at the sandbox served on `base_url`."""
        sides = []
        for system, hosted in ((self.platform_id, self.platform), (self.erp_id, self.erp)):
            url = f"{base_url}/{mount_of(system)}"
            sides.append(SystemSettings(system=system, base_url=url,
                                        options=hosted.settings(url)))
        return Profile(name=self.profile_name, platform=sides[0], erp=sides[1])

    def secret(self, system: str, name: str) -> str | None:
        """A demo secret by the name the profile stores it under (a name both systems use
        is stored prefixed with the system's id)."""
        hosted = {self.platform_id: self.platform, self.erp_id: self.erp}.get(system)
        if hosted is None:
            return None
        given = hosted.credentials()
        return given.get(name) or given.get(name.removeprefix(f"{system}_"))

    def mappings(self) -> Mappings:
        """The demo company's mapping tables, keyed by the platform's codes as its
        connector reads them (the scenario writes its own words)."""
        tables = dict(self.scenario.snapshot["mappings"])
        for table, kind in (("payment_methods", "refund_method"), ("locations", "location"),
                            ("reasons", "reason"), ("fees", "fee")):
            if isinstance(tables.get(table), dict):
                tables[table] = {self.platform.native_code(kind, k): v
                                 for k, v in tables[table].items()}
        return Mappings.model_validate(tables)

    def credentials(self) -> list[tuple[str, str, str]]:
        """(system, secret name, public demo value) of both systems."""
        return [(system, name, value)
                for system, hosted in ((self.platform_id, self.platform),
                                       (self.erp_id, self.erp))
                for name, value in hosted.credentials().items()]

    async def _index(self, request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        profile = self.profile(base)
        return JSONResponse({
            "profile": profile.model_dump(mode="json"),
            "returns": len(self.scenario.snapshot["returns"]),
            "planted": len(self.truth),
            "truth": f"{base}/_sandbox/truth",
            "writes": f"{base}/_sandbox/writes",
            "stats": f"{base}/_sandbox/stats",
        })

    async def _truth(self, request: Request) -> JSONResponse:
        return JSONResponse(self.truth)

    def touch(self, count: int, at: datetime) -> list[str]:
        """Activity: `count` returns change in both systems at `at` (same values, new
        timestamps and concurrency tokens), as if users had edited them."""
        refs = [c["platform"]["return_ref"] for c in self.scenario.snapshot["returns"]]
        chosen = refs[:: max(1, len(refs) // max(count, 1))][:count]
        self.platform.touch(set(chosen), at)
        self.erp.touch(set(chosen), at)
        return chosen

    async def _touch(self, request: Request) -> JSONResponse:
        try:
            count = int(request.query_params.get("count", "1"))
        except ValueError:
            return JSONResponse({"error": "count must be a whole number"}, status_code=400)
        return JSONResponse({"touched": self.touch(count, datetime.now(UTC))})

    async def _writes(self, request: Request) -> Response:
        """The ERP's write journal: what was (and was not) sent, as received."""
        if request.method == "DELETE":
            return JSONResponse({"cleared": self.erp.clear_writes()})
        return Response(self.erp.writes_json(), media_type="application/json")

    async def _stats(self, request: Request) -> JSONResponse:
        """Requests and response body bytes each simulator served, per path (query strings
        dropped, record keys collapsed): GET shows them, DELETE starts again from zero."""
        if request.method == "DELETE":
            return JSONResponse({"cleared": self.served.reset()})
        return JSONResponse(self.served.as_json())

    async def _bump(self, request: Request) -> JSONResponse:
        """A concurrent edit of one ERP record (a new concurrency token), for conflicts."""
        entity, ident = request.query_params.get("entity"), request.query_params.get("id")
        if not entity or not ident:
            return JSONResponse({"error": "give entity and id"}, status_code=400)
        try:
            record = self.erp.bump(entity, ident)
        except KeyError as exc:
            return JSONResponse({"error": str(exc.args[0])}, status_code=404)
        return JSONResponse({"entity": entity, **record})

    async def _fail_writes(self, request: Request) -> JSONResponse:
        """The next N writes to the ERP fail with a status (503 by default); `after=true` makes
        the change first, as when the answer is lost."""
        query = request.query_params
        try:
            count = int(query.get("count", "1"))
            status = int(query.get("status", "503"))
        except ValueError:
            return JSONResponse({"error": "count and status must be whole numbers"},
                                status_code=400)
        if not 500 <= status <= 599:
            return JSONResponse({"error": "status must be a 5xx"}, status_code=400)
        after = query.get("after", "false").lower() in ("1", "true", "yes")
        self.erp.fail_writes(count, status=status, after=after)
        return JSONResponse({"failing": count, "status": status, "after": after})


def demo_definition() -> dict:
    """fixtures/demo/scenario.json: the seed, size and healthy share of the demo company
    (shipped inside the package as _fixtures when installed from a wheel)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "fixtures", here.parents[1] / "_fixtures"):
        path = candidate / "demo" / "scenario.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError("fixtures/demo/scenario.json is missing from this installation")


def build_sandbox(now: datetime, *, returns: int | None = None, seed: int | None = None,
                  faults: Faults | None = None, malformed: bool = True,
                  platform: str | None = None, erp: str | None = None,
                  **knobs: Any) -> Sandbox:
    """The demo scenario (fixtures/demo/scenario.json, unless `returns` or `seed` say
    otherwise) rendered into both systems' own JSON and served by their simulators, for
    any platform and ERP the registry has simulators of (the demo pair by default). Only
    the plants the pair can show are planted. `malformed=False` leaves out the records
    planted as invalid payloads; other `knobs` go to the ERP's simulator (e.g.
    `return_orders_api=False` for Business Central)."""
    platform = platform or DEFAULT_PAIR[0]
    erp = erp or DEFAULT_PAIR[1]
    specs = [_simulated(platform, Side.PLATFORM), _simulated(erp, Side.ERP)]
    demo = demo_definition()
    facts = specs[0].capabilities.facts | specs[1].capabilities.facts
    scenario = build_scenario(
        now, returns=returns or demo["returns"], seed=demo["seed"] if seed is None else seed,
        healthy_share=demo["healthy_share"], capabilities=facts,
        platform=platform, erp=erp, profile=profile_name(platform, erp))
    if not malformed:
        bad = {c["platform"]["return_ref"] for c in scenario.snapshot["returns"]
               if c.get("problems")}
        scenario.snapshot["returns"] = [c for c in scenario.snapshot["returns"]
                                        if c["platform"]["return_ref"] not in bad]
        scenario.truth = [t for t in scenario.truth if t["return_ref"] not in bad]
    faults = faults or Faults()
    hosted_platform = specs[0].load("simulator")(scenario.snapshot, faults=faults)
    hosted_erp = specs[1].load("simulator")(scenario.snapshot, faults=faults, **knobs)
    return Sandbox(scenario=scenario, platform_id=platform, erp_id=erp,
                   platform=hosted_platform, erp=hosted_erp)


def _simulated(system: str, side: Side) -> systems.SystemSpec:
    found = systems.find(system)
    if found is None or found.side is not side or found.simulator is None:
        have = [s.id for s in systems.all_systems() if s.side is side and s.simulator]
        word = "platform" if side is Side.PLATFORM else "ERP"
        name = found.name if found else repr(system)
        raise ValueError(f"the sandbox has no {word} simulator for {name} "
                         f"(it has: {', '.join(have)})")
    return found

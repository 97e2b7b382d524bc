"""The demo sandbox: the Swap Commerce and Business Central simulators on one loopback port,
loaded with the demo scenario, plus the profile and (public) credentials that reach them.

    http://127.0.0.1:PORT/swap/v1/external/returns              Swap Commerce
    http://127.0.0.1:PORT/bc/v2.0/{tenant}/{env}/api/v2.0/...   Business Central
    http://127.0.0.1:PORT/bc/{tenant}/oauth2/v2.0/token         its token endpoint
    http://127.0.0.1:PORT/_sandbox                              what is served, ground truth
    http://127.0.0.1:PORT/_sandbox/writes                       every write BC received
                                                                (GET; DELETE clears it)
    POST /_sandbox/bump?entity=SET&id=ID                        someone else edits a BC record
    POST /_sandbox/fail-writes?count=N&status=503&after=false   the next N BC writes fail
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from ..config import Profile, SystemSettings
from ..scenarios.catalogue import Scenario, build_scenario
from .business_central import COMPANY_NAME
from .faults import Faults
from .swap import SwapSimulator, render_return

PROFILE = "demo-swap-d365bc"
#: The sandbox's credentials are public demo values, not secrets.
CREDENTIALS = {
    ("swap", "api_key"): "sandbox-swap-api-key",
    ("d365_bc", "client_secret"): "sandbox-client-secret",
}
SWAP_STORE = "store_northwind"
BC_TENANT, BC_ENVIRONMENT, BC_CLIENT_ID = "northwind-sandbox", "sandbox", "returns-console-demo"


@dataclass(slots=True)
class Sandbox:
    scenario: Scenario
    swap: SwapSimulator
    bc: object

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/_sandbox", self._index),
            Route("/_sandbox/truth", self._truth),
            Route("/_sandbox/touch", self._touch, methods=["POST"]),
            Route("/_sandbox/writes", self._writes, methods=["GET", "DELETE"]),
            Route("/_sandbox/bump", self._bump, methods=["POST"]),
            Route("/_sandbox/fail-writes", self._fail_writes, methods=["POST"]),
            Mount("/swap", app=self.swap.app()),
            Mount("/bc", app=self.bc.app()),
        ])

    @property
    def truth(self) -> list[dict]:
        return self.scenario.truth

    @property
    def requests(self) -> int:
        return self.swap.requests + self.bc.requests

    def profile(self, base_url: str) -> Profile:
        """The demo profile, pointing at the sandbox served on `base_url`."""
        return Profile(
            name=PROFILE,
            platform=SystemSettings(system="swap", base_url=f"{base_url}/swap",
                                    options={"store": SWAP_STORE, "api_version": 2}),
            erp=SystemSettings(system="d365_bc", base_url=f"{base_url}/bc", options={
                "tenant": BC_TENANT, "environment": BC_ENVIRONMENT, "client_id": BC_CLIENT_ID,
                "company": COMPANY_NAME,
                "token_url": f"{base_url}/bc/{BC_TENANT}/oauth2/v2.0/token",
            }),
        )

    @staticmethod
    def secret(system: str, name: str) -> str | None:
        return CREDENTIALS.get((system, name))

    async def _index(self, request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        profile = self.profile(base)
        return JSONResponse({
            "profile": profile.model_dump(mode="json"),
            "returns": len(self.scenario.snapshot["returns"]),
            "planted": len(self.truth),
            "truth": f"{base}/_sandbox/truth",
            "writes": f"{base}/_sandbox/writes",
        })

    async def _truth(self, request: Request) -> JSONResponse:
        return JSONResponse(self.truth)

    def touch(self, count: int, at: datetime) -> list[str]:
        """Activity: `count` returns change in both systems at `at` (same values, new
        timestamps and ETags), as if users had edited them."""
        refs = [c["platform"]["return_ref"] for c in self.scenario.snapshot["returns"]]
        chosen = refs[:: max(1, len(refs) // max(count, 1))][:count]
        stamp = at.isoformat()
        wanted = set(chosen)
        for record in self.swap.records:
            if record["rma_number"] in wanted:
                record["date_updated"] = stamp
        for entity_set in ("salesReturnOrders", "salesCreditMemos"):
            for record in list(self.bc.data.sets.get(entity_set, [])):
                if record.get("externalDocumentNumber") in wanted:
                    self.bc.data.update(entity_set, record["id"], at=at)
        return chosen

    async def _touch(self, request: Request) -> JSONResponse:
        try:
            count = int(request.query_params.get("count", "1"))
        except ValueError:
            return JSONResponse({"error": "count must be a whole number"}, status_code=400)
        return JSONResponse({"touched": self.touch(count, datetime.now(UTC))})

    async def _writes(self, request: Request) -> Response:
        """The Business Central write journal: what was (and was not) sent, as received."""
        if request.method == "DELETE":
            return JSONResponse({"cleared": self.bc.clear_writes()})
        return Response(self.bc.writes_json(), media_type="application/json")

    async def _bump(self, request: Request) -> JSONResponse:
        """A concurrent edit of one BC record (a new ETag), for trying conflicts."""
        entity, ident = request.query_params.get("entity"), request.query_params.get("id")
        if not entity or not ident:
            return JSONResponse({"error": "give entity and id"}, status_code=400)
        try:
            record = self.bc.bump(entity, ident)
        except KeyError as exc:
            return JSONResponse({"error": str(exc.args[0])}, status_code=404)
        return JSONResponse({"entity": entity, "id": record["id"],
                             "@odata.etag": record["@odata.etag"],
                             "lastModifiedDateTime": record["lastModifiedDateTime"]})

    async def _fail_writes(self, request: Request) -> JSONResponse:
        """The next N writes to BC fail with a status (503 by default); `after=true` makes
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
        self.bc.fail_writes(count, status=status, after=after)
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
                  return_orders_api: bool = True) -> Sandbox:
    """The demo scenario (fixtures/demo/scenario.json, unless `returns` or `seed` say
    otherwise) rendered into both systems' own JSON and served by their simulators.
    `malformed=False` leaves out the records planted as invalid payloads."""
    from .business_central import BcSimulator, render_company

    demo = demo_definition()
    scenario = build_scenario(
        now, returns=returns or demo["returns"], seed=demo["seed"] if seed is None else seed,
        healthy_share=demo["healthy_share"], capabilities=frozenset(demo["capabilities"]),
        profile=PROFILE)
    if not malformed:
        bad = {c["platform"]["return_ref"] for c in scenario.snapshot["returns"]
               if c.get("problems")}
        scenario.snapshot["returns"] = [c for c in scenario.snapshot["returns"]
                                        if c["platform"]["return_ref"] not in bad]
        scenario.truth = [t for t in scenario.truth if t["return_ref"] not in bad]
    faults = faults or Faults()
    swap = SwapSimulator([render_return(c, SWAP_STORE) for c in scenario.snapshot["returns"]
                          if not c.get("unlinked")],
                         api_key=CREDENTIALS[("swap", "api_key")], store=SWAP_STORE,
                         faults=faults)
    bc = BcSimulator(render_company(scenario.snapshot, tenant=BC_TENANT,
                                    environment=BC_ENVIRONMENT),
                     tenant=BC_TENANT, environment=BC_ENVIRONMENT, client_id=BC_CLIENT_ID,
                     client_secret=CREDENTIALS[("d365_bc", "client_secret")], faults=faults,
                     return_orders_api=return_orders_api)
    return Sandbox(scenario=scenario, swap=swap, bc=bc)

"""Swap Commerce connector against the Swap simulator: paging, versions, auth, faults, and
every planted exception surviving the trip through Swap's own JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from returns_console.connectors.errors import AuthError, RequestError
from returns_console.connectors.http import RetryPolicy
from returns_console.domain.codes import Stage
from returns_console.domain.model import ReturnCase, parse_cases
from returns_console.domain.reconcile import reconcile
from returns_console.domain.snapshot import Snapshot
from returns_console.sandbox.faults import Faults
from returns_console.sandbox.server import BackgroundServer
from returns_console.scenarios.catalogue import build_scenario
from returns_console.systems.swap.connector import SwapConnector, SwapSettings
from returns_console.systems.swap.simulator import SwapSimulator, render_return

NOW = datetime.now(UTC).replace(microsecond=0)
KEY, STORE = "sandbox-swap-key", "store_demo"
FAST = RetryPolicy(attempts=6, initial=0.0, maximum=0.0, jitter=0.0)


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def scenario():
    return build_scenario(NOW, returns=140, capabilities=frozenset({"platform_location"}))


def swap_refs(scenario) -> list[str]:
    return [c["platform"]["return_ref"] for c in scenario.snapshot["returns"]
            if not c.get("unlinked")]


def simulator(scenario, faults: Faults | None = None) -> SwapSimulator:
    records = [render_return(case, STORE) for case in scenario.snapshot["returns"]
               if not case.get("unlinked")]  # ERP-only records have no Swap return
    return SwapSimulator(records, api_key=KEY, store=STORE, faults=faults)


def connector(sim: SwapSimulator, version: int = 2, key: str = KEY, **kw) -> SwapConnector:
    settings = SwapSettings(base_url="http://swap.sandbox", store=STORE, api_key=key,
                            api_version=version, **kw)
    return SwapConnector(settings, transport=httpx.ASGITransport(app=sim.app()), retry=FAST,
                         sleep=_no_sleep)


async def fetch(sim, **kw):
    swap = connector(sim, **kw)
    try:
        return await swap.fetch_returns(), swap
    finally:
        await swap.aclose()


@pytest.mark.parametrize("version", [1, 2])
async def test_reads_every_return_across_pages(scenario, version: int) -> None:
    batch, swap = await fetch(simulator(scenario), version=version, items_per_page=25)
    refs = sorted(v.return_ref for v in batch.views)
    assert refs == sorted(c["platform"]["return_ref"] for c in scenario.snapshot["returns"]
                          if not c.get("unlinked"))
    assert swap.http.log.count() == -(-len(swap_refs(scenario)) // 25)  # 25 a page
    assert all(c.url.startswith("http://swap.sandbox/v") for c in swap.http.log)


async def test_the_platform_view_matches_what_was_planted(scenario) -> None:
    sim = simulator(scenario)
    batch, _ = await fetch(sim)
    got = {v.return_ref: v for v in batch.views}
    for case in parse_cases(scenario.snapshot["returns"]):
        if case.problems or case.unlinked:
            continue
        want, view = case.platform, got[case.return_ref]
        assert view.order_ref == want.order_ref
        assert view.customer_email == want.customer_email
        assert [(ln.sku, ln.quantity, ln.reason, ln.condition, ln.location)
                for ln in view.lines] == [
            (ln.sku, ln.quantity, ln.reason, ln.condition, ln.location) for ln in want.lines]
        assert view.refund == want.refund
        # the scenario's own word for the method, as Swap names it (its return type)
        assert view.refund_method == (want.refund_method and sim.native_code(
            "refund_method", want.refund_method))
        for stage in (Stage.AUTHORISED, Stage.RECEIVED, Stage.CREDITED, Stage.EXCHANGED):
            assert view.stage(stage).status == want.stage(stage).status, (case.return_ref, stage)
        for stage in (Stage.AUTHORISED, Stage.RECEIVED, Stage.CREDITED):
            if want.stage(stage).status == "done":
                assert view.stage(stage).at == want.stage(stage).at


async def test_findings_through_swap_equal_the_ground_truth(scenario) -> None:
    """Swap's side read over its API, the ERP side as planted: every planted code found,
    nothing on a healthy return."""
    sim = simulator(scenario)
    batch, _ = await fetch(sim)
    views = {v.return_ref: v for v in batch.views}
    snapshot = Snapshot.model_validate(scenario.snapshot)
    # the demo's mapping tables keyed as Swap names its refund methods (as the sandbox does)
    methods = {sim.native_code("refund_method", k): v
               for k, v in snapshot.mappings.payment_methods.items()}
    ctx = replace(snapshot.context(NOW),
                  mappings=snapshot.mappings.model_copy(update={"payment_methods": methods}))
    cases = [
        ReturnCase(platform=views[c.return_ref], erp=c.erp,
                   problems=tuple(batch.problems.get(c.return_ref, ())))
        if not c.unlinked else c  # ERP-only records: no Swap side to read
        for c in snapshot.returns
    ]
    result = reconcile(cases, ctx)
    got = {(f.return_ref, f.code.value, f.delay) for f in result.findings + result.delays}
    assert got == {(t["return_ref"], t["code"], t["delay"]) for t in scenario.truth}


async def test_a_malformed_record_is_a_payload_problem_not_a_crash(scenario) -> None:
    batch, _ = await fetch(simulator(scenario))
    planted = {t["return_ref"] for t in scenario.truth if t["code"] == "PAYLOAD_INVALID"}
    assert set(batch.problems) == planted
    for ref, [problem] in batch.problems.items():
        assert "item_count" in problem.error
        assert any(v.return_ref == ref for v in batch.views)
        assert problem.raw_ref in batch.raw


async def test_a_wrong_key_is_an_auth_error_naming_no_secret(scenario) -> None:
    swap = connector(simulator(scenario), key="wrong-key-123")
    with pytest.raises(AuthError) as caught:
        await swap.fetch_returns()
    await swap.aclose()
    assert "wrong-key-123" not in str(caught.value)
    assert "Invalid API key" in str(caught.value)


async def test_a_store_the_key_does_not_own_is_a_clear_request_error(scenario) -> None:
    sim = simulator(scenario)
    settings = SwapSettings(base_url="http://swap.sandbox", store="store_other", api_key=KEY)
    swap = SwapConnector(settings, transport=httpx.ASGITransport(app=sim.app()), retry=FAST)
    with pytest.raises(RequestError) as caught:
        await swap.fetch_returns()
    await swap.aclose()
    assert "store must be a store this key belongs to" in str(caught.value)


async def test_rides_out_rate_limits_and_server_errors(scenario) -> None:
    sim = simulator(scenario, Faults(error_rate=0.2, rate_limit_rate=0.2, retry_after=0, seed=3))
    batch, swap = await fetch(sim, items_per_page=20)
    assert len(batch.views) == len(sim.records)
    statuses = [c.status for c in swap.http.log]
    assert 429 in statuses and 503 in statuses


async def test_incremental_read_fetches_only_what_changed(scenario) -> None:
    sim = simulator(scenario)
    swap = connector(sim)
    first = await swap.fetch_returns()
    assert first.cursor is not None
    cursor = datetime.fromisoformat(first.cursor.replace("Z", "+00:00"))
    sim.records[5]["date_updated"] = (cursor + timedelta(minutes=5)).isoformat()
    calls = swap.http.log.total
    later = await swap.fetch_returns(updated_since=cursor)
    await swap.aclose()
    assert [v.return_ref for v in later.views] == [sim.records[5]["rma_number"]]
    assert swap.http.log.total - calls == 1


async def test_over_loopback(scenario) -> None:
    sim = simulator(scenario)
    with BackgroundServer(sim.app()) as server:
        swap = SwapConnector(SwapSettings(base_url=server.url, store=STORE, api_key=KEY,
                                          api_version=1))
        try:
            assert f"{len(sim.records)} returns" in await swap.check_connection()
            batch = await swap.fetch_returns()
        finally:
            await swap.aclose()
    assert len(batch.views) == len(sim.records)


async def test_v2_shipment_items_are_read_as_the_documented_objects(scenario) -> None:
    """Issue 9.1: `return_shipments[].items` are ExternalShipmentItemDto objects (Swap v2,
    docs/vendors/swap-commerce.md); every v2 return with a shipment used to fail validation
    as PAYLOAD_INVALID, and its real exceptions vanished."""
    sim = simulator(scenario)
    shipped = [r for r in sim.records if r["return_shipments"]]
    assert shipped and all(isinstance(item, dict) for r in shipped
                           for s in r["return_shipments"] for item in s["items"])
    batch, _ = await fetch(sim)
    planted_bad = {c["platform"]["return_ref"] for c in scenario.snapshot["returns"]
                   if c.get("problems")}
    assert set(batch.problems) == planted_bad
    views = {v.return_ref: v for v in batch.views}
    for record in shipped:
        destination = {item["product_id"]: s["destination_location_id"]
                       for s in record["return_shipments"] for item in s["items"]}
        for line in views[record["rma_number"]].lines:
            assert line.location == destination[line.line_ref]


def test_shipment_items_may_still_come_as_ids_or_unknown_shapes() -> None:
    """Older payloads send ids; a shape the reconciliation does not need never invalidates."""
    swap = SwapConnector(SwapSettings(base_url="http://x", store="s", api_key="k",
                                      api_version=2))
    base = {"rma_number": "R-1", "return_id": 7, "date_created": "2026-11-01T10:00:00Z",
            "return_status": "Open", "products": [
                {"product_id": "p1", "sku": "TEE", "item_count": 1, "cost": 10}]}
    for items in (["p1"], [101], [{"product_id": "p1", "sku": "TEE", "extra": {"a": 1}}],
                  [None, "p1"], "not a list"):
        view, problem = swap.parse({**base, "return_shipments": [
            {"destination_location_id": "hub-1", "items": items, "package": {"w": 1}}],
            "tags": {"unexpected": "shape"}, "customer_name": {"first": "A"}})
        assert problem is None, (items, problem)
        assert view.lines[0].location == "hub-1"

"""A check's returns checked as the platform's pages arrive, once the ERP's side is in
(services/early.py): what the check reports is what it reports checking every return after
the read, and the returns checked ahead are not checked again.

The platform's pages after the first are held until the ERP's side is read (a transport
that waits on it), as against a real API whose pages come a round trip apart.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from returns_console.domain.recheck import Rechecker
from returns_console.services.demo import demo_mappings
from returns_console.services.early import EarlyCheck
from returns_console.services.live import SourcesDown, check_context, fetch_live, live_report
from tests.contracts import kit

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


class _Held(httpx.AsyncBaseTransport):
    """The sandbox in process; the platform's pages after the first wait for `gate`."""

    def __init__(self, box, platform: str) -> None:
        self.inner, self.platform = kit.in_process(box), platform
        self.gate = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("page")
        if f"/{self.platform}/" in request.url.path and page not in (None, "1"):
            await self.gate.wait()
        return await self.inner.handle_async_request(request)


def _json(report) -> dict:
    out = report.to_json()
    for side in ("platform", "erp"):
        out[side].pop("fetched_at")
    return out


def _read(box, early: EarlyCheck | None, platform: str):
    async def go():
        transport = _Held(box, platform)
        if early is None:
            transport.gate.set()
        else:
            told = early.erp_read

            def erp_read(batch) -> None:
                told(batch)
                transport.gate.set()

            early.erp_read = erp_read  # type: ignore[method-assign]
        return await fetch_live(box.profile(kit.IN_PROCESS), box.secret, transport=transport,
                                full=True, early=early)
    return asyncio.run(go())


@pytest.mark.parametrize("erp", ["d365_bc", "d365_fo"])
def test_returns_checked_ahead_give_the_report_of_checking_every_one(erp: str) -> None:
    box = kit.sandbox("swap", erp, returns=400, seed=3)
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    rechecker = Rechecker()
    early = EarlyCheck(rechecker, lambda master: check_context(profile, mappings, master,
                                                               now=NOW), erp)
    data = _read(box, early, "swap")
    got = live_report(profile, data, mappings, now=NOW, rechecker=rechecker)
    plain = _read(box, None, "swap")
    want = live_report(profile, plain, mappings, now=NOW)
    assert early.checked > 0  # pages 2-4 arrived after the ERP's side
    assert rechecker.checked < len(got.cases) - early.checked // 2
    assert _json(got) == _json(want)


def test_a_second_return_under_one_link_is_left_to_the_run() -> None:
    """Two of Swap's returns under one link on different pages: the ERP's records are
    the first one's in the order read (pairing's rule), whichever page came first."""
    box = kit.sandbox("swap", "d365_bc", returns=250, seed=4)
    returns = box.platform.native()
    returns.append(dict(returns[-1], return_id="5f0000000000000000000001",
                        rma_number=returns[0]["rma_number"]))
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    rechecker = Rechecker()
    early = EarlyCheck(rechecker, lambda master: check_context(profile, mappings, master,
                                                               now=NOW), "d365_bc")
    got = live_report(profile, _read(box, early, "swap"), mappings, now=NOW,
                      rechecker=rechecker)
    want = live_report(profile, _read(box, None, "swap"), mappings, now=NOW)
    assert _json(got) == _json(want)


def test_a_platform_read_that_fails_leaves_nothing_running() -> None:
    """Swap down after its first page, the ERP's side read: the early check is stopped
    with the read."""
    box = kit.sandbox("swap", "d365_bc", returns=250, seed=5)
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    early = EarlyCheck(Rechecker(), lambda master: check_context(profile, mappings, master,
                                                                 now=NOW), "d365_bc")

    async def go():
        transport = _Held(box, "swap")

        class Failing(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request):
                if "/swap/" in request.url.path and request.url.params.get("page") == "2":
                    await transport.gate.wait()
                    raise httpx.ConnectError("down")
                return await transport.handle_async_request(request)

        told = early.erp_read

        def erp_read(batch) -> None:
            told(batch)
            transport.gate.set()

        early.erp_read = erp_read  # type: ignore[method-assign]
        with pytest.raises(SourcesDown, match="platform swap is down"):
            await fetch_live(profile, box.secret, transport=Failing(), full=True, early=early)
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(go()) == []
    assert early.stopped


def test_stopped_in_the_middle_of_its_work_it_leaves_nothing_running() -> None:
    box = kit.sandbox("swap", "d365_bc", returns=250, seed=5)
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    data = _read(box, None, "swap")
    early = EarlyCheck(Rechecker(), lambda master: check_context(profile, mappings, master,
                                                                 now=NOW), "d365_bc")

    async def go():
        early.erp_read(data.erp)
        for _ in range(20):
            early.views_read(list(data.platform.views))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        await early.stop()
        early.views_read(list(data.platform.views))  # too late: nothing starts
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(go()) == []
    assert early.stopped and 0 < early.checked < 20 * len(data.platform.views)

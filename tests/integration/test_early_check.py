"""A check's returns checked as the platform's pages arrive, once the ERP's side is in
(services/early.py): what the check reports is what it reports checking every return after
the read, and the returns checked ahead are not checked again.

The platform's pages after the first are held until the ERP's side is read (a transport
that waits on it), as against a real API whose pages come a round trip apart.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import UTC, datetime

import httpx
import pytest

from returns_console.connectors.base import ErpBatch
from returns_console.domain import recheck
from returns_console.domain.pairing import link_of
from returns_console.domain.recheck import Rechecker
from returns_console.services.demo import demo_mappings
from returns_console.services.early import EarlyCheck
from returns_console.services.live import SourcesDown, check_context, fetch_live, live_report
from tests.contracts import kit

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


class _Held(httpx.AsyncBaseTransport):
    """The sandbox in process; the platform's pages after the first wait for `gate`, and
    page `fails_at` (if any) then fails, `late` seconds on."""

    def __init__(self, box, platform: str, *, fails_at: str | None = None,
                 late: float = 0.0) -> None:
        self.inner, self.platform = kit.in_process(box), platform
        self.fails_at, self.late = fails_at, late
        self.gate = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("page")
        if f"/{self.platform}/" in request.url.path and page not in (None, "1"):
            await self.gate.wait()
            if page == self.fails_at:
                await asyncio.sleep(self.late)
                raise httpx.ConnectError("down")
        return await self.inner.handle_async_request(request)

    def opened_by(self, early: EarlyCheck) -> None:
        """The held pages go once the ERP's side is in (as `early` hears of it)."""
        told = early.erp_read

        def erp_read(batch) -> None:
            told(batch)
            self.gate.set()

        early.erp_read = erp_read  # type: ignore[method-assign]


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
            transport.opened_by(early)
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


@pytest.mark.parametrize("erp", ["d365_bc", "d365_fo"])
def test_the_index_outcomes_made_ahead_are_those_of_checking_every_one(erp: str) -> None:
    """What the record index keeps of each key (its findings as stored, its counts) is
    made for the returns checked ahead as they are checked: the same as made after."""
    from returns_console.services.keyed_check import OutcomeParts, _platform_counts, outcomes_of

    box = kit.sandbox("swap", erp, returns=400, seed=3)
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    rechecker, parts = Rechecker(), OutcomeParts()
    made: list[int] = []

    def checked(found) -> None:
        made.append(len(found))
        parts.add(found)

    early = EarlyCheck(rechecker, lambda master: check_context(profile, mappings, master,
                                                               now=NOW), erp,
                       on_checked=checked)
    data = _read(box, early, "swap")
    live_report(profile, data, mappings, now=NOW, rechecker=rechecker)
    plain, again = _read(box, None, "swap"), Rechecker()
    live_report(profile, plain, mappings, now=NOW, rechecker=again)

    def by_key(outcomes) -> dict:
        return {o.key: (o.findings, o.until, o.counts) for o in outcomes}

    got = outcomes_of(rechecker.outcomes(), _platform_counts(data.platform.views), parts)
    want = outcomes_of(again.outcomes(), _platform_counts(plain.platform.views))
    assert sum(made) > 0
    assert by_key(got) == by_key(want)


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
        transport = _Held(box, "swap", fails_at="2")
        transport.opened_by(early)
        with pytest.raises(SourcesDown, match="platform swap is down"):
            await fetch_live(profile, box.secret, transport=transport, full=True, early=early)
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


def _early(box, rechecker: Rechecker | None = None) -> EarlyCheck:
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    return EarlyCheck(rechecker or Rechecker(), lambda master: check_context(
        profile, mappings, master, now=NOW), "d365_bc")


def test_what_a_read_that_failed_had_checked_is_forgotten(tmp_path) -> None:
    """Swap down after some of its pages were checked: the run checks the returns the
    cache holds, and nothing of what was checked from the failed read is compared with
    them (review finding: a return equal by value, written otherwise, was carried over)."""
    from returns_console.store.cache import Cache

    box = kit.sandbox("swap", "d365_bc", returns=250, seed=6)
    mappings = demo_mappings(box)
    profile = box.profile(kit.IN_PROCESS)
    cache = Cache(tmp_path / "cache.sqlite3")
    asyncio.run(fetch_live(profile, box.secret, transport=kit.in_process(box), full=True,
                           cache=cache))
    cache.wait()
    rechecker = Rechecker()
    early = _early(box, rechecker)

    async def go():
        transport = _Held(box, "swap", fails_at="3", late=0.05)  # page 2 is checked first
        transport.opened_by(early)
        return await fetch_live(profile, box.secret, transport=transport, full=True,
                                early=early, cache=cache)

    data = asyncio.run(go())
    cache.close()
    assert data.platform_status.status == "stale"
    assert early.checked > 0 and list(rechecker.outcomes()) == []
    got = live_report(profile, data, mappings, now=NOW, rechecker=rechecker)
    assert _json(got) == _json(live_report(profile, data, mappings, now=NOW))


def test_a_failure_checking_ahead_stops_it_and_leaves_the_run_to_check(caplog) -> None:
    """A return whose check fails (a rule's bug): the early check stops, says nothing on
    the terminal (the run checks that return again, and fails where it fails), and leaves
    no task with an error no one read (review finding: asyncio printed it at exit)."""
    box = kit.sandbox("swap", "d365_bc", returns=120, seed=5)
    data = _read(box, None, "swap")

    class Broken(Rechecker):
        def warm(self, cases, ctx) -> int:
            raise RuntimeError("a rule's bug")

    early = _early(box, Broken())

    async def go():
        early.erp_read(data.erp)
        early.views_read(list(data.platform.views))
        for _ in range(3):
            await asyncio.sleep(0)
        await early.stop()
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        assert asyncio.run(go()) == []
        gc.collect()
    assert early.stopped and early.checked == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_read_after_one_that_never_reached_its_run_is_checked_ahead_again(
        monkeypatch) -> None:
    """A console refresh that failed after checking ahead (review finding: the next
    refresh skipped every return the failed one had been given)."""
    box = kit.sandbox("swap", "d365_bc", returns=120, seed=5)
    data = _read(box, None, "swap")
    rechecker = Rechecker()
    calls: list[object] = []
    real = recheck.check_case
    monkeypatch.setattr(recheck, "check_case", lambda case, ctx: calls.append(case) or
                        real(case, ctx))

    async def ahead(erp: ErpBatch) -> int:
        early = _early(box, rechecker)
        early.erp_read(erp)
        early.views_read(list(data.platform.views))
        while early._task is not None:
            await asyncio.sleep(0)
        await early.stop()
        return len(calls)

    first = asyncio.run(ahead(data.erp))
    assert first > 0
    # read again, the ERP's side now without those return orders: each case that had
    # one differs (the old code checked none of them: all taken as given already)
    gone = ErpBatch(master=data.erp.master, fetched_at=data.erp.fetched_at)
    had = sum(link_of(v.return_ref) in {link_of(k) for k in data.erp.views}
              for v in data.platform.views)
    assert asyncio.run(ahead(gone)) == first + had


def test_stopping_does_not_swallow_a_cancellation_of_its_caller() -> None:
    """The read's deadline cancels the platform's side while it stops the early check:
    the cancellation goes on (review finding: it was taken for the drain's own)."""
    box = kit.sandbox("swap", "d365_bc", returns=120, seed=5)
    data = _read(box, None, "swap")
    early = _early(box)

    async def go() -> None:
        early.erp_read(data.erp)
        for _ in range(10):
            early.views_read(list(data.platform.views))
        await asyncio.sleep(0)
        stopping = asyncio.create_task(early.stop())
        await asyncio.sleep(0)  # inside stop, waiting for the drain
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping

    asyncio.run(go())

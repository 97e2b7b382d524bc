"""`check` through the record index: a refresh reads what changed, assembles and checks only
the link keys it touched (and those whose clock ran out), and takes every other return's
findings from the index. What it prints must be what a full check of the same moment
prints, whatever changed; wherever it cannot promise that, it checks everything.

Over the sandbox on loopback, real connectors, the same service the CLI calls.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services import keyed_check
from returns_console.services.demo import demo_mappings
from returns_console.services.keyed_check import check_profile, keyed_refresh
from returns_console.store.cache import Cache
from returns_console.store.records import RecordIndex

from .test_bc_touched_merge import _change

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def _json(report) -> dict:
    out = report.to_json()
    for side in ("platform", "erp"):
        out[side].pop("fetched_at")
    return out


def _full(profile, sandbox, mappings, folder: Path, now: datetime) -> dict:
    """What a full check of this moment prints (a cache of its own, nothing kept)."""
    cache = Cache(folder / f"truth-{random.getrandbits(32)}.sqlite3")
    try:
        return _json(check_profile(profile, sandbox.secret, cache, mappings, now=now,
                                   full=True, keyed=False))
    finally:
        cache.close()


def _platform_change(sandbox, rnd: random.Random, at: datetime) -> str:
    """A return moved on at Swap (delivered, closed, or a line refunded), as Swap stamps
    it."""
    record = rnd.choice(sandbox.platform.records)
    kind = rnd.choice(["delivery", "status", "refund"])
    if kind == "delivery":
        record["delivery_status"] = rnd.choice(["In-Transit", "Delivered"])
    elif kind == "status":
        record["return_status"] = rnd.choice(["Open", "Closed"])
    else:
        for product in record.get("products") or ():
            product["refunded_inclusive_taxes"] = product.get("cost") or 0
    record["date_updated"] = at.isoformat()
    return f"platform {kind}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_refresh_through_the_index_prints_what_a_full_check_prints(
        tmp_path: Path, seed: int) -> None:
    sandbox = build_sandbox(NOW, returns=150, seed=seed)
    rnd = random.Random(seed)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    used = 0
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        start = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=start, full=True)
        cache.wait()
        for round_ in range(5):
            at = datetime.now(UTC) + timedelta(minutes=round_ + 1)
            kinds = {_change(sandbox.erp.data, rnd, at) for _ in range(rnd.randint(0, 3))}
            kinds |= {_platform_change(sandbox, rnd, at) for _ in range(rnd.randint(0, 2))}
            # hours on, so clocks run out (grace periods, ages the messages show)
            moment = start + timedelta(hours=7 * (round_ + 1))
            asked: list[bool] = []
            keyed = keyed_refresh(profile, sandbox.secret, cache, mappings, now=moment,
                                  asked=asked)
            if keyed is None:  # master data changed: everything checked (and indexed)
                assert kinds & {"master", "customer", "location"}, kinds
                keyed = check_profile(profile, sandbox.secret, cache, mappings,
                                      now=moment, keyed=True)
            else:
                used += 1
            cache.wait()
            assert _json(keyed) == _full(profile, sandbox, mappings, tmp_path, moment), kinds
    cache.close()
    assert used >= 2  # the index answered most rounds


def test_a_refresh_checks_again_only_what_changed(tmp_path: Path, monkeypatch) -> None:
    """One credit memo changed: its link key assembled and checked, not every return."""
    sandbox = build_sandbox(NOW, returns=120, seed=5)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    checked: list[int] = []
    real = keyed_check._check

    def counting(cases, ctx, workers):
        checked.append(len(cases))
        return real(cases, ctx, workers)

    monkeypatch.setattr(keyed_check, "_check", counting)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        memo = next(m for m in sandbox.erp.data.sets["salesCreditMemos"]
                    if m["externalDocumentNumber"])
        sandbox.erp.data.update("salesCreditMemos", memo["id"],
                                at=now + timedelta(minutes=1),
                                totalTaxAmount=memo["totalTaxAmount"] + 1)
        report = keyed_refresh(profile, sandbox.secret, cache, mappings,
                               now=now + timedelta(seconds=1))
        assert report is not None
        # the memo's key (and a key its invoice or return order ties to it), of 120
        assert len(checked) == 1 and 1 <= checked[0] <= 3, checked
        want = _full(profile, sandbox, mappings, tmp_path, now + timedelta(seconds=1))
    cache.close()
    assert _json(report) == want
    assert any(f["code"] == "TAX_MISMATCH" and f["return_ref"].casefold()
               == memo["externalDocumentNumber"].casefold() for f in want["findings"])


@pytest.mark.parametrize("fork", [True, False])
def test_the_cache_rows_point_at_the_index_and_read_back_as_the_read(
        tmp_path: Path, monkeypatch, fork: bool) -> None:
    """A full check keeps one copy of the records (the index's): the cache's rows read
    them back in the batch's order, so the console and a source that is down see them;
    written by a forked process, or a thread where a fork is not safe."""
    if not fork:
        monkeypatch.delattr(keyed_check.os, "fork")
    sandbox = build_sandbox(NOW, returns=60, seed=7)
    cache = Cache(tmp_path / "cache.sqlite3")
    seen = {}
    real = keyed_check.IndexWriter.side

    def side(self, name, batch, connector):
        seen[name] = dict(batch.raw)
        return real(self, name, batch, connector)

    monkeypatch.setattr(keyed_check.IndexWriter, "side", side)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        check_profile(profile, sandbox.secret, cache, demo_mappings(sandbox), full=True)
    assert cache.close() == []
    cache = Cache(tmp_path / "cache.sqlite3")
    from pydantic_core import from_json, to_json

    from returns_console.services.live import source_of
    platform = cache.load_platform(profile.name, source_of(profile.platform))
    erp = cache.load_erp(profile.name, source_of(profile.erp))
    assert platform is not None and erp is not None
    for got, want in ((platform.raw, seen["platform"]), (erp.raw, seen["erp"])):
        assert list(got) == list(want)  # the order too
        assert got == from_json(to_json(want))
    rows = cache.conn.execute("select count(*) from pages").fetchone()[0]
    assert rows == 0  # no second copy
    assert RecordIndex(cache.conn).state(profile.name) is not None
    cache.close()


def test_sources_down_show_the_records_the_index_holds_and_keep_it(tmp_path: Path) -> None:
    """Both sources down at the next check: shown stale from the records the index holds
    (the cache's rows point at them), and the index left as it was."""
    sandbox = build_sandbox(NOW, returns=60, seed=8)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        first = check_profile(profile, sandbox.secret, cache, mappings, full=True)
        cache.wait()
        state = RecordIndex(cache.conn).state(profile.name)
    report = check_profile(profile, sandbox.secret, cache, mappings, deadline=30)
    cache.wait()
    assert (report.platform.status, report.erp.status) == ("stale", "stale")
    assert (report.platform.records, report.erp.records) == (first.platform.records,
                                                             first.erp.records)
    assert {f.id for f in report.findings} == {f.id for f in first.findings}
    assert RecordIndex(cache.conn).state(profile.name) == state
    cache.close()

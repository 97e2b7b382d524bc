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
from returns_console.services.live import source_of
from returns_console.store.cache import Cache
from returns_console.store.records import RecordIndex

from .test_bc_touched_merge import _change
from .test_live_check import served  # noqa: F401 - a fixture

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
    from returns_console.store import forked

    if fork:
        _forking(monkeypatch)
    else:
        monkeypatch.delattr(forked.os, "fork")
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


def test_two_checks_at_once_keep_one_runs_findings_with_its_own_records(
        tmp_path: Path, monkeypatch) -> None:
    """A full check (A) writes its records, and while it checks its returns another check
    (B) runs start to finish over a change A did not read. A must not then write its
    findings over B's records: the index stays B's (found by review: a later refresh
    missed the change for good)."""
    sandbox = build_sandbox(NOW, returns=60, seed=5)
    mappings = demo_mappings(sandbox)
    path = tmp_path / "cache.sqlite3"
    real = keyed_check.live_report
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        start = datetime.now(UTC)
        first = Cache(path)
        check_profile(profile, sandbox.secret, first, mappings, now=start, full=True)
        first.close()
        memo = next(m for m in sandbox.erp.data.sets["salesCreditMemos"]
                    if m["externalDocumentNumber"])
        a = Cache(path)

        def b_runs_meanwhile(*args, **kwargs):
            monkeypatch.setattr(keyed_check, "live_report", real)
            a.wait()  # A's records are written (a thread here: the test has threads)
            sandbox.erp.data.update("salesCreditMemos", memo["id"],
                                    at=datetime.now(UTC) + timedelta(minutes=1),
                                    totalTaxAmount=memo["totalTaxAmount"] + 1)
            b = Cache(path)
            check_profile(profile, sandbox.secret, b, mappings,
                          now=start + timedelta(minutes=2))
            assert b.close() == []
            return real(*args, **kwargs)

        monkeypatch.setattr(keyed_check, "live_report", b_runs_meanwhile)
        check_profile(profile, sandbox.secret, a, mappings, now=start + timedelta(minutes=1),
                      full=True)
        a.close()
        later = Cache(path)
        moment = start + timedelta(minutes=30)
        report = keyed_refresh(profile, sandbox.secret, later, mappings, now=moment)
        later.close()
        assert report is not None
        assert _json(report) == _full(profile, sandbox, mappings, tmp_path, moment)
    assert any(f.code.value == "TAX_MISMATCH" and f.return_ref.casefold()
               == memo["externalDocumentNumber"].casefold() for f in report.findings)


def test_a_new_version_files_every_record_again(tmp_path: Path, monkeypatch) -> None:
    """Records an older version filed (other tags) are filed again by this version's full
    check, changed or not (found by review: unchanged ones kept the old tags)."""
    from returns_console.systems.d365_bc import keyed

    sandbox = build_sandbox(NOW, returns=60, seed=5)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    real = keyed.record_tags
    monkeypatch.setattr(keyed, "record_tags", lambda ref, record: {
        t for t in real(ref, record) if not t.startswith("receipt-of:")})
    monkeypatch.setattr(keyed_check, "_code_digest", lambda: "an older version")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        check_profile(profile, sandbox.secret, cache, mappings, full=True)
        cache.wait()
        monkeypatch.setattr(keyed, "record_tags", real)
        monkeypatch.undo()
        assert keyed_refresh(profile, sandbox.secret, cache, mappings) is None  # other code
        check_profile(profile, sandbox.secret, cache, mappings)
        cache.wait()
    tagged = cache.conn.execute("select count(*) from record_tags where tag like "
                                "'receipt-of:%'").fetchone()[0]
    cache.close()
    assert tagged == len(sandbox.erp.data.sets["returnReceipts"])


def test_an_index_that_cannot_be_written_is_a_warning_not_a_failed_check(
        tmp_path: Path, monkeypatch) -> None:
    import sqlite3

    sandbox = build_sandbox(NOW, returns=30, seed=2)
    cache = Cache(tmp_path / "cache.sqlite3")

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(RecordIndex, "write_outcomes", locked)
    with BackgroundServer(sandbox.app()) as server:
        report = check_profile(sandbox.profile(server.url), sandbox.secret, cache,
                               demo_mappings(sandbox), full=True)
    assert report.findings
    warnings = cache.close()
    assert warnings and "database is locked" in warnings[0]


def test_documents_without_an_id_make_the_refresh_check_everything(tmp_path: Path) -> None:
    """Records with no id of text share one raw_ref (the index cannot keep them apart):
    the index does not answer for them (found by review). Business Central always sends
    an id; the cache's merge keeps one of them too, so only `--full` reports both."""
    sandbox = build_sandbox(NOW, returns=40, seed=3)
    mappings = demo_mappings(sandbox)
    memos = sandbox.erp.data.sets["salesCreditMemos"]
    for n, rid in enumerate((None, 12345)):
        memos.append({**memos[0], "id": rid, "externalDocumentNumber": f"R-ODD-{n}"})
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        assert keyed_refresh(profile, sandbox.secret, cache, mappings, now=now) is None
        want = _full(profile, sandbox, mappings, tmp_path, now)
    cache.close()
    assert {f["return_ref"] for f in want["findings"]
            if f["code"] == "PAYLOAD_INVALID"} >= {"R-ODD-0", "R-ODD-1"}


def test_an_older_version_reads_no_cache_rather_than_half_of_one(tmp_path: Path) -> None:
    """The rows that point at the index have no raw records of their own and no pages: a
    version before the index finds no cache there (and reads everything), instead of
    reading what is left as its own (found by review)."""
    sandbox = build_sandbox(NOW, returns=30, seed=4)
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        # a cache as the version before the index wrote it, then this version's check
        check_profile(profile, sandbox.secret, cache, demo_mappings(sandbox), keyed=False)
        cache.wait()
        assert cache.conn.execute("select count(*) from pages").fetchone()[0] > 0
        check_profile(profile, sandbox.secret, cache, demo_mappings(sandbox), full=True)
    cache.wait()
    rows = cache.conn.execute("select side, raw, paged from sources").fetchall()
    pages = cache.conn.execute("select count(*) from pages").fetchone()[0]
    cache.close()
    assert sorted(rows) == [("erp", "", 2), ("platform", "", 2)]
    assert pages == 0


def test_check_as_a_person_runs_it_refreshes_through_the_index(
        tmp_path: Path, served) -> None:  # noqa: F811 - the fixture imported above
    """The CLI, a process per check with the sandbox in another: the first check's records
    written by a forked process (no other thread runs in the CLI), the second answered
    from the index, both printing what a full check of their moment prints."""
    import json

    from .test_live_check import SECRETS, _setup, cli

    port, _ = served
    _setup(tmp_path, port)
    args = ("check", "--profile", "sandbox", "--format", "json", "--now",
            "2026-11-21T12:00:00Z")
    first = cli(*args, home=tmp_path, **SECRETS)
    assert first.returncode == 1, first.stderr
    cache = Cache(tmp_path / "data" / "cache.sqlite3")
    index = RecordIndex(cache.conn)
    assert index.state("sandbox") is not None
    records = cache.conn.execute("select count(*) from records").fetchone()[0]
    cache.close()
    second = cli(*args, home=tmp_path, **SECRETS)
    full = cli(*args, "--full", home=tmp_path, **SECRETS)
    reports = [json.loads(done.stdout) for done in (first, second, full)]
    for report in reports:
        for side in ("platform", "erp"):
            report[side].pop("fetched_at")
    assert records > 0
    assert reports[0] == reports[1] == reports[2]


def test_a_refresh_through_the_index_gives_way_to_a_full_read_when_one_is_due(
        tmp_path: Path) -> None:
    """`full_read_hours` (24 by default): once the last full read is that old, the index
    does not answer, and the check reads everything again (which the cache then dates)."""
    sandbox = build_sandbox(NOW, returns=60, seed=5)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        check_profile(profile, sandbox.secret, cache, mappings, full=True)
        cache.wait()
        read_whole = cache.full_at(profile.name, "erp")
        assert read_whole is not None
        assert keyed_refresh(profile, sandbox.secret, cache, mappings) is not None
        with cache.conn:  # a day and more ago
            cache.conn.execute("update sources set full_at = ? where profile = ?",
                               [(read_whole - timedelta(hours=25)).isoformat(), profile.name])
        assert keyed_refresh(profile, sandbox.secret, cache, mappings) is None
        check_profile(profile, sandbox.secret, cache, mappings)
        cache.wait()
        assert cache.full_at(profile.name, "erp") > read_whole
        assert cache.full_at(profile.name, "platform") > read_whole
        assert keyed_refresh(profile, sandbox.secret, cache, mappings) is not None
    cache.close()


def _forking(monkeypatch) -> None:
    """The writers forked as in the CLI, though this test's server runs in a thread (the
    child only writes the index and leaves)."""
    import threading

    from returns_console.store import forked

    monkeypatch.setattr(forked.threading, "enumerate", lambda: [threading.main_thread()])


def _forked_world(monkeypatch, tmp_path: Path, *, seed: int):
    """A sandbox of 40 returns, its mappings and a cache, the writers forked as in the CLI."""
    _forking(monkeypatch)
    sandbox = build_sandbox(NOW, returns=40, seed=seed)
    return sandbox, demo_mappings(sandbox), Cache(tmp_path / "cache.sqlite3")


def _erp_down(sandbox) -> None:
    """The ERP refuses the profile's secret from now on (rotated there): it is down."""
    sandbox.erp.credentials = lambda: {"client_secret": "the one before"}
    sandbox.erp.client_secret = "rotated"


def _platform_written_by_another_run(monkeypatch, cache: Cache) -> None:
    """Once this run's writers are done, another run's platform records stand in the index
    (written over this run's before it finished)."""
    real = keyed_check.IndexWriter._written

    def another_run_meanwhile(self):
        done = real(self)
        with cache.conn:
            cache.conn.execute("update record_sides set writer = ? where profile = ? and "
                               "side = 'platform'", ["another run", self.profile.name])
        return done

    monkeypatch.setattr(keyed_check.IndexWriter, "_written", another_run_meanwhile)


def test_a_full_check_lets_go_of_records_its_writer_has_and_the_cache_still_gets_them(
        tmp_path: Path, monkeypatch) -> None:
    """Once a side's forked writer has its records, the check keeps only the views (at
    50,000 returns the platform's records were a fifth of the check's peak); where the
    index cannot answer (the ERP down), the cache's row still gets them, read back from
    the index, so the platform is shown stale from them when it is down next."""
    sandbox, mappings, cache = _forked_world(monkeypatch, tmp_path, seed=9)
    seen: dict = {}
    held: dict = {}
    real_side, real_report = keyed_check.IndexWriter.side, keyed_check.live_report

    def side(self, name, batch, connector):
        seen[name] = dict(batch.raw)
        return real_side(self, name, batch, connector)

    def report(profile, data, *args, **kwargs):
        held["raw"] = dict(data.platform.raw)
        return real_report(profile, data, *args, **kwargs)

    monkeypatch.setattr(keyed_check.IndexWriter, "side", side)
    monkeypatch.setattr(keyed_check, "live_report", report)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        check_profile(profile, sandbox.secret, cache, mappings, full=True)
        seen.clear()
        _erp_down(sandbox)
        first = check_profile(profile, sandbox.secret, cache, mappings, full=True, deadline=60)
    assert (first.platform.status, first.erp.status) == ("ok", "stale")
    assert seen["platform"] and held["raw"] == {}  # let go while the returns were checked
    assert "erp" not in seen
    assert RecordIndex(cache.conn).state(profile.name) is None  # no findings for this read
    from pydantic_core import from_json, to_json

    kept = cache.load_platform(profile.name, source_of(profile.platform))
    assert kept is not None
    assert list(kept.raw) == list(seen["platform"])
    assert kept.raw == from_json(to_json(seen["platform"]))
    later = check_profile(profile, sandbox.secret, cache, mappings, deadline=30)
    assert (later.platform.status, later.platform.records) == ("stale",
                                                               first.platform.records)
    assert cache.close() == []


def test_records_let_go_by_a_writer_that_failed_leave_the_cache_as_it_was(
        tmp_path: Path, monkeypatch) -> None:
    """The forked writer failed: the records it had are nowhere now, so the cache keeps
    the read before (not an empty side), and the check says the index was not written."""
    sandbox, mappings, cache = _forked_world(monkeypatch, tmp_path, seed=10)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        check_profile(profile, sandbox.secret, cache, mappings, full=True)
        before = cache.load_platform(profile.name, source_of(profile.platform))
        assert before is not None and before.raw
        for record in sandbox.platform.records[:5]:
            record["return_status"] = "Closed"
            record["date_updated"] = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()

        def fails(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(RecordIndex, "replace_side", fails)
        _erp_down(sandbox)
        report = check_profile(profile, sandbox.secret, cache, mappings, full=True,
                               deadline=60)
    assert report.platform.status == "ok"
    after = cache.load_platform(profile.name, source_of(profile.platform))
    assert after is not None and after.raw == before.raw
    warnings = cache.close()
    assert any("record index was not written" in w for w in warnings)


def test_records_let_go_are_not_read_back_once_another_run_wrote_its_own(
        tmp_path: Path, monkeypatch) -> None:
    """Another check wrote its platform records over this one's before it finished: what
    the index holds is that run's read, so this one's cache row is not made from it (the
    rows are the other run's to write)."""
    sandbox, mappings, cache = _forked_world(monkeypatch, tmp_path, seed=11)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        check_profile(profile, sandbox.secret, cache, mappings, full=True)
        before = cache.load_platform(profile.name, source_of(profile.platform))
        _platform_written_by_another_run(monkeypatch, cache)
        _erp_down(sandbox)
        report = check_profile(profile, sandbox.secret, cache, mappings, full=True,
                               deadline=60)
    assert (report.platform.status, report.erp.status) == ("ok", "stale")
    saved = cache.conn.execute("select fetched_at from sources where profile = ? and "
                               "side = 'platform'", [profile.name]).fetchone()
    assert saved is None or before is None or saved[0] == (
        before.fetched_at.isoformat() if before.fetched_at else None)
    assert cache.close() == []


def test_findings_are_written_only_over_both_sides_of_the_same_run(tmp_path: Path) -> None:
    """Two full checks at once, A and B: A's platform records, then B's, then A's ERP
    records. The index's last writer is A, but its platform records are B's: A's findings
    must not be written over them (nor B's over A's ERP records)."""
    cache = Cache(tmp_path / "cache.sqlite3")
    index = RecordIndex(cache.conn)
    tags = lambda ref, record: ()  # noqa: E731
    for side, run in (("platform", "A"), ("platform", "B"), ("erp", "A")):
        index.replace_side("p", side, {f"{side}:1": {"id": run}}, tags, writer=run,
                           tagger="t")
    for run in ("A", "B"):
        assert not index.write_outcomes("p", {"now": "x"}, [], writer=run)
    index.replace_side("p", "platform", {"platform:1": {"id": "A"}}, tags, writer="A",
                       tagger="t")
    assert index.write_outcomes("p", {"now": "x"}, [], writer="A")
    assert index.records_of("p", "platform", "A") == {"platform:1": {"id": "A"}}
    assert index.records_of("p", "platform", "B") is None
    cache.close()


def test_a_writer_is_forked_only_beside_no_other_thread() -> None:
    """A thread may hold a lock at the fork that the child would wait on for good: a
    server's, or the event loop's resolver workers a host name leaves behind (they run
    other work too). Beside any of them the writer is a thread of this process."""
    import asyncio
    import threading
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    import httpx

    from returns_console.store.forked import fork_safe

    async def resolve(url: str) -> bool:
        async with httpx.AsyncClient() as client:
            await client.get(url)
        return fork_safe()

    sandbox = build_sandbox(NOW, returns=3, seed=1)
    with BackgroundServer(sandbox.app()):
        assert not fork_safe()  # the server's thread
    web = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    # the test's own server answers in a thread of an allowed name (the progress line's)
    thread = threading.Thread(target=web.handle_request, name="progress")
    thread.start()
    try:
        assert asyncio.run(resolve(f"http://localhost:{web.server_address[1]}/")) is False
    finally:
        thread.join(timeout=10)
        web.server_close()


def test_a_host_name_looked_up_in_the_app_loop_leaves_no_thread_behind() -> None:
    """The app's loop (`connectors.loop.run`, as `check` runs it) looks a host name up in
    a thread that ends with the look-up: after it, writers may fork (a real URL's check
    writes its index on the other core, as the benchmarks' 127.0.0.1 does)."""
    import threading
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    import httpx

    from returns_console.connectors.loop import run
    from returns_console.store.forked import fork_safe

    async def resolve(url: str) -> bool:
        async with httpx.AsyncClient() as client:
            await client.get(url)
            await client.get(url + "?again")  # the kept connection: no look-up
        return fork_safe()  # the look-up's thread ended before the request went on

    web = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    thread = threading.Thread(target=lambda: [web.handle_request() for _ in range(2)],
                              name="progress")
    thread.start()
    try:
        assert run(resolve(f"http://localhost:{web.server_address[1]}/")) is True
    finally:
        thread.join(timeout=10)
        web.server_close()


def test_a_writer_that_does_not_finish_is_stopped() -> None:
    """A forked writer that hangs (it should not: a lock another thread held at the fork)
    is stopped once the command's deadline is spent, and the check goes on."""
    import os
    import time

    from returns_console.store.forked import exit_code as _exit_code

    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    assert _exit_code(pid, 0.2) is None
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    assert _exit_code(pid, 30) == 3


def test_two_runs_writes_interleaved_keep_each_side_this_runs_read_in_the_cache(
        tmp_path: Path, monkeypatch) -> None:
    """Another run wrote its platform records between this run's two writers (found by
    review): neither run's findings can be written over records of two reads, and each
    side's cache row is the read of the run whose records the index holds for it."""
    sandbox, mappings, cache = _forked_world(monkeypatch, tmp_path, seed=12)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        _platform_written_by_another_run(monkeypatch, cache)
        report = check_profile(profile, sandbox.secret, cache, mappings, full=True)
    assert (report.platform.status, report.erp.status) == ("ok", "ok")
    assert RecordIndex(cache.conn).state(profile.name) is None  # no findings over two reads
    erp = cache.load_erp(profile.name, source_of(profile.erp))
    assert erp is not None and erp.raw  # this run's ERP side, read back from the index
    assert cache.conn.execute("select count(*) from sources where profile = ? and side = "
                              "'platform'", [profile.name]).fetchone()[0] == 0
    assert cache.close() == []


def test_a_refresh_takes_the_company_the_full_read_found_and_finds_it_again_if_gone(
        tmp_path: Path) -> None:
    """Business Central's company id, learnt by the full read, spares every refresh the
    round trip of listing the companies before its first read (the list is read beside
    the changes, to see the id is still the one the profile chooses). An id that no
    longer answers, or no longer the profile's company (renamed, another given its name),
    gives the refresh up, and the full read that follows chooses again."""
    sandbox = build_sandbox(NOW, returns=60, seed=6)
    mappings = demo_mappings(sandbox)
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        now = datetime.now(UTC)
        check_profile(profile, sandbox.secret, cache, mappings, now=now, full=True)
        cache.wait()
        index = RecordIndex(cache.conn)
        ours = sandbox.erp.data.company["id"]
        assert index.state(profile.name)["erp"]["learnt"]["company"] == ours
        refreshed = keyed_refresh(profile, sandbox.secret, cache, mappings,
                                  now=now + timedelta(seconds=1))
        assert refreshed is not None
        assert _json(refreshed) == _full(profile, sandbox, mappings, tmp_path,
                                         now + timedelta(seconds=1))

        def learnt(company: str) -> None:
            state = index.state(profile.name)
            state["erp"]["learnt"]["company"] = company
            with cache.conn:
                index.put_state(profile.name, state)

        # an id that no longer answers
        learnt("00000000-0000-0000-0000-00000000beef")
        assert keyed_refresh(profile, sandbox.secret, cache, mappings,
                             now=now + timedelta(seconds=2)) is None
        # the id answers, but the profile's company is another one now
        learnt(ours)
        other = sandbox.erp.data.neighbours[0]
        name = sandbox.erp.data.company["name"]
        for field in ("name", "displayName"):
            sandbox.erp.data.company[field] = f"{name} (old)"
            other.company[field] = name
        assert keyed_refresh(profile, sandbox.secret, cache, mappings,
                             now=now + timedelta(seconds=3)) is None
        check_profile(profile, sandbox.secret, cache, mappings,
                      now=now + timedelta(seconds=4))
        assert index.state(profile.name)["erp"]["learnt"]["company"] == other.company["id"]
    cache.close()

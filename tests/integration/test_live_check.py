"""The live check end to end: sandbox on loopback, real connectors, profiles, cache."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from returns_console.sandbox.demo import build_sandbox
from returns_console.services.demo import run_demo_check

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SECRETS = {"RETURNS_CONSOLE_SANDBOX_API_KEY": "sandbox-swap-api-key",
           "RETURNS_CONSOLE_SANDBOX_CLIENT_SECRET": "sandbox-client-secret"}


def planted(truth: list[dict]) -> set[tuple[str, str, bool]]:
    return {(t["return_ref"], t["code"], t["delay"]) for t in truth}


def found(report: dict) -> set[tuple[str, str, bool]]:
    return ({(f["return_ref"], f["code"], False) for f in report["findings"]}
            | {(f["return_ref"], f["code"], True) for f in report["delays"]})


def test_demo_findings_equal_the_ground_truth_over_loopback() -> None:
    report, sandbox = run_demo_check(now=NOW)
    assert found(report.to_json()) == planted(sandbox.truth)
    assert report.platform.status == report.erp.status == "ok"
    assert sandbox.requests > 0  # it really went over HTTP


def env(home: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("RETURNS_CONSOLE_")}
    return {**out, "RETURNS_CONSOLE_HOME": str(home), "PYTHON_KEYRING_BACKEND":
            "keyring.backends.fail.Keyring", **extra}


def cli(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "returns_console", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, env=env(home, **extra))


def test_check_demo_json_prints_the_planted_findings_and_only_those(tmp_path: Path) -> None:
    done = cli("check", "--demo", "--format", "json", "--now", "2026-11-21T10:00:00Z",
               home=tmp_path)
    assert done.returncode == 1, done.stderr  # the demo has critical findings
    assert found(json.loads(done.stdout)) == planted(build_sandbox(NOW).truth)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path):
    """`returns-console sandbox` in its own process, as a person would run it."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "returns_console", "sandbox", "--port", str(port),
         "--now", "2026-11-21T10:00:00Z"],
        cwd=ROOT, env=env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(proc.stderr.read() if proc.stderr else "no sandbox") from None
            time.sleep(0.1)
    yield port, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


def _setup(home: Path, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    done = cli("setup", "--profile", "sandbox", "--platform", "swap",
               "--platform-url", f"{base}/swap", "--platform-option", "store=store_northwind",
               "--platform-option", "api_version=2", "--erp", "d365_bc",
               "--erp-url", f"{base}/d365_bc", "--erp-option", "tenant=northwind-sandbox",
               "--erp-option", "environment=sandbox",
               "--erp-option", "client_id=returns-console-demo",
               "--erp-option", "company=Northwind Outfitters Ltd",
               "--erp-option", f"token_url={base}/d365_bc/northwind-sandbox/oauth2/v2.0/token",
               # a source that is down is found out in two tries, not five
               "--platform-option", "retry_attempts=2", "--erp-option", "retry_attempts=2",
               home=home)
    assert done.returncode == 0, done.stderr


def test_profile_doctor_check_and_stale_after_the_sandbox_dies(tmp_path: Path, served) -> None:
    port, proc = served
    _setup(tmp_path, port)
    doctor = cli("doctor", "--profile", "sandbox", home=tmp_path, **SECRETS)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "sandbox-swap-api-key" not in doctor.stdout + doctor.stderr

    first = cli("check", "--profile", "sandbox", "--format", "json",
                "--now", "2026-11-21T10:00:00Z", home=tmp_path, **SECRETS)
    assert first.returncode == 1, first.stderr
    live = json.loads(first.stdout)
    assert live["platform"]["status"] == live["erp"]["status"] == "ok"
    assert found(live) == planted(build_sandbox(NOW).truth)
    # the console opens on what the last check found, before any source answers
    from returns_console.store.cache import Cache

    cache = Cache(tmp_path / "data" / "cache.sqlite3")
    try:
        kept = cache.load_report("sandbox")
    finally:
        cache.close()
    assert kept is not None and kept["findings"] == live["findings"]

    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    second = cli("check", "--profile", "sandbox", "--format", "json",
                 "--now", "2026-11-21T10:00:00Z", home=tmp_path, **SECRETS)
    assert second.returncode == 1, second.stderr
    stale = json.loads(second.stdout)
    assert stale["platform"]["status"] == stale["erp"]["status"] == "stale"
    assert stale["platform"]["fetched_at"] == live["platform"]["fetched_at"]
    assert "cannot reach" in stale["platform"]["error"]
    assert found(stale) == found(live)


def test_down_with_nothing_cached_is_exit_3(tmp_path: Path) -> None:
    _setup(tmp_path, _free_port())
    done = cli("check", "--profile", "sandbox", home=tmp_path, **SECRETS)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "is down and nothing is cached" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_doctor_names_what_fails_without_printing_secrets(tmp_path: Path, served) -> None:
    port, _ = served
    _setup(tmp_path, port)
    done = cli("doctor", "--profile", "sandbox", home=tmp_path,
               RETURNS_CONSOLE_SANDBOX_API_KEY="not-the-key-42",
               RETURNS_CONSOLE_SANDBOX_CLIENT_SECRET="sandbox-client-secret")
    assert done.returncode == 1
    assert "FAIL  platform swap" in done.stdout
    assert "ok    erp d365_bc" in done.stdout
    assert "not-the-key-42" not in done.stdout + done.stderr


def test_a_tenant_without_return_orders_degrades_to_what_credit_memos_show() -> None:
    """Business Central tenants without salesReturnOrders (404): a notice, and no false
    RETURN_ORDER_MISSING for every return; only what needs a return order goes unseen."""
    import asyncio

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.live import fetch_live, live_report

    sandbox = build_sandbox(NOW, return_orders_api=False)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        data = asyncio.run(fetch_live(profile, sandbox.secret))
    report = live_report(profile, data, demo_mappings(sandbox), now=NOW).to_json()
    assert any("no salesReturnOrders API" in notice for notice in data.notices)
    truth = planted(sandbox.truth)
    unseen = {t for t in truth if t[1] in {"RETURN_ORDER_MISSING", "ORDER_REF_MISSING",
                                           "RETURN_ORDER_NOT_OPEN", "RECEIPT_NOT_POSTED"}}
    conflict = {t[0] for t in truth if t[1] == "EXTERNAL_REF_CONFLICT"}
    # the conflicting credit memo is now the only source of the order reference
    assert found(report) == (truth - unseen) | {(ref, "ORDER_REF_MISSING", False)
                                                for ref in conflict}


def test_a_refresh_reads_only_what_changed_and_sees_the_change(tmp_path: Path) -> None:
    import asyncio
    from datetime import timedelta

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.live import fetch_live, live_report
    from returns_console.store.cache import Cache

    sandbox = build_sandbox(NOW, returns=200)
    cache = Cache(tmp_path / "cache.sqlite3")
    later = NOW + timedelta(hours=1)
    truth = planted(sandbox.truth)
    healthy = next(c for c in sandbox.scenario.snapshot["returns"]
                   if c["erp"]["credit_notes"] and c["platform"]["return_ref"]
                   not in {t[0] for t in truth})
    ref = healthy["platform"]["return_ref"]
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        first = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
        full_requests, full_swap = sandbox.requests, sandbox.platform.requests
        memo = sandbox.erp.data.find("salesCreditMemos", externalDocumentNumber=ref)
        sandbox.erp.data.update("salesCreditMemos", memo["id"], at=later,
                               totalTaxAmount=memo["totalTaxAmount"] - 1)
        sandbox.platform.records[3]["date_updated"] = later.isoformat()
        second = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
        refresh_requests = sandbox.requests - full_requests
        refresh_swap = sandbox.platform.requests - full_swap
    mappings = demo_mappings(sandbox)
    before = found(live_report(profile, first, mappings, now=later).to_json())
    after = found(live_report(profile, second, mappings, now=later).to_json())
    assert after - before == {(ref, "TAX_MISMATCH", False)}
    assert before - after == set()
    # one request a document set (and master set) in Business Central, one page of Swap
    assert refresh_requests <= full_requests
    assert (full_swap, refresh_swap) == (2, 1)
    assert len(second.platform.views) == len(first.platform.views)
    cache.close()


def test_a_refresh_drops_documents_deleted_in_the_erp(tmp_path: Path) -> None:
    """A credit memo deleted in Business Central (as a draft is when it is posted) leaves
    the cache at the next refresh: incremental reads list the ids that still exist."""
    import asyncio

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.live import fetch_live, live_report
    from returns_console.store.cache import Cache

    sandbox = build_sandbox(NOW)
    duplicated = next(t[0] for t in planted(sandbox.truth) if t[1] == "CREDIT_NOTE_DUPLICATE")
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        first = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
        memos = sandbox.erp.data.sets["salesCreditMemos"]
        extra = [m for m in memos if m["externalDocumentNumber"] == duplicated][-1]
        memos.remove(extra)
        second = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
    cache.close()
    mappings = demo_mappings(sandbox)
    before = found(live_report(profile, first, mappings, now=NOW).to_json())
    after = found(live_report(profile, second, mappings, now=NOW).to_json())
    assert before - after == {(duplicated, "CREDIT_NOTE_DUPLICATE", False)}
    assert after - before == set()


def test_a_port_nothing_listens_on_is_given_up_after_one_quick_retry(tmp_path: Path) -> None:
    """Issue 10.8: an unreachable port took 12-20 s to fail (five attempts with backoff)."""
    import asyncio

    from returns_console.connectors.errors import NetworkError
    from returns_console.connectors.http import CallLog, HttpClient, RetryPolicy

    log = CallLog()
    client = HttpClient("swap", f"http://127.0.0.1:{_free_port()}", log=log,
                        retry=RetryPolicy(attempts=5, initial=0.0, maximum=0.0, jitter=0.0))

    async def go() -> None:
        try:
            await client.get_json("/v2/external/returns")
        finally:
            await client.aclose()

    with pytest.raises(NetworkError, match=r"connection refused|nothing answers"):
        asyncio.run(go())
    assert [c.attempt for c in log] == [1, 2]
    assert client.client.timeout.connect == 5.0 and client.client.timeout.read == 30.0


def test_a_base_url_that_leads_nowhere_is_a_misconfiguration_not_a_source_down(
        tmp_path: Path, served) -> None:
    """Issue 10.8: a 404 on the base URL read as 'platform is down'."""
    port, _ = served
    _setup(tmp_path, port)
    done = cli("setup", "--profile", "sandbox", "--platform-url",
               f"http://127.0.0.1:{port}/not-swap", home=tmp_path)
    assert done.returncode == 0, done.stderr
    checked = cli("check", "--profile", "sandbox", home=tmp_path, **SECRETS)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "does not lead to Swap's returns API" in checked.stderr
    assert "down" not in checked.stderr


def test_a_wrong_key_names_the_variable_it_came_from(tmp_path: Path, served) -> None:
    """Issue 10.8: 'check the credentials in the profile' when the key came from the
    environment."""
    port, _ = served
    _setup(tmp_path, port)
    wrong = {**SECRETS, "RETURNS_CONSOLE_SANDBOX_API_KEY": "not-the-key"}
    doctor = cli("doctor", "--profile", "sandbox", home=tmp_path, **wrong)
    assert doctor.returncode != 0
    assert "environment variable RETURNS_CONSOLE_SANDBOX_API_KEY" in doctor.stdout + doctor.stderr
    assert "not-the-key" not in doctor.stdout + doctor.stderr


def test_a_session_that_keeps_its_last_read_refreshes_to_what_a_full_check_finds(
        tmp_path: Path) -> None:
    """The console keeps its last read and the findings per return in memory: a refresh
    lays the changes over them and checks again only the returns that changed, and finds
    exactly what a full read and a full reconcile of the same moment find."""
    import asyncio
    from datetime import timedelta

    from returns_console.domain.recheck import Rechecker
    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.live import fetch_live, live_report
    from returns_console.store.cache import Cache

    sandbox = build_sandbox(NOW, returns=200)
    cache = Cache(tmp_path / "cache.sqlite3")
    later = NOW + timedelta(hours=1)
    truth = planted(sandbox.truth)
    duplicated = next(t[0] for t in truth if t[1] == "CREDIT_NOTE_DUPLICATE")
    healthy = next(c for c in sandbox.scenario.snapshot["returns"]
                   if c["erp"]["credit_notes"] and c["platform"]["return_ref"]
                   not in {t[0] for t in truth})
    ref = healthy["platform"]["return_ref"]
    rechecker = Rechecker()
    mappings = demo_mappings(sandbox)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        first = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
        live_report(profile, first, mappings, now=NOW, rechecker=rechecker)
        memo = sandbox.erp.data.find("salesCreditMemos", externalDocumentNumber=ref)
        sandbox.erp.data.update("salesCreditMemos", memo["id"], at=later,
                               totalTaxAmount=memo["totalTaxAmount"] - 1)
        memos = sandbox.erp.data.sets["salesCreditMemos"]
        memos.remove([m for m in memos if m["externalDocumentNumber"] == duplicated][-1])
        sandbox.platform.records[3]["date_updated"] = later.isoformat()
        kept = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache, kept=first))
        full = asyncio.run(fetch_live(profile, sandbox.secret, full=True))
    cache.close()
    refreshed = live_report(profile, kept, mappings, now=later, rechecker=rechecker)
    assert rechecker.checked < len(refreshed.cases) // 2
    want = live_report(profile, full, mappings, now=later).to_json()
    got = refreshed.to_json()
    for report in (got, want):
        for side in ("platform", "erp"):
            report[side].pop("fetched_at")
    assert got == want
    assert (ref, "TAX_MISMATCH", False) in found(got)
    assert (duplicated, "CREDIT_NOTE_DUPLICATE", False) not in found(got)


def _edit_a_memo(sandbox) -> dict:
    """The first credit memo's tax changed an hour from now (as BC stamps an edit)."""
    from datetime import timedelta

    memo = sandbox.erp.data.sets["salesCreditMemos"][0]
    sandbox.erp.data.update("salesCreditMemos", memo["id"],
                            at=datetime.now(UTC) + timedelta(hours=1),
                            totalTaxAmount=memo["totalTaxAmount"] + 1)
    return memo


def test_a_console_session_writes_the_cache_now_and_then_and_at_close(tmp_path: Path) -> None:
    """Rewriting every raw record on each refresh cost as much as the refresh: the session
    writes them on its first read, then at most every SAVE_EVERY seconds, and at close."""

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.session import LiveSession
    from returns_console.store.cache import Cache

    sandbox = build_sandbox(NOW, returns=60)
    path = tmp_path / "cache.sqlite3"
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        mappings = demo_mappings(sandbox)
        session = LiveSession(profile, sandbox.secret, lambda: mappings, path)
        session.refresh()
        first = Cache(path)
        written = first.cursor(profile.name, "erp")
        first.close()
        memo = _edit_a_memo(sandbox)
        loaded = session.refresh()
        cache = Cache(path)
        assert cache.cursor(profile.name, "erp") == written  # not written this time
        cache.close()
        session.close()
    cache = Cache(path)
    kept = cache.load_erp(profile.name)
    assert cache.cursor(profile.name, "erp") != written
    cache.close()
    assert kept is not None and loaded.report.findings
    etag = next(m for m in sandbox.erp.data.sets["salesCreditMemos"]
                if m["id"] == memo["id"])["@odata.etag"]
    assert any(isinstance(r, dict) and r.get("id") == memo["id"]
               and r.get("@odata.etag") == etag for r in kept.raw.values())


def test_a_session_whose_sources_go_down_shows_its_last_read_not_the_older_cache(
        tmp_path: Path) -> None:
    """The session writes the cache only now and then: a source that goes down is shown
    stale with the session's own last read, which is newer than the cache."""

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.session import LiveSession

    sandbox = build_sandbox(NOW, returns=60)
    mappings = demo_mappings(sandbox)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        session = LiveSession(profile, sandbox.secret, lambda: mappings,
                              tmp_path / "cache.sqlite3", deadline=30)
        session.refresh()
        _edit_a_memo(sandbox)
        read = session.refresh()
    down = session.refresh()
    session.close()
    assert down.report.platform.status == down.report.erp.status == "stale"
    assert down.report.erp.fetched_at == read.report.erp.fetched_at
    assert [f.to_json()["id"] for f in down.report.findings] == [
        f.to_json()["id"] for f in read.report.findings]


@pytest.mark.parametrize("written_by", ["close", "a saving refresh"])
def test_a_session_whose_source_went_down_keeps_its_last_read_in_the_cache(
        tmp_path: Path, monkeypatch, written_by: str) -> None:
    """Found by review: a side read since the last write and down when the session wrote
    (at close, or at its next saving refresh) was not written (it showed stale), so the
    next start went back to the older cache."""

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services import session as session_module
    from returns_console.services.demo import demo_mappings
    from returns_console.services.session import LiveSession

    sandbox = build_sandbox(NOW, returns=60)
    mappings = demo_mappings(sandbox)
    cache = tmp_path / "cache.sqlite3"
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        session = LiveSession(profile, sandbox.secret, lambda: mappings, cache, deadline=30)
        session.refresh()  # written: the first read
        _edit_a_memo(sandbox)
        read = session.refresh()  # not written yet
    if written_by != "close":
        monkeypatch.setattr(session_module, "SAVE_EVERY", -1.0)
    down = session.refresh()  # both down: the session's read, shown stale
    assert down.report.erp.fetched_at == read.report.erp.fetched_at
    if written_by == "close":
        session.close()
    again = LiveSession(profile, sandbox.secret, lambda: mappings, cache, deadline=30)
    later = again.refresh()  # still down: from the cache
    again.close()
    session.close()
    assert later.report.erp.status == "stale"
    assert later.report.erp.fetched_at == read.report.erp.fetched_at


def test_a_session_starting_on_a_cache_writes_it_again_only_at_close(tmp_path: Path) -> None:
    """The first read of a session started on a cache lays the changes over it in memory and
    leaves the cache as it is (rewriting it all cost half a second at 10k returns, at every
    start); close writes what was read."""

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.session import LiveSession
    from returns_console.store.cache import Cache

    sandbox = build_sandbox(NOW, returns=60)
    mappings = demo_mappings(sandbox)
    path = tmp_path / "cache.sqlite3"

    def cursor() -> str | None:
        cache = Cache(path)
        try:
            return cache.cursor(profile.name, "erp")
        finally:
            cache.close()

    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        first = LiveSession(profile, sandbox.secret, lambda: mappings, path)
        first.refresh()  # nothing cached: written
        first.close()
        written = cursor()
        assert written is not None
        _edit_a_memo(sandbox)
        second = LiveSession(profile, sandbox.secret, lambda: mappings, path)
        second.refresh()
        assert cursor() == written
        second.close()
    assert cursor() != written


def test_the_console_process_freezes_what_a_read_keeps_and_others_do_not(tmp_path: Path) -> None:
    """The console's own process (the CLI sets `keeps_heap`) freezes what each read keeps,
    so the collector's full passes stop walking it; a session in a shared process (tests,
    other hosts) leaves the collector as it was. Either way it is running afterwards."""
    import gc

    from returns_console.sandbox.server import BackgroundServer
    from returns_console.services.demo import demo_mappings
    from returns_console.services.session import LiveSession

    sandbox = build_sandbox(NOW, returns=40)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        mappings = demo_mappings(sandbox)
        gc.unfreeze()
        shared = LiveSession(profile, sandbox.secret, lambda: mappings,
                             tmp_path / "shared.sqlite3")
        shared.refresh()
        shared.close()
        assert gc.get_freeze_count() == 0 and gc.isenabled()
        own = LiveSession(profile, sandbox.secret, lambda: mappings, tmp_path / "own.sqlite3")
        own.keeps_heap = True
        try:
            for _ in range(3):
                loaded = own.refresh()
            assert gc.get_freeze_count() > 0 and gc.isenabled()
            assert loaded.report.findings
            # a refresh's own garbage (its HTTP client's cycles) was collected, not frozen
            gc.unfreeze()
            assert gc.collect() < 100
        finally:
            own.close()
            gc.unfreeze()

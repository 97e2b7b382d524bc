"""A check's refresh of NetSuite over loopback: after the first read it asks only for what
changed (requests counted by the sandbox), and a deletion, which an incremental read cannot
see, makes it read everything again, so the deleted credit memo is gone from the result."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.live import fetch_live
from returns_console.store.cache import Cache

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def suiteql(box, what: str = "requests") -> int:
    paths = box.served.as_json()["systems"]["netsuite"]["paths"]
    return paths.get("/services/rest/query/v1/suiteql", {}).get(what, 0)


def test_a_refresh_asks_for_what_changed_and_reads_all_again_after_a_deletion(
        tmp_path: Path) -> None:
    box = build_sandbox(NOW, platform="shopify", erp="netsuite")
    cache = Cache(tmp_path / "cache.sqlite3")
    with BackgroundServer(box.app()) as server:
        profile = box.profile(server.url)
        before, sent = suiteql(box), suiteql(box, "bytes")
        first = asyncio.run(fetch_live(profile, box.secret, cache=cache))
        full, full_bytes = suiteql(box) - before, suiteql(box, "bytes") - sent
        before, sent = suiteql(box), suiteql(box, "bytes")
        again = asyncio.run(fetch_live(profile, box.secret, cache=cache))
        refresh, refresh_bytes = suiteql(box) - before, suiteql(box, "bytes") - sent
        account = box.erp.account
        credit = next(r for r in account.engine.rows("transaction", type="CustCred"))
        account.engine.delete("transactionline", {"transaction": credit["id"]})
        account.engine.delete("transaction", {"id": credit["id"]})
        before = suiteql(box)
        after = asyncio.run(fetch_live(profile, box.secret, cache=cache))
        reread = suiteql(box) - before
    cache.close()
    assert again.erp.views == first.erp.views
    # documents and customers by what changed (one page each), the small sets, the tally;
    # what changed is nothing: a small part of the full read's bytes (the master sets)
    assert refresh == 8
    assert refresh_bytes * 4 < full_bytes
    gone = f"netsuite:creditMemo:{credit['id']}"
    assert gone in first.erp.raw and gone not in after.erp.raw
    assert reread == refresh + full  # the incremental read, then everything

"""Shopify's webhooks end to end over loopback: the sandbox's store posts its signed
deliveries to the receiver `returns-console listen` serves, the inbox keeps them, and the
next incremental read fetches again what they name. The store is one where a change to a
return leaves its order's `updatedAt` alone (docs/vendors/shopify.md §2.2 does not say
either way): only the webhook can tell."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from returns_console.domain.codes import Stage
from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.push import post_deliveries
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.listen import listen_app
from returns_console.services.live import fetch_live
from returns_console.store.cache import Cache
from returns_console.store.inbox import Inbox

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def stage(data, ref: str) -> str:
    [view] = [v for v in data.platform.views if v.return_ref == ref]
    return view.stage(Stage.RECEIVED).status.value


def test_a_change_only_a_webhook_tells_of_is_seen_once_listen_has_kept_it(
        tmp_path: Path) -> None:
    sandbox = build_sandbox(NOW, platform="shopify", erp="netsuite")
    store = sandbox.platform.store
    store.bumps_order = False
    cache = Cache(tmp_path / "cache.sqlite3")
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        app, paths = asyncio.run(listen_app(profile, sandbox.secret, inbox))
        with BackgroundServer(app) as hooks:
            asyncio.run(fetch_live(profile, sandbox.secret, cache=cache, inbox=inbox))
            ret = next(r for r in store.returns.values() if r["status"] == "OPEN" and not any(
                line["dispositions"] for rfo in r["reverseFulfillmentOrders"]
                for line in rfo["lineItems"]))
            store.dispose(ret, "RESTOCKED", NOW + timedelta(hours=1), "Main warehouse")
            # nothing delivered yet: the read from the order cursor cannot see it
            blind = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache, inbox=inbox))
            assert stage(blind, ret["name"]) == "not_started"
            assert post_deliveries(sandbox.platform, hooks.url + paths["shopify"]) == 1
            # a retry of the same delivery is kept once
            assert post_deliveries(sandbox.platform, hooks.url + paths["shopify"]) == 1
            assert inbox.count("shopify") == 1
            seen = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache, inbox=inbox))
    assert stage(seen, ret["name"]) == "done"
    assert paths["shopify"] == "/hooks/shopify/webhooks"
    cache.close()


def test_doctor_says_what_listen_needs_without_failing_a_profile_that_only_checks(
        tmp_path: Path) -> None:
    """The signing secret is only `listen`'s: missing, it is said, not failed; the inbox's
    deliveries are counted."""
    from returns_console.connectors.base import InboxEvent
    from returns_console.services.doctor import diagnose

    sandbox = build_sandbox(NOW, platform="shopify", erp="netsuite")
    inbox = Inbox(tmp_path / "inbox.sqlite3")

    def without_webhook_secret(system: str, name: str) -> str | None:
        return None if name.startswith("webhook_secret") else sandbox.secret(system, name)

    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        before = asyncio.run(diagnose(profile, without_webhook_secret, inbox=inbox))
        inbox.receive(InboxEvent(system="shopify", delivery_id="d-1", topic="returns/close",
                                 received_at=NOW, body=b"{}"))
        after = asyncio.run(diagnose(
            profile, lambda system, name: "old-secret" if name == "webhook_secret_previous"
            else sandbox.secret(system, name), inbox=inbox))
    said = {d.what: (d.ok, d.detail) for d in before}
    assert all(d.ok for d in before), [d for d in before if not d.ok]
    assert said["shopify webhook_secret"] == (
        True, "not set: only `returns-console listen` needs it (to verify the deliveries it "
              "receives)")
    assert said["shopify webhook_secret_previous"] == (
        True, "not set: needed only while webhook_secret is being rotated")
    assert said["shopify deliveries"][1].startswith("none received yet")
    said_after = {d.what: d.detail for d in after}
    assert said_after["shopify deliveries"] == "1 kept, the last received 2026-11-21 10:00 UTC"
    assert "remove it once the rotation of webhook_secret is done" in said_after[
        "shopify webhook_secret_previous"]
    assert "old-secret" not in " ".join(said_after.values())

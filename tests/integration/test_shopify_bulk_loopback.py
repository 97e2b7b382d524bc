"""A Shopify full read through a bulk operation over loopback (docs/vendors/shopify.md §7):
the file is fetched from the link the operation gives (its host and port, the sandbox's
mount), without the access token, and the read equals a paged one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.live import fetch_live
from tests.contracts import kit

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_a_bulk_full_read_over_http_equals_a_paged_one() -> None:
    box = build_sandbox(NOW, platform="shopify", erp="netsuite", returns=30)
    with BackgroundServer(box.app()) as server:
        profile = box.profile(server.url)
        paged = asyncio.run(fetch_live(kit.tuned(profile, shopify={"bulk_full_read": "never"}),
                                       box.secret)).platform
        bulked = asyncio.run(fetch_live(kit.tuned(profile, shopify={
            "bulk_full_read": "always"}), box.secret)).platform
    assert {v.return_ref: v for v in bulked.views} == {v.return_ref: v for v in paged.views}
    assert len(box.platform.bulk.operations) == 1
    assert box.platform.bulk.downloads and all(
        "x-shopify-access-token" not in h for h in box.platform.bulk.downloads)

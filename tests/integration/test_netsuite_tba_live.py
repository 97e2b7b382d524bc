"""A NetSuite profile on Token-Based Authentication (`auth = tba`, docs/vendors/netsuite.md
§2.3) over loopback: the signature covers the URL as it reaches the account (host, port,
the sandbox's mount, the SuiteQL query string), each request with a nonce of its own, and
no token is bought."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from returns_console.connectors.http import CallLog
from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.live import fetch_live
from returns_console.systems.netsuite.simulator_auth import DEMO_TBA
from tests.contracts import kit

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_a_tba_profile_reads_the_account_over_http_and_gives_the_m2m_result() -> None:
    box = build_sandbox(NOW, platform="shopify", erp="netsuite", returns=30)

    def lookup(system: str, name: str) -> str | None:
        return DEMO_TBA.get(name) or box.secret(system, name)

    with BackgroundServer(box.app()) as server:
        m2m = box.profile(server.url)
        tba = kit.tuned(m2m, netsuite={"auth": "tba"})
        tokens = box.erp.token_requests
        log = CallLog()
        signed = asyncio.run(fetch_live(tba, lookup, log=log))
        assert box.erp.token_requests == tokens
        certified = asyncio.run(fetch_live(m2m, box.secret))
    assert signed.erp.views == certified.erp.views and signed.erp.views
    assert not signed.erp.problems
    assert all(c.status == 200 for c in log if c.system == "netsuite")

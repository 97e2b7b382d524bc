"""`--demo`: start the sandbox on loopback, check it through the real connectors, stop it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ..domain.reference import Mappings
from ..sandbox.demo import Sandbox, build_sandbox
from ..sandbox.faults import Faults
from ..sandbox.server import BackgroundServer
from ..store.cache import Cache
from .check import CheckReport
from .live import fetch_live, live_report


def demo_mappings(sandbox: Sandbox) -> Mappings:
    """The demo company's mapping tables (an operator's would live in the local store)."""
    return sandbox.mappings()


def run_demo_check(*, now: datetime | None = None, returns: int | None = None,
                   faults: Faults | None = None, cache: Cache | None = None,
                   workers: int = 1, platform: str | None = None,
                   erp: str | None = None) -> tuple[CheckReport, Sandbox]:
    now = now or datetime.now(UTC).replace(microsecond=0)
    sandbox = build_sandbox(now, returns=returns, faults=faults, platform=platform, erp=erp)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        data = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
    report = live_report(profile, data, demo_mappings(sandbox), now=now, workers=workers)
    return report, sandbox

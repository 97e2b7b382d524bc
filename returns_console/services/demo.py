"""`--demo`: start the sandbox on loopback, check it through the real connectors, stop it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

from ..config import Profile
from ..domain.reference import Mappings
from ..sandbox.demo import Sandbox, build_sandbox
from ..sandbox.faults import Faults
from ..sandbox.hosted import Delivery, PushingSystem
from ..sandbox.push import post_deliveries
from ..sandbox.server import BackgroundServer
from ..store.cache import Cache
from ..store.inbox import Inbox
from .check import CheckReport
from .listen import listen_app
from .live import fetch_live, live_report
from .platform_read import takes_deliveries

T = TypeVar("T")


def demo_mappings(sandbox: Sandbox) -> Mappings:
    """The demo company's mapping tables (an operator's would live in the local store)."""
    return sandbox.mappings()


class DemoPush:
    """For a sandbox platform that pushes (instead of being listed, or as well): a
    receiver served as `listen` serves it, into an inbox of the demo's own (a temporary
    folder: a real profile's inbox never holds demo data), and the simulator's deliveries
    posted to it over HTTP before each read."""

    def __init__(self, sandbox: Sandbox, profile: Profile) -> None:
        self.sandbox = sandbox
        self._folder = TemporaryDirectory(prefix="returns-console-demo-inbox-")
        self.inbox = Inbox(Path(self._folder.name) / "inbox.sqlite3")
        #: The scenario time of the delivery being posted (the receiver stamps it so).
        self._sent_at: datetime | None = None
        app, paths = run_coroutine(listen_app(profile, sandbox.secret, self.inbox,
                                              clock=self._clock))
        self.server: BackgroundServer | None = BackgroundServer(app).start()
        self.url = self.server.url + paths[sandbox.platform_id]
        self.sent = 0

    def push(self) -> int:
        """Post what the simulator has not yet delivered; how many were taken."""
        if not isinstance(self.sandbox.platform, PushingSystem):
            return 0
        try:
            taken = post_deliveries(self.sandbox.platform, self.url, self.sent,
                                    sending=self._sending)
        finally:
            self._sent_at = None
        self.sent += taken
        return taken

    def _sending(self, delivery: Delivery) -> None:
        self._sent_at = delivery.sent_at

    def _clock(self) -> datetime:
        return self._sent_at or datetime.now(UTC)

    def close(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            server.stop()
            self._folder.cleanup()


def demo_push(sandbox: Sandbox, profile: Profile) -> DemoPush | None:
    """A DemoPush when the sandbox's platform pushes (its returns, or hints), else None."""
    if not takes_deliveries(sandbox.platform_id):
        return None
    return DemoPush(sandbox, profile)


def run_coroutine(work: Coroutine[Any, Any, T]) -> T:
    """`work` run to its end from synchronous code, also when an event loop is running in
    this thread (the console's): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def run_demo_check(*, now: datetime | None = None, returns: int | None = None,
                   faults: Faults | None = None, cache: Cache | None = None,
                   workers: int = 1, platform: str | None = None,
                   erp: str | None = None) -> tuple[CheckReport, Sandbox]:
    now = now or datetime.now(UTC).replace(microsecond=0)
    sandbox = build_sandbox(now, returns=returns, faults=faults, platform=platform, erp=erp)
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        pushed = demo_push(sandbox, profile)
        try:
            if pushed is not None:
                pushed.push()
            data = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache,
                                          inbox=pushed.inbox if pushed else None))
        finally:
            if pushed is not None:
                pushed.close()
    report = live_report(profile, data, demo_mappings(sandbox), now=now, workers=workers)
    return report, sandbox

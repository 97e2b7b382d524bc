"""`--demo`: start the sandbox on loopback, check it through the real connectors, stop it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

from ..config import Profile
from ..connectors import loop as loops
from ..domain.reference import Mappings
from ..sandbox.demo import Sandbox, build_sandbox
from ..sandbox.faults import Faults
from ..sandbox.hosted import ChannelClient, Delivery, PushingSystem
from ..sandbox.push import post_deliveries
from ..sandbox.server import BackgroundServer
from ..store.cache import Cache
from ..store.inbox import Inbox
from .check import CheckReport
from .connections import SecretLookup
from .listen import PlatformFeed, listen_app
from .live import fetch_live, live_report
from .platform_read import reads_inbox, takes_deliveries

T = TypeVar("T")


def demo_mappings(sandbox: Sandbox) -> Mappings:
    """The demo company's mapping tables (an operator's would live in the local store)."""
    return sandbox.mappings()


class _Later:
    """An ASGI app given after its server has started (it must know the server's address)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class DemoPush:
    """For a sandbox system that calls us (a platform that pushes its returns or hints, an
    ERP whose channel fetches from us): a receiver served as `listen` serves it, into an
    inbox of the demo's own (a temporary folder: a real profile's inbox never holds demo
    data), and the simulator's calls made to it over HTTP before each read."""

    def __init__(self, sandbox: Sandbox, profile: Profile,
                 mappings: Callable[[], Mappings] | None = None,
                 secrets: SecretLookup | None = None, transport: object | None = None) -> None:
        self.sandbox = sandbox
        self._folder = TemporaryDirectory(prefix="returns-console-demo-inbox-")
        self.inbox = Inbox(Path(self._folder.name) / "inbox.sqlite3")
        #: The scenario time of the call being made (the receiver stamps it so).
        self._sent_at: datetime | None = None
        front = _Later()
        self.server: BackgroundServer | None = BackgroundServer(front).start()
        listening = profile
        if reads_inbox(sandbox.erp_id):  # the channel's configuration names our address
            listening = profile.model_copy(update={"erp": profile.erp.model_copy(
                update={"base_url": self.server.url})})
        mapped = mappings or (lambda: demo_mappings(sandbox))
        lookup = secrets or sandbox.secret
        # a channel's feed reads the platform as the check does (over `transport` in tests)
        feed = PlatformFeed(listening, lookup, inbox=self.inbox, transport=transport)
        front.app, paths = run_coroutine(listen_app(listening, lookup, self.inbox,
                                                    clock=self._clock, mappings=mapped,
                                                    returns=feed))
        self.url = self.server.url + paths.get(sandbox.platform_id, "")
        self.channel = (self.server.url + paths[sandbox.erp_id]
                        if sandbox.erp_id in paths else None)
        self.sent = 0

    def push(self) -> int:
        """Make the calls the simulators have not made yet; how many were answered."""
        taken = 0
        try:
            if isinstance(self.sandbox.platform, PushingSystem):
                got = post_deliveries(self.sandbox.platform, self.url, self.sent,
                                      sending=self._sending)
                self.sent += got
                taken += got
            if self.channel is not None and isinstance(self.sandbox.erp, ChannelClient):
                # every call of the scenario (dated as it), then a pull now: a console left
                # open keeps its channel pulled
                as_of = self.sandbox.scenario.snapshot.get("as_of")
                now = datetime.now(UTC)
                if as_of:
                    now = max(now, datetime.fromisoformat(as_of.replace("Z", "+00:00")))
                taken += self.sandbox.erp.cycle(self.channel, now=now, sending=self._sending_at)
        finally:
            self._sent_at = None
        return taken

    def _sending(self, delivery: Delivery) -> None:
        self._sent_at = delivery.sent_at

    def _sending_at(self, at: datetime) -> None:
        self._sent_at = at

    def _clock(self) -> datetime:
        return self._sent_at or datetime.now(UTC)

    def close(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            server.stop()
            self._folder.cleanup()


def demo_push(sandbox: Sandbox, profile: Profile,
              mappings: Callable[[], Mappings] | None = None,
              secrets: SecretLookup | None = None,
              transport: object | None = None) -> DemoPush | None:
    """A DemoPush when a sandbox system calls us (a platform pushing its returns or hints,
    an ERP's channel), else None."""
    if not takes_deliveries(sandbox.platform_id) and not reads_inbox(sandbox.erp_id):
        return None
    return DemoPush(sandbox, profile, mappings, secrets, transport)


def run_coroutine(work: Coroutine[Any, Any, T]) -> T:
    """`work` run to its end from synchronous code, also when an event loop is running in
    this thread (the console's): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return loops.run(work)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(loops.run, work).result()


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
            data = loops.run(fetch_live(profile, sandbox.secret, cache=cache,
                                        inbox=pushed.inbox if pushed else None))
        finally:
            if pushed is not None:
                pushed.close()
    report = live_report(profile, data, demo_mappings(sandbox), now=now, workers=workers)
    return report, sandbox

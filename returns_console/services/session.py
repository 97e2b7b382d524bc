"""A console session: where the console's data comes from and how it is refreshed.

Three sources, one shape: the built-in demo (the sandbox served on loopback for the whole
session, read through the real connectors), a profile's live systems, or a snapshot file.
A session opens on the last report kept in the cache (at once, marked stale), then refreshes
in the background; each refresh answers with the report and the raw source records behind it.
The UI calls these methods from a worker thread; nothing here knows of Textual.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Profile
from ..connectors import loop as loops
from ..domain.memory import gc_paused, give_back, keep_for_good
from ..domain.reference import ErpMaster, Mappings
from ..locations import INBOX_DB_NAME
from ..store.cache import Cache
from .check import CheckReport, SourceStatus
from .deadlines import DEFAULT_DEADLINE

if TYPE_CHECKING:  # what reads the systems is imported by the first refresh, after the
    # first frame: the console opens on the cached report without HTTP or the rules
    from ..connectors.http import CallLog
    from ..domain.recheck import Rechecker
    from ..store.inbox import Inbox
    from .connections import SecretLookup
    from .live import LiveData

ENVIRONMENTS = ("demo", "sandbox", "production")
#: How often (seconds) a session writes the raw records it holds to the cache.
SAVE_EVERY = 600.0
log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(slots=True)
class Loaded:
    """One report and the raw records behind it (raw_ref → record as the API sent it)."""

    report: CheckReport
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: The last report kept in the cache, shown while the first refresh runs.
    from_cache: bool = False
    #: The mapping tables the report was made with (lines are shown paired through them).
    mappings: Mappings | None = None
    #: The ERP's master data the report was checked against (actions validate against it).
    master: ErpMaster | None = None


class Session:
    """The base: a label, the environment shown in colour, read-only, and the refresh."""

    label: str = "session"
    environment: str = "production"
    read_only: bool = False
    #: Where the data comes from, as shown to people (never a URL with credentials).
    where: str = ""

    def __init__(self) -> None:
        self._phase = ""
        self._log: CallLog | None = None
        self._lock = threading.Lock()
        #: The process is the console's own (the CLI says so): what a read keeps is frozen
        #: out of the collector's passes (`domain.memory.keep_for_good`). Off by default:
        #: tests and other hosts share the process, and their garbage must stay collectable.
        self.keeps_heap = False

    def opening(self) -> Loaded | None:
        """The last report at once (from the cache), or None: the first refresh will tell."""
        return None

    def refresh(self) -> Loaded:
        """Read the sources and reconcile; blocking (the UI runs it in a worker thread)."""
        raise NotImplementedError

    def progress(self) -> str:
        """What the refresh is doing now, for the progress line."""
        log = self._log
        if self._phase == "reading" and log is not None:
            return f"reading the systems · {log.total} requests"
        return self._phase

    def close(self) -> None:
        """Stop what the session started (the demo's sandbox)."""

    def open_writer(self):
        """The ERP's writer (None: this session cannot write, e.g. a snapshot file, or its
        ERP takes no writes). The caller closes it (`await writer.aclose()`)."""
        return None

    def load_mappings(self) -> Mappings:
        raise RuntimeError("this session keeps no mapping tables (a snapshot file); open a "
                           "profile to remap")

    def save_mappings(self, mappings: Mappings) -> None:
        raise RuntimeError("this session keeps no mapping tables (a snapshot file); open a "
                           "profile to remap")

    @property
    def profile_name(self) -> str:
        return self.label

    @property
    def systems(self) -> str:
        return ""

    @property
    def erp_system(self) -> str | None:
        """The registry id of the ERP written to (None: no ERP, or not a registered one)."""
        return None

    @property
    def erp_item_ways(self) -> tuple[str, ...]:
        """The ways a SKU mapping may say the ERP finds an item (its default first; empty:
        only by its item number)."""
        from .. import systems

        found = systems.find(self.erp_system) if self.erp_system else None
        return found.capabilities.item_ways if found is not None else ()

    def erp_can(self, action: str) -> bool:
        """Whether the ERP's writer can carry out `action` at all (the registry says), so
        the console offers only what the pair supports."""
        from .. import systems

        found = systems.find(self.erp_system) if self.erp_system else None
        return found is None or action in found.capabilities.writes


class ReportSession(Session):
    """A report made by a function: a snapshot file, or tests."""

    def __init__(self, load: Callable[[], CheckReport], *, label: str = "snapshot",
                 environment: str = "demo", read_only: bool = False, where: str = "",
                 mappings: Mappings | None = None, master: ErpMaster | None = None,
                 systems: str = "snapshot") -> None:
        super().__init__()
        self._load = load
        self._systems = systems
        self._mappings = mappings
        self._master = master
        self.label, self.environment, self.read_only = label, environment, read_only
        self.where = where or label

    @property
    def systems(self) -> str:
        return self._systems

    def refresh(self) -> Loaded:
        self._phase = "reconciling"
        try:
            return Loaded(self._load(), mappings=self._mappings, master=self._master)
        finally:
            self._phase = ""


class LiveSession(Session):
    """A profile's two systems read over their APIs, with the local cache behind them."""

    def __init__(self, profile: Profile, lookup: SecretLookup, mappings: Callable[[], Mappings],
                 cache_path: Path, *, environment: str | None = None, read_only: bool = False,
                 now: Callable[[], datetime] | None = None,
                 save_mappings: Callable[[Mappings], object] | None = None,
                 deadline: float | None = None, inbox_path: Path | None = None) -> None:
        super().__init__()
        #: A source still reading after this long is down for that refresh.
        self.deadline = deadline or DEFAULT_DEADLINE
        self.profile = profile
        self.label = profile.name
        self.environment = environment or environment_of(profile)
        self.read_only = read_only or profile.read_only
        self.where = f"{_system(profile.platform.system)} | {_system(profile.erp.system)}"
        self._lookup = lookup
        self._mappings = mappings
        self._save_mappings = save_mappings
        self._cache_path = cache_path
        #: Where `listen` keeps what systems push (beside the cache unless told).
        self._inbox_path = inbox_path or cache_path.with_name(INBOX_DB_NAME)
        self._now = now or (lambda: datetime.now(UTC))
        #: The last read and the findings per return, kept between refreshes: a refresh
        #: reads what changed, lays it over these and checks again only what changed.
        self._kept: LiveData | None = None
        self._rechecker: Rechecker | None = None
        #: When the raw records were last written to the cache (monotonic seconds), and
        #: the sides read since and not written yet (see `refresh` and `close`): the kept
        #: read of such a side is newer than the cache even while the side is down.
        self._saved_at: float | None = None
        self._unsaved: set[str] = set()

    def open_writer(self):
        from functools import partial

        from ..connectors.base import InboxWriter
        from ..connectors.http import CallLog
        from .connections import open_writer

        writer = open_writer(self.profile, self._lookup, CallLog())
        if isinstance(writer, InboxWriter):  # an ERP that calls us: written via the inbox
            inbox = self._inbox()
            if inbox is not None:
                writer.attach(partial(inbox.events, self.profile.erp.system), inbox.receive)
        return writer

    def _inbox(self) -> Inbox | None:
        """The inbox `listen` keeps, when the platform is read from one."""
        from .platform_read import inbox_for

        return inbox_for(self.profile.platform.system, self._inbox_path, self.profile.erp.system)

    @property
    def profile_name(self) -> str:
        return self.profile.name

    @property
    def systems(self) -> str:
        return f"{self.profile.platform.system}|{self.profile.erp.system}"

    @property
    def erp_system(self) -> str | None:
        return self.profile.erp.system

    def load_mappings(self) -> Mappings:
        return self._mappings()

    def save_mappings(self, mappings: Mappings) -> None:
        if self._save_mappings is None:
            raise RuntimeError("this session keeps no mapping tables")
        self._save_mappings(mappings)

    def opening(self) -> Loaded | None:
        cache = Cache(self._cache_path)
        try:
            kept = cache.load_report(self.profile.name)
        finally:
            cache.close()
        if kept is None:
            return None
        try:
            report = CheckReport.from_json(kept)
        except (KeyError, TypeError, ValueError):
            return None  # written by another version: the refresh will replace it
        report.platform = _stale(report.platform)
        report.erp = _stale(report.erp)
        if self.keeps_heap:  # shown until the refresh replaces it: no pass walks it
            keep_for_good(collect=False)  # a full pass here would delay the first frame
        return Loaded(report, from_cache=True)

    def refresh(self) -> Loaded:
        from ..connectors.http import CallLog
        from ..domain.recheck import Rechecker
        from .early import EarlyCheck
        from .live import check_context, fetch_live, fresh_sides, live_report, save_sources

        # In the console's process, the collector paused for the whole refresh and what it
        # keeps frozen after it: full passes over a growing heap stalled its keystrokes.
        with self._lock, gc_paused() if self.keeps_heap else nullcontext():
            if self._rechecker is None:
                self._rechecker = Rechecker()
            self._log = log = CallLog()
            self._phase = "reading"
            cache = Cache(self._cache_path)
            try:
                # Rewriting every raw record costs about as much as the refresh itself: in
                # memory the session has them; the cache gets them now and then, and at close
                # (the first read writes only a side the cache held nothing of).
                saved_at = self._saved_at
                first = saved_at is None
                save = saved_at is None or time.monotonic() - saved_at > SAVE_EVERY
                # the returns checked as their pages arrive, once the ERP's side is in (a
                # mapping saved meanwhile is the run's: it checks everything again)
                early = EarlyCheck(self._rechecker, lambda master: check_context(
                    self.profile, self._mappings(), master, now=self._now()),
                    self.profile.erp.system)
                data = loops.run(fetch_live(self.profile, self._lookup, cache=cache,
                                            log=log, deadline=self.deadline,
                                            inbox=self._inbox(), kept=self._kept,
                                            save=save, save_over_cache=not first,
                                            early=early))
                self._kept = data
                fresh = fresh_sides(data)
                if save:  # fetch_live wrote the sides it read; a side down now that was
                    # read since the last write is written from the session's read of it
                    cache.wait()
                    save_sources(cache, self.profile, data, self._unsaved - fresh)
                    self._saved_at, self._unsaved = time.monotonic(), fresh - data.saved
                else:
                    self._unsaved |= fresh
                self._phase = "reconciling"
                mappings = self._mappings()
                report = live_report(self.profile, data, mappings, now=self._now(),
                                     rechecker=self._rechecker)
                self._phase = "saving"
                cache.wait()  # the raw records' background write first: one writer at a time
                cache.save_report(self.profile.name, report.to_json())
            finally:
                cache.close()
                self._phase = ""
                give_back()
                if self.keeps_heap:
                    keep_for_good()
            return Loaded(report, ChainMap(data.platform.raw, data.erp.raw),
                          mappings=mappings, master=data.erp.master)


    def close(self) -> None:
        """The last read into the cache if it is not there yet (skipped while a refresh is
        running: the cache keeps the read before, and the next start reads from there)."""
        if not self._unsaved or self._kept is None or not self._lock.acquire(blocking=False):
            return
        from .live import save_sources

        try:
            cache = Cache(self._cache_path)
            try:
                save_sources(cache, self.profile, self._kept, self._unsaved)
                self._unsaved = set()
            finally:
                for warning in cache.close():
                    log.warning("%s", warning)
        except (OSError, ValueError, sqlite3.Error) as exc:
            log.warning("the cache was not updated at close: %s", exc)
        finally:
            self._lock.release()


class DemoSession(LiveSession):
    """The built-in sandbox, served on 127.0.0.1 while the console is open, read through
    the same connectors and cache as any profile."""

    def __init__(self, cache_path: Path, *, now: datetime | None = None,
                 returns: int | None = None, read_only: bool = False,
                 platform: str | None = None, erp: str | None = None) -> None:
        from ..sandbox.demo import build_sandbox
        from ..sandbox.server import BackgroundServer
        from ..systems import display_name
        from .demo import demo_mappings, demo_push

        moment = now or datetime.now(UTC).replace(microsecond=0)
        self.sandbox = build_sandbox(moment, returns=returns, platform=platform, erp=erp)
        server = BackgroundServer(self.sandbox.app()).start()
        self.server: BackgroundServer | None = server
        # The demo's mapping tables live as long as the session: a remap shows at once, and
        # the next demo starts from the demo company's tables again.
        self._demo_mappings = demo_mappings(self.sandbox)
        super().__init__(self.sandbox.profile(server.url), self.sandbox.secret,
                         lambda: self._demo_mappings, cache_path, environment="demo",
                         read_only=read_only, now=(lambda: moment) if now else None,
                         save_mappings=self._keep)
        self.label = "demo"
        self.where = (f"built-in sandbox: {display_name(self.sandbox.platform_id)} | "
                      f"{display_name(self.sandbox.erp_id)}")
        self._push = demo_push(self.sandbox, self.profile, lambda: self._demo_mappings)

    def _inbox(self) -> Inbox | None:
        """A pushing platform's deliveries, posted to the demo's own inbox just now."""
        if self._push is None:
            return None
        self._push.push()
        return self._push.inbox

    def _keep(self, mappings: Mappings) -> None:
        self._demo_mappings = mappings

    def close(self) -> None:
        super().close()
        if self._push is not None:
            self._push.close()
        if self.server is not None:
            server, self.server = self.server, None
            server.stop()


def environment_of(profile: Profile) -> str:
    """What a profile points at: the sandbox when both systems are on this machine."""
    if profile.environment is not None:
        return profile.environment
    urls = (profile.platform.base_url or "", profile.erp.base_url or "")
    local = all(any(f"//{host}" in url for host in LOOPBACK) for url in urls)
    return "sandbox" if local else "production"


def _stale(status: SourceStatus) -> SourceStatus:
    if status.status == "degraded":  # what was kept is stale; the count still stands
        return replace(status, status="stale", error=None)
    return replace(status, status="stale") if status.status == "ok" else status


def _system(system: str) -> str:
    from ..systems import display_name

    return display_name(system)

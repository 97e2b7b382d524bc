"""Checking the platform's returns while its later pages are still on their way.

Against a real API a full read mostly waits: the ERP's side is often read first, and the
platform's pages then arrive one round trip apart while the interpreter idles. Everything a
check does after the last page (pairing and checking 10,000 returns: about half a second)
is what the user waits for after the download. Once the ERP's side is in, each page of
returns the platform parsed (`ViewsAsRead`) is paired with the ERP's views under its link
and checked in those idle moments, a slice at a time between the reads' own steps, into
the check's `Rechecker`. Nothing here is the answer: the check's own run over every return
(`live_report`) carries a return over only where its case is equal, field for field,
and checks again what is not (a second return under one link, an alias, a problem on
another page, a read that fell back to the cache).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime

from ..connectors.base import ErpBatch
from ..domain.findings import Finding
from ..domain.model import ErpView, PlatformView, ReturnCase
from ..domain.pairing import link_of
from ..domain.recheck import Rechecker
from ..domain.reference import ErpMaster
from ..domain.view import Context

log = logging.getLogger(__name__)

#: Returns checked between two turns of the event loop (about 2-5 ms of work): a page's
#: answer waits no longer than that for its turn.
SLICE = 100


class EarlyCheck:
    """A check's returns paired and checked as they are read (see the module's doc).
    `context(master)` makes the context the check's run will have (its now, at the
    latest); `on_checked`, where given, is told each slice's returns with their findings
    (what the check keeps of them can be made in the same idle time)."""

    def __init__(self, rechecker: Rechecker, context: Callable[[ErpMaster], Context],
                 erp_system: str, on_checked: Callable[
                     [list[tuple[ReturnCase, list[Finding]]]], None] | None = None) -> None:
        self.rechecker = rechecker
        self._on_checked = on_checked
        self._context = context
        self._erp_system = erp_system
        self._ctx: Context | None = None
        self._by_link: dict[str, ErpView] = {}
        self._problems: dict[str, tuple] = {}
        self._unseen: ErpView | None = None
        self._waiting: deque[PlatformView] = deque()
        self._task: asyncio.Task[None] | None = None
        self._done = False
        #: Returns checked ahead of the run (a figure for tests and benchmarks).
        self.checked = 0
        rechecker.warming()

    def erp_read(self, batch: ErpBatch) -> None:
        """The ERP's side is in: what each return is paired with."""
        if self._done:
            return
        self._by_link = {link_of(ref): view for ref, view in batch.views.items()}
        self._problems = {link_of(ref): tuple(found) for ref, found in batch.problems.items()
                          if found}
        self._unseen = batch.unseen
        self._ctx = self._context(batch.master)
        self._start()

    def views_read(self, views: list[PlatformView]) -> None:
        """A page of the platform's returns parsed (`ViewsAsRead.views_read`)."""
        if not self._done:
            self._waiting.extend(views)
            self._start()

    @property
    def moment(self) -> datetime | None:
        """The moment the returns were checked at (once the ERP's side was in): the run's
        too, so that what was checked here is carried over as it is, not aged."""
        return self._ctx.now if self._ctx is not None else None

    @property
    def stopped(self) -> bool:
        """Whether the read is over for it (nothing of it runs after)."""
        return self._done and self._task is None

    async def stop(self, *, read: bool = True) -> None:
        """The platform's read is over: what is left is the run's. Not `read` (it failed,
        and the run checks what the cache holds): what was checked here is forgotten."""
        self._done = True
        self._waiting.clear()
        if not read:
            self.rechecker.unwarm()
        task, self._task = self._task, None
        if task is not None:  # waiting at its next turn: it checks nothing more
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the caller's own cancellation (a deadline), not the drain's

    def _start(self) -> None:
        if self._ctx is None or not self._waiting or self._task is not None or self._done:
            return
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        empty = self._unseen or ErpView(system=self._erp_system)
        try:
            while self._waiting and self._ctx is not None:
                await asyncio.sleep(0)  # the reads' own steps first
                cases = []
                for _ in range(min(SLICE, len(self._waiting))):
                    view = self._waiting.popleft()
                    key = link_of(view.return_ref)
                    erp = self._by_link.get(key)
                    if erp is None and view.aliases:
                        continue  # an alias may pair it: which one, only every return says
                    cases.append(ReturnCase(platform=view, erp=erp or empty,
                                            problems=self._problems.get(key, ())))
                self.checked += self.rechecker.warm(cases, self._ctx)
                if self._on_checked is not None:
                    self._on_checked(list(self.rechecker.found(cases)))
        except Exception:  # the run checks every return again (and says what is wrong)
            log.debug("checking returns as they arrived stopped", exc_info=True)
            self._done = True
            self._waiting.clear()
        finally:
            self._task = None
            self._start()  # more arrived while the last slice ran

"""`check` as a refresh of the record index: read what changed, assemble and check only the
link keys it touched (and those whose clock ran out), take every other return's findings
from the index (store/records.py).

A new process has nothing in memory; without the index it loads, parses and assembles the
whole cache and checks every return to lay a 1% change over it (0.8x a full check). With
it, the work follows the change. The answer is the one a full check of the same moment
gives (tests/integration/test_keyed_check.py): wherever that cannot be promised (no index,
a connector without `KeyedReads`, a platform that is not read by pages, master data or
optional APIs that changed, mappings or policy or this program that changed, the clock
gone back, a source that fails, most keys touched) it gives None and the caller checks
everything, which writes the index again.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import to_json

from .. import systems
from ..config import Profile
from ..connectors.base import ErpBatch, KeyedReads, PlatformBatch, ReadAgain, Remembers
from ..connectors.errors import ConnectorError
from ..connectors.http import CallLog
from ..connectors.loop import run as run_loop
from ..domain.findings import Finding
from ..domain.memory import gc_paused
from ..domain.model import ErpView, ReturnCase
from ..domain.pairing import link_of, pair
from ..domain.recheck import Rechecker
from ..domain.reconcile import PARALLEL_MIN, _can_fork, _parallel, _result, check_case
from ..domain.reference import ErpMaster, Mappings, Policy
from ..domain.view import Context
from ..store import forked
from ..store.cache import Cache, advance_indexed, put_indexed
from ..store.inbox import Inbox
from ..store.records import Outcome, RecordIndex
from ..systems.spec import ReadShape
from .check import CheckReport, SourceStatus, erp_record_count
from .connections import SecretLookup, open_erp, open_platform
from .deadlines import DEFAULT_DEADLINE
from .early import EarlyCheck
from .live import (
    OVERLAP,
    LiveData,
    _few,
    _moment,
    check_context,
    fetch_live,
    fresh_sides,
    full_read_every,
    live_report,
    policy_of,
    save_sources,
    source_of,
    within,
)
from .platform_read import hinted_fetch, main_shape

#: Bumped when what the index holds changes meaning (an older index is then not used).
VERSION = 1
#: Above this share of keys touched, checking everything costs as little and is simpler.
MOST = 0.3


@cache
def _unseen() -> TypeAdapter[ErpView]:
    return TypeAdapter(ErpView)


class _GiveUp(Exception):
    """The index cannot answer this refresh: roll back, check everything."""


def stamp(moment: datetime) -> str:
    """A moment as the index compares it (as text: one fixed UTC format)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@cache
def _code_digest() -> str:
    """This program's own source: a new version may assemble or check differently, so
    findings an older one stored do not stand."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def world_of(profile: Profile, mappings: Mappings, policy: Policy) -> str:
    """What the findings were checked against besides the records (and the master data,
    which the ERP's connector watches): mappings, policy, names, the sources, this code."""
    text = to_json([VERSION, _code_digest(), mappings.model_dump(mode="json"),
                    policy.model_dump(mode="json"), systems.names(),
                    source_of(profile.platform), source_of(profile.erp)])
    return hashlib.sha256(text).hexdigest()


def keyed_ready(profile: Profile) -> bool:
    """Whether this pair can be refreshed through the index at all: both connectors file
    their records in it (a pair where one does not would write an index only to forget
    it), and the platform is pulled."""
    return (main_shape(profile.platform.system) is ReadShape.PULL
            and all(spec is not None and spec.keyed_for(settings.options)
                    for spec, settings in ((systems.find(profile.platform.system),
                                            profile.platform),
                                           (systems.find(profile.erp.system), profile.erp))))


async def _read_changes(profile: Profile, lookup: SecretLookup, state: dict[str, Any],
                        deadline: float | None, transport: object | None,
                        inbox: Inbox | None = None):
    log = CallLog()
    platform = open_platform(profile, lookup, log, transport)
    erp = open_erp(profile, lookup, log, transport)
    try:
        if not (isinstance(platform, KeyedReads) and isinstance(erp, KeyedReads)):
            return None
        since_p = _moment(state["platform"]["cursor"])
        since_e = _moment(state["erp"]["cursor"])
        if since_p is None or since_e is None:
            return None
        for side, connector in (("platform", platform), ("erp", erp)):
            if isinstance(connector, Remembers):  # what the full read learnt
                connector.recall(dict(state[side].get("learnt") or {}))
        fetch = hinted_fetch(platform, profile.platform.system, inbox,
                             _moment(state["platform"].get("fetched_at")))
        with gc_paused():
            got = await asyncio.gather(
                within(deadline, profile.platform.system, "platform",
                       fetch(updated_since=since_p - OVERLAP)),
                within(deadline, profile.erp.system, "erp",
                       erp.fetch_records(updated_since=since_e - OVERLAP)),
                return_exceptions=True)
    finally:
        await asyncio.gather(platform.aclose(), erp.aclose())
    for one in got:
        if isinstance(one, (ConnectorError, ReadAgain)):
            # the full check says what is down and shows what is cached, or reads it all
            return None
        if isinstance(one, BaseException):
            raise one
    return platform, erp, got[0], got[1]


def keyed_refresh(profile: Profile, lookup: SecretLookup, cache_: Cache, mappings: Mappings,
                  *, now: datetime | None = None, deadline: float | None = None,
                  workers: int = 1, transport: object | None = None,
                  asked: list[bool] | None = None,
                  inbox: Inbox | None = None) -> CheckReport | None:
    """The report of a refresh through the index, or None (check everything). `asked`
    gets True appended once the sources were asked (the command's deadline runs on);
    `inbox` holds a platform's hints (what its deliveries say changed)."""
    if not keyed_ready(profile):
        return None
    try:
        return _keyed_refresh(profile, lookup, cache_, mappings, now, deadline, workers,
                              transport, [] if asked is None else asked, inbox)
    except sqlite3.Error:
        return None  # an index is only a cache: the full check writes it again


def _keyed_refresh(profile: Profile, lookup: SecretLookup, cache_: Cache,
                   mappings: Mappings, now: datetime | None, deadline: float | None,
                   workers: int, transport: object | None,
                   asked: list[bool], inbox: Inbox | None = None) -> CheckReport | None:
    index = RecordIndex(cache_.conn)
    state = index.state(profile.name)
    policy = policy_of(profile)
    if state is None or state.get("world") != world_of(profile, mappings, policy):
        return None
    for side, settings in (("platform", profile.platform), ("erp", profile.erp)):
        every, full_at = full_read_every(settings), cache_.full_at(profile.name, side)
        if every is not None and (full_at is None or datetime.now(UTC) - full_at >= every):
            return None  # due to be read whole (services/live.py reads it)
    asked.append(True)
    read = run_loop(_read_changes(profile, lookup, state, deadline, transport, inbox))
    if read is None:
        return None
    platform, erp, changed_p, changed_e = read
    moment = now or datetime.now(UTC)
    if stamp(moment) < state["now"]:
        return None  # findings are carried forward in time only
    conn = cache_.conn
    try:
        with gc_paused():
            conn.execute("BEGIN IMMEDIATE")  # one writer from here; what we read holds
            try:
                report = _refresh(profile, index, state, platform, erp, changed_p, changed_e,
                                  mappings, policy, moment, workers)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    except _GiveUp:
        return None
    report.made = report.to_json()  # written, then printed: made once
    cache_.save_report(profile.name, report.made)
    return report


def _refresh(profile: Profile, index: RecordIndex, state: dict[str, Any], platform: Any,
             erp: Any, changed_p: PlatformBatch, changed_e: ErpBatch, mappings: Mappings,
             policy: Policy, now: datetime, workers: int) -> CheckReport:
    name = profile.name
    if index.state(name) != state:  # another process refreshed it meanwhile
        raise _GiveUp
    side_p = index.side(name, "platform", state["platform"]["notices"])
    side_e = index.side(name, "erp", state["erp"]["notices"])
    touch_p = platform.keyed_touch(side_p, changed_p)
    touch_e = erp.keyed_touch(side_e, changed_e)
    if touch_p is None or touch_e is None:
        raise _GiveUp
    index.apply(name, "platform", touch_p.upserts, touch_p.deletes, platform.record_tags)
    index.apply(name, "erp", touch_e.upserts, touch_e.deletes, erp.record_tags)
    # the connectors' keys as pairing spells them (a key kept as sent, spaces and all)
    keys = {link_of(key) for key in touch_p.keys | touch_e.keys} | index.due(name, stamp(now))
    if len(keys) > MOST * max(index.count_keys(name), 1):
        raise _GiveUp
    master = ErpMaster.model_validate_json(state["erp"]["master"])
    got_p = platform.keyed_views(side_p, keys)
    got_e = erp.keyed_views(side_e, keys, master)
    if got_p is None or got_e is None:
        raise _GiveUp
    (views_p, problems_p), (views_e, problems_e) = got_p, got_e
    problems = {ref: list(found) for ref, found in problems_p.items()}
    for ref, found in problems_e.items():
        problems.setdefault(ref, []).extend(found)
    unseen = state["erp"].get("unseen")
    paired = pair(views_p, views_e, profile.erp.system, problems,
                  unseen=_unseen().validate_json(unseen) if unseen else None,
                  platform_system=profile.platform.system)
    ctx = Context(mappings=mappings, master=master, policy=policy, now=now,
                  names=systems.names())
    checked = _check(paired.cases, ctx, workers)
    index.put_outcomes(name, keys, outcomes_of(
        ((case, *found) for case, found in zip(paired.cases, checked, strict=True)),
        _platform_counts(views_p)))
    for side, changed in (("platform", changed_p), ("erp", changed_e)):
        kept = state[side]
        kept["cursor"] = max(filter(None, (kept["cursor"], changed.cursor)), default=None)
        kept["fetched_at"] = _iso(changed.fetched_at)
    state["now"] = stamp(now)
    index.put_state(name, state)
    for side, changed in (("platform", changed_p), ("erp", changed_e)):
        # the cache's rows that point at these records: as new as they are now
        advance_indexed(index.conn, name, side, state[side]["cursor"], changed.fetched_at)
    return _report(profile, index, state, now)


def _check(cases: list[ReturnCase], ctx: Context, workers: int
           ) -> list[tuple[list[Finding], datetime | None]]:
    if workers > 1 and len(cases) >= PARALLEL_MIN and _can_fork():
        return _parallel(cases, ctx, workers, check_case)
    return [check_case(case, ctx) for case in cases]


#: What one return adds to its key's outcome: the key, its findings as stored, its ERP
#: documents, its unreadable records per side.
_Part = tuple[str, tuple[dict[str, Any], ...], int, Mapping[str, int]]
#: A healthy return's (most are): shared, as a part is kept for every return checked.
_NONE: Mapping[str, int] = MappingProxyType({})


def _part(case: ReturnCase, findings: list[Finding]) -> _Part:
    bad: Mapping[str, int] = _NONE
    if case.problems:
        counted: dict[str, int] = {}
        for problem in case.problems:
            name = f"bad_{problem.side.value}"
            counted[name] = counted.get(name, 0) + 1
        bad = counted
    return (link_of(case.platform.return_ref), tuple(_stored(f) for f in findings),
            erp_record_count([case]), bad)


class OutcomeParts:
    """Each return's part of the index's outcomes, made as the early check checks it (in
    the read's idle time, services/early.py) rather than after the last page. Kept by
    its findings' list: the run carries that very list over only where the return's case
    is equal, field for field, so the part made from the earlier case holds."""

    def __init__(self) -> None:
        self._parts: dict[int, tuple[list[Finding], _Part]] = {}

    def add(self, checked: list[tuple[ReturnCase, list[Finding]]]) -> None:
        for case, findings in checked:
            self._parts[id(findings)] = (findings, _part(case, findings))

    def part(self, case: ReturnCase, findings: list[Finding]) -> _Part:
        made = self._parts.get(id(findings))
        if made is not None and made[0] is findings:
            return made[1]
        return _part(case, findings)


def outcomes_of(checked: Iterable[tuple[ReturnCase, list[Finding], datetime | None]],
                platform_views: dict[str, int],
                parts: OutcomeParts | None = None) -> list[Outcome]:
    """Each link key's returns as checked: findings, the earliest moment one may change,
    and what they count for the report (`parts`: those made already)."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    until: dict[str, datetime | None] = {}
    counts: dict[str, dict[str, int]] = {}
    for case, findings, changes_at in checked:
        key, stored, erp, bad = (parts.part(case, findings) if parts is not None
                                 else _part(case, findings))
        found[key].extend(stored)
        if changes_at is not None:
            earlier = until.get(key)
            until[key] = changes_at if earlier is None else min(earlier, changes_at)
        count = counts.setdefault(key, {"returns": 0, "platform": 0, "erp": 0,
                                        "bad_platform": 0, "bad_erp": 0})
        count["returns"] += 1
        count["erp"] += erp
        for name, n in bad.items():
            count[name] += n
    for key, count in counts.items():
        count["platform"] = platform_views.get(key, 0)
    return [Outcome(key, found[key], stamp(moment) if (moment := until.get(key)) else None,
                    count) for key, count in counts.items()]


def _stored(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    data["since"] = _iso(finding.since)
    return data


def _report(profile: Profile, index: RecordIndex, state: dict[str, Any],
            now: datetime) -> CheckReport:
    """Every key's findings aged to `now`, and the sources' counts, from the index."""
    moments: dict[str, datetime] = {}
    findings: list[Finding] = []
    totals: dict[str, int] = defaultdict(int)
    for outcome in index.outcomes(profile.name):
        findings.extend(Finding.from_json(data, moments, now) for data in outcome.findings)
        for name, value in outcome.counts.items():
            totals[name] += value
    result = _result(findings, totals["returns"])
    # what the last full read wanted a person to know, as a full check tells it
    platform = SourceStatus(profile.platform.system, "ok", _moment(state["platform"]
                                                                   ["fetched_at"]),
                            totals["platform"],
                            notes=_few(state["platform"].get("notes", [])))
    erp = SourceStatus(profile.erp.system, "ok", _moment(state["erp"]["fetched_at"]),
                       totals["erp"], notes=_few(state["erp"]["notices"]))
    platform.count_unreadable(totals["bad_platform"], platform.records)
    erp.count_unreadable(totals["bad_erp"], erp.records + totals["bad_erp"])
    return CheckReport(generated_at=now, profile=profile.name, platform=platform, erp=erp,
                       result=result)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


class IndexWriter:
    """A full check's writes to the index. Each side's records are written the moment its
    read is complete, in a forked process of its own (a thread where there is no fork, or
    where other threads run than the progress line's), so the database works on the
    second core while this one reads the other side and checks the returns; `finish` then
    writes each key's findings, the state that makes the index usable and the cache's
    rows pointing at its records, in one transaction, if the records are still this
    run's (`writer`: another check at once may have written its own since). A side's
    cache row points at the index's records only while they are at least as new as its
    cursor: writing a side's records drops its row in the same transaction, and the
    run's last transaction writes it again (or the cache's own rows are written). So a
    side that is down is still shown from them. `close()` must follow, whatever happens.
    """

    def __init__(self, cache_: Cache, profile: Profile, *,
                 wait_s: float = DEFAULT_DEADLINE) -> None:
        self.cache, self.profile = cache_, profile
        #: How long a forked writer may take once the check is done (then it is stopped:
        #: the index is only a cache, and a check must end).
        self.wait_s = wait_s
        self.sides: set[str] = set()
        #: The forked writer of each side's records.
        self.children: dict[str, forked.Child] = {}
        #: Sides whose writer failed (their records are not in the index).
        self.failed: set[str] = set()
        #: Sides whose raw records this process let go once its forked writer had its own
        #: copy (a check needs only the views from there; `finish` reads them back from
        #: the index in the rare case the cache needs them).
        self.released: set[str] = set()
        #: This run, as the index names the writer of its records.
        self.token = uuid.uuid4().hex
        RecordIndex(cache_.conn)  # an older layout replaced here, not by both writers at once

    def side(self, side: str, batch: Any, connector: object) -> None:
        """`fetch_live`'s `on_read`: a side read; its records written in the background."""
        if not isinstance(connector, KeyedReads):
            return
        if getattr(batch, "pages", None):
            # the response bodies a cache without the index keeps: this run stores records
            batch.pages = None
        name, raw, tags_of = self.profile.name, batch.raw, connector.record_tags
        token, tagger = self.token, _code_digest()

        def write(conn: sqlite3.Connection) -> None:
            RecordIndex(conn).replace_side(name, side, raw, tags_of, writer=token,
                                           tagger=tagger)

        self.sides.add(side)

        def work() -> None:
            conn = self.cache.connect()
            try:
                write(conn)
            finally:
                conn.close()

        child = self.cache.fork(work)
        if child is not None:
            self.children[side] = child
        else:

            def written(conn: sqlite3.Connection) -> None:
                try:
                    write(conn)
                except BaseException:
                    self.failed.add(side)
                    raise

            self.cache.run_later(f"index:{name}:{side}", written)
        if raw:
            # The writer has them now (its copy, or its reference until written): at the
            # check's peak (the other side read and assembled) they were a fifth of it.
            self.released.add(side)
            batch.raw = {}

    def _written(self) -> bool:
        """Wait for the records; whether both sides were written (a failure is the
        cache's warning, never the check's error)."""
        ok = len(self.sides) == 2
        stop = time.monotonic() + self.wait_s  # one budget for both writers
        while self.children:
            side, child = self.children.popitem()
            code, said = child.result(max(0.0, stop - time.monotonic()))
            if code != 0:
                self.cache.warn(sqlite3.OperationalError(
                    f"the record index was not written ({said or 'its writer failed'})"
                    if code is not None else
                    f"the record index's writer did not finish within {self.wait_s:g} s"))
                self.failed.add(side)
                ok = False
        try:
            self.cache.wait()
        except (sqlite3.Error, OSError) as exc:
            self.cache.warn(exc)
            return False
        return ok

    def finish(self, data: LiveData, rechecker: Rechecker, mappings: Mappings,
               now: datetime, parts: OutcomeParts | None = None) -> None:
        """Each key's findings and the state, where the read can answer a refresh; else
        the cache's rows as a check without the index writes them."""
        platform, erp = data.connectors or (None, None)
        profile = self.profile
        usable = (isinstance(platform, KeyedReads) and isinstance(erp, KeyedReads)
                  and data.platform_status.status != "stale"
                  and data.erp_status.status != "stale"
                  and data.platform.cursor is not None and data.erp.cursor is not None
                  and bool(data.erp.raw or "erp" in self.released or not data.erp.views))
        # what the index is to hold, made while the forked writers finish the records
        done = self._outcomes(data, rechecker, mappings, now, parts) if usable else None
        written = self._written()
        try:
            if done is not None and written:
                if self._complete(profile.name, *done, data):
                    return
                # Another run wrote a side since: where it wrote both, its findings and
                # cache rows stand; a side still this run's (two runs' writes interleaved,
                # neither index complete) keeps this read as its cache row.
                mine = fresh_sides(data) & self.released
                save_sources(self.cache, profile, data, mine - self._take_back(data, mine))
                return
            sides = fresh_sides(data)
            sides -= self._take_back(data, sides & self.released)
            if self.sides:  # its records are this read's, its findings are not
                RecordIndex(self.cache.conn).forget(profile.name)
            save_sources(self.cache, profile, data, sides)
        except (sqlite3.Error, OSError) as exc:  # the cache's warning, not the check's error
            self.cache.warn(exc)

    def _take_back(self, data: LiveData, sides: set[str]) -> set[str]:
        """The raw records of `sides` (let go once written) read back from the index, for
        the cache's rows; the sides that cannot be: their writer failed (the cache keeps
        the read before), or another run wrote its records since (its rows are its)."""
        if not sides:
            return set()
        lost = sides & self.failed
        index = RecordIndex(self.cache.conn)
        for side in sides - lost:
            raw = index.records_of(self.profile.name, side, self.token)
            if raw is None:
                lost.add(side)
                continue
            (data.platform if side == "platform" else data.erp).raw = raw
        return lost

    def _outcomes(self, data: LiveData, rechecker: Rechecker, mappings: Mappings,
                  now: datetime, parts: OutcomeParts | None = None
                  ) -> tuple[dict[str, Any], list[Outcome]]:
        """The index's state and each key's findings, from this run's read and check."""
        profile = self.profile
        learnt = [dict(c.learnt()) if isinstance(c, Remembers) else {}
                  for c in data.connectors or (None, None)]
        state = {
            "world": world_of(profile, mappings, policy_of(profile)),
            "now": stamp(now),
            "platform": {"cursor": data.platform.cursor, "notices": [],
                         "notes": list(getattr(data.platform, "notes", [])),
                         "fetched_at": _iso(data.platform.fetched_at),
                         "learnt": learnt[0]},
            "erp": {"cursor": data.erp.cursor, "notices": list(data.erp.notices),
                    "fetched_at": _iso(data.erp.fetched_at),
                    "master": data.erp.master.model_dump_json(),
                    "unseen": to_json(data.erp.unseen).decode() if data.erp.unseen
                    else None,
                    "learnt": learnt[1]},
        }
        return state, outcomes_of(rechecker.outcomes(), _platform_counts(data.platform.views),
                                  parts)

    def _complete(self, name: str, state: dict[str, Any], outcomes: list[Outcome],
                  data: LiveData) -> bool:
        """The findings, the state and the cache's rows, over this run's records; False
        when another run wrote its records since (its findings are the ones to keep)."""
        profile = self.profile

        def rows(conn: sqlite3.Connection) -> None:
            # the cache's rows point at the index's records: one copy of them
            for side, settings, batch in (("platform", profile.platform, data.platform),
                                          ("erp", profile.erp, data.erp)):
                put_indexed(conn, name, side, settings.system, batch, source_of(settings))

        return RecordIndex(self.cache.conn).write_outcomes(name, state, outcomes,
                                                          writer=self.token, also=rows)

    def close(self) -> None:
        """Wait for a writer still running (a check that failed on the way)."""
        stop = time.monotonic() + self.wait_s
        while self.children:
            self.children.popitem()[1].result(max(0.0, stop - time.monotonic()))


def _platform_counts(views: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for view in views:
        counts[link_of(view.return_ref)] += 1
    return counts


def check_profile(profile: Profile, lookup: SecretLookup, cache_: Cache, mappings: Mappings,
                  *, now: datetime | None = None, deadline: float = DEFAULT_DEADLINE,
                  workers: int = 1, full: bool = False, inbox: Inbox | None = None,
                  keyed: bool = True, transport: object | None = None,
                  reading: Callable[[], AbstractContextManager[object]] = nullcontext
                  ) -> CheckReport:
    """`check --profile`: through the index where it can answer (`keyed`, not `full`),
    else a read of what changed since the cache (or of everything) and every return
    checked, which writes the index again. The report goes to the cache too: the console
    opens on it. `reading()` is entered while the sources are read (a progress line)."""
    began = time.monotonic()
    if keyed and not full:
        asked: list[bool] = []
        with reading():
            report = keyed_refresh(profile, lookup, cache_, mappings, now=now,
                                   deadline=deadline, workers=workers, transport=transport,
                                   asked=asked, inbox=inbox)
        if report is not None:
            return report
        if asked:  # one deadline for the command
            deadline = max(1.0, deadline - (time.monotonic() - began))
    # the next check refreshes through the index: each side's records written while this
    # one reads the other and checks every return, then the findings per key
    writer = (IndexWriter(cache_, profile, wait_s=deadline)
              if keyed and keyed_ready(profile) else None)
    # the returns checked as their pages arrive, once the ERP's side is in (early.py)
    rechecker = Rechecker()
    parts = OutcomeParts() if writer is not None else None
    early = EarlyCheck(rechecker, lambda master: check_context(profile, mappings, master,
                                                               now=now), profile.erp.system,
                       on_checked=parts.add if parts is not None else None)
    try:
        # with the index, the cache's rows are written with it (one copy of the records)
        with reading():
            data = run_loop(fetch_live(profile, lookup, cache=cache_, full=full,
                                       deadline=deadline, inbox=inbox,
                                       transport=transport, save=writer is None,
                                       on_read=writer.side if writer else None,
                                       early=early))
        report = live_report(profile, data, mappings, now=now or early.moment,
                             workers=workers, rechecker=rechecker)
        # written, then printed: made once, while the index's writers finish their records
        report.made = report.to_json()
        if writer is not None:
            writer.finish(data, rechecker, mappings, report.generated_at, parts)
    finally:
        if writer is not None:
            writer.close()
    cache_.save_report_after_writes(profile.name, report.made)
    return report

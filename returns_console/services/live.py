"""The live check: ask both systems at once over their APIs, pair, reconcile, report.

A source that cannot be reached is answered from the local cache and marked stale with the
time of that data; with nothing cached, the check says which source is down (exit 3).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from .. import systems
from ..config import Profile, SystemSettings, system_options
from ..connectors.base import ErpBatch, PlatformBatch, ReadAgain, ViewsAsRead
from ..connectors.errors import AuthError, ConnectorError, DeadlineError, MisconfiguredError
from ..connectors.http import CallLog
from ..domain.memory import gc_paused
from ..domain.pairing import pair
from ..domain.recheck import Rechecker
from ..domain.reconcile import reconcile
from ..domain.reference import ErpMaster, Mappings, Policy
from ..domain.view import Context
from ..errors import UserError
from ..store.cache import Cache
from ..store.inbox import Inbox
from ..systems.spec import ReadShape
from .check import CheckReport, SourceStatus, count_unreadable, erp_record_count
from .connections import SecretLookup, open_erp, open_platform, secret_sources
from .deadlines import DEFAULT_DEADLINE as DEFAULT_DEADLINE
from .early import EarlyCheck
from .erp_read import read_erp_inbox
from .platform_read import PlatformRead, hinted_fetch, main_shape, read_platform, reads_inbox


class SourcesDown(UserError):
    """A source could not be reached and nothing is cached for it (exit code 3)."""

    exit_code = 3


@dataclass(slots=True)
class LiveData:
    platform: PlatformBatch
    erp: ErpBatch
    platform_status: SourceStatus
    erp_status: SourceStatus
    log: CallLog
    notices: list[str] = field(default_factory=list)
    #: The sides ("platform", "erp") written to the cache by this read.
    saved: set[str] = field(default_factory=set)
    #: The connectors that read it (closed by now): what they know of their own records
    #: (services/keyed_check.py files them in the record index).
    connectors: tuple[object, object] | None = None


def policy_of(profile: Profile) -> Policy:
    data: dict = {}
    if profile.tolerance is not None:
        data["tolerance"] = profile.tolerance
    if profile.grace_hours:
        data["grace_hours"] = dict(profile.grace_hours)
    return Policy.model_validate(data)


#: Incremental reads start this much before the last cursor: records changed in the same
#: second, or stamped by a server clock a little behind ours, are read again, not missed.
OVERLAP = timedelta(minutes=2)


async def _incremental(fetch, merge, earlier, keep=None, every: timedelta | None = None):
    """Only what changed since the last sync, laid over what the cache holds; handed to
    `keep` (the cache writer) the moment it is complete, while the other side still loads.
    Everything is read again when the last full read is `every` old (or its time is not
    known): an incremental read sees only what the source stamps or says."""
    since = _moment(earlier.cursor) if earlier is not None else None
    full_at = earlier.full_at if earlier is not None else None
    if since is not None and every is not None and (
            full_at is None or datetime.now(UTC) - full_at >= every):
        since = None
    batch = None
    if since is not None:
        try:
            batch = merge(earlier, await fetch(updated_since=since - OVERLAP))
            batch.full_at = full_at
        except ReadAgain:  # what changed cannot be laid over what was read: read it all
            batch = None
    if batch is None:
        batch = await fetch()
        batch.full_at = batch.fetched_at or datetime.now(UTC)
    if keep is not None:
        keep(batch)
    return batch


def full_read_every(settings: SystemSettings) -> timedelta | None:
    """How often a side is read whole however little its refreshes find (its option
    `full_read_hours`; None: never but on `check --full`)."""
    try:
        hours = system_options(settings).full_read_hours
    except (ValidationError, LookupError):  # the connector says what is wrong when opened
        hours = 24
    return timedelta(hours=hours) if hours else None


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def fetch_live(profile: Profile, lookup: SecretLookup, *, cache: Cache | None = None,
                     transport: object | None = None, log: CallLog | None = None,
                     full: bool = False, deadline: float | None = None,
                     inbox: Inbox | None = None, kept: LiveData | None = None,
                     save: bool = True, save_over_cache: bool = True,
                     on_read: Callable[[str, Any, object], None] | None = None,
                     early: EarlyCheck | None = None) -> LiveData:
    """Both sides fetched concurrently; each falls back to the cache on its own. With a
    cache and not `full`, each side reads only what changed since its last sync. A side
    still reading after `deadline` seconds is given up (DeadlineError): down, for this run.
    A platform that pushes to us is read from `inbox`; one that can only be looked up is
    asked for the returns the ERP knows (see platform_read). A session that `kept` the last
    read in memory (the console) lays the changes over it instead of over the cache: its
    views are there already, and a return that did not change keeps the same objects.
    `save=False` leaves the cache as it is (the session writes it later: `save_sources`);
    `save_over_cache=False` writes only a side the cache held nothing of. `on_read(side,
    batch, connector)` hears of each side the moment its read is complete. `early` checks
    the platform's returns as their pages arrive, once the ERP's side is in (early.py)."""
    log = CallLog() if log is None else log
    platform = open_platform(profile, lookup, log, transport)
    erp = open_erp(profile, lookup, log, transport)
    if cache is not None:
        cache.wait()  # a previous run's background write
    src_p, src_e = source_of(profile.platform), source_of(profile.erp)
    # Raw records as cached: each connector's merge builds only the views it needs.
    earlier_p: PlatformBatch | None = None
    earlier_e: ErpBatch | None = None
    if kept is not None and not full:
        earlier_p, earlier_e = kept.platform, kept.erp
    elif cache is not None and not full:
        earlier_p = cache.load_platform(profile.name, src_p)
        earlier_e = cache.load_erp(profile.name, src_e)
    got_p: PlatformRead | BaseException
    got_e: ErpBatch | BaseException
    try:
        keep_p = keep_e = None
        saved: set[str] = set()
        if cache is not None and save:
            # Raw records only: writing them is cheap, and the connector turns them back
            # into views when the cache is used (a refresh, or a source that is down).
            def keep_p(batch):
                if save_over_cache or earlier_p is None:
                    cache.save_later("platform", profile.name, profile.platform.system, batch,
                                     views=False, source=src_p)
                    saved.add("platform")

            def keep_e(batch):
                if save_over_cache or earlier_e is None:
                    cache.save_later("erp", profile.name, profile.erp.system, batch,
                                     views=False, source=src_e)
                    saved.add("erp")

        erp_refs: asyncio.Future[set[str] | None] = asyncio.get_running_loop().create_future()
        erp_gaps: list[str] = []

        async def erp_side() -> ErpBatch:
            try:
                if reads_inbox(profile.erp.system):  # it calls us: what the inbox holds
                    read = read_erp_inbox(erp, profile.erp.system, inbox)
                    erp_gaps.extend(read.gaps)
                    batch = read.batch
                    if keep_e is not None:
                        keep_e(batch)
                else:
                    # the response bodies are kept only for a cache that takes them as
                    # they are
                    fetch = partial(erp.fetch_records, keep_pages=keep_e is not None)
                    batch = await _incremental(fetch, erp.merge, earlier_e, keep_e,
                                               full_read_every(profile.erp))
            except BaseException:
                if not erp_refs.done():  # not known: look-ups wait for the next refresh
                    erp_refs.set_result(None)
                raise
            erp_refs.set_result(set(batch.views))
            if on_read is not None:
                on_read("erp", batch, erp)
            if early is not None:
                early.erp_read(batch)
            return batch

        async def known_to_erp() -> set[str] | None:
            return await erp_refs

        async def platform_side() -> PlatformRead:
            pulls = main_shape(profile.platform.system) is ReadShape.PULL
            if early is not None and isinstance(platform, ViewsAsRead):
                platform.views_read = early.views_read
            try:
                read = await read_platform(
                    platform, profile.platform.system,
                    earlier_p if pulls else _kept(earlier_p, platform), inbox=inbox,
                    erp_refs=known_to_erp,
                    incremental=lambda: _incremental(
                        hinted_fetch(platform, profile.platform.system, inbox,
                                     earlier_p.fetched_at if earlier_p is not None else None),
                        platform.merge, earlier_p, every=full_read_every(profile.platform)))
            except BaseException:
                if early is not None:  # the run checks what the cache holds, not this
                    await early.stop(read=False)
                raise
            if early is not None:
                await early.stop()  # what is left is the check's run
            if keep_p is not None:
                keep_p(read.batch)
            if on_read is not None:
                on_read("platform", read.batch, platform)
            return read

        with gc_paused():  # bulk parsing: see domain/memory.py
            got_p, got_e = await asyncio.gather(
                within(deadline, profile.platform.system, "platform", platform_side()),
                within(deadline, profile.erp.system, "erp", erp_side()),
                return_exceptions=True,
            )
    finally:
        if early is not None:
            await early.stop()
        await asyncio.gather(platform.aclose(), erp.aclose())
    for got in (got_p, got_e):
        if isinstance(got, BaseException) and not isinstance(got, ConnectorError):
            raise got
        if isinstance(got, MisconfiguredError):  # not down: the profile is wrong
            raise UserError(f"profile {profile.name}: {got}")
    gaps: list[str] = []
    fresh_at = None
    read_p: PlatformBatch | BaseException = got_p if isinstance(got_p, BaseException) \
        else got_p.batch
    if isinstance(got_p, PlatformRead):
        gaps, fresh_at = got_p.gaps, got_p.fresh_at
    said_p = _explained(profile, profile.platform, lookup, read_p)
    said_e = _explained(profile, profile.erp, lookup, got_e)
    p_batch, p_status = _settle(profile, "platform", profile.platform.system, said_p, cache,
                                platform, src_p, earlier=kept.platform if kept else None)
    e_batch, e_status = _settle(profile, "erp", profile.erp.system, said_e, cache, erp, src_e,
                                earlier=kept.erp if kept else None)
    if p_status.status == "ok":
        p_status.fetched_at = fresh_at or p_status.fetched_at
        if gaps:  # read, but not all of it: never all clear
            p_status.status, p_status.error = "degraded", "; ".join(gaps)
    if e_status.status == "ok" and erp_gaps:
        e_status.status, e_status.error = "degraded", "; ".join(erp_gaps)
    notices = list(e_batch.notices)
    return LiveData(p_batch, e_batch, p_status, e_status, log, notices, saved,
                    connectors=(platform, erp))


def save_sources(cache: Cache, profile: Profile, data: LiveData, sides: set[str]) -> None:
    """`data`'s `sides` ("platform", "erp") written to the cache now (raw records only, as
    fetch_live writes them): for a session that read with `save=False`."""
    if "platform" in sides:
        cache.save_platform(profile.name, profile.platform.system, data.platform, views=False,
                            source=source_of(profile.platform))
    if "erp" in sides:
        cache.save_erp(profile.name, profile.erp.system, data.erp, views=False,
                       source=source_of(profile.erp))


def fresh_sides(data: LiveData) -> set[str]:
    """The sides `data` read just now (a stale side is an earlier read)."""
    return {side for side, status in (("platform", data.platform_status),
                                      ("erp", data.erp_status)) if status.status != "stale"}


T = TypeVar("T")


async def within(deadline: float | None, system: str, side: str, work: Awaitable[T]) -> T:
    """`work`, or DeadlineError naming the source once `deadline` seconds have passed."""
    if deadline is None:
        return await work
    try:
        return await asyncio.wait_for(work, deadline)
    except TimeoutError:
        raise DeadlineError(system, f"{side} {system} did not finish within the {deadline:g} s "
                            "deadline (it accepts connections but does not answer, or answers "
                            "too slowly); set --deadline to wait longer") from None


def _explained(profile: Profile, settings: SystemSettings, lookup, got):
    """An auth failure says where the profile's secret came from (an environment variable
    wins over the keyring, which surprises people)."""
    # refused (a token endpoint says so with 400 or 401), not short of a permission (403)
    if isinstance(got, AuthError) and got.status != 403:
        where = secret_sources(profile, settings.system, lookup)
        if where:
            said = str(got).removeprefix(f"{got.system}: ")
            return AuthError(got.system, f"{said} ({where})", status=got.status)
    return got


def _kept(batch, connector):
    """A cached batch with its views back (the cache keeps raw records only)."""
    if batch is None or batch.views or not (batch.raw or getattr(batch, "pages", None)):
        return batch
    return connector.from_raw(batch)


def source_of(settings: SystemSettings) -> str:
    """What makes cached data this profile's: the system and where and what it reads
    (retry knobs aside). Change the store, tenant, company or URL and the cache is not used."""
    options = {k: v for k, v in settings.options.items() if not k.startswith("retry_")}
    text = json.dumps([settings.system, settings.base_url, options], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The most notes a source's status carries (a notice per skipped record can run long).
MAX_NOTES = 10


def _few(notes: list[str]) -> list[str]:
    """A read's notes (a platform's) and notices (an ERP's) for its status: each once, the
    first MAX_NOTES of them and how many more there are."""
    kept = list(dict.fromkeys(notes))
    if len(kept) <= MAX_NOTES:
        return kept
    return [*kept[:MAX_NOTES], f"and {len(kept) - MAX_NOTES} more like these"]


def _settle(profile: Profile, side: str, system: str, got, cache: Cache | None, connector,
            source: str | None = None, earlier=None):
    """A side's batch and status: what was read, else (down) the session's last read, else
    what the cache holds, shown stale with its time."""
    if not isinstance(got, BaseException):
        records = len(got.views)
        said = [*getattr(got, "notes", ()), *getattr(got, "notices", ())]
        return got, SourceStatus(system, "ok", got.fetched_at, records, notes=_few(said))
    cached = earlier  # newer than the cache: a session writes it only now and then
    if cached is None and cache is not None:
        cached = (cache.load_platform if side == "platform" else cache.load_erp)(
            profile.name, source)
    if cached is None:
        raise SourcesDown(f"{side} {system} is down and nothing is cached for profile "
                          f"{profile.name}: {got}")
    cached = _kept(cached, connector)
    return cached, SourceStatus(system, "stale", cached.fetched_at, len(cached.views),
                                error=str(got))


def check_context(profile: Profile, mappings: Mappings, master: ErpMaster, *,
                  policy: Policy | None = None, now: datetime | None = None) -> Context:
    """What a check's returns are checked against (now, unless given)."""
    return Context(mappings=mappings, master=master, policy=policy or policy_of(profile),
                   now=now or datetime.now(UTC), names=systems.names())


def live_report(profile: Profile, data: LiveData, mappings: Mappings, *,
                policy: Policy | None = None, now: datetime | None = None,
                workers: int = 1, rechecker: Rechecker | None = None) -> CheckReport:
    """Pair and reconcile what was read; a session's `rechecker` checks again only the
    returns that may have changed since its last run."""
    problems = {ref: list(found) for ref, found in data.platform.problems.items()}
    for ref, found in data.erp.problems.items():
        problems.setdefault(ref, []).extend(found)
    with gc_paused():
        paired = pair(data.platform.views, data.erp.views, profile.erp.system, problems,
                      unseen=data.erp.unseen, platform_system=profile.platform.system)
    ctx = check_context(profile, mappings, data.erp.master, policy=policy, now=now)
    if rechecker is not None:
        result = rechecker.run(paired.cases, ctx, workers=workers)
    else:
        result = reconcile(paired.cases, ctx, workers=workers)
    data.platform_status.records = len(data.platform.views)
    data.erp_status.records = erp_record_count(paired.cases)
    report = CheckReport(generated_at=ctx.now, profile=profile.name,
                         platform=data.platform_status, erp=data.erp_status, result=result,
                         cases=paired.cases, master=data.erp.master)
    count_unreadable(report, paired.cases)
    return report


async def read_platform_only(profile: Profile, lookup: SecretLookup,
                             earlier: PlatformBatch | None, *, inbox: Inbox | None = None,
                             transport: object | None = None) -> PlatformBatch:
    """The platform alone, what changed since `earlier` (whole without it), as a check
    reads it: what an ERP's download feed offers (services/listen.py). Look-ups are not
    made (the ERP's references are not read here)."""
    platform = open_platform(profile, lookup, CallLog(), transport)
    try:
        pulls = main_shape(profile.platform.system) is ReadShape.PULL
        read = await read_platform(
            platform, profile.platform.system,
            earlier if pulls else _kept(earlier, platform), inbox=inbox,
            incremental=lambda: _incremental(
                hinted_fetch(platform, profile.platform.system, inbox,
                             earlier.fetched_at if earlier is not None else None),
                platform.merge, earlier, every=full_read_every(profile.platform)))
    finally:
        await platform.aclose()
    batch = read.batch
    return batch if batch.views or not batch.raw else platform.from_raw(batch)

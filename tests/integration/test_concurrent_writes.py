"""Issue 11.1: ten processes re-queue the same return at once, and the ERP answers their
credit look-ups together. Before, two credit memos were created in 5 of 7 trials (the lock was
a thread lock inside one process), and both audit rows named the second memo.

Ten worker processes (started once, forked from a forkserver: tests/processes.py) run
twenty-five trials, each on a new return. An ERP fake shared through a SQLite file holds every
look-up until each process has either looked (then all are released together: the race at its
worst) or been refused; exactly one memo must come of each trial, and the one succeeded audit
row names exactly that memo. Twenty-five is plenty: with no lease every trial makes ten memos,
and with a lease whose look and write are not one transaction about half of them make two or
more (the first or second trial fails), so a race is not missed in 25 trials.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from returns_console.domain.actions import Plan
from returns_console.domain.postings import CreditLine, CreditRequest, WriteResult
from returns_console.services.actions import Actions
from returns_console.store.audit import AuditLog
from returns_console.store.leases import Leases
from tests import processes

PROCESSES = 10
TRIALS = 25
GATE_TIMEOUT_S = 20.0


class SharedErp:
    """The ERP's credit memos, in a file every process reads and writes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS memos (id TEXT, link TEXT, creator INT)")
        return conn

    def memos(self, link: str) -> list[tuple[str, int]]:
        with self._db() as conn:
            return conn.execute("SELECT id, creator FROM memos WHERE link = ?",
                                [link]).fetchall()

    def create(self, link: str, creator: int) -> str:
        ident = str(uuid.uuid4())
        with self._db() as conn:
            conn.execute("INSERT INTO memos VALUES (?, ?, ?)", [ident, link, creator])
        return ident


@dataclass
class Gate:
    """Per trial: how many processes reached the look-up, how many were refused before it."""

    arrived: object  # mp.Array('i', TRIALS)
    refused: object

    def wait(self, trial: int) -> None:
        with self.arrived.get_lock():
            self.arrived[trial] += 1
        deadline = time.monotonic() + GATE_TIMEOUT_S
        while self.arrived[trial] + self.refused[trial] < PROCESSES:
            if time.monotonic() > deadline:
                raise TimeoutError(f"trial {trial}: the others never came")
            time.sleep(0.0005)


class Writer:
    """The connector's write surface, on the shared ERP, its look-ups held at the gate."""

    def __init__(self, erp: SharedErp, gate: Gate, trial: int, me: int, seen: list) -> None:
        self.erp, self.gate, self.trial, self.me, self.seen = erp, gate, trial, me, seen

    async def credits_for(self, link: str) -> list[WriteResult]:
        self.seen.append(self.trial)
        self.gate.wait(self.trial)
        return [WriteResult(record_id=i, number=i) for i, _ in self.erp.memos(link)]

    async def create_credit(self, credit: CreditRequest) -> WriteResult:
        ident = self.erp.create(credit.link, self.me)
        return WriteResult(record_id=ident, number=f"draft-{ident}", status="Draft")

    async def post_credit(self, draft: WriteResult, link: str) -> WriteResult:
        return WriteResult(record_id=draft.record_id, number=draft.record_id, status="Open",
                           final=True)

    def reverse_hint(self, action: str, number: str | None) -> str:
        return f"cancel {number} in the shared ERP"

    async def aclose(self) -> None:
        pass


class Session:
    profile_name = "concurrency"
    systems = "swap|d365_bc"
    read_only = False

    def __init__(self) -> None:
        self.writer: Writer | None = None

    def open_writer(self) -> Writer | None:
        return self.writer


def plan_for(trial: int) -> Plan:
    link = f"R-{trial:06d}"
    credit = CreditRequest(link=link, customer_ref="C1", currency="GBP", lines=(
        CreditLine(item_no="TEE", quantity=Decimal(1), unit_price=Decimal("10.00")),))
    return Plan("requeue_posting", f"credit memo for {link}", (link,), ("new credit memo",),
                {"return_ref": link}, credit=credit)


def worker(me: int, folder: str, start: object, arrived: object, refused: object) -> None:
    root = Path(folder)
    erp, gate, session = SharedErp(root / "erp.sqlite3"), Gate(arrived, refused), Session()
    actions = Actions(session, audit_path=root / "audit.sqlite3",
                      triage_path=root / f"triage-{me}.sqlite3", operator=f"op{me}")
    for trial in range(TRIALS):
        seen: list[int] = []
        session.writer = Writer(erp, gate, trial, me, seen)
        start.wait(timeout=GATE_TIMEOUT_S)  # a worker that died breaks it: no one hangs
        actions.apply(plan_for(trial))
        if not seen:  # refused before looking: the one who looked must not wait for it
            with refused.get_lock():
                refused[trial] += 1


def run_all(procs: list, limit: float = 240.0) -> None:
    """Start them, wait for all within one deadline; any left then are killed and fail."""
    for p in procs:
        p.start()
    deadline = time.monotonic() + limit
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [p for p in procs if p.is_alive()]
    for p in stuck:
        p.kill()
        p.join()
    assert not stuck, f"{len(stuck)} workers never finished"
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_ten_processes_requeueing_one_return_make_exactly_one_credit_memo(tmp_path) -> None:
    ctx = processes.context()
    start = ctx.Barrier(PROCESSES)
    arrived, refused = ctx.Array("i", TRIALS), ctx.Array("i", TRIALS)
    procs = [ctx.Process(target=worker, args=(n, str(tmp_path), start, arrived, refused))
             for n in range(PROCESSES)]
    run_all(procs)

    erp = SharedErp(tmp_path / "erp.sqlite3")
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        rows = audit.entries(action="requeue_posting")
        assert audit.verify().ok
    for trial in range(TRIALS):
        link = f"R-{trial:06d}"
        memos = erp.memos(link)
        assert len(memos) == 1, f"trial {trial}: {len(memos)} credit memos for {link}"
        done = [e for e in rows if e.return_ref == link and e.outcome == "succeeded"]
        assert [e.erp_record_id for e in done] == [memos[0][0]]  # exactly the one created
        assert sum(e.outcome == "refused" for e in rows if e.return_ref == link) == \
            PROCESSES - 1
    assert Leases(tmp_path / "audit.sqlite3").held() == {}  # every lease given back


# -- triage ---------------------------------------------------------------------------------

TAGGERS, TAGS_EACH = 10, 5


def tagger(me: int, folder: str, start: object) -> None:
    from returns_console.domain.codes import Code
    from tests.factories import healthy, only

    root = Path(folder)
    case = healthy()
    case["erp"]["lines"][0]["received_quantity"] = "1"  # one exception to triage
    finding = only(case, Code.QUANTITY_MISMATCH)
    actions = Actions(Session(), audit_path=root / "audit.sqlite3",
                      triage_path=root / "triage.sqlite3", operator=f"op{me}")
    for n in range(TAGS_EACH):
        start.wait(timeout=GATE_TIMEOUT_S)
        outcome = actions.set_triage(finding, "tag", f"t{me}-{n}")
        assert outcome.ok, outcome.message


def test_ten_processes_tagging_one_exception_keep_every_tag(tmp_path) -> None:
    """Issue 11.2: ten parallel `act triage tag` on one exception all reported done and
    were audited as succeeded, and three tags were lost (read, modify, write, no check)."""
    from returns_console.store.triage import TriageStore

    ctx = processes.context()
    start = ctx.Barrier(TAGGERS)
    procs = [ctx.Process(target=tagger, args=(n, str(tmp_path), start))
             for n in range(TAGGERS)]
    run_all(procs)
    [triage] = TriageStore(tmp_path / "triage.sqlite3").all(Session.profile_name).values()
    assert sorted(triage.tags) == sorted(f"t{m}-{n}" for m in range(TAGGERS)
                                         for n in range(TAGS_EACH))
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        done = [e for e in audit.entries(action="tag") if e.outcome == "succeeded"]
    assert len(done) == TAGGERS * TAGS_EACH
    # each row's after is its before plus its own tag: no row claims a state it overwrote
    assert all(len(e.after["tags"]) == len(set(e.after["tags"])) for e in done)


def test_a_posted_memo_that_cannot_be_told_apart_is_never_to_be_posted_again(tmp_path) -> None:
    """When BC shows two new posted memos for the link after ours was posted, the outcome
    must not say "the draft stays; post it there" (that would credit the customer twice)."""
    from returns_console.connectors.errors import AmbiguousResultError

    class Unclear(Writer):
        async def credits_for(self, link: str) -> list[WriteResult]:
            return []

        async def post_credit(self, draft: WriteResult, link: str) -> WriteResult:
            raise AmbiguousResultError("d365_bc", f"2 new posted credit memos carry {link}")

    session = Session()
    session.writer = Unclear(SharedErp(tmp_path / "erp.sqlite3"), None, 0, 0, [])
    actions = Actions(session, audit_path=tmp_path / "audit.sqlite3",
                      triage_path=tmp_path / "triage.sqlite3", operator="op")
    outcome = actions.apply(plan_for(1))
    assert not outcome.ok
    assert "Do not post or re-queue again" in outcome.message
    assert "post it there" not in outcome.message

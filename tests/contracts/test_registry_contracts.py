"""Contracts every system inherits from the registry (returns_console/systems/).

Each test is parametrised over what the registry declares, never over names typed here: the
built systems (test id: the system id) and the pairs the sandbox can compose (every built
platform with a simulator × every built ERP with one; test id "platform-erp"). A system added
to the registry gets all of these without anyone writing them again.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returns_console import systems
from returns_console.config import option_problems, secret_names
from returns_console.connectors.base import (
    ChannelErp,
    Erp,
    ErpWriter,
    EventSource,
    HintSource,
    InboxWriter,
    KeyedReads,
    LookupPlatform,
    ReturnOrderWriter,
    ReturnsPlatform,
)
from returns_console.connectors.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    RefusedError,
)
from returns_console.connectors.http import CallLog
from returns_console.domain.actions import (
    plan_fix_reference,
    plan_requeue_credit,
    plan_requeue_return_order,
)
from returns_console.domain.catalogue import CATALOGUE, REQUEUE_CREATES, codes_for
from returns_console.domain.codes import Action, Code, Side, Stage, StageStatus
from returns_console.domain.model import PayloadProblem
from returns_console.domain.postings import PENDING_NUMBER, RecordRef
from returns_console.errors import UserError
from returns_console.exact_json import exact_json
from returns_console.sandbox.faults import Faults
from returns_console.sandbox.hosted import ChannelClient, HostedErp, HostedSystem, PushingSystem
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.actions import erp_records
from returns_console.services.check import DEGRADED_SHARE
from returns_console.services.connections import open_erp, open_platform
from returns_console.services.demo import demo_mappings, demo_push
from returns_console.services.live import fetch_live, live_report
from returns_console.systems.spec import ReadShape, SystemOptions
from tests.conformance.checker import check_citation
from tests.contracts import kit

REPO = Path(__file__).resolve().parents[2]
OPEN = {"platform": open_platform, "erp": open_erp}

# -- 1. findings equal the ground truth -------------------------------------------------------


@pytest.mark.parametrize(("platform", "erp"), kit.pair_params())
def test_pair_findings_equal_its_ground_truth(platform: str, erp: str) -> None:
    """The sandbox plants known exceptions; read back through the pair's real connectors the
    check must find exactly those (a miss or an invention is a wrong answer to finance), and
    never a code this pair's APIs cannot show."""
    box = kit.sandbox(platform, erp)
    profile = box.profile(kit.IN_PROCESS)
    _, report = kit.check(box, profile, transport=kit.in_process(box))
    # a source is degraded when a real share of its records is unreadable (a small scenario
    # of a pair that can show few codes plants PAYLOAD_INVALID often), or cannot see money
    unreadable = report.platform.unreadable / max(report.platform.records, 1)
    assert report.platform.status == ("degraded" if unreadable > DEGRADED_SHARE else "ok")
    assert report.erp.status == "ok", report.erp.error
    assert kit.findings(report) == kit.planted(box)
    assert kit.delays(report) == kit.planted(box, delayed=True)
    assert not kit.findings(report) & kit.planted(box, delayed=True)
    facts = systems.spec(platform).capabilities.facts | systems.spec(erp).capabilities.facts
    can = {code.value for code in codes_for(facts)}
    claimed = {code for _, code in kit.findings(report) | kit.delays(report)}
    assert claimed <= can, f"codes this pair cannot show: {sorted(claimed - can)}"
    assert {t["code"] for t in box.truth} <= can


# -- 2. paging and faults ---------------------------------------------------------------------

#: Retry-After the faulty sandbox sends (seconds), and the retry knobs the profile gets.
RETRY_AFTER = 0.02
RETRIES = {"retry_attempts": 12, "retry_max_wait": RETRY_AFTER}


def _small_pages(platform: str, erp: str) -> dict[str, dict]:
    out: dict[str, dict] = {"*": dict(RETRIES)}
    for system in (platform, erp):
        found = kit.page_option(systems.spec(system))
        if found is not None:
            name, low = found
            out[system] = {name: max(low, 7)}
    return out


def _faulty_check(platform: str, erp: str, faults: Faults | None):
    box = kit.sandbox(platform, erp, faults=faults)
    profile = kit.tuned(box.profile(kit.IN_PROCESS), **_small_pages(platform, erp))
    log = CallLog()
    _, report = kit.check(box, profile, transport=kit.in_process(box), log=log)
    return report, list(log)


def _answered(calls) -> Counter:
    return Counter((c.system, c.method, c.url.split("?", 1)[0]) for c in calls
                   if c.status is not None and c.status < 400)


@pytest.mark.parametrize(("platform", "erp"), kit.pair_params(requests_both=True))
def test_faults_and_small_pages_change_nothing_but_the_retries(platform: str, erp: str) -> None:
    """Real APIs page, throttle (429 + Retry-After) and fail (503). With small pages and a
    seeded share of both, the check must find what it finds on a calm day, every failure must
    be retried once after at least the wait the server asked for, and nothing else may be
    sent again (a retry storm is how a throttled tenant gets locked out)."""
    calm, calm_calls = _faulty_check(platform, erp, None)
    faults = Faults(error_rate=0.15, rate_limit_rate=0.15, retry_after=RETRY_AFTER, seed=11)
    stormy, calls = _faulty_check(platform, erp, faults)
    assert kit.findings(stormy) == kit.findings(calm)
    assert kit.delays(stormy) == kit.delays(calm)
    assert (stormy.platform.status, stormy.erp.status) == ("ok", "ok")

    for system in (platform, erp):  # small pages: some list was read in several pages
        if kit.page_option(systems.spec(system)) is not None:
            assert any(n > 1 for (s, _, _), n in _answered(calm_calls).items() if s == system)
    failed = [c for c in calls if c.status is None or c.status >= 400]
    # each simulator fails as its API documents (503 for BC, NetSuite's sample is a 500)
    statuses = {c.status for c in failed}
    assert 429 in statuses and len(statuses) >= 2 and all(
        s is not None and 500 <= s <= 599 for s in statuses - {429}), (
        f"the faults never fired: no retry seen ({sorted(statuses, key=str)})")
    assert _answered(calls) == _answered(calm_calls), "a request was answered twice, or lost"
    assert len(calls) == len(calm_calls) + len(failed) <= 2 * len(calm_calls)
    for failure in failed:
        retry = [c for c in calls if (c.system, c.method, c.url, c.body) == (
            failure.system, failure.method, failure.url, failure.body)
            and c.attempt == failure.attempt + 1 and c.at >= failure.at]
        assert retry, f"{failure.method} {failure.url} failed ({failure.status}), not retried"
        # a lower bound only: a slow machine makes the gap longer, never shorter
        assert retry[0].at - failure.at >= timedelta(seconds=RETRY_AFTER * 0.9)


# -- 3. any JSON where a record is read -------------------------------------------------------


@pytest.fixture(scope="module")
def reads():
    """Per built system: its connector (opened from the sandbox profile) and a batch it read
    from its simulator, whose raw records are what the fuzz bends."""
    made: dict[str, tuple] = {}
    opened = []
    for spec in kit.BUILT:
        platform, erp = kit.pair_of(spec.id)
        box = kit.sandbox(platform, erp)
        profile = box.profile(kit.IN_PROCESS)
        data, _ = kit.check(box, profile, transport=kit.in_process(box))
        side = kit.side_of(profile, spec.id)
        connector = OPEN[side](profile, box.secret, CallLog())
        opened.append(connector)
        made[spec.id] = (connector, data.platform if side == "platform" else data.erp)
    yield made
    for connector in opened:
        asyncio.run(connector.aclose())


def _reported(batch) -> int:
    """Unreadable records a batch reports: payload problems, and (ERP master data) notices."""
    return sum(len(found) for found in batch.problems.values()) + len(
        getattr(batch, "notices", ()))


def _well_formed(batch, spec: systems.SystemSpec) -> None:
    for found in batch.problems.values():
        for problem in found:
            assert isinstance(problem, PayloadProblem)
            assert problem.side is spec.side
            assert isinstance(problem.error, str) and problem.error.strip()
            assert "\n" not in problem.error and "Traceback" not in problem.error
    json.dumps([p.error for found in batch.problems.values() for p in found])


def _refs(batch) -> list[str]:
    assert batch.raw, "the connector kept no raw records: from_raw has nothing to read"
    return sorted(batch.raw)


@pytest.mark.parametrize("spec", kit.system_params())
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pick=st.integers(0, 10_000), value=kit.json_values)
def test_any_json_as_a_record_is_a_payload_problem_not_a_crash(reads, spec, pick,
                                                                value) -> None:
    """Whatever a system sends in place of a record, its connector answers with views and
    payload problems (one bad record must not stop the check of ten thousand good ones);
    anything that is not even a JSON object is reported."""
    connector, batch = reads[spec.id]
    refs = _refs(batch)
    ref = refs[pick % len(refs)]
    without = {k: v for k, v in batch.raw.items() if k != ref}
    out = connector.from_raw(type(batch)(raw={**without, ref: value},
                                         fetched_at=batch.fetched_at))
    assert type(out) is type(batch)
    _well_formed(out, spec)
    if not isinstance(value, dict):
        base = connector.from_raw(type(batch)(raw=without, fetched_at=batch.fetched_at))
        assert _reported(out) > _reported(base), f"{value!r} in place of {ref}: not reported"


@pytest.mark.parametrize("spec", kit.system_params())
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pick=st.integers(0, 10_000), path=st.lists(st.integers(0, 50), min_size=1, max_size=4),
       value=kit.json_values)
def test_a_bent_field_is_a_view_or_a_payload_problem(reads, spec, pick, path, value) -> None:
    """A real record with one field (at any depth) replaced by any JSON value: the connector
    still answers, and anything it could not read is a one-line payload problem."""
    connector, batch = reads[spec.id]
    refs = _refs(batch)
    ref = refs[pick % len(refs)]
    raw = {**batch.raw, ref: kit.bent(batch.raw[ref], path, value)}
    out = connector.from_raw(type(batch)(raw=raw, fetched_at=batch.fetched_at))
    assert type(out) is type(batch)
    _well_formed(out, spec)


# -- 4. auth ----------------------------------------------------------------------------------


async def _try(opener, profile, lookup, transport, reader, log: CallLog | None = None):
    connector = opener(profile, lookup, log if log is not None else CallLog(), transport)
    try:
        said = await connector.check_connection()
        await reader(connector)
        return said
    finally:
        await connector.aclose()


@pytest.mark.parametrize("spec", kit.system_params())
def test_credentials_work_and_a_wrong_secret_is_a_clear_error_that_keeps_it(spec) -> None:
    """The sandbox's credentials open the system; a wrong one is an AuthError that says so
    in one line (what `doctor` and `check` print) and never repeats the secret, whether it
    surfaces from the connection check or from the live check's reads."""
    platform, erp = kit.pair_of(spec.id)
    # a platform that is looked up uses its key only for references no delivery named: the
    # scenario has one (an ERP record under a reference the platform never sent)
    box = kit.sandbox_planting(platform, erp, {"ERP_RECORD_UNLINKED"}) \
        if ReadShape.LOOKUP in spec.capabilities.reads else kit.sandbox(platform, erp)
    profile = box.profile(kit.IN_PROCESS)
    side = kit.side_of(profile, spec.id)
    if spec.side is Side.ERP and ReadShape.EVENTS in spec.capabilities.reads:
        _channel_credentials(box, profile, spec)
        return
    opener = OPEN[side]
    reader = kit.reader(box, side)
    said = asyncio.run(_try(opener, profile, box.secret, kit.in_process(box), reader))
    assert isinstance(said, str) and said.strip()

    names = [stored for system, stored in secret_names(profile) if system == spec.id]
    assert names, f"{spec.id} declares no secret: nothing to check"
    for stored in names:
        wrong = f"wrong-{box.secret(spec.id, stored)}-9f3c"

        def lookup(system: str, name: str, stored=stored, wrong=wrong) -> str | None:
            return wrong if (system, name) == (spec.id, stored) else box.secret(system, name)

        log = CallLog()
        with pytest.raises(ConnectorError) as caught:
            asyncio.run(_try(opener, profile, lookup, kit.in_process(box), reader, log))
        error = caught.value
        assert isinstance(error, AuthError), f"{stored}: {type(error).__name__}: {error}"
        text = f"{error}\n{error!r}\n{error.args}\n{getattr(error, 'detail', '')}"
        assert wrong not in text and box.secret(spec.id, stored) not in text
        assert str(error).strip() and "\n" not in str(error) and "Traceback" not in text
        assert all(wrong not in c.url and wrong not in (c.error or "") for c in log)

        with pytest.raises(UserError) as down:  # the live check: a source that is down
            kit.check(box, profile, lookup, transport=kit.in_process(box))
        assert wrong not in str(down.value) and "\n" not in str(down.value)


def _channel_credentials(box, profile, spec: systems.SystemSpec) -> None:
    """An ERP that calls us: the sandbox's credentials let its calls in; with another
    secret in the profile every call is refused (401), nothing is kept, and the check says
    nothing was received (degraded, never all clear) without repeating the secret."""
    _, report = kit.check(box, profile, transport=kit.in_process(box))
    assert report.erp.records > 0
    names = [stored for system, stored in secret_names(profile, listening=True)
             if system == spec.id]
    assert names, f"{spec.id} declares no secret: nothing to check"
    for stored in names:
        wrong = f"wrong-{box.secret(spec.id, stored)}-9f3c"

        def lookup(system: str, name: str, stored=stored, wrong=wrong) -> str | None:
            return wrong if (system, name) == (spec.id, stored) else box.secret(system, name)

        fresh = kit.sandbox(profile.platform.system, profile.erp.system)
        _, refused = kit.check(fresh, profile, lookup, transport=kit.in_process(fresh))
        # (what it exports by other means may still be read: the channel's part is not)
        assert refused.erp.status == "degraded"
        assert not any(c.erp.stage(Stage.AUTHORISED).status is StageStatus.DONE
                       for c in refused.cases)
        assert "nothing has been received" in (refused.erp.error or "")
        text = json.dumps(refused.to_json())
        assert wrong not in text and box.secret(spec.id, stored) not in text


# -- 5. conformance corpus --------------------------------------------------------------------


@pytest.mark.parametrize("spec", kit.system_params())
def test_a_conformance_corpus_with_cited_cases_exists(spec) -> None:
    """The simulator and the connector are two readings of the vendor's docs; the corpus is
    the third, case by case, each citing the section it comes from, so a disagreement can be
    settled by reading the docs rather than the code."""
    folder = REPO / "tests" / "conformance" / spec.id
    cases = sorted((folder / "cases").glob("*.json"))
    assert cases, f"tests/conformance/{spec.id}/cases/ has no case"
    assert list(folder.glob("test_*.py")), f"tests/conformance/{spec.id}/ runs no case"
    for path in cases:
        case = json.loads(path.read_text(encoding="utf-8"))
        case["_file"] = f"{spec.id}/{path.name}"
        check_citation(case)


# -- 6. ERP writers: the preview is the request -----------------------------------------------

def _requeues(platform: str, erp: str) -> bool:
    """Whether the pair can re-queue anything: the ERP's re-queue makes a credit only for a
    refund the platform made, so a platform whose payloads carry no money (Happy Returns)
    gives it none to make; an ERP whose re-queue makes the return order (F&O) needs none."""
    can = systems.spec(erp).capabilities
    if Action.REQUEUE_POSTING not in can.writes:
        return False
    return "return_order" in can.creates or (
        "credit_note" in can.creates
        and "platform_money" in systems.spec(platform).capabilities.facts)


def _calls_us(erp: str) -> bool:
    """An ERP whose channel calls us: its writes wait in the inbox for its next call."""
    return ReadShape.EVENTS in systems.spec(erp).capabilities.reads


WRITES = [pytest.param(p, e, action, id=f"{p}-{e}-{action.value}")
          for p, e in kit.PAIRS if not _calls_us(e)
          for action in sorted(systems.spec(e).capabilities.writes)
          if action is Action.FIX_REFERENCE
          or (action is Action.REQUEUE_POSTING and _requeues(p, e))]
DEFERRED = [pytest.param(p, e, id=f"{p}-{e}") for p, e in kit.PAIRS
            if _calls_us(e) and Action.REQUEUE_POSTING in systems.spec(e).capabilities.writes
            and "return_order" in systems.spec(e).capabilities.creates]
#: The codes whose fix is each write, and that the sandbox can plant.
WRITE_CODES = {
    Action.FIX_REFERENCE: {c.value for c, e in CATALOGUE.items()
                           if e.action is Action.FIX_REFERENCE},
    Action.REQUEUE_POSTING: {c.value for c, made in REQUEUE_CREATES.items()
                             if made in ("credit_note", "return_order")},
}


def _writer(spec: systems.SystemSpec, connector):
    """The ERP's writer as the registry declares it; while its declared factory cannot be
    loaded (see the hygiene contract), the connector itself, as the services use it today."""
    try:
        factory = spec.load("writer") if spec.writer else None
    except ImportError:
        factory = None
    writer = factory(connector) if factory is not None else connector
    assert isinstance(writer, ErpWriter)
    return writer


def _open_writer(spec, profile, lookup):
    return _writer(spec, open_erp(profile, lookup, CallLog()))


def _as_sent(entry: dict) -> tuple:
    return entry["method"], entry["path"], exact_json(entry["body"])


def _assert_sent_as_described(entry: dict, described: dict) -> None:
    assert _as_sent(entry) == _as_sent(described), "the preview is not what was sent"
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    for name, value in described["headers"].items():
        if value is not None:
            assert headers.get(name.lower()) == value, f"header {name}: sent {headers}"


@pytest.mark.parametrize(("platform", "erp", "action"), WRITES)
def test_a_write_sends_exactly_the_request_its_preview_showed(platform, erp, action) -> None:
    """The operator confirms a write on its preview, and the audit log records that preview
    as the request: `describe_*` must be byte for byte what the ERP then receives (its write
    journal), over real loopback, after a live check of the pair, with a writer opened fresh
    as the services open one; describing sends nothing."""
    spec = systems.spec(erp)
    box = kit.sandbox_planting(platform, erp, WRITE_CODES[action])
    with BackgroundServer(box.app()) as server:
        profile = box.profile(server.url)
        data, report = kit.check(box, profile)
        assert kit.findings(report) == kit.planted(box)
        cases = {c.return_ref: c for c in report.cases}
        creates = data.erp.master.creates or frozenset()
        # the re-queue this ERP's API can make (a credit note, or the return order itself)
        writer = _open_writer(spec, profile, box.secret)

        def changeable(ref: str) -> str | None:
            """The first of a return's ERP records this ERP lets the link of change (a
            posted invoice's, say, it may not: describing it says so, a ValueError), as the
            service picks it."""
            for record in erp_records(cases[ref]):
                try:
                    writer.describe_set_link(RecordRef.parse(record), "etag", f"CT-{ref}")
                except ValueError:
                    continue
                return record
            return None

        ref = next(t["return_ref"] for t in box.truth
                   if t["code"] in WRITE_CODES[action] and not t["delay"]
                   and (changeable(t["return_ref"]) if action is Action.FIX_REFERENCE
                        else REQUEUE_CREATES[Code(t["code"])] in creates))
        case = cases[ref]
        if action is Action.FIX_REFERENCE:
            record_ref = changeable(ref)
            assert record_ref is not None
            raw = data.erp.raw.get(record_ref)
            assert isinstance(raw, dict), f"the check kept no raw record for {record_ref}"
        before = box.erp.requests
        try:
            if action is Action.FIX_REFERENCE:
                plan = plan_fix_reference(case, record_ref, f"CT-{ref}", report.cases,
                                          current=writer.link_of(raw),
                                          link_label=writer.link_label)
                assert plan.allowed, plan.refusal
                target, etag = RecordRef.parse(record_ref), writer.token_of(raw)
                described = [writer.describe_set_link(target, etag, plan.after["link"])]
            elif isinstance(writer, ReturnOrderWriter) and "return_order" in creates:
                plan = plan_requeue_return_order(case, box.mappings(), data.erp.master,
                                                 writer.return_order_steps())
                assert plan.allowed, plan.refusal
                first = writer.describe_create_return_order(plan.order)
                described = [first]
            else:
                plan = plan_requeue_credit(case, box.mappings(), data.erp.master,
                                           writer.credit_steps())
                assert plan.allowed, plan.refusal
                described = [writer.describe_create_credit(plan.credit)]
        finally:
            asyncio.run(writer.aclose())
        assert box.erp.requests == before, "describing a write sent something"
        box.erp.clear_writes()

        async def send():
            fresh = _open_writer(spec, profile, box.secret)
            try:
                if action is Action.FIX_REFERENCE:
                    try:
                        return await fresh.set_link(target, etag, plan.after["link"])
                    except (RefusedError, ConflictError) as refused:  # still as described
                        return refused
                if plan.order is not None:
                    assert await fresh.return_orders_for(plan.order.link) == []
                    made = await fresh.create_return_order(plan.order)
                    number = made.number or made.record_id
                    # the requests after the first carry the number its answer gave
                    described.extend(json.loads(json.dumps(then).replace(
                        json.dumps(PENDING_NUMBER), json.dumps(number)))
                        for then in described[0].get("then", []))
                    return made
                assert await fresh.credits_for(plan.credit.link) == []
                draft = await fresh.create_credit(plan.credit)
                if draft.final is False:
                    described.append(fresh.describe_post_credit(draft))
                    return await fresh.post_credit(draft, plan.credit.link)
                return draft
            finally:
                await fresh.aclose()

        outcome = asyncio.run(send())
    if isinstance(outcome, ConnectorError):
        assert str(outcome).strip() and "\n" not in str(outcome)
    sent = kit.journal(box)
    assert len(sent) == len(described), json.dumps(sent, default=str)[:2000]
    for entry, preview in zip(sent, described, strict=True):
        _assert_sent_as_described(entry, preview)
    secret = box.secret(erp, spec.secrets[0]) if spec.secrets else None
    assert not secret or secret not in box.erp.writes_json().decode()


@pytest.mark.parametrize(("platform", "erp"), DEFERRED)
def test_a_deferred_write_is_served_as_its_preview_showed(platform, erp) -> None:
    """An ERP that calls us takes a re-queue at its next call: the preview names what it
    will be served, and that is what it takes (every field the preview shows, as shown);
    nothing is served before the write, nothing twice after, and the check then shows the
    return taken."""
    spec = systems.spec(erp)
    box = kit.sandbox_planting(platform, erp, {Code.RETURN_ORDER_MISSING.value})
    with BackgroundServer(box.app()) as server:
        profile = box.profile(server.url)
        pushed = demo_push(box, profile)
        assert pushed is not None
        try:
            pushed.push()
            pushed.push()  # Khaos has stopped asking for what failed
            read = partial(fetch_live, profile, box.secret, inbox=pushed.inbox)
            data = asyncio.run(read())
            report = live_report(profile, data, demo_mappings(box), now=kit.NOW)
            assert kit.findings(report) == kit.planted(box)
            ref = next(t["return_ref"] for t in box.truth
                       if t["code"] == Code.RETURN_ORDER_MISSING.value and not t["delay"])
            case = next(c for c in report.cases if c.return_ref == ref)
            writer = _open_writer(spec, profile, box.secret)
            assert isinstance(writer, InboxWriter)
            writer.attach(partial(pushed.inbox.events, erp), pushed.inbox.receive)
            plan = plan_requeue_return_order(case, box.mappings(), data.erp.master,
                                             writer.return_order_steps())
            assert plan.allowed and plan.order is not None, plan.refusal
            described = writer.describe_create_return_order(plan.order)
            pushed.push()
            assert kit.journal(box) == [], "served again before the write"
            made = asyncio.run(writer.create_return_order(plan.order))
            assert made.deferred
            pushed.push()  # Khaos's next pull
            pushed.push()
            sent = kit.journal(box)
            assert [e["body"]["AssociatedRef"] for e in sent] == [ref], "served once"
            body = sent[0]["body"]
            assert (sent[0]["method"], sent[0]["path"]) == (described["method"],
                                                            described["path"])
            for key, value in described["body"].items():
                if key == "ReturnedItems":
                    got = [{k: item.get(k) for k in shown}
                           for item, shown in zip(body[key], value, strict=True)]
                    assert got == value
                else:
                    assert body[key] == value, key
            assert asyncio.run(writer.picked_up(Action.REQUEUE_POSTING, {"return_ref": ref}))
            after = live_report(profile, asyncio.run(read()), demo_mappings(box), now=kit.NOW)
            assert (ref, Code.RETURN_ORDER_MISSING.value) not in kit.findings(after)
        finally:
            pushed.close()


# -- 7. registry hygiene ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", kit.system_params())
def test_a_full_read_asks_for_the_biggest_pages_the_api_documents(spec) -> None:
    """Requests are the cost of a read (issue 13: a check should make no more requests than
    the data needs at the API's documented page size): a system that pages declares its
    page option, whose default is the documented maximum (or None: the maximum) and whose
    upper bound is that maximum."""
    if spec.capabilities.max_page_size is None:
        assert spec.page_option is None, "a page option without a documented maximum"
        return
    assert spec.page_option, f"{spec.id} pages (max {spec.capabilities.max_page_size}) "\
        "but declares no page_option"
    info = spec.options.model_fields[spec.page_option]
    assert info.default in (None, spec.capabilities.max_page_size)
    high = next((getattr(m, "le", None) for m in info.metadata
                 if getattr(m, "le", None) is not None), None)
    assert high == spec.capabilities.max_page_size


@pytest.mark.parametrize("spec", kit.system_params())
def test_every_declared_factory_loads(spec) -> None:
    """A dotted path is only checked when it is used: a typo (or a module not written yet)
    breaks `check`, `act` or the sandbox for that system in front of a user."""
    broken = []
    for what in ("connector", "writer", "simulator"):
        if getattr(spec, what) is None:
            continue
        try:
            assert callable(spec.load(what))
        except (ImportError, AttributeError) as exc:
            broken.append(f"{what} = {getattr(spec, what)!r}: {type(exc).__name__}: {exc}")
    assert not broken, f"{spec.id}: " + "; ".join(broken)


@pytest.mark.parametrize("spec", kit.system_params())
def test_a_built_system_is_complete(spec) -> None:
    """What every built system owes the rest of the console: a simulator the sandbox can
    serve, options its sandbox profile fills, the secrets it declares, names of its own to
    guard, a connector of the shape its read capabilities promise, and a writer for every
    write it lists."""
    assert spec.simulator, f"{spec.id} has no simulator: the sandbox, demo and these " \
                           "contracts cannot run it"
    assert issubclass(spec.options, SystemOptions)
    assert spec.own_names, f"{spec.id} declares no names of its own"
    # a system that calls us needs its secrets only to serve it (`listen`)
    assert spec.secrets or spec.listen_secrets, f"{spec.id} declares no secret"
    caps = spec.capabilities
    assert caps.reads, f"{spec.id} declares no way its records reach us"
    assert caps.writes <= {Action.FIX_REFERENCE, Action.REQUEUE_POSTING}
    if caps.writes:
        assert spec.side is Side.ERP and spec.writer, f"{spec.id} lists writes but no writer"

    platform, erp = kit.pair_of(spec.id)
    box = kit.sandbox(platform, erp)
    profile = box.profile(kit.IN_PROCESS)
    side = kit.side_of(profile, spec.id)
    hosted = box.platform if side == "platform" else box.erp
    assert isinstance(hosted, HostedErp if spec.side is Side.ERP else HostedSystem)
    settings_ = getattr(profile, side)
    required = {n for n, f in spec.options.model_fields.items() if f.is_required()}
    assert required <= set(settings_.options), f"the sandbox profile leaves out " \
                                               f"{sorted(required - set(settings_.options))}"
    assert option_problems(spec.id, dict(settings_.options)) == []
    # every secret a check needs; those of its other ways in (an `auth` option), and those
    # only `listen` needs, where the simulator pushes
    assert set(spec.secrets) <= set(hosted.credentials()) <= {*spec.every_secret,
                                                              *spec.listen_secrets}
    if caps.pushes_events:
        calls = PushingSystem if spec.side is Side.PLATFORM else ChannelClient
        assert isinstance(hosted, calls), "it calls us: its simulator must too"

    connector = OPEN[side](profile, box.secret, CallLog(), kit.in_process(box))
    try:
        shapes = {ReadShape.PULL: ReturnsPlatform if side == "platform" else Erp,
                  ReadShape.LOOKUP: LookupPlatform,
                  ReadShape.EVENTS: EventSource if side == "platform" else ChannelErp,
                  ReadShape.HINTS: HintSource}
        for shape in caps.reads:
            assert isinstance(connector, shapes[shape]), f"reads {shape.value}: the " \
                f"connector is no {shapes[shape].__name__}"
        # the record index is kept for a pair only where both say so (keyed_check.py)
        assert caps.keyed_reads == isinstance(connector, KeyedReads), \
            f"{spec.id}: keyed_reads says {caps.keyed_reads}, the connector says otherwise"
        if caps.writes:
            _writer(spec, connector)
    finally:
        asyncio.run(connector.aclose())


@pytest.mark.parametrize(("platform", "erp"), kit.pair_params())
def test_the_sandbox_provides_every_secret_under_the_name_the_profile_asks(platform,
                                                                          erp) -> None:
    """Two systems of a pair may need a secret of the same name (then stored as
    `<system>_<name>`); the sandbox must answer the name the profile will ask for."""
    box = kit.sandbox(platform, erp)
    profile = box.profile(kit.IN_PROCESS)
    missing = [f"{system}: {name}" for system, name in secret_names(profile)
               if not box.secret(system, name)]
    assert not missing, f"the sandbox has no value for {missing}"


# -- 8. auth refresh and idempotent writes under concurrency ---------------------------------


async def _read_twice(opener, profile, lookup, transport, reader, expire) -> CallLog:
    log = CallLog()
    connector = opener(profile, lookup, log, transport)
    try:
        await reader(connector)
        expire()
        await reader(connector)
    finally:
        await connector.aclose()
    return log


@pytest.mark.parametrize("spec", kit.system_params())
def test_a_session_that_expires_mid_run_is_renewed_not_a_failure(spec) -> None:
    """Tokens expire between a console's refreshes: the same connector reads again after
    every session it holds stops working, renewing what it must (once), without failing."""
    platform, erp = kit.pair_of(spec.id)
    box = kit.sandbox(platform, erp)
    profile = box.profile(kit.IN_PROCESS)
    side = kit.side_of(profile, spec.id)
    hosted = box.platform if side == "platform" else box.erp
    reader = kit.reader(box, side)
    log = asyncio.run(_read_twice(OPEN[side], profile, box.secret, kit.in_process(box),
                                  reader, hosted.expire_sessions))
    # the second read completed (no exception); what it met on the way was only the expiry
    assert not [c for c in log if c.status is not None and c.status >= 400 and c.status != 401]


def _first_pair_of(erp: str) -> tuple[str, str]:
    return next(pair for pair in kit.PAIRS if pair[1] == erp)


#: An ERP that calls us is checked with one platform: its re-queue is an instruction in the
#: inbox whatever the platform (the lease and the look-up are the services'), and each pair
#: replays weeks of channel calls (CI time is a budget).
ERPS_THAT_REQUEUE = [pytest.param(p, e, id=f"{p}-{e}") for p, e in kit.PAIRS
                     if _requeues(p, e) and (not _calls_us(e) or (p, e) == _first_pair_of(e))]


@pytest.mark.parametrize(("platform", "erp"), ERPS_THAT_REQUEUE)
def test_one_requeue_from_many_consoles_at_once_makes_one_credit(tmp_path, platform,
                                                                  erp) -> None:
    """Four consoles re-queue the same missing credit (or, where the ERP's API makes the
    return order and not the credit, the same missing return order) at the same moment:
    the ERP gets exactly one (the lease and the look-up right before sending), the others
    are refused."""
    import threading

    from returns_console.services.actions import Actions
    from returns_console.services.session import DemoSession

    session = DemoSession(tmp_path / "cache.sqlite3", now=kit.NOW, returns=60,
                          platform=platform, erp=erp)
    try:
        loaded = session.refresh()
        creates = loaded.master.creates if loaded.master else None
        order = bool(creates) and "return_order" in creates and "credit_note" not in creates
        wanted = "RETURN_ORDER_MISSING" if order else "CREDIT_NOTE_MISSING"
        ref = next(f.return_ref for f in loaded.report.findings
                   if f.code.value == wanted and not f.delay)
        consoles = [Actions(session, audit_path=tmp_path / "audit.sqlite3",
                            triage_path=tmp_path / f"triage-{n}.sqlite3", operator=f"op{n}")
                    for n in range(4)]
        plans = [a.plan_requeue(loaded, ref) for a in consoles]
        assert all(p.allowed for p in plans)
        gate, outcomes = threading.Barrier(len(consoles)), []

        def go(actions: Actions, plan) -> None:
            gate.wait()
            outcomes.append(actions.apply(plan))

        threads = [threading.Thread(target=go, args=pair) for pair in zip(consoles, plans,
                                                                           strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sum(o.ok for o in outcomes) == 1, [o.message for o in outcomes]

        async def credits() -> int:
            writer = session.open_writer()
            try:
                if order:
                    return len(await writer.return_orders_for(ref))
                return len(await writer.credits_for(ref))
            finally:
                await writer.aclose()

        assert asyncio.run(credits()) == 1
        for a in consoles:
            a.close()
    finally:
        session.close()

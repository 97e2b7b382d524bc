"""NetSuite's writer against the sandbox's record service (docs/vendors/netsuite.md §6):
a link PATCHed only while lastModifiedDate is as read (NetSuite documents no ETag, §6.2),
a lost answer looked at rather than sent again, and NetSuite's refusals passed on."""

from __future__ import annotations

import asyncio
import json

import pytest

from returns_console.connectors.errors import ConflictError, RefusedError, ServerError
from returns_console.connectors.http import CallLog, RetryPolicy
from returns_console.domain.postings import RecordRef
from returns_console.services.connections import open_erp
from returns_console.systems.netsuite.writer import NetSuiteWriter
from tests.contracts import kit

ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


@pytest.fixture(scope="module")
def box():
    return kit.sandbox("shopify", "netsuite")


def _ra(box) -> tuple[RecordRef, dict]:
    """A return authorization and its raw record as a check read it."""
    profile = box.profile(kit.IN_PROCESS)
    data, _ = kit.check(box, profile, transport=kit.in_process(box))
    ref, raw = next((r, v) for r, v in data.erp.raw.items()
                    if r.startswith("netsuite:returnAuthorization:"))
    return RecordRef.parse(ref), raw


def _writer(box) -> NetSuiteWriter:
    profile = box.profile(kit.IN_PROCESS)
    connector = open_erp(profile, box.secret, CallLog(), kit.in_process(box))
    connector.http.retry = ONCE
    return NetSuiteWriter(connector)


def _run(box, work):
    async def go():
        writer = _writer(box)
        try:
            return await work(writer)
        finally:
            await writer.aclose()
    return asyncio.run(go())


def test_the_link_is_patched_while_the_record_is_as_read(box) -> None:
    ref, raw = _ra(box)
    writer = _writer(box)
    etag = writer.token_of(raw)
    assert etag and etag.endswith("Z")
    box.erp.clear_writes()
    done = _run(box, lambda w: w.set_link(ref, etag, "R-FIXED-1"))
    assert done.record["otherRefNum"] == "R-FIXED-1" and done.etag != etag
    sent = json.loads(box.erp.writes_json())
    assert [(w["method"], w["path"], w["body"]) for w in sent] == [
        ("PATCH", f"/services/rest/record/v1/returnAuthorization/{ref.id}",
         {"otherRefNum": "R-FIXED-1"})]
    assert sent[0]["headers"]["x-netsuite-propertynamevalidation"] == "error"


def test_a_record_changed_since_it_was_read_is_a_conflict_and_nothing_is_sent(box) -> None:
    ref, raw = _ra(box)
    etag = _writer(box).token_of(raw)
    box.erp.bump(ref.entity, ref.id)
    box.erp.clear_writes()
    with pytest.raises(ConflictError) as caught:
        _run(box, lambda w: w.set_link(ref, etag, "R-FIXED-2"))
    assert caught.value.fresh and caught.value.fresh["id"] == ref.id
    assert "\n" not in str(caught.value)
    assert json.loads(box.erp.writes_json()) == []


def test_a_lost_answer_is_looked_at_not_sent_again(box) -> None:
    ref, _ = _ra(box)
    box.erp.clear_writes()
    box.erp.fail_writes(1, status=503, after=True)  # made, but the answer is lost
    done = _run(box, lambda w: w.set_link(ref, None, "R-FIXED-3"))
    assert done.record["otherRefNum"] == "R-FIXED-3"
    assert len(json.loads(box.erp.writes_json())) == 1
    box.erp.fail_writes(1, status=503)  # refused before anything was done
    with pytest.raises(ServerError):
        _run(box, lambda w: w.set_link(ref, None, "R-FIXED-4"))
    assert len(json.loads(box.erp.writes_json())) == 2


def test_what_netsuite_cannot_take_is_refused_before_or_by_it(box) -> None:
    ref, _ = _ra(box)
    writer = _writer(box)
    with pytest.raises(ValueError):
        writer.describe_set_link(ref, None, "  ")
    writer.link_field = "externalId"
    with pytest.raises(ValueError):  # §6.1: letters, digits, _ and - only
        writer.describe_set_link(ref, None, "RED|PO|1337")
    with pytest.raises(ValueError):
        writer.describe_set_link(RecordRef("netsuite", "items", "7"), None, "R-1")


# -- re-queue: a credit memo transformed from the return authorization (§5.2) -------------


@pytest.fixture
def credit_box():
    return kit.sandbox_planting("shopify", "netsuite", ["CREDIT_NOTE_MISSING"])


def _missing_credit(box):
    """A CreditRequest for a return the platform refunded and NetSuite has not credited, as
    the service plans it (the RA approved and received)."""
    from returns_console.domain.actions import plan_requeue_credit
    from returns_console.domain.codes import Code
    from returns_console.services.demo import demo_mappings

    profile = box.profile(kit.IN_PROCESS)
    data, report = kit.check(box, profile, transport=kit.in_process(box))
    found = next(f for f in report.findings
                 if f.code is Code.CREDIT_NOTE_MISSING and not f.delay)
    case = next(c for c in report.cases if c.return_ref == found.return_ref)
    plan = plan_requeue_credit(case, demo_mappings(box), data.erp.master)
    assert plan.allowed and plan.credit is not None, plan.refusal
    return plan.credit


def test_a_credit_is_transformed_from_the_ra_once_and_found_after(credit_box) -> None:
    box = credit_box
    credit = _missing_credit(box)
    writer = _writer(box)
    sent = writer.describe_create_credit(credit)
    ra = RecordRef.parse(credit.source.raw_ref)
    assert sent["path"] == (f"/services/rest/record/v1/returnAuthorization/{ra.id}"
                            "/!transform/creditMemo")
    box.erp.clear_writes()
    made = _run(box, lambda w: w.create_credit(credit))
    assert made.final and made.number and made.number.startswith("CM")
    assert made.record["otherRefNum"] == credit.link
    writes = json.loads(box.erp.writes_json())
    assert [(w["method"], w["path"], w["body"], w["status"]) for w in writes] == [
        ("POST", sent["path"], sent["body"], 204)]
    assert writes[0]["headers"]["x-netsuite-propertynamevalidation"] == "error"
    found = _run(box, lambda w: w.credits_for(credit.link))
    assert [f.number for f in found] == [made.number]
    again = _run(box, lambda w: w.create_credit(credit))  # a second console: found, not made
    assert again.record_id == made.record_id
    assert len(json.loads(box.erp.writes_json())) == 1


def test_a_lost_answer_to_the_transform_is_looked_up_not_sent_again() -> None:
    box = kit.sandbox_planting("shopify", "netsuite", ["CREDIT_NOTE_MISSING"])
    credit = _missing_credit(box)
    box.erp.clear_writes()
    box.erp.fail_writes(1, status=503, after=True)
    made = _run(box, lambda w: w.create_credit(credit))
    assert made.final and made.record["externalId"].startswith("rc-")
    assert [w["status"] for w in json.loads(box.erp.writes_json())] == [503]


def test_what_netsuite_needs_first_is_said_and_nothing_sent(credit_box) -> None:
    from dataclasses import replace

    credit = _missing_credit(credit_box)
    writer = _writer(credit_box)
    source = credit.source
    for state, said in (("on_hold", "pending approval"), ("closed", "closed")):
        with pytest.raises(ValueError, match=said):
            writer.describe_create_credit(replace(credit, source=replace(source, state=state)))
    with pytest.raises(ValueError, match="credits only what was received"):
        writer.describe_create_credit(replace(credit, source=replace(source, received=False)))
    with pytest.raises(ValueError, match="has none"):
        writer.describe_create_credit(replace(credit, source=None))


def test_an_ra_pending_approval_in_netsuite_now_is_refused_at_send() -> None:
    """Read as approved, but pending approval when sent (someone reopened it): the RA is
    read first and nothing is sent."""
    box = kit.sandbox_planting("shopify", "netsuite", ["CREDIT_NOTE_MISSING"])
    credit = _missing_credit(box)
    ra = RecordRef.parse(credit.source.raw_ref)
    box.erp.account.set_status(int(ra.id), "RtnAuth", "A", box.erp.account.clock)
    box.erp.clear_writes()
    with pytest.raises(RefusedError, match="approve it there"):
        _run(box, lambda w: w.create_credit(credit))
    assert json.loads(box.erp.writes_json()) == []


def test_a_credit_worth_more_than_the_refund_is_not_made(credit_box) -> None:
    """NetSuite prices the credit from the RA (what was received, at its rates): where that
    is more than the platform refunded (a fee kept back, a partial refund, fewer units), it
    is refused before anything is sent: money is never created."""
    from dataclasses import replace
    from decimal import Decimal

    box = credit_box
    credit = _missing_credit(box)
    box.erp.clear_writes()
    with pytest.raises(RefusedError, match="by hand"):
        _run(box, lambda w: w.create_credit(replace(credit, fees=Decimal("5.00"))))
    fewer = replace(credit, lines=tuple(replace(line, quantity=line.quantity - 1)
                                        for line in credit.lines))
    with pytest.raises(RefusedError, match="the platform refunded"):
        _run(box, lambda w: w.create_credit(fewer))
    assert [w["method"] for w in json.loads(box.erp.writes_json())] == []


def test_a_voided_credit_with_the_external_id_is_refused_not_returned(credit_box) -> None:
    box = credit_box
    credit = _missing_credit(box)
    made = _run(box, lambda w: w.create_credit(credit))
    box.erp.account.set_status(int(made.record_id), "CustCred", "V", box.erp.account.clock)
    with pytest.raises(RefusedError, match="voided"):
        _run(box, lambda w: w.create_credit(credit))


def test_a_server_error_before_the_transform_makes_nothing(credit_box) -> None:
    box = credit_box
    credit = _missing_credit(box)
    box.erp.clear_writes()
    box.erp.fail_writes(1, status=503)
    with pytest.raises(ServerError):
        _run(box, lambda w: w.create_credit(credit))
    assert _run(box, lambda w: w.credits_for(credit.link)) == []


def test_a_credit_made_but_not_read_back_is_made_not_failed(credit_box) -> None:
    from returns_console.connectors.errors import NetworkError

    box = credit_box
    credit = _missing_credit(box)

    async def work(writer):
        real_get, real_eid = writer.get_record, writer._credit_by_external_id
        sent: list[bool] = []

        async def get(ref):
            if ref.entity == "creditMemo":
                raise NetworkError("netsuite", "lost", maybe_sent=False)
            return await real_get(ref)

        async def by_eid(eid):
            if sent:
                raise NetworkError("netsuite", "lost", maybe_sent=False)
            sent.append(True)
            return await real_eid(eid)

        writer.get_record, writer._credit_by_external_id = get, by_eid
        return await writer.create_credit(credit)

    made = _run(box, work)
    assert made.final and made.record_id.isdigit()
    assert len(_run(box, lambda w: w.credits_for(credit.link))) == 1


def test_a_credit_made_by_another_console_meanwhile_is_found_not_made_again(credit_box) -> None:
    """Two consoles that share no audit log (so no lease) send at once: NetSuite keeps the
    external id unique, the second's transform is refused, and the writer finds the first."""
    box = credit_box
    credit = _missing_credit(box)
    first = _run(box, lambda w: w.create_credit(credit))

    async def work(writer):
        real = writer._credit_by_external_id
        looks: list[bool] = []

        async def by_eid(eid):  # not there yet when this console looked first
            looks.append(True)
            return None if len(looks) == 1 else await real(eid)

        writer._credit_by_external_id = by_eid
        return await writer.create_credit(credit)

    box.erp.account.set_status(int(RecordRef.parse(credit.source.raw_ref).id), "RtnAuth",
                               "F", box.erp.account.clock)  # as before the first credit
    second = _run(box, work)
    assert second.record_id == first.record_id
    assert len(_run(box, lambda w: w.credits_for(credit.link))) == 1


def test_an_ra_that_carries_another_link_now_is_a_conflict(credit_box) -> None:
    box = credit_box
    credit = _missing_credit(box)
    ra = int(RecordRef.parse(credit.source.raw_ref).id)
    box.erp.account.engine.update("transaction", {"id": ra}, {"otherrefnum": "R-OTHER"})
    box.erp.clear_writes()
    with pytest.raises(ConflictError):
        _run(box, lambda w: w.create_credit(credit))
    assert json.loads(box.erp.writes_json()) == []


def _add_ra_line(box, credit, item: str, itemtype: str, quantity: str, rate: str) -> None:
    account = box.erp.account
    ra = int(RecordRef.parse(credit.source.raw_ref).id)
    n = 1 + max(int(r["id"]) for r in account.engine.rows("transactionline", transaction=ra))
    account.engine.insert("transactionline", {
        "transaction": ra, "id": n, "uniquekey": ra * 1000 + n, "linesequencenumber": n,
        "mainline": "F", "taxline": "F", "item": account.item(item, itemtype=itemtype),
        "itemtype": itemtype, "quantity": quantity, "rate": rate, "isclosed": "F"})


@pytest.mark.parametrize(("item", "itemtype", "quantity", "rate", "made"), [
    ("DISCOUNT", "Discount", "-1", "-5.00", True),  # reduces the credit: left out
    ("GIFT-WRAP", "Service", "-1", "30.00", False),  # no receipt, credited whole: refused
])
def test_ra_lines_beside_the_goods_are_weighed_as_netsuite_would_credit_them(
        item, itemtype, quantity, rate, made) -> None:
    box = kit.sandbox_planting("shopify", "netsuite", ["CREDIT_NOTE_MISSING"])
    credit = _missing_credit(box)
    _add_ra_line(box, credit, item, itemtype, quantity, rate)
    box.erp.clear_writes()
    if made:
        assert _run(box, lambda w: w.create_credit(credit)).final
    else:
        with pytest.raises(RefusedError, match="does not have"):
            _run(box, lambda w: w.create_credit(credit))
        assert json.loads(box.erp.writes_json()) == []


def test_an_ra_in_another_currency_than_the_refund_is_refused(credit_box) -> None:
    from dataclasses import replace

    credit = _missing_credit(credit_box)
    with pytest.raises(RefusedError, match="the refund in EUR"):
        _run(credit_box, lambda w: w.create_credit(replace(credit, currency="EUR")))

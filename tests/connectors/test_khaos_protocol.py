"""What Khaos may send that must not hurt (docs/vendors/khaos-control.md §4; a review found
each): XML in another encoding than UTF-8 (a DOCTYPE hidden from the check), bodies nested
deeper than the protocol goes, and the feed asking Khaos to process a return whose receipt
the platform only infers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from returns_console.domain.model import PlatformView
from returns_console.domain.reference import Mappings
from returns_console.systems.khaos import fold
from returns_console.systems.khaos import protocol as wire
from returns_console.systems.khaos.feed import offerable
from returns_console.systems.khaos.options import KhaosOptions

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_xml_in_utf16_is_refused_whatever_it_declares() -> None:
    body = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            "<x>&a;</x>").encode("utf-16")
    with pytest.raises(wire.ProtocolError, match="UTF-8"):
        wire.read_body(body)


def test_a_declared_other_encoding_is_refused() -> None:
    with pytest.raises(wire.ProtocolError, match="another encoding"):
        wire.read_body(b'<?xml version="1.0" encoding="ISO-8859-1"?><x>1</x>')


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b"<a>" * 50_000 + b"</a>" * 50_000])
def test_a_body_nested_too_deep_is_bad_data_not_a_crash(body: bytes) -> None:
    with pytest.raises(wire.ProtocolError):
        wire.refuse_nulls(wire.read_body(body))


def _view(received: dict | None) -> PlatformView:
    stages: dict = {"authorised": {"status": "done", "at": AT}}
    if received is not None:
        stages["received"] = received
    return TypeAdapter(PlatformView).validate_python({
        "system": "zigzag", "return_ref": "R-1", "stages": stages,
        "lines": [{"line_ref": "1", "sku": "MUG1", "quantity": "1", "reason": "6"}]})


def test_process_return_needs_a_dated_receipt() -> None:
    """A platform that infers receipt from the refund gives an undated stage: Khaos is not
    asked to move stock on it."""
    options = KhaosOptions(urn="WEB", process_return="when_received", backfill_days=5)
    now = AT + timedelta(hours=1)
    undated = offerable([_view({"status": "done"})], options, Mappings(), now, AT)
    dated = offerable([_view({"status": "done", "at": AT})], options, Mappings(), now, AT)
    assert undated.offers[0].process is False
    assert dated.offers[0].process is True


def test_a_feed_khaos_stopped_pulling_is_said() -> None:
    body = fold.served_record(AT, [], [], "", "c", {}, {})
    from returns_console.connectors.base import InboxEvent

    events = [InboxEvent(system="khaos", delivery_id="s", topic=fold.SERVED, received_at=AT,
                         body=body)]
    options = KhaosOptions(urn="WEB")
    fresh = fold.records(events, options, now=AT + timedelta(minutes=20))
    stale = fold.records(events, options, now=AT + timedelta(hours=2))
    assert not any("not pulled" in g for g in fresh.gaps)
    assert any("not pulled the returns feed since" in g for g in stale.gaps)


def test_a_control_character_does_not_break_the_xml_feed() -> None:
    body, _ = wire.returns_document([{"AssociatedRef": "R-1", "Notes": "a\x01b",
                                      "ReturnedItems": [{"ReturnReason": {"ID": "6\x02"}}]}],
                                    "XML")
    doc = wire.read_body(body)
    assert doc["CustomerReturnImport"]["Returns"]["CustomerReturn"]["Notes"] == "ab"


def test_specific_ids_mark_the_return_whatever_their_case() -> None:
    from returns_console.connectors.base import InboxEvent

    offer = {"ref": "AREF1", "order_ref": "", "created": AT.isoformat(), "process": False,
             "lines": []}
    first = fold.served_record(AT, [offer], [], "", "c1", {}, {})
    again = fold.served_record(AT + timedelta(minutes=15), [offer], ["aref1"], "c1", "c2",
                               {}, {})
    state = fold.feed_state(fold.served([
        InboxEvent(system="khaos", delivery_id=n, topic=fold.SERVED, received_at=AT, body=b)
        for n, b in (("1", first), ("2", again))]))
    assert state["AREF1"].asked == 1


def test_a_continuation_echoed_forever_does_not_offer_a_return_forever() -> None:
    """Khaos echoing its first-contact continuation on every pull reads as every answer
    lost; the return is offered again `reoffer_limit` times, then held and said (it
    may be in Khaos after all), never served on every pull."""
    import asyncio
    import json

    from pydantic import SecretStr

    from returns_console.connectors.base import (
        ChannelContext,
        ChannelRequest,
        InboxEvent,
        PlatformBatch,
    )
    from returns_console.systems.khaos.connector import KhaosConnector

    view = _view(None)
    options = KhaosOptions(urn="WEB", backfill_days=30, default_reason_id="R1",
                           reoffer_limit=2)
    connector = KhaosConnector(base_url="https://c.example", options=options,
                               credentials=lambda: (SecretStr("u"), SecretStr("p")))
    kept: list[InboxEvent] = []

    async def returns() -> PlatformBatch:
        return PlatformBatch(views=[view])

    route = next(r for r in connector.channel(ChannelContext(
        returns=returns, history=lambda: list(kept), mappings=Mappings))
        if r.suffix == wire.SUFFIXES[wire.RETURNS])
    echoed = "2026-11-20 10:00:00Z"  # what Khaos sends first, and here (wrongly) forever
    served = []
    for n in range(6):
        request = ChannelRequest(
            method="GET", query={}, body=b"",
            headers={"authorization": wire.basic_header("u", "p"), wire.CONTINUATION: echoed},
            received_at=AT + timedelta(days=1, minutes=15 * n))
        answer = asyncio.run(route.handle(request))
        kept.extend(answer.keep)
        served.append(len(json.loads(answer.body)["Returns"]))
    # served, lost (the next pull echoes the older continuation), offered again twice
    # (reoffer_limit), each lost: then held
    assert served == [1, 1, 1, 0, 0, 0]
    batch = fold.records(kept, options, now=AT + timedelta(days=1, hours=2))
    assert any("offered 3 times" in n for n in batch.notices)


def test_a_recorded_answer_that_does_not_read_is_a_gap() -> None:
    from returns_console.connectors.base import InboxEvent

    events = [InboxEvent(system="khaos", delivery_id="s", topic=fold.SERVED, received_at=AT,
                         body=b'{"at": "not a date"}')]
    batch = fold.records(events, KhaosOptions(urn="WEB"), now=AT + timedelta(minutes=5))
    assert any("recorded answers do not read" in g for g in batch.gaps)


def test_a_sku_khaos_finds_by_barcode_is_offered_so_and_its_receipt_not_guessed() -> None:
    """KC §4 MappingType per returned item: a SKU mapped to a barcode is offered with
    Mapping Barcode; stock levels come by stock code, so that return's receipt is not
    inferred from rises (never a RECEIPT_NOT_POSTED it could not see)."""
    from returns_console.connectors.base import InboxEvent
    from returns_console.domain.codes import Stage, StageStatus
    from returns_console.systems.khaos.feed import customer_return

    mappings = Mappings.model_validate({"skus": {"MUG1": {
        "sku": "MUG1", "item_no": "5012345678900", "match_by": "Barcode"}}})
    options = KhaosOptions(urn="WEB", default_reason_id="R1")
    chosen = offerable([_view({"status": "done", "at": AT})], options, mappings,
                       AT + timedelta(hours=1), AT - timedelta(days=1))
    offer = chosen.offers[0]
    item = customer_return(offer, options, "n")["ReturnedItems"][0]
    assert (item["SKU"], item["Mapping"]) == ("5012345678900", [{"Mapping": "Barcode"}])
    body = fold.served_record(AT, [offer.record()], [], "", "c1", {}, {})
    events = [InboxEvent(system="khaos", delivery_id=n, topic=fold.SERVED, received_at=AT,
                         body=b, seq=i) for i, (n, b) in enumerate((("1", body),), 1)]
    events.append(InboxEvent(system="khaos", delivery_id="2", topic=fold.SERVED,
                             received_at=AT + timedelta(minutes=15), seq=2,
                             body=fold.served_record(AT + timedelta(minutes=15), [], [],
                                                     "c1", "c2", {}, {})))
    view = fold.records(events, options, now=AT + timedelta(minutes=20)).views["R-1"]
    assert view.stages[Stage.AUTHORISED].status is StageStatus.DONE
    assert view.stages[Stage.RECEIVED].status is StageStatus.NOT_APPLICABLE
    assert all(line.received_quantity is None for line in view.lines)


def test_a_reference_finding_offers_no_fix_and_says_what_to_do_in_khaos() -> None:
    """KC §7.3: no call changes a reference on anything Khaos imported: the finding's action
    is none and its to-do is Khaos's, so neither the console nor `act` offers a fix."""
    from returns_console.connectors.base import InboxEvent
    from returns_console.domain.codes import Action, Code
    from returns_console.domain.model import ReturnCase
    from returns_console.domain.reconcile import reconcile_case
    from returns_console.domain.reference import Policy
    from returns_console.domain.view import Context

    options = KhaosOptions(urn="WEB", default_reason_id="R1")
    platform = _view({"status": "done", "at": AT})  # carries no order number
    offer = offerable([platform], options, Mappings(), AT + timedelta(hours=1),
                      AT - timedelta(days=1)).offers[0]
    events = [InboxEvent(system="khaos", delivery_id="1", topic=fold.SERVED, received_at=AT,
                         seq=1, body=fold.served_record(AT, [offer.record()], [], "", "c1",
                                                        {}, {}))]
    batch = fold.records(events, options, now=AT + timedelta(minutes=5))
    ctx = Context(mappings=Mappings(), master=batch.master, policy=Policy(),
                  now=AT + timedelta(minutes=5))
    found = [f for f in reconcile_case(ReturnCase(platform=platform,
                                                  erp=batch.views["R-1"]), ctx)
             if f.code is Code.ORDER_REF_MISSING]
    assert found and found[0].action is Action.NONE
    assert "no call changes them" in (found[0].todo or "")


def test_a_stock_upload_without_deleted_deletes_nothing() -> None:
    """§4: an empty field may be left out: a JSON StockUpload with only `Items` adds them
    (a review found it deleted every item it had just pushed)."""
    import json

    from returns_console.connectors.base import InboxEvent

    body = json.dumps({"Items": [{"StockID": "1", "StockCode": "MUG",
                                  "Options": {"Discontinued": False}}]}).encode()
    events = [InboxEvent(system="khaos", delivery_id="s", topic=wire.STOCK, received_at=AT,
                         body=body, seq=1)]
    batch = fold.records(events, KhaosOptions(urn="WEB"), now=AT)
    assert set(batch.master.items) == {"MUG"}


def test_a_barcode_profile_checks_no_item_against_stock_codes() -> None:
    """With `sku_mapping=Barcode`, a mapping that names no way is found by barcode: not
    looked up among the items Khaos names by stock code (a remap is not refused for it)."""
    from returns_console.domain.actions import plan_remap_sku
    from returns_console.domain.reference import ErpMaster, Item

    master = ErpMaster(items={"MUG": Item(number="MUG")}, items_by="StockCode",
                       item_way="Barcode")
    plan = plan_remap_sku(Mappings(), master, [], "MUG-SKU", "5012345678900",
                          ways=("StockCode", "OtherRef", "Barcode", "WebCode"))
    assert plan.allowed, plan.refusal
    assert any("finds it by Barcode" in change for change in plan.changes)

"""Happy Returns' read against what a verified delivery may still hold (a review's
reproductions): no shape crashes the read or sticks the inbox, a look-up answer files each
order's items under that order, a refused look-up is not the source down."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from returns_console.connectors.base import InboxEvent
from returns_console.systems.happy_returns.connector import HappyReturnsConnector
from returns_console.systems.happy_returns.fold import Settings, status_of

RID = "5035789d-f873-4bad-b2f3-2daca346c111"


def _item(**kw: Any) -> dict[str, Any]:
    return {"happyReturnsReturnID": RID, "orderNumber": "100", "sku": "SA",
            "orderLineItemID": "1-0-1", "externalRMAID": "RMA-1", **kw}


def _asn(**kw: Any) -> dict[str, Any]:
    return {"event": "return_status_updated", "typeID": "started",
            "retailerID": "r", "otherEvents": [], "items": [_item()], **kw}


def _events(*bodies: Any) -> list[InboxEvent]:
    return [InboxEvent(system="happy_returns", delivery_id=f"d{n}", topic="return.asn",
                       received_at=datetime(2026, 11, 20, 10, n, tzinfo=UTC),
                       body=json.dumps(b).encode(), seq=n + 1) for n, b in enumerate(bodies)]


def _connector(transport: httpx.AsyncBaseTransport | None = None) -> HappyReturnsConnector:
    return HappyReturnsConnector(base_url="https://partner.example", api_key="k",
                                 settings=Settings(retailer_id="r"), transport=transport)


def test_no_shape_of_a_delivery_crashes_the_read() -> None:
    bad = [_asn(items=5), _asn(items=True), _asn(otherEvents=7),
           _asn(items=[_item(orderLineItemID="1-" + "9" * 5000 + "-2")]), [1, 2], "text"]
    for body in bad:
        batch = _connector().from_events(_events(_asn(), body), None)
        assert len(batch.views) + len(batch.problems) >= 1  # read, never raised


def test_each_orders_items_are_its_own_after_a_look_up() -> None:
    """A look-up answer naming two orders replaces each order's items, not the first's."""
    connector = _connector()
    webhook = connector.from_events(_events(_asn(items=[
        _item(orderNumber="100", sku="SA"), _item(orderNumber="200", sku="SB",
                                                   orderLineItemID="2-0-1")])), None)
    answer = {"items": [_item(orderNumber="100", sku="SA"),
                        _item(orderNumber="200", sku="SB", orderLineItemID="2-0-1")]}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    looked = asyncio.run(_connector(httpx.MockTransport(handler)).lookup(["HRCODE"]))
    merged = connector.merge(webhook, looked)
    (view,) = merged.views
    assert sorted((ln.sku, int(ln.quantity)) for ln in view.lines) == [("SA", 1), ("SB", 1)]
    assert view.return_ref == "HRCODE"  # the express code it was asked by
    again = connector.from_raw(merged)
    assert [(v.return_ref, v.lines) for v in again.views] == [(view.return_ref, view.lines)]


def test_a_refused_look_up_is_that_reference_unknown_not_the_source_down() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"ErrorMessage": "bad express code"})

    found = asyncio.run(_connector(httpx.MockTransport(handler)).lookup(["BAD"]))
    assert found.views == [] and found.problems == {}


def test_a_label_before_its_return_is_no_problem() -> None:
    label = {"event": "return_label_update", "webhookType": "return.label.update",
             "retailerID": "r", "happyReturnsReturnID": RID, "happyReturnsExpressCode": "HRX"}
    batch = _connector().from_events(
        [InboxEvent(system="happy_returns", delivery_id="l", topic="return.label.update",
                    received_at=datetime(2026, 11, 20, tzinfo=UTC),
                    body=json.dumps(label).encode(), seq=1)], None)
    assert batch.views == [] and batch.problems == {}


def test_a_status_turned_around_by_its_words_is_not_guessed() -> None:
    assert status_of("approved") == "approved" and status_of("dropped_off") == "dropped_off"
    for said in ("not_approved", "approval_rejected", "partially_approved", "drop_failed"):
        assert status_of(said) is None, said

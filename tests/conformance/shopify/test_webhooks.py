"""Shopify's webhooks as the docs describe them (docs/vendors/shopify.md §10, samples §8.5,
§8.6), run through the connector's reading of them (systems/shopify/webhooks.py): how a
delivery is verified and keyed, and what its body names for the next read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from returns_console.connectors.base import InboxEvent
from returns_console.systems.shopify.webhooks import named_by, read_hints, webhook_spec

SECRET = "shpss_test_client_secret"

#: §8.6, verbatim (Yellow.ai's capture of a `returns/request` body; `customer` dropped).
RETURNS_REQUEST = (
    b'{"id":3547267221,"admin_graphql_api_id":"gid://shopify/Return/3547267221",'
    b'"status":"requested","order":{"id":5196695273621,"admin_graphql_api_id":'
    b'"gid://shopify/Order/5196695273621"},"total_return_line_items":1,"name":"#1106-R2",'
    b'"return_line_items":[{"id":6200524949,"admin_graphql_api_id":'
    b'"gid://shopify/ReturnLineItem/6200524949","fulfillment_line_item":{"id":10736341352597,'
    b'"admin_graphql_api_id":"gid://shopify/FulfillmentLineItem/10736341352597","line_item":'
    b'{"id":12695210000533,"admin_graphql_api_id":"gid://shopify/LineItem/12695210000533"}},'
    b'"quantity":1,"return_reason":"unwanted","return_reason_note":"","customer_note":null}]}')
#: §8.5: the known shape of `refunds/create` (REST, snake_case; Shopify's own sample was not
#: retrieved). An order id above 2**53 must stay exact.
REFUND_WITHOUT_RETURN = (
    b'{"id":890088186047892319,"admin_graphql_api_id":"gid://shopify/Refund/890088186047892319",'
    b'"order_id":820982911946154508,"created_at":"2026-11-02T10:00:00-05:00","note":null,'
    b'"restock":true,"refund_line_items":[{"id":1,"line_item_id":2,"quantity":1,'
    b'"restock_type":"return","location_id":3}],"transactions":[{"kind":"refund",'
    b'"status":"success","amount":"10.00","currency":"USD"}],"return":null}')
REFUND_WITH_RETURN = json.dumps({
    "id": 7, "admin_graphql_api_id": "gid://shopify/Refund/7", "order_id": 820982911946154508,
    "return": {"id": 3547267221, "admin_graphql_api_id": "gid://shopify/Return/3547267221"},
}).encode()


def signed(body: bytes, secret: str = SECRET) -> str:
    """§10: "base64-encoded HMAC signature … generated using your app's client secret and
    the raw request body"."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, topic: str, *, secret: str = SECRET,
            delivery: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043") -> dict[str, str]:
    # lower-case names, as the receiver hands them over (HTTP headers are case-insensitive)
    return {"x-shopify-topic": topic, "x-shopify-hmac-sha256": signed(body, secret),
            "x-shopify-webhook-id": delivery, "x-shopify-shop-domain": "example.myshopify.com"}


def event(topic: str, body: bytes) -> InboxEvent:
    return InboxEvent(system="shopify", delivery_id="d", topic=topic,
                      received_at=datetime(2026, 11, 2, tzinfo=UTC), body=body)


def test_a_delivery_signed_with_the_client_secret_is_verified_and_keyed() -> None:
    """§10: verified over the raw body; keyed by X-Shopify-Webhook-Id ("the id stays the
    same on retries"); its topic from X-Shopify-Topic."""
    spec = webhook_spec([SECRET])
    given = headers(RETURNS_REQUEST, "returns/request")
    assert spec.verify(given, RETURNS_REQUEST)
    assert spec.delivery_id(given, RETURNS_REQUEST) == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert spec.topic(given, RETURNS_REQUEST) == "returns/request"
    assert "x-shopify-triggered-at" in spec.keep_headers  # "to determine if … stale"


@pytest.mark.parametrize("tamper", ["body", "secret", "missing", "hex"])
def test_anything_not_signed_with_the_secret_is_refused(tamper: str) -> None:
    spec = webhook_spec([SECRET])
    given = headers(RETURNS_REQUEST, "returns/request")
    body = RETURNS_REQUEST
    if tamper == "body":
        body = RETURNS_REQUEST.replace(b"3547267221", b"3547267222")
    elif tamper == "secret":
        given = headers(RETURNS_REQUEST, "returns/request", secret="another")
    elif tamper == "missing":
        del given["x-shopify-hmac-sha256"]
    else:  # the right digest in the wrong encoding: Shopify sends base64
        given["x-shopify-hmac-sha256"] = hmac.new(SECRET.encode(), body,
                                                  hashlib.sha256).hexdigest()
    assert not spec.verify(given, body)


def test_while_a_rotated_secret_takes_effect_the_previous_one_still_verifies() -> None:
    """§10: "it can take up to an hour for the HMAC digest to be generated using the new
    secret"."""
    spec = webhook_spec(["new-secret", SECRET])
    assert spec.verify(headers(RETURNS_REQUEST, "returns/request"), RETURNS_REQUEST)
    assert spec.verify(headers(RETURNS_REQUEST, "returns/request", secret="new-secret"),
                       RETURNS_REQUEST)
    with pytest.raises(ValueError):
        webhook_spec(["", ""])  # no secret would verify anything: refused


def test_a_return_webhook_names_the_return() -> None:
    """§8.6: the return's `admin_graphql_api_id` (its order is not needed then)."""
    assert named_by("returns/request", json.loads(RETURNS_REQUEST)) == [
        "gid://shopify/Return/3547267221"]


def test_a_refund_names_its_return_else_its_order_exactly() -> None:
    """§8.5: `return` is null or the return; `order_id` a JSON integer beyond 2**53."""
    assert named_by("refunds/create", json.loads(REFUND_WITH_RETURN)) == [
        "gid://shopify/Return/3547267221"]
    assert named_by("refunds/create", json.loads(REFUND_WITHOUT_RETURN)) == [
        "gid://shopify/Order/820982911946154508"]


def test_a_disposition_webhook_of_unknown_shape_names_what_it_carries() -> None:
    """§10: the `reverse_fulfillment_orders/dispose` payload is not documented: its own
    object (asked of Shopify for its order), or an order or return it names."""
    rfo = {"id": 42, "admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrder/42"}
    assert named_by("reverse_fulfillment_orders/dispose", rfo) == [
        "gid://shopify/ReverseFulfillmentOrder/42"]
    assert named_by("reverse_fulfillment_orders/dispose", {**rfo, "order_id": 9}) == [
        "gid://shopify/Order/9"]
    assert named_by("reverse_fulfillment_orders/dispose", {"return": {"id": 5}}) == [
        "gid://shopify/Return/5"]


def test_hints_are_gathered_once_each_and_what_names_nothing_is_counted() -> None:
    hints = read_hints([
        event("returns/request", RETURNS_REQUEST),
        event("returns/approve", RETURNS_REQUEST),  # the same return again
        event("refunds/create", REFUND_WITHOUT_RETURN),
        event("reverse_fulfillment_orders/dispose",
              b'{"admin_graphql_api_id":"gid://shopify/ReverseFulfillmentOrder/42"}'),
        event("refunds/create", b"not json"),
        event("returns/update", b'{"admin_graphql_api_id":"gid://shopify/Product/1"}'),
        event("orders/create", RETURNS_REQUEST),  # not a topic that hints: ignored
    ])
    assert hints.returns == ["gid://shopify/Return/3547267221"]
    assert hints.orders == ["gid://shopify/Order/820982911946154508"]
    assert hints.others == ["gid://shopify/ReverseFulfillmentOrder/42"]
    assert hints.unreadable == 2


def test_the_reference_samples_of_close_process_and_dispose_name_what_they_can() -> None:
    """§10 (Shopify's webhooks reference, 2026-04): `returns/close` names the return and
    its order by id; `returns/process`'s sample is `{}` (nothing to read: skipped); a
    disposition names only its reverse fulfillment order."""
    close = (b'{"id":123134564567890,"admin_graphql_api_id":"gid://shopify/Return/'
             b'123134564567890","order_id":4783296544821,"status":"closed"}')
    assert named_by("returns/close", json.loads(close)) == [
        "gid://shopify/Return/123134564567890"]
    assert named_by("returns/process", {}) == []
    dispose = {"id": 98765, "admin_graphql_api_id":
               "gid://shopify/ReverseFulfillmentOrder/98765", "dispositions": [],
               "total_dispositions": 0}
    assert named_by("reverse_fulfillment_orders/dispose", dispose) == [
        "gid://shopify/ReverseFulfillmentOrder/98765"]
    hints = read_hints([event("returns/process", b"{}")])
    assert not hints and hints.unreadable == 1


def test_a_label_webhook_names_its_return() -> None:
    """§10: `reverse_deliveries/attach_deliverable` (a label or tracking: the parcel may
    set off) carries `admin_graphql_api_id`, `id`, `return`, `shipping_deliverable`."""
    body = {"id": 7, "admin_graphql_api_id": "gid://shopify/ReverseDelivery/7",
            "return": {"id": 5, "admin_graphql_api_id": "gid://shopify/Return/5"},
            "shipping_deliverable": {}}
    hints = read_hints([event("reverse_deliveries/attach_deliverable",
                              json.dumps(body).encode())])
    assert hints.returns == ["gid://shopify/Return/5"]


def test_a_body_that_cannot_be_read_or_names_no_shopify_id_is_skipped_not_an_error() -> None:
    """Whatever a signed delivery holds, the read goes on: a body nested beyond what a
    parser follows, or an id no 64-bit integer holds, names nothing."""
    deep = b"[" * 100_000 + b"]" * 100_000
    huge = json.dumps({"admin_graphql_api_id": "gid://shopify/Return/99999999999999999999",
                       "id": 2**64, "order_id": 2**63}).encode()
    hints = read_hints([event("returns/update", deep), event("returns/update", huge)])
    assert not hints and hints.unreadable == 2

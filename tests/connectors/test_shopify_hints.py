"""Shopify's webhooks as hints for the incremental read (docs/vendors/shopify.md §2.2,
§10): whether a change to a return moves its order's `updatedAt` is not documented, so a
store where it does not (the simulator's `bumps_order=False`) is one where only the
webhooks tell. The deliveries the simulator signs are verified and keyed by the
connector's own WebhookSpec, as `listen` would keep them, and handed to the read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from returns_console.connectors.base import HintSource, InboxEvent
from returns_console.connectors.http import RetryPolicy
from returns_console.domain.codes import Stage
from returns_console.systems.shopify import simulator
from returns_console.systems.shopify.connector import ShopifyConnector, ShopifySettings

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


@pytest.fixture(scope="module")
def snapshot() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def connector(sim: simulator.ShopifySimulator) -> ShopifyConnector:
    return ShopifyConnector(
        ShopifySettings(base_url="http://shop.sandbox", access_token=sim.token,
                        history_days=400, overlap_minutes=0,
                        webhook_secrets=lambda: [sim.webhook_secret]),
        transport=httpx.ASGITransport(app=sim.app()), retry=ONCE)


def kept(sim: simulator.ShopifySimulator, shopify: ShopifyConnector) -> list[InboxEvent]:
    """The simulator's deliveries as the inbox keeps them: verified, keyed, typed."""
    spec = shopify.webhook()
    out = []
    for n, delivery in enumerate(sim.deliveries()):
        given = {k.lower(): v for k, v in delivery.headers.items()}
        assert spec.verify(given, delivery.body)
        out.append(InboxEvent(system="shopify", delivery_id=spec.delivery_id(given,
                                                                            delivery.body),
                              topic=spec.topic(given, delivery.body),
                              received_at=datetime.now(UTC), body=delivery.body, seq=n + 1))
    return out


def waiting(sim: simulator.ShopifySimulator) -> dict:
    """A return of the fixture approved and not yet received."""
    return next(r for r in sim.store.returns.values() if r["status"] == "OPEN"
                and not any(line["dispositions"] for rfo in r["reverseFulfillmentOrders"]
                            for line in rfo["lineItems"]))


async def test_a_change_that_moves_no_order_is_read_again_only_through_its_webhook(
        snapshot: dict) -> None:
    sim = simulator.build(snapshot, restore_rate=1e9, bumps_order=False)
    shopify = connector(sim)
    assert isinstance(shopify, HintSource)
    first = await shopify.fetch_returns()
    since = datetime.fromisoformat(first.cursor)
    ret = waiting(sim)
    sim.store.dispose(ret, "RESTOCKED", since + timedelta(minutes=5), "Main warehouse")
    blind = await shopify.fetch_returns(updated_since=since)
    hinted = await shopify.fetch_returns(updated_since=since, hints=kept(sim, shopify))
    await shopify.aclose()
    assert ret["name"] not in {v.return_ref for v in blind.views}
    [view] = [v for v in hinted.views if v.return_ref == ret["name"]]
    assert view.stage(Stage.RECEIVED).status.value == "done"
    # the disposition's webhook names only its reverse fulfillment order (its payload is
    # not documented): Shopify was asked for that order's returns
    topics = [topic for topic, _ in sim.store.sent or ()]
    assert topics == ["reverse_fulfillment_orders/dispose"]


async def test_each_kind_of_webhook_finds_its_return(snapshot: dict) -> None:
    """returns/* name the return, refunds/create its return (or order), a disposition its
    reverse fulfillment order; a full read takes no hints (it reads everything)."""
    sim = simulator.build(snapshot, restore_rate=1e9, bumps_order=False)
    shopify = connector(sim)
    first = await shopify.fetch_returns()
    since = datetime.fromisoformat(first.cursor)
    at = since + timedelta(minutes=5)
    order = sim.store.orders[0]
    requested = sim.store.request_return(order, f"{order['name']}-R9", at,
                                         [(0, 1, "UNWANTED")])
    sim.store.approve(requested, at)
    disposed = waiting(sim)
    sim.store.dispose(disposed, "NOT_RESTOCKED", at, "Main warehouse")
    hints = kept(sim, shopify)
    again = await shopify.fetch_returns(updated_since=since, hints=hints)
    views = {v.return_ref: v for v in again.views}
    assert {requested["name"], disposed["name"]} <= set(views)
    assert views[requested["name"]].stage(Stage.AUTHORISED).status.value == "done"
    full = await shopify.fetch_returns(hints=hints)
    await shopify.aclose()
    assert len(full.views) == len(first.views) + 1  # the new one, found by its order


async def test_a_hint_shopify_no_longer_knows_is_nothing_to_read(snapshot: dict) -> None:
    sim = simulator.build(snapshot, restore_rate=1e9)
    shopify = connector(sim)
    first = await shopify.fetch_returns()
    since = datetime.fromisoformat(first.cursor)
    gone = [InboxEvent(system="shopify", delivery_id=str(n), topic=topic,
                       received_at=datetime.now(UTC), body=json.dumps(body).encode())
            for n, (topic, body) in enumerate([
                ("returns/close", {"admin_graphql_api_id": "gid://shopify/Return/1"}),
                ("refunds/create", {"order_id": 1}),
                ("reverse_fulfillment_orders/dispose",
                 {"admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrder/1"})])]
    again = await shopify.fetch_returns(updated_since=since, hints=gone)
    await shopify.aclose()
    assert again.views == [] and again.problems == {}


async def test_a_refund_named_alone_is_followed_to_its_return(snapshot: dict) -> None:
    """A `refunds/create` body that names only the refund (no `return`, no `order_id`):
    Shopify is asked for the refund's return (`hinted_orders`)."""
    sim = simulator.build(snapshot, restore_rate=1e9, bumps_order=False)
    shopify = connector(sim)
    first = await shopify.fetch_returns()
    since = datetime.fromisoformat(first.cursor)
    ret = next(r for r in sim.store.returns.values() if r["refunds"])
    refund = ret["refunds"][0]["id"]
    body = json.dumps({"admin_graphql_api_id": refund}).encode()
    hint = InboxEvent(system="shopify", delivery_id="r-1", topic="refunds/create",
                      received_at=datetime.now(UTC), body=body)
    again = await shopify.fetch_returns(updated_since=since, hints=[hint])
    await shopify.aclose()
    assert [v.return_ref for v in again.views] == [ret["name"]]


async def test_the_hints_window_is_kept_on_our_own_clock(tmp_path) -> None:
    """Deliveries are stamped by our clock when received: an incremental read takes those
    received since the previous read began (less two minutes), whatever the cursor (the
    platform's clock) says."""
    from returns_console.services.platform_read import HINTS_OVERLAP, hinted_fetch
    from returns_console.store.inbox import Inbox

    read_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    for n, minutes in enumerate((-10, -1, 5)):
        inbox.receive(InboxEvent(system="shopify", delivery_id=str(n), topic="returns/close",
                                 received_at=read_at + timedelta(minutes=minutes), body=b"{}"))

    class Seen:
        system = "shopify"

        def __init__(self) -> None:
            self.hints: list[InboxEvent] = []

        def webhook(self):  # pragma: no cover - the protocol's, not used here
            raise NotImplementedError

        async def fetch_returns(self, *, updated_since=None, hints=()):
            self.hints = list(hints)

    seen = Seen()
    fetch = hinted_fetch(seen, "shopify", inbox, read_at)
    # the platform's cursor an hour behind our clock: the window is still ours
    await fetch(updated_since=read_at - timedelta(hours=1))
    assert [e.delivery_id for e in seen.hints] == ["1", "2"]
    assert timedelta(minutes=2) == HINTS_OVERLAP
    await fetch(updated_since=read_at + timedelta(hours=1))  # a cursor ahead: the same
    assert [e.delivery_id for e in seen.hints] == ["1", "2"]


async def test_a_full_read_lets_go_of_the_hints_it_covered(tmp_path) -> None:
    """Webhook deliveries are hints: once a full read has begun, those received more than
    a day before it named nothing a later read needs, so the inbox does not grow for ever
    (a system whose deliveries are its state is never pruned: only hints are)."""
    from returns_console.services.platform_read import HINTS_KEPT, hinted_fetch
    from returns_console.store.inbox import Inbox

    now = datetime.now(UTC)
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    for n, age in enumerate((HINTS_KEPT * 3, HINTS_KEPT + timedelta(hours=1),
                             timedelta(hours=1))):
        inbox.receive(InboxEvent(system="shopify", delivery_id=str(n), topic="returns/close",
                                 received_at=now - age, body=b"{}"))
    inbox.receive(InboxEvent(system="happy_returns", delivery_id="old", topic="return.asn",
                             received_at=now - HINTS_KEPT * 3, body=b"{}"))

    class Full:
        system = "shopify"

        def webhook(self):  # pragma: no cover - the protocol's, not used here
            raise NotImplementedError

        async def fetch_returns(self, *, updated_since=None, hints=()):
            return None

    await hinted_fetch(Full(), "shopify", inbox, None)()
    assert [e.delivery_id for e in inbox.events("shopify")] == ["2"]
    assert inbox.count("happy_returns") == 1  # not this read's: untouched


async def test_a_reader_older_than_what_was_let_go_reads_everything_again(tmp_path) -> None:
    """Readers share the inbox (the record index, a console, another profile): after one's
    full read let go of old hints, another whose last read began before them must not read
    only what changed (it would miss what those hints named): it reads it all."""
    import pytest

    from returns_console.connectors.base import ReadAgain
    from returns_console.services.platform_read import HINTS_KEPT, hinted_fetch
    from returns_console.store.inbox import Inbox

    now = datetime.now(UTC)
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    for n, age in enumerate((HINTS_KEPT * 4, HINTS_KEPT * 3)):
        inbox.receive(InboxEvent(system="shopify", delivery_id=str(n), topic="returns/close",
                                 received_at=now - age, body=b"{}"))

    class Reader:
        system = "shopify"

        def webhook(self):  # pragma: no cover - the protocol's, not used here
            raise NotImplementedError

        async def fetch_returns(self, *, updated_since=None, hints=()):
            return None

    await hinted_fetch(Reader(), "shopify", inbox, None)()  # a full read: lets go
    assert [e.delivery_id for e in inbox.events("shopify")] == ["1"]  # the newest stays
    assert inbox.forgotten_before("shopify") is not None
    stale = hinted_fetch(Reader(), "shopify", inbox, now - HINTS_KEPT * 5)
    with pytest.raises(ReadAgain):
        await stale(updated_since=now - HINTS_KEPT * 5)
    fresh = hinted_fetch(Reader(), "shopify", inbox, now - timedelta(minutes=5))
    await fresh(updated_since=now - timedelta(minutes=5))  # recent enough: what changed

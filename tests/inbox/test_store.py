"""The inbox store: once per delivery id, arrival order, freshness, the size cap, bytes kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from returns_console.connectors.base import InboxEvent
from returns_console.store.inbox import MAX_BODY, BodyTooLarge, Inbox

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def event(delivery_id: str, *, system: str = "alpha", topic: str = "thing.happened",
          body: bytes = b"{}", at: datetime = T0,
          headers: dict[str, str] | None = None) -> InboxEvent:
    return InboxEvent(system=system, delivery_id=delivery_id, topic=topic, received_at=at,
                      body=body, headers=headers or {})


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return Inbox(tmp_path / "inbox.sqlite3")


def test_a_delivery_is_stored_once_however_often_it_comes(inbox: Inbox) -> None:
    assert inbox.receive(event("d-1", body=b"first"))
    assert not inbox.receive(event("d-1", body=b"first"))
    # a retry that differs (a later stamp, even another body) still changes nothing
    assert not inbox.receive(event("d-1", body=b"second", at=T0 + timedelta(days=1)))
    [kept] = inbox.events("alpha")
    assert (kept.body, kept.received_at, inbox.count("alpha")) == (b"first", T0, 1)
    assert inbox.last_received("alpha") == T0


def test_delivery_ids_are_per_system(inbox: Inbox) -> None:
    assert inbox.receive(event("d-1", system="alpha"))
    assert inbox.receive(event("d-1", system="beta"))
    assert (inbox.count("alpha"), inbox.count("beta"), inbox.count("gamma")) == (1, 1, 0)


def test_events_come_in_arrival_order_with_their_sequence(inbox: Inbox) -> None:
    ids = ["z", "a", "m", "b", "y"]
    for n, delivery_id in enumerate(ids):
        # stamps deliberately out of order: arrival is what counts, not the clock
        inbox.receive(event(delivery_id, at=T0 - timedelta(minutes=n)))
        inbox.receive(event(f"other-{n}", system="beta"))
    read = inbox.events("alpha")
    assert [e.delivery_id for e in read] == ids
    assert all(isinstance(e.seq, int) for e in read)
    seqs = [e.seq or 0 for e in read]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(ids)
    assert read[2].seq is not None
    assert [e.delivery_id for e in inbox.events("alpha", since_seq=read[2].seq)] == ["b", "y"]
    assert [e.delivery_id for e in inbox.events("alpha", limit=2)] == ["z", "a"]
    assert inbox.events("alpha", since_seq=seqs[-1]) == []


def test_last_received_is_the_latest_arrival_and_none_before_any(inbox: Inbox) -> None:
    assert inbox.last_received("alpha") is None
    later = datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=2)))  # 10:00 UTC
    inbox.receive(event("a", at=later))
    inbox.receive(event("b", at=T0))
    latest = inbox.last_received("alpha")
    assert latest == later
    assert latest is not None and latest.tzinfo is not None


def test_bodies_are_kept_byte_exact(inbox: Inbox) -> None:
    hostile = (b'{"note": "\x1b]0;owned\x07\r\x1b[2J\xc2\x9b31m", "nul": "\x00", '
               b'"escaped": "\\u001b[2J"}\xff\xfe not even utf-8')
    inbox.receive(event("h", body=hostile, headers={"x-kept": "v"}))
    [kept] = inbox.events("alpha")
    assert kept.body == hostile
    assert dict(kept.headers) == {"x-kept": "v"}


def test_a_body_over_the_cap_is_refused_whole(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    with pytest.raises(BodyTooLarge):
        inbox.receive(event("big", body=b"x" * (MAX_BODY + 1)))
    assert inbox.count("alpha") == 0
    assert inbox.receive(event("at-cap", body=b"x" * MAX_BODY))
    assert len(inbox.events("alpha")[0].body) == MAX_BODY
    small = Inbox(tmp_path / "small.sqlite3", max_body=10)
    with pytest.raises(BodyTooLarge):
        small.receive(event("eleven", body=b"x" * 11))


def test_an_event_without_a_delivery_id_or_a_zone_is_refused(inbox: Inbox) -> None:
    with pytest.raises(ValueError, match="delivery id"):
        inbox.receive(event(""))
    with pytest.raises(ValueError, match="time zone"):
        inbox.receive(event("d", at=datetime(2026, 3, 2)))
    assert inbox.count("alpha") == 0


def test_the_file_is_in_wal_mode_and_opening_it_again_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "inbox.sqlite3"
    Inbox(path).receive(event("d"))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert Inbox(path).count("alpha") == 1


def test_an_event_repr_holds_no_body_or_headers() -> None:
    shown = repr(event("d", body=b"customer@example.com", headers={"x-h": "secret-ish"}))
    assert "customer@example.com" not in shown and "secret-ish" not in shown
    assert "alpha" in shown and "20 bytes" in shown


def test_received_since_gives_what_arrived_from_a_moment_on_in_arrival_order(
        inbox: Inbox) -> None:
    """A listed system's hints: the deliveries received since its last read, by our clock
    (any zone given, compared in UTC), limited on request, other systems left out."""
    for n, delivery_id in enumerate(["early", "on-time", "late", "later"]):
        inbox.receive(event(delivery_id, at=T0 + timedelta(minutes=n)))
    inbox.receive(event("elsewhere", system="beta", at=T0 + timedelta(hours=1)))
    paris = timezone(timedelta(hours=1))
    since = (T0 + timedelta(minutes=1)).astimezone(paris)
    assert [e.delivery_id for e in inbox.received_since("alpha", since)] == [
        "on-time", "late", "later"]
    assert [e.delivery_id for e in inbox.received_since("alpha", since, limit=2)] == [
        "on-time", "late"]
    assert inbox.received_since("alpha", T0 + timedelta(days=1)) == []

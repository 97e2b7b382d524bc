"""Which return a stock rise in Khaos belongs to (docs/khaos-mapping.md, "received"): the
rise goes to the waiting return of its item whose goods the platform saw the usual delay
before it, learnt per kind of word from the data; a return the platform saw far from any
rise keeps waiting (its receipt is missing), whatever order Khaos took them in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from returns_console.connectors.base import InboxEvent
from returns_console.domain.codes import Stage, StageStatus
from returns_console.systems.khaos import fold
from returns_console.systems.khaos.options import KhaosOptions

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
OPTIONS = KhaosOptions(urn="WEB")


def _events(returns: dict[str, tuple[str, datetime | None]],
            rises: list[tuple[datetime, int]]) -> list[InboxEvent]:
    """Every return of item MUG1 (qty 1) served at T0, with what the platform said of its
    goods; then MUG1's level, from 100, rising by each amount at each time."""
    offers = [{"ref": r, "order_ref": "#1", "created": T0.isoformat(), "process": False,
               "lines": [{"sku": "MUG1", "code": "MUG1", "quantity": "1", "reason": "6"}]}
              for r in returns]
    said = {r: (kind, at) for r, (kind, at) in returns.items() if at is not None}
    out = [InboxEvent(system="khaos", delivery_id="s", topic=fold.SERVED, received_at=T0,
                      body=fold.served_record(T0, offers, [], "", "c", {}, said))]
    level = 100
    for n, (at, rise) in enumerate([(T0, 0), *rises]):
        level += rise
        body = {"Statuses": [{"StockCode": "MUG1", "StockID": "5", "SiteID": 1,
                              "Levels": {"Available": level}}]}
        out.append(InboxEvent(system="khaos", delivery_id=f"l{n}", topic="StockStatusUpload",
                              received_at=at, body=json.dumps(body).encode()))
    return out


def _received(batch, ref: str) -> StageStatus:
    return batch.views[ref].stage(Stage.RECEIVED).status


def test_a_rise_goes_to_the_return_whose_goods_came_back_before_it() -> None:
    """A (taken first) never comes back; B and C do, an hour before each rise. FIFO would
    give B's rise to A: the platform's times say otherwise."""
    day = timedelta(days=1)
    batch = fold.records(_events(
        {"A": ("received", T0 + 2 * day), "B": ("received", T0 + 5 * day),
         "C": ("received", T0 + 9 * day), "D": ("received", T0 + 12 * day)},
        [(T0 + 5 * day + timedelta(hours=1), 1), (T0 + 9 * day + timedelta(hours=1), 1),
         (T0 + 12 * day + timedelta(hours=1), 1)]), OPTIONS)
    assert _received(batch, "A") is StageStatus.NOT_STARTED
    assert [_received(batch, r) for r in "BCD"] == [StageStatus.DONE] * 3
    assert batch.views["B"].stage(Stage.RECEIVED).at == T0 + 5 * day + timedelta(hours=1)


def test_no_rise_a_day_before_the_goods_are_due() -> None:
    """B's goods were refunded (a platform that infers receipt from it) a week after this
    rise: the rise is not B's, it is the return the platform said nothing of."""
    day = timedelta(days=1)
    batch = fold.records(_events(
        {"A": ("sent", None), "B": ("refunded", T0 + 9 * day)},
        [(T0 + 2 * day, 1), (T0 + 9 * day - timedelta(hours=2), 1)]), OPTIONS)
    assert batch.views["A"].stage(Stage.RECEIVED).at == T0 + 2 * day
    assert batch.views["B"].stage(Stage.RECEIVED).at == T0 + 9 * day - timedelta(hours=2)


def test_with_receipt_evidence_off_the_stage_is_not_shown() -> None:
    batch = fold.records(_events({"A": ("received", T0)}, [(T0 + timedelta(hours=1), 1)]),
                         KhaosOptions(urn="WEB", receipt_evidence="none"))
    assert _received(batch, "A") is StageStatus.NOT_APPLICABLE

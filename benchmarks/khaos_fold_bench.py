"""Benchmark: reading Khaos Control's side from a long-lived inbox.

    python benchmarks/khaos_fold_bench.py [--pulls 35000]

Khaos calls us, so a check folds every event the inbox holds of it: each answer of the
returns feed (one a pull, every 15 minutes: about 35,000 a year) and each stock level it
pushed. The fold must stay linear in them. Baseline, measured in the same run: `json.loads`
of the same bodies (the least any reading does). Prints the fold's time, the baseline's,
their ratio, and as its last line a JSON object of the figures. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

from returns_console.connectors.base import InboxEvent
from returns_console.systems.khaos import fold
from returns_console.systems.khaos import protocol as wire
from returns_console.systems.khaos.options import KhaosOptions

AT = datetime(2025, 12, 1, tzinfo=UTC)


def inbox(pulls: int) -> list[InboxEvent]:
    """A year-like inbox: a pull every 15 minutes answering a new return every third one,
    Khaos echoing each answer's continuation, and a level pushed after each pull."""
    events: list[InboxEvent] = []
    previous = "2025-12-01 00:00:00Z"
    for n in range(pulls):
        at = AT + timedelta(minutes=15 * n)
        offers = [{"ref": f"R-{n}", "order_ref": f"#{n}", "created": at.isoformat(),
                   "process": False, "lines": [{"sku": "S", "code": f"C{n % 300}",
                                                "quantity": "1", "reason": "R1"}]}
                  ] if n % 3 == 0 else []
        out = f"c{n}"
        events.append(InboxEvent(system="khaos", delivery_id=f"s{n}", topic=fold.SERVED,
                                 received_at=at, seq=len(events) + 1,
                                 body=fold.served_record(at, offers, [], previous, out,
                                                         {}, {})))
        previous = out
        level = {"Statuses": [{"StockCode": f"C{n % 300}", "StockID": str(n % 300),
                               "SiteID": 1, "Levels": {"Available": float(100 + n % 7),
                                                       "OnOrder": 0.0}}]}
        events.append(InboxEvent(system="khaos", delivery_id=f"p{n}",
                                 topic=wire.STOCK_STATUS, received_at=at,
                                 seq=len(events) + 1, body=json.dumps(level).encode()))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=35_000)
    args = parser.parse_args()
    events = inbox(args.pulls)
    start = time.perf_counter()
    for event in events:
        json.loads(event.body)
    loads = time.perf_counter() - start
    options = KhaosOptions(urn="WEB")
    start = time.perf_counter()
    batch = fold.records(events, options, now=AT + timedelta(minutes=15 * args.pulls))
    folded = time.perf_counter() - start
    print(f"events:            {len(events):,} ({args.pulls:,} pulls, {len(batch.views):,} "
          "returns)")
    print(f"json.loads of all: {loads:.2f} s")
    print(f"fold:              {folded:.2f} s = {folded / loads:.1f}x json.loads")
    print(json.dumps({"khaos_fold_s": round(folded, 2), "khaos_fold_to_loads":
                      round(folded / loads, 1), "khaos_events": len(events)}))


if __name__ == "__main__":
    main()

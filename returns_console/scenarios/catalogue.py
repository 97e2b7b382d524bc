"""The demo scenario: healthy returns with every exception code planted among them.

`build_scenario` is deterministic for a given clock, size and seed, and returns both the
canonical snapshot (JSON-ready dict) and the ground truth of what was planted.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..domain.catalogue import shows
from ..domain.snapshot import FORMAT
from ..systems import DEFAULT_PAIR
from .builder import PROGRESS, Shape, build_return, iso
from .plants import CAPABILITIES, PLANTS
from .world import reference_data


@dataclass(slots=True)
class Scenario:
    snapshot: dict
    #: One entry per planted exception: {"return_ref", "code", "delay"}.
    truth: list[dict] = field(default_factory=list)

    @property
    def healthy_refs(self) -> set[str]:
        planted = {t["return_ref"] for t in self.truth}
        return {r["platform"]["return_ref"] for r in self.snapshot["returns"]} - planted


def _healthy_shape(rng: random.Random, now: datetime) -> Shape:
    roll = rng.random()
    if roll < 0.10:  # still with the carrier, well within its grace period
        return Shape(start=now - timedelta(days=rng.uniform(1.5, 6)), progress="in_transit")
    exchange = roll > 0.92
    return Shape(
        start=now - timedelta(days=rng.uniform(4.5, 25)),
        progress="inspected" if exchange else "credited",
        exchange=exchange,
    )


def build_scenario(
    now: datetime,
    returns: int = 90,
    healthy_share: float = 0.7,
    seed: int = 20261121,
    platform: str = DEFAULT_PAIR[0],
    erp: str = DEFAULT_PAIR[1],
    customers: int = 60,
    profile: str = "demo",
    first_index: int = 1,
    capabilities: frozenset[str] = CAPABILITIES,
) -> Scenario:
    """`returns` returns, at least `healthy_share` of them healthy, the rest each carrying
    one planted exception, cycling through every plant the pair's `capabilities` can show
    (27 returns or more plant them all)."""
    rng = random.Random(seed)
    plants = [k for k, plant in enumerate(PLANTS)
              if shows(plant.code, capabilities, plant.needs, plant.hidden_by)]
    healthy = math.ceil(returns * healthy_share)
    plan: list[int | None] = [None] * healthy + [
        plants[k % len(plants)] for k in range(returns - healthy)
    ]
    rng.shuffle(plan)
    cases, truth = [], []
    for i, plant_no in enumerate(plan, start=first_index):
        if plant_no is None:
            case = build_return(i, rng, _healthy_shape(rng, now), customers, platform, erp)
        else:
            plant = PLANTS[plant_no]
            shape = plant.shape(now)
            if "erp_inferred_receipts" in capabilities and not plant.delay:
                # An ERP whose receipts are told apart by when stock moved needs goods that
                # arrive at different times: plants of one shape would all arrive at once
                # (no real warehouse receives that way). Drawn from the index, not `rng`,
                # so the rest of the scenario is the same for every pair.
                shape = replace(shape, start=shape.start - timedelta(minutes=(i * 37) % 600))
            case = build_return(i, rng, shape, customers, platform, erp)
            planted = plant.mutate(case, now)
            if planted is not None:
                cases.append(case)
                case = planted
            truth.append({"return_ref": case["platform"]["return_ref"],
                          "code": plant.code.value, "delay": plant.delay})
        cases.append(case)
    snapshot = {
        "format": FORMAT,
        "profile": profile,
        "as_of": iso(now),
        "platform": {"system": platform, "fetched_at": iso(now)},
        "erp": {"system": erp, "fetched_at": iso(now)},
        **reference_data(customers, now),
        "returns": cases,
    }
    return Scenario(snapshot=snapshot, truth=truth)


__all__ = ["PROGRESS", "Scenario", "build_scenario"]

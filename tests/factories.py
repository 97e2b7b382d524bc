"""Test factories: a healthy return as canonical JSON, to bend in one place per test.

    case = healthy()                      # dict, both sides agree, fully credited
    case["erp"]["credit_notes"] = []      # bend it
    findings = run(case)                  # reconcile at NOW with the demo world
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

from returns_console.domain.codes import Code
from returns_console.domain.findings import Finding
from returns_console.domain.model import ReturnCase, parse_cases
from returns_console.domain.reconcile import reconcile_case
from returns_console.domain.reference import ErpMaster, Mappings, Policy
from returns_console.domain.view import Context
from returns_console.scenarios.builder import Shape, build_return
from returns_console.scenarios.world import reference_data

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
_REFERENCE = reference_data(customers=60, now=NOW)


def reference() -> dict:
    """A fresh copy of the demo world's mappings, ERP master data and policy (JSON)."""
    return copy.deepcopy(_REFERENCE)


def healthy(
    days_ago: float = 8,
    progress: str = "credited",
    exchange: bool = False,
    seed: int = 1,
    i: int = 1,
    single_line: bool = True,
) -> dict:
    """A healthy return as canonical JSON, started `days_ago` before NOW."""
    rng = random.Random(seed)
    case = build_return(
        i, rng, Shape(start=NOW - timedelta(days=days_ago), progress=progress, exchange=exchange),
        customers=60,
    )
    if single_line:
        for side in ("platform", "erp"):
            del case[side]["lines"][1:]
    return case


def context(ref: dict | None = None, now: datetime = NOW, **policy: object) -> Context:
    ref = ref or reference()
    return Context(
        mappings=Mappings.model_validate(ref["mappings"]),
        master=ErpMaster.model_validate(ref["erp_master"]),
        policy=Policy.model_validate({**ref["policy"], **policy}),
        now=now,
    )


def parse(case: dict) -> ReturnCase:
    return parse_cases([case])[0]


def run(case: dict, ctx: Context | None = None) -> list[Finding]:
    """Every finding (errors and delays) for one return."""
    return reconcile_case(parse(case), ctx or context())


def codes(case: dict, ctx: Context | None = None, *, delays: bool = False) -> set[Code]:
    """The codes found on one return: errors only, or delays only with delays=True."""
    return {f.code for f in run(case, ctx) if f.delay is delays}

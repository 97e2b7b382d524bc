"""Khaos Control conformance: the channel protocol as docs/vendors/khaos-control.md
documents it (the EndpointConfig, HTTP Basic, the pushes' documented samples, the customer
return feed's shape, `SpecificIDs`, `Sirion-Continuation`, nulls), run through the
connector's own channel routes in process.

Each case in cases/*.json gives the platform's returns (`platform`: canonical views), the
profile options, optionally the mapping tables, and the calls Khaos makes (`calls`: method,
object, headers, body, at), answered in order by the connector's routes (what a route keeps
is kept, as `listen` keeps it). Expectations address `answers` (status, headers, parsed
body) and, from everything kept, Khaos's side (`views` by AssociatedRef, `master`, `gaps`,
`notices`). See tests/conformance/checker.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, TypeAdapter

from returns_console.connectors.base import (
    ChannelContext,
    ChannelRequest,
    InboxEvent,
    PlatformBatch,
)
from returns_console.domain.model import PlatformView
from returns_console.domain.reference import Mappings
from returns_console.systems.khaos import protocol as wire
from returns_console.systems.khaos.connector import KhaosConnector
from returns_console.systems.khaos.options import KhaosOptions
from tests.conformance.checker import check, check_citation, load_cases

CASES = load_cases(Path(__file__).parent / "cases")
USER, PASSWORD = "khaos", "control"  # §9 S2's own example
#: The configuration by its file name; every other object by the suffix it is served at.
ROUTE = {"config": "config.json"}


def run(case: dict) -> dict[str, Any]:
    # the cases' returns were approved before Khaos's first pull: offered (backfill)
    options = KhaosOptions(**{"urn": "WEBRETURNS", "backfill_days": 30,
                              **case.get("options", {})})
    connector = KhaosConnector(base_url="https://console.example", options=options,
                               credentials=lambda: (SecretStr(USER), SecretStr(PASSWORD)))
    views = TypeAdapter(list[PlatformView]).validate_python(case.get("platform", []))
    kept: list[InboxEvent] = []
    mappings = Mappings.model_validate(case.get("mappings", {}))

    async def returns() -> PlatformBatch:
        return PlatformBatch(views=views)

    routes = {(r.method, r.suffix): r for r in connector.channel(ChannelContext(
        returns=returns, history=lambda: list(kept), mappings=lambda: mappings))}
    answers = []
    for call in case["calls"]:
        headers = {k.lower(): v for k, v in call.get("headers", {}).items()}
        if call.get("auth", True):
            headers.setdefault("authorization", wire.basic_header(USER, PASSWORD))
        body = call.get("body", b"")
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode() \
            if body != b"" else b""
        route = routes[(call.get("method", "GET"), ROUTE.get(call["object"], call["object"]))]
        request = ChannelRequest(method=route.method, headers=headers, query={}, body=raw,
                                 received_at=datetime.fromisoformat(call["at"]))
        answer = asyncio.run(route.handle(request))
        kept.extend(answer.keep)
        text = answer.body.decode()
        try:
            parsed: Any = json.loads(text)
        except json.JSONDecodeError:
            parsed = wire.read_body(answer.body) if text.lstrip().startswith("<") else text
        answers.append({"status": answer.status, "headers": answer.headers, "body": parsed,
                        "kept": len(answer.keep)})
    batch = connector.records_from_events(kept)
    return {"answers": answers, "views": batch.views, "master": batch.master,
            "gaps": batch.gaps, "notices": batch.notices, "unseen": batch.unseen,
            "kept": len(kept)}


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
def test_khaos_case(case: dict) -> None:
    check_citation(case)
    failures = check(run(case), case["expect"], "base")
    assert not failures, "\n".join(failures)

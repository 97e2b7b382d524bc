"""The made-up pushing platform of fake_source.py as a whole registered system: it pushes
parcel events to our inbox and can be asked for one ticket at a time (no list endpoint,
two requests a second). Registered for a test with `registered()`, so the services read it
exactly as they would read a real system of that shape."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from returns_console import systems
from returns_console.connectors.auth import ApiKeyHeader
from returns_console.connectors.base import PlatformBatch
from returns_console.connectors.connection import Connection
from returns_console.connectors.errors import NotFoundError
from returns_console.connectors.http import HttpClient
from returns_console.domain.codes import Side, Stage, StageStatus
from returns_console.sandbox.hosted import Delivery
from returns_console.systems.spec import Capabilities, ReadShape, SystemSpec

from .fake_source import SECRET, SYSTEM, TOPIC_KEY, FakeSource, delivery, platform_view

API_KEY = "fake-key-1234"
KEY_HEADER = "x-fake-key"
RATE = 2.0

SPEC = SystemSpec(
    id=SYSTEM, name="Fake Push", side=Side.PLATFORM, summary="test-only pushing platform",
    secrets=("api_key", "webhook_secret"),
    capabilities=Capabilities(reads=(ReadShape.EVENTS, ReadShape.LOOKUP),
                              stages=frozenset({Stage.IN_TRANSIT, Stage.RECEIVED}),
                              rate_per_second=RATE, burst=1, concurrency=1),
    connector=f"{__name__}:open_connector", simulator=f"{__name__}:build")


@contextmanager
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[SystemSpec]:
    known = systems._specs()
    monkeypatch.setattr(systems, "_specs", lambda: {**known, SYSTEM: SPEC})
    yield SPEC


class FakeSystem(FakeSource):
    """EventSource (from fake_source) and LookupPlatform over HTTP."""

    def __init__(self, c: Connection) -> None:
        super().__init__(c.secret("webhook_secret").get_secret_value())
        self.http = HttpClient(SYSTEM, c.base_url,
                               auth=ApiKeyHeader(KEY_HEADER, c.secret("api_key")),
                               concurrency=1, retry=c.retry, log=c.log,
                               transport=c.transport, pacer=c.pacer)  # type: ignore[arg-type]
        self.looked_up: list[str] = []

    async def lookup(self, refs: Sequence[str]) -> PlatformBatch:
        batch = PlatformBatch()
        for ref in refs:
            self.looked_up.append(ref)
            try:
                data = await self.http.get_json(f"/tickets/{ref}")
            except NotFoundError:
                continue
            batch.views.append(_view(data))
            batch.raw[ref] = [{**data, TOPIC_KEY: "parcel.seen"}]
        return batch

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        views = {v.return_ref: v for v in earlier.views}
        views.update((v.return_ref, v) for v in changed.views)
        return PlatformBatch(views=sorted(views.values(), key=lambda v: v.return_ref),
                             problems={**earlier.problems, **changed.problems},
                             raw={**earlier.raw, **changed.raw},
                             fetched_at=changed.fetched_at or earlier.fetched_at,
                             cursor=earlier.cursor)

    async def check_connection(self) -> str:
        return "reachable"

    async def aclose(self) -> None:
        await self.http.aclose()


def _view(data: dict[str, Any]) -> Any:
    stages = {Stage.IN_TRANSIT: {"status": StageStatus.DONE,
                                 "at": datetime.fromisoformat(data["at"])}}
    return platform_view(system=SYSTEM, return_ref=data["ticket"], order_ref=data.get("sale"),
                         raw_ref=data["ticket"], stages=stages)


def open_connector(c: Connection) -> FakeSystem:
    return FakeSystem(c)


def lookup_app(tickets: dict[str, dict[str, Any]]) -> Starlette:
    """The platform's look-up endpoint: one ticket by reference, 404 for others."""
    served: list[str] = []

    async def ticket(request: Request) -> JSONResponse:
        if request.headers.get(KEY_HEADER) != API_KEY:
            return JSONResponse({"error": "no"}, status_code=401)
        ref = request.path_params["ref"]
        served.append(ref)
        if ref not in tickets:
            return JSONResponse({"error": "unknown ticket"}, status_code=404)
        return JSONResponse(tickets[ref])

    app = Starlette(routes=[Route("/tickets/{ref}", ticket)])
    app.state.served = served
    return app


def secrets(system: str, name: str) -> str | None:
    return {"api_key": API_KEY, "webhook_secret": SECRET}.get(name)


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


class FakeHosted:
    """The sandbox's simulator of the fake system: every return of the scenario pushed as a
    "parcel.seen" (and a "parcel.graded" once received), signed with the demo secret, and
    each ticket served for look-ups."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.requests = 0
        self.tickets: dict[str, dict[str, Any]] = {}
        self._sent: list[Delivery] = []
        for case in snapshot["returns"]:
            self._add(case["platform"])

    def _add(self, platform: dict[str, Any]) -> None:
        ref = platform["return_ref"]
        stages = platform.get("stages", {})
        seen = (stages.get("in_transit") or {}).get("at") or platform.get("created_at")
        ticket = {"ticket": ref, "sale": platform.get("order_ref"), "at": str(seen)}
        self.tickets[ref] = ticket
        self._push(f"{ref}-seen", "parcel.seen", ticket)
        received = stages.get("received") or {}
        if received.get("status") == "done":
            self._push(f"{ref}-graded", "parcel.graded",
                       {"ticket": ref, "at": str(received["at"]), "grade": "A"})

    def _push(self, delivery_id: str, topic: str, payload: dict[str, Any]) -> None:
        body, headers = delivery(delivery_id, topic, payload)
        self._sent.append(Delivery(headers=headers, body=body))

    def deliveries(self, since: int = 0) -> list[Delivery]:
        return self._sent[since:]

    def app(self) -> Starlette:
        app = lookup_app(self.tickets)

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests += 1
            await app(scope, receive, send)

        return counted  # type: ignore[return-value]

    def settings(self, base_url: str) -> dict[str, Any]:
        return {}

    def touch(self, refs: set[str], at: datetime) -> None:
        for ref in sorted(refs & set(self.tickets)):
            self._push(f"{ref}-seen-{at.isoformat()}", "parcel.seen",
                       {**self.tickets[ref], "at": at.isoformat()})

    def expire_sessions(self) -> None:
        return None

    def native_code(self, kind: str, code: str) -> str:
        return code

    def credentials(self) -> dict[str, str]:
        return {"api_key": API_KEY, "webhook_secret": SECRET}

    def native(self) -> Any:
        return {"tickets": self.tickets}


def build(snapshot: dict[str, Any], *, faults: Any = None, **knobs: Any) -> FakeHosted:
    return FakeHosted(snapshot)

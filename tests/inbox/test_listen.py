"""`listen` for a profile whose platform pushes: the receiver serves that system's hook with
the signing secret from the profile's secrets, and keeps each delivery once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from returns_console.config import Profile, SystemSettings
from returns_console.services.listen import listen_app, pushing_systems
from returns_console.store.inbox import Inbox

from .fake_source import SYSTEM, delivery
from .fake_system import registered, secrets

AT = datetime(2026, 3, 1, tzinfo=UTC)


def profile() -> Profile:
    return Profile(name="pushed",
                   platform=SystemSettings(system=SYSTEM, base_url="https://fake.test"),
                   erp=SystemSettings(system="d365_bc", base_url="https://bc.test",
                                      options={"tenant": "t", "client_id": "c"}))


async def test_deliveries_reach_the_inbox_once_signed_with_the_profiles_secret(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with registered(monkeypatch):
        inbox = Inbox(tmp_path / "inbox.sqlite3")
        app, paths = await listen_app(profile(), secrets, inbox, clock=lambda: AT)
        assert pushing_systems(profile()) == [SYSTEM]
        assert paths == {SYSTEM: f"/hooks/{SYSTEM}/parcels"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
            body, headers = delivery("e-1", "parcel.seen", {"ticket": "T-1", "at": AT.isoformat()})
            for _ in range(2):  # the sender retrying
                assert (await http.post(paths[SYSTEM], content=body,
                                        headers=headers)).status_code == 200
            forged, signed = delivery("e-2", "parcel.seen", {"ticket": "T-2"}, secret="guess")
            assert (await http.post(paths[SYSTEM], content=forged,
                                    headers=signed)).status_code == 401
        assert inbox.count(SYSTEM) == 1 and inbox.last_received(SYSTEM) == AT

"""What the console tests share: the built-in sandbox as a session, at the demo's fixed
clock (so its findings, and what the tests look for, never move)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from returns_console.services.session import DemoSession

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path):
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW)
    yield session
    session.close()

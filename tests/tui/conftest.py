"""What the console tests share: the built-in sandbox as a session, at the demo's fixed
clock (so its findings, and what the tests look for, never move)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual import events
from textual.widgets import Input

from returns_console.services.session import DemoSession

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch):
    """Inputs keep their cursor shown: it blinks every 0.5 s, so on a busy machine a picture
    taken a little later caught it hidden (the same screen, another SVG)."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def demo(tmp_path):
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW)
    yield session
    session.close()


async def paste_text(pilot, text: str) -> None:
    """`text` into the focused input as a terminal delivers pasted text: one event, inserted
    at the cursor as typing inserts it (an Input inserts both with insert_text_at_cursor), but
    without a key event, two idle waits and a redraw per character (about 0.1 s each). For
    text that is only the way to a screen (`:return R-…`); typing key by key stays covered by
    the command bar's and the filter's own tests (test_console)."""
    app = pilot.app
    box = app.focused
    assert isinstance(box, Input), box
    before = box.value
    app._driver.send_message(events.Paste(text))
    await pilot.pause()
    assert box.value == before + text, (before, text, box.value)

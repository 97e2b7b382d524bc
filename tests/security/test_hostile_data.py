"""Issue 11.4 and 11.5: data that attacks the terminal, and bodies that attack the parser.

A customer name or SKU holding `ESC]0;…BEL` retitled the terminal and `ESC[2J` cleared it,
through `check --format table` and in the console. Every string of every record both
simulators serve is poisoned here; nothing the console or the CLI prints may carry a control
character but newline and tab.

A 400 whose body nests 200,000 arrays gave `unexpected error: RecursionError`; now it is a
typed connector error, and a source that fails falls back to its cache.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from returns_console.connectors.errors import ConnectorError
from returns_console.connectors.http import HttpClient, RetryPolicy, decode_json
from returns_console.sandbox.demo import build_sandbox
from returns_console.sandbox.server import BackgroundServer
from returns_console.services.demo import demo_mappings
from returns_console.services.live import fetch_live, live_report
from returns_console.table_output import render_table
from returns_console.visible import visible

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
POISON = "\x1b]0;pwned\x07\x1b[2J\r\x9b31m\x7f"
#: What must never reach a terminal: C0 but newline and tab, DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
#: Keys whose values address records (ids in URLs, the company): poisoned, the API could
#: not be walked at all; everything else a source sends is.
ADDRESSING = {"id", "companyId", "@odata.etag", "@odata.context", "@odata.nextLink"}
ONCE = RetryPolicy(attempts=1, initial=0.0, maximum=0.0, jitter=0.0)


#: Typed values (dates, GUIDs) cannot carry text in a real API; the simulators filter on them.
TYPED = re.compile(r"^(\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?|"
                   r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})$")


def poison(value: Any, key: str = "") -> Any:
    if isinstance(value, str) and key not in ADDRESSING and not TYPED.match(value):
        return value + POISON
    if isinstance(value, dict):
        return {k: poison(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [poison(v, key) for v in value]
    return value


def test_visible_shows_every_control_character_and_keeps_layout() -> None:
    shown = visible("a\x1b[2Jb\x07c\rd\te\nf\x9bg\x7f")
    assert CONTROL.search(shown) is None
    assert shown == "a␛[2Jb␇c␍d\te\nf\\x9bg␡"


def test_a_body_with_escaped_controls_decodes_visible() -> None:
    body = b'{"name": "Al\\u001b]0;x\\u0007", "n": [1.50, "\\r"], "\\u001bk": "\xc2\x9b"}'
    assert decode_json(body) == {"name": "Al␛]0;x␇", "n": [__import__("decimal").Decimal(
        "1.50"), "␍"], "␛k": "\\x9b"}


@pytest.fixture(scope="module")
def poisoned_report():
    sandbox = build_sandbox(NOW)
    sandbox.platform.records = [poison(r) for r in sandbox.platform.records]
    company = sandbox.erp.data
    for name, records in company.sets.items():
        company.sets[name] = [poison(r) for r in records]
    with BackgroundServer(sandbox.app()) as server:
        profile = sandbox.profile(server.url)
        data = asyncio.run(fetch_live(profile, sandbox.secret))
    return live_report(profile, data, demo_mappings(sandbox), now=NOW), data


def test_every_poisoned_field_reaches_the_report_visible_only(poisoned_report) -> None:
    report, data = poisoned_report
    assert report.findings  # the data was read, not refused wholesale
    text = repr(report.to_json()) + repr(data.platform) + repr(data.erp)
    assert "␛]0;pwned␇" in text  # the poison arrived, shown
    assert CONTROL.search(text) is None


def test_check_table_prints_no_control_character(poisoned_report) -> None:
    report, _ = poisoned_report
    out = io.StringIO()
    render_table(report, out)
    printed = out.getvalue()
    assert "pwned" in printed
    assert CONTROL.search(printed) is None


async def test_the_console_renders_no_control_character(poisoned_report) -> None:
    from returns_console.services.session import ReportSession
    from returns_console.tui.app import ReturnsConsole

    report, _ = poisoned_report
    app = ReturnsConsole(ReportSession(lambda: report))
    async with app.run_test(size=(160, 45)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screens = [app.export_screenshot()]
        await pilot.press("enter")  # a return, with its lines, money and timeline
        await pilot.pause()
        screens.append(app.export_screenshot())
    for svg in screens:
        assert CONTROL.search(svg) is None


# -- bodies that attack the parser -----------------------------------------------------------

DEEP = b"[" * 200_000 + b"]" * 200_000


def deep_app() -> Starlette:
    async def deep(request):
        return Response(DEEP, status_code=400, media_type="application/json")
    return Starlette(routes=[Route("/{path:path}", deep, methods=["GET", "POST"])])


async def test_a_deeply_nested_body_is_a_typed_error_not_a_crash() -> None:
    transport = httpx.ASGITransport(app=deep_app())
    async with HttpClient("swap", "http://h.test", transport=transport, retry=ONCE) as http:
        with pytest.raises(ConnectorError):
            await http.get_json("/returns")
    with pytest.raises(ValueError, match="nested too deeply"):
        decode_json(b"[" * 200_000)


def test_a_source_answering_deep_nesting_falls_back_to_its_cache(tmp_path) -> None:
    """Warm the cache from the sandbox, then point the platform at a server that answers
    every call with 200,000 nested arrays: the check says the source is down and uses the
    cached data, stale, instead of `unexpected error: RecursionError`."""
    from returns_console.store.cache import Cache

    sandbox = build_sandbox(NOW)
    cache = Cache(tmp_path / "cache.sqlite3")
    served, deep = sandbox.app(), deep_app()
    hostile = {"on": False}

    async def switch(scope, receive, send):  # the same address, its platform turned hostile
        to = deep if hostile["on"] and scope.get("path", "").startswith("/swap") else served
        await to(scope, receive, send)

    with BackgroundServer(switch) as server:
        profile = sandbox.profile(server.url)
        asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
        hostile["on"] = True
        data = asyncio.run(fetch_live(profile, sandbox.secret, cache=cache))
    report = live_report(profile, data, demo_mappings(sandbox), now=NOW)
    assert report.platform.status == "stale" and report.platform.error
    assert "nested" in report.platform.error or "not JSON" in report.platform.error \
        or "rejected" in report.platform.error
    assert report.findings

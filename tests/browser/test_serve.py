"""`returns-console serve` in a real browser: Debian's chromium, driven by Playwright.

The server runs as a person starts it (a subprocess on a free port, its own home folder);
the page is textual-serve's, whose terminal is xterm.js drawn on a canvas, so the test reads
what the terminal shows through xterm's own buffer API (the page's script is handed to the
browser with one statement added that keeps a reference to its terminal), and every byte
the console sent over the websocket.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed: `pip install -e '.[test]'` brings it")
if not CHROMIUM.exists():
    pytest.skip(f"no chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)",
                allow_module_level=True)

pytestmark = pytest.mark.slow

# In textual-serve 1.1's textual.js, right after the terminal is attached to the page.
TERMINAL_OPENED = "this.terminal.open(e),"
SCREEN_JS = """() => {
  const t = window.__returnsTerminal;
  if (!t) return "";
  const rows = [];
  for (let y = 0; y < t.rows; y++) {
    const line = t.buffer.active.getLine(y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""
CUSTOMER_EMAIL = "@example.com"  # the demo's customers are customerNNNNN@example.com


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tab_consoles(home: Path) -> list[int]:
    """The pids of the consoles (one per browser tab) started by the server of this home."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (b"returns_console.serve" in (proc / "cmdline").read_bytes()
                    and f"RETURNS_CONSOLE_HOME={home}".encode()
                    in (proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
    return found


@contextlib.contextmanager
def serving(home: Path, *args: str) -> Iterator[tuple[str, Path]]:
    """`returns-console serve ARGS` until the block ends, then SIGTERM (as a service manager
    stops it) and wait; yields the URL and the file its output goes to."""
    port = _free_port()
    out = home / "serve.out"
    env = {**os.environ, "RETURNS_CONSOLE_HOME": str(home)}
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "returns_console", "serve", *args, "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(300):  # a bounded wait (up to about 30 s), not a speed check
            assert proc.poll() is None, f"serve exited {proc.returncode}: {out.read_text()}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port),
                                                                        timeout=1):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"serve never listened: {out.read_text()}")
        yield f"http://127.0.0.1:{port}", out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            pytest.fail(f"serve did not stop on SIGTERM within 15 s: {out.read_text()}")


def _route(route) -> None:
    """Nothing leaves this machine (the page asks a font service); textual.js gets one
    statement that keeps its terminal where the test can read it."""
    url = urlsplit(route.request.url)
    if url.hostname != "127.0.0.1":
        route.abort()
    elif url.path.endswith("/textual.js"):
        response = route.fetch()
        script = response.text()
        assert TERMINAL_OPENED in script, "textual-serve's textual.js changed: update the hook"
        route.fulfill(response=response, body=script.replace(
            TERMINAL_OPENED, TERMINAL_OPENED + "window.__returnsTerminal=this.terminal,", 1))
    else:
        route.continue_()


@contextlib.contextmanager
def browser_page() -> Iterator[tuple[object, list[bytes]]]:
    """A chromium page (and every byte the console sends it over the websocket)."""
    sent: list[bytes] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), timeout=15_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(15_000)
            page.route("**/*", _route)
            page.on("websocket", lambda ws: ws.on(
                "framereceived", lambda data: sent.append(data) if isinstance(data, bytes)
                else None))
            yield page, sent
        finally:
            browser.close()


def wait_for(page, text: str, timeout: float) -> str:
    """The terminal's screen once it shows `text`."""
    try:
        page.wait_for_function(f"text => ({SCREEN_JS})().includes(text)", arg=text,
                               timeout=timeout, polling=200)
    except sync_api.TimeoutError:
        pytest.fail(f"{text!r} never showed; the screen:\n{page.evaluate(SCREEN_JS)}")
    return page.evaluate(SCREEN_JS)


def open_first_return(page, url: str) -> tuple[str, str]:
    """Open the page, wait for the queue, press Enter: the queue's and the return's screen."""
    page.goto(url)
    queue = wait_for(page, "open exceptions", 25_000)
    # Keys go to xterm's input element; a click on the terminal would be a mouse click in
    # the console (and move its cursor).
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.press("Enter")
    return queue, wait_for(page, "Stages", 10_000)


def test_serve_demo_in_a_browser_in_presenter_mode(tmp_path: Path) -> None:
    with browser_page() as (page, sent):
        with serving(tmp_path, "--demo") as (url, out):
            queue, opened = open_first_return(page, url)
            assert _tab_consoles(tmp_path), "no console process for the browser tab"
        # The server was stopped with the tab still open: the tab's console ends and the
        # page says so.
        page.wait_for_selector("body.-closed", state="attached", timeout=10_000)
        for _ in range(100):  # a bounded wait (up to about 20 s)
            if not _tab_consoles(tmp_path):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("a tab's console outlived the server")
    output = out.read_text()
    stream = b"".join(sent)

    assert "presenter mode" in queue.splitlines()[1]  # the environment bar says so
    assert re.search(r"^ Return R-\d+ ", opened, re.MULTILINE), opened
    for screen in (queue, opened):
        assert CUSTOMER_EMAIL not in screen, screen
    assert b"Stages" in stream  # the stream is what the screens were drawn from...
    assert CUSTOMER_EMAIL.encode() not in stream  # ...and no customer email was ever sent

    assert f"open {url}" in output and "presenter mode on" in output, output
    assert output.rstrip().endswith("stopped"), output
    assert "Traceback" not in output, output


def test_serve_no_presenter_shows_customer_details(tmp_path: Path) -> None:
    with browser_page() as (page, _), serving(tmp_path, "--demo", "--no-presenter") as (url, out):
        queue, opened = open_first_return(page, url)
    assert "presenter mode" not in queue
    assert CUSTOMER_EMAIL in opened, opened  # so the presenter test above can fail
    assert "presenter mode OFF" in out.read_text()

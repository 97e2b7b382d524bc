"""Issue 11.6: against a server that accepts connections and never answers, `check` took
162 s and `doctor` 319 s, silently. Every command now has one overall deadline (--deadline,
RETURNS_CONSOLE_DEADLINE; 300 s by default), after which the source that hung is named and
counts as down: exit 3 when nothing is cached for it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_live_check import cli


@pytest.fixture
def silent() -> Iterator[str]:
    """A port that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _setup(home: Path, base: str) -> None:
    done = cli("setup", "--profile", "hung", "--platform", "swap",
               "--platform-url", f"{base}/swap", "--platform-option", "store=s",
               "--erp", "d365_bc", "--erp-url", f"{base}/d365_bc", "--erp-option", "tenant=t",
               "--erp-option", "environment=sandbox", "--erp-option", "client_id=c",
               "--erp-option", "company=C", "--erp-option", f"token_url={base}/token",
               home=home)
    assert done.returncode == 0, done.stderr


SECRETS = {"RETURNS_CONSOLE_HUNG_API_KEY": "k" * 12,
           "RETURNS_CONSOLE_HUNG_CLIENT_SECRET": "s" * 12}


def test_check_gives_up_at_the_deadline_naming_the_source_that_hung(tmp_path, silent) -> None:
    _setup(tmp_path, silent)
    done = cli("--deadline", "2", "check", "--profile", "hung", home=tmp_path, **SECRETS)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "did not finish within the 2 s deadline" in done.stderr
    assert "swap" in done.stderr and "Traceback" not in done.stderr


def test_doctor_gives_up_at_the_deadline_and_says_which(tmp_path, silent) -> None:
    _setup(tmp_path, silent)
    done = cli("doctor", "--profile", "hung", home=tmp_path,
               RETURNS_CONSOLE_DEADLINE="2", **SECRETS)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  platform swap" in done.stdout
    assert "deadline" in done.stdout and "Traceback" not in done.stderr

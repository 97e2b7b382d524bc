"""What every independent check's harness needs, once: a free port on 127.0.0.1, a fake
served on it by uvicorn in a background thread (TLS when given a certificate), and the
product's CLI run as a user would (its own home, secrets from the environment, never the
user's keyring). The checks themselves stay independent: this is plumbing, not a reading
of any vendor's docs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Hashable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

#: Where the CLI runs from (the repository).
REPO = str(Path(__file__).resolve().parents[2])


def cli_env(home: Path, secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The environment of a CLI run: this process's, less any RETURNS_CONSOLE_ setting, with
    its own home, the null keyring, no colour, and `secrets` (profile -> name -> value) as
    RETURNS_CONSOLE_<PROFILE>_<NAME>, as the README allows for headless use."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNS_CONSOLE_")}
    env["RETURNS_CONSOLE_HOME"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # never the user's keyring
    env["NO_COLOR"] = "1"
    for profile, named in secrets.items():
        for name, value in named.items():
            env[f"RETURNS_CONSOLE_{profile.upper()}_{name.upper()}"] = value
    return env


def cli_argv(*args: str) -> list[str]:
    """The command line of `returns-console ARGS` (for a check that starts it itself)."""
    return [sys.executable, "-m", "returns_console", *args]


def run_cli(args: list[str], env: dict[str, str] | None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    """`returns-console ARGS` as a subprocess from the repository, its output captured as text.
    `env` None: this process's environment as it is (e.g. for `--help`)."""
    return subprocess.run(cli_argv(*args), env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Until `proc` (a `listen` this check started) accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`listen` exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("`listen` did not open its port")


def stop_listener(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C for the listener this test started (its own pid only), then harder."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, cert: str | None = None, key: str | None = None) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                ssl_certfile=cert, ssl_keyfile=key,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def precision_recall(truth: Collection[Hashable], found: Collection[Hashable]
                     ) -> tuple[float, float]:
    """What every independent check scores: the share of what the product found that is
    planted (1.0 when it found nothing and nothing was planted), and the share of what was
    planted that it found."""
    hits = len(set(truth) & set(found))
    precision = hits / len(found) if found else (1.0 if not truth else 0.0)
    recall = hits / len(truth) if truth else 1.0
    return precision, recall

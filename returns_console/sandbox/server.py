"""Serve an ASGI app on loopback in a background thread (uvicorn), on a free port by default."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn


class BackgroundServer:
    """`with BackgroundServer(app) as server: server.url` — a real HTTP server on 127.0.0.1."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        #: The listening socket (its options are what accepted connections inherit).
        self.socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn given a socket leaves Nagle on for the connections it accepts: each answer
        # (its headers, then its body) then waited on the client's delayed ACK, 40 ms a
        # request (a demo that pushes 336 deliveries took 16 s); accepted sockets inherit it
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.socket = sock
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                access_log=False)
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

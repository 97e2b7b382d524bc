"""The sandbox's HTTP server on 127.0.0.1 (sandbox/server.py)."""

from __future__ import annotations

import socket

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from returns_console.sandbox.server import BackgroundServer


async def _ok(request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_answers_are_not_held_back_by_nagle() -> None:
    """uvicorn, given a socket, left Nagle on for what it accepts: each answer waited on
    the client's delayed ACK (40 ms a request: 16 s for a demo's pushed deliveries). The
    listening socket says TCP_NODELAY, which the connections it accepts inherit."""
    app = Starlette(routes=[Route("/", _ok)])
    with BackgroundServer(app) as server:
        assert server.socket is not None
        assert server.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert httpx.get(server.url + "/").json() == {"ok": True}

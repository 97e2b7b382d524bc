"""The sandbox's sender: deliveries in order, each until it is answered 200; the rest wait
for the next round, as a real sender retries."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from returns_console.sandbox.hosted import Delivery
from returns_console.sandbox.push import post_deliveries
from returns_console.sandbox.server import BackgroundServer


class Sender:
    def __init__(self, count: int) -> None:
        self.sent = [Delivery({"x-n": str(n)}, f"body {n}".encode()) for n in range(count)]

    def deliveries(self, since: int = 0) -> list[Delivery]:
        return self.sent[since:]


def test_a_refused_delivery_stops_the_round_and_is_sent_again_next_time() -> None:
    got: list[tuple[str, bytes]] = []
    refuse = {"2"}

    async def hook(request: Request) -> JSONResponse:
        n = request.headers["x-n"]
        if n in refuse:
            return JSONResponse({}, status_code=503)
        got.append((n, await request.body()))
        return JSONResponse({"stored": True})

    sender = Sender(4)
    with BackgroundServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        url = f"{server.url}/hook"
        assert post_deliveries(sender, url) == 2
        refuse.clear()
        assert post_deliveries(sender, url, 2) == 2
    assert got == [(str(n), f"body {n}".encode()) for n in range(4)]


def test_an_unreachable_receiver_takes_nothing() -> None:
    assert post_deliveries(Sender(2), "http://127.0.0.1:9/hook", timeout=2) == 0

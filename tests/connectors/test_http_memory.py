"""A body read is freed when its caller lets go of it, even while the collector is paused.

A bulk read pauses Python's cyclic collector (domain/memory.py); httpx's response and its
stream refer to each other, so before this every response of a read (about 60 MB of pages
at 10,000 returns) stayed in memory until the read ended.
"""

from __future__ import annotations

import weakref

import httpx

from returns_console.connectors.http import HttpClient
from returns_console.domain.memory import gc_paused


async def test_responses_read_while_the_collector_is_paused_are_freed_by_reference_count(
        ) -> None:
    made: list[weakref.ref[httpx.Response]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, json={"value": [{"id": n} for n in range(100)]})
        made.append(weakref.ref(response))
        return response

    http = HttpClient("d365_bc", "https://bc.example.test/api",
                      transport=httpx.MockTransport(answer))
    try:
        with gc_paused():
            for _ in range(5):
                assert len((await http.get_json("/items"))["value"]) == 100
            alive = [ref for ref in made if ref() is not None]
    finally:
        await http.aclose()
    assert len(made) == 5
    assert alive == []

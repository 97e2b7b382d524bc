"""A pushing simulator's deliveries posted over real HTTP to a receiver (`listen`, or the
one the demo serves), as the system would send them: in order, each until it is answered
200, the rest left for the next round when one is not."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .hosted import Delivery, PushingSystem


def post_deliveries(system: PushingSystem, url: str, since: int = 0, *,
                    timeout: float = 10.0,
                    sending: Callable[[Delivery], None] | None = None) -> int:
    """How many of the deliveries from the `since`-th on were taken (answered 200).
    `sending` is told of each just before it is posted (the sandbox's receiver dates it)."""
    taken = 0
    with httpx.Client(timeout=timeout) as http:
        for delivery in system.deliveries(since):
            if sending is not None:
                sending(delivery)
            try:
                answer = http.post(url, content=delivery.body, headers=delivery.headers)
            except httpx.HTTPError:
                break
            if answer.status_code != 200:
                break
            taken += 1
    return taken

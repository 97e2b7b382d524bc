"""A pushing simulator's deliveries posted over real HTTP to a receiver (`listen`, or the
one the demo serves), as the system would send them: in order, each until it is answered
200, the rest left for the next round when one is not."""

from __future__ import annotations

import httpx

from .hosted import PushingSystem


def post_deliveries(system: PushingSystem, url: str, since: int = 0, *,
                    timeout: float = 10.0) -> int:
    """How many of the deliveries from the `since`-th on were taken (answered 200)."""
    taken = 0
    with httpx.Client(timeout=timeout) as http:
        for delivery in system.deliveries(since):
            try:
                answer = http.post(url, content=delivery.body, headers=delivery.headers)
            except httpx.HTTPError:
                break
            if answer.status_code != 200:
                break
            taken += 1
    return taken

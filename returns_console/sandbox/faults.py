"""Fault injection for the simulators: latency, server errors, rate limiting, all seeded."""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass(slots=True)
class Faults:
    """How unkind the sandbox is. Rates are fractions of requests (0 to 1)."""

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    latency_ms: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _roll(self) -> float:
        with self._lock:
            return self._rng.random()

    async def before(self, request: Request, server_error, rate_limited) -> Response | None:
        """A fault response to send instead of the real one, or None."""
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        if self.rate_limit_rate and self._roll() < self.rate_limit_rate:
            return rate_limited(self.retry_after)
        if self.error_rate and self._roll() < self.error_rate:
            return server_error()
        return None


def json_error(status: int, body: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)

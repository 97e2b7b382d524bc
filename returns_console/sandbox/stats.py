"""What the sandbox served, per system and path: requests and response body bytes sent.

`Counting` is ASGI middleware around one mounted simulator: it adds up the body of every
response as it is sent, and files it under the request's path below the mount, without the
query string and with record keys collapsed (`orders({id})`), so a page chain of
one collection, or every record read by id, counts under one key. Counting a request costs
the same whatever the sandbox holds. `GET /_sandbox/stats` shows `Served.as_json()`;
`DELETE /_sandbox/stats` starts again from zero.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: An OData key in a path (`companies(…)`, `orders('…')`).
_KEY = re.compile(r"\([^()/]*\)")
#: A GUID standing alone as a path segment.
_GUID = re.compile(
    r"(?<=/)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?=/|$)")


def path_key(path: str) -> str:
    """The path a request is counted under: record keys and GUIDs collapsed to `{id}`."""
    return _GUID.sub("{id}", _KEY.sub("({id})", path)) or "/"


class Served:
    """Requests and body bytes served, per system and per path key."""

    def __init__(self, systems: tuple[str, ...] = ()) -> None:
        self._systems = systems
        self.systems: dict[str, dict[str, Any]] = {}
        self.reset()

    def reset(self) -> dict[str, int]:
        """Start again from zero; what had been counted, in total."""
        before = self.total()
        self.systems = {s: self._fresh() for s in self._systems}
        return before

    @staticmethod
    def _fresh() -> dict[str, Any]:
        return {"requests": 0, "bytes": 0, "paths": {}}

    def count(self, system: str, path: str, sent: int) -> None:
        one = self.systems.get(system)
        if one is None:
            one = self.systems[system] = self._fresh()
        one["requests"] += 1
        one["bytes"] += sent
        at = one["paths"].get(path)
        if at is None:
            at = one["paths"][path] = {"requests": 0, "bytes": 0}
        at["requests"] += 1
        at["bytes"] += sent

    def total(self) -> dict[str, int]:
        return {"requests": sum(s["requests"] for s in self.systems.values()),
                "bytes": sum(s["bytes"] for s in self.systems.values())}

    def as_json(self) -> dict[str, Any]:
        return {"systems": {name: {"requests": s["requests"], "bytes": s["bytes"],
                                   "paths": {p: dict(c) for p, c in s["paths"].items()}}
                            for name, s in self.systems.items()},
                "total": self.total()}


class Counting:
    """ASGI middleware: every HTTP response of `app` counted in `served` under `system`."""

    def __init__(self, app: ASGIApp, system: str, served: Served) -> None:
        self.app = app
        self.system = system
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]  # below the mount, as the simulator sees it
        sent = 0

        async def counted(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            self.served.count(self.system, path_key(path), sent)

"""What the sandbox needs of a system's simulator, whatever the system: its ASGI app, the
profile settings that reach it, a way to make returns look edited, and (for an ERP) its
write journal and fault switches. Each system's `simulator:build` returns one of these, so
the sandbox composes any platform with any ERP without naming either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from starlette.types import ASGIApp

from .faults import Faults


@runtime_checkable
class HostedSystem(Protocol):
    #: API requests served (token requests apart).
    requests: int

    def app(self) -> ASGIApp: ...

    def settings(self, base_url: str) -> dict[str, Any]:
        """The profile options that reach this simulator served at `base_url`."""
        ...

    def touch(self, refs: set[str], at: datetime) -> None:
        """The returns `refs` change here at `at` (same values, new timestamps)."""
        ...

    def expire_sessions(self) -> None:
        """Every token or session issued so far stops working, as at expiry (a system whose
        credentials do not expire has nothing to do)."""
        ...

    def native_code(self, kind: str, code: str) -> str:
        """How this system says one of the scenario's codes (kind "refund_method", ...):
        the sandbox keys the demo's mapping tables by what the connector will read."""
        ...

    def credentials(self) -> dict[str, str]:
        """The secrets it accepts, by the names the system declares (public demo values)."""
        ...

    def native(self) -> Any:
        """Everything served, in the system's own JSON (for `sandbox --write-native`)."""
        ...


@runtime_checkable
class HostedErp(HostedSystem, Protocol):
    def writes_json(self) -> bytes:
        """Every write received, as received."""
        ...

    def clear_writes(self) -> int: ...

    def bump(self, entity: str, record_id: str) -> dict[str, Any]:
        """Someone else edits a record (a new concurrency token); KeyError if none."""
        ...

    def fail_writes(self, count: int = 1, *, status: int = 503, after: bool = False) -> None:
        ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One push as the system would send it: its headers (signature included) and the raw
    body, posted to the address registered with the system."""

    headers: dict[str, str]
    body: bytes
    #: When the system sends it, in the scenario's time (None: now). The sandbox's own
    #: receiver stamps the delivery with it: a system whose payloads carry no event time
    #: (Happy Returns) has its events dated by arrival, as `listen` dates them.
    sent_at: datetime | None = None


@runtime_checkable
class PushingSystem(Protocol):
    """A simulator of a system that calls us: it signs deliveries with its demo secret, as
    the real system does, and has more to send when returns change (`touch`)."""

    def deliveries(self, since: int = 0) -> list[Delivery]:
        """Every delivery from the `since`-th on, in the order the system sends them (a
        sender that was not answered 200 sends the same one again)."""
        ...


@runtime_checkable
class ChannelClient(Protocol):
    """A simulator of an ERP whose channel calls us (it fetches a configuration from the
    address it is given, then pushes and pulls there), as the real ERP would."""

    def cycle(self, config_url: str, *, now: datetime | None = None,
              sending: Callable[[datetime], None] | None = None) -> int:
        """Make the calls due by `now`; `sending` is told the time of each just before it
        is made (the sandbox's receiver dates it). How many were answered 200."""
        ...


class Build(Protocol):
    """A system's `simulator:build`: its simulator loaded from a canonical scenario."""

    def __call__(self, snapshot: dict, *, faults: Faults, **knobs: Any) -> HostedSystem: ...

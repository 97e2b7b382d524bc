"""What a system's connector factory is given: where, how, its validated options, a way to
ask for each secret, and the shared HTTP plumbing. Generic: config and secret storage stay
outside (services/connections.py builds one of these from a profile)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from .http import CallLog, RetryPolicy
from .pacing import Pacer


@dataclass(slots=True)
class Connection:
    profile: str
    base_url: str
    #: The system's options model, validated (systems/<id>/options.py).
    options: Any
    #: A secret by the name the system declares; raises a UserError-like message if unset.
    secret: Callable[[str], SecretStr]
    log: CallLog
    retry: RetryPolicy
    transport: object | None = None
    #: The request budget the system declares (None: no documented rate); the connector
    #: hands it to its HttpClient.
    pacer: Pacer | None = None

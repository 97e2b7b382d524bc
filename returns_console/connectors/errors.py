"""Typed connector errors with messages a person can act on.

Messages never contain secrets: URLs are redacted before they reach an error, and no header
value is ever quoted.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Something went wrong talking to a system. `str(error)` is safe to show and to log."""

    retryable = False

    def __init__(self, system: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.status = status


class AuthError(ConnectorError):
    """Credentials missing, wrong or lacking permission (401/403)."""


class NotFoundError(ConnectorError):
    """The resource does not exist (404): a wrong id, company or an API the tenant lacks."""


class ConflictError(ConnectorError):
    """The record changed since it was read (409/412): refresh and ask again."""


class RateLimitedError(ConnectorError):
    """Too many requests (429); `retry_after` is the server's wait in seconds, when given."""

    retryable = True

    def __init__(self, system: str, message: str, *, status: int | None = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(system, message, status=status)
        self.retry_after = retry_after


class ServerError(ConnectorError):
    """The system failed (5xx, 408). Retried; `retry_after` when the server sent one."""

    retryable = True

    def __init__(self, system: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(system, message, status=status)
        self.retry_after = retry_after


class NetworkError(ConnectorError):
    """No answer: connection refused, DNS, TLS or a timeout. Retried."""

    retryable = True


class InvalidPayloadError(ConnectorError):
    """The system answered with something that is not what its API documents."""


class RequestError(ConnectorError):
    """The system refused the request as malformed (400, 422 and other 4xx)."""

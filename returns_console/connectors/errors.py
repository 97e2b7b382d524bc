"""Typed connector errors with messages a person can act on.

Messages never contain secrets: URLs are redacted before they reach an error, and no header
value is ever quoted.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Something went wrong talking to a system. `str(error)` is safe to show and to log."""

    retryable = False
    #: The system's own explanation from its error body, one line (None when it gave none).
    detail: str | None = None

    def __init__(self, system: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.status = status


class AuthError(ConnectorError):
    """Credentials missing, wrong or lacking permission (401/403)."""


class NotFoundError(ConnectorError):
    """The resource does not exist (404): a wrong id, company or an API the tenant lacks."""


class ConflictError(ConnectorError):
    """The record changed since it was read (409/412): refresh and ask again. Never retried:
    sending the same change again would overwrite someone else's. `fresh` is the record as
    it is now, when the connector could read it again, so the operator can be asked again
    with the current values (and its ETag)."""

    def __init__(self, system: str, message: str, *, status: int | None = None,
                 fresh: dict | None = None) -> None:
        super().__init__(system, message, status=status)
        self.fresh = fresh


class RateLimitedError(ConnectorError):
    """Too many requests (429); `retry_after` is the server's wait in seconds, when given."""

    retryable = True

    def __init__(self, system: str, message: str, *, status: int | None = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(system, message, status=status)
        self.retry_after = retry_after


class ServerError(ConnectorError):
    """The system failed (5xx, 408). Retried, except a write (it may have been done);
    `retry_after` when the server sent one."""

    retryable = True

    def __init__(self, system: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(system, message, status=status)
        self.retry_after = retry_after


class AmbiguousResultError(ConnectorError):
    """The write was done, but what it became cannot be told apart from another record
    (two new posted credit memos with one link): never retry, never "post it again"."""


class DeadlineError(ConnectorError):
    """The source did not finish within the command's overall deadline (it accepts
    connections and never answers, or answers too slowly): down, for this run."""


class NetworkError(ConnectorError):
    """No answer: connection refused, DNS, TLS or a timeout. Retried (a write only when
    `maybe_sent` is False)."""

    retryable = True
    #: False only when the request certainly never reached the server (no connection was
    #: made): a timeout or a dropped connection may have left the change done, unanswered.
    maybe_sent = True

    def __init__(self, system: str, message: str, *, status: int | None = None,
                 maybe_sent: bool = True, refused: bool = False) -> None:
        super().__init__(system, message, status=status)
        self.maybe_sent = maybe_sent
        #: Nothing listens there: worth one quick retry (a restart), not a long backoff.
        self.refused = refused


class MisconfiguredError(ConnectorError):
    """The system answered, but not as the profile says it should (its main endpoint is not
    there: a wrong base URL, version, tenant or environment). Not retried, never "down"."""


class InvalidPayloadError(ConnectorError):
    """The system answered with something that is not what its API documents."""


class RequestError(ConnectorError):
    """The system refused the request as malformed (400, 422 and other 4xx)."""


class RefusedError(ConnectorError):
    """A write the system understood and refused with a business error (4xx: an unknown or
    blocked item, a posted document, a read-only entity): nothing changed. Not retried, as
    the same request gets the same answer; `detail` is the system's own message, one line."""


class NotSentError(RefusedError):
    """A write the console itself stopped right before sending it, on what it read of the
    ERP just then (a state, a line the request could not address safely): nothing was sent,
    so the audit row says `refused` with the reason, not `failed`."""

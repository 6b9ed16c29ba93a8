"""Domain errors. No HTTP here: `api/errors.py` is the one place that maps them to responses."""

from __future__ import annotations

from dataclasses import dataclass, field


class CrowdexportsError(Exception):
    """Root of every error the domain raises on purpose."""


class NotFound(CrowdexportsError):
    pass


class Forbidden(CrowdexportsError):
    pass


class Conflict(CrowdexportsError):
    pass


class IdempotencyKeyReused(CrowdexportsError):
    """An `Idempotency-Key` sent again with another request than the one it was first used for."""


class AuthenticationFailed(CrowdexportsError):
    """Missing or wrong credentials; `challenge` is the WWW-Authenticate value to send."""

    def __init__(self, message: str, challenge: str = 'Bearer realm="api"') -> None:
        super().__init__(message)
        self.challenge = challenge


class RateLimited(CrowdexportsError):
    """Too many requests of one kind; `retry_after` is the whole seconds to wait before the next."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class RangeNotSatisfiable(CrowdexportsError):
    """A download's byte range starts past the end of the file; `size` is the file's, for Content-Range."""

    def __init__(self, size: int) -> None:
        super().__init__(f"The requested range is not within the file ({size} bytes).")
        self.size = size


class Unavailable(CrowdexportsError):
    """A backing service (database, queue, storage) cannot be reached right now."""


@dataclass
class FieldProblem:
    """One problem with one input field; `classification` follows SPEC §2 (ValueError, TypeError, ...)."""

    field_names: list[str]
    message: str
    classification: str = "ValueError"


@dataclass
class InvalidInput(CrowdexportsError):
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(p.field_names)}: {p.message}" for p in self.problems)


def invalid(field_name: str, message: str, classification: str = "ValueError") -> InvalidInput:
    return InvalidInput([FieldProblem([field_name], message, classification)])


class ExportStopped(CrowdexportsError):
    """Raised inside a running export when it was canceled or its lease was lost."""


class TransientMailError(CrowdexportsError):
    """The mail server may accept the message later (4yz reply, refused or dropped connection).

    `maybe_delivered` is True when the whole message went out and the connection broke before the
    server's reply: the server may have accepted it, so it must not be sent again (at most once).
    """

    def __init__(self, message: str, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class PermanentMailError(CrowdexportsError):
    """The mail server refused the message for good (5yz reply); retrying would not help."""

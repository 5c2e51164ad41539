"""Domain errors that carry their HTTP status.

Services raise them without knowing about HTTP; ``api.errors`` turns them into
``{"detail": ...}`` answers, and routes list them in ``responses=`` for OpenAPI.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status_code: ClassVar[int] = 400
    default_detail: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.default_detail
        # Extra fields are added to the error body (e.g. the order id of a failed charge).
        self.extra = extra
        self.headers: dict[str, str] | None = None
        super().__init__(self.detail)


class NotAuthenticated(DomainError):
    status_code = 401
    default_detail = "Not authenticated"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status_code = 403
    default_detail = "Not enough privileges"


class NotFound(DomainError):
    status_code = 404
    default_detail = "Not found"


class Conflict(DomainError):
    status_code = 409
    default_detail = "Conflict with the current state"


class OutOfStock(Conflict):
    default_detail = "Not enough stock"


class PreconditionFailed(DomainError):
    """``If-Match`` named a version that is not the current one: nothing was changed."""

    status_code = 412
    default_detail = "The resource changed since you read it"


class InvalidInput(DomainError):
    status_code = 422
    default_detail = "Invalid input"


class PaymentDeclined(DomainError):
    status_code = 402
    default_detail = "The card was declined"


class GatewayError(DomainError):
    status_code = 502
    default_detail = "The payment gateway answered with an error"


class GatewayRejected(GatewayError):
    """The gateway answered and refused (a 4xx): retrying the same request cannot help."""

    default_detail = "The payment gateway refused the request"


class GatewayUnavailable(DomainError):
    status_code = 503
    default_detail = "The payment gateway cannot be reached"


class GatewayTimeout(DomainError):
    status_code = 504
    default_detail = "The payment gateway did not answer in time"


class ServiceUnavailable(DomainError):
    status_code = 503
    default_detail = "Service temporarily unavailable"


class TooManyRequests(DomainError):
    """A caller went past a limit; ``Retry-After`` says when to come back (seconds)."""

    status_code = 429
    default_detail = "Too many requests; retry later"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = max(1, retry_after)
        self.headers = {"Retry-After": str(self.retry_after)}


class Overloaded(ServiceUnavailable):
    """A bounded resource (the hashing slots) stayed full for the whole wait."""

    default_detail = "The service is busy; retry shortly"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = {"Retry-After": str(max(1, retry_after))}

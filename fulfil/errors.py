"""Domain errors carry their HTTP status; one handler in fulfil.app renders them as JSON."""

from __future__ import annotations

from typing import Any

from fulfil.telemetry import context as request_ids


class FulfilError(Exception):
    """Base of every error the API reports on purpose: `{"error": {"code", "message", "details"}}`."""

    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None  # response headers the error needs (Retry-After)

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of an error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if (rid := request_ids.current()) is not None:
            body["request_id"] = rid
        return {"error": body}


class BadRequest(FulfilError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(FulfilError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(FulfilError):
    status_code = 403
    code = "forbidden"


class NotFound(FulfilError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(FulfilError):
    status_code = 413
    code = "too_large"


class Conflict(FulfilError):
    status_code = 409
    code = "conflict"


class InvalidInput(FulfilError):
    status_code = 422
    code = "invalid"


class PreconditionRequired(FulfilError):
    """A header the request must carry for this operation is missing (e.g. Idempotency-Key where a blind retry
    would apply twice); the schema cannot require it, since other requests to the same route do without."""

    status_code = 428
    code = "precondition_required"


class TooManyRequests(FulfilError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.headers = {"Retry-After": str(retry_after)}


class Gone(FulfilError):
    """What the request refers to existed, but can no longer be served (e.g. a feed cursor of other settings)."""

    status_code = 410
    code = "gone"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class InvalidTransition(Conflict):
    code = "invalid_transition"

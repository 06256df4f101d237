"""Domain exceptions. Services raise these; the API's error module turns them into apiErrors."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with Cisco's apiError fields."""

    error_type = "invalidInput"

    def __init__(self, message: str, error_data: str = "", error_type: str | None = None):
        super().__init__(message)
        self.message = message
        self.error_data = error_data
        if error_type is not None:
            self.error_type = error_type


class InvalidInput(ServiceError):
    error_type = "invalidInput.invalidValue"


class FieldRequired(InvalidInput):
    error_type = "invalidInput.fieldRequired"


class FieldTooLong(InvalidInput):
    error_type = "invalidInput.fieldLengthExceeded"


class OutOfRange(InvalidInput):
    error_type = "invalidInput.outOfRange"


class NotFound(ServiceError):
    error_type = "notFound"


class StaleChangeStamp(ServiceError):
    error_type = "changeStampMismatch"


class JobActive(ServiceError):
    error_type = "jobActive"


class Conflict(ServiceError):
    """The request contradicts the state of the resource (a job already reverted)."""

    error_type = "conflict"


class IdempotencyKeyReused(ServiceError):
    """An Idempotency-Key sent again with another request (docs/api.md, "Safe re-submission")."""

    error_type = "idempotencyKeyReused"


class NotAuthorized(ServiceError):
    error_type = "notAuthorized"


class Forbidden(ServiceError):
    error_type = "forbidden"


class TooLarge(ServiceError):
    error_type = "invalidInput.requestTooLarge"


class UnsupportedMediaType(ServiceError):
    error_type = "invalidInput.unsupportedMediaType"


class TooManyRequests(ServiceError):
    """Too many failed sign-ins: wait ``retry_after`` seconds."""

    error_type = "tooManyRequests"

    def __init__(self, message: str, retry_after: int, error_data: str = "") -> None:
        super().__init__(message, error_data)
        self.retry_after = retry_after

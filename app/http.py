"""What every HTTP layer (the API, SCIM, the console, ops) shares: the ``<id:...>`` URL
converter, the status of each domain refusal, the security headers, downloads as responses and
the access log's line."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import werkzeug.exceptions
from flask import Flask, Response
from werkzeug.routing import IntegerConverter, Map

from app.exceptions import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    JobActive,
    NotAuthorized,
    NotFound,
    ServiceError,
    StaleChangeStamp,
    TooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from app.jobs.downloads import Download

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns

# One line per request with BULKJOB_LOG_FORMAT=json (docs/operations.md, app/ops/logs.py).
access_log = logging.getLogger("app.access")

# Every response carries these; the console sets its own, page-friendly policy first
# (docs/security.md, "Headers and errors"), and everything else gets a policy that allows
# nothing, since nothing else is a page.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

# The HTTP status of each refusal, for the API's apiErrors and the console's error pages alike.
STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    InvalidInput: 400,
    NotAuthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    StaleChangeStamp: 409,
    JobActive: 409,
    Conflict: 409,
    IdempotencyKeyReused: 422,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    TooManyRequests: 429,
}


class IdConverter(IntegerConverter):
    """``<id:name>``: a non-negative id that fits its column; anything larger is a 404, not a
    database overflow (found by schemathesis: /agent/93037941403912339456 was a 500)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=0)

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ID:
            # Not a ValidationError: werkzeug would then answer 405 for the path's other methods.
            raise werkzeug.exceptions.NotFound(f"No resource has the id {value}")
        return number


def status_of(error: ServiceError) -> int:
    """The status of the nearest class of ``error`` that has one; 400 for any other refusal."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def security_headers(response: Response, policy: str = NOTHING_POLICY) -> Response:
    """Add any security header the response does not already carry."""
    # One pass over the headers there are (every response runs this; a setdefault per header
    # would search them once for each).
    present = {name.lower() for name, _value in response.headers.items()}
    wanted = [("Content-Security-Policy", policy), *SECURITY_HEADERS.items()]
    response.headers.extend([pair for pair in wanted if pair[0].lower() not in present])
    return response


def attachment(download: Download) -> Response:
    """A download as a response the browser saves under the download's file name."""
    response = Response(download.body, mimetype=download.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response


def log_access(
    method: str, path: str, status: int, started: float | None, user: str | None, job_id: Any
) -> None:
    """The access log's line for a request answered ``status``; ``started``: its
    ``time.perf_counter()`` when it came in."""
    fields: dict[str, Any] = {"method": method, "path": path, "status": status}
    if started is not None:
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    if user:
        fields["user"] = user
    if job_id is not None:
        fields["job_id"] = job_id
    access_log.info("%s %s %s", method, path, status, extra=fields)


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.after_request(security_headers)

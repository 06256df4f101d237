"""Every error on the API's paths becomes an apiErrors body in the negotiated representation.

Domain exceptions map to a status by class; werkzeug's HTTP errors (unknown path, wrong method,
body too large, ...) get a Cisco-style errorType; anything else is a 500 whose body holds only an
error id, the same id the traceback is logged under. Paths outside the API keep Flask's handling.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api.representation import HeadersLike, render, wants_json
from app.api.schemas import ApiErrorSchema, ErrorItem, ValidationFailed
from app.exceptions import (
    Forbidden,
    NotAuthorized,
    NotFound,
    ServiceError,
    TooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)
from app.http import status_of

logger = logging.getLogger(__name__)

API_PREFIX = "/unifiedconfig"
WWW_AUTHENTICATE = 'Basic realm="bulkjob"'

ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalidInput",
    401: NotAuthorized.error_type,
    403: Forbidden.error_type,
    404: NotFound.error_type,
    405: "methodNotAllowed",
    406: "notAcceptable",
    409: "conflict",
    413: TooLarge.error_type,
    415: UnsupportedMediaType.error_type,
    429: "tooManyRequests",
    500: "internalError",
    503: "serviceUnavailable",
}

# A dependency that is down or busy: 503 (try again), not a bug.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY_AFTER_SECONDS = 5

_api_errors = ApiErrorSchema(many=True)


def is_api_request() -> bool:
    path = request.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def api_error_response(
    items: Iterable[ErrorItem],
    status: int,
    json: bool | None = None,
    headers: HeadersLike = None,
) -> Response:
    """An apiErrors response of (errorType, errorData, errorMessage) items.

    ``json`` None negotiates from the current request's Accept. A 401 gets the Basic challenge
    unless ``headers`` bring their own WWW-Authenticate.
    """
    body = _api_errors.dump(
        [
            {"error_type": error_type, "error_data": error_data, "error_message": message}
            for error_type, error_data, message in items
        ]
    )
    if json is None:
        json = wants_json(request)
    response = render(body, "apiErrors", status, json, headers)
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def handle_service_error(error: ServiceError) -> Response:
    if not is_api_request():
        raise error
    if isinstance(error, ValidationFailed):
        items = error.items
    else:
        items = [(error.error_type, error.error_data, error.message)]
    headers = None
    if isinstance(error, TooManyRequests):
        headers = {"Retry-After": str(error.retry_after)}
    return api_error_response(items, status_of(error), headers=headers)


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    if not is_api_request():
        return error
    if error.response is not None:  # abort(response): the view chose its answer
        return error.response  # type: ignore[return-value]
    status = error.code or 500
    if isinstance(error, InternalServerError) or status == 500:
        original = getattr(error, "original_exception", None)
        return _internal_error(original or error)
    description = error.description or error.name
    error_data = ""
    if status == 404:
        error_data = request.path
    elif status == 405:
        error_data = request.method
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or []))
        description = f"{request.method} is not allowed on {request.path}" + (
            f"; allowed: {allowed}" if allowed else ""
        )
    error_type = ERROR_TYPE_BY_STATUS.get(status) or _camel(error.name)
    kept = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return api_error_response([(error_type, error_data, description)], status, headers=kept)


def handle_exception(error: Exception) -> Response:
    if not is_api_request():
        raise error
    return _internal_error(error)


def _internal_error(error: BaseException) -> Response:
    error_id = uuid.uuid4().hex[:12]
    where = f"{request.method} {request.path}"
    if isinstance(error, DEPENDENCY_ERRORS):
        logger.error("Dependency unavailable, error %s on %s", error_id, where, exc_info=error)
        return api_error_response(
            [
                (
                    "serviceUnavailable",
                    error_id,
                    f"A service this request needs is unavailable (error {error_id}); "
                    "try again shortly",
                )
            ],
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.error("Internal error %s on %s", error_id, where, exc_info=error)
    return api_error_response([("internalError", error_id, f"Internal error {error_id}")], 500)


def _camel(name: str) -> str:
    """'Precondition Failed' -> 'preconditionFailed'."""
    words = re.findall(r"[A-Za-z0-9]+", name) or ["error"]
    return words[0].lower() + "".join(word.capitalize() for word in words[1:])


def register(target: Flask | Blueprint) -> None:
    """Install the handlers app-wide (routing errors belong to no blueprint); they act only on
    API paths and leave every other path to Flask's default handling."""
    handlers: Sequence[tuple[type[Exception], Any]] = (
        (ServiceError, handle_service_error),
        (HTTPException, handle_http_error),
        (Exception, handle_exception),
    )
    for exception, handler in handlers:
        if isinstance(target, Blueprint):
            target.app_errorhandler(exception)(handler)
        else:
            target.register_error_handler(exception, handler)


__all__ = [
    "API_PREFIX",
    "WWW_AUTHENTICATE",
    "api_error_response",
    "handle_exception",
    "handle_http_error",
    "handle_service_error",
    "is_api_request",
    "register",
]

"""Every error under /scim/v2 becomes a SCIM Error body (RFC 7644 §3.12).

The handlers belong to the blueprint, so they answer before the API's app-wide ones; a catch-all
route keeps unknown paths and methods under /scim/v2 inside the blueprint too.

The catch-all also serves the spellings clients use for real paths: with a trailing slash
(``/Users/``, ``/Users/7/``) and with the resource segment in any case (``/users``, ``/bulk``,
Microsoft's test collection lower-cases them). Such a request runs the route of its canonical
path; the answers' locations are canonical.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy.exc
from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import MapAdapter, RequestRedirect

from app.scim.exceptions import ScimError
from app.scim.http import bp
from app.scim.http.auth import CHALLENGES
from app.scim.http.responses import ERROR, scim_response

logger = logging.getLogger(__name__)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# The first segment of every path served, by its lower-cased spelling.
SEGMENTS = {
    name.lower(): name
    for name in (
        "Users",
        "Groups",
        "Bulk",
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
        ".search",
    )
}


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    response = scim_response(body, status, headers)
    if status == 401:
        for challenge in CHALLENGES:
            response.headers.add("WWW-Authenticate", challenge)
    return response


@bp.errorhandler(ScimError)
def handle_scim_error(error: ScimError) -> Response:
    return error_response(error.status, error.detail, error.scim_type)


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return handle_exception(error)
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    scim_type = "invalidSyntax" if status == 400 else None
    return error_response(status, error.description or error.name, scim_type, headers)


@bp.errorhandler(Exception)
def handle_exception(error: Exception) -> Response:
    error_id = uuid.uuid4().hex[:12]
    where = f"{request.method} {request.path}"
    if isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.TimeoutError):
        logger.error("Dependency unavailable, error %s on %s", error_id, where, exc_info=error)
        return error_response(
            503, f"The database is unavailable (error {error_id})", None, {"Retry-After": "5"}
        )
    logger.error("Internal error %s on %s", error_id, where, exc_info=error)
    return error_response(500, f"Internal error {error_id}")


@bp.route("/", defaults={"path": ""}, methods=METHODS, strict_slashes=False)
@bp.route("/<path:path>", methods=METHODS)
def unknown(path: str) -> Any:
    """A real path spelled otherwise runs its route; a path or method SCIM does not serve
    here: 404, or 405 when another method would do."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    target = f"{bp.url_prefix}/{canonical_path(path)}"
    if target != request.path:
        found = _match(adapter, target, request.method)
        if found is not None:
            endpoint, args = found
            return current_app.ensure_sync(current_app.view_functions[endpoint])(**args)
    allowed = [method for method in METHODS if _match(adapter, target, method) is not None]
    if allowed:
        raise MethodNotAllowed(allowed, f"{request.method} is not allowed on {request.path}")
    raise NotFound(f"No SCIM resource at {request.path}")


def canonical_path(path: str) -> str:
    """``path`` (below /scim/v2) without trailing slashes, its first segment spelled as served:
    ``users/7/`` is ``Users/7``."""
    parts = path.rstrip("/").split("/")
    parts[0] = SEGMENTS.get(parts[0].lower(), parts[0])
    return "/".join(parts)


def _match(adapter: MapAdapter, path: str, method: str) -> tuple[str, Mapping[str, Any]] | None:
    """The route (other than this catch-all) that serves ``method`` on ``path``, if any."""
    try:
        endpoint, args = adapter.match(path, method=method)
    except (HTTPException, RequestRedirect):
        return None
    return None if endpoint == "scim.unknown" else (endpoint, args)

"""The admin console: server-rendered pages over the same services as the API.

Pages sign in with a form and a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS);
every POST carries the session's CSRF token. JavaScript (``templates/static/console.js``) only
adds live updates, local times and drag-and-drop: every page works without it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Flask, Request, Response, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from app import http
from app.exceptions import ServiceError
from app.urls import API_BASE

bp = Blueprint("console", __name__)
logger = logging.getLogger(__name__)

# No inline script or style anywhere in the console, so the policy needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


# Paths that never have a session: the Cisco API and SCIM.
SESSIONLESS = (f"{API_BASE}/", "/scim/")


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the page came over HTTPS. Only
    the console has sessions: the API and SCIM (HTTP Basic or a bearer token on every request)
    never read or write one, so their requests do not decode the cookie
    (docs/performance.md)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS):
            return None  # Flask's null session: reading it finds nothing, writing it fails
        return super().open_session(app, request)


@bp.after_request
def security_headers(response: Response) -> Response:
    """The console's pages refuse framing, sniffing and any script not served from here."""
    http.security_headers(response, CONTENT_SECURITY_POLICY)
    if response.mimetype in ("text/html", "application/json"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


ERROR_TITLES = {
    400: "That did not work",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    500: "Internal error",
}


def error_page(status: int, message: str) -> tuple[str, int]:
    title = ERROR_TITLES.get(status, "Error")
    return render_template("error.html", status=status, title=title, message=message), status


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError) -> tuple[str, int]:
    """A refusal from a service, as a page (the API's error module serves only the API)."""
    return error_page(http.status_of(error), error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    if error.response is not None:
        return error.response
    status = error.code or 500
    if status == 500:
        return internal_error(getattr(error, "original_exception", None) or error)
    if status > 500:
        return error
    return error_page(status, error.description or error.name)


@bp.errorhandler(Exception)
def internal_error(error: BaseException) -> tuple[str, int]:
    """A bug: the page shows only an error id, the same id the traceback is logged under."""
    error_id = uuid.uuid4().hex[:12]
    logger.error(
        "Internal error %s on %s %s", error_id, request.method, request.path, exc_info=error
    )
    return error_page(500, f"Something went wrong on our side (error {error_id}).")


def init_app(app: Flask) -> None:
    from app.console import (  # noqa: F401  (routes register)
        auth,
        directory,
        formatting,
        jobs,
        migration_page,
        plan_page,
        retry_page,
        template_page,
        waves,
    )

    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = ConsoleSessionInterface()
    app.register_blueprint(bp)

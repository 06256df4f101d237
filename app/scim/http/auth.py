"""Who is calling SCIM: the API's HTTP Basic users and bearer tokens, their roles, and the same
throttle on repeated failed sign-ins as the API (SCIM must not be a way around it)."""

from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from app.accounts import users
from app.accounts.roles import READ_DIRECTORY, WRITE_DIRECTORY
from app.accounts.throttle import login_throttle
from app.accounts.users import Principal
from app.db import db
from app.scim.http import bp

CHALLENGES = ('Basic realm="bulkjob"', 'Bearer realm="bulkjob"')


def _principal() -> Principal:
    result = users.sign_in(
        db.engine,
        login_throttle,
        request.headers.get("Authorization", ""),
        request.remote_addr or "",
        "SCIM",
    )
    if result.retry_after:
        raise TooManyRequests(
            f"Too many failed sign-ins; try again in {result.retry_after} seconds",
            retry_after=result.retry_after,
        )
    if result.principal is None:
        raise Unauthorized("Valid credentials are required (HTTP Basic or a bearer token)")
    return result.principal


@bp.before_request
def authenticate() -> None:
    """Every SCIM request needs credentials; writing needs the admin role."""
    principal = _principal()
    g.principal = principal
    allowed = READ_DIRECTORY if request.method in ("GET", "HEAD", "OPTIONS") else WRITE_DIRECTORY
    # POST .../.search only reads.
    if request.method == "POST" and request.path.rstrip("/").endswith("/.search"):
        allowed = READ_DIRECTORY
    if principal.role not in allowed:
        raise Forbidden(f"The {principal.role} role may not do this")

"""Who is calling SCIM: the API's HTTP Basic users and bearer tokens, their roles, and the same
throttle on repeated failed sign-ins as the API (SCIM must not be a way around it)."""

from __future__ import annotations

import base64
import binascii

from flask import g, request
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from app.extensions import db, login_throttle
from app.scim import bp
from app.services import users
from app.services.users import Principal

READ = ("admin", "viewer", "supervisor")
WRITE = ("admin",)
CHALLENGES = ('Basic realm="bulkjob"', 'Bearer realm="bulkjob"')


def _credentials() -> tuple[str, str | None, str] | None:
    """(scheme, user name or None, secret); None without an Authorization header. A header
    that cannot be read is a failed attempt with an empty secret."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return "bearer", None, value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "basic", None, ""
        username, sep, password = decoded.partition(":")
        return "basic", username, password if sep else ""
    return None


def _principal() -> Principal:
    credentials = _credentials()
    if credentials is None:
        raise Unauthorized("Valid credentials are required (HTTP Basic or a bearer token)")
    scheme, username, secret = credentials
    address = request.remote_addr or ""
    wait = login_throttle.retry_after(address, username)
    if wait:
        raise TooManyRequests(
            f"Too many failed sign-ins; try again in {wait} seconds", retry_after=wait
        )
    principal: Principal | None = None
    if scheme == "bearer":
        principal = users.authenticate_token(db.engine, secret)
    elif username and secret:
        principal = users.authenticate_basic(db.engine, username, secret)
    if principal is None:
        login_throttle.failed(address, username, f"SCIM {scheme}")
        raise Unauthorized("Valid credentials are required (HTTP Basic or a bearer token)")
    return principal


@bp.before_request
def authenticate() -> None:
    """Every SCIM request needs credentials; writing needs the admin role."""
    principal = _principal()
    g.principal = principal
    allowed = READ if request.method in ("GET", "HEAD", "OPTIONS") else WRITE
    # POST .../.search only reads.
    if request.method == "POST" and request.path.endswith("/.search"):
        allowed = READ
    if principal.role not in allowed:
        raise Forbidden(f"The {principal.role} role may not do this")

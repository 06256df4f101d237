"""Who is calling: HTTP Basic or a bearer token on every API request, and what their role allows."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from app.api import bp
from app.errors import Forbidden, NotAuthorized, TooManyRequests
from app.extensions import db, login_throttle
from app.services import users
from app.services.users import Principal

F = TypeVar("F", bound=Callable[..., Any])

READ_JOBS = ("admin", "viewer")
WRITE_JOBS = ("admin",)
READ_AGENTS = ("admin", "viewer", "supervisor")


def _credentials() -> tuple[str, str | None, str] | None:
    """(scheme, user name or None, secret) from the Authorization header; None if there is none.

    A header that cannot be read is a failed attempt with an empty secret.
    """
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


@bp.before_request
def authenticate() -> None:
    """Every API request must carry valid credentials; repeated failures are throttled."""
    credentials = _credentials()
    if credentials is None:
        raise NotAuthorized("Valid credentials are required (HTTP Basic or a bearer token)")
    scheme, username, secret = credentials
    address = request.remote_addr or ""
    wait = login_throttle.retry_after(address, username)
    if wait:
        raise TooManyRequests(
            f"Too many failed sign-ins; try again in {wait} seconds", wait, "Authorization"
        )
    principal: Principal | None = None
    if scheme == "bearer":
        principal = users.authenticate_token(db.engine, secret)
    elif username and secret:
        principal = users.authenticate_basic(db.engine, username, secret)
    if principal is None:
        login_throttle.failed(address, username, f"API {scheme}")
        raise NotAuthorized("Valid credentials are required (HTTP Basic or a bearer token)")
    g.principal = principal


def current() -> Principal:
    principal: Principal = g.principal
    return principal


def roles(*allowed: str) -> Callable[[F], F]:
    """Refuse callers whose role is not in ``allowed`` with 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current().role not in allowed:
                raise Forbidden(f"The {current().role} role may not do this", current().role)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

"""Who is calling: HTTP Basic or a bearer token on every API request, and what their role allows."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from app.api import bp
from app.errors import Forbidden, NotAuthorized
from app.extensions import db
from app.services import users
from app.services.users import Principal

F = TypeVar("F", bound=Callable[..., Any])

READ_JOBS = ("admin", "viewer")
WRITE_JOBS = ("admin",)
READ_AGENTS = ("admin", "viewer", "supervisor")


def _principal() -> Principal | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return users.authenticate_token(db.engine, value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep:
            return None
        return users.authenticate_basic(db.engine, username, password)
    return None


@bp.before_request
def authenticate() -> None:
    """Every API request must carry valid credentials."""
    principal = _principal()
    if principal is None:
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

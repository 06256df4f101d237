"""Who is calling: HTTP Basic or a bearer token on every API request, and what their role allows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from app.accounts import users
from app.accounts.throttle import login_throttle
from app.accounts.users import Principal
from app.api import bp
from app.db import db
from app.exceptions import Forbidden, NotAuthorized, TooManyRequests

F = TypeVar("F", bound=Callable[..., Any])


@bp.before_request
def authenticate() -> None:
    """Every API request must carry valid credentials; repeated failures are throttled."""
    result = users.sign_in(
        db.engine,
        login_throttle,
        request.headers.get("Authorization", ""),
        request.remote_addr or "",
        "API",
    )
    if result.retry_after:
        raise TooManyRequests(
            f"Too many failed sign-ins; try again in {result.retry_after} seconds",
            result.retry_after,
            "Authorization",
        )
    if result.principal is None:
        raise NotAuthorized("Valid credentials are required (HTTP Basic or a bearer token)")
    g.principal = result.principal


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

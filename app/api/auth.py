"""Who is calling: HTTP Basic or a bearer token on every API request, and what their role allows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from app.accounts import users
from app.accounts.throttle import login_throttle
from app.accounts.users import Principal
from app.api import bp
from app.db import db
from app.db.sql import Read
from app.exceptions import Forbidden, NotAuthorized, TooManyRequests

F = TypeVar("F", bound=Callable[..., Any])


# The views whose one read goes to the database with the bearer token's check
# (:func:`reads_with_token`), by endpoint: the read, made from the view's arguments.
_READS_WITH_TOKEN: dict[str, Callable[..., Read]] = {}
_NOT_READ = object()


@bp.before_request
def authenticate() -> None:
    """Every API request must carry valid credentials; repeated failures are throttled."""
    read = _READS_WITH_TOKEN.get(request.endpoint or "")
    also = () if read is None else (read(**(request.view_args or {})),)
    result = users.sign_in(
        db.engine,
        login_throttle,
        request.headers.get("Authorization", ""),
        request.remote_addr or "",
        "API",
        also,
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
    if result.rows:
        g.read_with_token = result.rows[0]


def reads_with_token(read: Callable[..., Read]) -> Callable[[F], F]:
    """Send the view's one read, ``read(**view_args)``, with the bearer token's check: one round
    trip to the database for both (docs/performance.md, "One round trip a poll"). The view
    takes its row with :func:`first_row`, after the token checked out (and its role, with
    :func:`roles`): a request refused never sees it."""

    def decorate(view: F) -> F:
        _READS_WITH_TOKEN[f"{bp.name}.{view.__name__}"] = read
        return view

    return decorate


def first_row(read: Read) -> dict[str, Any] | None:
    """The first row of ``read``, the view's :func:`reads_with_token` read: as read with the
    bearer token, or read now (Basic credentials)."""
    row = g.pop("read_with_token", _NOT_READ)
    if row is _NOT_READ:
        return read.first(db.engine)
    return cast(dict[str, Any] | None, row)


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

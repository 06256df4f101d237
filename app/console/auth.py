"""Signing in and out, who is signed in, what their role may see, and the CSRF check."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from app.accounts import users
from app.accounts.throttle import login_throttle
from app.accounts.users import Principal
from app.console import bp, error_page
from app.db import db

F = TypeVar("F", bound=Callable[..., Any])

CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    """This session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


@bp.before_request
def load_principal() -> None:
    user, role = session.get("user"), session.get("role")
    g.principal = Principal(user, role) if isinstance(user, str) and role in users.ROLES else None


@bp.before_request
def check_csrf() -> None:
    """Every POST must carry the session's token in a hidden field."""
    if request.method != "POST":
        return
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not expected:
        abort(400, "Your session has expired (or cookies are off). Reload the page and try again.")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "The form's security token is missing or wrong. Reload the page and try again.")


def current() -> Principal | None:
    principal: Principal | None = g.get("principal")
    return principal


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("console.jobs_list")
    # Browsers ignore tabs and newlines in a URL and read a backslash as a slash.
    if any(ch in target for ch in "\\\t\r\n") or not target.isprintable():
        return url_for("console.jobs_list")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("console.jobs_list")
    return target


def page(*roles: str) -> Callable[[F], F]:
    """A page for signed-in users of ``roles``: others sign in first, or get a 403 page."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current()
            if principal is None:
                target = request.full_path if request.query_string else request.path
                if request.method != "GET":
                    target = request.referrer or url_for("console.jobs_list")
                return redirect(url_for("console.login", next=target))
            if principal.role not in roles:
                return error_page(403, forbidden_message(principal.role))
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def json_endpoint(*roles: str) -> Callable[[F], F]:
    """Like ``page``, for the console's own small JSON endpoints: 401/403 as JSON."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current()
            if principal is None:
                return jsonify(error="Sign in again"), 401
            if principal.role not in roles:
                return jsonify(error=forbidden_message(principal.role)), 403
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def forbidden_message(role: str) -> str:
    if role == "supervisor":
        return "The supervisor role has no access to bulk jobs or templates."
    return f"The {role} role may not do this."


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The sign-in form: the same users and passwords as the API's HTTP Basic."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current() is not None:
            return redirect(target)
        return render_template("login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or ""
    wait = login_throttle.retry_after(address, username)
    if wait:
        message = f"Too many failed sign-ins. Try again in {wait} seconds."
        page_html = render_template("login.html", next=target, username=username, error=message)
        return page_html, 429, {"Retry-After": str(wait)}
    principal = users.authenticate_basic(db.engine, username, password)
    if principal is None:
        login_throttle.failed(address, username, "console")
        message = "The user name or password is wrong."
        return render_template("login.html", next=target, username=username, error=message), 200
    # A new session (and CSRF token) at sign-in, so a planted session id is worth nothing.
    session.clear()
    session["user"] = principal.username
    session["role"] = principal.role
    csrf_token()
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> Response | BaseResponse:
    """Sign out (a POST with the CSRF token, so another site cannot sign you out)."""
    session.clear()
    flash("You have signed out.", "ok")
    return redirect(url_for("console.login"), 303)

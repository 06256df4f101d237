"""Security headers on every response, whoever made it (API, console, health, metrics, errors).

The console's own, stricter-for-pages policy (``app/web``) is set first and kept; everything else
gets a policy that allows nothing at all, since no other response is a page that loads anything.
"""

from __future__ import annotations

from flask import Flask, Response

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def security_headers(response: Response) -> Response:
    """Add any security header the response does not already carry."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)

"""What every HTTP layer (the API, SCIM, the console, ops) shares: the ``<id:...>`` URL
converter, the security headers and file downloads as responses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map

if TYPE_CHECKING:
    from app.jobs.downloads import Download

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns

# Every response carries these; the console sets its own, page-friendly policy first (README:
# Security), and everything else gets a policy that allows nothing, since nothing else is a page.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


class IdConverter(IntegerConverter):
    """``<id:name>``: a non-negative id that fits its column; anything larger is a 404, not a
    database overflow (found by schemathesis: /agent/93037941403912339456 was a 500)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=0)

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ID:
            # Not a ValidationError: werkzeug would then answer 405 for the path's other methods.
            raise NotFound(f"No resource has the id {value}")
        return number


def security_headers(response: Response, policy: str = NOTHING_POLICY) -> Response:
    """Add any security header the response does not already carry."""
    response.headers.setdefault("Content-Security-Policy", policy)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def attachment(download: Download) -> Response:
    """A download as a response the browser saves under the download's file name."""
    response = Response(download.body, mimetype=download.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.after_request(security_headers)

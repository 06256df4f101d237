"""/Bulk (RFC 7644 §3.7): many operations in one request. Thin: read, call app.services.scim_bulk.

With ``Prefer: respond-async`` the request becomes a bulk job of type 100 (202 Accepted and the
job's Location), run by the workers like a CSV job; otherwise it runs here and now.
"""

from __future__ import annotations

from flask import Response, current_app, request

from app.extensions import db
from app.scim import bp
from app.scim.responses import base_url, check_media_type, scim_response
from app.services import scim_bulk
from app.services.scim_resources import loads_body


def _body() -> bytes:
    """The request body, refused with 413 past maxPayloadSize before it is parsed."""
    length = request.content_length
    if length is not None and length > scim_bulk.MAX_PAYLOAD_BYTES:
        raise scim_bulk.too_large(length)
    data = request.get_data()
    if len(data) > scim_bulk.MAX_PAYLOAD_BYTES:
        raise scim_bulk.too_large(len(data))
    return data


@bp.post("/Bulk")
def bulk() -> Response:
    """Run a BulkRequest; a BulkResponse with one entry per operation run."""
    check_media_type()
    parsed = scim_bulk.parse_document(loads_body(_body()))
    settings = current_app.config["SETTINGS"]
    context = scim_bulk.Context(base_url(), settings.scim_default_peripheral, parsed.defined())
    with db.write() as conn:
        results = scim_bulk.run(conn, parsed, context)
    return scim_response(scim_bulk.response(results))

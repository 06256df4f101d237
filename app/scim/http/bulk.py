"""/Bulk (RFC 7644 §3.7): many operations in one request. Thin: read, call app.scim.bulk.

With ``Prefer: respond-async`` (RFC 7240) the request becomes a bulk job of type 100, answered
202 Accepted with the job's Location, and run by the workers like a CSV job; otherwise it runs
here and now. An asynchronous request may carry an ``Idempotency-Key``: sent again, it is
answered as the first was and makes no second job (docs/scim.md, "Asynchronous Bulk").
"""

from __future__ import annotations

from flask import Response, current_app, g, request

from app.db import db
from app.exceptions import IdempotencyKeyReused, InvalidInput
from app.jobs import idempotency
from app.jobs.submit import submit
from app.scim import bulk as scim_bulk
from app.scim import bulk_request
from app.scim.bulkjob import JOB_TYPE
from app.scim.exceptions import InvalidValue, KeyReused
from app.scim.http import bp
from app.scim.http.responses import base_url, check_media_type, scim_response
from app.urls import job_path


def _body() -> bytes:
    """The request body, refused with 413 past maxPayloadSize before it is parsed."""
    length = request.content_length
    if length is not None and length > bulk_request.MAX_PAYLOAD_BYTES:
        raise bulk_request.too_large(length)
    data = request.get_data()
    if len(data) > bulk_request.MAX_PAYLOAD_BYTES:
        raise bulk_request.too_large(len(data))
    return data


def _wants_async() -> bool:
    preferences = ",".join(request.headers.getlist("Prefer")).lower()
    return any(part.split(";")[0].strip() == "respond-async" for part in preferences.split(","))


@bp.post("/Bulk")
def bulk() -> Response:
    """Run a BulkRequest; a BulkResponse with one entry per operation run."""
    check_media_type()
    key = _key()
    content = _body()
    parsed = bulk_request.loads(content)
    settings = current_app.config["SETTINGS"]
    if _wants_async():
        return _as_job(content, parsed, key)
    if key is not None:
        raise InvalidValue(
            f"{idempotency.HEADER} is kept for an asynchronous /Bulk only (Prefer: "
            "respond-async); a synchronous one is not remembered, so it would not be safe to send "
            "again"
        )
    context = scim_bulk.Context(base_url(), settings.scim_default_peripheral, parsed.defined())
    with db.write() as conn:
        results = scim_bulk.run(conn, parsed, context)
    return scim_response(scim_bulk.response(results))


def _key() -> str | None:
    """The request's Idempotency-Key, if it has one (400 if it is not a valid one)."""
    try:
        return idempotency.check_key(request.headers.get(idempotency.HEADER))
    except InvalidInput as error:
        raise InvalidValue(error.message) from None


def _as_job(content: bytes, parsed: bulk_request.BulkRequest, key: str | None) -> Response:
    """Store the request as a Queued job and queue it; 202 with the job's Location. (The
    request was parsed, and so checked, once: the job's check is not run again.) Sent again
    with the same ``key``: the same answer, and no second job."""
    user = g.principal.username
    keyed = None
    if key is not None:
        digest = idempotency.request_hash("POST /scim/v2/Bulk", request.mimetype, content)
        keyed = idempotency.Keyed(user, key, digest)
    try:
        job_id = submit(
            current_app,
            content,
            description=f"SCIM bulk request of {len(parsed.operations)} operations",
            created_by=user,
            job_type=JOB_TYPE.code,
            uploaded=False,
            origin=base_url(),
            pre_checked=JOB_TYPE.checked(parsed),
            keyed=keyed,
        )
    except IdempotencyKeyReused as error:
        raise KeyReused(error.message) from None
    headers = {
        "Location": f"{request.host_url.rstrip('/')}{job_path(job_id)}",
        "Preference-Applied": "respond-async",
    }
    if keyed is not None and keyed.replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return scim_response(None, 202, headers)

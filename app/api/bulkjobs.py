"""/bulkjob: create, list, get, update, delete jobs; their log, CSV and failed rows; templates."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request

from app.api import bp
from app.api.auth import READ_JOBS, WRITE_JOBS, current, roles
from app.api.paging import page_info, permission_info
from app.api.representation import parse_body, render, wants_json
from app.errors import FieldRequired, InvalidInput, UnsupportedMediaType
from app.extensions import db
from app.queue import dispatch
from app.schemas import (
    bulk_job_create_schema,
    bulk_job_schema,
    bulk_job_update_schema,
    bulk_jobs_schema,
    load_body,
    page_info_schema,
    permission_info_schema,
)
from app.services import downloads, jobs, listing, sweeper

JOB_PATH = "/unifiedconfig/config/bulkjob/"


def _attachment(body: Any, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _job_type_param(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"jobType must be a number, not {raw!r}", "jobType") from None


def _upload() -> tuple[bytes, str | None, int | None]:
    """The file, description and jobType of a create request, in any of its four forms."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise FieldRequired("A file part named 'file' is required", "file")
        form = request.form
        return upload.read(), form.get("description"), _job_type_param(form.get("jobType"))
    if mimetype in ("text/csv", "text/plain"):
        args = request.args
        return request.get_data(), args.get("description"), _job_type_param(args.get("jobType"))
    if mimetype in ("application/json", "application/xml", "text/xml"):
        body = load_body(bulk_job_create_schema, parse_body(request, "bulkJob"))
        if not body.get("fileContent"):
            raise FieldRequired("fileContent is required", "fileContent")
        content = body["fileContent"].encode("utf-8")
        return content, body.get("description"), body.get("jobType")
    raise UnsupportedMediaType(
        f"Content-Type {mimetype or '(none)'} is not supported; use application/xml, "
        "application/json, multipart/form-data or text/csv",
        "Content-Type",
    )


@bp.post("/bulkjob", strict_slashes=False)
@roles(*WRITE_JOBS)
def create_job() -> Response:
    """Check the upload's syntax, store the job, then queue it."""
    settings = current_app.config["SETTINGS"]
    content, description, job_type = _upload()
    jobs.check_description(description)
    checked = jobs.check_file(content, job_type, settings.max_file_bytes)
    with db.write() as conn:
        job_id = jobs.create_job(conn, checked, description, current().username, settings.host_name)
    if not dispatch(current_app, job_id):
        # Accepted all the same: the job is in the database, and a worker's sweep sends it
        # as soon as the broker is back.
        sweeper.mark_dispatched(db, job_id, dispatched=False)
    response = Response(status=201)
    response.headers["Location"] = f"{request.host_url.rstrip('/')}{JOB_PATH}{job_id}"
    return response


@bp.get("/bulkjob", strict_slashes=False)
@roles(*READ_JOBS)
def list_jobs() -> Response:
    """One page of jobs, newest first unless sorted."""
    page = listing.parse_page(request.args.get("startIndex"), request.args.get("resultsPerPage"))
    with db.read() as conn:
        rows, total, start = jobs.list_jobs(
            conn, page, request.args.get("q"), request.args.get("sort")
        )
    data = {
        "pageInfo": page_info_schema.dump(page_info(page, total, start)),
        "permissionInfo": permission_info_schema.dump(permission_info(current().role)),
        "bulkJobs": bulk_jobs_schema.dump(rows),
    }
    return render(data, "results", json=wants_json(request))


@bp.get("/bulkjob/<id:job_id>", strict_slashes=False)
@roles(*READ_JOBS)
def get_job(job_id: int) -> Response:
    """One job."""
    with db.read() as conn:
        row = jobs.get_job(conn, job_id)
    return render(bulk_job_schema.dump(row), "bulkJob", json=wants_json(request))


@bp.put("/bulkjob/<id:job_id>", strict_slashes=False)
@roles(*WRITE_JOBS)
def update_job(job_id: int) -> Response:
    """Change the description or cancel (jobState 5), guarded by changeStamp."""
    body = load_body(bulk_job_update_schema, parse_body(request, "bulkJob"))
    with db.write() as conn:
        row = jobs.update_job(
            conn,
            job_id,
            body.get("changeStamp"),
            body.get("description"),
            body.get("jobState"),
            current().username,
        )
    return render(bulk_job_schema.dump(row), "bulkJob", json=wants_json(request))


@bp.delete("/bulkjob/<id:job_id>", strict_slashes=False)
@roles(*WRITE_JOBS)
def delete_job(job_id: int) -> Response:
    """Delete a finished job with its file and log."""
    with db.write() as conn:
        jobs.delete_job(conn, job_id, current().username)
    return Response(status=200)


@bp.get("/bulkjob/<id:job_id>/log", strict_slashes=False)
@roles(*READ_JOBS)
def job_log(job_id: int) -> Response:
    """The job's log, streamed."""
    body = downloads.as_bytes(downloads.open_log(db.engine, job_id))
    return _attachment(body, "text/plain; charset=utf-8", f"bulkjob-{job_id}.log")


@bp.get("/bulkjob/<id:job_id>/csv", strict_slashes=False)
@roles(*READ_JOBS)
def job_csv(job_id: int) -> Response:
    """The file as uploaded, byte for byte (a SCIM bulk job's: the BulkRequest, as JSON)."""
    content, media_type, suffix = downloads.open_original(db.engine, job_id)
    return _attachment(content, media_type, f"bulkjob-{job_id}.{suffix}")


@bp.get("/bulkjob/<id:job_id>/response", strict_slashes=False)
@roles(*READ_JOBS)
def job_bulk_response(job_id: int) -> Response:
    """A SCIM bulk job's BulkResponse (RFC 7644 §3.7.3): the operations run so far."""
    body = json.dumps(downloads.open_bulk_response(db.engine, job_id), ensure_ascii=False)
    return Response(body, mimetype="application/scim+json")


@bp.get("/bulkjob/<id:job_id>/failed", strict_slashes=False)
@roles(*READ_JOBS)
def job_failed(job_id: int) -> Response:
    """The rows that failed, with their line numbers and errors, ready to fix and resubmit."""
    body = downloads.as_bytes(downloads.open_failed(db.engine, job_id))
    return _attachment(body, "text/csv; charset=utf-8", f"bulkjob-{job_id}-failed.csv")


@bp.get("/bulkjob/templates/ssomigration", strict_slashes=False)
@roles(*READ_JOBS)
def sso_template() -> Response:
    """The first 12,000 agents not yet on SSO, as a CSV to fill in."""
    limit = current_app.config["SETTINGS"].template_limit
    rows = downloads.open_template(db.engine, request.args.get("q"), limit)
    return _attachment(downloads.as_bytes(rows), "text/csv; charset=utf-8", "ssomigration.csv")

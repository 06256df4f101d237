"""/bulkjob: create, list, get, update, delete, revert and retry jobs; their log, CSV, failed
rows and results; templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import Response, current_app, request

from app.accounts.roles import READ_JOBS, WRITE_JOBS
from app.api import bp
from app.api.auth import current, roles
from app.api.paging import page_info, permission_info
from app.api.representation import parse_body, render, render_body, respond, wants_json
from app.api.schemas import (
    bulk_job_create_schema,
    bulk_job_schema,
    bulk_job_update_schema,
    bulk_jobs_schema,
    load_body,
    page_info_schema,
    permission_info_schema,
    retry_schema,
    revert_schema,
)
from app.db import db, listing
from app.directory import agent_template as agent_template_csv
from app.directory import object_templates, template
from app.exceptions import FieldRequired, InvalidInput, UnsupportedMediaType
from app.http import attachment
from app.jobs import downloads, idempotency, plan, retry, revert, schedule, store
from app.jobs import types as jobtypes
from app.jobs.check import parse_stop_after_failures
from app.jobs.submit import after_update, submit
from app.urls import job_path


def _job_type_param(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"jobType must be a number, not {raw!r}", "jobType") from None


def _boolean_param(raw: str | None, name: str, default: bool) -> bool:
    """A form field or query parameter ``name``: true or false (absent or empty: ``default``)."""
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidInput(f"{name} must be true or false, not {raw!r}", name)
    return lowered == "true"


def _upload() -> tuple[bytes, dict[str, Any]]:
    """The file and the options of a create request (description, jobType, startAfter,
    notifyURL, dryRun, stopAfterFailures, createMissing), in any of its four forms."""
    mimetype = request.mimetype
    if mimetype in ("multipart/form-data", "text/csv", "text/plain"):
        fields: Mapping[str, str]
        if mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise FieldRequired("A file part named 'file' is required", "file")
            content, fields = upload.read(), request.form
        else:
            content, fields = request.get_data(), request.args
        return content, {
            "description": fields.get("description"),
            "job_type": _job_type_param(fields.get("jobType")),
            "start_after": schedule.parse_param(fields.get("startAfter")),
            "notify_url": fields.get("notifyURL"),
            "dry_run": _boolean_param(fields.get("dryRun"), "dryRun", False),
            "create_missing": _boolean_param(fields.get("createMissing"), "createMissing", True),
            "stop_after_failures": parse_stop_after_failures(fields.get("stopAfterFailures")),
        }
    if mimetype in ("application/json", "application/xml", "text/xml"):
        body = load_body(bulk_job_create_schema, parse_body(request, "bulkJob"))
        if not body.get("fileContent"):
            raise FieldRequired("fileContent is required", "fileContent")
        return body["fileContent"].encode("utf-8"), {
            "description": body.get("description"),
            "job_type": body.get("jobType"),
            "start_after": body.get("startAfter"),
            "notify_url": body.get("notifyURL"),
            "dry_run": bool(body.get("dryRun")),
            "create_missing": body.get("createMissing") is not False,
            "stop_after_failures": body.get("stopAfterFailures"),
        }
    raise UnsupportedMediaType(
        f"Content-Type {mimetype or '(none)'} is not supported; use application/xml, "
        "application/json, multipart/form-data or text/csv",
        "Content-Type",
    )


@bp.post("/bulkjob", strict_slashes=False)
@roles(*WRITE_JOBS)
def create_job() -> Response:
    """Check the upload, store the job, then queue it; 201 with the job's Location. Sent again
    with the same Idempotency-Key: the same answer, and no second job (docs/api.md)."""
    user = current().username
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    content, options = _upload()
    keyed = None if key is None else idempotency.Keyed(user, key, _digest(content, options))
    job_id = submit(current_app, content, created_by=user, keyed=keyed, **options)
    return _created(job_id, replayed=keyed is not None and keyed.replayed)


def _digest(content: bytes, options: dict[str, Any]) -> str:
    """The hash an Idempotency-Key is checked against: what defines the create, not its bytes
    (a multipart body's boundary differs on every send, as may the spacing of a JSON body)."""
    described = json.dumps(options, sort_keys=True)
    return idempotency.request_hash("POST /bulkjob", request.mimetype, described, content)


def _created(job_id: int, replayed: bool = False) -> Response:
    response = Response(status=201)
    response.headers["Location"] = f"{request.host_url.rstrip('/')}{job_path(job_id)}"
    if replayed:
        response.headers[idempotency.REPLAYED_HEADER] = "true"
    return response


@bp.post("/bulkjob/<id:job_id>/revert", strict_slashes=False)
@roles(*WRITE_JOBS)
def revert_job(job_id: int) -> Response:
    """Create the job that puts back what an SSO-migration job changed; 201 with its Location."""
    description = None
    length = request.content_length
    if length or (length is None and request.mimetype):  # a body (the bulkJob is optional)
        body = load_body(revert_schema, parse_body(request, "bulkJob"))
        description = body.get("description")
    new_id = revert.revert(
        current_app, job_id, description=description, created_by=current().username
    )
    return _created(new_id)


@bp.post("/bulkjob/<id:job_id>/retry", strict_slashes=False)
@roles(*WRITE_JOBS)
def retry_job(job_id: int) -> Response:
    """Create the job that runs a finished job's failed and unprocessed lines again (those of
    an optional corrected file, with its cells); 201 with its Location."""
    corrected, description = _retry_body()
    new_id = retry.retry(
        current_app,
        job_id,
        corrected=corrected,
        description=description,
        created_by=current().username,
    )
    return _created(new_id)


def _retry_body() -> tuple[bytes | None, str | None]:
    """A retry's optional corrected file and description: a bulkJob (XML or JSON), a
    multipart form with a ``file`` part, or a raw CSV with ``?description=``."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        upload = request.files.get("file")
        return (upload.read() if upload else None), request.form.get("description")
    if mimetype in ("text/csv", "text/plain"):
        return request.get_data() or None, request.args.get("description")
    length = request.content_length
    if not (length or (length is None and mimetype)):
        return None, request.args.get("description")
    body = load_body(retry_schema, parse_body(request, "bulkJob"))
    content = body.get("fileContent")
    return (content.encode("utf-8") if content else None), body.get("description")


@bp.get("/bulkjob", strict_slashes=False)
@roles(*READ_JOBS)
def list_jobs() -> Response:
    """One page of jobs, newest first unless sorted."""
    page = listing.parse_page(request.args.get("startIndex"), request.args.get("resultsPerPage"))
    with db.read() as conn:
        rows, total, start = store.list_jobs(
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
    """One job. A poll with a live bearer token is answered before Flask (app/api/polls.py);
    this answers the rest (HTTP Basic, a query string, every refusal)."""
    json = wants_json(request)
    job = store.poll_job(db.engine, job_id)
    return respond(job_body(tuple(job.items()), json), json)


@lru_cache(maxsize=1024)
def job_body(row: tuple[tuple[str, Any], ...], json: bool) -> bytes:
    """A job's representation is a function of its row alone (every column, as read): a poller
    asking again for a job that has not changed since this process last rendered it gets the
    same bytes without dumping and encoding them again (docs/performance.md)."""
    return render_body(bulk_job_schema.dump(dict(row)), "bulkJob", json)


@bp.put("/bulkjob/<id:job_id>", strict_slashes=False)
@roles(*WRITE_JOBS)
def update_job(job_id: int) -> Response:
    """Change the description, cancel (jobState 5) or reschedule, guarded by changeStamp."""
    body = load_body(bulk_job_update_schema, parse_body(request, "bulkJob"))
    with db.write() as conn:
        row = store.update_job(
            conn,
            job_id,
            body.get("changeStamp"),
            body.get("description"),
            body.get("jobState"),
            current().username,
            (body["startAfter"],) if "startAfter" in body else None,
        )
    after_update(current_app, row)
    return render(bulk_job_schema.dump(row), "bulkJob", json=wants_json(request))


@bp.delete("/bulkjob/<id:job_id>", strict_slashes=False)
@roles(*WRITE_JOBS)
def delete_job(job_id: int) -> Response:
    """Delete a finished job with its file and log."""
    with db.write() as conn:
        store.delete_job(conn, job_id, current().username)
    return Response(status=200)


@bp.get("/bulkjob/<id:job_id>/log", strict_slashes=False)
@roles(*READ_JOBS)
def job_log(job_id: int) -> Response:
    """The job's log, streamed."""
    return attachment(downloads.log(db.engine, job_id))


@bp.get("/bulkjob/<id:job_id>/csv", strict_slashes=False)
@roles(*READ_JOBS)
def job_csv(job_id: int) -> Response:
    """The file as uploaded, byte for byte (a SCIM bulk job's: the BulkRequest, as JSON)."""
    return attachment(downloads.original(db.engine, job_id))


@bp.get("/bulkjob/<id:job_id>/results", strict_slashes=False)
@roles(*READ_JOBS)
def job_results(job_id: int) -> Response:
    """Every line with what it did: outcome, the object's refURL, the error (a finished job)."""
    return attachment(downloads.results(db.engine, job_id))


@bp.get("/bulkjob/<id:job_id>/plan", strict_slashes=False)
@roles(*READ_JOBS)
def job_plan(job_id: int) -> Response:
    """What a finished dry run says a real run would do, line by line: JSON when asked for
    (``action`` filters its lines), else CSV (a row per changed field)."""
    if wants_json(request):
        document = plan.plan_json(db.engine, job_id, request.args.get("action"))
        return Response(json.dumps(document), mimetype="application/json")
    return attachment(plan.plan_csv(db.engine, job_id))


@bp.get("/bulkjob/<id:job_id>/failed", strict_slashes=False)
@roles(*READ_JOBS)
def job_failed(job_id: int) -> Response:
    """The rows that failed, with their line numbers and errors, ready to fix and resubmit."""
    return attachment(downloads.failed(db.engine, job_id))


@roles(*READ_JOBS)
def job_extra(job_id: int, name: str) -> Response:
    """What the job's type offers beyond the rest (a SCIM bulk job's BulkResponse, RFC 7644
    §3.7.3: the operations run so far), served as itself rather than as an attachment."""
    download = downloads.extra(db.engine, job_id, name)
    return Response(download.body, mimetype=download.media_type)


for _name in jobtypes.extra_names():
    bp.add_url_rule(
        f"/bulkjob/<id:job_id>/{_name}",
        view_func=job_extra,
        defaults={"name": _name},
        strict_slashes=False,
    )


@bp.get("/bulkjob/templates/agent", strict_slashes=False)
@roles(*READ_JOBS)
def agent_template() -> Response:
    """The agents as an agent file (UPDATE rows, password ~), 12,000 from ``startIndex``."""
    limit = current_app.config["SETTINGS"].template_limit
    args = request.args
    return attachment(
        agent_template_csv.download(db.engine, args.get("q"), args.get("startIndex"), limit)
    )


@roles(*READ_JOBS)
def object_template(name: str) -> Response:
    """Skill groups, call types or dialed numbers as their file (UPDATE rows), 12,000 from
    ``startIndex``."""
    limit = current_app.config["SETTINGS"].template_limit
    return attachment(
        object_templates.template(db.engine, name, request.args.get("startIndex"), limit)
    )


for _name in object_templates.TEMPLATES:
    bp.add_url_rule(
        f"/bulkjob/templates/{_name}",
        view_func=object_template,
        defaults={"name": _name},
        endpoint=f"{_name}_template",
        strict_slashes=False,
    )


@bp.get("/bulkjob/templates/ssomigration", strict_slashes=False)
@roles(*READ_JOBS)
def sso_template() -> Response:
    """The first 12,000 agents not yet on SSO, as a CSV to fill in."""
    limit = current_app.config["SETTINGS"].template_limit
    return attachment(template.download(db.engine, request.args.get("q"), limit))

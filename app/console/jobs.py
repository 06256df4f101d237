"""The console's job pages: the list, a new job, one job, cancel, delete and the downloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from app.accounts.roles import READ_JOBS, WRITE_JOBS
from app.console import bp, error_page
from app.console.auth import current, json_endpoint, page
from app.console.formatting import state_name
from app.db import db, listing
from app.db.models import JobState
from app.db.sql import now_ms
from app.exceptions import InvalidInput, NotFound, ServiceError
from app.http import attachment
from app.jobs import downloads, failures, schedule, store
from app.jobs import types as jobtypes
from app.jobs.check import parse_stop_after_failures
from app.jobs.submit import after_update, submit

FAILED_PER_PAGE = 50
MAX_STATUS_IDS = 100
# Columns of the list that sort, and the direction a first click sorts them in.
SORT_COLUMNS = {
    "description": "asc",
    "jobType": "asc",
    "jobState": "asc",
    "createDateTime": "desc",
    "startDateTime": "desc",
    "endDateTime": "desc",
}


@dataclass(frozen=True)
class Pager:
    """Where a page of ``total`` items starts, and where its neighbours do."""

    start: int
    per_page: int
    total: int
    shown: int

    @property
    def prev_start(self) -> int | None:
        return max(0, self.start - self.per_page) if self.start > 0 else None

    @property
    def next_start(self) -> int | None:
        following = self.start + self.per_page
        return following if following < self.total else None

    @property
    def last_start(self) -> int:
        return ((self.total - 1) // self.per_page) * self.per_page if self.total else 0


def _username() -> str:
    principal = current()
    return principal.username if principal else ""


def _sort_links(sort: str | None) -> dict[str, tuple[str, str]]:
    """For each sortable column: the sort term a click asks for, and its aria-sort state."""
    field, _, direction = (sort or "").strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    links = {}
    for name, first in SORT_COLUMNS.items():
        if name == field:
            flipped = "desc" if direction == "asc" else "asc"
            aria = "ascending" if direction == "asc" else "descending"
            links[name] = (f"{name} {flipped}", aria)
        else:
            links[name] = (f"{name} {first}", "none")
    return links


@bp.get("/")
@page(*READ_JOBS)
def jobs_list() -> tuple[str, int]:
    """Jobs, newest first, with the API's search (q), sort and paging."""
    q, sort = request.args.get("q"), request.args.get("sort")
    rows: list[Any] = []
    error = None
    try:
        page_ = listing.parse_page(
            request.args.get("startIndex"), request.args.get("resultsPerPage")
        )
        with db.read() as conn:
            rows, total, start = store.list_jobs(conn, page_, q, sort)
        pager = Pager(start, page_.results_per_page, total, len(rows))
    except InvalidInput as exc:
        error = exc.message
        pager = Pager(0, listing.DEFAULT_PER_PAGE, 0, 0)
    return render_template(
        "jobs.html",
        rows=rows,
        paging=pager,
        q=q or "",
        sort=sort or "",
        sort_links=_sort_links(sort),
        error=error,
    ), (400 if error else 200)


@bp.get("/jobs/status")
@json_endpoint(*READ_JOBS)
def jobs_status() -> Response | tuple[Response, int]:
    """The bulkJob fields of ``ids`` (comma-separated), for the pages' live progress."""
    raw = [part for part in request.args.get("ids", "").split(",") if part.strip()]
    try:
        ids = [int(part) for part in raw[:MAX_STATUS_IDS]]
    except ValueError:
        return jsonify(error="ids must be job numbers separated by commas"), 400
    found = []
    with db.read() as conn:
        for job_id in ids:
            try:
                row = store.get_job(conn, job_id)
            except ServiceError:
                continue  # deleted meanwhile: the page simply stops following it
            found.append(_progress(row))
    return jsonify(bulkJobs=found)


def _progress(row: Any) -> dict[str, Any]:
    """What the pages' script updates as a job runs (console.js), under the API's names."""
    progress = {
        "id": row.id,
        "jobState": row.job_state,
        "jobStateName": state_name(row.job_state),
        "active": row.job_state in JobState.ACTIVE,
        "totalRecords": row.total_records,
        "processedRecords": row.processed_records,
        "succeededRecords": row.succeeded_records,
        "failedRecords": row.failed_records,
        "startDateTime": row.start_ms,
        "endDateTime": row.end_ms,
    }
    return {key: value for key, value in progress.items() if value is not None}


def _new_job_page(error: str | None = None, status: int = 200, **form: Any) -> tuple[str, int]:
    values = {
        "description": "",
        "job_type": "",
        "pasted": "",
        "filename": "",
        "start_at": "",
        "notify_url": "",
        "dry_run": False,
        "stop_after_failures": "",
    }
    values.update(form)
    return render_template("new.html", error=error, **values), status


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """A body over the request limit is refused before it is read: say so on the page."""
    limit = current_app.config["SETTINGS"].max_file_bytes
    message = f"The upload is too large; a file may be at most {limit:,} bytes (3 MB)."
    principal = current()
    if request.endpoint == "console.new_job" and principal and principal.role in WRITE_JOBS:
        return _new_job_page(message, 413)
    return error_page(413, message)


@bp.route("/jobs/new", methods=["GET", "POST"])
@page(*WRITE_JOBS)
def new_job() -> tuple[str, int] | BaseResponse:
    """Upload or paste a CSV; a file that fails the syntax check is refused here, inline."""
    if request.method == "GET":
        return _new_job_page()
    form = request.form
    kept: dict[str, Any] = {
        "description": form.get("description", ""),
        "job_type": form.get("jobType", ""),
        "pasted": form.get("pasted", ""),
        "dry_run": form.get("dryRun") == "true",
        "start_at": form.get("startAt", ""),
        "notify_url": form.get("notifyURL", ""),
        "stop_after_failures": form.get("stopAfterFailures", ""),
    }
    upload = request.files.get("file")
    content = upload.read() if upload is not None else b""
    if content and upload is not None:
        kept["filename"] = upload.filename or ""
    pasted = kept["pasted"]
    if content and pasted.strip():
        return _new_job_page("Choose a file or paste CSV text, not both.", 400, **kept)
    if not content:
        content = pasted.encode("utf-8")
    if not content.strip():
        return _new_job_page("Choose a CSV file or paste its contents.", 400, **kept)
    try:
        job_type = int(kept["job_type"]) if kept["job_type"].strip() else None
    except ValueError:
        return _new_job_page("Choose a job type from the list.", 400, **kept)
    try:
        job_id = submit(
            current_app,
            content,
            description=kept["description"],
            created_by=_username(),
            job_type=job_type,
            dry_run=kept["dry_run"],
            start_after=_start_after(form.get("startAfter"), kept["start_at"]),
            notify_url=kept["notify_url"] or None,
            stop_after_failures=parse_stop_after_failures(kept["stop_after_failures"]),
        )
    except ServiceError as exc:
        return _new_job_page(exc.message, 400, **kept)
    with db.read() as conn:
        start_after = store.get_job(conn, job_id).start_after_ms
    if start_after is not None and start_after > now_ms():
        flash(f"Job {job_id} created; it starts at {schedule.format_ms(start_after)}.", "ok")
    else:
        flash(f"Job {job_id} created; it runs as soon as a worker takes it.", "ok")
    return redirect(url_for("console.job_page", job_id=job_id), 303)


def _start_after(ms: str | None, typed: str) -> int | None:
    """The start time: ms since the epoch as the page's script sends it (from the browser's
    zone), else the date and time typed, read as UTC (no script)."""
    if ms and ms.strip():
        return schedule.parse_param(ms)
    if not typed.strip():
        return None
    try:
        moment = datetime.fromisoformat(typed.strip())
    except ValueError:
        raise InvalidInput(
            f"Start at is not a date and time: {typed[:40]!r}", "startAfter"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@bp.get("/jobs/<id:job_id>")
@page(*READ_JOBS)
def job_page(job_id: int) -> str:
    """One job: its fields, live progress, downloads, actions and failed rows."""
    page_ = listing.parse_page(request.args.get("failedStart"), str(FAILED_PER_PAGE))
    reason = request.args.get("reason") or None
    with db.read() as conn:
        job = store.get_job(conn, job_id)
        # What a finished job created, updated and deleted, in its type's words (the log's
        # last line), for the types that say (docs/console.md).
        did = None
        if job.job_state in JobState.FINISHED and job.job_type in jobtypes.registry():
            did = jobtypes.get(job.job_type).summary(conn, job_id, job.dry_run)
    failed = failures.failed_page(db.engine, job_id, page_, reason)
    pager = Pager(failed.start, FAILED_PER_PAGE, failed.total, len(failed.rows))
    groups = failures.reasons(db.engine, job_id) if job.failed_records else []
    return render_template(
        "job.html",
        job=job,
        failed=failed,
        paging=pager,
        reasons=groups,
        reason=reason,
        can_revert=_can_revert(job),
        can_retry=_can_retry(job),
        did=did,
    )


def _can_revert(job: Any) -> bool:
    """Whether the job page offers Revert… (the confirmation page makes every check)."""
    return (
        jobtypes.reverting(job.job_type) is not None
        and not job.dry_run
        and job.job_state in JobState.FINISHED
        and job.succeeded_records > 0
        and job.reverted_by is None
    )


def _can_retry(job: Any) -> bool:
    """Whether the job page offers Retry failed rows… (the retry page makes every check)."""
    kind = jobtypes.registry().get(job.job_type)
    return (
        kind is not None
        and kind.uploadable
        and job.job_state in JobState.FINISHED
        and (job.failed_records > 0 or job.processed_records < job.total_records)
        and job.retried_by is None
    )


def _confirm_page(job: Any, action: str) -> str:
    return render_template("confirm.html", job=job, action=action)


@bp.route("/jobs/<id:job_id>/cancel", methods=["GET", "POST"])
@page(*WRITE_JOBS)
def cancel_job(job_id: int) -> str | BaseResponse:
    """Ask to confirm, then cancel: a Queued job at once, a Processing one at its next chunk."""
    if request.method == "GET":
        with db.read() as conn:
            return _confirm_page(store.get_job(conn, job_id), "cancel")
    row = _put(job_id, JobState.CANCELLED, None)
    if row is not None and row.job_state == JobState.CANCELLED:
        flash(f"Job {job_id} cancelled.", "ok")
    elif row is not None:
        flash(f"Job {job_id} stops after the records it is working on now.", "ok")
    return redirect(url_for("console.job_page", job_id=job_id), 303)


@bp.post("/jobs/<id:job_id>/start-now")
@page(*WRITE_JOBS)
def start_now(job_id: int) -> BaseResponse:
    """Remove a Queued job's start time, so it starts now (the API's PUT "startAfter": null)."""
    if _put(job_id, None, (None,)) is not None:
        flash(f"Job {job_id} starts as soon as a worker takes it.", "ok")
    return redirect(url_for("console.job_page", job_id=job_id), 303)


def _put(job_id: int, job_state: int | None, start_after: tuple[int | None] | None) -> Any:
    """The console's PUT, guarded by the form's changeStamp, then what follows a PUT (a job now
    due is sent, a cancelled one's notification too); None, with the refusal flashed, if the job
    finished, started or changed meanwhile."""
    try:
        stamp = int(request.form.get("changeStamp", ""))
    except ValueError:
        stamp = None
    try:
        with db.write() as conn:
            row = store.update_job(conn, job_id, stamp, None, job_state, _username(), start_after)
    except NotFound:
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
        return None
    after_update(current_app, row)
    return row


@bp.route("/jobs/<id:job_id>/delete", methods=["GET", "POST"])
@page(*WRITE_JOBS)
def delete_job(job_id: int) -> str | BaseResponse:
    """Ask to confirm, then delete a finished job with its file and log."""
    if request.method == "GET":
        with db.read() as conn:
            return _confirm_page(store.get_job(conn, job_id), "delete")
    try:
        with db.write() as conn:
            store.delete_job(conn, job_id, _username())
    except NotFound:
        raise
    except ServiceError as exc:  # still running
        flash(exc.message, "error")
        return redirect(url_for("console.job_page", job_id=job_id), 303)
    flash(f"Job {job_id} deleted.", "ok")
    return redirect(url_for("console.jobs_list"), 303)


@bp.get("/jobs/<id:job_id>/log")
@page(*READ_JOBS)
def job_log(job_id: int) -> Response:
    """The job's log, streamed (the API's log)."""
    return attachment(downloads.log(db.engine, job_id))


@bp.get("/jobs/<id:job_id>/csv")
@page(*READ_JOBS)
def job_csv(job_id: int) -> Response:
    """The file as uploaded, byte for byte."""
    return attachment(downloads.original(db.engine, job_id))


@bp.get("/jobs/<id:job_id>/results")
@page(*READ_JOBS)
def job_results(job_id: int) -> Response:
    """Every line of a finished job with what it did (the API's results)."""
    return attachment(downloads.results(db.engine, job_id))


@bp.get("/jobs/<id:job_id>/failed")
@page(*READ_JOBS)
def job_failed(job_id: int) -> Response:
    """The failed rows with their line numbers and errors, ready to fix and upload again."""
    return attachment(downloads.failed(db.engine, job_id))


@page(*READ_JOBS)
def job_extra(job_id: int, name: str) -> Response:
    """What the job's type offers beyond the rest (a SCIM bulk job's BulkResponse)."""
    return attachment(downloads.extra(db.engine, job_id, name))


for _name in jobtypes.extra_names():
    bp.add_url_rule(f"/jobs/<id:job_id>/{_name}", view_func=job_extra, defaults={"name": _name})

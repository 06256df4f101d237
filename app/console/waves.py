"""The console's pages that act on a finished SSO-migration wave: run a dry run for real, and
revert a job (docs/concepts.md, "Dry run" and "Revert"), each after a confirmation page."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from app.accounts.roles import WRITE_JOBS
from app.console import bp
from app.console.auth import current, page
from app.db import db
from app.db.models import JobState
from app.exceptions import NotFound, ServiceError
from app.jobs import revert, store
from app.jobs.submit import submit


def _username() -> str:
    principal = current()
    return principal.username if principal else ""


@bp.route("/jobs/<id:job_id>/run", methods=["GET", "POST"])
@page(*WRITE_JOBS)
def run_for_real(job_id: int) -> str | BaseResponse:
    """Ask to confirm, then create a real job with a finished dry run's file and description."""
    with db.read() as conn:
        job = store.get_job(conn, job_id)
        content = store.job_file(conn, job_id)
    problem = None
    if not job.dry_run:
        problem = f"Job {job_id} is not a dry run."
    elif job.job_state in JobState.ACTIVE:
        problem = f"Job {job_id} is still {JobState.NAMES[job.job_state]}; wait for it to end."
    if request.method == "GET" or problem is not None:
        return render_template("wave_confirm.html", job=job, action="run", problem=problem)
    try:
        new_id = submit(
            current_app,
            content,
            description=job.description,
            created_by=_username(),
            job_type=job.job_type,
            # As the dry run decided: the same options.
            stop_after_failures=job.stop_after_failures,
            create_missing=job.create_missing,
        )
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("console.job_page", job_id=job_id), 303)
    flash(f"Job {new_id} created from dry run {job_id}; it changes the agents for real.", "ok")
    return redirect(url_for("console.job_page", job_id=new_id), 303)


@bp.route("/jobs/<id:job_id>/revert", methods=["GET", "POST"])
@page(*WRITE_JOBS)
def revert_job(job_id: int) -> str | BaseResponse:
    """Ask to confirm (saying how many agents it touches), then create the revert job."""
    with db.read() as conn:
        job = store.get_job(conn, job_id)
        try:
            plan = revert.plan(conn, job_id)
        except NotFound:
            raise
        except ServiceError as exc:
            return render_template(
                "wave_confirm.html", job=job, action="revert", problem=exc.message
            )
    if request.method == "GET":
        return render_template("wave_confirm.html", job=job, action="revert", plan=plan)
    try:
        new_id = revert.revert(current_app, job_id, description=None, created_by=_username())
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("console.job_page", job_id=job_id), 303)
    flash(f"Job {new_id} created: it reverts job {job_id}.", "ok")
    return redirect(url_for("console.job_page", job_id=new_id), 303)

"""A dry run's plan in the console (docs/console.md): counts per action (each a filter), the
objects the file would create, the lines and the fields they would change, and "Run it for
real" under it. The same plan as the API's (app/jobs/plan.py)."""

from __future__ import annotations

from flask import Response, render_template, request

from app.accounts.roles import READ_JOBS
from app.console import bp
from app.console.auth import page
from app.db import db
from app.http import attachment
from app.jobs import plan, store

# Lines shown on the page; the rest are in the CSV download.
SHOWN = 500


@bp.get("/jobs/<id:job_id>/plan")
@page(*READ_JOBS)
def plan_page(job_id: int) -> str:
    """What a finished dry run says a real run would do."""
    action = request.args.get("action") or None
    document = plan.plan_json(db.engine, job_id, action)
    with db.read() as conn:
        job = store.get_job(conn, job_id)
    lines = document["lines"]
    return render_template(
        "plan.html",
        job=job,
        counts=document["counts"],
        creates=document["creates"],
        lines=lines[:SHOWN],
        hidden=max(0, len(lines) - SHOWN),
        action=action,
    )


@bp.get("/jobs/<id:job_id>/plan.csv")
@page(*READ_JOBS)
def plan_download(job_id: int) -> Response:
    """The plan as CSV (the API's)."""
    return attachment(plan.plan_csv(db.engine, job_id))

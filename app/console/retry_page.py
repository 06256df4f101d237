"""The console's retry page (docs/console.md, "Pages"): a finished job's failed and unprocessed
rows, each cell editable in the page, then the retry job made from the rows kept
(docs/concepts.md, "Retry")."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from app.accounts.roles import WRITE_JOBS
from app.console import bp
from app.console.auth import current, page
from app.db import db
from app.exceptions import NotFound, ServiceError
from app.jobs import retry, store
from app.jobs import types as jobtypes
from app.jobs.types.csvfile import as_bytes, csv_rows

# More rows than this are not offered for correction in the page (retried as they are, or
# corrected in the failed-rows download and sent with the API or the command).
MAX_FORM_ROWS = 200


def _username() -> str:
    principal = current()
    return principal.username if principal else ""


@bp.route("/jobs/<id:job_id>/retry", methods=["GET", "POST"])
@page(*WRITE_JOBS)
def retry_job(job_id: int) -> tuple[str, int] | BaseResponse:
    """The rows to retry, each cell editable; then the retry job of the rows kept."""
    with db.read() as conn:
        job = store.get_job(conn, job_id)
        try:
            retry.plan(conn, job_id)
        except NotFound:
            raise
        except ServiceError as exc:
            return _page(job, problem=exc.message)
        kind = jobtypes.get(job.job_type)
        found = retry.retryable(conn, job_id, kind)
    if request.method == "GET":
        return _page(job, columns=kind.columns, rows=_rows(found))
    as_they_are = request.form.get("mode") == "all" or len(found) > MAX_FORM_ROWS
    corrected = None if as_they_are else _corrected(kind.columns, found)
    if corrected is None and not as_they_are:
        error = "Choose at least one row to retry."
        return _page(job, columns=kind.columns, rows=_rows(found, request.form), error=error)
    try:
        new_id = retry.retry(current_app, job_id, corrected=corrected, created_by=_username())
    except NotFound:
        raise
    except ServiceError as exc:
        rows = _rows(found, request.form)
        return _page(job, columns=kind.columns, rows=rows, error=exc.message)
    flash(f"Job {new_id} created: it retries rows of job {job_id}.", "ok")
    return redirect(url_for("console.job_page", job_id=new_id), 303)


def _page(job: Any, **values: Any) -> tuple[str, int]:
    """The page; 400 when it answers a form it refused."""
    values.setdefault("rows", [])
    values.setdefault("columns", ())
    status = 400 if values.get("error") else 200
    return render_template("retry.html", job=job, limit=MAX_FORM_ROWS, **values), status


def _rows(found: dict[int, retry.RetryLine], form: Any = None) -> list[dict[str, Any]]:
    """The rows as the page shows them: a form sent back keeps what was typed and chosen."""
    kept = set(form.getlist("line")) if form is not None else None
    rows = []
    for number, line in found.items():
        cells = [
            (
                form.get(f"c{number}-{i}", shown) if form is not None else shown,
                shown != line.values[i],  # masked (a password): kept unless changed
            )
            for i, shown in enumerate(line.shown)
        ]
        chosen = kept is None or str(number) in kept
        rows.append({"number": number, "cells": cells, "error": line.error, "chosen": chosen})
    return rows


def _corrected(columns: tuple[str, ...], found: dict[int, retry.RetryLine]) -> bytes | None:
    """The rows chosen in the form as a corrected file (the columns plus lineNumber), or None
    if none was chosen."""
    form = request.form
    chosen = [int(n) for n in form.getlist("line") if n.isdigit() and int(n) in found]
    if not chosen:
        return None
    rows: list[list[str]] = [[*columns, retry.LINE_NUMBER]]
    for number in chosen:
        shown = found[number].shown
        cells = [form.get(f"c{number}-{i}", value) for i, value in enumerate(shown)]
        rows.append([*cells, str(number)])
    return b"".join(as_bytes(csv_rows(rows)))

"""The one way a job comes to be: check, store, commit, then ask a worker to run it.

The API's create, the console's new-job form and SCIM's asynchronous /Bulk all call
:func:`submit`, so every job is checked, stored and sent the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db import db
from app.jobs import queue, store, sweeper
from app.jobs.check import check_description, check_dry_run, check_file

if TYPE_CHECKING:
    from flask import Flask


def submit(
    app: Flask,
    content: bytes,
    *,
    description: str | None,
    created_by: str,
    job_type: int | None = None,
    uploaded: bool = True,
    origin: str | None = None,
    dry_run: bool = False,
    revert_of: int | None = None,
) -> int:
    """Check ``content``, store it as a Queued job and queue it; the new job's id.

    ``dry_run``: a job that decides every record and changes nothing (README: Dry run), for
    types that offer it; ``revert_of``: the job a revert job reverts (``app.jobs.revert``).

    Refusals raise before anything is stored. The message to a worker is sent only after the
    job has committed; if the broker refuses it, the job is marked as not sent, so the next
    sweep of any worker sends it (README: "Nothing accepted is lost").
    """
    settings = app.config["SETTINGS"]
    description = check_description(description)
    checked = check_file(content, job_type, settings.max_file_bytes, uploaded=uploaded)
    if dry_run:
        check_dry_run(checked.job_type)
    with db.write() as conn:
        job_id = store.create_job(
            conn,
            checked,
            description,
            created_by,
            settings.host_name,
            origin,
            dry_run=dry_run,
            revert_of=revert_of,
        )
    if not queue.dispatch(app, job_id):
        sweeper.mark_dispatched(db, job_id, dispatched=False)
    return job_id

"""The one way a job comes to be: check, store, commit, then ask a worker to run it.

The API's create, the console's new-job form and SCIM's asynchronous /Bulk all call
:func:`submit`, so every job is checked, stored and sent the same way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.db import db
from app.db.models import JobState
from app.db.sql import now_ms
from app.jobs import notify, queue, store, sweeper
from app.jobs import types as jobtypes
from app.jobs.check import (
    check_description,
    check_dry_run,
    check_file,
    check_stop_after_failures,
)
from app.jobs.schedule import check_start_after

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
    start_after: int | None = None,
    notify_url: str | None = None,
    pre_checked: tuple[int, str] | None = None,
    retry_of: int | None = None,
    stop_after_failures: int | None = None,
    max_bytes: int | None = None,
) -> int:
    """Check ``content``, store it as a Queued job and queue it; the new job's id.

    ``dry_run``: a job that decides every record and changes nothing (docs/concepts.md,
    "Dry run"), for types that offer it; ``revert_of``: the job a revert job reverts
    (``app.jobs.revert``); ``retry_of``: the job a retry runs lines of again
    (``app.jobs.retry``, whose file, written by the service, may pass ``max_bytes``: the
    limit it answers to); ``stop_after_failures``: docs/concepts.md, "Stop early".

    Refusals raise before anything is stored. The message to a worker is sent only after the
    job has committed; if the broker refuses it, the job is marked as not sent, so the next
    sweep of any worker sends it (docs/operations.md, "Nothing accepted is lost"). A job
    scheduled for later (``start_after``, ms since the epoch) is left to the sweep that follows
    its time; ``notify_url`` is told when the job ends. ``pre_checked``: see :func:`check_file`.
    """
    settings = app.config["SETTINGS"]
    description = check_description(description)
    check_start_after(start_after, now_ms())
    notify_url = notify.check_url(settings, notify_url)
    check_stop_after_failures(stop_after_failures)
    checked = check_file(
        content,
        job_type,
        max_bytes or settings.max_file_bytes,
        uploaded=uploaded,
        pre_checked=pre_checked,
    )
    if dry_run:
        check_dry_run(checked.job_type)
    # What must not rest in plain text (an agent file's passwords) is sealed before storing.
    sealed = jobtypes.get(checked.job_type).seal(checked.content, settings.secret())
    checked = replace(checked, content=sealed)
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
            start_after_ms=start_after,
            notify_url=notify_url,
            retry_of=retry_of,
            stop_after_failures=stop_after_failures,
        )
    send(app, job_id, start_after)
    return job_id


def send(app: Flask, job_id: int, start_after: int | None = None) -> None:
    """Ask a worker to run a committed Queued job now, unless it is scheduled for later (the
    sweep sends it then); a broker that refuses leaves it to the sweep too."""
    if (start_after or 0) > now_ms() or not queue.dispatch(app, job_id):
        sweeper.mark_dispatched(db, job_id, dispatched=False)


def after_update(app: Flask, job: Any) -> None:
    """After a PUT committed: a job whose start is now due is sent at once, and a job that
    the PUT cancelled has its notification sent."""
    if job.job_state == JobState.QUEUED and job.dispatched_ms is None:
        send(app, job.id, job.start_after_ms)
    elif job.job_state in JobState.FINISHED:
        notify.send_pending(app, db, job.id)

"""Bulk jobs in the database: create (see ``app.jobs.submit``), read, list, update, cancel,
delete."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)

from app.db import listing
from app.db.models import Job, JobEvent, JobFile, JobLine, JobNotification, JobState, table
from app.db.sql import DriverQuery, Read, db_now_ms, now_ms
from app.exceptions import (
    FieldRequired,
    InvalidInput,
    JobActive,
    NotFound,
    StaleChangeStamp,
)
from app.jobs import totals
from app.jobs.check import CheckedFile, check_description, check_stop_after_failures
from app.jobs.maintenance import open_window, windows
from app.jobs.schedule import check_start_after, format_ms, scheduled_message
from app.jobs.types.base import JobType, Record

logger = logging.getLogger(__name__)

jobs = table(Job)
files = table(JobFile)
events = table(JobEvent)
lines = table(JobLine)
notifications = table(JobNotification)

SORTABLE = {
    "description": jobs.c.description,
    "jobType": jobs.c.job_type,
    "jobState": jobs.c.job_state,
    "jobHostName": jobs.c.job_host_name,
    "createDateTime": jobs.c.create_ms,
    "startDateTime": jobs.c.start_ms,
    "endDateTime": jobs.c.end_ms,
}
FILTERS: dict[str, listing.Filter] = {
    "jobState": lambda v: jobs.c.job_state == listing.parse_int("jobState", v),
    "jobType": lambda v: jobs.c.job_type == listing.parse_int("jobType", v),
    "dryRun": lambda v: jobs.c.dry_run == listing.parse_bool("dryRun", v),
}

# The job that reverts each job, if any (docs/concepts.md, "Revert"), and the job that
# retries it (docs/concepts.md, "Retry"), read with the job.
_reverts = jobs.alias("reverts")
REVERTED_BY = (
    select(_reverts.c.id).where(_reverts.c.revert_of == jobs.c.id).scalar_subquery()
).label("reverted_by")
_retries = jobs.alias("retries")
RETRIED_BY = (
    select(_retries.c.id).where(_retries.c.retry_of == jobs.c.id).scalar_subquery()
).label("retried_by")


def create_job(
    conn: Connection,
    checked: CheckedFile,
    description: str | None,
    created_by: str,
    host_name: str,
    origin: str | None = None,
    *,
    dry_run: bool = False,
    revert_of: int | None = None,
    start_after_ms: int | None = None,
    notify_url: str | None = None,
    retry_of: int | None = None,
    stop_after_failures: int | None = None,
    create_missing: bool = True,
) -> int:
    """Insert a Queued job with its file; the caller commits, then dispatches. ``origin``: the
    base URL the job's results point into (SCIM bulk jobs); ``dry_run``: a job that changes
    nothing; ``revert_of``: the job it reverts; ``retry_of``: the job whose lines it runs again;
    ``start_after_ms`` (checked), ``notify_url`` (checked against the allowed hosts) and
    ``stop_after_failures`` as docs/concepts.md's "Scheduled start", "Notification when a job
    ends" and "Stop early" say; ``create_missing``: its "Near misses"."""
    now = now_ms()
    start_after_ms = check_start_after(start_after_ms, now)
    job_id = conn.execute(
        insert(jobs)
        .values(
            change_stamp=0,
            description=check_description(description),
            job_type=checked.job_type,
            job_state=JobState.QUEUED,
            job_host_name=host_name,
            created_by=created_by,
            create_ms=now,
            total_records=checked.total_records,
            processed_records=0,
            succeeded_records=0,
            failed_records=0,
            cancel_requested=False,
            dispatched_ms=db_now_ms(conn),  # the sweeper compares it on the database's clock
            origin=origin,
            dry_run=dry_run,
            revert_of=revert_of,
            start_after_ms=start_after_ms,
            notify_url=notify_url,
            retry_of=retry_of,
            stop_after_failures=check_stop_after_failures(stop_after_failures),
            create_missing=create_missing,
        )
        .returning(jobs.c.id)
    ).scalar_one()
    conn.execute(
        insert(files).values(job_id=job_id, content=checked.content, encoding=checked.encoding)
    )
    add_event(conn, job_id, f"Job created by {created_by} on {host_name}", now=now)
    if dry_run:
        add_event(conn, job_id, "Dry run: no changes will be made", now=now)
    if retry_of is not None:
        add_event(
            conn,
            job_id,
            f"Retry of job {retry_of}: each line keeps the number it had in job {retry_of}",
            now=now,
        )
    if stop_after_failures is not None:
        add_event(conn, job_id, f"Job stops early when {stop_after_failures} lines fail", now=now)
    if not create_missing:
        add_event(conn, job_id, "createMissing is false: rows create nothing they name", now=now)
    if start_after_ms is not None:
        add_event(conn, job_id, scheduled_message(start_after_ms), now=now)
    totals.created(conn, checked.job_type)
    return int(job_id)


def record_notification(conn: Connection, job_id: int, now: int, after_line: int = 0) -> None:
    """In the transaction giving the job its final state: a delivery to its notifyURL, if it
    has one, for ``app.jobs.notify`` to send (and the sweep to send again if the broker lost it)."""
    url = conn.execute(select(jobs.c.notify_url).where(jobs.c.id == job_id)).scalar()
    if url:
        conn.execute(
            insert(notifications).values(
                job_id=job_id,
                delivery_id=uuid.uuid4().hex,
                url=url,
                attempts=0,
                next_ms=now,
                dispatched_ms=None,
                done_ms=None,
            )
        )


def add_event(
    conn: Connection, job_id: int, message: str, after_line: int = 0, now: int | None = None
) -> None:
    conn.execute(
        insert(events).values(
            job_id=job_id, at_ms=now or now_ms(), after_line=after_line, message=message
        )
    )


_JOB = select(jobs, REVERTED_BY, RETRIED_BY).where(jobs.c.id == bindparam("job_id"))
# What a poller asks again and again, run on the driver's connection (docs/performance.md).
_POLLED_JOB = DriverQuery(_JOB)


def get_job(conn: Connection, job_id: int) -> Row[Any]:
    row = conn.execute(_JOB, {"job_id": job_id}).first()
    if row is None:
        raise _no_job(job_id)
    return row


def poll_job(engine: Engine, job_id: int) -> Mapping[str, Any]:
    """The job as :func:`get_job` reads it, by column name, in one statement of its own."""
    return polled_job(poll_read(job_id).first(engine), job_id)


def poll_read(job_id: int) -> Read:
    """What :func:`poll_job` reads, to send with other reads in one round trip
    (``app.db.sql.first_rows``); :func:`polled_job` takes its row."""
    return _POLLED_JOB.read(job_id=job_id)


def polled_job(row: Mapping[str, Any] | None, job_id: int) -> Mapping[str, Any]:
    """The job :func:`poll_read` found (NotFound if it found none)."""
    if row is None:
        raise _no_job(job_id)
    return row


def _no_job(job_id: int) -> NotFound:
    return NotFound(f"Bulk job {job_id} does not exist", str(job_id))


def job_file(conn: Connection, job_id: int) -> bytes:
    """The job's stored file, as uploaded."""
    content = conn.execute(select(files.c.content).where(files.c.job_id == job_id)).scalar()
    if content is None:
        raise _no_job(job_id)
    return bytes(content)


def list_jobs(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[Row[Any]], int, int]:
    """One page of jobs: (rows, total, the start index actually used)."""
    conditions = listing.parse_query(
        q, FILTERS, lambda term: listing.contains(jobs.c.description, term)
    )
    order = listing.parse_sort(sort, SORTABLE)
    total = conn.execute(select(func.count()).select_from(jobs).where(*conditions)).scalar_one()
    start = listing.clamp_start(page, total)
    ordering: list[Any]
    if order is None:
        ordering = [jobs.c.create_ms.desc(), jobs.c.id.desc()]
    else:
        _name, column, descending = order
        ordering = [column.desc(), jobs.c.id.desc()] if descending else [column, jobs.c.id]
    rows = conn.execute(
        select(jobs, REVERTED_BY, RETRIED_BY)
        .where(*conditions)
        .order_by(*ordering)
        .offset(start)
        .limit(page.results_per_page)
    ).all()
    return list(rows), int(total), start


def update_job(
    conn: Connection,
    job_id: int,
    change_stamp: int | None,
    description: str | None,
    job_state: int | None,
    actor: str,
    start_after: tuple[int | None] | None = None,
) -> Row[Any]:
    """PUT: change the description and/or cancel, guarded by the changeStamp; ``start_after``,
    when given, is the one new start time of a Queued job (None in it: start now)."""
    if change_stamp is None:
        raise FieldRequired("changeStamp is required", "changeStamp")
    job = get_job(conn, job_id)
    if change_stamp != job.change_stamp:
        raise StaleChangeStamp(
            f"changeStamp {change_stamp} is stale; the job's is {job.change_stamp}", "changeStamp"
        )
    values: dict[str, Any] = {"change_stamp": jobs.c.change_stamp + 1}
    if description is not None:
        values["description"] = check_description(description)
    if job_state is not None and job_state != job.job_state:
        if job_state != JobState.CANCELLED:
            raise InvalidInput("jobState can only be set to 5 (Cancelled)", "jobState")
        if job.job_state not in JobState.ACTIVE:
            raise InvalidInput(
                f"Job {job_id} has finished ({JobState.NAMES[job.job_state]}); "
                "only a Queued or Processing job can be cancelled",
                "jobState",
            )
        values["cancel_requested"] = True
    new_start = _new_start(job, start_after)
    if new_start is not None:
        values["start_after_ms"] = new_start[0]
        # The sweep sends a job whose time came; one that is due now is sent by the caller.
        values["dispatched_ms"] = None
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.change_stamp == change_stamp)
        .values(**values)
    )
    if result.rowcount != 1:
        raise StaleChangeStamp("The job was changed at the same time; read it again", "changeStamp")
    if new_start is not None:
        when = new_start[0]
        message = (
            f"Job scheduled to start at {format_ms(when)} by {actor}"
            if when is not None
            else f"Start time removed by {actor}; the job starts now"
        )
        add_event(conn, job_id, message)
    if values.get("cancel_requested"):
        _cancel_if_queued(conn, job_id, actor)
    return get_job(conn, job_id)


def _new_start(job: Row[Any], start_after: tuple[int | None] | None) -> tuple[int | None] | None:
    """The start time to store, in a tuple (None: leave it as it is)."""
    if start_after is None or start_after[0] == job.start_after_ms:
        return None  # not asked, or the value it has (a GET body PUT back)
    if job.job_state != JobState.QUEUED:
        raise InvalidInput(
            f"Job {job.id} is {JobState.NAMES[job.job_state]}; only a Queued job's startAfter "
            "can be changed",
            "startAfter",
        )
    return (check_start_after(start_after[0], now_ms()),)


def _cancel_if_queued(conn: Connection, job_id: int, actor: str) -> None:
    """A Queued job is cancelled at once; a Processing one stops at its next chunk."""
    now = now_ms()
    cancelled = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.job_state == JobState.QUEUED)
        .values(job_state=JobState.CANCELLED, end_ms=now)
        .returning(jobs.c.job_type)
    ).first()
    logger.info("Job %d: cancellation requested by %s", job_id, actor)
    if cancelled is not None:
        totals.finished(conn, cancelled.job_type, JobState.CANCELLED, 0, 0, None)
        add_event(conn, job_id, f"Job cancelled by {actor}", now=now)
        add_event(conn, job_id, "0 lines processed, 0 succeeded, 0 failed", now=now)
        record_notification(conn, job_id, now)
    else:
        done = conn.execute(
            select(func.coalesce(func.max(lines.c.line_number), 0)).where(lines.c.job_id == job_id)
        ).scalar_one()
        add_event(conn, job_id, f"Cancellation requested by {actor}", after_line=done, now=now)


def delete_job(conn: Connection, job_id: int, actor: str = "") -> None:
    """Delete a finished job with its file, lines and log; the server log keeps who did it."""
    job = get_job(conn, job_id)
    if job.job_state in JobState.ACTIVE:
        raise JobActive(
            f"Job {job_id} is {JobState.NAMES[job.job_state]}; cancel it before deleting it",
            str(job_id),
        )
    for child in (lines, events, files, notifications):
        conn.execute(delete(child).where(child.c.job_id == job_id))
    result = conn.execute(
        delete(jobs).where(jobs.c.id == job_id, jobs.c.job_state.not_in(JobState.ACTIVE))
    )
    if result.rowcount != 1:
        raise JobActive(f"Job {job_id} is active; cancel it before deleting it", str(job_id))
    # The job's own log goes with it, so the server log is the record of who deleted it.
    logger.info(
        "Job %d (%r, created by %s) deleted by %s",
        job_id,
        job.description,
        job.created_by,
        actor or "(unknown)",
    )


def hold_for_window(conn: Connection, job_id: int, windows_setting: str, now: int) -> bool:
    """If a maintenance window is open, leave the Queued job waiting and say so in its log
    (once); whether it must wait."""
    found = open_window(windows(windows_setting), datetime.fromtimestamp(now / 1000, UTC))
    if found is None:
        return False
    window, closes = found
    message = (
        f"Job waiting: maintenance window {window.text} (UTC) is open until "
        f"{closes.isoformat(timespec='seconds')}; the job starts when it closes"
    )
    last = conn.execute(
        select(events.c.message)
        .where(events.c.job_id == job_id)
        .order_by(events.c.id.desc())
        .limit(1)
    ).scalar()
    if last != message:
        add_event(conn, job_id, message, now=now)
    # Not dispatched any more: the sweeper sends it again as soon as the window closes.
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(dispatched_ms=None))
    return True


def succeeded_records(
    conn: Connection, job_type: JobType, job_id: int, before_line: int
) -> list[Record]:
    """The records of job ``job_id``'s lines before ``before_line`` that were committed as
    succeeded: what a resumed dry run lays over the directory again (none on a fresh start)."""
    ok = set(
        conn.execute(
            select(lines.c.line_number).where(
                lines.c.job_id == job_id, lines.c.ok == true(), lines.c.line_number < before_line
            )
        ).scalars()
    )
    if not ok:
        return []
    return [r for r in job_type.read(job_file(conn, job_id)) if r.line_number in ok]

"""The sweep: the database is the source of truth for what must run, not the broker.

A job whose "run" message the broker lost (it was down when the job was created, or restarted
empty) or whose worker died (its lease lapsed) is found here and sent again. Every worker sweeps;
the conditional update of ``dispatched_ms`` lets only one of them re-send a given job per period,
and a duplicate message is harmless anyway (the claim on the job row decides who runs it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, false, or_, select, update

from app.config import Settings
from app.db import Database
from app.db.models import Job, JobState, table
from app.db.sql import db_now_ms
from app.jobs.maintenance import open_window, windows

jobs = table(Job)


def due_jobs(db: Database, settings: Settings, limit: int) -> list[int]:
    """Up to ``limit`` job ids to send again, oldest first, each marked as dispatched now."""
    if limit <= 0:
        return []
    chosen: list[int] = []
    with db.write() as conn:
        # The database's clock, not this node's: leases were set on it by other nodes.
        now = db_now_ms(conn)
        stale = now - settings.redispatch_seconds * 1000
        not_recent = or_(jobs.c.dispatched_ms.is_(None), jobs.c.dispatched_ms < stale)
        lapsed = (jobs.c.job_state == JobState.PROCESSING) & (jobs.c.lease_until_ms < now)
        waiting = (
            (jobs.c.job_state == JobState.QUEUED)
            & (jobs.c.cancel_requested == false())
            & (jobs.c.start_after_ms.is_(None) | (jobs.c.start_after_ms <= now))
        )
        runnable: ColumnElement[bool] = or_(waiting, lapsed)
        when = datetime.fromtimestamp(now / 1000, UTC)
        if open_window(windows(settings.maintenance_windows), when) is not None:
            runnable = lapsed  # Queued jobs wait for the window to close
        candidates = conn.execute(
            select(jobs.c.id)
            .where(runnable, not_recent)
            .order_by(jobs.c.create_ms, jobs.c.id)
            .limit(limit)
        ).scalars()
        for job_id in list(candidates):
            result = conn.execute(
                update(jobs).where(jobs.c.id == job_id, not_recent).values(dispatched_ms=now)
            )
            if result.rowcount == 1:
                chosen.append(job_id)
    return chosen


def mark_dispatched(db: Database, job_id: int, dispatched: bool) -> None:
    """Record that a message was (or, when the broker refused it, was not) sent for a job."""
    with db.write() as conn:
        now = db_now_ms(conn) if dispatched else None
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(dispatched_ms=now))

"""A scheduled job stays Queued until its time: neither the claim nor the sweep starts it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from app.db import db
from app.db.models import Job, JobState, table
from app.jobs import engine, sweeper
from app.jobs.schedule import MAX_AHEAD_MS, check_start_after
from tests import factories

jobs = table(Job)


def make_job(start_after_ms: int | None) -> int:
    with db.write() as conn:
        factories.agent(conn, f"a{time.monotonic_ns()}")
        job_id = factories.stored_job(conn, factories.csv_text([["nobody", "", "", ""]]))
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(start_after_ms=start_after_ms, dispatched_ms=None)
        )
    return job_id


def state_of(job_id: int) -> tuple[int, int | None]:
    with db.read() as conn:
        row = conn.execute(
            select(jobs.c.job_state, jobs.c.dispatched_ms).where(jobs.c.id == job_id)
        ).one()
    return row.job_state, row.dispatched_ms


def test_check_start_after() -> None:
    now = 1_000_000
    assert check_start_after(None, now) is None
    assert check_start_after(5, now) == now  # the past means now
    assert check_start_after(now + 10, now) == now + 10
    assert check_start_after(now + MAX_AHEAD_MS, now) == now + MAX_AHEAD_MS


def test_a_job_scheduled_later_is_not_claimed_nor_swept(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    future = make_job(int(time.time() * 1000) + 3_600_000)
    due = make_job(int(time.time() * 1000) - 1)
    assert sweeper.due_jobs(db, settings, limit=10) == [due]
    # A message that arrives early (a duplicate, or a time moved by PUT) does not start it.
    assert engine.run_job(db, settings, future).final_state is None
    assert state_of(future) == (JobState.QUEUED, None)
    assert sweeper.due_jobs(db, settings, limit=10) == []
    # Its time comes: the next sweep sends it, and the claim runs it.
    with db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == future).values(start_after_ms=1))
    assert sweeper.due_jobs(db, settings, limit=10) == [future]
    assert engine.run_job(db, settings, future).final_state == JobState.FAILED
    assert engine.run_job(db, settings, due).final_state == JobState.FAILED


def test_a_maintenance_window_still_applies_once_the_time_has_come(app: Flask) -> None:
    now = datetime.now(UTC)
    window = f"daily {now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    settings = app.config["SETTINGS"].replace(maintenance_windows=window)
    due = make_job(int(time.time() * 1000) - 1)
    assert sweeper.due_jobs(db, settings, limit=10) == []
    assert engine.run_job(db, settings, due).final_state is None
    assert state_of(due) == (JobState.QUEUED, None)

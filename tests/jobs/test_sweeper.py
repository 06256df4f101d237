"""The sweep's choice of jobs to send again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import update

from app.db import db
from app.db.models import Job, JobState, table
from app.jobs import sweeper
from tests import factories


def make_job(app: Flask, **values: object) -> int:
    text = factories.csv_text([["someone", "", "", ""]])
    with db.write() as conn:
        job_id = factories.stored_job(conn, text, "")
        if values:
            conn.execute(update(table(Job)).where(table(Job).c.id == job_id).values(**values))
    return job_id


def test_lost_and_abandoned_jobs_are_sent_again_once(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    fresh = make_job(app)  # just dispatched: waiting its turn
    lost = make_job(app, dispatched_ms=None)  # the broker refused it
    old = make_job(app, dispatched_ms=1)  # sent long ago, never run
    abandoned = make_job(app, job_state=JobState.PROCESSING, lease_until_ms=1, dispatched_ms=1)
    held = make_job(app, job_state=JobState.PROCESSING, lease_until_ms=2**62, dispatched_ms=1)
    make_job(app, job_state=JobState.SUCCEEDED, dispatched_ms=None)
    make_job(app, dispatched_ms=None, cancel_requested=True)
    assert sweeper.due_jobs(db, settings, limit=10) == [lost, old, abandoned]
    assert sweeper.due_jobs(db, settings, limit=10) == []  # marked: not re-sent next sweep
    assert fresh and held


def test_only_as_many_as_there_are_free_slots(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    first, second = make_job(app, dispatched_ms=None), make_job(app, dispatched_ms=None)
    assert sweeper.due_jobs(db, settings, limit=0) == []
    assert sweeper.due_jobs(db, settings, limit=1) == [first]
    assert sweeper.due_jobs(db, settings, limit=1) == [second]


def test_queued_jobs_wait_out_a_maintenance_window(app: Flask) -> None:
    now = datetime.now(UTC)
    start, end = now - timedelta(minutes=5), now + timedelta(minutes=5)
    window = f"daily {start:%H:%M:%S}-{end:%H:%M:%S}"
    settings = app.config["SETTINGS"].replace(maintenance_windows=window)
    make_job(app, dispatched_ms=None)
    abandoned = make_job(app, job_state=JobState.PROCESSING, lease_until_ms=1, dispatched_ms=1)
    assert sweeper.due_jobs(db, settings, limit=10) == [abandoned]

"""A scheduled job waits from its start time on: it is not an old Queued job before then."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.db import db
from app.db.models import Job, table
from app.db.sql import now_ms
from app.jobs import engine
from tests import factories
from tests.ops.test_ops import create, scrape

jobs = table(Job)


def set_row(job_id: int, **values: object) -> None:
    with db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def test_queue_age_and_wait_count_from_the_start_time(app: Flask, client: FlaskClient) -> None:
    now = now_ms()
    later = create(client, [["ghost", "", "", ""]])
    set_row(later, create_ms=now - 600_000, start_after_ms=now + 3_600_000)
    assert scrape(client)[("bulkjob_oldest_queued_job_age_seconds", ())] == 0

    due = create(client, [["ghost", "", "", ""]])
    set_row(due, create_ms=now - 600_000, start_after_ms=now - 30_000)
    assert 30 <= scrape(client)[("bulkjob_oldest_queued_job_age_seconds", ())] < 300

    with db.write() as conn:
        factories.agent(conn, "ran")
    ran = create(client, [["ran", "", "", ""]])
    # Created 10 minutes ago, due from now on: its queue wait counts from its start time.
    set_row(ran, create_ms=now_ms() - 600_000, start_after_ms=now_ms())
    engine.run_job(db, app.config["SETTINGS"], ran)
    m = scrape(client)
    label = (("job_type", "5"), ("le", "60.0"))
    assert m[("bulkjob_job_queue_wait_seconds_bucket", label)] == 1
    assert m[("bulkjob_job_queue_wait_seconds_sum", (("job_type", "5"),))] < 60

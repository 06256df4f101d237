"""Many nodes, run directly on SQLite: a poison job gives up; nodes' clocks do not matter."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.db import db
from app.db.models import Agent, Job, JobState, table
from app.jobs import engine, sweeper, totals
from tests import factories
from tests.jobs.test_engine import job_row, log_of, submit

jobs = table(Job)


def lapse(job_id: int) -> None:
    """What the passing of the lease time does to a job whose worker died."""
    with db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(lease_until_ms=0))


def test_a_job_whose_runs_keep_dying_fails_after_max_attempts(app: Flask) -> None:
    names = [f"p{i}" for i in range(6)]
    with db.write() as conn:
        factories.agents(conn, names)
    job_id = submit(app, factories.csv_text([[n, "", "", f"{n}@sso"] for n in names]))
    settings = app.config["SETTINGS"].replace(chunk_size=2, max_attempts=3)
    first = engine.JobRunner(db, settings.replace(host_name="worker-1"), job_id)
    assert first.claim()
    job_type, records = first.load()
    first.run_chunk(job_type, [next(records) for _ in range(2)])  # progress, then it dies
    for n in (2, 3, 4):  # three runs in a row that die before committing a chunk
        lapse(job_id)
        assert engine.JobRunner(db, settings.replace(host_name=f"worker-{n}"), job_id).claim()
        assert job_row(job_id).runs_without_progress == n - 1
    lapse(job_id)
    assert engine.run_job(db, settings.replace(host_name="worker-5"), job_id).final_state == (
        JobState.FAILED  # nothing to run: the claim failed the job
    )
    job = job_row(job_id)
    assert (job.job_state, job.processed_records, job.succeeded_records) == (4, 2, 2)
    assert job.lease_owner is None and job.end_ms
    log = log_of(job_id)
    assert log[-2:] == [
        "Job failed: gave up after 3 runs that stopped without progress; last on worker-4",
        "2 lines processed, 2 succeeded, 0 failed",
    ]
    with db.read() as conn:  # the rows applied before stay applied
        migrated = conn.execute(
            select(table(Agent).c.user_name).where(table(Agent).c.sso_enabled)
        ).scalars()
        assert sorted(migrated) == ["p0@sso", "p1@sso"]
        kept = totals.read(conn)  # /metrics counts the job as failed, with its records
    assert (kept[(5, f"finished:{JobState.FAILED}")], kept[(5, "processed")]) == (1, 2)
    # Nothing else is held up: the next job runs.
    other = submit(app, factories.csv_text([["p5", "", "", ""]]))
    assert engine.run_job(db, settings, other).final_state == JobState.SUCCEEDED


def test_progress_and_graceful_hand_backs_do_not_count(app: Flask) -> None:
    names = [f"g{i}" for i in range(8)]
    with db.write() as conn:
        factories.agents(conn, names)
    job_id = submit(app, factories.csv_text([[n, "", "", ""] for n in names]))
    settings = app.config["SETTINGS"].replace(chunk_size=1, max_attempts=1)
    for _ in range(3):  # each run commits a chunk and is asked to stop (SIGTERM)
        runner = engine.JobRunner(db, settings, job_id, should_stop=lambda: True)
        assert runner.run() is None and runner.released
        assert job_row(job_id).runs_without_progress == 0
    died = engine.JobRunner(db, settings, job_id)
    assert died.claim()  # and dies: one run without progress, the maximum here
    job_type, records = died.load()
    lapse(job_id)
    # Had it committed a chunk first, its successor would run the job to its end.
    survivor = engine.JobRunner(db, settings, job_id)
    assert survivor.run() == JobState.FAILED
    assert "gave up after 1 runs" in log_of(job_id)[-2]
    with pytest.raises(engine.LeaseLost):  # the dead run, were it to wake, writes nothing
        died.run_chunk(job_type, [next(records)])


@pytest.mark.parametrize("skew", [120.0, -120.0])
def test_leases_are_compared_on_the_database_clock(
    app: Flask, monkeypatch: pytest.MonkeyPatch, skew: float
) -> None:
    """A node whose clock is off by two minutes (SQLite's clock is the real one: it asks the C
    library, not Python's ``time``) neither takes over a live job nor waits for a dead one."""
    with db.write() as conn:
        factories.agents(conn, ["c1", "c2"])
    settings = app.config["SETTINGS"].replace(lease_seconds=30, redispatch_seconds=20)
    alive = submit(app, factories.csv_text([["c1", "", "", ""]]))
    owner = engine.JobRunner(db, settings.replace(host_name="owner"), alive)
    assert owner.claim()
    dead = submit(app, factories.csv_text([["c2", "", "", ""]]))
    assert engine.JobRunner(db, settings, dead).claim()  # and its worker dies now
    with db.write() as conn:  # ... 31 s ago, by the database's clock
        until = job_row(dead).lease_until_ms - 31_000
        conn.execute(
            update(jobs).where(jobs.c.id == dead).values(lease_until_ms=until, dispatched_ms=1)
        )
        conn.execute(update(jobs).where(jobs.c.id == alive).values(dispatched_ms=1))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + skew)
    assert sweeper.due_jobs(db, settings, limit=10) == [dead]
    assert engine.JobRunner(db, settings.replace(host_name="skewed"), alive).claim() is False
    assert engine.JobRunner(db, settings.replace(host_name="skewed"), dead).claim()
    assert job_row(alive).lease_owner == owner.owner

"""The job engine and the SSO-migration rules, run directly (no Celery) on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.db import db
from app.db.models import Agent, Job, JobLine, JobState, table
from app.jobs import downloads, engine
from app.jobs import store as jobs
from app.jobs.check import check_file
from tests import factories
from tests.conftest import PASSWORD, migrated_app


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The engine on both databases: PostgreSQL takes other statements (COPY, one UPDATE)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield flask_app
    db.dispose()


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 - .+$")


def submit(app: Flask, text: str, description: str = "t") -> int:
    with db.write() as conn:
        return factories.stored_job(conn, text, description)


def run(app: Flask, job_id: int, **overrides: Any) -> int | None:
    settings = app.config["SETTINGS"].replace(**overrides)
    return engine.run_job(db, settings, job_id).final_state


def job_row(job_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(table(Job)).where(table(Job).c.id == job_id)).one()


def agent_row(agent_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(table(Agent)).where(table(Agent).c.id == agent_id)).one()


def log_of(job_id: int) -> list[str]:
    text = b"".join(downloads.log(db.engine, job_id).body).decode()
    lines = text.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), text
    return [line.split(" - ", 1)[1] for line in lines]


def test_successful_job_renames_enables_sso_and_logs(app: Flask) -> None:
    with db.write() as conn:
        a = factories.agent(conn, "asmith")
        b = factories.agent(conn, "bjones")
    job_id = submit(
        app,
        factories.csv_text([["asmith", "A", "S", "asmith@example.com"], ["bjones", "B", "J", ""]]),
    )
    assert run(app, job_id) == JobState.SUCCEEDED
    renamed, kept = agent_row(a), agent_row(b)
    assert (renamed.user_name, renamed.user_name_key) == (
        "asmith@example.com",
        "asmith@example.com",
    )
    assert renamed.sso_enabled and renamed.change_stamp == 1
    assert (kept.user_name, kept.sso_enabled, kept.change_stamp) == ("bjones", True, 1)
    job = job_row(job_id)
    assert (
        job.total_records,
        job.processed_records,
        job.succeeded_records,
        job.failed_records,
    ) == (2, 2, 2, 0)
    assert job.start_ms and job.end_ms and job.end_ms >= job.start_ms
    assert job.lease_owner is None
    assert log_of(job_id) == [
        "Job created by admin on web-test",
        "Job started on web-test",
        "Processing line 1: Header",
        "Processing line 2: userName=asmith, newUserName=asmith@example.com",
        f"Updated /unifiedconfig/config/agent/{a}",
        "Processing line 3: userName=bjones, newUserName=",
        f"Updated /unifiedconfig/config/agent/{b}",
        "Job completed successfully",
        "2 lines processed, 2 succeeded, 0 failed",
    ]


def test_every_row_rule(app: Flask) -> None:
    with db.write() as conn:
        ok = factories.agent(conn, "Mixed.Case")
        factories.agent(conn, "ssouser", sso=True)
        factories.agent(conn, "taken")
        factories.agent(conn, "victim")
        factories.agent(conn, "spacey")
        factories.agent(conn, "longname")
        factories.agent(conn, "unicode")
    rows = [
        ["mixed.case", "", "", "MIXED.CASE"],  # case-only rename of a case-insensitive match
        ["nobody", "", "", ""],
        ["SSOUSER", "", "", ""],
        ["", "x", "y", "z"],
        ["victim", "", "", "TAKEN"],
        ["spacey", "", "", "has space"],
        ["longname", "", "", "x" * 256],
        ["unicode", "", "", "jösé"],
        ["Mixed.Case", "", "", "again"],  # already migrated by line 2
    ]
    job_id = submit(app, factories.csv_text(rows))
    assert run(app, job_id) == JobState.PARTIAL
    assert agent_row(ok).user_name == "MIXED.CASE"
    log = log_of(job_id)
    errors = [line for line in log if line.startswith("Error processing")]
    assert errors == [
        "Error processing line 3: userName: The specified agent userName does not exist: nobody",
        "Error processing line 4: userName: The specified agent userName is already enabled for SSO: SSOUSER",
        "Error processing line 5: userName: userName is required",
        "Error processing line 6: newUserName: The specified newUserName is already in use: TAKEN",
        "Error processing line 7: newUserName: The newUserName must be at most 255 printable ASCII characters without spaces: has space",
        f"Error processing line 8: newUserName: The newUserName must be at most 255 printable ASCII characters without spaces: {'x' * 256}",
        "Error processing line 9: newUserName: The newUserName must be at most 255 printable ASCII characters without spaces: jösé",
        "Error processing line 10: userName: The specified agent userName is already enabled for SSO: Mixed.Case",
    ]
    assert log[-2:] == [
        "Job partially completed due to errors",
        "9 lines processed, 1 succeeded, 8 failed",
    ]
    assert agent_row(ok + 3).user_name == "victim"  # untouched by its failed row


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_name_freed_earlier_in_the_file_can_be_taken(app: Flask, chunk_size: int) -> None:
    with db.write() as conn:
        first = factories.agent(conn, "bob")
        second = factories.agent(conn, "carl")
    rows = [["bob", "", "", "robert"], ["carl", "", "", "bob"], ["robert", "", "", "x"]]
    job_id = submit(app, factories.csv_text(rows))
    assert run(app, job_id, chunk_size=chunk_size) == JobState.PARTIAL
    assert agent_row(first).user_name == "robert"
    assert agent_row(second).user_name == "bob"
    assert [line for line in log_of(job_id) if line.startswith("Error")] == [
        "Error processing line 4: userName: The specified agent userName is already enabled for SSO: robert"
    ]


def test_all_rows_failing_fails_the_job(app: Flask) -> None:
    job_id = submit(app, factories.csv_text([["ghost", "", "", ""]]))
    assert run(app, job_id) == JobState.FAILED
    assert log_of(job_id)[-2:] == [
        "Job failed due to errors",
        "1 lines processed, 0 succeeded, 1 failed",
    ]


def test_chunks_commit_progress_and_outcomes(app: Flask) -> None:
    names = [f"user{i}" for i in range(25)]
    with db.write() as conn:
        factories.agents(conn, names)
    job_id = submit(
        app, factories.csv_text([[n, "", "", f"{n}@sso"] for n in names] + [["ghost", "", "", ""]])
    )
    assert run(app, job_id, chunk_size=4) == JobState.PARTIAL
    job = job_row(job_id)
    assert (job.processed_records, job.succeeded_records, job.failed_records) == (26, 25, 1)
    with db.read() as conn:
        numbers = (
            conn.execute(
                select(table(JobLine).c.line_number).where(table(JobLine).c.job_id == job_id)
            )
            .scalars()
            .all()
        )
    assert sorted(numbers) == list(range(2, 28))


def test_values_with_newlines_stay_on_one_log_line(app: Flask) -> None:
    text = 'userName,firstName,lastName,newUserName\n"ghost\nline",A,B,\n'
    job_id = submit(app, text)
    run(app, job_id)
    assert "Processing line 2: userName=ghost\\nline, newUserName=" in log_of(job_id)


def test_failed_rows_download(app: Flask) -> None:
    with db.write() as conn:
        factories.agent(conn, "good")
    job_id = submit(app, factories.csv_text([["good", "G", "D", ""], ["bad", "=cmd", "B", "n"]]))
    run(app, job_id)
    body = b"".join(downloads.failed(db.engine, job_id).body).decode()
    assert body.splitlines() == [
        "userName,firstName,lastName,newUserName,lineNumber,error",
        "bad,'=cmd,B,n,3,userName: The specified agent userName does not exist: bad",
    ]


def test_resume_after_a_crash_redoes_nothing(app: Flask) -> None:
    names = [f"agent{i}" for i in range(10)]
    with db.write() as conn:
        ids = factories.agents(conn, names)
    job_id = submit(app, factories.csv_text([[n, "", "", f"{n}@sso"] for n in names]))
    settings = app.config["SETTINGS"].replace(chunk_size=3)
    crashed = engine.JobRunner(db, settings, job_id)
    assert crashed.claim()
    job_type, records = crashed.load()
    crashed.run_chunk(job_type, [next(records) for _ in range(3)])
    # The worker dies here. Its lease lapses; another worker takes over.
    assert engine.JobRunner(db, settings, job_id).run() is None  # lease still held
    with db.write() as conn:
        conn.execute(update(table(Job)).where(table(Job).c.id == job_id).values(lease_until_ms=0))
    assert engine.JobRunner(db, settings, job_id).run() == JobState.SUCCEEDED
    assert all(agent_row(i).change_stamp == 1 for i in ids)
    log = log_of(job_id)
    assert sum(line.startswith("Updated") for line in log) == 10
    assert "Job resumed on web-test after line 4" in log
    assert (
        log.index("Job resumed on web-test after line 4")
        == log.index("Processing line 5: userName=agent3, newUserName=agent3@sso") - 0 - 1
    )
    # The crashed worker wakes up: its lease is gone, it writes nothing.
    with pytest.raises(engine.LeaseLost):
        crashed.run_chunk(job_type, [next(records)])


def test_cancel_while_processing_stops_at_the_next_chunk(app: Flask) -> None:
    names = [f"c{i}" for i in range(6)]
    with db.write() as conn:
        factories.agents(conn, names)
    job_id = submit(app, factories.csv_text([[n, "", "", ""] for n in names]))
    runner = engine.JobRunner(db, app.config["SETTINGS"].replace(chunk_size=2), job_id)
    assert runner.claim()
    job_type, records = runner.load()
    runner.run_chunk(job_type, [next(records), next(records)])
    with db.write() as conn:
        job = jobs.get_job(conn, job_id)
        jobs.update_job(conn, job_id, job.change_stamp, None, JobState.CANCELLED, "admin")
    assert runner.process() == JobState.CANCELLED
    job = job_row(job_id)
    assert (job.job_state, job.processed_records, job.succeeded_records) == (5, 2, 2)
    log = log_of(job_id)
    assert log[-3:] == [
        "Cancellation requested by admin",
        "Job cancelled after line 3",
        "2 lines processed, 2 succeeded, 0 failed",
    ]


def test_queued_job_cancelled_at_once_and_never_runs(app: Flask) -> None:
    with db.write() as conn:
        factories.agent(conn, "q1")
    job_id = submit(app, factories.csv_text([["q1", "", "", ""]]))
    with db.write() as conn:
        jobs.update_job(conn, job_id, 0, None, JobState.CANCELLED, "admin")
    assert job_row(job_id).job_state == JobState.CANCELLED
    assert run(app, job_id) is None
    assert log_of(job_id)[-2:] == [
        "Job cancelled by admin",
        "0 lines processed, 0 succeeded, 0 failed",
    ]


def test_finished_job_is_not_run_again(app: Flask) -> None:
    with db.write() as conn:
        factories.agent(conn, "once")
    job_id = submit(app, factories.csv_text([["once", "", "", "twice"]]))
    assert run(app, job_id) == JobState.SUCCEEDED
    assert run(app, job_id) is None
    assert job_row(job_id).processed_records == 1


def test_transient_errors_are_retried(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    with db.write() as conn:
        factories.agent(conn, "flaky")
    job_id = submit(app, factories.csv_text([["flaky", "", "", "flaky@sso"]]))
    runner = engine.JobRunner(db, app.config["SETTINGS"], job_id)
    real = runner._run_chunk
    failures = iter([OperationalError("UPDATE", {}, Exception("database is locked"))] * 2)

    def sometimes(*args: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(*args)

    monkeypatch.setattr(runner, "_run_chunk", sometimes)
    assert runner.run() == JobState.SUCCEEDED
    assert runner.retries == 2
    assert job_row(job_id).succeeded_records == 1


def test_database_unavailable_leaves_the_job_to_be_resumed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    with db.write() as conn:
        factories.agent(conn, "down")
    job_id = submit(app, factories.csv_text([["down", "", "", ""]]))
    settings = app.config["SETTINGS"].replace(db_retry_seconds=0)
    runner = engine.JobRunner(db, settings, job_id)

    def unavailable(*_args: Any) -> Any:
        raise OperationalError("UPDATE", {}, Exception("connection refused"))

    monkeypatch.setattr(runner, "_run_chunk", unavailable)
    assert runner.run() is None
    job = job_row(job_id)
    assert job.job_state == JobState.PROCESSING  # not failed: its lease lapses, a sweep resumes it
    assert job.lease_owner == runner.owner


def test_an_error_retrying_cannot_mend_fails_the_job(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as conn:
        factories.agent(conn, "broken")
    job_id = submit(app, factories.csv_text([["broken", "", "", ""]]))
    runner = engine.JobRunner(db, app.config["SETTINGS"], job_id)

    def bug(*_args: Any) -> Any:
        raise ValueError("unexpected")

    monkeypatch.setattr(runner, "_run_chunk", bug)
    assert runner.run() == JobState.FAILED
    assert log_of(job_id)[-2:] == [
        "Job failed: ValueError: unexpected",
        "0 lines processed, 0 succeeded, 0 failed",
    ]


def test_release_hands_the_job_back_at_once(app: Flask) -> None:
    names = [f"r{i}" for i in range(4)]
    with db.write() as conn:
        factories.agents(conn, names)
    job_id = submit(app, factories.csv_text([[n, "", "", ""] for n in names]))
    settings = app.config["SETTINGS"].replace(chunk_size=2)
    stops = iter([True])
    first = engine.JobRunner(db, settings, job_id, should_stop=lambda: next(stops, False))
    assert first.run() is None and first.released
    assert job_row(job_id).processed_records == 2
    second = engine.JobRunner(db, settings, job_id)  # no waiting for a lease to lapse
    assert second.run() == JobState.SUCCEEDED
    log = log_of(job_id)
    assert "Worker web-test stopping after line 3; the job will resume on another worker" in log
    assert "Job resumed on web-test after line 3" in log


def _stopping(text: str, limit: int) -> int:
    """A stored job that stops early once ``limit`` lines failed (docs/concepts.md)."""
    with db.write() as conn:
        checked = check_file(text.encode(), None, 3 * 1024 * 1024)
        return jobs.create_job(conn, checked, "t", "admin", "web", stop_after_failures=limit)


def test_stop_after_failures_ends_the_job_failed_before_its_next_chunk(app: Flask) -> None:
    with db.write() as conn:
        amy, cal = factories.agents(conn, ["amy", "cal"])
    rows = [["amy", "", "", "amy@sso"], ["x1", "", "", ""], ["x2", "", "", ""], ["cal", "", "", ""]]
    job_id = _stopping(factories.csv_text([*rows, ["x3", "", "", ""]]), 2)

    # Line 3 fails in the first chunk, line 4 in the second: the third is not run.
    assert run(app, job_id, chunk_size=2) == JobState.FAILED

    job = job_row(job_id)
    assert (job.processed_records, job.succeeded_records, job.failed_records) == (4, 2, 2)
    assert agent_row(amy).sso_enabled and agent_row(cal).sso_enabled
    log = log_of(job_id)
    assert "Job stops early when 2 lines fail" in log
    assert log[-3:] == [
        "Job stopped early: 2 lines failed (stopAfterFailures is 2); "
        "the lines after line 5 are not processed",
        "Job failed due to errors",
        "4 lines processed, 2 succeeded, 2 failed",
    ]
    results = b"".join(downloads.results(db.engine, job_id).body).decode().splitlines()
    assert results[-1] == "x3,,,,6,not processed,,"


def test_a_job_that_reaches_its_last_line_is_not_stopped(app: Flask) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy"])
    job_id = _stopping(factories.csv_text([["amy", "", "", ""], ["x1", "", "", ""]]), 1)

    assert run(app, job_id, chunk_size=2) == JobState.PARTIAL
    assert not any(line.startswith("Job stopped early") for line in log_of(job_id))

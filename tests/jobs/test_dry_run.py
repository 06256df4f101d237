"""Dry runs (docs/concepts.md, "Dry run"), run by the engine directly on SQLite and PostgreSQL: every
outcome is the real run's, across chunks and after a resume, and nothing in agents changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.db import db
from app.db.models import Agent, JobLine, JobState, table
from app.jobs import downloads, engine, store
from app.jobs.check import check_file
from app.jobs.types.base import Record, Run
from app.jobs.types.sso import JOB_TYPE as SSO
from tests import factories
from tests.conftest import migrated_app

agents = table(Agent)
lines = table(JobLine)


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    flask_app = migrated_app(tmp_path, url)
    yield flask_app
    db.dispose()


def new_job(text: str, dry_run: bool) -> int:
    with db.write() as conn:
        checked = check_file(text.encode(), None, 3 * 1024 * 1024)
        return store.create_job(conn, checked, "wave", "admin", "web-test", dry_run=dry_run)


def run(app: Flask, job_id: int, **overrides: Any) -> int | None:
    settings = app.config["SETTINGS"].replace(chunk_size=2, **overrides)
    return engine.run_job(db, settings, job_id).final_state


def outcomes(job_id: int) -> list[tuple[int, bool, str]]:
    with db.read() as conn:
        rows = conn.execute(
            select(lines.c.line_number, lines.c.ok, lines.c.message)
            .where(lines.c.job_id == job_id)
            .order_by(lines.c.line_number)
        ).all()
    return [(n, ok, message.replace("Would update ", "Updated ")) for n, ok, message in rows]


def directory() -> list[tuple[Any, ...]]:
    with db.read() as conn:
        return [tuple(row) for row in conn.execute(select(agents).order_by(agents.c.id))]


def log_of(job_id: int) -> list[str]:
    text = b"".join(downloads.log(db.engine, job_id).body).decode()
    return [line.split(" - ", 1)[1] for line in text.splitlines()]


def failed_csv(job_id: int) -> bytes:
    return b"".join(downloads.failed(db.engine, job_id).body)


# Rows that depend on earlier rows of the file, in other chunks (two records a chunk): line 5
# takes the name line 2 freed, line 4 wants the name line 2 took, line 7 renames by case only.
WAVE = [
    ["amy", "", "", "amy@sso"],
    ["bob", "", "", ""],
    ["bea", "", "", "amy@SSO"],
    ["cal", "", "", "amy"],
    ["ghost", "", "", "g@sso"],
    ["done", "", "", "d@sso"],
    ["dan", "", "", "DAN"],
    ["eve", "", "", "has space"],
    ["amy@sso", "", "", "again"],
    ["fay", "", "", "cal"],
]


def directory_for_wave() -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob", "bea", "cal", "dan", "eve", "fay"])
        factories.agent(conn, "done", sso=True)


def test_a_dry_run_gives_the_real_runs_outcomes_and_changes_nothing(any_db: Flask) -> None:
    directory_for_wave()
    text = factories.csv_text(WAVE)
    before = directory()
    dry = new_job(text, dry_run=True)

    assert run(any_db, dry) == JobState.PARTIAL
    assert directory() == before

    real = new_job(text, dry_run=False)
    assert run(any_db, real) == JobState.PARTIAL
    assert directory() != before
    assert outcomes(dry) == outcomes(real)
    assert [ok for _n, ok, _m in outcomes(real)] == [
        *(True, True, False, True, False, False, True, False, False, True)
    ]
    assert failed_csv(dry) == failed_csv(real)


def test_the_dry_runs_log_says_so(any_db: Flask) -> None:
    with db.write() as conn:
        amy = factories.agent(conn, "amy")
    dry = new_job(factories.csv_text([["amy", "", "", "amy@sso"], ["nobody", "", "", ""]]), True)
    assert run(any_db, dry) == JobState.PARTIAL
    assert log_of(dry) == [
        "Job created by admin on web-test",
        "Dry run: no changes will be made",
        "Job started on web-test",
        "Processing line 1: Header",
        "Processing line 2: userName=amy, newUserName=amy@sso",
        f"Would update /unifiedconfig/config/agent/{amy}",
        "Processing line 3: userName=nobody, newUserName=",
        "Error processing line 3: userName: The specified agent userName does not exist: nobody",
        "Job partially completed due to errors",
        "2 lines processed, 1 succeeded, 1 failed",
    ]


def test_a_resumed_dry_run_remembers_what_earlier_chunks_would_have_changed(
    any_db: Flask,
) -> None:
    """A run handed back after its first chunk (as a killed worker's lease lapses) is resumed by
    a new run, whose memo starts empty: it rebuilds the overlay from the committed lines."""
    directory_for_wave()
    text = factories.csv_text(WAVE)
    before = directory()
    dry = new_job(text, dry_run=True)
    settings = any_db.config["SETTINGS"].replace(chunk_size=2)
    first = engine.run_job(db, settings, dry, should_stop=lambda: True)
    assert first.released and first.final_state is None
    assert len(outcomes(dry)) == 2
    assert run(any_db, dry) == JobState.PARTIAL
    assert directory() == before

    real = new_job(text, dry_run=False)
    run(any_db, real)
    assert outcomes(dry) == outcomes(real)


def test_a_chunk_tried_again_is_decided_as_the_first_time(any_db: Flask) -> None:
    """A chunk whose commit failed is tried again in the same run: what its first try would
    have changed must not count against it."""
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob"])
    dry = new_job(factories.csv_text([["amy", "", "", "x"]]), dry_run=True)
    records = [Record(2, ("amy", "", "", "bob2")), Record(3, ("bob", "", "", "amy"))]
    state = Run(dry, any_db.config["SETTINGS"], None, dry_run=True)
    with db.write() as conn:
        first = SSO.apply_chunk(conn, records, state)
    with db.write() as conn:
        second = SSO.apply_chunk(conn, records, state)
    assert first == second
    assert [o.ok for o in second] == [True, True]

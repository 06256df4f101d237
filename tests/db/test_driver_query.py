"""DriverQuery (app/db/sql.py): a SQLAlchemy SELECT run on the driver's pooled connection reads
the same values SQLAlchemy's own execution does, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import bindparam, select, update

from app.db import db
from app.db.models import Job, table
from app.db.sql import DriverQuery
from app.jobs import store
from tests import factories
from tests.conftest import migrated_app

jobs = table(Job)
CSV = factories.csv_text([["asmith", "A", "S", "asmith@sso"]])


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield migrated_app(tmp_path, url)
    db.dispose()


def test_a_row_reads_as_sqlalchemy_reads_it(any_app: Flask) -> None:
    with db.write() as conn:
        job_id = factories.stored_job(conn, CSV, "poll me")
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(dry_run=True))
        expected = store.get_job(conn, job_id)._asdict()

    polled = store.poll_job(db.engine, job_id)

    assert polled == expected
    # SQLite stores the flag as 1: the column's result processor makes it a boolean again.
    assert polled["dry_run"] is True
    assert polled["description"] == "poll me"


def test_no_row_is_none_and_parameters_go_by_name(any_app: Flask) -> None:
    query = DriverQuery(
        select(jobs.c.id, jobs.c.description).where(
            jobs.c.description == bindparam("text"), jobs.c.id > bindparam("after")
        )
    )
    with db.write() as conn:
        first = factories.stored_job(conn, CSV, "same")
        second = factories.stored_job(conn, CSV, "same")

    # Named in the other order than the statement uses them (SQLite's parameters are positional).
    assert query.first(db.engine, after=first, text="same") == {"id": second, "description": "same"}
    assert query.first(db.engine, after=second, text="same") is None
    assert query.first(db.engine, after=0, text="other") is None

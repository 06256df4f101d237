"""DriverQuery (app/db/sql.py): a SQLAlchemy SELECT run on the driver's pooled connection reads
the same values SQLAlchemy's own execution does, on SQLite and on PostgreSQL; several of them
read together (first_rows) in one round trip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy.exc
from flask import Flask
from sqlalchemy import bindparam, column, select, text, update
from sqlalchemy import table as table_clause

from app.db import db, sql
from app.db.models import Job, table
from app.db.sql import DriverQuery
from app.jobs import store
from tests import factories
from tests.conftest import migrated_app
from tests.db.round_trips import round_trips

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


@pytest.fixture
def pg_app(pg_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield migrated_app(tmp_path, pg_url)
    db.dispose()


def polled_job() -> int:
    """A job stored and polled once: one reader is idle afterwards."""
    with db.write() as conn:
        job_id = factories.stored_job(conn, CSV, "poll me")
    assert store.poll_job(db.engine, job_id)["id"] == job_id
    return job_id


BY_ID = DriverQuery(
    select(jobs.c.description, jobs.c.dry_run).where(jobs.c.id == bindparam("wanted"))
)
BY_TEXT = DriverQuery(select(jobs.c.id).where(jobs.c.description == bindparam("text")))
NOT_STARTED = DriverQuery(select(jobs.c.start_ms).where(jobs.c.id == bindparam("started")))


def test_reads_sent_together_find_what_each_finds_alone_in_one_round_trip(any_app: Flask) -> None:
    job_id = polled_job()
    with db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(dry_run=True))

    with round_trips(db.engine) as sent:
        rows = sql.first_rows(
            db.engine, BY_TEXT.read(text="poll me"), store.poll_read(job_id), BY_ID.read(wanted=0)
        )
    assert len(sent) == 1, sent
    assert rows[0] == {"id": job_id}
    assert rows[1] == store.poll_job(db.engine, job_id)
    assert rows[1] is not None and rows[1]["dry_run"] is True  # the result processor applied
    assert rows[2] is None

    for found_id in (job_id, 0):
        for description in ("poll me", "nothing"):
            reads = (BY_ID.read(wanted=found_id), BY_TEXT.read(text=description))
            assert sql.first_rows(db.engine, *reads) == [read.first(db.engine) for read in reads]
    # A row whose values are all NULL is a row found, not None.
    assert sql.first_rows(db.engine, NOT_STARTED.read(started=job_id), BY_ID.read(wanted=0)) == [
        {"start_ms": None},
        None,
    ]
    # A value the statement carries itself (a LIMIT, an OFFSET) goes with it.
    newest = DriverQuery(select(jobs.c.id).order_by(jobs.c.id.desc()).limit(1).offset(0))
    assert newest.first(db.engine) == {"id": job_id}


def test_reads_sent_together_need_parameters_of_their_own() -> None:
    other = DriverQuery(select(jobs.c.id).where(jobs.c.id > bindparam("wanted")))
    engine = sqlalchemy.create_engine("sqlite://")
    with pytest.raises(ValueError, match="parameters of different names"):
        sql.first_rows(engine, BY_ID.read(wanted=1), other.read(wanted=2))
    engine.dispose()


def test_statements_share_one_reader_outside_the_pool(any_app: Flask) -> None:
    job_id = polled_job()
    for _ in range(2):
        assert store.poll_job(db.engine, job_id)["id"] == job_id

    # One driver connection, lent and given back, none left checked out of SQLAlchemy's pool.
    assert len(sql._readers(db.engine).idle) == 1
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_reader_holds_no_transaction_between_statements(pg_app: Flask) -> None:
    polled_job()
    with db.read() as conn:
        # Everyone else's sessions on this database: the reader is idle, not "idle in
        # transaction" (which would hold a snapshot and block DDL such as migrations).
        states = conn.execute(
            text(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ).scalars()
        assert "idle in transaction" not in list(states)


def test_a_reader_whose_server_went_away_is_replaced(pg_app: Flask) -> None:
    job_id = polled_job()
    (reader,) = sql._readers(db.engine).idle
    with db.write() as conn:
        # What a server restart does to the sessions it had.
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": reader.info.backend_pid})

    assert store.poll_job(db.engine, job_id)["id"] == job_id
    assert sql._readers(db.engine).idle != [reader]


def test_driver_errors_are_sqlalchemys(any_app: Flask) -> None:
    with db.write() as conn:
        conn.execute(text("CREATE TABLE scratch (id INTEGER)"))
    query = DriverQuery(select(column("id")).select_from(table_clause("scratch")))
    assert query.first(db.engine) is None
    with db.write() as conn:
        conn.execute(text("DROP TABLE scratch"))

    # As SQLAlchemy raises them (the API maps OperationalError, a database that is down, to 503).
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        query.first(db.engine)
    # The connection that failed is not lent again; the next statement still runs.
    with db.write() as conn:
        job_id = factories.stored_job(conn, CSV, "after")
    assert store.poll_job(db.engine, job_id)["description"] == "after"


def test_disposing_closes_the_readers(any_app: Flask) -> None:
    polled_job()
    (reader,) = sql._readers(db.engine).idle

    db.dispose()

    with pytest.raises(Exception, match=r"(?i)closed"):
        reader.cursor().execute("SELECT 1")


def test_a_forked_child_opens_its_own_reader(any_app: Flask) -> None:
    job_id = polled_job()
    (parent_reader,) = sql._readers(db.engine).idle

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        status = 1
        try:
            db.engine.dispose(close=False)  # as worker/lifecycle.py does after a fork
            polled = store.poll_job(db.engine, job_id)
            status = (
                0
                if polled["id"] == job_id and parent_reader not in sql._readers(db.engine).idle
                else 2
            )
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's reader was neither used nor closed by the child.
    assert sql._readers(db.engine).idle == [parent_reader]
    assert store.poll_job(db.engine, job_id)["id"] == job_id


def test_a_reader_that_cannot_connect_raises_sqlalchemys_error(tmp_path: Path) -> None:
    # Nothing listens on port 1: the pool's connect is refused, as it is while PostgreSQL is
    # down. The driver's own error must not reach the API's error handler unwrapped (a 500).
    engine = sqlalchemy.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")
    try:
        query = DriverQuery(select(jobs.c.id).where(jobs.c.id == bindparam("id")))
        with pytest.raises(sqlalchemy.exc.OperationalError):
            query.first(engine, id=1)
    finally:
        sql.release_readers(engine)
        engine.dispose()

"""The Alembic migrations build exactly the schema that app/models.py describes."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.db import make_engine
from app.db import migrate as schema
from app.db.models import Base
from tests.conftest import PG_URL, services_unavailable


def differences(url: str) -> list[Any]:
    """What autogenerate would still change: empty when the database matches the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/db/bulkjob.sqlite"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a schema of their own, dropped afterwards."""
    name = f"mig_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    except DBAPIError as exc:
        admin.dispose()
        services_unavailable(f"PostgreSQL at {PG_URL}: {exc}")
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def test_head_is_the_newest_revision() -> None:
    assert schema.head() == "0005"


def test_upgrade_sqlite_matches_models(sqlite_url: str) -> None:
    assert schema.current(sqlite_url) is None
    schema.upgrade(sqlite_url)
    assert schema.current(sqlite_url) == schema.head()
    assert tables(sqlite_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert differences(sqlite_url) == []


def test_upgrade_is_safe_to_repeat(sqlite_url: str) -> None:
    schema.upgrade(sqlite_url)
    schema.upgrade(sqlite_url)
    assert schema.current(sqlite_url) == schema.head()
    assert differences(sqlite_url) == []


def test_upgrade_an_existing_empty_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    assert path.exists()
    url = f"sqlite:///{path}"
    schema.upgrade(url)
    assert differences(url) == []


def test_downgrade_to_nothing_and_back(sqlite_url: str) -> None:
    schema.upgrade(sqlite_url)
    command.downgrade(schema.alembic_config(sqlite_url), "base")
    assert tables(sqlite_url) == {"alembic_version"}
    assert schema.current(sqlite_url) is None
    schema.upgrade(sqlite_url)
    assert differences(sqlite_url) == []


def test_a_create_all_schema_is_adopted(sqlite_url: str) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = make_engine(sqlite_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    schema.upgrade(sqlite_url)
    assert schema.current(sqlite_url) == schema.head()
    assert differences(sqlite_url) == []


def test_a_partial_schema_without_version_is_refused(sqlite_url: str) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = make_engine(sqlite_url)
    Base.metadata.tables["peripherals"].create(engine)
    engine.dispose()
    with pytest.raises(RuntimeError, match="missing"):
        schema.upgrade(sqlite_url)


def test_upgrade_postgres_matches_models(pg_schema_url: str) -> None:
    assert schema.current(pg_schema_url) is None
    schema.upgrade(pg_schema_url)
    schema.upgrade(pg_schema_url)
    assert schema.current(pg_schema_url) == schema.head()
    assert tables(pg_schema_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert differences(pg_schema_url) == []

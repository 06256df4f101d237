"""Fixtures: an app on a fresh SQLite database, a test client, users, and real services."""

from __future__ import annotations

import atexit
import base64
import functools
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from app import create_app
from app.db import db
from app.db import migrate as schema
from tests import factories

PG_URL = os.environ.get("BULKJOB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BULKJOB_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("BULKJOB_REQUIRE_SERVICES") == "1"

PASSWORD = "correct horse 42"


def overrides_for(tmp_path: Path, database_url: str | None = None) -> dict[str, Any]:
    return {
        "data_dir": tmp_path,
        "database_url": database_url or f"sqlite:///{tmp_path}/bulkjob.sqlite",
        "broker_url": "filesystem://",
        "secret_key": "test-secret",
        "host_name": "web-test",
    }


def migrated_app(tmp_path: Path, database_url: str | None = None, **settings: Any) -> Flask:
    """An app for tests on a migrated database (SQLite under ``tmp_path`` unless a URL)."""
    if database_url is None:
        shutil.copyfile(_migrated_sqlite(), tmp_path / "bulkjob.sqlite")
    flask_app = create_app(overrides={**overrides_for(tmp_path, database_url), **settings})
    flask_app.config["TESTING"] = True
    if database_url is not None:
        schema.upgrade(database_url)
    return flask_app


@functools.cache
def _migrated_sqlite() -> Path:
    """A SQLite file migrated once per test run, which each SQLite test copies: migrating takes
    a third of a second, and most tests start from an empty database. The copy is opened in WAL
    mode, as every database is (app/db/__init__.py); the file itself is left in rollback mode, so
    that it is whole without its -wal file."""
    folder = Path(tempfile.mkdtemp(prefix="bulkjob-schema-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "bulkjob.sqlite"
    schema.upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    return path


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    flask_app = migrated_app(tmp_path)
    with db.write() as conn:
        for name, role in (("admin", "admin"), ("viewer", "viewer"), ("super", "supervisor")):
            factories.user(conn, name, role, PASSWORD)
    yield flask_app
    db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def conn(app: Flask) -> Iterator[Connection]:
    """A connection that commits when the test's block ends (use ``with db.write()`` for more)."""
    with db.write() as connection:
        yield connection


def basic(user: str = "admin", password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def services_unavailable(reason: str) -> None:
    """Fail in CI (services are required there); skip on a developer machine without them."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> str:
    """A PostgreSQL database emptied for this test."""
    try:
        reset_postgres(PG_URL)
    except Exception as exc:  # pragma: no cover - depends on the machine
        services_unavailable(f"PostgreSQL at {PG_URL}: {exc}")
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.flushdb()
        client.close()
    except Exception as exc:  # pragma: no cover - depends on the machine
        services_unavailable(f"Redis at {REDIS_URL}: {exc}")
    return REDIS_URL

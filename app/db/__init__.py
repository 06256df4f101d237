"""The database: the engine and sessions of one application (``db``, created bare here and bound
in ``create_app``), with this project's per-database settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.db.sql import release_readers

if TYPE_CHECKING:
    from flask import Flask

# Execution option naming a connection that will write: SQLite begins it IMMEDIATE.
IMMEDIATE = "bulkjob_immediate"


def _tune_sqlite(dbapi_conn: Any, _record: Any) -> None:
    """WAL and synchronous=NORMAL: durable across process crashes, fast commits."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (see _begin_sqlite): the driver's own implicit
    # transactions break SAVEPOINT and cannot begin IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _begin_sqlite(conn: Connection) -> None:
    """Writers take SQLite's write lock up front, so a read-then-write never fails half-way."""
    immediate = conn.get_execution_options().get(IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with this project's per-database settings."""
    if url.startswith("sqlite"):
        # Pooled, not opened per transaction: closing the last connection to a WAL database
        # checkpoints it, which must not happen once per chunk. Forked workers dispose the
        # pool they inherit (worker/__init__.py).
        engine = create_engine(
            url,
            pool_size=5,
            max_overflow=10,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """The SQLAlchemy engine and session factory of one application."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] = sessionmaker(expire_on_commit=False)

    def init_app(self, app: Flask) -> None:
        self.bind(app.config["SETTINGS"].database_url)
        app.extensions["bulkjob.db"] = self

    def bind(self, url: str) -> None:
        self.dispose()
        self._engine = make_engine(url)
        self.sessionmaker.configure(bind=self._engine)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the database is not bound to an application yet")
        return self._engine

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a transaction for reading."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a transaction that commits on success (SQLite: BEGIN IMMEDIATE)."""
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        if self._engine is not None:
            release_readers(self._engine)
            self._engine.dispose()


db = Database()

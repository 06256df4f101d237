"""Counting what goes to the database: the round trips of the statements run on readers
(app/db/sql.py), for tests and ``make bench`` (docs/performance.md, "One round trip a poll")."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

import sqlalchemy

from app.db import sql


@contextlib.contextmanager
def round_trips(engine: sqlalchemy.Engine) -> Iterator[list[str]]:
    """What goes to the database while the block runs, one item a round trip, filled in when
    the block ends: each statement SQLAlchemy executes, and what the idle readers send (SQLite:
    a statement; PostgreSQL: the messages a Sync ends, from libpq's trace). Readers open on
    demand: read once before, so that there is one to watch."""
    readers = list(sql._readers(engine).idle)
    assert readers, "no reader yet: read once first"
    sent: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    sqlalchemy.event.listen(engine, "before_cursor_execute", executed)
    try:
        if engine.dialect.name == "sqlite":
            with _sqlite_traced(readers, sent):
                yield sent
        else:
            with _libpq_traced(readers, sent):
                yield sent
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", executed)


@contextlib.contextmanager
def _sqlite_traced(readers: list[Any], sent: list[str]) -> Iterator[None]:
    for reader in readers:
        reader.set_trace_callback(sent.append)
    try:
        yield
    finally:
        for reader in readers:
            reader.set_trace_callback(None)


@contextlib.contextmanager
def _libpq_traced(readers: list[Any], sent: list[str]) -> Iterator[None]:
    from psycopg import pq

    with tempfile.TemporaryFile("w+") as log:
        for reader in readers:
            reader.pgconn.trace(log.fileno())
            reader.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield
        finally:
            for reader in readers:
                reader.pgconn.untrace()
            log.seek(0)
            messages: list[str] = []
            for line in log:
                if line.startswith("F\t"):  # to the server (B: from it)
                    messages.append(line.strip())
                    if line.split("\t")[2].startswith("Sync"):
                        sent.append("\n".join(messages))
                        messages = []

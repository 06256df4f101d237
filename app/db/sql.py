"""Small SQL helpers: the hot paths that talk to the DB-API driver directly, and sequences."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    FromClause,
    Select,
    Table,
    exc,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import Pool


def now_ms() -> int:
    """This process's clock (ms since the epoch): for timestamps shown to people only. Anything
    another node compares against (leases, lapses, re-dispatch, maintenance windows) takes
    :func:`db_now_ms` instead, so nodes whose clocks disagree still agree."""
    return int(time.time() * 1000)


_DB_NOW = {
    "postgresql": "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    "sqlite": "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)",
}


def db_now_ms(conn: Connection) -> int:
    """The database server's clock (ms since the epoch): the one clock every node shares.

    (SQLite runs inside each process, so there it is the machine's clock; every node of an
    SQLite deployment is on that one machine.)"""
    statement = _DB_NOW.get(conn.dialect.name)
    if statement is None:
        return now_ms()
    return int(conn.exec_driver_sql(statement).scalar_one())


def placeholder(conn: Connection) -> str:
    """The driver's positional placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def sql(conn: Connection, statement: str) -> str:
    """``statement`` written with ``?`` placeholders, in the driver's own style."""
    if conn.dialect.paramstyle == "qmark":
        return statement
    return statement.replace("%", "%%").replace("?", "%s")


def execute_many(conn: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run ``statement`` once per row with the driver's executemany; return rows affected."""
    if not rows:
        return 0
    result = conn.exec_driver_sql(sql(conn, statement), list(rows))
    return int(result.rowcount)


def insert_rows(
    conn: Connection, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` into ``table_name``: PostgreSQL's ``COPY`` (one round trip for the lot),
    elsewhere the driver's executemany. Inside the connection's transaction either way."""
    if not rows:
        return
    names = ", ".join(columns)
    if is_postgres(conn):
        driver = conn.connection.dbapi_connection
        assert driver is not None
        statement = f"COPY {table_name} ({names}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    execute_many(conn, f"INSERT INTO {table_name} ({names}) VALUES ({marks})", rows)


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def ids_after_explicit(conn: Connection, model_table: Table) -> None:
    """After rows were inserted into ``model_table`` with ids given explicitly: ids the database
    generates from now on start above every id it holds. PostgreSQL's sequence does not see
    explicit ids, so it moves forward past them (never back: that would reuse deleted ids).
    SQLite's AUTOINCREMENT counter already counts explicit ids: nothing to do there."""
    if conn.dialect.name != "postgresql":
        return
    name = model_table.name
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence(:name, 'id'), GREATEST("
            "nextval(pg_get_serial_sequence(:name, 'id')),"
            f" (SELECT max(id) + 1 FROM {model_table.fullname})), false)"
        ),
        {"name": name},
    )


class DriverQuery:
    """A SELECT built with SQLAlchemy, compiled once per dialect and run by the driver itself on
    a reader connection (:class:`_Readers`): for the statements every poll runs
    (docs/performance.md), where SQLAlchemy's execution and its pool's check-out and check-in
    around one statement cost more than the statement.

    Parameters go to the driver as given (no type conversion: ints and strings only), beside
    any value the statement carries itself (a ``LIMIT``); values come back through the
    columns' own result processors (SQLite's 0 and 1 become booleans). The statement runs
    alone, in autocommit: it is its own transaction on either database. A driver error is
    raised as SQLAlchemy's (``sqlalchemy.exc.OperationalError`` when the database is down,
    which the API answers with 503).
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.keys = tuple(statement.selected_columns.keys())
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, engine: Engine) -> _Compiled:
        dialect = engine.dialect
        key = f"{dialect.name}+{dialect.driver}"
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            positions = compiled.positiontup
            processors = [
                (index, processor)
                for index, column in enumerate(self.statement.selected_columns)
                if (processor := column.type.result_processor(dialect, None)) is not None
            ]
            carried = {
                name: bind.effective_value
                for bind, name in compiled.bind_names.items()
                if not bind.required
            }
            found = _Compiled(
                compiled.string,
                None if positions is None else tuple(positions),
                processors,
                carried,
            )
            self._compiled[key] = found
        return found

    def read(self, **params: Any) -> Read:
        """This query with its parameters, for :func:`first_rows`."""
        return Read(self, params)

    def first(self, engine: Engine, **params: Any) -> dict[str, Any] | None:
        """The first row as a mapping of the selected columns' names, or None."""
        values = self._values(engine, params)
        return None if values is None else dict(zip(self.keys, values, strict=True))

    def _values(self, engine: Engine, params: Mapping[str, Any]) -> list[Any] | None:
        """The first row's values, each through its column's result processor, or None."""
        compiled = self._for(engine)
        if compiled.carried:
            params = {**compiled.carried, **params}
        positions = compiled.positions
        args: Any = params if positions is None else tuple(params[key] for key in positions)
        readers = _readers(engine)
        for retry in (False, True):
            connection = readers.take()
            try:
                cursor = connection.cursor()
                cursor.execute(compiled.statement, args)
                row = cursor.fetchone()
                cursor.close()
            except engine.dialect.loaded_dbapi.Error as error:
                lost = engine.dialect.is_disconnect(error, connection, None)
                with contextlib.suppress(Exception):  # a dead connection may fail to close
                    connection.close()
                if lost:
                    # The server went away (a restart): the idle readers are as dead as this
                    # one. One new connection is tried, as the pool's pre-ping would have.
                    readers.close_idle()
                if retry or not lost:
                    raise exc.DBAPIError.instance(
                        compiled.statement,
                        args,
                        error,
                        engine.dialect.loaded_dbapi.Error,
                        dialect=engine.dialect,
                        connection_invalidated=lost,
                    ) from error
            else:
                readers.give(connection)
                break
        if row is None:
            return None
        values = list(row)
        for index, processor in compiled.processors:
            values[index] = processor(values[index])
        return values


@dataclass(frozen=True)
class Read:
    """A :class:`DriverQuery` with its parameters: one of the reads :func:`first_rows` sends."""

    query: DriverQuery
    params: Mapping[str, Any]

    def first(self, engine: Engine) -> dict[str, Any] | None:
        return self.query.first(engine, **self.params)


def first_rows(engine: Engine, *reads: Read) -> list[dict[str, Any] | None]:
    """The first row of each read (as :meth:`DriverQuery.first` gives it), all in one statement:
    one round trip to the database server however many reads (docs/performance.md, "One
    round trip a poll"), and one snapshot of the data on PostgreSQL.

    The reads' parameters must have names of their own: a name two reads share is refused
    (ValueError), since one statement has one value for it.
    """
    if len(reads) == 1:
        return [reads[0].first(engine)]
    params: dict[str, Any] = {}
    for read in reads:
        params.update(read.params)
    if len(params) != sum(len(read.params) for read in reads):
        raise ValueError("reads sent together need parameters of different names")
    queries = tuple(read.query for read in reads)
    together = _TOGETHER.get(queries)
    if together is None:
        together = _TOGETHER.setdefault(queries, _together(queries))
    values = together._values(engine, params)
    assert values is not None  # the statement's one row, whatever the reads find
    rows: list[dict[str, Any] | None] = []
    start = 0
    for query in queries:
        end = start + len(query.keys)
        # The last column of each read's part is 1 when it found a row, NULL when it did not.
        found = values[end] is not None
        rows.append(dict(zip(query.keys, values[start:end], strict=True)) if found else None)
        start = end + 1
    return rows


def _together(queries: Sequence[DriverQuery]) -> DriverQuery:
    """One SELECT whose one row holds the first row of each query, or NULLs where a query found
    none: ``SELECT ... FROM (SELECT 1) LEFT JOIN (query LIMIT 1) ON true LEFT JOIN ...``,
    each query's columns followed by a column that is 1 when it found a row."""
    joined: FromClause = select(literal_column("1").label("one")).subquery("together")
    columns: list[Any] = []
    for number, query in enumerate(queries):
        part = (
            query.statement.add_columns(literal_column("1").label("read_found"))
            .limit(1)
            .subquery(f"read_{number}")
        )
        joined = joined.outerjoin(part, true())
        columns += [column.label(f"read_{number}_{index}") for index, column in enumerate(part.c)]
    return DriverQuery(select(*columns).select_from(joined))


# Each combination of queries some caller reads together, compiled once (a handful at most).
_TOGETHER: dict[tuple[DriverQuery, ...], DriverQuery] = {}


@dataclass(frozen=True)
class _Compiled:
    statement: str
    positions: tuple[str, ...] | None  # the parameters' order, for positional drivers
    processors: Sequence[tuple[int, Callable[[Any], Any]]]  # (column index, result processor)
    carried: Mapping[str, Any]  # the values the statement carries itself (a LIMIT's)


class _Readers:
    """The connections :class:`DriverQuery` runs on, for one engine's pool: each taken from the
    pool once (so the pool's connect-time settings and its pre-ping apply), detached from it and
    put in autocommit, then lent to one statement at a time. Lending one is a list's pop and
    append, where the pool's check-out and check-in cost as much as the query
    (docs/performance.md). There are as many as statements have run at once in this process: one
    per thread that polls."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.idle: list[DBAPIConnection] = []  # popped and appended: atomic in CPython
        self.released = False

    def take(self) -> DBAPIConnection:
        try:
            return self.idle.pop()
        except IndexError:
            pass
        dialect = self.engine.dialect
        try:
            return self._open()
        except dialect.loaded_dbapi.Error as error:
            # The pool's connect raises the driver's own error (a refused connection while the
            # server is down): wrapped as SQLAlchemy's, as every other query's is, so the API
            # answers it with 503 like any database outage
            # (docs/operations.md, "Many nodes: load and faults").
            raise exc.DBAPIError.instance(
                None, None, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error

    def _open(self) -> DBAPIConnection:
        pooled = self.engine.raw_connection()
        pooled.detach()  # ours to close from now on; the pool may open another in its place
        connection = pooled.dbapi_connection
        if connection is None:  # pragma: no cover - a checked-out connection always has one
            raise RuntimeError("the pool lent no driver connection")
        try:
            connection.rollback()  # what the pre-ping's SELECT may have begun
            self.engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        except BaseException:
            connection.close()
            raise
        return connection

    def give(self, connection: DBAPIConnection) -> None:
        if self.released:
            connection.close()
        else:
            self.idle.append(connection)

    def close_idle(self) -> None:
        while self.idle:
            try:
                connection = self.idle.pop()
            except IndexError:  # another thread took the last one
                break
            with contextlib.suppress(Exception):  # a dead connection may fail to close
                connection.close()


# By pool, not engine: a forked process disposes of its engine (worker/lifecycle.py), which
# gives the engine a new pool, so it opens readers of its own and never touches its parent's.
_READERS: dict[Pool, _Readers] = {}


def _readers(engine: Engine) -> _Readers:
    found = _READERS.get(engine.pool)
    if found is None:
        found = _READERS.setdefault(engine.pool, _Readers(engine))
    return found


def release_readers(engine: Engine) -> None:
    """Close the reader connections of ``engine``'s pool; call before disposing of the engine.
    Readers lent at the time are closed when they come back."""
    readers = _READERS.pop(engine.pool, None)
    if readers is not None:
        readers.released = True
        readers.close_idle()

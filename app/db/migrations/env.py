"""Alembic's environment: the models' metadata and the URL that ``app.db.migrate`` hands over.

The URL comes from ``config.attributes["url"]`` (set in code), else ``sqlalchemy.url``, else the
service's own configuration, so ``alembic -c app/db/migrations/alembic.ini ...`` works for
developers.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, event, text

from app.db import IMMEDIATE, make_engine
from app.db.migrate import include_object
from app.db.models import Base

# Any fixed number: concurrent migrations of one PostgreSQL database queue on this lock.
PG_LOCK_KEY = 0x62756C6B6A6F62

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from app.config import Settings

        url = Settings.from_env().database_url
    return str(url)


def _foreign_keys_off(dbapi_conn: Any, _record: Any) -> None:
    # A batch migration rebuilds a table by dropping it: with foreign keys on, SQLite would
    # cascade that drop into every child table's rows.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=OFF")
    cur.close()


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _foreign_keys_off)
    return engine


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
        # SQLite alters tables by copying them; batch mode writes migrations that way.
        render_as_batch=kwargs.get("dialect_name") == "sqlite",
        **{k: v for k, v in kwargs.items() if k != "dialect_name"},
    )


def run_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    url = _url()
    _configure(url=url, literal_binds=True, dialect_name=url.split(":", 1)[0].split("+")[0])
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(
        connection=connection,
        dialect_name=connection.dialect.name,
        # SQLite and PostgreSQL both roll DDL back: a failed migration leaves nothing half-done.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = _engine(_url())
    try:
        # SQLite: BEGIN IMMEDIATE, so a second migrator waits and then finds the work done.
        with engine.connect().execution_options(**{IMMEDIATE: True}) as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

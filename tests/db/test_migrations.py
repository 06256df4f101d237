"""The Alembic migrations build exactly the schema that app/models.py describes."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, delete, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.db import make_engine
from app.db import migrate as schema
from app.db.models import (
    Agent,
    AgentTeam,
    Base,
    Job,
    JobEvent,
    JobFile,
    JobLine,
    Peripheral,
    table,
)
from app.scim import groups as scim_groups
from tests.conftest import PG_URL, services_unavailable

# The tables whose ids are never given twice (revision 0006).
NEVER_REUSED = ("jobs", "agents", "agent_teams")


def differences(url: str) -> list[Any]:
    """What autogenerate would still change: empty when the database matches the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    # As the migrations' env.py: the optional trigram index is not in the models.
                    "include_object": schema.include_object,
                },
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
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema() -> Iterator[str]:
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
    assert schema.head() == "0014"


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


# What compare_metadata does not look at: how ids are made -------------------------------------


def _items(body: str) -> list[str]:
    """A CREATE TABLE's column and constraint definitions: its body split at top-level commas."""
    items, depth, start = [], 0, 0
    for position, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(body[start:position])
            start = position + 1
    items.append(body[start:])
    return sorted(" ".join(item.split()) for item in items)


def sqlite_ddl(url: str) -> dict[str, Any]:
    """Each table's definitions (in any order, as ADD COLUMN and rebuilds leave them) and each
    index's statement, as SQLite keeps them."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " AND name NOT IN ('alembic_version', 'sqlite_sequence')"
        ).fetchall()
    ddl: dict[str, Any] = {}
    for kind, name, sql in rows:
        sql = sql.replace('"', "")
        if kind == "table":
            ddl[name] = _items(sql[sql.index("(") + 1 : sql.rindex(")")])
        else:
            ddl[name] = " ".join(sql.split())
    return ddl


def pg_ids(url: str) -> dict[str, tuple[Any, ...]]:
    """Each column's default and the sequence it owns (its type, start, bounds)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.table_name, c.column_name, c.column_default, s.data_type,"
                    " s.start_value, s.minimum_value, s.maximum_value, s.increment"
                    " FROM information_schema.columns c"
                    " LEFT JOIN information_schema.sequences s"
                    " ON s.sequence_schema = c.table_schema AND s.sequence_name = split_part("
                    "  pg_get_serial_sequence(c.table_name, c.column_name), '.', 2)"
                    " WHERE c.table_schema = current_schema()"
                    " AND c.table_name != 'alembic_version'"
                )
            ).all()
    finally:
        engine.dispose()
    return {f"{row[0]}.{row[1]}": tuple(row[2:]) for row in rows}


def test_sqlite_tables_are_exactly_as_the_models_declare(sqlite_url: str, tmp_path: Path) -> None:
    """AUTOINCREMENT, partial indexes' WHERE, ON DELETE: the DDL the migrations leave is the DDL
    ``create_all`` writes, definition by definition."""
    schema.upgrade(sqlite_url)
    created = f"sqlite:///{tmp_path}/created.sqlite"
    engine = make_engine(created)
    Base.metadata.create_all(engine)
    engine.dispose()
    migrated = sqlite_ddl(sqlite_url)
    assert migrated == sqlite_ddl(created)
    for name in NEVER_REUSED:
        assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in migrated[name]


def test_postgres_ids_are_exactly_as_the_models_declare() -> None:
    with pg_schema() as migrated, pg_schema() as created:
        schema.upgrade(migrated)
        engine = make_engine(created)
        Base.metadata.create_all(engine)
        engine.dispose()
        ids = pg_ids(migrated)
        assert ids == pg_ids(created)
    for name in NEVER_REUSED:
        default, sequence_type = ids[f"{name}.id"][:2]
        assert default == f"nextval('{name}_id_seq'::regclass)"
        assert sequence_type == "integer"


# An existing database with data -------------------------------------------------------------

peripherals = table(Peripheral)
teams = table(AgentTeam)
agents = table(Agent)
jobs = table(Job)
CHILDREN = (table(JobFile), table(JobEvent), table(JobLine))


def agent_row(name: str, team: int | None) -> dict[str, Any]:
    return {
        "agent_id": str(1000 + len(name)),
        "peripheral_id": 5000,
        "agent_team_id": team,
        "first_name": name,
        "last_name": "Last",
        "user_name": name,
        "user_name_key": name.lower(),
        "login_enabled": True,
        "sso_enabled": False,
        "supervisor": False,
        "description": "",
        "change_stamp": 0,
        "external_id": f"HR-{name}",
        "created_ms": 1,
        "modified_ms": 2,
    }


def job_row(description: str) -> dict[str, Any]:
    return {
        "change_stamp": 0,
        "description": description,
        "job_type": 5,
        "job_state": 3,
        "job_host_name": "web",
        "created_by": "admin",
        "create_ms": 1,
        "total_records": 1,
        "processed_records": 1,
        "succeeded_records": 1,
        "failed_records": 0,
        "cancel_requested": False,
    }


def new_ids(conn: Connection, label: str) -> dict[str, int]:
    """A job, an agent and (through SCIM) a team created without ids: the ids they got."""
    return {
        "jobs": conn.execute(insert(jobs).values(job_row(label)).returning(jobs.c.id)).scalar_one(),
        "agents": conn.execute(
            insert(agents).values(agent_row(label, None)).returning(agents.c.id)
        ).scalar_one(),
        "agent_teams": scim_groups.create_group(conn, {"displayName": label}, None),
    }


def remove(conn: Connection, ids: dict[str, int]) -> None:
    for child in CHILDREN:
        conn.execute(delete(child).where(child.c.job_id == ids["jobs"]))
    conn.execute(delete(jobs).where(jobs.c.id == ids["jobs"]))
    conn.execute(delete(agents).where(agents.c.id == ids["agents"]))
    conn.execute(delete(teams).where(teams.c.id == ids["agent_teams"]))


def fill_at_0005(url: str) -> None:
    """Three jobs (with files, events, lines), agents and teams, then the highest of each
    deleted, as a database in use at revision 0005 may be."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(peripherals).values(id=5000, name="PG"))
            for n in (1, 2, 3):
                # At 0005 whoever inserts a team gives its id (SCIM took the highest + 1).
                conn.execute(
                    insert(teams).values(
                        id=n, name=f"Team {n}", peripheral_id=5000, external_id=f"T{n}"
                    )
                )
                conn.execute(insert(agents).values(agent_row(f"agent{n}", n if n < 3 else 1)))
                job_id = conn.execute(
                    insert(jobs).values(job_row(f"job {n}")).returning(jobs.c.id)
                ).scalar_one()
                conn.execute(
                    insert(CHILDREN[0]).values(job_id=job_id, content=b"x\n", encoding="utf-8")
                )
                conn.execute(
                    insert(CHILDREN[1]).values(job_id=job_id, at_ms=1, after_line=0, message="made")
                )
                conn.execute(
                    insert(CHILDREN[2]).values(
                        job_id=job_id, line_number=2, at_ms=1, ok=True, message="ok"
                    )
                )
            remove(conn, {"jobs": 3, "agents": 3, "agent_teams": 3})
    finally:
        engine.dispose()


def columns_of(url: str) -> dict[str, list[str]]:
    """The columns each table of the models has in the database now (later revisions add some)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            names = set(found.get_table_names())
            return {
                name: [c["name"] for c in found.get_columns(name)]
                for name in Base.metadata.tables
                if name in names
            }
    finally:
        engine.dispose()


def snapshot(url: str, columns: dict[str, list[str]]) -> dict[str, list[Any]]:
    """Every row of the tables in ``columns``, as those columns hold it."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(
                    tuple(row)
                    for row in conn.execute(
                        select(*(Base.metadata.tables[name].c[c] for c in names))
                    )
                )
                for name, names in columns.items()
            }
    finally:
        engine.dispose()


def sqlite_checks(url: str) -> dict[str, Any]:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
            "foreign keys": conn.execute("PRAGMA foreign_key_check").fetchall(),
            "sequence": dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()),
        }


def database_at(
    database: str, request: pytest.FixtureRequest, sqlite_url: str, revision: str
) -> str:
    """The URL of an empty database of kind ``database`` migrated to ``revision``."""
    url = sqlite_url if database == "sqlite" else request.getfixturevalue("pg_schema_url")
    if database == "sqlite":
        Path(sqlite_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    command.upgrade(schema.alembic_config(url), revision)
    return url


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_upgrading_a_database_in_use_keeps_it_and_never_reuses_an_id(
    database: str, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    url = database_at(database, request, sqlite_url, "0005")
    fill_at_0005(url)
    at_0005 = columns_of(url)
    before = snapshot(url, at_0005)
    assert {name: [row[0] for row in before[name]] for name in NEVER_REUSED} == {
        name: [1, 2] for name in NEVER_REUSED
    }

    schema.upgrade(url)
    assert schema.current(url) == schema.head()
    assert snapshot(url, at_0005) == before
    assert differences(url) == []
    if database == "sqlite":
        assert sqlite_checks(url) == {
            "integrity": [("ok",)],
            "foreign keys": [],
            "sequence": {name: 2 for name in NEVER_REUSED},
        }

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            first = new_ids(conn, "first")
        # Above every id the database held when it was upgraded (id 3 was deleted before: only
        # PostgreSQL's serial sequences of jobs and agents still knew of it).
        assert all(first[name] > 2 for name in NEVER_REUSED), first
        if database == "postgresql":
            assert first["jobs"] > 3 and first["agents"] > 3, first
        with engine.begin() as conn:
            remove(conn, first)
            second = new_ids(conn, "second")
        assert all(second[name] > first[name] for name in NEVER_REUSED), (first, second)
    finally:
        engine.dispose()

    # Downgraded, every row is still there; upgraded again, ids go on above the highest.
    kept = snapshot(url, at_0005)
    command.downgrade(schema.alembic_config(url), "0005")
    assert snapshot(url, at_0005) == kept
    schema.upgrade(url)
    assert snapshot(url, at_0005) == kept
    assert differences(url) == []
    if database == "sqlite":
        assert sqlite_checks(url)["foreign keys"] == []


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_0007_keeps_every_agents_agent_id_and_gives_it_as_the_employee_number(
    database: str, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    """SCIM showed the agentId as employeeNumber until 0007: the agentId stays where it is, and
    the new employee number starts as it (what a client read before); downgraded, the agents
    are as they were."""
    url = database_at(database, request, sqlite_url, "0006")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(peripherals).values(id=5000, name="PG"))
            for name in ("ann", "bea", "cyd0"):
                conn.execute(insert(agents).values(agent_row(name, None)))
        at_0006 = columns_of(url)
        before = snapshot(url, at_0006)

        schema.upgrade(url)
        assert schema.current(url) == schema.head()
        assert snapshot(url, at_0006) == before  # every agentId (and all else) as it was
        assert differences(url) == []
        with engine.connect() as conn:
            pairs = conn.execute(select(agents.c.agent_id, agents.c.employee_number)).all()
        assert sorted(pairs) == [("1003", "1003"), ("1003", "1003"), ("1004", "1004")]
        assert "ix_agents_peripheral_agent_id" in {
            index["name"] for index in inspect(engine).get_indexes("agents")
        }

        command.downgrade(schema.alembic_config(url), "0006")
        assert snapshot(url, at_0006) == before
        assert "employee_number" not in {c["name"] for c in inspect(engine).get_columns("agents")}
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_job_totals_start_from_the_jobs_held(
    database: str, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    """Revision 0011: the totals /metrics reads begin at what the jobs table held, so no counter
    falls at the upgrade."""
    url = database_at(database, request, sqlite_url, "0006")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            done = {"create_ms": 0, "start_ms": 200, "end_ms": 1_700, "processed_records": 4}
            conn.execute(insert(jobs).values({**job_row("ok"), **done, "failed_records": 1}))
            queued = {"job_state": 1, "processed_records": 0}
            conn.execute(insert(jobs).values({**job_row("waiting"), **queued}))
        schema.upgrade(url)
        with engine.connect() as conn:
            kept = dict(conn.execute(text("SELECT name, value FROM job_totals")).all())
    finally:
        engine.dispose()
    assert kept["created"] == 2
    assert kept["finished:3"] == 1
    assert (kept["processed"], kept["failed"]) == (4, 1)
    assert (kept["wait_count"], kept["wait_sum_ms"], kept["wait_le:250"]) == (1, 200, 1)
    assert "wait_le:100" not in kept
    assert (kept["duration_count"], kept["duration_sum_ms"], kept["duration_le:2500"]) == (
        1,
        1500,
        1,
    )
    assert "duration_le:1000" not in kept

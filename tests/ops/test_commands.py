"""The operator commands, run as `flask --app app ...` would run them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import Integer, cast, func, select

from app import create_app
from app.accounts import users
from app.accounts.users import Principal
from app.db import db
from app.db import migrate as schema
from app.db.models import Agent, AgentTeam, Job, JobLine, JobState, Peripheral, User, table
from app.directory import demo as directory
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

API = "/unifiedconfig/config/bulkjob"


@pytest.fixture
def cli_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        overrides={
            "data_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path}/t.sqlite",
            "broker_url": f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        }
    )
    yield app
    db.dispose()


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def count(model: type) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(model))).scalar_one())


@pytest.fixture
def ready(cli_app: Flask) -> Flask:
    result = run(cli_app, "init-db")
    assert result.exit_code == 0, result.output
    return cli_app


def test_init_db_creates_the_schema_and_is_safe_to_repeat(cli_app: Flask) -> None:
    url = cli_app.config["SETTINGS"].database_url
    first = run(cli_app, "init-db")
    assert first.exit_code == 0, first.output
    assert schema.current(url) == schema.head()
    assert "create-user" in first.stdout  # no users yet: how to create the first admin
    second = run(cli_app, "init-db")
    assert second.exit_code == 0, second.output
    assert schema.current(url) == schema.head()


def test_init_db_says_nothing_about_admins_once_there_are_users(ready: Flask) -> None:
    created = run(ready, "create-user", "root", "--role", "admin", "--password-stdin", input="p\n")
    assert created.exit_code == 0, created.output
    result = run(ready, "init-db")
    assert result.exit_code == 0
    assert "create-user" not in result.stdout


def test_demo_data_loads_a_directory(ready: Flask) -> None:
    result = run(ready, "demo-data", "--agents", "2000", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert "Loaded 2000 agents" in result.stdout
    assert count(Agent) == 2000
    assert count(Peripheral) == 5
    assert count(AgentTeam) == 40
    agents = table(Agent)
    with db.read() as conn:
        rows = conn.execute(select(agents)).all()
    names = [r.user_name_key for r in rows]
    assert len(set(names)) == len(names)
    assert all(r.user_name_key == r.user_name.lower() for r in rows)
    assert all(r.agent_id.isdigit() and r.change_stamp == 0 for r in rows)
    assert 50 <= sum(r.supervisor for r in rows) <= 150
    assert 120 <= sum(r.sso_enabled for r in rows) <= 280
    assert 120 <= sum(r.agent_team_id is None for r in rows) <= 280
    assert sum(r.login_enabled for r in rows) > 1800


def test_demo_data_on_a_non_empty_directory_changes_nothing(ready: Flask) -> None:
    assert run(ready, "demo-data", "--agents", "300").exit_code == 0
    with db.read() as conn:
        before = conn.execute(select(table(Agent)).order_by(table(Agent).c.id)).all()
    result = run(ready, "demo-data", "--agents", "50", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "Directory unchanged" in result.stdout
    with db.read() as conn:
        assert conn.execute(select(table(Agent)).order_by(table(Agent).c.id)).all() == before


def test_demo_data_replace(ready: Flask) -> None:
    assert run(ready, "demo-data", "--agents", "300").exit_code == 0
    result = run(ready, "demo-data", "--agents", "120", "--seed", "2", "--replace")
    assert result.exit_code == 0, result.output
    assert "Loaded 120 agents" in result.stdout
    assert count(Agent) == 120
    assert count(Peripheral) == 5


def test_demo_data_is_deterministic(ready: Flask) -> None:
    agents = table(Agent)
    loads = []
    for _ in range(2):
        with db.write() as conn:
            directory.load_demo(conn, 500, seed=11, replace=True)
        with db.read() as conn:
            loads.append(conn.execute(select(agents).order_by(agents.c.id)).all())
    assert loads[0] == loads[1]
    with db.write() as conn:
        directory.load_demo(conn, 500, seed=12, replace=True)
    with db.read() as conn:
        assert conn.execute(select(agents).order_by(agents.c.id)).all() != loads[0]


def test_demo_data_needs_the_schema(cli_app: Flask) -> None:
    result = run(cli_app, "demo-data", "--agents", "10")
    assert result.exit_code == 1
    assert "init-db" in result.output


def test_create_user_then_token(ready: Flask) -> None:
    result = run(
        ready, "create-user", "alice", "--role", "admin", "--password-stdin", input="s3cret pw\n"
    )
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert users.authenticate_basic(db.engine, "alice", "s3cret pw") == Principal("alice", "admin")

    result = run(ready, "create-token", "alice")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert users.authenticate_token(db.engine, lines[0]) == Principal("alice", "admin")


def test_create_user_prompts_for_a_hidden_confirmed_password(ready: Flask) -> None:
    result = run(ready, "create-user", "vic", "--role", "viewer", input="pw one\npw one\n")
    assert result.exit_code == 0, result.output
    assert "pw one" not in result.output
    assert users.authenticate_basic(db.engine, "vic", "pw one") == Principal("vic", "viewer")


@pytest.mark.parametrize(
    ("role", "stdin", "error"),
    [
        ("root", "pw\n", "--role"),
        ("admin", "\n", "password is required"),
        ("admin", "", "password is required"),
    ],
)
def test_create_user_refuses(ready: Flask, role: str, stdin: str, error: str) -> None:
    result = run(ready, "create-user", "eve", "--role", role, "--password-stdin", input=stdin)
    assert result.exit_code != 0
    assert error in result.stderr
    assert count(User) == 0


def test_create_user_refuses_a_duplicate_in_any_case(ready: Flask) -> None:
    args = ("--role", "admin", "--password-stdin")
    assert run(ready, "create-user", "Alice", *args, input="a\n").exit_code == 0
    result = run(ready, "create-user", "alice", *args, input="b\n")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_create_token_for_unknown_user(ready: Flask) -> None:
    result = run(ready, "create-token", "nobody")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "nobody" in result.stderr


def _token(ready: Flask, user: str = "alice") -> tuple[str, int]:
    result = run(ready, "create-token", user)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    match = re.search(r"Token id (\d+) for " + user, result.stderr)
    assert match, result.stderr
    return token, int(match.group(1))


def test_revoke_token_by_id_by_text_and_by_user(ready: Flask) -> None:
    run(ready, "create-user", "alice", "--role", "admin", "--password-stdin", input="pw\n")
    first, first_id = _token(ready)
    second, _ = _token(ready)
    third, _ = _token(ready)
    assert token_works(first)

    result = run(ready, "revoke-token", str(first_id))
    assert result.exit_code == 0, result.output
    assert f"id {first_id}" in result.stdout
    assert not token_works(first) and token_works(second)
    # Again: nothing live to revoke.
    assert run(ready, "revoke-token", str(first_id)).exit_code == 1

    result = run(ready, "revoke-token", "--token-stdin", input=second + "\n")
    assert result.exit_code == 0, result.output
    assert not token_works(second) and token_works(third)

    result = run(ready, "revoke-token", "--user", "ALICE")
    assert result.exit_code == 0, result.output
    assert not token_works(third)


def token_works(token: str) -> bool:
    return users.authenticate_token(db.engine, token) is not None


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        ((), "", "exactly one"),
        (("1", "--user", "alice"), "", "exactly one"),
        (("999",), "", "no such live token"),
        (("--token-stdin",), "bjt_made-up\n", "no such live token"),
        (("--user", "nobody"), "", "nobody"),
        (("abc",), "", "not a valid integer"),
    ],
)
def test_revoke_token_refuses(ready: Flask, args: tuple[str, ...], stdin: str, error: str) -> None:
    run(ready, "create-user", "alice", "--role", "admin", "--password-stdin", input="pw\n")
    token, _ = _token(ready)
    result = run(ready, "revoke-token", *args, input=stdin)
    assert result.exit_code != 0
    assert error in result.stderr
    assert token_works(token)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_demo_data_jobs_adds_a_consistent_history(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("pg_url") if database == "postgresql" else None
    app = migrated_app(tmp_path, url)
    try:
        first = run(app, "demo-data", "--agents", "0", "--jobs", "300", "--seed", "3")
        assert first.exit_code == 0, first.output
        assert "Added 300 finished jobs" in first.stdout
        again = run(app, "demo-data", "--agents", "0", "--jobs", "200", "--seed", "4")
        assert "Added 200 finished jobs" in again.stdout
        jobs, lines = table(Job), table(JobLine)
        with db.read() as conn:
            held = conn.execute(select(jobs)).all()
            outcomes = {
                row.job_id: (row.n, row.ok)
                for row in conn.execute(
                    select(
                        lines.c.job_id,
                        func.count().label("n"),
                        func.sum(cast(lines.c.ok, Integer)).label("ok"),
                    ).group_by(lines.c.job_id)
                )
            }
        assert len({job.id for job in held}) == 500
        assert all(job.job_state in JobState.FINISHED for job in held)
        # Counters equal the outcomes; every job has its file's rows' outcomes up to where it ended.
        for job in held:
            assert outcomes[job.id] == (job.processed_records, job.succeeded_records)
            assert job.processed_records == job.succeeded_records + job.failed_records
        client = app.test_client()
        with db.write() as conn:
            factories.user(conn, "admin", "admin", PASSWORD)
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'bulkjob_jobs_created_total{job_type="5"} 500.0' in metrics
        finished = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("bulkjob_jobs_finished_total{")
        )
        assert finished == 500
        listed = client.get(f"{API}?q=Wave&resultsPerPage=5", headers=basic())
        assert listed.status_code == 200
        log = client.get(f"{API}/{held[0].id}/log", headers=basic())
        assert log.status_code == 200
        assert b"lines processed" in log.data
    finally:
        db.dispose()


def test_demo_data_leaves_fresh_statistics_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """A bulk load is followed by ANALYZE, so the first job's planner knows the tables' sizes
    (README, "Performance")."""
    app = migrated_app(tmp_path, pg_url)
    try:
        result = run(app, "demo-data", "--agents", "300", "--jobs", "20", "--seed", "5")
        assert result.exit_code == 0, result.output
        with db.read() as conn:
            analyzed = dict(
                conn.exec_driver_sql(
                    "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relname IN ('agents', 'agent_teams', 'peripherals', 'jobs')"
                ).all()
            )
        assert analyzed == {"agents": True, "agent_teams": True, "peripherals": True, "jobs": True}
    finally:
        db.dispose()

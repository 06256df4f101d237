"""The operator commands, run as `flask --app app ...` would run them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import Connection, Integer, cast, func, insert, select

from app import create_app
from app.accounts import users
from app.accounts.users import Principal
from app.db import db
from app.db import migrate as schema
from app.db.models import (
    Agent,
    AgentAttribute,
    AgentDeskSetting,
    AgentSkillGroup,
    AgentTeam,
    Attribute,
    CallType,
    Department,
    DialedNumber,
    Job,
    JobLine,
    JobState,
    MediaRoutingDomain,
    Peripheral,
    SkillGroup,
    TeamSupervisor,
    User,
    table,
)
from app.directory import demo as directory
from app.directory.names import name_problem
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
    assert "50 skill groups, 5 attributes, 2 agent desk settings" in result.stdout
    assert "2 departments, 6 call types and 9 dialed numbers" in result.stdout


def test_demo_data_on_a_non_empty_directory_changes_nothing(ready: Flask) -> None:
    assert run(ready, "demo-data", "--agents", "300").exit_code == 0
    with db.read() as conn:
        before = conn.execute(select(table(Agent)).order_by(table(Agent).c.id)).all()
    result = run(ready, "demo-data", "--agents", "50", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "Directory unchanged" in result.stdout
    with db.read() as conn:
        assert conn.execute(select(table(Agent)).order_by(table(Agent).c.id)).all() == before


def test_demo_data_on_a_directory_of_other_objects_changes_nothing(ready: Flask) -> None:
    """A directory with no agents yet but skill groups, attributes, departments, desk settings
    or call types of its own is not empty (the schema's default desk settings do not count)."""
    with db.write() as conn:
        conn.execute(
            insert(table(Department)).values(name="Marketing", name_key="marketing", description="")
        )
        conn.execute(insert(table(CallType)).values(name="Promo", name_key="promo", description=""))
    result = run(ready, "demo-data", "--agents", "50")
    assert "Directory unchanged" in result.stdout
    assert "1 departments, 1 call types" in result.stdout
    assert count(Agent) == 0 and count(SkillGroup) == 0
    replaced = run(ready, "demo-data", "--agents", "50", "--replace")
    assert "Loaded 50 agents" in replaced.stdout, replaced.output
    assert count(Department) == 2 and count(AgentDeskSetting) == 3
    assert count(CallType) == 6  # Promo went with the rest


def test_demo_data_replace(ready: Flask) -> None:
    assert run(ready, "demo-data", "--agents", "300").exit_code == 0
    result = run(ready, "demo-data", "--agents", "120", "--seed", "2", "--replace")
    assert result.exit_code == 0, result.output
    assert "Loaded 120 agents" in result.stdout
    assert count(Agent) == 120
    assert count(Peripheral) == 5
    assert count(SkillGroup) == 50 and count(Attribute) == 5
    assert count(AgentDeskSetting) == 3 and count(Department) == 2
    with db.read() as conn:
        members = {m.agent_id for m in conn.execute(select(table(AgentSkillGroup)))}
    assert members == {5001 + i for i in range(120)}


# Every table the demo fills.
DEMO_TABLES = {
    "peripherals": table(Peripheral),
    "teams": table(AgentTeam),
    "agents": table(Agent),
    "skill_groups": table(SkillGroup),
    "attributes": table(Attribute),
    "desk_settings": table(AgentDeskSetting),
    "departments": table(Department),
    "agent_skill_groups": table(AgentSkillGroup),
    "agent_attributes": table(AgentAttribute),
    "team_supervisors": table(TeamSupervisor),
    "call_types": table(CallType),
    "dialed_numbers": table(DialedNumber),
}


def directory_rows(conn: Connection) -> dict[str, Sequence[Any]]:
    """Every row of every table the demo fills, in order."""
    return {
        name: conn.execute(select(t).order_by(*t.primary_key.columns)).all()
        for name, t in DEMO_TABLES.items()
    }


def on(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """A migrated app on ``database`` (an emptied PostgreSQL database, or SQLite)."""
    url = request.getfixturevalue("pg_url") if database == "postgresql" else None
    return migrated_app(tmp_path, url)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_demo_data_is_deterministic(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The same seed gives the same rows, ids included, in every table (a replace gives them
    again); another seed another directory."""
    on(database, request, tmp_path)
    try:
        loads = []
        for _ in range(2):
            with db.write() as conn:
                directory.load_demo(conn, 500, seed=11, replace=True)
            with db.read() as conn:
                loads.append(directory_rows(conn))
        assert loads[0] == loads[1]
        assert all(loads[0][name] for name in DEMO_TABLES)
        with db.write() as conn:
            directory.load_demo(conn, 500, seed=12, replace=True)
        with db.read() as conn:
            other = directory_rows(conn)
        for name in ("agents", "agent_skill_groups", "agent_attributes", "team_supervisors"):
            assert other[name] != loads[0][name], name
        # The objects themselves do not depend on the seed.
        for name in (
            "skill_groups",
            "attributes",
            "desk_settings",
            "departments",
            "teams",
            "call_types",
            "dialed_numbers",
        ):
            assert other[name] == loads[0][name], name
    finally:
        db.dispose()


def test_demo_agents_are_those_the_seed_gave_before_the_contact_center(ready: Flask) -> None:
    """The contact-center directory draws from a generator of its own: a seed's agents (user
    names, peripherals, teams, SSO, supervisors) are what they were before it existed, which
    tests and benchmarks rely on. The fingerprint was taken from the demo of revision 0011."""
    with db.write() as conn:
        directory.load_demo(conn, 300, seed=7)
    agents = table(Agent)
    with db.read() as conn:
        rows = conn.execute(select(agents).order_by(agents.c.id)).all()
    text = "\n".join(
        f"{r.id} {r.peripheral_id} {r.agent_team_id} {r.user_name} "
        f"{int(r.login_enabled)}{int(r.sso_enabled)}{int(r.supervisor)}"
        for r in rows
    )
    assert rows[0].user_name == "cmartinez7468"
    assert (
        hashlib.sha256(text.encode()).hexdigest()
        == "aed2be297d3235019c5a7babaf56f3b3c72fc128ae2a29e1f2b71cf92a4f373e"
    )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_demo_data_loads_a_consistent_contact_center_directory(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    on(database, request, tmp_path)
    try:
        with db.write() as conn:
            summary = directory.load_demo(conn, 1500, seed=9)
        with db.read() as conn:
            check_demo_directory(conn, summary, 1500)
            voice = conn.execute(
                select(table(MediaRoutingDomain).c.id).where(
                    table(MediaRoutingDomain).c.name == "Cisco_Voice"
                )
            ).scalar_one()
            assert {g.media_routing_domain_id for g in conn.execute(select(table(SkillGroup)))} == {
                voice
            }
        # Objects made afterwards get ids above the demo's (PostgreSQL's sequences moved on).
        made = made_after_the_demo()
        for name, t in DEMO_TABLES.items():
            if name in made:
                with db.read() as conn:
                    demo_ids = conn.execute(select(t.c.id).where(t.c.id != made[name])).scalars()
                    assert made[name] > max(demo_ids), name
        # A replace empties it all (what was made afterwards too; not the default desk
        # settings) and loads another seed's directory.
        with db.write() as conn:
            replaced = directory.load_demo(conn, 700, seed=10, replace=True)
        assert replaced["replaced"] == 1500
        with db.read() as conn:
            check_demo_directory(conn, replaced, 700)
            for name, new_id in made.items():
                t = DEMO_TABLES[name]
                assert conn.execute(select(t).where(t.c.id == new_id)).first() is None, name
        # And a replace with no agents leaves the objects, with no memberships.
        with db.write() as conn:
            directory.load_demo(conn, 0, seed=10, replace=True)
        with db.read() as conn:
            held = directory_rows(conn)
        assert len(held["skill_groups"]) == 50 and not held["agent_skill_groups"]
        assert not held["agent_attributes"] and not held["team_supervisors"]
    finally:
        db.dispose()


def made_after_the_demo() -> dict[str, int]:
    """Make one object of each kind the demo gives ids to, as the API and jobs do (the database
    gives the id); their ids by table."""
    named = {"name": "Made_After", "name_key": "made_after", "description": ""}
    made: dict[str, int] = {}
    with db.write() as conn:
        for name, values in (
            ("desk_settings", named),
            ("departments", named),
            ("attributes", {**named, "data_type": 3, "default_value": "false"}),
            (
                "skill_groups",
                {
                    **named,
                    "peripheral_id": 5000,
                    "peripheral_number": 99,
                    "media_routing_domain_id": 1,  # Cisco_Voice, made by the schema
                },
            ),
            ("teams", {**named, "peripheral_id": 5000}),
            ("call_types", named),
            (
                "dialed_numbers",
                {
                    "dialed_number_string": "5999",
                    "string_key": "5999",
                    "routing_type": 2,
                    "media_routing_domain_id": 1,
                },
            ),
        ):
            t = DEMO_TABLES[name]
            made[name] = conn.execute(insert(t).values(**values).returning(t.c.id)).scalar_one()
    return made


def check_demo_directory(conn: Connection, summary: dict[str, Any], agents: int) -> None:
    """What every demo directory holds, and that its memberships are consistent."""
    held = directory_rows(conn)
    assert summary["loaded"] == len(held["agents"]) == agents
    assert summary["skill_groups"] == len(held["skill_groups"]) == 50
    assert summary["attributes"] == len(held["attributes"]) == 5
    assert summary["departments"] == len(held["departments"]) == 2
    assert summary["desk_settings"] == 2
    desk_settings = {d.id: d for d in held["desk_settings"]}
    assert desk_settings[1].name == "Default_Agent_Desk_Settings"
    assert {d.name for d in desk_settings.values()} == {
        "Default_Agent_Desk_Settings",
        "Sales_Desk_Settings",
        "Support_Desk_Settings",
    }
    assert len({(d.work_mode_timer, d.auto_answer_enabled) for d in desk_settings.values()}) == 3
    assert {d.name for d in held["departments"]} == {"Sales", "Support"}
    departments = {d.id for d in held["departments"]}

    groups = {g.id: g for g in held["skill_groups"]}
    for named in (*groups.values(), *held["attributes"], *held["departments"]):
        assert name_problem(named.name) is None, named.name
        assert named.name_key == named.name.lower()
    numbers: dict[int, list[int]] = {}
    for g in groups.values():
        numbers.setdefault(g.peripheral_id, []).append(g.peripheral_number)
        assert g.department_id is None or g.department_id in departments
    assert {p.id for p in held["peripherals"]} == set(numbers)
    assert all(sorted(n) == list(range(1, 11)) for n in numbers.values())
    group_names = {g.name for g in groups.values()}
    assert {"Sales_North_SG", "VIP_Central_SG", "Overflow_West_SG"} <= group_names

    types = {a.name: (a.data_type, a.default_value) for a in held["attributes"]}
    assert types == {
        "Spanish": (3, "false"),
        "French": (3, "false"),
        "Billing_Certified": (3, "false"),
        "Sales_Skill": (4, "1"),
        "Support_Skill": (4, "1"),
    }
    data_type = {a.id: a.data_type for a in held["attributes"]}
    proficiencies = {str(level) for level in range(1, 11)}
    for value in held["agent_attributes"]:
        allowed = {"true", "false"} if data_type[value.attribute_id] == 3 else proficiencies
        assert value.value in allowed, value

    teams = {t.id: t for t in held["teams"]}
    agents_by_id = {a.id: a for a in held["agents"]}
    memberships: dict[int, set[int]] = {}
    for m in held["agent_skill_groups"]:
        memberships.setdefault(m.agent_id, set()).add(m.skill_group_id)
    for a in agents_by_id.values():
        mine = memberships.get(a.id, set())
        assert 1 <= len(mine) <= 3, a.id
        assert all(groups[g].peripheral_id == a.peripheral_id for g in mine), a.id
        assert a.default_skill_group_id in mine, a.id
        assert a.agent_desk_settings_id in desk_settings, a.id
        assert a.department_id is None or a.department_id in departments
        if a.agent_team_id is not None:
            team = teams[a.agent_team_id]
            assert groups[a.default_skill_group_id].name == f"{team.name}_SG"
            assert a.department_id == team.department_id
    assert sum(a.agent_desk_settings_id == 1 for a in agents_by_id.values()) > agents * 0.7
    assert len({a.agent_desk_settings_id for a in agents_by_id.values()}) == 3
    valued = {v.agent_id for v in held["agent_attributes"]}
    assert agents * 0.6 < len(valued) < agents
    assert {v.value for v in held["agent_attributes"]} >= {"true", "false", "1", "10"}

    call_types = {c.id: c for c in held["call_types"]}
    assert summary["call_types"] == len(call_types) == 6
    assert summary["dialed_numbers"] == len(held["dialed_numbers"]) == 9
    for c in call_types.values():
        assert name_problem(c.name) is None and c.name_key == c.name.lower(), c.name
        assert c.department_id is None or c.department_id in departments
    assert {c.department_id for c in call_types.values()} == {None, *departments}
    routing = {n.dialed_number_string: n for n in held["dialed_numbers"]}
    assert {n.routing_type for n in routing.values()} == {1, 2, 3, 7}
    for n in routing.values():
        assert n.string_key == n.dialed_number_string.lower()
        assert n.voice_key == (n.string_key if n.routing_type in (1, 7) else None)
        assert n.call_type_id is None or n.call_type_id in call_types
    assert routing["9000"].call_type_id is None  # outbound, with no call type
    assert {n.call_type_id for n in routing.values()} == {None, *call_types}

    supervised = {(s.team_id, s.agent_id) for s in held["team_supervisors"]}
    for team_id, agent_id in supervised:
        assert agents_by_id[agent_id].supervisor
        assert agents_by_id[agent_id].agent_team_id == team_id
    assert supervised == {
        (a.agent_team_id, a.id)
        for a in agents_by_id.values()
        if a.supervisor and a.agent_team_id is not None
    }
    assert supervised


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
    (docs/performance.md)."""
    app = migrated_app(tmp_path, pg_url)
    try:
        result = run(app, "demo-data", "--agents", "300", "--jobs", "20", "--seed", "5")
        assert result.exit_code == 0, result.output
        with db.read() as conn:
            analyzed: dict[str, bool] = dict(
                conn.exec_driver_sql(
                    "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relname IN ("
                    "'agents', 'agent_teams', 'peripherals', 'skill_groups', 'attributes', "
                    "'agent_desk_settings', 'departments', 'agent_skill_groups', "
                    "'agent_attributes', 'team_supervisors', 'jobs')"
                ).all()
            )
        assert analyzed == dict.fromkeys(
            (
                "agents",
                "agent_teams",
                "peripherals",
                "skill_groups",
                "attributes",
                "agent_desk_settings",
                "departments",
                "agent_skill_groups",
                "agent_attributes",
                "team_supervisors",
                "jobs",
            ),
            True,
        )
    finally:
        db.dispose()

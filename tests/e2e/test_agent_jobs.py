"""Agent jobs (docs/job-types/agent.md) end to end: the HTTP API, two real Celery workers and
the database, on SQLite with the embedded broker and on PostgreSQL with Redis. One stack and its
two workers per database serve every test here (the directory job types share them)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import db
from app.db.models import Agent, AgentSkillGroup, AgentTeam, Attribute, JobLine, SkillGroup, table
from app.directory.agent_job import COLUMNS
from app.directory.call_type_job import COLUMNS as CT_COLUMNS
from app.directory.dialed_number_job import COLUMNS as DN_COLUMNS
from app.directory.skill_group_job import COLUMNS as SG_COLUMNS
from tests import factories
from tests.conftest import PG_URL, REDIS_URL, basic, reset_postgres, services_unavailable
from tests.e2e.test_reliability import Stack, build_stack, lease_holder
from tests.live import wait_for_final

pytestmark = pytest.mark.e2e

HEADER = ",".join(COLUMNS)
SCIM = {**basic(), "Accept": "application/scim+json"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp(f"agents-{request.param}")
    database_url = broker_url = None
    if request.param == "postgres":
        try:
            import redis

            reset_postgres(PG_URL)
            redis.Redis.from_url(REDIS_URL).flushdb()
        except Exception as exc:  # pragma: no cover - depends on the machine
            services_unavailable(f"PostgreSQL or Redis: {exc}")
        database_url, broker_url = PG_URL, REDIS_URL
    made = build_stack(tmp_path, database_url, broker_url, chunk_size=50)
    with db.write() as conn:
        factories.peripheral(conn, 5000)
    try:
        made.worker("worker-1")
        made.worker("worker-2")
        yield made
    finally:
        made.stop()
        db.dispose()


def row(**cells: str) -> str:
    return ",".join(cells.get(column, "") for column in COLUMNS)


def agent_file(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def get(stack: Stack, path: str, headers: dict[str, str] | None = None) -> Any:
    response = stack.client.get(path, headers=headers or basic())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_an_agent_file_through_the_api(stack: Stack) -> None:
    create = stack.post(
        agent_file(
            [
                row(
                    operation="CREATE",
                    userName="e2e.anna",
                    firstName="Anna",
                    lastName="A",
                    password="Top-Secret-1",
                    agentTeamName="E2E_Team",
                    skillGroups="E2E_SG1;E2E_SG2",
                    defaultSkillGroup="E2E_SG1",
                    attributes="E2E_Spanish=true",
                ),
                row(
                    operation="CREATE",
                    userName="e2e.ben",
                    firstName="Ben",
                    lastName="B",
                    agentTeamName="E2E_Team",
                    skillGroups="E2E_SG1",
                ),
                row(operation="CREATE", userName="e2e.anna", firstName="Again", lastName="A"),
            ]
        ),
        "onboarding",
    )
    final = wait_for_final(stack.client, basic(), create)
    assert (final["jobState"], final["succeededRecords"], final["failedRecords"]) == (6, 2, 1)
    log = stack.log(create)
    assert "password=********" in log and "Top-Secret-1" not in log
    assert "Error processing line 4: userName: The userName is already in use: e2e.anna" in log
    assert log.rstrip().endswith(
        "1 agent teams created, 2 agents created, 1 attributes created, 2 skill groups created"
    )
    for download in ("csv", "failed"):
        body = get(stack, f"{create}/{download}").get_data(as_text=True)
        assert "Top-Secret-1" not in body and "{sealed}" not in body

    # The agents and their team are SCIM Users and a SCIM Group at once.
    users = get(stack, '/scim/v2/Users?filter=userName sw "e2e."', SCIM).get_json()
    assert sorted(u["userName"] for u in users["Resources"]) == ["e2e.anna", "e2e.ben"]
    groups = get(stack, '/scim/v2/Groups?filter=displayName eq "E2E_Team"', SCIM).get_json()
    assert [len(g["members"]) for g in groups["Resources"]] == [2]

    update = stack.post(
        agent_file(
            [
                row(
                    operation="UPDATE",
                    userName="e2e.anna",
                    firstName="~",
                    lastName="Adams",
                    password="~",
                    loginEnabled="~",
                    ssoEnabled="~",
                    description="~",
                    agentStateTrace="~",
                    agentDeskSettingsName="~",
                    agentTeamName="~",
                    skillGroups="+E2E_SG3;-E2E_SG2",
                    defaultSkillGroup="~",
                    attributes="~",
                    supervisor="~",
                    supervisorTeams="~",
                    departmentName="~",
                ),
                row(operation="DELETE", userName="e2e.ben"),
            ]
        ),
        "moves",
    )
    final = wait_for_final(stack.client, basic(), update)
    assert final["jobState"] == 3, stack.log(update)
    log = stack.log(update)
    assert log.rstrip().endswith("1 skill groups created, 1 agents updated, 1 agents deleted")
    anna = get(stack, '/scim/v2/Users?filter=userName eq "e2e.anna"', SCIM).get_json()
    assert anna["Resources"][0]["name"]["familyName"] == "Adams"

    # The revert of the update job: Anna's name and skill groups back, Ben back with his id.
    reverted = stack.client.post(f"{update}/revert", json={}, headers=basic())
    assert reverted.status_code == 201, reverted.get_data(as_text=True)
    revert = reverted.headers["Location"].replace("http://localhost", "")
    final = wait_for_final(stack.client, basic(), revert)
    assert final["jobState"] == 3, stack.log(revert)
    assert final["jobType"] == 102
    users = get(stack, '/scim/v2/Users?filter=userName sw "e2e."', SCIM).get_json()
    assert sorted((u["userName"], u["name"]["familyName"]) for u in users["Resources"]) == [
        ("e2e.anna", "A"),
        ("e2e.ben", "B"),
    ]
    assert "Removed /unifiedconfig/config/skillgroup/" in stack.log(revert)
    # /metrics counts them by type (2: Agent, 102: Agent revert).
    metrics = get(stack, "/metrics").get_data(as_text=True)
    finished = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("bulkjob_jobs_finished_total{")
    }
    assert finished['bulkjob_jobs_finished_total{job_type="2",state="partially_succeeded"}'] >= 1
    assert finished['bulkjob_jobs_finished_total{job_type="102",state="succeeded"}'] >= 1


def new_agents(prefix: str, count: int, team: str, password_every: int = 0) -> str:
    """CREATE rows; with ``password_every``, every so many rows also sets a password."""
    return agent_file(
        [
            row(
                operation="CREATE",
                userName=f"{prefix}{i:04}",
                firstName="F",
                lastName="L",
                password=f"Pw-{i}" if password_every and i % password_every == 0 else "",
                agentTeamName=team,
                skillGroups=f"{team}_SG",
                attributes=f"{team}_Attr=true",
            )
            for i in range(count)
        ]
    )


def test_two_jobs_at_once_make_one_team(stack: Stack) -> None:
    first = stack.post(new_agents("race.a", 400, "Race_Team"), "first")
    second = stack.post(new_agents("race.b", 400, "Race_Team"), "second")
    for location in (first, second):
        final = wait_for_final(stack.client, basic(), location, timeout=120)
        assert final["jobState"] == 3, stack.log(location)[-2000:]
    teams, groups, attributes = table(AgentTeam), table(SkillGroup), table(Attribute)
    with db.read() as conn:
        assert (
            conn.execute(select(func.count()).where(teams.c.name_key == "race_team")).scalar_one()
            == 1
        )
        group_id = conn.execute(
            select(groups.c.id).where(groups.c.name_key == "race_team_sg")
        ).scalar_one()
        assert (
            conn.execute(
                select(func.count()).where(attributes.c.name_key == "race_team_attr")
            ).scalar_one()
            == 1
        )
        members = conn.execute(
            select(func.count()).where(table(AgentSkillGroup).c.skill_group_id == group_id)
        ).scalar_one()
    assert members == 800
    # Both workers ran one (the jobs overlapped): each log names its worker.
    hosts = {stack.job(location)["jobHostName"] for location in (first, second)}
    assert (
        stack.log(first).count("Created /unifiedconfig/config/agentteam/")
        + stack.log(second).count("Created /unifiedconfig/config/agentteam/")
        == 1
    ), hosts


def test_a_killed_worker_applies_nothing_twice(stack: Stack) -> None:
    count = 3000
    # Every 250th row sets a password: a resumed job still reads them from the stored file.
    location = stack.post(new_agents("kill.", count, "Kill_Team", password_every=250), "killed")
    stack.wait(location, lambda j: j["jobState"] == 2 and j["processedRecords"] > 0)
    holder = lease_holder(location)
    worker = next(w for w in stack.workers if w.name == holder and w.process.poll() is None)
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    assert stack.job(location)["processedRecords"] < count, "finished before the kill"
    stack.worker(holder)
    final = wait_for_final(stack.client, basic(), location, timeout=180)
    assert (final["jobState"], final["succeededRecords"]) == (3, count)
    job_id = int(location.rsplit("/", 1)[1])
    with db.read() as conn:
        lines = conn.execute(
            select(func.count()).where(table(JobLine).c.job_id == job_id)
        ).scalar_one()
    assert lines == count
    log = stack.log(location)
    assert "Job resumed on" in log
    assert log.count("Created /unifiedconfig/config/agent/") == count
    users = get(stack, '/scim/v2/Users?filter=userName sw "kill."&count=1', SCIM).get_json()
    assert users["totalResults"] == count
    with db.read() as conn:
        hashed = conn.execute(
            select(table(Agent).c.user_name).where(
                table(Agent).c.user_name.like("kill.%"), table(Agent).c.password_hash.is_not(None)
            )
        ).scalars()
        assert sorted(hashed) == [f"kill.{i:04}" for i in range(0, count, 250)]


def routing_file(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = [",".join(columns), *(",".join(r.get(c, "") for c in columns) for r in rows)]
    return "\n".join(lines) + "\n"


def test_skill_group_call_type_and_dialed_number_files_through_the_api(stack: Stack) -> None:
    """The three routing types on the same workers (docs/job-types/): a file of each, its log,
    a template downloaded, two rows edited and uploaded again, and a revert."""
    call_types = stack.post(
        routing_file(
            CT_COLUMNS,
            [
                {"operation": "CREATE", "name": "E2E_CT_Sales", "serviceLevelThreshold": "20"},
                {"operation": "CREATE", "name": "E2E_CT_Support", "serviceLevelType": "1"},
            ],
        ),
        "call types",
    )
    skill_groups = stack.post(
        routing_file(
            SG_COLUMNS,
            [
                {"operation": "CREATE", "name": "E2E_RSG_1", "description": "Tier 1"},
                {"operation": "CREATE", "name": "E2E_RSG_2", "mediaRoutingDomainName": "Nope"},
            ],
        ),
        "skill groups",
    )
    final = wait_for_final(stack.client, basic(), call_types)
    assert (final["jobType"], final["jobState"]) == (3, 3), stack.log(call_types)
    final = wait_for_final(stack.client, basic(), skill_groups)
    assert (final["jobType"], final["jobState"]) == (4, 6)
    assert (
        "Error processing line 3: mediaRoutingDomainName: The media routing domain does not "
        "exist: Nope"
    ) in stack.log(skill_groups)

    numbers = stack.post(
        routing_file(
            DN_COLUMNS,
            [
                {
                    "operation": "CREATE",
                    "dialedNumberString": "8005550100",
                    "routingType": "1",
                    "callTypeName": "E2E_CT_Sales",
                },
                {
                    "operation": "CREATE",
                    "dialedNumberString": "8005550101",
                    "routingType": "External Voice",
                    "callTypeName": "E2E_CT_New",
                },
                {"operation": "CREATE", "dialedNumberString": "8005550100", "routingType": "7"},
            ],
        ),
        "numbers",
    )
    final = wait_for_final(stack.client, basic(), numbers)
    assert (final["jobType"], final["jobState"]) == (1, 6)
    log = stack.log(numbers)
    assert log.rstrip().endswith("1 call types created, 2 dialed numbers created")
    assert "cannot share a string: 8005550100 is External Voice" in log

    # The template: every dialed number as an UPDATE row; two rows edited, uploaded again.
    template = get(stack, "/unifiedconfig/config/bulkjob/templates/dialednumber").get_data(
        as_text=True
    )
    header, *rows = template.splitlines()
    assert header == ",".join(DN_COLUMNS) and len(rows) >= 2
    edited = [
        r.replace(",E2E_CT_New,", ",E2E_CT_Support,") if "8005550101" in r else r for r in rows
    ]
    edited = [r.replace("UPDATE,8005550100,1,,", "UPDATE,8005550100,1,Sales line,") for r in edited]
    again = stack.post("\n".join([header, *edited]) + "\n", "numbers edited")
    final = wait_for_final(stack.client, basic(), again)
    assert final["jobState"] == 3, stack.log(again)
    assert stack.log(again).rstrip().endswith("2 dialed numbers updated")

    # Its revert: the two numbers back as they were.
    reverted = stack.client.post(f"{again}/revert", json={}, headers=basic())
    assert reverted.status_code == 201, reverted.get_data(as_text=True)
    revert = reverted.headers["Location"].replace("http://localhost", "")
    final = wait_for_final(stack.client, basic(), revert)
    assert (final["jobType"], final["jobState"]) == (105, 3), stack.log(revert)
    assert (
        get(stack, "/unifiedconfig/config/bulkjob/templates/dialednumber").get_data(as_text=True)
        == template
    )

"""The agent bulk job (jobType 2, docs/job-types/agent.md), run by the engine directly on
SQLite and PostgreSQL: CREATE, UPDATE (with ``~`` and ``+``/``-``), DELETE, implicit creation,
the log in Cisco's words, passwords never at rest in plain text, dry runs."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.db import db
from app.db.models import (
    Agent,
    AgentAttribute,
    AgentSkillGroup,
    AgentTeam,
    Attribute,
    JobFile,
    JobState,
    SkillGroup,
    TeamSupervisor,
    table,
)
from app.directory import agent_template
from app.directory.agent_job import COLUMNS
from app.jobs import downloads, engine
from app.jobs.types.csvfile import csv_rows
from tests import factories
from tests.directory.jobs import log, reverted, run, state, submitted

agents = table(Agent)
teams = table(AgentTeam)
groups = table(SkillGroup)
attributes = table(Attribute)
memberships = table(AgentSkillGroup)
values = table(AgentAttribute)
supervisors = table(TeamSupervisor)
files = table(JobFile)

HEADER = ",".join(COLUMNS)


def row(**cells: str) -> str:
    """One line of an agent file: the named cells, the rest empty."""
    return next(csv_rows([[cells.get(column, "") for column in COLUMNS]])).rstrip("\r\n")


def agent_file(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def agent_named(user_name: str) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(agents).where(agents.c.user_name_key == user_name.lower())
        ).first()


def skill_groups_of(agent_id: int) -> list[str]:
    with db.read() as conn:
        return sorted(
            conn.execute(
                select(groups.c.name)
                .join(memberships, memberships.c.skill_group_id == groups.c.id)
                .where(memberships.c.agent_id == agent_id)
            ).scalars()
        )


def attributes_of(agent_id: int) -> dict[str, str]:
    with db.read() as conn:
        return dict(
            conn.execute(
                select(attributes.c.name, values.c.value)
                .join(values, values.c.attribute_id == attributes.c.id)
                .where(values.c.agent_id == agent_id)
            ).all()
        )


def test_create_makes_the_agent_and_what_it_names(any_db: Flask) -> None:
    job_id = run(
        any_db,
        agent_file(
            row(
                operation="CREATE",
                userName="asmith",
                firstName="Anna",
                lastName="Smith",
                password="s3cret!pw",
                agentTeamName="Sales_North",
                skillGroups="sg_sales;sg_billing",
                defaultSkillGroup="sg_billing",
                attributes="spanish=true;billing=7",
            )
        ),
    )

    assert state(job_id) == JobState.SUCCEEDED, log(job_id)
    agent = agent_named("asmith")
    assert (agent.first_name, agent.last_name, agent.login_enabled, agent.sso_enabled) == (
        "Anna",
        "Smith",
        True,
        False,
    )
    assert agent.description == f"Created by bulk job {job_id}"
    assert agent.peripheral_id == 5000  # the lowest: nothing existing named another
    assert agent.password_hash.startswith("scrypt:") and "s3cret" not in agent.password_hash
    assert skill_groups_of(agent.id) == ["sg_billing", "sg_sales"]
    assert attributes_of(agent.id) == {"billing": "7", "spanish": "true"}
    with db.read() as conn:
        team = conn.execute(select(teams).where(teams.c.id == agent.agent_team_id)).one()
        types = dict(conn.execute(select(attributes.c.name, attributes.c.data_type)).all())
    assert team.name == "Sales_North" and team.peripheral_id == 5000
    assert types == {"billing": 4, "spanish": 3}
    lines = log(job_id)
    processing = next(line for line in lines if line.startswith("Processing line 2:"))
    assert "password=********" in processing and "s3cret" not in "\n".join(lines)
    created = [line for line in lines if line.startswith("Created ")]
    assert created[0] == f"Created /unifiedconfig/config/agentteam/{team.id}"
    assert created[-1] == f"Created /unifiedconfig/config/agent/{agent.id}"
    assert len(created) == 6  # team, two skill groups, two attributes, the agent
    assert (
        lines[-1]
        == "1 agent teams created, 1 agents created, 2 attributes created, 2 skill groups created"
    )


def test_the_password_is_never_at_rest_in_plain_text(any_db: Flask) -> None:
    job_id = run(
        any_db,
        agent_file(
            row(
                operation="CREATE",
                userName="bjones",
                firstName="B",
                lastName="J",
                password="Pa55word",
            )
        ),
    )
    with db.read() as conn:
        stored = bytes(
            conn.execute(select(files.c.content).where(files.c.job_id == job_id)).scalar_one()
        )
    assert b"Pa55word" not in stored
    original = downloads.original(db.engine, job_id).body
    assert isinstance(original, bytes) and b"Pa55word" not in original
    assert b"bjones,B,J,~," in original


def test_update_with_keep_and_list_edits(any_db: Flask) -> None:
    run(
        any_db,
        agent_file(
            row(
                operation="CREATE",
                userName="cdoe",
                firstName="C",
                lastName="Doe",
                agentTeamName="C_Team",
                skillGroups="sg_a;sg_b",
                defaultSkillGroup="sg_a",
                attributes="fr=true",
            ),
        ),
    )
    before = agent_named("cdoe")
    job_id = run(
        any_db,
        agent_file(
            row(
                operation="update",
                userName="cdoe",
                firstName="~",
                lastName="Doh",
                password="~",
                loginEnabled="~",
                ssoEnabled="~",
                description="~",
                agentStateTrace="~",
                agentDeskSettingsName="~",
                agentTeamName="~",
                skillGroups="+sg_c;-sg_b",
                defaultSkillGroup="~",
                attributes="+de=5",
                supervisor="~",
                supervisorTeams="~",
                departmentName="~",
            ),
            row(
                operation="UPDATE",
                userName="cdoe",
                firstName="~",
                lastName="~",
                password="~",
                loginEnabled="~",
                ssoEnabled="~",
                description="~",
                agentStateTrace="~",
                agentDeskSettingsName="~",
                agentTeamName="~",
                skillGroups="~",
                defaultSkillGroup="~",
                attributes="~",
                supervisor="~",
                supervisorTeams="~",
                departmentName="~",
            ),
        ),
    )
    assert state(job_id) == JobState.SUCCEEDED, log(job_id)
    after = agent_named("cdoe")
    assert (after.first_name, after.last_name) == ("C", "Doh")
    assert after.change_stamp == before.change_stamp + 1
    assert skill_groups_of(after.id) == ["sg_a", "sg_c"]
    assert after.agent_team_id == before.agent_team_id is not None  # ~ kept the team
    assert attributes_of(after.id) == {"de": "5", "fr": "true"}
    lines = log(job_id)
    assert f"Updated /unifiedconfig/config/agent/{after.id}" in lines
    assert f"Unchanged /unifiedconfig/config/agent/{after.id}" in lines


def test_delete_and_errors(any_db: Flask) -> None:
    run(any_db, agent_file(row(operation="CREATE", userName="ddoe", firstName="D", lastName="Doe")))
    gone = agent_named("ddoe")
    job_id = run(
        any_db,
        agent_file(
            row(operation="DELETE", userName="ddoe"),
            row(operation="DELETE", userName="nobody"),
            row(operation="CREATE", userName="bad name", firstName="X", lastName="Y"),
            row(
                operation="CREATE",
                userName="eve",
                firstName="E",
                lastName="V",
                agentDeskSettingsName="Default_Agent_Desk_Setting",
            ),
            row(operation="MOVE", userName="eve"),
        ),
    )
    assert state(job_id) == JobState.PARTIAL
    assert agent_named("ddoe") is None
    lines = log(job_id)
    assert f"Deleted /unifiedconfig/config/agent/{gone.id}" in lines
    assert (
        "Error processing line 3: userName: The specified agent userName does not exist: nobody"
        in lines
    )
    assert any(
        line.startswith("Error processing line 4: userName: may hold ASCII") for line in lines
    )
    assert (
        "Error processing line 5: agentDeskSettingsName: Default_Agent_Desk_Setting does not exist"
        " (did you mean Default_Agent_Desk_Settings?)"
    ) in lines
    assert "Error processing line 6: operation: must be CREATE, UPDATE or DELETE: MOVE" in lines
    assert lines[-1] == "1 agents deleted"


def test_dry_run_decides_as_a_real_run_and_changes_nothing(any_db: Flask) -> None:
    text = agent_file(
        row(operation="CREATE", userName="f1", firstName="F", lastName="One", skillGroups="sg_x"),
        row(operation="CREATE", userName="f2", firstName="F", lastName="Two", skillGroups="sg_x"),
        row(operation="UPDATE", userName="f1", firstName="~", lastName="Uno"),
        row(operation="CREATE", userName="f1", firstName="F", lastName="Again"),
        row(operation="DELETE", userName="f2"),
    )
    dry = run(any_db, text, dry_run=True, chunk_size=2)
    with db.read() as conn:
        assert conn.execute(select(agents.c.id)).first() is None
        assert conn.execute(select(groups.c.id)).first() is None
    real = run(any_db, text, chunk_size=2)

    def shape(job_id: int) -> list[str]:
        return [
            line.replace("Would create", "Created")
            .replace("Would update", "Updated")
            .replace("Would delete", "Deleted")
            .split(" /unifiedconfig")[0]
            for line in log(job_id)
            if not line.startswith(("Job ", "Dry run"))
        ]

    assert shape(dry)[:-1] == shape(real)[:-1]
    assert state(dry) == state(real) == JobState.PARTIAL
    assert (
        log(dry)[-1]
        == "2 agents would be created, 1 skill groups would be created, 1 agents would be updated, 1 agents would be deleted"
    )


def template_text(start: int | None = None, limit: int = 12000) -> str:
    body = agent_template.download(
        db.engine, None, None if start is None else str(start), limit
    ).body
    return b"".join(body if not isinstance(body, bytes) else [body]).decode()


def test_the_template_uploaded_unchanged_changes_nothing(any_db: Flask) -> None:
    run(
        any_db,
        agent_file(
            row(
                operation="CREATE",
                userName="t.one",
                firstName="T",
                lastName="One",
                password="pw-123456",
                agentTeamName="T_Team",
                skillGroups="T_SG1;T_SG2",
                defaultSkillGroup="T_SG2",
                attributes="t_bool=false;t_level=3",
                description="with, a comma",
            ),
            row(
                operation="CREATE",
                userName="t.boss",
                firstName="T",
                lastName="Boss",
                supervisor="true",
                supervisorTeams="T_Team;T_Other",
                ssoEnabled="true",
            ),
        ),
    )
    with db.write() as conn:  # as SCIM makes them: no desk settings, an empty first name
        factories.agent(conn, "t.scim", first_name="")
    stamps = {r.user_name: r.change_stamp for r in directory_rows()}

    text = template_text()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert "pw-123456" not in text and "scrypt" not in text
    one = next(line for line in text.splitlines() if ",t.one," in line)
    assert one.startswith("UPDATE,") and ",~," in one and "T_SG1;T_SG2" in one
    job_id = run(any_db, text)

    assert state(job_id) == JobState.SUCCEEDED, log(job_id)
    assert {r.user_name: r.change_stamp for r in directory_rows()} == stamps
    outcomes = [line for line in log(job_id) if line.startswith(("Unchanged", "Updated", "Error"))]
    assert len(outcomes) == 3 and all(line.startswith("Unchanged ") for line in outcomes)


def test_the_template_comes_in_pieces(any_db: Flask) -> None:
    run(
        any_db,
        agent_file(
            *(
                row(operation="CREATE", userName=f"p{i}", firstName="P", lastName="Q")
                for i in range(5)
            )
        ),
    )
    pieces = [template_text(start, limit=2) for start in (0, 2, 4, 6)]
    names = [[line.split(",")[2] for line in piece.splitlines()[1:]] for piece in pieces]
    assert names == [["p0", "p1"], ["p2", "p3"], ["p4"], []]


def directory_rows() -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(agents.c.user_name, agents.c.change_stamp)))


def test_rows_touching_an_agent_made_in_the_same_chunk_apply_one_at_a_time(any_db: Flask) -> None:
    # One chunk: the update and delete name an agent the chunk itself creates, which its
    # together-path cannot write in one go; the rows then go one at a time, same outcomes.
    job_id = run(
        any_db,
        agent_file(
            row(
                operation="CREATE", userName="g1", firstName="G", lastName="One", skillGroups="G_SG"
            ),
            row(
                operation="UPDATE",
                userName="g1",
                firstName="~",
                lastName="Uno",
                skillGroups="+G_SG2",
            ),
            row(operation="CREATE", userName="g2", firstName="G", lastName="Two"),
            row(operation="DELETE", userName="g2"),
            row(operation="UPDATE", userName="nobody", firstName="~", lastName="~"),
        ),
        chunk_size=10,
    )
    assert state(job_id) == JobState.PARTIAL
    g1 = agent_named("g1")
    assert (g1.last_name, g1.change_stamp) == ("Uno", 1)
    assert skill_groups_of(g1.id) == ["G_SG", "G_SG2"]
    assert agent_named("g2") is None
    lines = log(job_id)
    assert lines.count(f"Created /unifiedconfig/config/agent/{g1.id}") == 1
    assert f"Updated /unifiedconfig/config/agent/{g1.id}" in lines
    assert (
        "Error processing line 6: userName: The specified agent userName does not exist: nobody"
        in lines
    )
    assert (
        lines[-1] == "2 agents created, 2 skill groups created, 1 agents updated, 1 agents deleted"
    )


def test_a_revert_puts_back_what_the_job_did(any_db: Flask) -> None:
    run(
        any_db,
        agent_file(
            row(
                operation="CREATE",
                userName="r.keep",
                firstName="R",
                lastName="Keep",
                skillGroups="R_Base",
                attributes="r_lang=true",
            ),
            row(
                operation="CREATE",
                userName="r.gone",
                firstName="R",
                lastName="Gone",
                agentTeamName="R_Team",
                skillGroups="R_Base",
            ),
        ),
    )
    keep, gone = agent_named("r.keep"), agent_named("r.gone")
    job_id = run(
        any_db,
        agent_file(
            row(
                operation="CREATE",
                userName="r.new",
                firstName="R",
                lastName="New",
                agentTeamName="R_New_Team",
                skillGroups="R_New_SG;R_Base",
                attributes="r_new=4",
            ),
            row(
                operation="UPDATE",
                userName="r.keep",
                firstName="~",
                lastName="Changed",
                skillGroups="+R_New_SG",
                attributes="-r_lang",
            ),
            row(operation="DELETE", userName="r.gone"),
        ),
    )
    assert state(job_id) == JobState.SUCCEEDED, log(job_id)

    revert_id = reverted(any_db, job_id)

    assert state(revert_id) == JobState.SUCCEEDED, log(revert_id)
    assert agent_named("r.new") is None
    back = agent_named("r.keep")
    assert (back.last_name, back.change_stamp) == ("Keep", keep.change_stamp + 2)
    assert skill_groups_of(back.id) == ["R_Base"]
    assert attributes_of(back.id) == {"r_lang": "true"}
    again = agent_named("r.gone")
    assert (again.id, again.agent_team_id) == (gone.id, gone.agent_team_id)
    assert skill_groups_of(again.id) == ["R_Base"]
    with db.read() as conn:
        names = set(conn.execute(select(groups.c.name)).scalars())
        team_names = set(conn.execute(select(teams.c.name)).scalars())
        attribute_names = set(conn.execute(select(attributes.c.name)).scalars())
    assert names == {"R_Base"} and team_names == {"R_Team"}
    assert attribute_names == {"r_lang"}
    lines = log(revert_id)
    assert any(line.startswith("Removed /unifiedconfig/config/skillgroup/") for line in lines)
    assert f"Reverted /unifiedconfig/config/agent/{gone.id} (created again)" in lines


def test_a_revert_leaves_what_changed_since(any_db: Flask) -> None:
    job_id = run(
        any_db, agent_file(row(operation="CREATE", userName="s.one", firstName="S", lastName="One"))
    )
    run(
        any_db,
        agent_file(row(operation="UPDATE", userName="s.one", firstName="~", lastName="Later")),
    )

    revert_id = reverted(any_db, job_id)

    assert state(revert_id) == JobState.FAILED
    assert agent_named("s.one").last_name == "Later"
    assert any(
        "agent: changed since job" in line and "its change stamp is 1, job left 0" in line
        for line in log(revert_id)
    )


def test_the_console_job_page_says_what_the_job_did(any_db: Flask) -> None:
    from tests.conftest import PASSWORD
    from tests.console.test_pages import signed_in, text

    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    text_ = agent_file(
        row(operation="CREATE", userName="c.one", firstName="C", lastName="One", skillGroups="C_SG")
    )
    dry, real = run(any_db, text_, dry_run=True), run(any_db, text_)
    client = signed_in(any_db)

    assert '<dd id="did">1 agents created, 1 skill groups created</dd>' in text(
        client.get(f"/jobs/{real}")
    )
    # Its results: every line with what it did.
    assert 'id="results-link"' in text(client.get(f"/jobs/{real}"))
    results = text(client.get(f"/jobs/{real}/results")).splitlines()
    assert ",2,created,/unifiedconfig/config/agent/" in results[1]
    page = text(client.get(f"/jobs/{dry}"))
    assert "<dt>Would do</dt>" in page and "1 agents would be created" in page


def test_an_older_releases_file_without_sso_enabled_and_department(any_db: Flask) -> None:
    older = [c for c in COLUMNS if c not in ("ssoEnabled", "departmentName")]
    text_ = "\n".join(
        [
            ",".join(reversed(older)),  # any order
            ",".join(reversed(["CREATE", "", "o.one", "O", "One", *[""] * 11])),
        ]
    )
    job_id = run(any_db, text_ + "\n")

    assert state(job_id) == JobState.SUCCEEDED, log(job_id)
    agent = agent_named("o.one")
    assert (agent.sso_enabled, agent.department_id, agent.login_enabled) == (False, None, True)
    assert "ssoEnabled=~" in next(
        line for line in log(job_id) if line.startswith("Processing line 2")
    )


def test_a_dry_run_stopped_and_resumed_decides_as_one_that_ran_through(any_db: Flask) -> None:
    text_ = agent_file(
        row(
            operation="CREATE", userName="h1", firstName="H", lastName="One", agentTeamName="H_Team"
        ),
        row(
            operation="CREATE", userName="h2", firstName="H", lastName="Two", agentTeamName="H_Team"
        ),
        row(operation="UPDATE", userName="h1", firstName="~", lastName="Uno"),
        row(operation="CREATE", userName="h2", firstName="H", lastName="Again"),
        row(operation="DELETE", userName="h1"),
        row(operation="UPDATE", userName="h1", firstName="~", lastName="Gone"),
    )
    through = run(any_db, text_, dry_run=True, chunk_size=2)
    stopped = submitted(any_db, text_, dry_run=True)
    settings = any_db.config["SETTINGS"].replace(chunk_size=2)
    engine.run_job(db, settings, stopped, should_stop=lambda: True)  # hands back after a chunk
    assert state(stopped) == JobState.PROCESSING
    engine.run_job(db, settings, stopped)

    def outcomes(job_id: int) -> list[str]:
        return [line for line in log(job_id) if line.startswith(("Would", "Unchanged", "Error"))]

    assert (
        outcomes(stopped)
        == outcomes(through)
        == [
            "Would create /unifiedconfig/config/agentteam (H_Team)",
            "Would create /unifiedconfig/config/agent (h1)",
            "Would create /unifiedconfig/config/agent (h2)",
            "Would update /unifiedconfig/config/agent (h1)",
            "Error processing line 5: userName: The userName is already in use: h2",
            "Would delete /unifiedconfig/config/agent (h1)",
            "Error processing line 7: userName: The specified agent userName does not exist: h1",
        ]
    )
    assert (
        log(stopped)[-1]
        == log(through)[-1]
        == (
            "1 agent teams would be created, 2 agents would be created, "
            "1 agents would be updated, 1 agents would be deleted"
        )
    )
    with db.read() as conn:
        assert conn.execute(select(agents.c.id)).first() is None

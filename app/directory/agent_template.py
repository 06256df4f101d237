"""The agent template (docs/job-types/agent.md, "Template"): the live agents as an agent file,
``operation`` UPDATE and ``password`` ``~``, ready to edit and upload again. Uploaded unchanged
it is a job whose every line is ``Unchanged``.

At most ``limit`` agents a download, by id from ``startIndex``: a directory of any size is
fetched piece by piece, each piece a valid upload.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from app.db.models import (
    Agent,
    AgentAttribute,
    AgentDeskSetting,
    AgentSkillGroup,
    AgentTeam,
    Attribute,
    Department,
    SkillGroup,
    TeamSupervisor,
    table,
)
from app.directory.agent_state import COLUMNS
from app.directory.cells import KEEP, UPDATE
from app.directory.template import parse_template_query, start_index
from app.jobs.downloads import CSV_TYPE, Download
from app.jobs.types.csvfile import as_bytes, csv_rows

BATCH = 1000

agents = table(Agent)
memberships = table(AgentSkillGroup)
values = table(AgentAttribute)
supervised = table(TeamSupervisor)


def download(engine: Engine, q: str | None, start: str | None, limit: int) -> Download:
    """The agents (filtered by ``q`` as the SSO template is) from ``start`` on, by id."""
    filters = parse_template_query(q)
    offset = start_index(start)
    statement = select(agents).order_by(agents.c.id).offset(offset).limit(limit)
    if "peripheralId" in filters:
        statement = statement.where(agents.c.peripheral_id == filters["peripheralId"])
    if "agentTeamId" in filters:
        statement = statement.where(agents.c.agent_team_id == filters["agentTeamId"])
    return Download(as_bytes(csv_rows(_rows(engine, statement))), CSV_TYPE, "agent.csv")


def _names(conn: Connection, model: Any) -> dict[int, str]:
    t = table(model)
    return {row.id: row.name for row in conn.execute(select(t.c.id, t.c.name))}


@dataclass(frozen=True)
class _Names:
    """The names of what agents refer to, by id, read once a download."""

    teams: dict[int, str]
    groups: dict[int, str]
    attributes: dict[int, str]
    desks: dict[int, str]
    departments: dict[int, str]
    # agentIds held on several peripherals cannot name an agent: those rows name it by
    # userName (agentId empty).
    shared: set[str]

    @classmethod
    def read(cls, conn: Connection) -> _Names:
        shared = conn.execute(
            select(agents.c.agent_id).group_by(agents.c.agent_id).having(func.count() > 1)
        ).scalars()
        return cls(
            _names(conn, AgentTeam),
            _names(conn, SkillGroup),
            _names(conn, Attribute),
            _names(conn, AgentDeskSetting),
            _names(conn, Department),
            set(shared),
        )


def _rows(engine: Engine, statement: Any) -> Iterator[Sequence[str]]:
    yield COLUMNS
    with engine.connect() as conn:
        names = _Names.read(conn)
        batch: list[Any] = []
        for row in conn.execution_options(yield_per=BATCH).execute(statement):
            batch.append(row)
            if len(batch) == BATCH:
                yield from _batch(conn, batch, names)
                batch = []
        yield from _batch(conn, batch, names)


def _batch(conn: Connection, rows: list[Any], names: _Names) -> Iterator[Sequence[str]]:
    if not rows:
        return
    teams, groups, attributes = names.teams, names.groups, names.attributes
    desks, departments, shared = names.desks, names.departments, names.shared
    ids = [row.id for row in rows]
    group_ids: dict[int, list[int]] = defaultdict(list)
    for agent_id, group_id in conn.execute(
        select(memberships.c.agent_id, memberships.c.skill_group_id).where(
            memberships.c.agent_id.in_(ids)
        )
    ):
        group_ids[agent_id].append(group_id)
    attribute_values: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for agent_id, attribute_id, value in conn.execute(
        select(values.c.agent_id, values.c.attribute_id, values.c.value).where(
            values.c.agent_id.in_(ids)
        )
    ):
        attribute_values[agent_id].append((attribute_id, value))
    team_ids: dict[int, list[int]] = defaultdict(list)
    for agent_id, team_id in conn.execute(
        select(supervised.c.agent_id, supervised.c.team_id).where(supervised.c.agent_id.in_(ids))
    ):
        team_ids[agent_id].append(team_id)
    for row in rows:
        yield (
            UPDATE,
            "" if row.agent_id in shared else row.agent_id,
            row.user_name,
            row.first_name or KEEP,  # an empty name cannot be set: ~ leaves it as it is
            row.last_name or KEEP,
            KEEP,  # never a password
            _bool(row.login_enabled),
            _bool(row.sso_enabled),
            row.description,
            _bool(row.agent_state_trace),
            # None (an agent SCIM made) reads as the default; ~ keeps it as it is.
            desks.get(row.agent_desk_settings_id, KEEP) if row.agent_desk_settings_id else KEEP,
            teams.get(row.agent_team_id, "") if row.agent_team_id else "",
            ";".join(sorted(groups[g] for g in group_ids[row.id])),
            groups.get(row.default_skill_group_id, "") if row.default_skill_group_id else "",
            ";".join(sorted(f"{attributes[a]}={v}" for a, v in attribute_values[row.id])),
            _bool(row.supervisor),
            ";".join(sorted(teams[t] for t in team_ids[row.id])),
            departments.get(row.department_id, "") if row.department_id else "",
        )


def _bool(value: Any) -> str:
    return "true" if value else "false"

"""Reading the agent directory (GET /agent): agents with their contact-center settings and
memberships (docs/directory.md). The password hash is never read here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, or_, select

from app.db import listing
from app.db.models import (
    Agent,
    AgentAttribute,
    AgentDeskSetting,
    AgentSkillGroup,
    AgentTeam,
    Attribute,
    Department,
    Peripheral,
    SkillGroup,
    TeamSupervisor,
    table,
)
from app.exceptions import NotFound

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)
desk_settings = table(AgentDeskSetting)
departments = table(Department)
skill_groups = table(SkillGroup)
default_skill_groups = skill_groups.alias("default_skill_groups")
attributes = table(Attribute)
agent_skill_groups = table(AgentSkillGroup)
agent_attributes = table(AgentAttribute)
team_supervisors = table(TeamSupervisor)

# Every column but the password hash, which nothing reads back.
SHOWN = [column for column in agents.c if column.key != "password_hash"]

SORTABLE = {
    "agentId": agents.c.agent_id,
    "userName": agents.c.user_name_key,
    "firstName": agents.c.first_name,
    "lastName": agents.c.last_name,
    "changeStamp": agents.c.change_stamp,
}
FILTERS: dict[str, listing.Filter] = {
    "peripheralId": lambda v: agents.c.peripheral_id == listing.parse_int("peripheralId", v),
    "agentTeamId": lambda v: agents.c.agent_team_id == listing.parse_int("agentTeamId", v),
    "ssoEnabled": lambda v: agents.c.sso_enabled == listing.parse_bool("ssoEnabled", v),
    "supervisor": lambda v: agents.c.supervisor == listing.parse_bool("supervisor", v),
}


def _plain(term: str) -> Any:
    return or_(
        listing.contains(agents.c.user_name, term),
        listing.contains(agents.c.first_name, term),
        listing.contains(agents.c.last_name, term),
    )


SEARCH = listing.Search(agents, FILTERS, _plain, SORTABLE)


def _select() -> Select[Any]:
    return (
        select(
            *SHOWN,
            peripherals.c.name.label("peripheral_name"),
            teams.c.name.label("agent_team_name"),
            desk_settings.c.name.label("agent_desk_settings_name"),
            default_skill_groups.c.name.label("default_skill_group_name"),
            departments.c.name.label("department_name"),
        )
        .join(peripherals, peripherals.c.id == agents.c.peripheral_id)
        .outerjoin(teams, teams.c.id == agents.c.agent_team_id)
        .outerjoin(desk_settings, desk_settings.c.id == agents.c.agent_desk_settings_id)
        .outerjoin(
            default_skill_groups, default_skill_groups.c.id == agents.c.default_skill_group_id
        )
        .outerjoin(departments, departments.c.id == agents.c.department_id)
    )


def get_agent(conn: Connection, agent_id: int) -> dict[str, Any]:
    row = conn.execute(_select().where(agents.c.id == agent_id)).first()
    if row is None:
        raise NotFound(f"Agent {agent_id} does not exist", str(agent_id))
    return _with_memberships(conn, [row])[0]


def list_agents(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[dict[str, Any]], int, int]:
    rows, total, start = SEARCH.page(conn, _select(), page, q, sort)
    return _with_memberships(conn, rows), total, start


def _with_memberships(conn: Connection, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """Each agent with its ``skill_groups`` and ``agent_attributes``, and a supervisor's
    ``supervisor_teams``: one query per kind of membership for all the agents (never one per
    agent)."""
    ids = [row.id for row in rows]
    in_groups = _by_agent(
        conn,
        select(agent_skill_groups.c.agent_id, skill_groups.c.id, skill_groups.c.name)
        .join(skill_groups, skill_groups.c.id == agent_skill_groups.c.skill_group_id)
        .where(agent_skill_groups.c.agent_id.in_(ids))
        .order_by(skill_groups.c.name_key),
        ids,
    )
    values = _by_agent(
        conn,
        select(
            agent_attributes.c.agent_id,
            attributes.c.id.label("attribute_id"),
            attributes.c.name.label("attribute_name"),
            agent_attributes.c.value,
        )
        .join(attributes, attributes.c.id == agent_attributes.c.attribute_id)
        .where(agent_attributes.c.agent_id.in_(ids))
        .order_by(attributes.c.name_key),
        ids,
    )
    bosses = [row.id for row in rows if row.supervisor]
    supervised = _by_agent(
        conn,
        select(team_supervisors.c.agent_id, teams.c.id, teams.c.name)
        .join(teams, teams.c.id == team_supervisors.c.team_id)
        .where(team_supervisors.c.agent_id.in_(bosses))
        .order_by(teams.c.name_key),
        bosses,
    )
    return [
        {
            **row._mapping,
            "skill_groups": in_groups.get(row.id, []),
            "agent_attributes": values.get(row.id, []),
            "supervisor_teams": supervised.get(row.id, []) if row.supervisor else None,
        }
        for row in rows
    ]


def _by_agent(
    conn: Connection, statement: Select[Any], ids: Sequence[int]
) -> dict[int, list[Row[Any]]]:
    """The rows of ``statement`` (agent_id first) by agent; no query when there are no ids."""
    found: dict[int, list[Row[Any]]] = defaultdict(list)
    if ids:
        for row in conn.execute(statement):
            found[row.agent_id].append(row)
    return found

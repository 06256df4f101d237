"""Reading agent teams (GET /agentteam; docs/directory.md): each with its peripheral and its
numbers of agents and supervisors; one team also lists its agents and supervisors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from app.db import listing
from app.db.models import AgentTeam, Peripheral, TeamSupervisor, table
from app.directory import named

teams = table(AgentTeam)
supervisors = table(TeamSupervisor)
peripherals = table(Peripheral)
agents = named.agents

TEAMS = named.kind(
    "Agent team",
    teams,
    statement=select(teams, peripherals.c.name.label("peripheral_name")).join(
        peripherals, peripherals.c.id == teams.c.peripheral_id
    ),
    filters={
        "peripheralId": lambda v: teams.c.peripheral_id == listing.parse_int("peripheralId", v),
    },
    sortable={"changeStamp": teams.c.change_stamp},
)


def list_teams(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of teams, each with its ``agent_count`` and ``supervisor_count``."""
    rows, total, start = TEAMS.list_page(conn, page, q, sort)
    ids = [row.id for row in rows]
    agent_counts = named.counts(conn, agents.c.agent_team_id, ids)
    supervisor_counts = named.counts(conn, supervisors.c.team_id, ids)
    found = [
        {
            **row._mapping,
            "agent_count": agent_counts.get(row.id, 0),
            "supervisor_count": supervisor_counts.get(row.id, 0),
        }
        for row in rows
    ]
    return found, total, start


def get_team(conn: Connection, team_id: int) -> dict[str, Any]:
    """One team with its ``agents`` and ``supervisors`` (references) and their counts."""
    row = TEAMS.get(conn, team_id)
    members = named.agent_references(conn, agents, agents.c.agent_team_id == team_id)
    supervising = agents.join(supervisors, supervisors.c.agent_id == agents.c.id)
    bosses = named.agent_references(conn, supervising, supervisors.c.team_id == team_id)
    return {
        **row._mapping,
        "agent_count": len(members),
        "supervisor_count": len(bosses),
        "agents": members,
        "supervisors": bosses,
    }

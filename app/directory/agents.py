"""Reading the agent directory (GET /agent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select, func, or_, select

from app.db import listing
from app.db.models import Agent, AgentTeam, Peripheral, table
from app.exceptions import NotFound

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)

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


def _select() -> Select[Any]:
    return (
        select(
            agents,
            peripherals.c.name.label("peripheral_name"),
            teams.c.name.label("agent_team_name"),
        )
        .join(peripherals, peripherals.c.id == agents.c.peripheral_id)
        .outerjoin(teams, teams.c.id == agents.c.agent_team_id)
    )


def get_agent(conn: Connection, agent_id: int) -> Row[Any]:
    row = conn.execute(_select().where(agents.c.id == agent_id)).first()
    if row is None:
        raise NotFound(f"Agent {agent_id} does not exist", str(agent_id))
    return row


def list_agents(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[Row[Any]], int, int]:
    conditions = listing.parse_query(q, FILTERS, _plain)
    order = listing.parse_sort(sort, SORTABLE)
    total = conn.execute(select(func.count()).select_from(agents).where(*conditions)).scalar_one()
    start = listing.clamp_start(page, total)
    ordering: list[Any] = [agents.c.id]
    if order is not None:
        _name, column, descending = order
        ordering = [column.desc(), agents.c.id.desc()] if descending else [column, agents.c.id]
    rows = conn.execute(
        _select().where(*conditions).order_by(*ordering).offset(start).limit(page.results_per_page)
    ).all()
    return list(rows), int(total), start

"""The SSO-migration template's filter choices: peripherals, agent teams, agents left to migrate."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, false, func, select

from app.models import Agent, AgentTeam, Peripheral, table

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)


@dataclass(frozen=True)
class PeripheralChoice:
    id: int
    name: str


@dataclass(frozen=True)
class TeamChoice:
    id: int
    name: str
    peripheral_id: int


def list_peripherals(conn: Connection) -> list[PeripheralChoice]:
    """Every peripheral, by name."""
    rows = conn.execute(
        select(peripherals.c.id, peripherals.c.name).order_by(peripherals.c.name, peripherals.c.id)
    )
    return [PeripheralChoice(row.id, row.name) for row in rows]


def list_teams(conn: Connection) -> list[TeamChoice]:
    """Every agent team, by peripheral then name."""
    rows = conn.execute(
        select(teams.c.id, teams.c.name, teams.c.peripheral_id).order_by(
            teams.c.peripheral_id, teams.c.name, teams.c.id
        )
    )
    return [TeamChoice(row.id, row.name, row.peripheral_id) for row in rows]


def count_not_sso(
    conn: Connection, peripheral_id: int | None = None, team_id: int | None = None
) -> int:
    """How many agents and supervisors are not on SSO yet, optionally on one peripheral/team."""
    statement = select(func.count()).select_from(agents).where(agents.c.sso_enabled == false())
    if peripheral_id is not None:
        statement = statement.where(agents.c.peripheral_id == peripheral_id)
    if team_id is not None:
        statement = statement.where(agents.c.agent_team_id == team_id)
    return int(conn.execute(statement).scalar_one())

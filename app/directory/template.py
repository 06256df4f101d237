"""The SSO-migration template: the agents not yet on SSO as a CSV to fill in, and the choices
its filters offer (peripherals, agent teams, how many agents are left to migrate)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, false, func, select

from app.db.models import Agent, AgentTeam, Peripheral, table
from app.exceptions import InvalidInput
from app.jobs.downloads import CSV_TYPE, Download
from app.jobs.types.csvfile import as_bytes, csv_rows

STREAM_ROWS = 2000

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


def count_agents(
    conn: Connection, peripheral_id: int | None = None, team_id: int | None = None
) -> int:
    """How many agents and supervisors there are, optionally on one peripheral/team (what the
    agent template holds, in pieces)."""
    statement = select(func.count()).select_from(agents)
    if peripheral_id is not None:
        statement = statement.where(agents.c.peripheral_id == peripheral_id)
    if team_id is not None:
        statement = statement.where(agents.c.agent_team_id == team_id)
    return int(conn.execute(statement).scalar_one())


MAX_START = 2**31 - 1


def start_index(start: str | None) -> int:
    if start is None or start == "":
        return 0
    if not (start.isascii() and start.isdigit()) or int(start) > MAX_START:
        raise InvalidInput(f"startIndex must be a whole number from 0 to {MAX_START}", "startIndex")
    return int(start)


TEMPLATE_TERM = re.compile(r"\s*(peripheralId|agentTeamId):(\d+)\s*", re.IGNORECASE)


def parse_template_query(q: str | None) -> dict[str, int]:
    """``peripheralId:5000 agentTeamId:12``, with or without the space between terms."""
    found: dict[str, int] = {}
    text = q or ""
    position = 0
    while position < len(text):
        match = TEMPLATE_TERM.match(text, position)
        if match is None:
            if text[position:].strip():
                raise InvalidInput(
                    f"Cannot filter the template by {text[position:].strip()!r}; use "
                    "peripheralId:<id> and/or agentTeamId:<id>",
                    "q",
                )
            break
        name = "peripheralId" if match.group(1).lower() == "peripheralid" else "agentTeamId"
        found[name] = int(match.group(2))
        position = match.end()
    return found


TEMPLATE_COLUMNS = ("userName", "firstName", "lastName", "newUserName")


def download(engine: Engine, q: str | None, limit: int) -> Download:
    """The SSO-migration template: the first ``limit`` non-SSO agents by id."""
    filters = parse_template_query(q)
    statement = (
        select(agents.c.user_name, agents.c.first_name, agents.c.last_name)
        .where(agents.c.sso_enabled == false())
        .order_by(agents.c.id)
        .limit(limit)
    )
    if "peripheralId" in filters:
        statement = statement.where(agents.c.peripheral_id == filters["peripheralId"])
    if "agentTeamId" in filters:
        statement = statement.where(agents.c.agent_team_id == filters["agentTeamId"])
    rows = _template_rows(engine, statement)
    return Download(as_bytes(csv_rows(rows)), CSV_TYPE, "ssomigration.csv")


def _template_rows(engine: Engine, statement: Any) -> Iterator[Sequence[str]]:
    yield TEMPLATE_COLUMNS
    with engine.connect() as conn:
        for user_name, first_name, last_name in conn.execution_options(
            yield_per=STREAM_ROWS
        ).execute(statement):
            yield (user_name, first_name, last_name, "")

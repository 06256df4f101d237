"""A realistic demo agent directory: peripherals, teams, agents and supervisors."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, delete, func, select

from app.db.models import Agent, AgentTeam, Peripheral, table
from app.db.sql import ids_after_explicit, insert_rows, is_postgres
from app.exceptions import OutOfRange

MAX_AGENTS = 1_000_000
FIRST_PERIPHERAL_ID = 5000
FIRST_TEAM_ID = 5100
FIRST_AGENT_ID = 5001

agent_table = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)

# Small lists, so names repeat as they do in a real directory.
_FIRST = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew
Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy
Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy Jacob Angela
Priya Wei Carlos Fatima Ahmed Sofia Mateo Aisha Hiroshi Olga
"""
_LAST = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
Patel Kumar Chen Wang Kim Singh Novak Kowalski Muller Rossi
"""
FIRST_NAMES = tuple(_FIRST.split())
LAST_NAMES = tuple(_LAST.split())
TEAM_AREAS = (
    "Sales",
    "Support",
    "Billing",
    "Retention",
    "Collections",
    "Onboarding",
    "Tech",
    "VIP",
)
TEAM_REGIONS = ("North", "South", "East", "West", "Central")
AGENT_COLUMNS = (
    "id",
    "agent_id",
    "peripheral_id",
    "agent_team_id",
    "first_name",
    "last_name",
    "user_name",
    "user_name_key",
    "login_enabled",
    "sso_enabled",
    "supervisor",
    "description",
    "change_stamp",
)


def load_demo(
    conn: Connection, agents: int, seed: int = 1, replace: bool = False
) -> dict[str, Any]:
    """Load ``agents`` demo agents (and 5 peripherals, 40 teams) into an empty directory.

    A directory that already holds anything is left alone unless ``replace``; then it is emptied
    first (jobs do not reference agents). The same seed always gives the same directory, ids
    included: a replaced demo directory's ids are given again (the one exception to ids never
    being reused); agents and teams created afterwards get ids above every id used before.
    """
    if not 0 <= agents <= MAX_AGENTS:
        raise OutOfRange(f"agents must be between 0 and {MAX_AGENTS}", "agents")
    existing = _count(conn)
    if any(existing.values()) and not replace:
        return {
            "loaded": 0,
            "reason": (
                f"the agent directory is not empty ({existing['agents']} agents, "
                f"{existing['peripherals']} peripherals, {existing['teams']} teams)"
            ),
        }
    if any(existing.values()):
        conn.execute(delete(agent_table))
        conn.execute(delete(teams))
        conn.execute(delete(peripherals))

    rng = random.Random(seed)
    peripheral_rows = [
        (FIRST_PERIPHERAL_ID + i, f"CUCM_PG_{i + 1}") for i in range(len(TEAM_REGIONS))
    ]
    team_rows = [
        (
            FIRST_TEAM_ID + i,
            f"{TEAM_AREAS[i % len(TEAM_AREAS)]}_{TEAM_REGIONS[i // len(TEAM_AREAS)]}",
            # One peripheral per region, as a site has its own peripheral gateway.
            peripheral_rows[i // len(TEAM_AREAS)][0],
        )
        for i in range(len(TEAM_AREAS) * len(TEAM_REGIONS))
    ]
    agent_rows = _agent_rows(rng, agents, [p[0] for p in peripheral_rows], team_rows)

    insert_rows(conn, "peripherals", ("id", "name"), peripheral_rows)
    insert_rows(
        conn,
        "agent_teams",
        ("id", "name", "name_key", "peripheral_id"),
        [(team_id, name, name.lower(), peripheral) for team_id, name, peripheral in team_rows],
    )
    insert_rows(conn, "agents", AGENT_COLUMNS, agent_rows)
    # The ids were given explicitly: ids made later (SCIM creates) start above them.
    ids_after_explicit(conn, teams)
    ids_after_explicit(conn, agent_table)
    if is_postgres(conn):
        # Fresh statistics, so that the first job's planner knows the table's size (without
        # them it takes it for nearly empty and plans accordingly; autovacuum would catch up
        # within minutes).
        conn.exec_driver_sql("ANALYZE agents, agent_teams, peripherals")
    return {
        "loaded": len(agent_rows),
        "peripherals": len(peripheral_rows),
        "teams": len(team_rows),
        "supervisors": sum(1 for r in agent_rows if r[10]),
        "sso_enabled": sum(1 for r in agent_rows if r[9]),
        "without_team": sum(1 for r in agent_rows if r[3] is None),
        "replaced": existing["agents"] if replace else 0,
    }


def _count(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in (("agents", agent_table), ("peripherals", peripherals), ("teams", teams))
    }


def _agent_rows(
    rng: random.Random,
    count: int,
    peripheral_ids: list[int],
    team_rows: list[tuple[int, str, int]],
) -> list[tuple[Any, ...]]:
    taken: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    for i in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        stem = (first[0] + last).lower()
        user_name = _unique_user_name(rng, stem, taken)
        taken.add(user_name)
        if rng.random() < 0.10:
            team_id, peripheral_id = None, rng.choice(peripheral_ids)
        else:
            team_id, _name, peripheral_id = rng.choice(team_rows)
        sso = rng.random() < 0.10
        if sso:
            # Agents already on SSO sign in with their identity provider's name.
            user_name = f"{user_name}@example.com"
        supervisor = rng.random() < 0.05
        rows.append(
            (
                FIRST_AGENT_ID + i,
                str(FIRST_AGENT_ID + i),
                peripheral_id,
                team_id,
                first,
                last,
                user_name,
                user_name.lower(),
                rng.random() < 0.97,
                sso,
                supervisor,
                "Supervisor" if supervisor else "",
                0,
            )
        )
    return rows


def _unique_user_name(rng: random.Random, stem: str, taken: set[str]) -> str:
    """``stem`` and four digits ("jsmith1234"), more digits once a stem's four are crowded."""
    high = 10_000
    for attempt in range(1, 10_000):
        user_name = f"{stem}{rng.randrange(1000, high)}"
        if user_name not in taken:
            return user_name
        if attempt % 20 == 0:
            high *= 10
    raise RuntimeError(f"no free user name for {stem}")

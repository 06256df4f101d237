"""Where the SSO migration stands: agents and supervisors on SSO and not, for the whole
directory, per peripheral and per agent team (the console's "Migration" page)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from app.db.models import Agent, AgentTeam, Peripheral, table

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)


@dataclass
class Tally:
    """Agents and supervisors of one group, on SSO and not."""

    name: str
    agents_sso: int = 0
    agents_not: int = 0
    supervisors_sso: int = 0
    supervisors_not: int = 0

    @property
    def agents(self) -> int:
        return self.agents_sso + self.agents_not

    @property
    def supervisors(self) -> int:
        return self.supervisors_sso + self.supervisors_not

    @property
    def total(self) -> int:
        return self.agents + self.supervisors

    @property
    def sso(self) -> int:
        return self.agents_sso + self.supervisors_sso

    @property
    def not_sso(self) -> int:
        return self.agents_not + self.supervisors_not

    def add(self, supervisor: bool, sso: bool, count: int) -> None:
        if supervisor and sso:
            self.supervisors_sso += count
        elif supervisor:
            self.supervisors_not += count
        elif sso:
            self.agents_sso += count
        else:
            self.agents_not += count


@dataclass
class PeripheralTally(Tally):
    teams: list[Tally] = field(default_factory=list)


@dataclass
class Progress:
    whole: Tally
    peripherals: list[PeripheralTally]


def _sorted(tallies: Iterable[Tally]) -> list[Tally]:
    return sorted(tallies, key=lambda t: t.name.lower())


def sso_progress(conn: Connection) -> Progress:
    """The picture, counted in the database in one grouped query."""
    peripheral_names = dict(conn.execute(select(peripherals.c.id, peripherals.c.name)).all())
    team_names = dict(conn.execute(select(teams.c.id, teams.c.name)).all())
    counts = conn.execute(
        select(
            agents.c.peripheral_id,
            agents.c.agent_team_id,
            agents.c.supervisor,
            agents.c.sso_enabled,
            func.count(),
        ).group_by(
            agents.c.peripheral_id,
            agents.c.agent_team_id,
            agents.c.supervisor,
            agents.c.sso_enabled,
        )
    ).all()
    whole = Tally("All agents and supervisors")
    by_peripheral: dict[int, PeripheralTally] = {}
    by_team: dict[tuple[int, int | None], Tally] = {}
    for peripheral_id, team_id, supervisor, sso, count in counts:
        name = peripheral_names.get(peripheral_id, "")
        peripheral = by_peripheral.setdefault(
            peripheral_id, PeripheralTally(f"{name} ({peripheral_id})")
        )
        team = by_team.get((peripheral_id, team_id))
        if team is None:
            label = f"{team_names.get(team_id, '')} ({team_id})" if team_id else "No team"
            team = by_team[(peripheral_id, team_id)] = Tally(label)
            peripheral.teams.append(team)
        for tally in (whole, peripheral, team):
            tally.add(bool(supervisor), bool(sso), int(count))
    for peripheral in by_peripheral.values():
        peripheral.teams = _sorted(peripheral.teams)
    ordered = sorted(by_peripheral.values(), key=lambda t: t.name.lower())
    return Progress(whole, ordered)

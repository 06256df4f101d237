"""An agent file's rows as the agent job reads them (docs/job-types/agent.md): its columns,
an agent with its memberships (:class:`AgentState`), what one chunk's rows name, read at once
and kept up to date as rows apply (:class:`Chunk`), and the plan one row decides
(:class:`Plan`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Connection, select

from app.db.models import (
    AgentAttribute,
    AgentDeskSetting,
    AgentSkillGroup,
    Department,
    JobLine,
    TeamSupervisor,
    table,
)
from app.db.sql import sql
from app.directory import objects
from app.directory import passwords as pw
from app.directory.cells import KEEP
from app.directory.names import name_key
from app.directory.new_agents import NewAgents, lock_agent_ids
from app.jobs.types.base import Record, Run

COLUMNS = (
    "operation",
    "agentId",
    "userName",
    "firstName",
    "lastName",
    "password",
    "loginEnabled",
    "ssoEnabled",
    "description",
    "agentStateTrace",
    "agentDeskSettingsName",
    "agentTeamName",
    "skillGroups",
    "defaultSkillGroup",
    "attributes",
    "supervisor",
    "supervisorTeams",
    "departmentName",
)
# Files from Cisco releases before 12.6 have neither.
OPTIONAL = ("ssoEnabled", "departmentName")
AT = {name: i for i, name in enumerate(COLUMNS)}
PASSWORD = AT["password"]

MAX_AGENT_ID = 11
MAX_USER_NAME = 255
MAX_PERSON_NAME = 32
MAX_DESCRIPTION = 255
MAX_ATTRIBUTES = 50
DEFAULT_DESK_SETTINGS = "Default_Agent_Desk_Settings"
CISCO_VOICE = "Cisco_Voice"
BOOLEAN, PROFICIENCY = 3, 4
# Characters Cisco refuses in a user name (besides those outside ASCII 33-126).
USER_NAME_REFUSED = set('"/\\[]:;|=,+*?<>#%')

agent_skill_groups = table(AgentSkillGroup)
agent_attributes = table(AgentAttribute)
team_supervisors = table(TeamSupervisor)
desk_settings = table(AgentDeskSetting)
departments = table(Department)
lines = table(JobLine)


# What an agent is, as a row reads and writes it -----------------------------------------


@dataclass
class AgentState:
    """An agent with its memberships; ``password_hash`` is never shown anywhere."""

    id: int
    agent_id: str
    peripheral_id: int
    user_name: str
    first_name: str
    last_name: str
    login_enabled: bool
    sso_enabled: bool
    supervisor: bool
    description: str
    agent_state_trace: bool
    agent_desk_settings_id: int | None
    agent_team_id: int | None
    department_id: int | None
    default_skill_group_id: int | None
    password_hash: str | None
    change_stamp: int
    skill_groups: list[int] = field(default_factory=list)
    attributes: dict[int, str] = field(default_factory=dict)
    supervised: list[int] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """Everything a revert needs to give the agent back (the password's hash included)."""
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(AgentState))
_AGENT_COLUMNS = (
    "id, agent_id, peripheral_id, user_name, first_name, last_name, login_enabled, sso_enabled, "
    "supervisor, description, agent_state_trace, agent_desk_settings_id, agent_team_id, "
    "department_id, default_skill_group_id, password_hash, change_stamp"
)
# Compared to tell an UPDATE that changes something from one that does not.
COMPARED = (
    "user_name",
    "first_name",
    "last_name",
    "login_enabled",
    "sso_enabled",
    "supervisor",
    "description",
    "agent_state_trace",
    "agent_desk_settings_id",
    "agent_team_id",
    "department_id",
    "default_skill_group_id",
    "password_hash",
)


def agent_from_row(row: Sequence[Any]) -> AgentState:
    values = list(row)
    for index in (6, 7, 8, 10):  # SQLite's 0 and 1
        values[index] = bool(values[index])
    return AgentState(*values)


# The chunk: what its rows name, read at once, kept up to date as rows apply -------------


@dataclass
class Named:
    id: int
    name: str
    peripheral_id: int | None = None
    data_type: int | None = None


@dataclass
class NewObject:
    """An object a row creates, not written yet (app/directory/agent_write.py)."""

    kind: objects.Kind
    values: dict[str, Any]


class Chunk:
    """What the rows of one chunk see: read once, then changed in memory as each row settles
    (app/directory/agent_write.py), before it is written."""

    def __init__(
        self, conn: Connection, run: Run, records: Sequence[Record], dry_run: bool = False
    ) -> None:
        self.conn = conn
        self.run = run
        # A dry run's view lives as long as its run: nothing is written, so it is extended
        # chunk by chunk (:meth:`extend`) and what earlier rows settled stays in it.
        self.dry_run = dry_run
        self.new_agents = NewAgents()
        self.locked = False
        # Objects and agents settled but not written have provisional ids, below zero.
        self._provisional = 0
        self.pending: dict[int, NewObject] = {}
        self.renumbered: dict[int, int] = {}  # provisional id -> the id written
        # Agents the rows settled (created, changed, deleted): this view knows them better
        # than the database.
        self.touched: set[int] = set()
        self.sealer = pw.Sealer(run.settings.secret())
        self.teams: dict[str, Named] = {}
        self.groups: dict[str, Named] = {}
        self.attributes: dict[str, Named] = {}
        self.desk_settings = self._all(desk_settings)
        self.departments = self._all(departments)
        self.by_key: dict[str, AgentState] = {}
        self.by_agent_id: dict[str, list[AgentState]] = {}
        self.extend(records)

    def extend(self, records: Sequence[Record]) -> None:
        """Read what ``records`` name that this view does not know yet."""
        teams: set[str] = set()
        groups: set[str] = set()
        attributes: set[str] = set()
        user_keys: set[str] = set()
        agent_ids: set[str] = set()
        for record in records:
            v = record.values
            if v[AT["agentTeamName"]] not in ("", KEEP):
                teams.add(name_key(v[AT["agentTeamName"]]))
            for column, into in (("skillGroups", groups), ("supervisorTeams", teams)):
                into.update(name_key(bare(item)) for item in v[AT[column]].split(";"))
            into_default = v[AT["defaultSkillGroup"]]
            if into_default not in ("", KEEP):
                groups.add(name_key(into_default))
            attributes.update(
                name_key(bare(item).split("=", 1)[0]) for item in v[AT["attributes"]].split(";")
            )
            if v[AT["userName"]] not in ("", KEEP):
                user_keys.add(v[AT["userName"]].lower())
            if v[AT["agentId"]] not in ("", KEEP):
                agent_ids.add(v[AT["agentId"]])
        self.teams.update(self._named(objects.TEAM, teams - set(self.teams), "peripheral_id"))
        self.groups.update(
            self._named(objects.SKILL_GROUP, groups - set(self.groups), "peripheral_id")
        )
        self.attributes.update(
            self._named(objects.ATTRIBUTE, attributes - set(self.attributes), "data_type")
        )
        self._read_agents(user_keys - set(self.by_key), agent_ids)

    # reading

    def _named(self, kind: objects.Kind, keys: set[str], column: str) -> dict[str, Named]:
        keys.discard("")
        found = objects.find(self.conn, kind, keys, column)
        return {
            key: Named(row.id, row.name, **{column: getattr(row, column)})
            for key, row in found.items()
        }

    def _all(self, t: Any) -> dict[str, Named]:
        rows = self.conn.execute(select(t.c.id, t.c.name, t.c.name_key))
        return {row.name_key: Named(row.id, row.name) for row in rows}

    def _read_agents(self, user_keys: set[str], agent_ids: set[str]) -> None:
        conn = self.conn
        found: dict[int, AgentState] = {}
        for column, values in (("user_name_key", user_keys), ("agent_id", agent_ids)):
            wanted = sorted(values)
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ", ".join("?" * len(batch))
                statement = sql(
                    conn, f"SELECT {_AGENT_COLUMNS} FROM agents WHERE {column} IN ({marks})"
                )
                for row in conn.exec_driver_sql(statement, tuple(batch)):
                    if row[0] not in self.touched:  # else this view knows it better
                        found.setdefault(row[0], agent_from_row(row))
        known = {agent.id for same in self.by_agent_id.values() for agent in same}
        found = {i: agent for i, agent in found.items() if i not in known}
        self._memberships(found)
        for agent in found.values():
            if agent.user_name.lower() not in self.by_key:
                self.remember(agent)

    def _memberships(self, found: dict[int, AgentState]) -> None:
        ids = sorted(found)
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            for agent_id, group_id in self.conn.execute(
                select(agent_skill_groups.c.agent_id, agent_skill_groups.c.skill_group_id).where(
                    agent_skill_groups.c.agent_id.in_(batch)
                )
            ):
                found[agent_id].skill_groups.append(group_id)
            for agent_id, attribute_id, value in self.conn.execute(
                select(
                    agent_attributes.c.agent_id,
                    agent_attributes.c.attribute_id,
                    agent_attributes.c.value,
                ).where(agent_attributes.c.agent_id.in_(batch))
            ):
                found[agent_id].attributes[attribute_id] = value
            for agent_id, team_id in self.conn.execute(
                select(team_supervisors.c.agent_id, team_supervisors.c.team_id).where(
                    team_supervisors.c.agent_id.in_(batch)
                )
            ):
                found[agent_id].supervised.append(team_id)
        for agent in found.values():
            agent.skill_groups.sort()
            agent.supervised.sort()

    def settled(self, agent: AgentState) -> None:
        """An agent a row settled: the database's row of it is out of date for this view."""
        self.touched.add(agent.id)

    def remember(self, agent: AgentState) -> None:
        self.by_key[agent.user_name.lower()] = agent
        self.by_agent_id.setdefault(agent.agent_id, []).append(agent)

    def forget(self, agent: AgentState) -> None:
        if self.by_key.get(agent.user_name.lower()) is agent:
            del self.by_key[agent.user_name.lower()]
        same = self.by_agent_id.get(agent.agent_id, [])
        if agent in same:
            same.remove(agent)

    def provisional_id(self) -> int:
        self._provisional -= 1
        return self._provisional

    def lock(self) -> None:
        """Hold the lock agentIds are handed out and checked under (once per transaction; a
        dry run writes nothing and takes none)."""
        if not self.locked and not self.dry_run:
            lock_agent_ids(self.conn)
            self.locked = True


# A row's plan: decided in memory, then written ------------------------------------------


@dataclass
class Plan:
    """What one row does: the agent before and after, the objects it creates."""

    operation: str
    before: AgentState | None
    after: AgentState | None
    new_teams: list[tuple[str, int]] = field(default_factory=list)  # (name, peripheral)
    new_groups: list[tuple[str, int]] = field(default_factory=list)
    new_attributes: list[tuple[str, int]] = field(default_factory=list)  # (name, data type)
    # Names the row refers to, resolved once the new objects exist.
    team: str | None = None
    groups: list[str] = field(default_factory=list)
    default_group: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)
    supervised: list[str] = field(default_factory=list)
    password_hash: str | None = None  # of a new password to set


def bare(item: str) -> str:
    item = item.strip()
    return item[1:].strip() if item[:1] in ("+", "-") else item

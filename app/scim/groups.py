"""SCIM Groups are agent teams; their ``members`` are the agents whose team they are.

A team has no change stamp of its own, so ``meta.version`` is a digest of what the Group shows
(name, externalId, peripheral, member ids): any change to those, through SCIM or a CSV job,
changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    delete,
    func,
    insert,
    select,
    update,
)

from app.db.models import Agent, AgentTeam, Peripheral, table
from app.db.sql import is_postgres, now_ms
from app.scim import patch as scim_patch
from app.scim import resources as scim_resources
from app.scim.exceptions import InvalidValue, PreconditionFailed, ResourceNotFound, Uniqueness
from app.scim.resources import Attribute, describe
from app.scim.users import NewAgents

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
TEAM = "urn:bulkjob:params:scim:schemas:extension:agentteam:2.0:Group"
SCHEMAS = (GROUP, TEAM)
MEMBER_FIELDS = {"value": None, "display": None, "$ref": None, "type": None}
SHAPE: Mapping[str, Any] = {
    "displayName": None,
    "externalId": None,
    "members": [MEMBER_FIELDS],
    TEAM: {"peripheralId": None},
}
# What every team has: required in /Schemas, never removed by PATCH.
REQUIRED: tuple[tuple[str, ...], ...] = (("displayName",), (TEAM, "peripheralId"))
NAME_MAX = 64
EXTERNAL_ID_MAX = 255

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)

_MEMBER = Attribute(agents.c.id, "member", within=agents.c.agent_team_id == teams.c.id)
ATTRIBUTES = scim_resources.filterable(
    teams,
    GROUP,
    {
        "displayname": Attribute(teams.c.name, "text"),
        "members.value": _MEMBER,
        "members": _MEMBER,
        f"{TEAM.lower()}:peripheralid": Attribute(teams.c.peripheral_id, "integer"),
    },
)


@dataclass(frozen=True)
class Group:
    row: Row[Any]
    members: list[Row[Any]]

    @property
    def version(self) -> str:
        ids = ",".join(str(member.id) for member in self.members)
        text = f"{self.row.name}\n{self.row.external_id}\n{self.row.peripheral_id}\n{ids}"
        return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:16]}"'


@dataclass(frozen=True)
class Listing:
    groups: list[Group]
    total: int


def to_resource(group: Group, base_url: str, member_display: bool = False) -> dict[str, Any]:
    """The SCIM Group of a team. A member's ``display`` (its userName) is ``returned:
    request``: only when asked for with ``attributes=members.display``."""
    resource: dict[str, Any] = {"schemas": list(SCHEMAS), "id": str(group.row.id)}
    if group.row.external_id is not None:
        resource["externalId"] = group.row.external_id
    members = []
    for member in group.members:
        shown = {"value": str(member.id), "$ref": f"{base_url}/Users/{member.id}"}
        if member_display:
            shown["display"] = member.user_name
        members.append({**shown, "type": "User"})
    return {
        **resource,
        "displayName": group.row.name,
        "members": members,
        TEAM: {"peripheralId": group.row.peripheral_id},
        "meta": scim_resources.meta(
            "Group", f"{base_url}/Groups/{group.row.id}", group.version, group.row
        ),
    }


def _members(conn: Connection, team_ids: Iterable[int]) -> dict[int, list[Row[Any]]]:
    ids = list(team_ids)
    found: dict[int, list[Row[Any]]] = {team_id: [] for team_id in ids}
    if ids:
        statement: Select[Any] = (
            select(agents.c.id, agents.c.user_name, agents.c.agent_team_id)
            .where(agents.c.agent_team_id.in_(ids))
            .order_by(agents.c.id)
        )
        for row in conn.execute(statement):
            found[row.agent_team_id].append(row)
    return found


def get_group(conn: Connection, group_id: str, with_members: bool = True) -> Group:
    row = None
    if group_id.isascii() and group_id.isdigit():
        row = conn.execute(select(teams).where(teams.c.id == int(group_id))).first()
    if row is None:
        raise ResourceNotFound(f"Group {group_id} not found")
    return Group(row, _members(conn, [row.id])[row.id] if with_members else [])


def list_groups(
    conn: Connection,
    condition: ColumnElement[bool] | None,
    sort_by: str | None,
    descending: bool,
    start_index: int,
    count: int,
    with_members: bool = True,
) -> Listing:
    rows, total = scim_resources.page(
        conn, teams, ATTRIBUTES, condition, sort_by, descending, start_index, count
    )
    members = _members(conn, [row.id for row in rows]) if with_members else {}
    return Listing([Group(row, members.get(row.id, [])) for row in rows], total)


def create_group(conn: Connection, raw: Any, default_peripheral: int | None) -> int:
    document = scim_resources.canonical(raw, SHAPE)
    name = _name(conn, document, None)
    peripheral = _peripheral(conn, document, None, default_peripheral)
    now = now_ms()
    # The database gives the id (a sequence, AUTOINCREMENT on SQLite): never one a deleted team
    # had, and concurrent creates never get the same one.
    new_id = int(
        conn.execute(
            insert(teams)
            .values(
                name=name,
                name_key=name.lower(),
                external_id=_external_id(document),
                peripheral_id=peripheral,
                created_ms=now,
                modified_ms=now,
            )
            .returning(teams.c.id)
        ).scalar_one()
    )
    if document.get("members"):
        _set_members(conn, new_id, peripheral, _member_ids(document["members"]), [])
    return new_id


def replace_group(
    conn: Connection, group_id: str, raw: Any, if_match: Collection[str] | None
) -> None:
    current = get_group(conn, group_id)
    _check_version(current, if_match)
    _write(conn, current, scim_resources.canonical(raw, SHAPE))


def patch_group(
    conn: Connection, group_id: str, body: Any, if_match: Collection[str] | None, base_url: str
) -> None:
    current = get_group(conn, group_id)
    _check_version(current, if_match)
    document = scim_patch.patched(to_resource(current, base_url), body, SHAPE, GROUP, REQUIRED)
    _write(conn, current, document)


def delete_group(conn: Connection, group_id: str, if_match: Collection[str] | None) -> None:
    current = get_group(conn, group_id)
    _check_version(current, if_match)
    _set_members(conn, current.row.id, current.row.peripheral_id, [], current.members)
    conn.execute(delete(teams).where(teams.c.id == current.row.id))


def _check_version(group: Group, if_match: Collection[str] | None) -> None:
    if if_match is not None and group.version[2:].strip('"') not in if_match:
        raise PreconditionFailed(f"The Group is at version {group.version}")


def _write(conn: Connection, current: Group, document: dict[str, Any]) -> None:
    name = _name(conn, document, current.row.id)
    peripheral = _peripheral(conn, document, current.row, None)
    if peripheral != current.row.peripheral_id and current.members:
        raise InvalidValue("A team with members cannot move to another peripheral")
    conn.execute(
        update(teams)
        .where(teams.c.id == current.row.id)
        .values(
            name=name,
            name_key=name.lower(),
            external_id=_external_id(document),
            peripheral_id=peripheral,
            modified_ms=now_ms(),
            change_stamp=teams.c.change_stamp + 1,
        )
    )
    wanted = _member_ids(document.get("members") or [])
    _set_members(conn, current.row.id, peripheral, wanted, current.members)


def _set_members(
    conn: Connection,
    team_id: int,
    peripheral: int,
    wanted: list[int],
    current: list[Row[Any]],
) -> None:
    """Agents in ``wanted`` join the team; current members not in it leave. Each agent whose
    team changes gets a new change stamp and modification time."""
    have = {member.id for member in current}
    joining = sorted(set(wanted) - have)
    leaving = sorted(have - set(wanted))
    if joining:
        rows = conn.execute(
            select(agents.c.id, agents.c.peripheral_id).where(agents.c.id.in_(joining))
        ).all()
        found = {row.id: row.peripheral_id for row in rows}
        missing = [agent_id for agent_id in joining if agent_id not in found]
        if missing:
            raise InvalidValue(f"No User {missing[0]} to make a member")
        elsewhere = [agent_id for agent_id in joining if found[agent_id] != peripheral]
        if elsewhere:
            raise InvalidValue(f"User {elsewhere[0]} is on another peripheral than the team")
        conn.execute(
            update(agents)
            .where(agents.c.id.in_(joining))
            .values(
                agent_team_id=team_id,
                change_stamp=agents.c.change_stamp + 1,
                modified_ms=now_ms(),
            )
        )
    if leaving:
        conn.execute(
            update(agents)
            .where(agents.c.id.in_(leaving))
            .values(
                agent_team_id=None, change_stamp=agents.c.change_stamp + 1, modified_ms=now_ms()
            )
        )


def _member_ids(members: Any) -> list[int]:
    """The User ids of ``members`` (one member given alone is taken as a list of one)."""
    if not isinstance(members, list):
        members = [members]
    ids: list[int] = []
    for member in members:
        if not isinstance(member, Mapping):
            raise InvalidValue(f"A member must be an object with a value, got {describe(member)}")
        value = scim_resources.canonical(member, MEMBER_FIELDS).get("value")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise InvalidValue(f"A member's value must be a User's id, got {describe(value)}")
        ids.append(int(value))
    return ids


def _name(conn: Connection, document: dict[str, Any], own_id: int | None) -> str:
    name = document.get("displayName")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise InvalidValue("displayName is required")
    if not isinstance(name, str):
        raise InvalidValue(f"displayName must be a string, got {describe(name)}")
    if len(name) > NAME_MAX:
        raise InvalidValue(f"displayName is longer than {NAME_MAX} characters ({len(name)} given)")
    if is_postgres(conn):
        # The unique name key would refuse a second team of this name with an integrity error;
        # a transaction that names a team holds this lock until it ends, so another cannot find
        # the same name free meanwhile and the client gets SCIM's uniqueness error instead
        # (SQLite has one writer at a time anyway). The lock new agents' agentIds take: one
        # lock, so transactions creating users and groups in either order (two Bulk requests)
        # cannot deadlock on two.
        conn.execute(select(func.pg_advisory_xact_lock(NewAgents.LOCK_KEY)))
    statement = select(teams.c.id).where(teams.c.name_key == name.lower())
    if own_id is not None:
        statement = statement.where(teams.c.id != own_id)
    if conn.execute(statement).first() is not None:
        raise Uniqueness(f"A Group named {name!r} exists")
    return name


def _external_id(document: dict[str, Any]) -> str | None:
    value = document.get("externalId")
    if value is not None and not isinstance(value, str):
        raise InvalidValue(f"externalId must be a string, got {describe(value)}")
    if value is not None and len(value) > EXTERNAL_ID_MAX:
        raise InvalidValue(f"externalId is longer than {EXTERNAL_ID_MAX} characters")
    return value


def _peripheral(
    conn: Connection, document: dict[str, Any], current: Row[Any] | None, configured: int | None
) -> int:
    extension = document.get(TEAM)
    raw = extension.get("peripheralId") if isinstance(extension, dict) else None
    if raw is None:
        if current is not None:
            return int(current.peripheral_id)
        if configured is not None:
            raw = configured
        else:
            lowest = conn.execute(select(func.min(peripherals.c.id))).scalar_one()
            if lowest is None:
                raise InvalidValue("No peripheral exists to put the team on; give peripheralId")
            return int(lowest)
    if isinstance(raw, bool) or not (
        isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit())
    ):
        raise InvalidValue(f"peripheralId must be an integer, got {describe(raw)}")
    peripheral = int(raw)
    if not conn.execute(select(peripherals.c.id).where(peripherals.c.id == peripheral)).first():
        raise InvalidValue(f"peripheralId: peripheral {peripheral} does not exist")
    return peripheral

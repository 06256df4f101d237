"""SCIM Users are agents: reading, creating, replacing, patching and deleting them.

The mapping: ``userName`` ↔ user_name, ``name.givenName``/``familyName`` ↔ first/last name,
``active`` ↔ login_enabled, ``externalId``, ``displayName`` and ``emails`` in columns of their
own, the enterprise extension's ``employeeNumber`` (free text from an HR system) ↔
employee_number, and our extension for the agentId, peripheral, team, supervisor and SSO flags.
``meta.version`` is the change stamp as a weak ETag. The values a User gives are checked and
made columns by app.scim.user_values.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    delete,
    insert,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from app.db.models import Agent, AgentTeam, Peripheral, table
from app.db.sql import now_ms
from app.directory import new_agents
from app.exceptions import InvalidInput
from app.scim import patch as scim_patch
from app.scim import resources as scim_resources
from app.scim import user_values
from app.scim.exceptions import (
    InvalidValue,
    PreconditionFailed,
    ResourceNotFound,
    ScimError,
    Uniqueness,
)
from app.scim.resources import Attribute
from app.scim.user_values import AGENT, EMAIL_FIELDS, ENTERPRISE, USER

SCHEMAS = (USER, ENTERPRISE, AGENT)

SHAPE: Mapping[str, Any] = {
    "userName": None,
    "externalId": None,
    "displayName": None,
    "active": None,
    "emails": [EMAIL_FIELDS],
    "name": {"givenName": None, "familyName": None},
    ENTERPRISE: {"employeeNumber": None},
    AGENT: {
        "agentId": None,
        "peripheralId": None,
        "agentTeamId": None,
        "supervisor": None,
        "ssoEnabled": None,
    },
}
# What every agent has (a column without NULL): required in /Schemas, never removed by PATCH.
REQUIRED: tuple[tuple[str, ...], ...] = (
    ("userName",),
    ("active",),
    (AGENT, "agentId"),
    (AGENT, "peripheralId"),
    (AGENT, "supervisor"),
    (AGENT, "ssoEnabled"),
)

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)

_EMAIL_VALUE = Attribute(agents.c.emails, "text", nullable=True, element="value")
ATTRIBUTES = scim_resources.filterable(
    agents,
    USER,
    {
        "username": Attribute(agents.c.user_name_key, "key"),
        "name.givenname": Attribute(agents.c.first_name, "text"),
        "name.familyname": Attribute(agents.c.last_name, "text"),
        "displayname": Attribute(agents.c.display_name, "text", nullable=True),
        "active": Attribute(agents.c.login_enabled, "boolean"),
        "emails": _EMAIL_VALUE,
        "emails.value": _EMAIL_VALUE,
        "emails.type": Attribute(agents.c.emails, "text", nullable=True, element="type"),
        "emails.display": Attribute(agents.c.emails, "text", nullable=True, element="display"),
        f"{ENTERPRISE.lower()}:employeenumber": Attribute(
            agents.c.employee_number, "text", nullable=True
        ),
        f"{AGENT.lower()}:agentid": Attribute(agents.c.agent_id, "exact"),
        f"{AGENT.lower()}:peripheralid": Attribute(agents.c.peripheral_id, "integer"),
        f"{AGENT.lower()}:agentteamid": Attribute(agents.c.agent_team_id, "integer", nullable=True),
        f"{AGENT.lower()}:supervisor": Attribute(agents.c.supervisor, "boolean"),
        f"{AGENT.lower()}:ssoenabled": Attribute(agents.c.sso_enabled, "boolean"),
    },
)


@dataclass(frozen=True)
class Listing:
    rows: list[Row[Any]]
    total: int


def version(row: Row[Any]) -> str:
    return f'W/"{row.change_stamp}"'


def to_resource(row: Row[Any], base_url: str) -> dict[str, Any]:
    """The SCIM User of an agent row; attributes without a value are left out."""
    schemas = [USER, ENTERPRISE, AGENT] if row.employee_number is not None else [USER, AGENT]
    resource: dict[str, Any] = {"schemas": schemas, "id": str(row.id)}
    if row.external_id is not None:
        resource["externalId"] = row.external_id
    resource["userName"] = row.user_name
    name = {"givenName": row.first_name, "familyName": row.last_name}
    if any(name.values()):
        resource["name"] = {key: value for key, value in name.items() if value}
    if row.display_name is not None:
        resource["displayName"] = row.display_name
    resource["active"] = bool(row.login_enabled)
    if row.emails:
        resource["emails"] = json.loads(row.emails)
    if row.employee_number is not None:
        resource[ENTERPRISE] = {"employeeNumber": row.employee_number}
    extension: dict[str, Any] = {"agentId": row.agent_id, "peripheralId": row.peripheral_id}
    if row.agent_team_id is not None:
        extension["agentTeamId"] = row.agent_team_id
    extension["supervisor"] = bool(row.supervisor)
    extension["ssoEnabled"] = bool(row.sso_enabled)
    resource[AGENT] = extension
    resource["meta"] = scim_resources.meta("User", f"{base_url}/Users/{row.id}", version(row), row)
    return resource


def get_user(conn: Connection, user_id: str) -> Row[Any]:
    row = None
    if user_id.isascii() and user_id.isdigit():
        row = conn.execute(select(agents).where(agents.c.id == int(user_id))).first()
    if row is None:
        raise ResourceNotFound(f"User {user_id} not found")
    return row


def list_users(
    conn: Connection,
    condition: ColumnElement[bool] | None,
    sort_by: str | None,
    descending: bool,
    start_index: int,
    count: int,
) -> Listing:
    """One page of agents matching ``condition``; ``start_index`` is 1-based."""
    rows, total = scim_resources.page(
        conn, agents, ATTRIBUTES, condition, sort_by, descending, start_index, count
    )
    return Listing(rows, total)


class NewAgents(new_agents.NewAgents):
    """The directory's (app/directory/new_agents.py), its refusals as SCIM's."""

    def peripheral(self, conn: Connection, configured: int | None) -> int:
        try:
            return super().peripheral(conn, configured)
        except InvalidInput as exc:
            raise InvalidValue(f"{exc.message}; give peripheralId") from None

    def agent_id(self, conn: Connection, max_length: int = new_agents.MAX_AGENT_ID) -> str:
        try:
            return super().agent_id(conn, max_length)
        except InvalidInput as exc:
            raise InvalidValue(exc.message) from None


def create_user(
    conn: Connection, raw: Any, default_peripheral: int | None, new: NewAgents | None = None
) -> int:
    """A new agent from a SCIM User; returns its id. ``new``: the transaction's NewAgents,
    when it creates several. A taken userName is refused by the unique index (one statement
    fewer than asking first)."""
    document = scim_resources.canonical(raw, SHAPE)
    new = new or NewAgents()
    values = user_values.columns(
        conn, document, None, lambda: new.peripheral(conn, default_peripheral)
    )
    if "agent_id" in values:
        new.saw(values["agent_id"])
    else:
        values["agent_id"] = new.agent_id(conn)
    values["change_stamp"] = 0
    values["created_ms"] = values["modified_ms"] = now_ms()
    values.setdefault("description", "")
    # One statement with parameters (compiled once, not per user). A refusal leaves the
    # transaction to be rolled back by the caller: a request's, or a bulk operation's savepoint.
    try:
        new_id = int(conn.execute(_INSERT, values).scalar_one())
    except IntegrityError as exc:
        raise Uniqueness(f"userName {values['user_name']!r} is already taken") from exc
    _touch_teams(conn, [values.get("agent_team_id")], values["modified_ms"])
    return new_id


_INSERT = insert(agents).returning(agents.c.id)
# Ids come back keyed by the (unique) userName key: asking them in parameter order makes
# SQLAlchemy insert one row per statement on SQLite, whose RETURNING order is not defined.
_INSERT_MANY = insert(agents).returning(agents.c.user_name_key, agents.c.id)
# The columns every new agent's values name (so one executemany takes them all).
_NEW_COLUMNS = (
    "user_name",
    "user_name_key",
    "first_name",
    "last_name",
    "display_name",
    "external_id",
    "login_enabled",
    "emails",
    "peripheral_id",
    "agent_team_id",
    "supervisor",
    "sso_enabled",
    "employee_number",
)


def prepare_users(
    conn: Connection, raws: list[Any], default_peripheral: int | None, new: NewAgents
) -> list[dict[str, Any] | ScimError]:
    """Many creates decided at once (the set-based path of a Bulk): each SCIM User's column
    values, or why it is refused; one query finds the userNames already taken, and a userName
    twice in ``raws`` is refused the second time. Nothing is written."""
    prepared: list[dict[str, Any] | ScimError] = []
    for raw in raws:
        try:
            document = scim_resources.canonical(raw, SHAPE)
            prepared.append(
                user_values.columns(
                    conn, document, None, lambda: new.peripheral(conn, default_peripheral)
                )
            )
        except ScimError as exc:
            prepared.append(exc)
    keys = [values["user_name_key"] for values in prepared if isinstance(values, dict)]
    taken = set(
        conn.execute(
            select(agents.c.user_name_key).where(agents.c.user_name_key.in_(keys))
        ).scalars()
    )
    # _values checked each explicit agentId against the database; here, against each other.
    numbered: set[tuple[int, str]] = set()
    for position, values in enumerate(prepared):
        if isinstance(values, dict):
            key = values["user_name_key"]
            number = (values["peripheral_id"], values.get("agent_id") or "")
            if key in taken:
                prepared[position] = Uniqueness(
                    f"userName {values['user_name']!r} is already taken"
                )
            elif number in numbered:
                prepared[position] = user_values.agent_id_taken(number[1], number[0])
            elif number[1]:
                numbered.add(number)
            taken.add(key)
    return prepared


def insert_users(conn: Connection, prepared: list[dict[str, Any]], new: NewAgents) -> list[int]:
    """Insert agents ``prepare_users`` accepted, in one executemany; their ids, in order.
    IntegrityError means another transaction took a userName since: the caller redoes them
    one at a time."""
    if not prepared:
        return []
    rows = []
    now = now_ms()
    for values in prepared:
        if "agent_id" in values:
            new.saw(values["agent_id"])  # before any is counted: none is handed out twice
    for values in prepared:
        row = {column: values.get(column) for column in _NEW_COLUMNS}
        row["agent_id"] = values["agent_id"] if "agent_id" in values else new.agent_id(conn)
        row["change_stamp"] = 0
        row["created_ms"] = row["modified_ms"] = now
        row["description"] = ""
        rows.append(row)
    ids = {key: int(found) for key, found in conn.execute(_INSERT_MANY, rows)}
    _touch_teams(conn, [row["agent_team_id"] for row in rows], now)
    return [ids[row["user_name_key"]] for row in rows]


def replace_user(
    conn: Connection, user_id: str, raw: Any, if_match: Collection[str] | None
) -> None:
    """PUT: the agent's attributes become those of ``raw`` (extension values it leaves out are
    kept: an identity provider unaware of our extension must not move agents)."""
    current = get_user(conn, user_id)
    _check_version(current, if_match)
    document = scim_resources.canonical(raw, SHAPE)
    _write(conn, current, user_values.columns(conn, document, current, None))


def patch_user(
    conn: Connection, user_id: str, body: Any, if_match: Collection[str] | None, base_url: str
) -> None:
    """PATCH: the operations applied to the agent's current representation, then written."""
    current = get_user(conn, user_id)
    _check_version(current, if_match)
    document = scim_patch.patched(to_resource(current, base_url), body, SHAPE, USER, REQUIRED)
    # Here an absent team was removed (in a PUT it was only not mentioned).
    document.setdefault(AGENT, {}).setdefault("agentTeamId", None)
    _write(conn, current, user_values.columns(conn, document, current, None))


def delete_user(conn: Connection, user_id: str, if_match: Collection[str] | None) -> None:
    current = get_user(conn, user_id)
    _check_version(current, if_match)
    conn.execute(delete(agents).where(agents.c.id == current.id))
    _touch_teams(conn, [current.agent_team_id], now_ms())


def _check_version(row: Row[Any], if_match: Collection[str] | None) -> None:
    """``if_match``: the entity tags of If-Match (unquoted), None when absent or ``*``."""
    if if_match is not None and str(row.change_stamp) not in if_match:
        raise PreconditionFailed(f"The User is at version {version(row)}")


def _write(conn: Connection, current: Row[Any], values: dict[str, Any]) -> None:
    values["change_stamp"] = current.change_stamp + 1
    values["modified_ms"] = now_ms()
    statement = (
        sql_update(agents)
        .where(agents.c.id == current.id, agents.c.change_stamp == current.change_stamp)
        .values(**values)
    )
    try:
        with conn.begin_nested():
            result = conn.execute(statement)
    except IntegrityError as exc:
        raise Uniqueness(f"userName {values['user_name']!r} is already taken") from exc
    if result.rowcount != 1:
        raise PreconditionFailed("The User changed while this request was processed")
    team = values.get("agent_team_id", current.agent_team_id)
    if team != current.agent_team_id:
        _touch_teams(conn, [current.agent_team_id, team], values["modified_ms"])


def _touch_teams(conn: Connection, team_ids: list[int | None], now: int) -> None:
    """The teams whose members changed were modified too (a Group's meta.lastModified)."""
    wanted = sorted({team_id for team_id in team_ids if team_id is not None})
    if wanted:
        conn.execute(sql_update(teams).where(teams.c.id.in_(wanted)).values(modified_ms=now))

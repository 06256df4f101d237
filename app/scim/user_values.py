"""A SCIM User's attributes checked and made an agent's column values (app.scim.users maps
agents to Users and back). Each refusal names the attribute and what came: ``active must be
true or false, got the string 'maybe'``, ``name.givenName is longer than 32 characters``.

Booleans may come as the strings ``"true"``/``"false"`` in any case (Microsoft Entra sends
``"active": "False"``); anything else where a boolean belongs is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select

from app.db.models import Agent, AgentTeam, Peripheral, table
from app.directory import new_agents
from app.scim import resources as scim_resources
from app.scim.exceptions import InvalidValue, Uniqueness
from app.scim.resources import describe

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
AGENT = "urn:bulkjob:params:scim:schemas:extension:agent:2.0:User"

EMAIL_FIELDS = {"value": None, "type": None, "primary": None, "display": None}

agents = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)

MAX_LENGTHS = {
    "userName": 255,
    "givenName": 32,
    "familyName": 32,
    "displayName": 255,
    "externalId": 255,
    "employeeNumber": 255,
    "agentId": 32,
}
# The attribute paths that refusals name.
PATHS = {"givenName": "name.givenName", "familyName": "name.familyName"}


def columns(
    conn: Connection,
    document: dict[str, Any],
    current: Row[Any] | None,
    default_peripheral: Callable[[], int] | None,
) -> dict[str, Any]:
    """Column values from a canonical document, checked; ``current`` for a replace, else
    ``default_peripheral`` gives the peripheral of a new agent that names none."""
    given = document.get("name")
    name: dict[str, Any] = given if isinstance(given, dict) else {}
    user_name = _string(document.get("userName"), "userName")
    if not user_name or not user_name.strip():
        raise InvalidValue("userName is required")
    values: dict[str, Any] = {
        "user_name": user_name,
        "user_name_key": user_name.lower(),
        "first_name": _string(name.get("givenName"), "givenName") or "",
        "last_name": _string(name.get("familyName"), "familyName") or "",
        "display_name": _string(document.get("displayName"), "displayName"),
        "external_id": _string(document.get("externalId"), "externalId"),
        "login_enabled": _boolean(document.get("active"), "active", True),
        "emails": _emails(document.get("emails")),
    }
    if current is not None:
        _check_unique(conn, values["user_name_key"], current.id)
    enterprise = document.get(ENTERPRISE)
    enterprise = enterprise if isinstance(enterprise, dict) else {}
    values["employee_number"] = _string(enterprise.get("employeeNumber"), "employeeNumber")
    extension = document.get(AGENT)
    extension = extension if isinstance(extension, dict) else {}
    peripheral = _integer(extension.get("peripheralId"), "peripheralId")
    if peripheral is None:
        if current is not None:
            peripheral = current.peripheral_id
        elif default_peripheral is not None:
            peripheral = default_peripheral()
        else:
            raise InvalidValue("peripheralId is required")
    elif not conn.execute(_PERIPHERAL, {"id": peripheral}).first():
        raise InvalidValue(f"peripheralId: peripheral {peripheral} does not exist")
    values["peripheral_id"] = peripheral
    agent_id = _agent_id(extension.get("agentId"))
    if agent_id is not None:
        values["agent_id"] = agent_id
    number = agent_id if current is None else agent_id or current.agent_id
    if number is not None and (
        current is None or (number, peripheral) != (current.agent_id, current.peripheral_id)
    ):
        _check_agent_id(conn, number, peripheral, None if current is None else current.id)
    if "agentTeamId" in extension:
        values["agent_team_id"] = _team(conn, extension["agentTeamId"], peripheral)
    elif current is None:
        values["agent_team_id"] = None
    for key, column, default in (
        ("supervisor", "supervisor", False),
        ("ssoEnabled", "sso_enabled", False),
    ):
        if key in extension or current is None:
            values[column] = _boolean(extension.get(key), key, default)
    return values


# Statements built once: a Bulk of 1,000 creates runs each 1,000 times.
_HOLDER = select(agents.c.id).where(
    agents.c.user_name_key == bindparam("key"), agents.c.id != bindparam("own")
)
_PERIPHERAL = select(peripherals.c.id).where(peripherals.c.id == bindparam("id"))
_LOWEST_PERIPHERAL = select(func.min(peripherals.c.id))


_NUMBER_HOLDER = select(agents.c.id).where(
    agents.c.peripheral_id == bindparam("peripheral"),
    agents.c.agent_id == bindparam("number"),
    agents.c.id != bindparam("own"),
)


def _check_unique(conn: Connection, key: str, own_id: int | None) -> None:
    if conn.execute(_HOLDER, {"key": key, "own": own_id or 0}).first() is not None:
        raise Uniqueness(f"userName {key!r} is already taken")


def _check_agent_id(conn: Connection, number: str, peripheral: int, own_id: int | None) -> None:
    """An agentId is unique on its peripheral (as in Cisco's directory)."""
    new_agents.lock_agent_ids(conn)
    params = {"peripheral": peripheral, "number": number, "own": own_id or 0}
    if conn.execute(_NUMBER_HOLDER, params).first() is not None:
        raise agent_id_taken(number, peripheral)


def agent_id_taken(number: str, peripheral: int) -> Uniqueness:
    return Uniqueness(f"agentId {number} is already taken on peripheral {peripheral}")


def _agent_id(value: Any) -> str | None:
    """An explicit agentId: digits, at most 32 (a number is taken as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if value is None:
        return None
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        raise InvalidValue(f"agentId must be digits, got {describe(value)}")
    if len(value) > MAX_LENGTHS["agentId"]:
        raise InvalidValue(f"agentId is longer than {MAX_LENGTHS['agentId']} digits")
    return value


def _team(conn: Connection, raw: Any, peripheral: int) -> int | None:
    team_id = _integer(raw, "agentTeamId")
    if team_id is None:
        return None
    row = conn.execute(select(teams.c.peripheral_id).where(teams.c.id == team_id)).first()
    if row is None:
        raise InvalidValue(f"agentTeamId: agent team {team_id} does not exist")
    if row.peripheral_id != peripheral:
        raise InvalidValue(
            f"agentTeamId: agent team {team_id} is on peripheral {row.peripheral_id}, "
            f"the agent on {peripheral}"
        )
    return team_id


def _string(value: Any, name: str) -> str | None:
    if value is None:
        return None
    path = PATHS.get(name, name)
    if not isinstance(value, str):
        raise InvalidValue(f"{path} must be a string, got {describe(value)}")
    limit = MAX_LENGTHS.get(name, 255)
    if len(value) > limit:
        raise InvalidValue(f"{path} is longer than {limit} characters ({len(value)} given)")
    return value


def _boolean(value: Any, name: str, default: bool) -> bool:
    """A boolean, or the string true/false in any case (Entra sends "False")."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"{name} must be true or false, got {describe(value)}")


def _integer(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise InvalidValue(f"{name} must be an integer, got {describe(value)}")


def _emails(value: Any) -> str | None:
    """The emails as stored (a JSON list), each checked: a string ``value``, ``type`` and
    ``display`` strings, ``primary`` a boolean (at most one true: the last one given)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise InvalidValue(f"emails must be a list of objects, got {describe(value)}")
    emails = []
    for item in value:
        if not isinstance(item, Mapping):
            raise InvalidValue(f"An email must be an object with a value, got {describe(item)}")
        email = scim_resources.canonical(item, EMAIL_FIELDS)
        address = email.get("value")
        if not isinstance(address, str) or not address.strip():
            raise InvalidValue(f"An email's value must be an address, got {describe(address)}")
        for key in ("type", "display"):
            if email.get(key) is None:
                email.pop(key, None)
            elif not isinstance(email[key], str):
                raise InvalidValue(f"emails.{key} must be a string, got {describe(email[key])}")
        if email.get("primary") is None:
            email.pop("primary", None)
        else:
            email["primary"] = _boolean(email["primary"], "emails.primary", False)
        emails.append(email)
    primaries = [email for email in emails if email.get("primary")]
    for email in primaries[:-1]:
        email["primary"] = False  # RFC 7644 §3.5.2: a new primary value demotes the others
    return json.dumps(emails) if emails else None

"""Small factories for test data, written straight to the database."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select
from werkzeug.security import generate_password_hash

from app.accounts import users
from app.db.models import (
    Agent,
    AgentAttribute,
    AgentDeskSetting,
    AgentSkillGroup,
    AgentTeam,
    Attribute,
    CallType,
    Department,
    DialedNumber,
    MediaRoutingDomain,
    Peripheral,
    SkillGroup,
    TeamSupervisor,
    User,
    table,
)
from app.db.sql import ids_after_explicit, now_ms
from app.jobs import store
from app.jobs.check import check_file

_ids = itertools.count(1)


def peripheral(conn: Connection, id: int = 5000, name: str = "CUCM_PG_1") -> int:
    if conn.execute(select(table(Peripheral).c.id).where(table(Peripheral).c.id == id)).first():
        return id
    conn.execute(insert(table(Peripheral)).values(id=id, name=name))
    return id


def team(conn: Connection, id: int, peripheral_id: int = 5000, name: str | None = None) -> int:
    peripheral(conn, peripheral_id)
    name = name or f"Team {id}"
    conn.execute(
        insert(table(AgentTeam)).values(
            id=id, name=name, name_key=name.lower(), peripheral_id=peripheral_id
        )
    )
    # PostgreSQL: a SCIM Group created later must not be given this id.
    ids_after_explicit(conn, table(AgentTeam))
    return id


def agent(
    conn: Connection,
    user_name: str,
    *,
    sso: bool = False,
    peripheral_id: int = 5000,
    team_id: int | None = None,
    first_name: str = "First",
    last_name: str = "Last",
    supervisor: bool = False,
    **extra: Any,
) -> int:
    """An agent; returns its id (the number in its refURL), the database's unless ``id=``.
    ``extra`` sets any other column (``description``, ``password_hash``, ...)."""
    peripheral(conn, peripheral_id)
    n = next(_ids)
    values = {
        "agent_id": str(10000 + n),
        "peripheral_id": peripheral_id,
        "agent_team_id": team_id,
        "first_name": first_name,
        "last_name": last_name,
        "user_name": user_name,
        "user_name_key": user_name.lower(),
        "login_enabled": True,
        "sso_enabled": sso,
        "supervisor": supervisor,
        "description": "",
        "change_stamp": 0,
        **extra,
    }
    new_id = int(
        conn.execute(
            insert(table(Agent)).values(**values).returning(table(Agent).c.id)
        ).scalar_one()
    )
    if "id" in extra:
        ids_after_explicit(conn, table(Agent))
    return new_id


def agents(conn: Connection, names: Iterable[str], **kwargs: Any) -> list[int]:
    return [agent(conn, name, **kwargs) for name in names]


def _named(conn: Connection, model: type[Any], name: str, **values: Any) -> int:
    """A named object of the contact-center directory; returns its id."""
    named = table(model)
    statement = insert(named).values(name=name, name_key=name.lower(), **values)
    return int(conn.execute(statement.returning(named.c.id)).scalar_one())


def skill_group(
    conn: Connection,
    name: str,
    *,
    peripheral_id: int = 5000,
    peripheral_number: int | None = None,
    media_routing_domain_id: int = 1,
    **extra: Any,
) -> int:
    """A skill group (on the schema's Cisco_Voice unless told); returns its id."""
    peripheral(conn, peripheral_id)
    number = peripheral_number if peripheral_number is not None else next(_ids)
    return _named(
        conn,
        SkillGroup,
        name,
        peripheral_id=peripheral_id,
        peripheral_number=number,
        media_routing_domain_id=media_routing_domain_id,
        **extra,
    )


def attribute(
    conn: Connection, name: str, *, data_type: int = 4, default_value: str = "5", **extra: Any
) -> int:
    """An attribute (4 Proficiency unless told; 3 Boolean); returns its id."""
    return _named(conn, Attribute, name, data_type=data_type, default_value=default_value, **extra)


def desk_setting(conn: Connection, name: str, **extra: Any) -> int:
    return _named(conn, AgentDeskSetting, name, **extra)


def department(conn: Connection, name: str, **extra: Any) -> int:
    return _named(conn, Department, name, **extra)


def media_routing_domain(conn: Connection, name: str, **extra: Any) -> int:
    return _named(conn, MediaRoutingDomain, name, **extra)


def call_type(conn: Connection, name: str, **extra: Any) -> int:
    return _named(conn, CallType, name, **extra)


def dialed_number(
    conn: Connection,
    string: str,
    *,
    routing_type: int = 1,
    media_routing_domain_id: int = 1,
    **extra: Any,
) -> int:
    """A dialed number (External Voice on the schema's Cisco_Voice unless told); returns its id.
    Its keys as docs/directory.md says: External Voice and Post Call Survey share one."""
    key = string.lower()
    numbers = table(DialedNumber)
    statement = insert(numbers).values(
        dialed_number_string=string,
        string_key=key,
        routing_type=routing_type,
        voice_key=key if routing_type in (1, 7) else None,
        media_routing_domain_id=media_routing_domain_id,
        **extra,
    )
    return int(conn.execute(statement.returning(numbers.c.id)).scalar_one())


def member(conn: Connection, agent_id: int, skill_group_id: int) -> None:
    """``agent_id`` joins the skill group."""
    conn.execute(
        insert(table(AgentSkillGroup)).values(agent_id=agent_id, skill_group_id=skill_group_id)
    )


def attribute_value(conn: Connection, agent_id: int, attribute_id: int, value: str) -> None:
    conn.execute(
        insert(table(AgentAttribute)).values(
            agent_id=agent_id, attribute_id=attribute_id, value=value
        )
    )


def supervises(conn: Connection, agent_id: int, team_id: int) -> None:
    """``agent_id`` (an agent with ``supervisor=True``) supervises the team."""
    conn.execute(insert(table(TeamSupervisor)).values(team_id=team_id, agent_id=agent_id))


def user(conn: Connection, name: str, role: str, password: str = "secret-pw-1") -> str:
    """A user of ``role`` whose password is ``password``, written as ``users.create_user``
    writes one (tests/accounts check that function itself), with each password hashed once per
    test run: a scrypt hash takes a tenth of a second, and most tests make three users."""
    conn.execute(
        insert(table(User)).values(
            username=name, role=role, password_hash=_hashed(password), create_ms=now_ms()
        )
    )
    return password


@functools.cache
def _hashed(password: str) -> str:
    return generate_password_hash(password, method=users.PASSWORD_METHOD)


def csv_text(
    rows: Iterable[Iterable[str]], header: str = "userName,firstName,lastName,newUserName"
) -> str:
    lines = [header, *(",".join(r) for r in rows)]
    return "\n".join(lines) + "\n"


def bulk_agents(conn: Connection, names: list[str], peripheral_id: int = 5000) -> None:
    """Many agents in one executemany (for jobs of tens of thousands of rows)."""
    peripheral(conn, peripheral_id)
    start = next(_ids)
    rows = [
        {
            "agent_id": str(100000 + start + i),
            "peripheral_id": peripheral_id,
            "first_name": "First",
            "last_name": "Last",
            "user_name": name,
            "user_name_key": name.lower(),
            "login_enabled": True,
            "sso_enabled": False,
            "supervisor": False,
            "description": "",
            "change_stamp": 0,
        }
        for i, name in enumerate(names)
    ]
    conn.execute(insert(table(Agent)), rows)


def stored_job(
    conn: Connection,
    text: str,
    description: str = "t",
    max_bytes: int = 3 * 1024 * 1024,
    dry_run: bool = False,
) -> int:
    """A job checked and stored as the service stores one, but not sent to any worker."""
    checked = check_file(text.encode(), None, max_bytes)
    return store.create_job(conn, checked, description, "admin", "web-test", dry_run=dry_run)

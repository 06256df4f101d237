"""Small factories for test data, written straight to the database."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select

from app.accounts import users
from app.db.models import Agent, AgentTeam, Peripheral, table
from app.db.sql import ids_after_explicit
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
    """An agent; returns its id (the number in its refURL), the database's unless ``id=``."""
    peripheral(conn, peripheral_id)
    n = next(_ids)
    new_id = int(
        conn.execute(
            insert(table(Agent))
            .values(
                agent_id=str(10000 + n),
                peripheral_id=peripheral_id,
                agent_team_id=team_id,
                first_name=first_name,
                last_name=last_name,
                user_name=user_name,
                user_name_key=user_name.lower(),
                login_enabled=True,
                sso_enabled=sso,
                supervisor=supervisor,
                description="",
                change_stamp=0,
                **extra,
            )
            .returning(table(Agent).c.id)
        ).scalar_one()
    )
    if "id" in extra:
        ids_after_explicit(conn, table(Agent))
    return new_id


def agents(conn: Connection, names: Iterable[str], **kwargs: Any) -> list[int]:
    return [agent(conn, name, **kwargs) for name in names]


def user(conn: Connection, name: str, role: str, password: str = "secret-pw-1") -> str:
    users.create_user(conn, name, role, password)
    return password


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
    conn: Connection, text: str, description: str = "t", max_bytes: int = 3 * 1024 * 1024
) -> int:
    """A job checked and stored as the service stores one, but not sent to any worker."""
    checked = check_file(text.encode(), None, max_bytes)
    return store.create_job(conn, checked, description, "admin", "web-test")

"""Job type 102: the revert of an agent job (docs/job-types/agent.md, "Revert"). Not made by
upload: its file lists the original's lines that changed something, last first, and each line's
record (``job_lines.detail``, app/directory/agent_write.py) says what to put back.

Each line is applied in a savepoint of its own, and only to an agent still as the original line
left it (its change stamp): a created agent is deleted, an updated one gets back every value and
membership it had, a deleted one comes back with its old id. Teams, skill groups and attributes
the line created are removed when nothing uses them any more. A line whose agent changed since
fails, saying what changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from app.db.sql import execute_many, now_ms, sql
from app.directory import objects
from app.directory.agent_job import JOB_TYPE as AGENT_JOB
from app.directory.agent_state import AgentState
from app.directory.reverts import Changed, RecordedRevert
from app.jobs.types.base import Run

COLUMNS = ("lineNumber", "operation", "agent")
_KINDS = {kind.segment: kind for kind in (objects.TEAM, objects.SKILL_GROUP, objects.ATTRIBUTE)}
# What uses an object of each kind (it is removed only when none of these does).
_USES = {
    "agentteam": (
        "SELECT 1 FROM agents WHERE agent_team_id = ? "
        "UNION ALL SELECT 1 FROM team_supervisors WHERE team_id = ?"
    ),
    "skillgroup": "SELECT 1 FROM agent_skill_groups WHERE skill_group_id = ? AND 1 = ?",
    "attribute": "SELECT 1 FROM agent_attributes WHERE attribute_id = ? AND 1 = ?",
}
_TABLES = {"agentteam": "agent_teams", "skillgroup": "skill_groups", "attribute": "attributes"}


class AgentRevert(RecordedRevert):
    code = 102
    name = "Agent revert"
    columns = COLUMNS
    logged_columns = COLUMNS
    reverts = AGENT_JOB.code
    field = "agent"

    def put_back(self, conn: Connection, done: dict[str, Any], run: Run) -> list[str]:
        return _put_back(conn, done) + _remove_created(conn, done.get("created", {}))

    def taken(self, done: dict[str, Any], original: int) -> str:
        user_name = (done.get("before") or {}).get("user_name", "")
        return (
            f"userName: changed since job {original}: another agent holds {user_name} now, "
            "or something the agent was in is gone"
        )


def _stamp(conn: Connection, agent_id: int) -> int | None:
    row = conn.exec_driver_sql(
        sql(conn, "SELECT change_stamp FROM agents WHERE id = ?"), (agent_id,)
    ).first()
    return None if row is None else int(row[0])


def _put_back(conn: Connection, done: dict[str, Any]) -> list[str]:
    agent_id = int(done["agent"])
    operation = done["operation"]
    path = objects.AGENT.path(agent_id)
    stamp = _stamp(conn, agent_id)
    if operation == "delete":
        if stamp is not None:
            raise Changed(f"an agent with id {agent_id} exists")
        before = AgentState(**done["before"])
        _insert(conn, before)
        return [f"Reverted {path} (created again)"]
    if stamp is None:
        raise Changed(f"the agent was deleted: {path}")
    if stamp != done["stamp"]:
        raise Changed(f"its change stamp is {stamp}, job left {done['stamp']}: {path}")
    if operation == "create":
        conn.exec_driver_sql(sql(conn, "DELETE FROM agents WHERE id = ?"), (agent_id,))
        return [f"Reverted {path} (deleted)"]
    before = AgentState(**done["before"])
    _restore(conn, before, stamp)
    return [f"Reverted {path} (its previous values)"]


_COLUMNS = (
    "agent_id, peripheral_id, agent_team_id, first_name, last_name, user_name, user_name_key, "
    "login_enabled, sso_enabled, supervisor, description, agent_desk_settings_id, "
    "default_skill_group_id, department_id, agent_state_trace, password_hash"
)


def _values(a: AgentState) -> tuple[Any, ...]:
    return (
        a.agent_id,
        a.peripheral_id,
        a.agent_team_id,
        a.first_name,
        a.last_name,
        a.user_name,
        a.user_name.lower(),
        a.login_enabled,
        a.sso_enabled,
        a.supervisor,
        a.description,
        a.agent_desk_settings_id,
        a.default_skill_group_id,
        a.department_id,
        a.agent_state_trace,
        a.password_hash,
    )


def _insert(conn: Connection, a: AgentState) -> None:
    """The deleted agent again, with its old id (ids are never given to another agent, so it
    is free), its change stamp moved on."""
    now = now_ms()
    marks = ", ".join("?" * 20)
    conn.exec_driver_sql(
        sql(
            conn,
            f"INSERT INTO agents (id, {_COLUMNS}, change_stamp, created_ms, modified_ms) "
            f"VALUES ({marks})",
        ),
        (a.id, *_values(a), a.change_stamp + 1, now, now),
    )
    _memberships(conn, a)


def _restore(conn: Connection, a: AgentState, stamp: int) -> None:
    assignments = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
    conn.exec_driver_sql(
        sql(
            conn,
            f"UPDATE agents SET {assignments}, change_stamp = ?, modified_ms = ? "
            "WHERE id = ? AND change_stamp = ?",
        ),
        (*_values(a), stamp + 1, now_ms(), a.id, stamp),
    )
    for name in ("agent_skill_groups", "agent_attributes", "team_supervisors"):
        conn.exec_driver_sql(sql(conn, f"DELETE FROM {name} WHERE agent_id = ?"), (a.id,))
    _memberships(conn, a)


def _memberships(conn: Connection, a: AgentState) -> None:
    execute_many(
        conn,
        "INSERT INTO agent_skill_groups (agent_id, skill_group_id) VALUES (?, ?)",
        [(a.id, g) for g in a.skill_groups],
    )
    execute_many(
        conn,
        "INSERT INTO agent_attributes (agent_id, attribute_id, value) VALUES (?, ?, ?)",
        [(a.id, int(k), v) for k, v in a.attributes.items()],
    )
    execute_many(
        conn,
        "INSERT INTO team_supervisors (team_id, agent_id) VALUES (?, ?)",
        [(t, a.id) for t in a.supervised],
    )


def _remove_created(conn: Connection, created: dict[str, list[int]]) -> list[str]:
    """The objects the line created that nothing uses any more: removed."""
    said = []
    for segment, ids in created.items():
        for object_id in ids:
            used = conn.exec_driver_sql(sql(conn, _USES[segment]), (object_id, object_id))
            if used.first() is not None:
                continue
            conn.exec_driver_sql(
                sql(conn, f"DELETE FROM {_TABLES[segment]} WHERE id = ?"), (object_id,)
            )
            said.append(f"Removed {_KINDS[segment].path(object_id)}")
    return said


JOB_TYPE = AgentRevert()

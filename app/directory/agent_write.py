"""Writing one row's plan: the objects it creates, the agent, its memberships; the log lines
it gives and what a revert needs (docs/job-types/agent.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection

from app.db.sql import execute_many, now_ms, sql
from app.directory import cells, objects
from app.directory.agent_state import (
    BOOLEAN,
    CISCO_VOICE,
    COMPARED,
    MAX_AGENT_ID,
    AgentState,
    Chunk,
    Named,
    Plan,
)
from app.directory.cells import RowError
from app.directory.names import name_key
from app.exceptions import InvalidInput

# Writing a row ---------------------------------------------------------------------------


def write(chunk: Chunk, plan: Plan, dry_run: bool) -> tuple[list[str], str | None]:
    """Write the plan; the log lines it gives and the line's record for a revert."""
    conn = chunk.conn
    now = now_ms()
    messages: list[str] = []
    created: dict[str, list[int]] = {}

    def made(kind: objects.Kind, object_id: int) -> None:
        created.setdefault(kind.segment, []).append(object_id)
        messages.append(objects.said(objects.CREATED, kind, object_id, dry_run))

    if plan.new_groups or plan.new_teams:
        chunk.lock()  # skill groups' peripheral numbers are handed out under the same lock
    for name, peripheral in plan.new_teams:
        team_id = _create_team(chunk, name, peripheral, now)
        if team_id is not None:
            made(objects.TEAM, team_id)
    for name, peripheral in plan.new_groups:
        group_id = _create_group(chunk, name, peripheral, now)
        if group_id is not None:
            made(objects.SKILL_GROUP, group_id)
    for name, data_type in plan.new_attributes:
        attribute_id = _create_attribute(chunk, name, data_type, now)
        if attribute_id is not None:
            made(objects.ATTRIBUTE, attribute_id)

    before = plan.before
    if plan.operation == cells.DELETE:
        assert before is not None
        conn.exec_driver_sql(
            sql(conn, "DELETE FROM agents WHERE id = ? AND change_stamp = ?"),
            (before.id, before.change_stamp),
        )
        _touch_teams(conn, {before.agent_team_id, *before.supervised}, now)
        chunk.forget(before)
        messages.append(objects.said(objects.DELETED, objects.AGENT, before.id, dry_run))
        return messages, _detail("delete", before, None, created)

    after = plan.after
    assert after is not None
    after.agent_team_id = None if plan.team is None else chunk.teams[name_key(plan.team)].id
    after.skill_groups = sorted(chunk.groups[name_key(n)].id for n in plan.groups)
    after.default_skill_group_id = (
        None if plan.default_group is None else chunk.groups[name_key(plan.default_group)].id
    )
    after.attributes = {chunk.attributes[name_key(n)].id: v for n, v in plan.attributes}
    after.supervised = sorted(chunk.teams[name_key(n)].id for n in plan.supervised)
    if plan.password_hash is not None:
        after.password_hash = plan.password_hash

    if plan.operation == cells.CREATE:
        if not after.agent_id:
            try:
                after.agent_id = chunk.new_agents.agent_id(conn, MAX_AGENT_ID)
            except InvalidInput as exc:
                raise RowError("agentId", exc.message) from None
        else:
            chunk.new_agents.saw(after.agent_id)
        after.id = _insert_agent(conn, after, now)
        _write_memberships(conn, after, None)
        _touch_teams(conn, {after.agent_team_id, *after.supervised}, now)
        chunk.remember(after)
        messages.append(objects.said(objects.CREATED, objects.AGENT, after.id, dry_run))
        return messages, _detail("create", None, after, created)

    assert before is not None
    changed = plan.password_hash is not None or any(
        getattr(before, name) != getattr(after, name) for name in COMPARED
    )
    changed = changed or (
        before.skill_groups != after.skill_groups
        or before.attributes != after.attributes
        or before.supervised != after.supervised
    )
    if not changed:
        messages.append(objects.said(objects.UNCHANGED, objects.AGENT, before.id))
        return messages, _detail("unchanged", before, before, created)
    after.change_stamp = before.change_stamp + 1
    _update_agent(conn, before, after, now)
    _write_memberships(conn, after, before)
    teams = {before.agent_team_id, after.agent_team_id, *before.supervised, *after.supervised}
    if before.agent_team_id == after.agent_team_id and before.supervised == after.supervised:
        teams = set()
    _touch_teams(conn, teams, now)
    chunk.forget(before)
    chunk.remember(after)
    messages.append(objects.said(objects.UPDATED, objects.AGENT, after.id, dry_run))
    return messages, _detail("update", before, after, created)


def _detail(
    operation: str,
    before: AgentState | None,
    after: AgentState | None,
    created: dict[str, list[int]],
) -> str:
    """What the line did, for a revert: the agent before and after, the objects it made."""
    record = {
        "operation": operation,
        "before": None if before is None else before.snapshot(),
        "after": None if after is None else after.snapshot(),
        "created": created,
    }
    return json.dumps(record, separators=(",", ":"))


def _create_team(chunk: Chunk, name: str, peripheral: int, now: int) -> int | None:
    values = {
        "name": name,
        "name_key": name_key(name),
        "peripheral_id": peripheral,
        "description": "",
        "change_stamp": 0,
        "created_ms": now,
        "modified_ms": now,
    }
    new_id = objects.create(chunk.conn, objects.TEAM, values)
    found = new_id or _existing(chunk, objects.TEAM, name)
    chunk.teams[name_key(name)] = Named(found, name, peripheral_id=peripheral)
    return new_id


def _create_group(chunk: Chunk, name: str, peripheral: int, now: int) -> int | None:
    conn = chunk.conn
    number = conn.exec_driver_sql(
        sql(
            conn,
            "SELECT coalesce(max(peripheral_number), 0) + 1 FROM skill_groups "
            "WHERE peripheral_id = ?",
        ),
        (peripheral,),
    ).scalar_one()
    voice = conn.exec_driver_sql(
        sql(conn, "SELECT id FROM media_routing_domains WHERE name_key = ?"),
        (name_key(CISCO_VOICE),),
    ).scalar_one()
    values = {
        "name": name,
        "name_key": name_key(name),
        "description": "",
        "change_stamp": 0,
        "peripheral_id": peripheral,
        "peripheral_number": number,
        "media_routing_domain_id": voice,
        "created_ms": now,
        "modified_ms": now,
    }
    new_id = objects.create(conn, objects.SKILL_GROUP, values)
    found = new_id or _existing(chunk, objects.SKILL_GROUP, name)
    chunk.groups[name_key(name)] = Named(found, name, peripheral_id=peripheral)
    return new_id


def _create_attribute(chunk: Chunk, name: str, data_type: int, now: int) -> int | None:
    values = {
        "name": name,
        "name_key": name_key(name),
        "description": "",
        "change_stamp": 0,
        "data_type": data_type,
        "default_value": "false" if data_type == BOOLEAN else "1",
        "created_ms": now,
        "modified_ms": now,
    }
    new_id = objects.create(chunk.conn, objects.ATTRIBUTE, values)
    found = new_id or _existing(chunk, objects.ATTRIBUTE, name)
    chunk.attributes[name_key(name)] = Named(found, name, data_type=data_type)
    return new_id


def _existing(chunk: Chunk, kind: objects.Kind, name: str) -> int:
    """An object another job created after this chunk read (its unique key refused ours)."""
    row = objects.find(chunk.conn, kind, [name_key(name)])[name_key(name)]
    return int(row.id)


_INSERT_AGENT = (
    "INSERT INTO agents (agent_id, peripheral_id, agent_team_id, first_name, last_name, "
    "user_name, user_name_key, login_enabled, sso_enabled, supervisor, description, "
    "change_stamp, created_ms, modified_ms, agent_desk_settings_id, default_skill_group_id, "
    "department_id, agent_state_trace, password_hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_UPDATE_AGENT = (
    "UPDATE agents SET agent_team_id = ?, first_name = ?, last_name = ?, user_name = ?, "
    "user_name_key = ?, login_enabled = ?, sso_enabled = ?, supervisor = ?, description = ?, "
    "change_stamp = ?, modified_ms = ?, agent_desk_settings_id = ?, default_skill_group_id = ?, "
    "department_id = ?, agent_state_trace = ?, password_hash = ? "
    "WHERE id = ? AND change_stamp = ?"
)


def _insert_agent(conn: Connection, a: AgentState, now: int) -> int:
    row = conn.exec_driver_sql(
        sql(conn, _INSERT_AGENT),
        (
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
            0,
            now,
            now,
            a.agent_desk_settings_id,
            a.default_skill_group_id,
            a.department_id,
            a.agent_state_trace,
            a.password_hash,
        ),
    ).one()
    return int(row[0])


def _update_agent(conn: Connection, before: AgentState, a: AgentState, now: int) -> None:
    changed = execute_many(
        conn,
        _UPDATE_AGENT,
        [
            (
                a.agent_team_id,
                a.first_name,
                a.last_name,
                a.user_name,
                a.user_name.lower(),
                a.login_enabled,
                a.sso_enabled,
                a.supervisor,
                a.description,
                a.change_stamp,
                now,
                a.agent_desk_settings_id,
                a.default_skill_group_id,
                a.department_id,
                a.agent_state_trace,
                a.password_hash,
                a.id,
                before.change_stamp,
            )
        ],
    )
    if changed != 1:
        raise RowError(
            "agentId", f"The agent was changed by another job at the same time: {a.user_name}"
        )


def _write_memberships(conn: Connection, after: AgentState, before: AgentState | None) -> None:
    """The agent's skill groups, attribute values and supervised teams, as ``after`` has them."""
    old_groups = set(before.skill_groups) if before else set()
    old_teams = set(before.supervised) if before else set()
    old_values = before.attributes if before else {}
    _set_rows(
        conn,
        "agent_skill_groups",
        ("agent_id", "skill_group_id"),
        [(after.id, g) for g in sorted(old_groups - set(after.skill_groups))],
        [(after.id, g) for g in after.skill_groups if g not in old_groups],
    )
    _set_rows(
        conn,
        "team_supervisors",
        ("agent_id", "team_id"),
        [(after.id, t) for t in sorted(old_teams - set(after.supervised))],
        [(after.id, t) for t in after.supervised if t not in old_teams],
    )
    stale = [a for a, v in old_values.items() if after.attributes.get(a) != v]
    if stale:
        execute_many(
            conn,
            "DELETE FROM agent_attributes WHERE agent_id = ? AND attribute_id = ?",
            [(after.id, a) for a in stale],
        )
    fresh = [(after.id, a, v) for a, v in after.attributes.items() if old_values.get(a) != v]
    execute_many(
        conn, "INSERT INTO agent_attributes (agent_id, attribute_id, value) VALUES (?, ?, ?)", fresh
    )


def _set_rows(
    conn: Connection,
    name: str,
    columns: tuple[str, str],
    removed: list[tuple[int, int]],
    added: list[tuple[int, int]],
) -> None:
    first, second = columns
    execute_many(conn, f"DELETE FROM {name} WHERE {first} = ? AND {second} = ?", removed)
    execute_many(conn, f"INSERT INTO {name} ({first}, {second}) VALUES (?, ?)", added)


def _touch_teams(conn: Connection, team_ids: Iterable[int | None], now: int) -> None:
    """Teams whose members changed: their SCIM Group's version and lastModified move on."""
    ids = sorted(t for t in set(team_ids) if t is not None)
    execute_many(
        conn, "UPDATE agent_teams SET modified_ms = ? WHERE id = ?", [(now, t) for t in ids]
    )

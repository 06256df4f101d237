"""Writing the rows' plans (docs/job-types/agent.md): first each row is *settled* in memory, in
file order (the objects it creates get provisional ids, its agent its new state, and the
chunk's view changes as if it were written, for the rows after it); then the settled rows are
*flushed* together: the new objects one by one, the agents' updates, deletes and inserts each as
one executemany, their memberships likewise. A flush that finds an agent changed by another
transaction meanwhile raises :class:`Conflict` (the caller redoes the rows one at a time).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from app.db.sql import execute_many, now_ms, sql
from app.directory import cells, near, objects
from app.directory.agent_state import (
    BOOLEAN,
    CISCO_VOICE,
    COMPARED,
    MAX_AGENT_ID,
    AgentState,
    Chunk,
    Named,
    NewObject,
    Plan,
)
from app.directory.cells import RowError
from app.directory.names import name_key
from app.exceptions import InvalidInput


class Conflict(Exception):
    """An agent a flush meant to change was changed by another transaction meanwhile."""


@dataclass
class Settled:
    """A row settled in memory: what it does and the objects it creates (provisional ids)."""

    plan: Plan
    word: str  # objects.CREATED, UPDATED, DELETED or UNCHANGED
    new_objects: list[tuple[objects.Kind, int, str]] = field(default_factory=list)
    # A new object's name -> the existing names a small edit away (app/directory/near.py).
    close: dict[str, list[str]] = field(default_factory=dict)


def settle(chunk: Chunk, plan: Plan) -> Settled:
    """The row's effects in memory; the chunk's view as the next row must see it."""
    before, after = plan.before, plan.after
    if plan.operation == cells.DELETE:
        assert before is not None
        chunk.forget(before)
        chunk.settled(before)
        return Settled(plan, objects.DELETED)
    assert after is not None
    if plan.operation == cells.CREATE and not chunk.dry_run:  # a dry run gives out no agentId
        if not after.agent_id:
            try:
                after.agent_id = chunk.new_agents.agent_id(chunk.conn, MAX_AGENT_ID)
            except InvalidInput as exc:
                raise RowError("agentId", exc.message) from None
        else:
            chunk.new_agents.saw(after.agent_id)
    settled = Settled(plan, objects.CREATED)
    for name, peripheral in plan.new_teams:
        _provide(chunk, settled, objects.TEAM, chunk.teams, name, peripheral_id=peripheral)
    for name, peripheral in plan.new_groups:
        _provide(chunk, settled, objects.SKILL_GROUP, chunk.groups, name, peripheral_id=peripheral)
    for name, data_type in plan.new_attributes:
        _provide(chunk, settled, objects.ATTRIBUTE, chunk.attributes, name, data_type=data_type)
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
        after.id = chunk.provisional_id()
        chunk.remember(after)
        return settled
    assert before is not None
    if not _changed(plan, before, after):
        settled.word = objects.UNCHANGED
        return settled
    after.change_stamp = before.change_stamp + 1
    chunk.forget(before)
    chunk.remember(after)
    chunk.settled(before)
    settled.word = objects.UPDATED
    return settled


def _changed(plan: Plan, before: AgentState, after: AgentState) -> bool:
    return (
        plan.password_hash is not None
        or any(getattr(before, name) != getattr(after, name) for name in COMPARED)
        or before.skill_groups != after.skill_groups
        or before.attributes != after.attributes
        or before.supervised != after.supervised
    )


def _provide(
    chunk: Chunk,
    settled: Settled,
    kind: objects.Kind,
    known: dict[str, Named],
    name: str,
    **columns: Any,
) -> None:
    """A new object the row names, unless an earlier row of the chunk provided it already."""
    if name_key(name) in known:
        return
    provisional = chunk.provisional_id()
    names = near.existing(chunk.conn, chunk.run.memo, kind)
    close = near.near(name, names)
    if close:
        settled.close[name] = close
    near.made(chunk.run.memo, kind, name)
    known[name_key(name)] = Named(provisional, name, **columns)
    chunk.pending[provisional] = NewObject(kind, {"name": name, **columns})
    settled.new_objects.append((kind, provisional, name))


# One encoder for every row (json.dumps with options would build one per call).
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def flush(chunk: Chunk, rows: Sequence[Settled]) -> list[tuple[str, str | None]]:
    """Write the settled rows; each one's log lines (joined) and its record for a revert."""
    conn = chunk.conn
    now = now_ms()
    made = _create_objects(chunk, now)
    changes = [r for r in rows if r.word in (objects.UPDATED, objects.DELETED, objects.CREATED)]
    for settled in changes:
        for state in (settled.plan.before, settled.plan.after):
            if state is not None:
                _patch(state, chunk.renumbered)
    updates = [r.plan for r in changes if r.word == objects.UPDATED]
    deletes = [r.plan for r in changes if r.word == objects.DELETED]
    creates = [r.plan for r in changes if r.word == objects.CREATED]
    _update_agents(conn, updates, now)
    _delete_agents(conn, deletes)
    _insert_agents(conn, creates, now)
    _write_memberships(conn, [(p.after, p.before) for p in updates + creates if p.after])
    touched: set[int | None] = set()
    for plan in updates + creates + deletes:
        before, after = plan.before, plan.after
        old = (None, []) if before is None else (before.agent_team_id, before.supervised)
        new = (None, []) if after is None else (after.agent_team_id, after.supervised)
        if old != new:
            touched.update((old[0], new[0], *old[1], *new[1]))
    ids = sorted(t for t in touched if t is not None)
    execute_many(
        conn, "UPDATE agent_teams SET modified_ms = ? WHERE id = ?", [(now, t) for t in ids]
    )
    return [_said(settled, made) for settled in rows]


def would(settled: Settled) -> str:
    """A dry run's log lines for a settled row (nothing is written: what does not exist yet
    is named by its name, not an id)."""
    messages = []
    for kind, _provisional, name in settled.new_objects:
        messages.append(objects.said_named(objects.CREATED, kind, name))
        if name in settled.close:
            messages.append(near.warning(name, settled.close[name]))
    plan = settled.plan
    agent = plan.after if plan.after is not None else plan.before
    assert agent is not None
    if agent.id < 0:
        messages.append(objects.said_named(settled.word, objects.AGENT, agent.user_name))
    else:
        messages.append(objects.said(settled.word, objects.AGENT, agent.id, dry_run=True))
    return "\n".join(messages)


_OPERATIONS = {
    objects.CREATED: "create",
    objects.UPDATED: "update",
    objects.DELETED: "delete",
    objects.UNCHANGED: "unchanged",
}


def _said(settled: Settled, made: dict[int, int]) -> tuple[str, str | None]:
    messages: list[str] = []
    created: dict[str, list[int]] = {}
    for kind, provisional, name in settled.new_objects:
        object_id = made.get(provisional)
        if object_id is not None:  # else another transaction made it first
            created.setdefault(kind.segment, []).append(object_id)
            messages.append(objects.said(objects.CREATED, kind, object_id))
            if name in settled.close:
                messages.append(near.warning(name, settled.close[name]))
    plan = settled.plan
    agent = plan.after if plan.after is not None else plan.before
    assert agent is not None
    messages.append(objects.said(settled.word, objects.AGENT, agent.id))
    # What a revert needs: the agent as it was (an update's, a delete's), the change stamp the
    # row left (it gives back only an agent still as the row left it), what the row created.
    record: dict[str, Any] = {"operation": _OPERATIONS[settled.word], "agent": agent.id}
    if settled.word == objects.UNCHANGED:
        return "\n".join(messages), None
    if plan.before is not None:
        record["before"] = plan.before.snapshot()
    if plan.after is not None:
        record["stamp"] = plan.after.change_stamp
    if created:
        record["created"] = created
    return "\n".join(messages), _ENCODE(record)


# The new objects -------------------------------------------------------------------------


def _create_objects(chunk: Chunk, now: int) -> dict[int, int]:
    """Insert the pending objects; provisional id -> id of those this made (one another
    transaction made first is not: its id replaces the provisional one all the same)."""
    made: dict[int, int] = {}
    if not chunk.pending:
        return made
    chunk.lock()  # skill groups' peripheral numbers are handed out under the same lock
    voice: int | None = None
    for provisional, new in chunk.pending.items():
        values = {
            **new.values,
            "name_key": name_key(new.values["name"]),
            "description": "",
            "change_stamp": 0,
            "created_ms": now,
            "modified_ms": now,
        }
        if new.kind is objects.SKILL_GROUP:
            voice = voice or _cisco_voice(chunk.conn)
            values["peripheral_number"] = _next_number(chunk.conn, values["peripheral_id"])
            values["media_routing_domain_id"] = voice
        elif new.kind is objects.ATTRIBUTE:
            values["default_value"] = "false" if values["data_type"] == BOOLEAN else "1"
        new_id = objects.create(chunk.conn, new.kind, values)
        if new_id is not None:
            made[provisional] = new_id
        final = new_id or _existing(chunk.conn, new.kind, values["name_key"])
        _known(chunk, new.kind)[values["name_key"]].id = final
        chunk.renumbered[provisional] = final
    chunk.pending.clear()
    return made


def _known(chunk: Chunk, kind: objects.Kind) -> dict[str, Named]:
    if kind is objects.TEAM:
        return chunk.teams
    return chunk.groups if kind is objects.SKILL_GROUP else chunk.attributes


def _cisco_voice(conn: Connection) -> int:
    return int(
        conn.exec_driver_sql(
            sql(conn, "SELECT id FROM media_routing_domains WHERE name_key = ?"),
            (name_key(CISCO_VOICE),),
        ).scalar_one()
    )


def _next_number(conn: Connection, peripheral: int) -> int:
    return int(
        conn.exec_driver_sql(
            sql(
                conn,
                "SELECT coalesce(max(peripheral_number), 0) + 1 FROM skill_groups "
                "WHERE peripheral_id = ?",
            ),
            (peripheral,),
        ).scalar_one()
    )


def _existing(conn: Connection, kind: objects.Kind, key: str) -> int:
    """An object another job created after this chunk read (its unique key refused ours)."""
    return int(objects.find(conn, kind, [key])[key].id)


def _patch(state: AgentState, final: dict[int, int]) -> None:
    """Provisional object ids in an agent's state replaced by the real ones."""
    if not final:
        return
    state.agent_team_id = _final(state.agent_team_id, final)
    state.default_skill_group_id = _final(state.default_skill_group_id, final)
    state.skill_groups = sorted(final.get(g, g) for g in state.skill_groups)
    state.supervised = sorted(final.get(t, t) for t in state.supervised)
    state.attributes = {final.get(a, a): v for a, v in state.attributes.items()}


def _final(object_id: int | None, final: dict[int, int]) -> int | None:
    return None if object_id is None else final.get(object_id, object_id)


# The agents ------------------------------------------------------------------------------

_AGENT_VALUES = (
    "agent_team_id, first_name, last_name, user_name, user_name_key, login_enabled, "
    "sso_enabled, supervisor, description, change_stamp, modified_ms, agent_desk_settings_id, "
    "default_skill_group_id, department_id, agent_state_trace, password_hash"
)
_INSERT_AGENT = (
    f"INSERT INTO agents (agent_id, peripheral_id, created_ms, {_AGENT_VALUES}) "
    f"VALUES ({', '.join('?' * 19)})"
)
_UPDATE_AGENT = (
    "UPDATE agents SET "
    + ", ".join(f"{column.strip()} = ?" for column in _AGENT_VALUES.split(","))
    + " WHERE id = ? AND change_stamp = ?"
)


def _values(a: AgentState, now: int) -> tuple[Any, ...]:
    return (
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
    )


def _update_agents(conn: Connection, plans: list[Plan], now: int) -> None:
    rows = []
    for plan in plans:
        assert plan.before is not None and plan.after is not None
        if plan.before.id < 0:
            raise Conflict  # an agent this chunk creates: the rows go one at a time
        rows.append((*_values(plan.after, now), plan.after.id, plan.before.change_stamp))
    if execute_many(conn, _UPDATE_AGENT, rows) != len(rows):
        raise Conflict


def _delete_agents(conn: Connection, plans: list[Plan]) -> None:
    rows = []
    for plan in plans:
        assert plan.before is not None
        if plan.before.id < 0:
            raise Conflict
        rows.append((plan.before.id, plan.before.change_stamp))
    if execute_many(conn, "DELETE FROM agents WHERE id = ? AND change_stamp = ?", rows) != len(
        rows
    ):
        raise Conflict


def _insert_agents(conn: Connection, plans: list[Plan], now: int) -> None:
    """Insert the new agents in one executemany, then read their ids by user name."""
    if not plans:
        return
    rows = []
    for plan in plans:
        a = plan.after
        assert a is not None
        rows.append((a.agent_id, a.peripheral_id, now, *_values(a, now)))
    execute_many(conn, _INSERT_AGENT, rows)
    by_key = {p.after.user_name.lower(): p.after for p in plans if p.after is not None}
    keys = sorted(by_key)
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        marks = ", ".join("?" * len(batch))
        for agent_id, key in conn.exec_driver_sql(
            sql(conn, f"SELECT id, user_name_key FROM agents WHERE user_name_key IN ({marks})"),
            tuple(batch),
        ):
            by_key[key].id = agent_id


def _write_memberships(
    conn: Connection, agents: Iterable[tuple[AgentState | None, AgentState | None]]
) -> None:
    """Each agent's skill groups, attribute values and supervised teams, as its new state has
    them (the difference from its old state, if any)."""
    groups: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
    teams: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
    stale: list[tuple[int, int]] = []
    fresh: list[tuple[int, int, str]] = []
    for after, before in agents:
        assert after is not None
        agent = after.id
        old_groups = set(before.skill_groups) if before else set()
        old_teams = set(before.supervised) if before else set()
        old_values = before.attributes if before else {}
        groups[0].extend((agent, g) for g in sorted(old_groups - set(after.skill_groups)))
        groups[1].extend((agent, g) for g in after.skill_groups if g not in old_groups)
        teams[0].extend((agent, t) for t in sorted(old_teams - set(after.supervised)))
        teams[1].extend((agent, t) for t in after.supervised if t not in old_teams)
        stale.extend((agent, a) for a, v in old_values.items() if after.attributes.get(a) != v)
        fresh.extend((agent, a, v) for a, v in after.attributes.items() if old_values.get(a) != v)
    _set_rows(conn, "agent_skill_groups", ("agent_id", "skill_group_id"), *groups)
    _set_rows(conn, "team_supervisors", ("agent_id", "team_id"), *teams)
    execute_many(
        conn, "DELETE FROM agent_attributes WHERE agent_id = ? AND attribute_id = ?", stale
    )
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

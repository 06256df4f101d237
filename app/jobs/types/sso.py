"""Job type 5: SSO migration. Renames agents to their SSO user names and enables SSO.

A chunk is decided in memory against one read of the agents it names, then written with one
executemany of conditional updates. If another job changed one of those agents in the meantime
(the conditional update misses, or the unique user-name index refuses), the chunk is redone
record by record under row locks, so the database, not timing, decides every record.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from app.db.sql import execute_many, is_postgres, now_ms, sql
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import CsvJobType
from app.jobs.types.sso_changes import Overlay, change_detail
from app.urls import agent_path

MAX_USER_NAME = 255

_UPDATE = (
    "UPDATE agents SET user_name = ?, user_name_key = ?, sso_enabled = TRUE, "
    "change_stamp = change_stamp + 1, modified_ms = ? "
    "WHERE id = ? AND sso_enabled = FALSE AND change_stamp = ?"
)
# The same conditional update for a whole chunk in one statement (PostgreSQL). Its unique index
# is checked row by row, so a chunk where one row takes a name another frees may be refused in
# one statement though fine in file order: that refusal sends the chunk to the careful path.
# The ids come twice: as ``a.id = ANY(...)`` they let the planner fetch the chunk's agents by
# index (it cannot see into unnest, and otherwise scans the whole table for every chunk).
# Arrays go in binary (%b): psycopg quotes each element of a text array in Python.
_UPDATE_SET = (
    "UPDATE agents AS a SET user_name = v.user_name, user_name_key = v.user_name_key, "
    "sso_enabled = TRUE, change_stamp = a.change_stamp + 1, modified_ms = v.modified_ms "
    "FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::int[], %b::int[]) "
    "AS v(user_name, user_name_key, modified_ms, id, change_stamp) "
    "WHERE a.id = ANY(%b::int[]) "
    "AND a.id = v.id AND a.sso_enabled = FALSE AND a.change_stamp = v.change_stamp"
)


@dataclass(slots=True)
class AgentState:
    """What a chunk reads of an agent it names, and changes as it decides (also the revert's)."""

    id: int
    user_name: str
    key: str
    sso: bool
    change_stamp: int


def user_name_key(name: str) -> str:
    """The case-insensitive form of a user name, as the unique index holds it (``str.lower``)."""
    return name.lower()


def valid_new_user_name(name: str) -> bool:
    """At most 255 printable ASCII characters, no spaces (str methods: this runs per row)."""
    return len(name) <= MAX_USER_NAME and name.isascii() and name.isprintable() and " " not in name


class _Conflict(Exception):
    """The chunk's read is out of date: another transaction changed an agent it names."""


class SsoMigration(CsvJobType):
    code = 5
    name = "SSO migration"
    columns = ("userName", "firstName", "lastName", "newUserName")
    logged_columns = ("userName", "newUserName")
    dry_runs = True

    def plan_changes(self, detail: str | None) -> list[tuple[str, str, str]]:
        """A line's record (its agent, user name before and after): what the plan shows."""
        if not detail:
            return []
        _agent, old, new, _stamp = json.loads(detail)
        changed = [("userName", str(old), str(new))] if old != new else []
        return [*changed, ("ssoEnabled", "false", "true")]

    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        return _suggested(conn, self._apply(conn, records, run))

    def _apply(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        if run.dry_run:
            return dry_run_chunk(conn, records, run)
        savepoint = conn.begin_nested()
        try:
            outcomes = self._apply_set_based(conn, records)
        except (_Conflict, IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and not _lost_a_race(exc):
                raise  # e.g. the connection dropped: the engine retries the whole chunk
            savepoint.rollback()
            return [self._apply_one(conn, record) for record in records]
        savepoint.commit()
        return outcomes

    # The fast path --------------------------------------------------------------------------

    def _apply_set_based(self, conn: Connection, records: Sequence[Record]) -> list[Outcome]:
        keys = {r.values[0].lower() for r in records if r.values[0]}
        keys.update(r.values[3].lower() for r in records if r.values[3])
        agents = _read_agents(conn, keys)
        outcomes: list[Outcome] = []
        updates: list[tuple[str, str, int, int, int]] = []
        now = now_ms()
        for record in records:
            outcome, agent, new_name = _decide(record, agents)
            outcomes.append(outcome)
            if agent is None:
                continue
            new_key = new_name.lower()
            updates.append((new_name, new_key, now, agent.id, agent.change_stamp))
            if agent.key != new_key:
                del agents[agent.key]
                agent.key = new_key
                agents[new_key] = agent
            agent.user_name = new_name
            agent.sso = True
        if _update(conn, updates) != len(updates):
            raise _Conflict
        return outcomes

    # The careful path -----------------------------------------------------------------------

    def _apply_one(self, conn: Connection, record: Record) -> Outcome:
        user_name, _first, _last, new_user_name = record.values
        keys = {user_name_key(user_name)} if user_name else set()
        if new_user_name:
            keys.add(user_name_key(new_user_name))
        savepoint = conn.begin_nested()
        try:
            outcome, agent, new_name = _decide(record, _read_agents(conn, keys))
            if agent is not None:
                key = user_name_key(new_name)
                row = (new_name, key, now_ms(), agent.id, agent.change_stamp)
                if execute_many(conn, _UPDATE, [row]) != 1:
                    raise _Conflict
        except IntegrityError:
            savepoint.rollback()
            message = f"newUserName: The specified newUserName is already in use: {new_user_name}"
            return Outcome(record.line_number, False, message)
        except _Conflict:
            # Cannot happen while the agent's row is locked; said plainly if it ever does.
            savepoint.rollback()
            message = (
                f"userName: The agent was changed by another job at the same time: {user_name}"
            )
            return Outcome(record.line_number, False, message)
        savepoint.commit()
        return outcome


def _update(conn: Connection, updates: list[tuple[str, str, int, int, int]]) -> int:
    """Apply the chunk's conditional updates; return how many agents they changed."""
    if not updates or not is_postgres(conn):
        return execute_many(conn, _UPDATE, updates)
    columns = [list(column) for column in zip(*updates, strict=True)]
    ids = columns[3]
    return int(conn.exec_driver_sql(_UPDATE_SET, (*columns, ids)).rowcount)


# PostgreSQL: deadlock detected, serialization failure, lock not available.
_RACE_STATES = {"40P01", "40001", "55P03"}


def _lost_a_race(exc: OperationalError) -> bool:
    """An error that says another transaction got there first, not that the database failed."""
    return getattr(exc.orig, "sqlstate", None) in _RACE_STATES


def _read_agents(conn: Connection, keys: set[str], lock: bool = True) -> dict[str, AgentState]:
    """The agents holding ``keys``, by key; on PostgreSQL locked in id order (no deadlocks),
    unless ``lock`` is false (a dry run writes nothing).

    SQLite needs no row locks: a writer holds the database's write lock (BEGIN IMMEDIATE).
    """
    if not keys:
        return {}
    select = "SELECT id, user_name, user_name_key, sso_enabled, change_stamp FROM agents "
    key_list = sorted(keys)
    if is_postgres(conn):
        # The keys in binary (%b): psycopg quotes each element of a text array in Python.
        statement = select + "WHERE user_name_key = ANY(%b::text[]) ORDER BY id"
        statement += " FOR UPDATE" if lock else ""
        rows = conn.exec_driver_sql(statement, (key_list,)).all()
    else:
        marks = ",".join("?" * len(key_list))
        statement = sql(conn, f"{select}WHERE user_name_key IN ({marks})")
        rows = conn.exec_driver_sql(statement, tuple(key_list)).all()
    return {row[2]: AgentState(row[0], row[1], row[2], bool(row[3]), row[4]) for row in rows}


def _decide(
    record: Record, agents: dict[str, AgentState]
) -> tuple[Outcome, AgentState | None, str]:
    """Judge one record against the agents as they stand; return the agent to update, if any."""
    user_name, _first, _last, new_user_name = record.values
    line = record.line_number
    if not user_name:
        return Outcome(line, False, "userName: userName is required"), None, ""
    agent = agents.get(user_name.lower())
    if agent is None:
        message = f"userName: The specified agent userName does not exist: {user_name}"
        return Outcome(line, False, message), None, ""
    if agent.sso:
        message = f"userName: The specified agent userName is already enabled for SSO: {user_name}"
        return Outcome(line, False, message), None, ""
    new_name = agent.user_name
    if new_user_name and new_user_name != agent.user_name:
        if not valid_new_user_name(new_user_name):
            message = (
                "newUserName: The newUserName must be at most 255 printable ASCII characters "
                f"without spaces: {new_user_name}"
            )
            return Outcome(line, False, message), None, ""
        holder = agents.get(new_user_name.lower())
        if holder is not None and holder is not agent:
            message = f"newUserName: The specified newUserName is already in use: {new_user_name}"
            return Outcome(line, False, message), None, ""
        new_name = new_user_name
    # What the line changes, from and to: what a revert puts back (docs/concepts.md, "Revert").
    detail = change_detail(agent.id, agent.user_name, new_name, agent.change_stamp + 1)
    return Outcome(line, True, f"Updated {agent_path(agent.id)}", detail), agent, new_name


# Near misses ------------------------------------------------------------------------------

_MISSING = "userName: The specified agent userName does not exist: "
_SHARING = (
    "SELECT user_name FROM agents WHERE user_name_key >= ? AND user_name_key < ? "
    "ORDER BY user_name_key LIMIT 1000"
)


def _suggested(conn: Connection, outcomes: list[Outcome]) -> list[Outcome]:
    """A user name that does not exist, answered with the closest existing ones among those
    that share its first three characters (docs/concepts.md, "Near misses")."""
    found = []
    for outcome in outcomes:
        if outcome.ok or not outcome.message.startswith(_MISSING):
            found.append(outcome)
            continue
        name = outcome.message[len(_MISSING) :]
        prefix = name.lower()[:3]
        # From the prefix up to it with its last character moved on (not up to a character
        # beyond every other, which not every collation orders last).
        past = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = conn.exec_driver_sql(sql(conn, _SHARING), (prefix, past)).scalars()
        by_key = {str(user_name).lower(): str(user_name) for user_name in rows}
        close = difflib.get_close_matches(name.lower(), list(by_key), n=3, cutoff=0.75)
        if close:
            said = " or ".join(by_key[key] for key in close)
            outcome = replace(outcome, message=f"{outcome.message} (did you mean {said}?)")
        found.append(outcome)
    return found


# The dry run --------------------------------------------------------------------------------


def dry_run_chunk(conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
    """Decide ``records`` exactly as a real run would, against the agents as they stand with
    what the run's earlier lines would have changed laid over them; write nothing to agents.

    The overlay lives in ``run.memo``; a resumed run rebuilds it from the lines committed.
    """
    overlay = run.memo.get("overlay")
    if not isinstance(overlay, Overlay):
        overlay = run.memo["overlay"] = Overlay.of_job(conn, run.job_id)
    if records:
        overlay.drop_from(records[0].line_number)
    keys = {r.values[0].lower() for r in records if r.values[0]}
    keys.update(r.values[3].lower() for r in records if r.values[3])
    agents = {
        key: agent
        for key, agent in _read_agents(conn, keys, lock=False).items()
        if agent.id not in overlay.by_id
    }
    for key in keys:
        taken = overlay.by_key.get(key)
        if taken is not None:
            agents[key] = AgentState(taken.agent_id, taken.user_name, key, True, taken.change_stamp)
    outcomes: list[Outcome] = []
    for record in records:
        outcome, agent, new_name = _decide(record, agents)
        if agent is not None:
            overlay.add(record.line_number, agent.id, new_name, agent.change_stamp + 1)
            new_key = new_name.lower()
            if agent.key != new_key:
                del agents[agent.key]
                agent.key = new_key
                agents[new_key] = agent
            agent.user_name = new_name
            agent.sso = True
            outcome = replace(outcome, message=f"Would update {agent_path(agent.id)}")
        outcomes.append(outcome)
    return outcomes


JOB_TYPE = SsoMigration()

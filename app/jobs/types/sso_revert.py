"""Job type 101: the revert of an SSO-migration job (docs/job-types/sso-revert.md). Not made by
upload: ``app.jobs.revert`` writes its file from what the original job's lines recorded, last
first.

Each record puts one agent back: if it is still as the original job left it (the user name it
set, SSO on, the change stamp it left), it gets its previous user name back with SSO off and
its change stamp incremented; otherwise its line fails, saying what changed. A chunk is decided
in memory and written with one executemany of conditional updates; if one misses (another
transaction got there), the chunk is redone record by record under row locks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from app.db.models import Job, table
from app.db.sql import execute_many, is_postgres, now_ms, sql
from app.exceptions import Conflict
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import RevertCsvType, neutralise
from app.jobs.types.sso import JOB_TYPE as SSO
from app.jobs.types.sso import AgentState
from app.jobs.types.sso_changes import Change, changes, unrecorded
from app.urls import agent_path

jobs = table(Job)

COLUMNS = ("agentId", "userName", "previousUserName", "changeStamp")

_RESTORE = (
    "UPDATE agents SET user_name = ?, user_name_key = ?, sso_enabled = FALSE, "
    "change_stamp = change_stamp + 1, modified_ms = ? "
    "WHERE id = ? AND sso_enabled = TRUE AND change_stamp = ?"
)


class _Conflict(Exception):
    """A conditional update missed: another transaction changed an agent since the read."""


def revert_file(changes: Iterable[Change]) -> bytes:
    """The revert job's file: one row per change to put back, in the order to do it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for c in changes:
        row = (str(c.agent_id), c.new_user_name, c.old_user_name, str(c.change_stamp))
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def _exact(cell: str) -> str:
    """Undo :func:`neutralise` exactly (no trimming: a user name is compared as it is)."""
    rest = cell[1:]
    if cell.startswith("'") and (
        rest.startswith(("=", "+", "-", "@", "\t", "\r"))
        or (rest.startswith("'") and rest.lstrip("'").startswith(("=", "+", "-", "@")))
    ):
        return rest
    return cell


class SsoRevert(RevertCsvType):
    code = 101
    name = "SSO migration revert"
    columns = COLUMNS
    logged_columns = ("agentId", "userName", "previousUserName")
    original_label = "the changes to put back (CSV)"
    reverts = SSO.code

    def check_revertible(self, conn: Connection, job_id: int) -> None:
        if unrecorded(conn, job_id):
            raise Conflict(
                f"Job {job_id} ran before jobs recorded what they changed, so what to put back "
                "is not known; it cannot be reverted",
                str(job_id),
            )

    def revert_content(self, conn: Connection, job_id: int) -> bytes:
        return revert_file(changes(conn, job_id, newest_first=True))

    def cell(self, value: str) -> str:
        return _exact(value)

    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        if "original" not in run.memo:
            run.memo["original"] = conn.execute(
                select(jobs.c.revert_of).where(jobs.c.id == run.job_id)
            ).scalar_one()
        original = int(run.memo["original"])
        savepoint = conn.begin_nested()
        try:
            outcomes = _restore(conn, records, original)
        except (_Conflict, IntegrityError):
            savepoint.rollback()
            return [self._restore_one(conn, record, original) for record in records]
        savepoint.commit()
        return outcomes

    def _restore_one(self, conn: Connection, record: Record, original: int) -> Outcome:
        savepoint = conn.begin_nested()
        try:
            [outcome] = _restore(conn, [record], original)
        except IntegrityError:
            savepoint.rollback()
            message = (
                f"previousUserName: changed since job {original}: the previous user name is "
                f"in use by another agent: {record.values[2]}"
            )
            return Outcome(record.line_number, False, message)
        except _Conflict:
            savepoint.rollback()
            message = f"userName: changed since job {original}: changed by another job meanwhile"
            return Outcome(record.line_number, False, message)
        savepoint.commit()
        return outcome


def _restore(conn: Connection, records: Sequence[Record], original: int) -> list[Outcome]:
    ids = {int(r.values[0]) for r in records}
    agents = _read(conn, ids, {r.values[2].lower() for r in records})
    by_id = {agent.id: agent for agent in agents}
    by_key = {agent.key: agent for agent in agents}
    outcomes: list[Outcome] = []
    updates: list[tuple[str, str, int, int, int]] = []
    now = now_ms()
    for record in records:
        outcome, agent = _decide(record, by_id, by_key, original)
        outcomes.append(outcome)
        if agent is None:
            continue
        previous = record.values[2]
        updates.append((previous, previous.lower(), now, agent.id, agent.change_stamp))
        if by_key.get(agent.key) is agent:
            del by_key[agent.key]
        agent.user_name, agent.key, agent.sso = previous, previous.lower(), False
        agent.change_stamp += 1
        by_key[agent.key] = agent
    if execute_many(conn, _RESTORE, updates) != len(updates):
        raise _Conflict
    return outcomes


def _decide(
    record: Record, by_id: dict[int, AgentState], by_key: dict[str, AgentState], original: int
) -> tuple[Outcome, AgentState | None]:
    agent_id, user_name, previous, stamp = record.values
    line = record.line_number
    changed = f"userName: changed since job {original}"
    agent = by_id.get(int(agent_id))
    if agent is None:
        return Outcome(line, False, f"{changed}: agent {agent_id} no longer exists"), None
    what = []
    if agent.user_name != user_name:
        what.append(f"its user name is now {agent.user_name} (the job set {user_name})")
    if not agent.sso:
        what.append("SSO is off")
    if agent.change_stamp != int(stamp):
        what.append(f"its changeStamp is {agent.change_stamp} (the job left {stamp})")
    if what:
        return Outcome(line, False, f"{changed}: {', '.join(what)}"), None
    holder = by_key.get(previous.lower())
    if holder is not None and holder is not agent:
        message = (
            f"previousUserName: changed since job {original}: the previous user name "
            f"{previous} is now held by {agent_path(holder.id)}"
        )
        return Outcome(line, False, message), None
    return Outcome(line, True, f"Reverted {agent_path(agent.id)}"), agent


def _read(conn: Connection, ids: set[int], keys: set[str]) -> list[AgentState]:
    """The agents with ``ids`` or holding ``keys``; on PostgreSQL locked in id order."""
    select_ = "SELECT id, user_name, user_name_key, sso_enabled, change_stamp FROM agents "
    if is_postgres(conn):
        statement = select_ + "WHERE id = ANY(%s) OR user_name_key = ANY(%s) ORDER BY id FOR UPDATE"
        rows = conn.exec_driver_sql(statement, (sorted(ids), sorted(keys))).all()
    else:
        id_marks = ",".join("?" * len(ids))
        key_marks = ",".join("?" * len(keys))
        statement = sql(
            conn, f"{select_}WHERE id IN ({id_marks}) OR user_name_key IN ({key_marks})"
        )
        rows = conn.exec_driver_sql(statement, (*sorted(ids), *sorted(keys))).all()
    return [AgentState(row[0], row[1], row[2], bool(row[3]), row[4]) for row in rows]


JOB_TYPE = SsoRevert()

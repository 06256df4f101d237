"""What an SSO-migration line changed, from and to, as kept in ``job_lines.detail``.

Every line a job applies (or, in a dry run, would apply) records the agent, its user name
before, the user name it set and the change stamp it left (SSO was off before and on after: the
job changes nothing else). A revert puts back exactly that (docs/concepts.md, "Revert"); a dry
run that resumes after a killed worker rebuilds from it what its earlier chunks would have
changed. Lines applied before this existed have no record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select, true

from app.db.models import JobLine, table

lines = table(JobLine)


@dataclass(frozen=True, slots=True)
class Change:
    line_number: int
    agent_id: int
    old_user_name: str
    new_user_name: str
    change_stamp: int  # the agent's change stamp after the line


# One encoder for every line (json.dumps with options would build one per call).
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def change_detail(agent_id: int, old_user_name: str, new_user_name: str, stamp: int) -> str:
    """The compact JSON record of one applied line."""
    return _ENCODE([agent_id, old_user_name, new_user_name, stamp])


def parse_change(line_number: int, detail: str) -> Change:
    agent_id, old, new, stamp = json.loads(detail)
    return Change(line_number, int(agent_id), str(old), str(new), int(stamp))


def changes(conn: Connection, job_id: int, newest_first: bool = False) -> Iterator[Change]:
    """The recorded changes of ``job_id``'s succeeded lines, in line order (or reversed)."""
    order = lines.c.line_number.desc() if newest_first else lines.c.line_number
    rows = conn.execute(
        select(lines.c.line_number, lines.c.detail)
        .where(lines.c.job_id == job_id, lines.c.ok == true(), lines.c.detail.is_not(None))
        .order_by(order)
    )
    for line_number, detail in rows:
        yield parse_change(line_number, detail)


def unrecorded(conn: Connection, job_id: int) -> int:
    """How many of ``job_id``'s succeeded lines have no record (applied before records)."""
    return len(
        conn.execute(
            select(lines.c.line_number)
            .where(lines.c.job_id == job_id, lines.c.ok == true(), lines.c.detail.is_(None))
            .limit(1)
        ).all()
    )


@dataclass
class _Taken:
    line_number: int
    agent_id: int
    user_name: str
    key: str
    change_stamp: int


class Overlay:
    """What a dry run's earlier lines would have changed: the agents they would have renamed
    and enabled for SSO, by id and by their new user name's key. Lines are added in order; a
    chunk that is tried again first drops what its earlier try added (never committed)."""

    def __init__(self) -> None:
        self.taken: list[_Taken] = []
        self.by_id: dict[int, _Taken] = {}
        self.by_key: dict[str, _Taken] = {}

    @classmethod
    def of_job(cls, conn: Connection, job_id: int) -> Overlay:
        """Rebuilt from the job's committed lines (a resumed dry run)."""
        overlay = cls()
        for change in changes(conn, job_id):
            overlay.add(
                change.line_number, change.agent_id, change.new_user_name, change.change_stamp
            )
        return overlay

    def add(self, line_number: int, agent_id: int, user_name: str, change_stamp: int) -> None:
        taken = _Taken(line_number, agent_id, user_name, user_name.lower(), change_stamp)
        self.taken.append(taken)
        self.by_id[agent_id] = taken
        self.by_key[taken.key] = taken

    def drop_from(self, line_number: int) -> None:
        """Forget what lines from ``line_number`` on added (an uncommitted try of a chunk)."""
        while self.taken and self.taken[-1].line_number >= line_number:
            taken = self.taken.pop()
            if self.by_id.get(taken.agent_id) is taken:
                del self.by_id[taken.agent_id]
            if self.by_key.get(taken.key) is taken:
                del self.by_key[taken.key]

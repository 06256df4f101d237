"""The objects directory files change, the named ones a file may create implicitly (teams,
skill groups, attributes, call types), and the words every directory job logs about what it
did (docs/directory.md, "Files").

A row's log says ``Created /unifiedconfig/config/agentteam/6348`` for each object it made, then
``Created``, ``Updated``, ``Deleted`` or ``Unchanged`` and the path of its own object (a dry
run: ``Would create`` ...). The job's last log line tallies them, in Cisco's words: ``1 agent
teams created, 1 agents created, 2 skill groups created``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select, true

from app.db.models import (
    Agent,
    AgentTeam,
    Attribute,
    CallType,
    DialedNumber,
    JobLine,
    MediaRoutingDomain,
    SkillGroup,
    table,
)
from app.db.sql import placeholder
from app.urls import API_BASE

lines = table(JobLine)


@dataclass(frozen=True)
class Kind:
    """A kind of object: its table, its path segment under the API, its plural in the log."""

    table: Table
    segment: str
    plural: str

    def path(self, object_id: object) -> str:
        return f"{API_BASE}/{self.segment}/{object_id}"


AGENT = Kind(table(Agent), "agent", "agents")
TEAM = Kind(table(AgentTeam), "agentteam", "agent teams")
SKILL_GROUP = Kind(table(SkillGroup), "skillgroup", "skill groups")
ATTRIBUTE = Kind(table(Attribute), "attribute", "attributes")
CALL_TYPE = Kind(table(CallType), "calltype", "call types")
DIALED_NUMBER = Kind(table(DialedNumber), "dialednumber", "dialed numbers")
KINDS = (AGENT, TEAM, SKILL_GROUP, ATTRIBUTE, CALL_TYPE, DIALED_NUMBER)
# Named by files, never changed by one.
MEDIA_ROUTING_DOMAIN = Kind(
    table(MediaRoutingDomain), "mediaroutingdomain", "media routing domains"
)

CREATED, UPDATED, DELETED, UNCHANGED = "Created", "Updated", "Deleted", "Unchanged"
# What a dry run says instead, word for word.
WOULD = {CREATED: "Would create", UPDATED: "Would update", DELETED: "Would delete"}
_PAST = {CREATED: "created", UPDATED: "updated", DELETED: "deleted"}


def said(word: str, kind: Kind, object_id: object, dry_run: bool = False) -> str:
    """``Created /unifiedconfig/config/agentteam/6348`` (or ``Would create ...``)."""
    return f"{WOULD.get(word, word) if dry_run else word} {kind.path(object_id)}"


def said_named(word: str, kind: Kind, name: str) -> str:
    """What a dry run says of an object that has no id yet (one it would create):
    ``Would create /unifiedconfig/config/agentteam (Sales_North)``."""
    return f"{WOULD.get(word, word)} {API_BASE}/{kind.segment} ({name})"


def find(conn: Connection, kind: Kind, keys: Iterable[str], *columns: str) -> dict[str, Any]:
    """The objects of ``kind`` whose name keys are ``keys``: name key -> row (``id``,
    ``name``, ``name_key`` and ``columns``)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    t = kind.table
    selected = [t.c.id, t.c.name, t.c.name_key, *(t.c[name] for name in columns)]
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 500):  # SQLite's limit on parameters, with room
        batch = wanted[start : start + 500]
        for row in conn.execute(select(*selected).where(t.c.name_key.in_(batch))):
            found[row.name_key] = row
    return found


def create(conn: Connection, kind: Kind, values: dict[str, Any]) -> int | None:
    """Insert a new object unless one of its name exists; its id, or None if another
    transaction made it first (the unique name key decides: two jobs make one object)."""
    names = list(values)
    marks = ", ".join(placeholder(conn) for _ in names)
    statement = (
        f"INSERT INTO {kind.table.name} ({', '.join(names)}) VALUES ({marks}) "
        "ON CONFLICT (name_key) DO NOTHING RETURNING id"
    )
    row = conn.exec_driver_sql(statement, tuple(values.values())).first()
    return None if row is None else int(row[0])


_LOGGED = re.compile(
    r"^(Created|Updated|Deleted|Would create|Would update|Would delete) "
    r"\S*/(\w+)(?:/\d+| \(.*\))$"
)
_WORDS = {"Would create": CREATED, "Would update": UPDATED, "Would delete": DELETED}


def tally(messages: Iterable[str]) -> Counter[tuple[str, str]]:
    """How many objects of each kind the outcome messages say were created, updated and
    deleted: (word, path segment) -> count."""
    counts: Counter[tuple[str, str]] = Counter()
    for message in messages:
        for part in message.split("\n"):
            found = _LOGGED.match(part)
            if found is not None:
                word = _WORDS.get(found.group(1), found.group(1))
                counts[(word, found.group(2))] += 1
    return counts


def summary(counts: Counter[tuple[str, str]], kinds: Sequence[Kind], dry_run: bool) -> str | None:
    """Cisco's last log line: ``1 agent teams created, 1 agents created, 2 skill groups
    created`` (kinds by name, created before updated before deleted); None when nothing was."""
    by_segment = {kind.segment: kind for kind in kinds}
    parts = []
    for word in (CREATED, UPDATED, DELETED):
        done = [(by_segment[segment].plural, n) for (w, segment), n in counts.items() if w == word]
        verb = f"would be {_PAST[word]}" if dry_run else _PAST[word]
        parts += [f"{n} {plural} {verb}" for plural, n in sorted(done)]
    return ", ".join(parts) or None


def job_summary(conn: Connection, job_id: int, kinds: Sequence[Kind], dry_run: bool) -> str | None:
    """:func:`summary` of a job's succeeded lines."""
    messages = conn.execute(
        select(lines.c.message).where(lines.c.job_id == job_id, lines.c.ok == true())
    ).scalars()
    return summary(tally(messages), kinds, dry_run)

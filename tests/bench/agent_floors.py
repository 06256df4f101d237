"""The floor the 3 MB agent file is judged against (docs/performance.md): a bare script on its
own minimal tables (agents, teams, skill groups, attributes, memberships, attribute values,
results), sharing nothing with the service's code. Per row it finds or inserts the team, each
skill group and each attribute by lower-cased name, inserts the agent, its memberships, its
values and a result row, committing every 1,000 rows. It checks nothing else and writes no log,
so a ratio of 1 is out of reach; the ratio says what the service adds.

The best of 5 runs, each on a fresh copy of the same directory (the same names), on SQLite
(``sqlite3``, WAL, ``synchronous=NORMAL``) and on PostgreSQL (psycopg 3, one statement at a
time as the rows come).
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 1000
RUNS = 5


@dataclass(frozen=True)
class Directory:
    """What exists before the file runs: names by kind, and the agents' user names."""

    teams: Sequence[str]
    groups: Sequence[str]
    attributes: Sequence[tuple[str, int]]  # (name, data type)
    user_names: Sequence[str]


_SCHEMA = (
    "CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL UNIQUE)",
    "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL UNIQUE)",
    "CREATE TABLE attrs (id INTEGER PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL UNIQUE, "
    "data_type INTEGER NOT NULL)",
    "CREATE TABLE agents (id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, "
    "key TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT, team_id INTEGER)",
    "CREATE TABLE members (agent_id INTEGER, group_id INTEGER, PRIMARY KEY (agent_id, group_id))",
    "CREATE TABLE agent_values (agent_id INTEGER, attr_id INTEGER, value TEXT, "
    "PRIMARY KEY (agent_id, attr_id))",
    "CREATE TABLE results (job_id INTEGER NOT NULL, line INTEGER NOT NULL, ok BOOLEAN NOT NULL, "
    "message TEXT NOT NULL, PRIMARY KEY (job_id, line))",
)


def _rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8"), newline=""))
    return [(number, row) for number, row in enumerate(reader, start=2)]


class _Script:
    """The per-row work, for a DB-API connection and its placeholder."""

    def __init__(self, conn: Any, mark: str, returning: bool) -> None:
        self.conn = conn
        self.mark = mark
        self.returning = returning

    def one(self, statement: str, args: tuple[Any, ...]) -> Any:
        cursor = self.conn.cursor()
        cursor.execute(statement.replace("?", self.mark), args)
        return cursor.fetchone()

    def run(self, statement: str, args: tuple[Any, ...]) -> None:
        self.conn.cursor().execute(statement.replace("?", self.mark), args)

    def find_or_insert(self, table: str, name: str, *extra: Any) -> int:
        key = name.lower()
        found = self.one(f"SELECT id FROM {table} WHERE key = ?", (key,))
        if found is not None:
            return int(found[0])
        columns = "name, key" + (", data_type" if extra else "")
        marks = ", ".join("?" * (2 + len(extra)))
        return int(
            self.one(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id",
                (name, key, *extra),
            )[0]
        )

    def row(self, line: int, cells: dict[str, str]) -> tuple[int, int, bool, str]:
        team = self.find_or_insert("teams", cells["agentTeamName"])
        agent = int(
            self.one(
                "INSERT INTO agents (user_name, key, first_name, last_name, team_id) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (
                    cells["userName"],
                    cells["userName"].lower(),
                    cells["firstName"],
                    cells["lastName"],
                    team,
                ),
            )[0]
        )
        for name in cells["skillGroups"].split(";"):
            group = self.find_or_insert("groups", name)
            self.run("INSERT INTO members VALUES (?, ?)", (agent, group))
        for item in cells["attributes"].split(";"):
            name, value = item.split("=", 1)
            data_type = 3 if value in ("true", "false") else 4
            attr = self.find_or_insert("attrs", name, data_type)
            self.run("INSERT INTO agent_values VALUES (?, ?, ?)", (agent, attr, value))
        return (1, line, True, f"Created /agent/{agent}")


def _load(script: _Script, directory: Directory) -> None:
    for name in directory.teams:
        script.run("INSERT INTO teams (name, key) VALUES (?, ?)", (name, name.lower()))
    for name in directory.groups:
        script.run("INSERT INTO groups (name, key) VALUES (?, ?)", (name, name.lower()))
    for name, data_type in directory.attributes:
        script.run(
            "INSERT INTO attrs (name, key, data_type) VALUES (?, ?, ?)",
            (name, name.lower(), data_type),
        )
    for name in directory.user_names:
        script.run("INSERT INTO agents (user_name, key) VALUES (?, ?)", (name, name.lower()))


def _timed(script: _Script, content: bytes, commit: Callable[[], None]) -> float:
    started = time.perf_counter()
    results: list[tuple[int, int, bool, str]] = []
    for line, cells in _rows(content):
        results.append(script.row(line, cells))
        if len(results) == CHUNK:
            _results(script, results)
            commit()
            results = []
    _results(script, results)
    commit()
    return time.perf_counter() - started


def _results(script: _Script, results: list[tuple[int, int, bool, str]]) -> None:
    cursor = script.conn.cursor()
    cursor.executemany("INSERT INTO results VALUES (?, ?, ?, ?)".replace("?", script.mark), results)


def sqlite_floor(work: Path, directory: Directory, content: bytes) -> float:
    """Best seconds of the bare sqlite3 script over ``RUNS`` fresh files."""
    times = []
    for run in range(RUNS):
        conn = sqlite3.connect(work / f"agent-floor-{run}.sqlite")  # a transaction per chunk
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            conn.execute(statement)
        script = _Script(conn, "?", True)
        _load(script, directory)
        conn.commit()
        times.append(_timed(script, content, conn.commit))
        conn.close()
    return min(times)


def postgres_floor(dsn: str, directory: Directory, content: bytes) -> float:
    """Best seconds of the bare psycopg script over ``RUNS`` fresh loads (its own database)."""
    import psycopg

    times = []
    for _ in range(RUNS):
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                "DROP TABLE IF EXISTS results, agent_values, members, agents, attrs, groups, teams"
            )
        with psycopg.connect(dsn) as conn:
            for statement in _SCHEMA:
                conn.execute(statement.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
            script = _Script(conn, "%s", True)
            _load(script, directory)
            conn.commit()
            conn.execute("ANALYZE")
            conn.commit()
            times.append(_timed(script, content, conn.commit))
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(
            "DROP TABLE IF EXISTS results, agent_values, members, agents, attrs, groups, teams"
        )
    return min(times)

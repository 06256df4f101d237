"""The floors the 3 MB job is judged against: bare scripts on a minimal schema
(docs/performance.md). They share nothing with the service's code: their own tables, their own
statements, ``csv.reader`` on the file. They do less than the service must (no log text, no
counters, no lease), so a ratio of 1 is out of reach; it says how much the service adds.

- SQLite: ``sqlite3`` on a fresh file (WAL, ``synchronous=NORMAL``); per row one conditional
  UPDATE matched on ``lower(user_name)``; every 1,000 rows the result rows in one
  ``executemany`` and a commit.
- PostgreSQL: psycopg 3, the same tables (results keyed by job and line), the faster of two
  ways: the per-row UPDATEs through ``executemany`` per 1,000 rows, or per 1,000 rows a
  ``COPY`` into a temporary table, ``ANALYZE``, and one ``UPDATE ... FROM`` whose ``RETURNING``
  feeds one ``INSERT ... SELECT`` of the results.
Each is the best of 5 runs on a freshly loaded copy of the directory: a floor is a limit, so
the fastest run is the one that says where it lies.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CHUNK = 1000
RUNS = 5

AgentRow = tuple[int, int, int, str, str, str, bool, int]

_SCHEMA = (
    "CREATE TABLE agents (id INTEGER PRIMARY KEY, peripheral_id INTEGER, team_id INTEGER, "
    "user_name TEXT NOT NULL, first_name TEXT, last_name TEXT, sso BOOLEAN NOT NULL, "
    "change_stamp INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX agents_user_name ON agents (lower(user_name))",
    "CREATE TABLE results (job_id INTEGER NOT NULL, line INTEGER NOT NULL, ok BOOLEAN NOT NULL, "
    "message TEXT NOT NULL, PRIMARY KEY (job_id, line))",
)
_UPDATE_SQLITE = (
    "UPDATE agents SET user_name = ?, sso = 1, change_stamp = change_stamp + 1 "
    "WHERE lower(user_name) = lower(?) AND sso = 0"
)


def _rows(content: bytes) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    next(reader)
    return [(number, row) for number, row in enumerate(reader, start=2)]


def _best(run: Callable[[], float]) -> float:
    return min(run() for _ in range(RUNS))


# SQLite ------------------------------------------------------------------------------------


def sqlite_floor(work: Path, agents: Sequence[AgentRow], content: bytes) -> float:
    """Best seconds of the bare sqlite3 script over ``RUNS`` fresh files."""
    counter = iter(range(RUNS))
    return _best(lambda: _sqlite_once(work / f"floor-{next(counter)}.sqlite", agents, content))


def _sqlite_once(path: Path, agents: Sequence[AgentRow], content: bytes) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in _SCHEMA:
        conn.execute(statement)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?, ?, ?)", agents)
    conn.execute("COMMIT")
    started = time.perf_counter()
    results: list[tuple[int, int, bool, str]] = []
    conn.execute("BEGIN")
    for line, row in _rows(content):
        user_name, new_name = row[0], row[3] or row[0]
        try:
            changed = conn.execute(_UPDATE_SQLITE, (new_name, user_name)).rowcount == 1
            message = "Updated" if changed else f"userName: not found or SSO: {user_name}"
        except sqlite3.IntegrityError:
            changed, message = False, f"newUserName: in use: {new_name}"
        results.append((1, line, changed, message))
        if len(results) == CHUNK:
            conn.executemany("INSERT INTO results VALUES (?, ?, ?, ?)", results)
            conn.execute("COMMIT")
            conn.execute("BEGIN")
            results = []
    conn.executemany("INSERT INTO results VALUES (?, ?, ?, ?)", results)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


# PostgreSQL --------------------------------------------------------------------------------

_UPDATE_PG = (
    "UPDATE agents SET user_name = %s, sso = TRUE, change_stamp = change_stamp + 1 "
    "WHERE lower(user_name) = lower(%s) AND sso = FALSE RETURNING id"
)
_SET_BASED = """
WITH changed AS (
    UPDATE agents a SET user_name = coalesce(nullif(t.new_name, ''), t.user_name), sso = TRUE,
        change_stamp = a.change_stamp + 1
    FROM rows t WHERE lower(a.user_name) = lower(t.user_name) AND a.sso = FALSE
    RETURNING t.line, a.id
)
INSERT INTO results (job_id, line, ok, message)
SELECT 1, t.line, changed.id IS NOT NULL,
       CASE WHEN changed.id IS NULL THEN 'userName: not found or SSO: ' || t.user_name
            ELSE 'Updated' END
FROM rows t LEFT JOIN changed ON changed.line = t.line
"""


def postgres_floor(dsn: str, agents: Sequence[AgentRow], content: bytes) -> dict[str, float]:
    """Best seconds of each PostgreSQL way, and the faster one as ``floor``."""
    per_row = _best(lambda: _pg_once(dsn, agents, content, _pg_per_row))
    set_based = _best(lambda: _pg_once(dsn, agents, content, _pg_set_based))
    return {"per_row": per_row, "set_based": set_based, "floor": min(per_row, set_based)}


def _pg_once(
    dsn: str, agents: Sequence[AgentRow], content: bytes, way: Callable[..., None]
) -> float:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS results, agents")
        for statement in _SCHEMA:
            conn.execute(statement.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY"))
        with conn.cursor().copy("COPY agents FROM STDIN") as copy:
            for agent in agents:
                copy.write_row(agent)
        conn.execute("ANALYZE agents")
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        rows = _rows(content)
        for start in range(0, len(rows), CHUNK):
            way(conn, rows[start : start + CHUNK])
            conn.commit()
        elapsed = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS results, agents")
    return elapsed


def _pg_per_row(conn: Any, chunk: list[tuple[int, list[str]]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            _UPDATE_PG, [(row[3] or row[0], row[0]) for _line, row in chunk], returning=True
        )
        results = []
        for line, row in chunk:
            changed = cur.fetchone() is not None
            message = "Updated" if changed else f"userName: not found or SSO: {row[0]}"
            results.append((1, line, changed, message))
            cur.nextset()
        cur.executemany("INSERT INTO results VALUES (%s, %s, %s, %s)", results)


def _pg_set_based(conn: Any, chunk: list[tuple[int, list[str]]]) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS rows "
            "(line INTEGER, user_name TEXT, new_name TEXT) ON COMMIT DELETE ROWS"
        )
        with cur.copy("COPY rows (line, user_name, new_name) FROM STDIN") as copy:
            for line, row in chunk:
                copy.write_row((line, row[0], row[3]))
        cur.execute("ANALYZE rows")
        cur.execute(_SET_BASED)

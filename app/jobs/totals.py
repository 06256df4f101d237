"""Running totals of jobs for ``/metrics``, kept as jobs are created, start and end.

A scrape reads this small table instead of aggregating every job ever kept, so it costs the
same at 100,000 jobs as at 10 (docs/performance.md), and deleting a job lowers nothing:
Prometheus would read a falling counter as a reset. Each total is one row (job type, name),
raised in the same transaction as the change it counts, with an upsert that adds to the row
(rows in one fixed order, so two transactions never wait on each other in a cycle).

Names: ``created``; ``finished:<state>``; ``processed`` and ``failed`` (records of finished
jobs); for the two histograms (milliseconds) ``<h>_count``, ``<h>_sum_ms`` and ``<h>_le:<ms>``
(cumulative, one per bucket bound), where ``<h>`` is ``wait`` (create to start) or
``duration`` (start to end).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from app.db.models import JobTotal, table
from app.db.sql import execute_many

totals = table(JobTotal)

# Seconds. A job of a few rows takes well under a second; a 3 MB file a few seconds.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Seconds from the create to the start; over 60 means no worker picked the job up.
WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)

_ADD = (
    "INSERT INTO job_totals (job_type, name, value) VALUES (?, ?, ?) "
    "ON CONFLICT (job_type, name) DO UPDATE SET value = job_totals.value + excluded.value"
)


def bucket_name(histogram: str, bound: float) -> str:
    return f"{histogram}_le:{round(bound * 1000)}"


def add(conn: Connection, job_type: int, deltas: dict[str, int]) -> None:
    """Raise the totals of ``job_type`` by ``deltas`` (name: amount)."""
    rows = sorted((job_type, name, delta) for name, delta in deltas.items() if delta)
    execute_many(conn, _ADD, rows)


def _observe(deltas: dict[str, int], histogram: str, bounds: Sequence[float], ms: int) -> None:
    ms = max(0, ms)
    deltas[f"{histogram}_count"] = deltas.get(f"{histogram}_count", 0) + 1
    deltas[f"{histogram}_sum_ms"] = deltas.get(f"{histogram}_sum_ms", 0) + ms
    for bound in bounds:
        if ms <= round(bound * 1000):
            name = bucket_name(histogram, bound)
            deltas[name] = deltas.get(name, 0) + 1


def count_start(deltas: dict[str, int], wait_ms: int) -> None:
    """Add a job's first start (a resume is not a start) to ``deltas``."""
    _observe(deltas, "wait", WAIT_BUCKETS, wait_ms)


def count_end(
    deltas: dict[str, int], state: int, processed: int, failed: int, duration_ms: int | None
) -> None:
    """Add a job's final ``state`` to ``deltas``; ``duration_ms`` None if it never started."""
    for name, amount in ((f"finished:{state}", 1), ("processed", processed), ("failed", failed)):
        deltas[name] = deltas.get(name, 0) + amount
    if duration_ms is not None:
        _observe(deltas, "duration", DURATION_BUCKETS, duration_ms)


def created(conn: Connection, job_type: int) -> None:
    add(conn, job_type, {"created": 1})


def started(conn: Connection, job_type: int, wait_ms: int) -> None:
    deltas: dict[str, int] = {}
    count_start(deltas, wait_ms)
    add(conn, job_type, deltas)


def finished(
    conn: Connection,
    job_type: int,
    state: int,
    processed: int,
    failed: int,
    duration_ms: int | None,
) -> None:
    deltas: dict[str, int] = {}
    count_end(deltas, state, processed, failed, duration_ms)
    add(conn, job_type, deltas)


def read(conn: Connection) -> dict[tuple[int, str], int]:
    """Every total, by (job type, name)."""
    rows = conn.execute(select(totals.c.job_type, totals.c.name, totals.c.value))
    return {(int(t), str(name)): int(value) for t, name, value in rows}

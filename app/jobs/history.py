"""A history of finished demo jobs (``flask demo-data --jobs N``): what a service that has run
for a while holds, so anyone can see how listing, searching and ``/metrics`` behave at scale.

Each job is a small SSO migration that ran to its end: its file, one outcome per row, its log
and the totals ``/metrics`` reads, all as the engine would have left them (the rows name users
that need not exist; nothing in the directory is touched). Loaded with set-based inserts, ids
after every id used before.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, func, select

from app.db.models import Job, JobState, table
from app.db.sql import ids_after_explicit, insert_rows, is_postgres, now_ms
from app.jobs import totals
from app.jobs.types.sso import JOB_TYPE as SSO
from app.urls import agent_path

MAX_JOBS = 1_000_000
jobs = table(Job)

_WAVES = ("Sales", "Support", "Billing", "Retention", "Collections", "Onboarding", "Tech", "VIP")
_REGIONS = ("North", "South", "East", "West", "Central")
_STATES = (
    (JobState.SUCCEEDED, 0.70),
    (JobState.PARTIAL, 0.15),
    (JobState.FAILED, 0.10),
    (JobState.CANCELLED, 0.05),
)
_JOB_COLUMNS = (
    "id",
    "change_stamp",
    "description",
    "job_type",
    "job_state",
    "job_host_name",
    "created_by",
    "create_ms",
    "start_ms",
    "end_ms",
    "total_records",
    "processed_records",
    "succeeded_records",
    "failed_records",
    "cancel_requested",
)
_BATCH = 5_000
_DAY_MS = 86_400_000


def load_history(conn: Connection, count: int, seed: int = 1) -> dict[str, int]:
    """Add ``count`` finished jobs spread over the past year; what was loaded."""
    rng = random.Random(seed)
    first = int(conn.execute(select(func.coalesce(func.max(jobs.c.id), 0))).scalar_one()) + 1
    now = now_ms()
    deltas: dict[str, int] = {}
    loaded = {"jobs": 0, "lines": 0}
    for start in range(0, count, _BATCH):
        batch = [_job(rng, first + n, now) for n in range(start, min(count, start + _BATCH))]
        insert_rows(conn, "jobs", _JOB_COLUMNS, [b["job"] for b in batch])
        insert_rows(
            conn, "job_files", ("job_id", "content", "encoding"), [b["file"] for b in batch]
        )
        lines = [line for b in batch for line in b["lines"]]
        insert_rows(conn, "job_lines", ("job_id", "line_number", "at_ms", "ok", "message"), lines)
        insert_rows(
            conn,
            "job_events",
            ("job_id", "at_ms", "after_line", "message"),
            [event for b in batch for event in b["events"]],
        )
        for b in batch:
            row = dict(zip(_JOB_COLUMNS, b["job"], strict=True))
            deltas["created"] = deltas.get("created", 0) + 1
            totals.count_start(deltas, row["start_ms"] - row["create_ms"])
            totals.count_end(
                deltas,
                row["job_state"],
                row["processed_records"],
                row["failed_records"],
                row["end_ms"] - row["start_ms"],
            )
        loaded["jobs"] += len(batch)
        loaded["lines"] += len(lines)
    totals.add(conn, SSO.code, deltas)
    ids_after_explicit(conn, jobs)
    if is_postgres(conn):
        # Fresh statistics, so that the planner uses the indexes at once (autovacuum would
        # catch up within minutes).
        conn.exec_driver_sql("ANALYZE jobs, job_lines, job_events")
    return loaded


def _job(rng: random.Random, job_id: int, now: int) -> dict[str, Any]:
    state = rng.choices([s for s, _ in _STATES], [w for _, w in _STATES])[0]
    total = rng.randint(1, 8)
    names = [f"demo{rng.randrange(10**6):06d}" for _ in range(total)]
    create = now - rng.randrange(365 * _DAY_MS)
    start = create + rng.randrange(20, 2_000)
    processed = rng.randint(1, total) if state == JobState.CANCELLED else total
    if state == JobState.SUCCEEDED:
        failed = 0
    elif state == JobState.FAILED:
        failed = processed
    elif state == JobState.PARTIAL:
        failed = rng.randint(1, processed - 1) if processed > 1 else 0
        state = JobState.PARTIAL if failed > 0 else JobState.SUCCEEDED
    else:
        failed = rng.randint(0, processed)
    end = start + 40 + processed * rng.randrange(1, 20)
    host = f"worker-{rng.randint(1, 3)}"
    wave = f"Wave {rng.randint(1, 400)} {rng.choice(_WAVES)} {rng.choice(_REGIONS)}"
    failing = set(rng.sample(range(processed), failed))
    lines = []
    for n in range(processed):
        line = n + 2
        if n in failing:
            message = f"userName: The specified agent userName does not exist: {names[n]}"
            lines.append((job_id, line, end, False, message))
        else:
            lines.append((job_id, line, end, True, f"Updated {agent_path(5001 + n)}"))
    rows = "".join(f"{name},,,{name}@sso.example.com\r\n" for name in names)
    content = (",".join(SSO.columns) + "\r\n" + rows).encode()
    succeeded = processed - failed
    final = {
        JobState.SUCCEEDED: "Job completed successfully",
        JobState.PARTIAL: "Job partially completed due to errors",
        JobState.FAILED: "Job failed due to errors",
        JobState.CANCELLED: f"Job cancelled after line {processed + 1}",
    }[state]
    summary = f"{processed} lines processed, {succeeded} succeeded, {failed} failed"
    events = [
        (job_id, create, 0, "Job created by admin on web-1"),
        (job_id, start, 0, f"Job started on {host}"),
        (job_id, start, 0, "Processing line 1: Header"),
        (job_id, end, processed + 1, final),
        (job_id, end, processed + 1, summary),
    ]
    job = (
        job_id,
        0,
        f"{wave}: SSO migration",
        SSO.code,
        state,
        host,
        "admin",
        create,
        start,
        end,
        total,
        processed,
        succeeded,
        failed,
        state == JobState.CANCELLED,
    )
    return {"job": job, "file": (job_id, content, "utf-8"), "lines": lines, "events": events}

"""Running totals of jobs for /metrics, kept as jobs are created, start and end.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-03

The table starts from the jobs the database holds when this runs, so no counter falls at the
upgrade; from then on the engine and the API raise the totals, and deleting a job lowers none.
The bucket bounds are those of app/jobs/totals.py at this revision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
FINISHED = (3, 4, 5, 6)


def _observe(total: dict[str, int], histogram: str, bounds: Sequence[float], ms: int) -> None:
    total[f"{histogram}_count"] += 1
    total[f"{histogram}_sum_ms"] += ms
    for bound in bounds:
        if ms <= round(bound * 1000):
            total[f"{histogram}_le:{round(bound * 1000)}"] += 1


def upgrade() -> None:
    job_totals = op.create_table(
        "job_totals",
        sa.Column("job_type", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_type", "name", name=op.f("pk_job_totals")),
    )
    if op.get_context().as_sql:
        return  # offline SQL: there are no rows to count
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    jobs = op.get_bind().execute(
        sa.text(
            "SELECT job_type, job_state, create_ms, start_ms, end_ms, processed_records, "
            "failed_records FROM jobs"
        )
    )
    for job_type, state, create_ms, start_ms, end_ms, processed, failed in jobs:
        total = totals[job_type]
        total["created"] += 1
        if start_ms is not None:
            _observe(total, "wait", WAIT_BUCKETS, max(0, start_ms - create_ms))
        if state in FINISHED:
            total[f"finished:{state}"] += 1
            total["processed"] += processed
            total["failed"] += failed
            if start_ms is not None and end_ms is not None:
                _observe(total, "duration", DURATION_BUCKETS, max(0, end_ms - start_ms))
    rows = [
        {"job_type": job_type, "name": name, "value": value}
        for job_type, total in totals.items()
        for name, value in total.items()
        if value
    ]
    if rows:
        op.bulk_insert(job_totals, rows)


def downgrade() -> None:
    op.drop_table("job_totals")

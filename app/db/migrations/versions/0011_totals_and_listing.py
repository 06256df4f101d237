"""Running totals of jobs for /metrics; indexes for listing many jobs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

``job_totals`` starts from the jobs the database holds when this runs, so no counter falls at
the upgrade; from then on the engine and the API raise the totals, and deleting a job lowers
none. The bucket bounds are those of app/jobs/totals.py at this revision.

``ix_jobs_state`` becomes (job_state, create_ms, id): a ``jobState:`` filter's page is read in
the list's order from the index. On PostgreSQL, a trigram index on ``lower(description)`` serves
the description search (``q=term``, a substring match) when the ``pg_trgm`` extension can be
created (it ships with PostgreSQL; creating it may need a privileged role); without it the
search scans the table, as before, and a warning says so.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
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


TRIGRAM_INDEX = "ix_jobs_description_trgm"


def upgrade() -> None:
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.create_index("ix_jobs_state", "jobs", ["job_state", "create_ms", "id"], unique=False)
    if op.get_context().dialect.name == "postgresql":
        _trigram_index()
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
            "SELECT job_type, job_state, coalesce(start_after_ms, create_ms), start_ms, end_ms, "
            "processed_records, failed_records FROM jobs"
        )
    )
    for job_type, state, due_ms, start_ms, end_ms, processed, failed in jobs:
        total = totals[job_type]
        total["created"] += 1
        if start_ms is not None:
            _observe(total, "wait", WAIT_BUCKETS, max(0, start_ms - due_ms))
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


def _trigram_index() -> None:
    if op.get_context().as_sql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            f"CREATE INDEX {TRIGRAM_INDEX} ON jobs USING gin (lower(description) gin_trgm_ops)"
        )
        return
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        logging.getLogger("alembic").warning(
            "pg_trgm is not available (%s); the jobs' description search scans the table",
            str(exc.orig).strip().splitlines()[0],
        )
        return
    savepoint.commit()
    # The extension may live in another schema than the tables (named, not on the search path).
    where = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar_one()
    ops = f'"{where}".gin_trgm_ops'
    op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON jobs USING gin (lower(description) {ops})")


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.create_index("ix_jobs_state", "jobs", ["job_state", "id"], unique=False)
    op.drop_table("job_totals")

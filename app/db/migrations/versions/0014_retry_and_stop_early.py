"""Retries and early stops of jobs: ``jobs.retry_of`` and ``jobs.stop_after_failures``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

``retry_of``: the job whose failed (or not processed) lines this one runs again
(docs/concepts.md, "Retry"); unique, so a job has at most one retry, whichever of two concurrent
requests commits first. ``stop_after_failures``: the job stops before its next chunk once this
many of its lines have failed (docs/concepts.md, "Stop early"); None: never. Both are added in
place (no table rebuild, so SQLite's AUTOINCREMENT on ``jobs`` stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("retry_of", sa.Integer(), nullable=True))
    op.add_column("jobs", sa.Column("stop_after_failures", sa.Integer(), nullable=True))
    op.create_index("ix_jobs_retry_of", "jobs", ["retry_of"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_jobs_retry_of", table_name="jobs")
    with op.batch_alter_table("jobs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("stop_after_failures")
        batch.drop_column("retry_of")

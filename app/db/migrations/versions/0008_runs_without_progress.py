"""A poison job gives up: count the runs in a row that ended without committing a chunk.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

``jobs.runs_without_progress`` is incremented when a worker claims the job, reset to 0 when a
chunk commits or the job is handed back (SIGTERM). A claim that finds it at
``BULKJOB_MAX_ATTEMPTS`` fails the job instead of running it again. Existing jobs start at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("runs_without_progress", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("runs_without_progress")

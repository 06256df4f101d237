"""Dry runs and reverts of jobs: ``jobs.dry_run`` and ``jobs.revert_of``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

``dry_run``: the job decides every record as a real run would and changes nothing
(docs/concepts.md, "Dry run"). ``revert_of``: the job this one reverts; unique, so a job has at
most one revert, whichever of two concurrent requests commits first. Both are added in place (no
table rebuild, so SQLite's AUTOINCREMENT on ``jobs`` stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("jobs", sa.Column("revert_of", sa.Integer(), nullable=True))
    op.create_index("ix_jobs_revert_of", "jobs", ["revert_of"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_jobs_revert_of", table_name="jobs")
    with op.batch_alter_table("jobs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("revert_of")
        batch.drop_column("dry_run")

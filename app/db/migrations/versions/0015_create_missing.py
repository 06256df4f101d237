"""Whether a job's rows may create what they name: ``jobs.create_missing``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

True (every job before this revision, and the default): a team, skill group, attribute or call
type a row names that does not exist is created with the row. False: the row fails instead
(docs/concepts.md, "Near misses"). Added in place (no table rebuild, so SQLite's AUTOINCREMENT
on ``jobs`` stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("create_missing", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("create_missing")

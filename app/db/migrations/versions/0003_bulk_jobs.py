"""SCIM bulk requests as jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

``jobs.origin``: the base URL a job was submitted to (a SCIM bulk job's locations are built on
it); ``job_lines.detail``: a line's structured result (a SCIM bulk operation's BulkResponse entry).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=255), nullable=True))
    with op.batch_alter_table("job_lines") as batch:
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_lines") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("origin")

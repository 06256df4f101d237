"""When agents and teams were created and last changed (SCIM meta.created / lastModified).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Milliseconds since the epoch, as the jobs' times. Rows that existed before this revision have
neither (unknown): SCIM leaves the attributes out for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("agents", "agent_teams")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("created_ms", sa.BigInteger(), nullable=True))
            batch.add_column(sa.Column("modified_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("modified_ms")
            batch.drop_column("created_ms")

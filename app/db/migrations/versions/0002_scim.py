"""SCIM 2.0 attributes of agents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

externalId, displayName and emails, which the agent directory did not hold before SCIM.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("display_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("emails", sa.Text(), nullable=True))
        batch.create_index(batch.f("ix_agents_external_id"), ["external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_index(batch.f("ix_agents_external_id"))
        batch.drop_column("emails")
        batch.drop_column("display_name")
        batch.drop_column("external_id")

"""externalId of SCIM Groups (agent teams).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

The provisioning client's identifier of a team (RFC 7643 §3.1), as agents have had since 0002.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_teams") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_agent_teams_external_id"), ["external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_teams") as batch:
        batch.drop_index(batch.f("ix_agent_teams_external_id"))
        batch.drop_column("external_id")

"""SCIM's employeeNumber is free text of its own, no longer the agentId.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Until this revision SCIM showed (and wrote) the agentId as the enterprise extension's
``employeeNumber``; now the agentId is an attribute of our own extension and ``employeeNumber``
is what an HR system sends (at most 255 characters). ``agents.agent_id`` is not touched: every
agent keeps its agentId. The new ``agents.employee_number`` starts as each existing agent's
agentId, so a client reads the same employeeNumber as before until it writes another one.

An index on (peripheral_id, agent_id) serves the check that an agentId is unique on its
peripheral. Adding a column and an index rebuilds no table (SQLite's AUTOINCREMENT stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_agents_peripheral_agent_id"


def upgrade() -> None:
    op.add_column("agents", sa.Column("employee_number", sa.String(length=255), nullable=True))
    op.execute("UPDATE agents SET employee_number = agent_id")
    op.create_index(INDEX, "agents", ["peripheral_id", "agent_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="agents")
    # The agentId was never moved: dropping the column loses only employee numbers written
    # since (the old schema had nowhere to keep them).
    with op.batch_alter_table("agents", recreate="never") as batch:
        batch.drop_column("employee_number")

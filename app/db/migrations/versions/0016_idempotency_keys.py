"""Safe re-submission: the ``Idempotency-Key`` of each create, per user, for 24 hours.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08

``idempotency_keys``: one row per (user, key) with a SHA-256 of the request and the job it
made; its primary key is what makes two requests racing with one key make one job. Rows older
than 24 hours are removed by the workers' sweep (docs/api.md, "Safe re-submission").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(150), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("create_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "idempotency_key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_create_ms"), "idempotency_keys", ["create_ms"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_keys_create_ms"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")

"""Scheduled start and a notification when a job ends.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

``jobs.start_after_ms``: a Queued job is not started before it (ms since the epoch; NULL: as
soon as possible). ``jobs.notify_url``: where the job's representation is POSTed when it ends.
``job_notifications``: one row per delivery, written in the transaction that gives the job its
final state, so a delivery is never lost when the broker is down; the sweeper sends due rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("start_after_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("notify_url", sa.String(2048), nullable=True))
    op.create_table(
        "job_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_ms", sa.BigInteger(), nullable=False),
        sa.Column("dispatched_ms", sa.BigInteger(), nullable=True),
        sa.Column("done_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_notifications_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_notifications")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_job_notifications_delivery_id")),
    )
    op.create_index("ix_job_notifications_pending", "job_notifications", ["done_ms", "next_ms"])
    op.create_index("ix_job_notifications_job", "job_notifications", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_job_notifications_job", table_name="job_notifications")
    op.drop_index("ix_job_notifications_pending", table_name="job_notifications")
    op.drop_table("job_notifications")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("notify_url")
        batch.drop_column("start_after_ms")

"""Call types and dialed numbers (docs/directory.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

A call type is a named object as the others are (its lower-cased ``name_key`` unique). A dialed
number is named by its string and routing type together: ``string_key`` (the lower-cased string)
is unique per routing type, and ``voice_key`` (the same key, kept only for the External Voice and
Post Call Survey routing types) is unique on its own, so those two cannot share a string. Both
keep their ids AUTOINCREMENT on SQLite: ids are never given out twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("name_key", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255), server_default=sa.text("''"), nullable=False),
        sa.Column("change_stamp", sa.Integer(), server_default="0", nullable=False),
        sa.Column("service_level_threshold", sa.Integer(), nullable=True),
        sa.Column("service_level_type", sa.SmallInteger(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=True),
        sa.Column("modified_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_types")),
        sa.UniqueConstraint("name_key", name=op.f("uq_call_types_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "dialed_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialed_number_string", sa.String(25), nullable=False),
        sa.Column("string_key", sa.String(25), nullable=False),
        sa.Column("routing_type", sa.SmallInteger(), nullable=False),
        sa.Column("voice_key", sa.String(25), nullable=True),
        sa.Column("description", sa.String(255), server_default=sa.text("''"), nullable=False),
        sa.Column("change_stamp", sa.Integer(), server_default="0", nullable=False),
        sa.Column("call_type_id", sa.Integer(), nullable=True),
        sa.Column("media_routing_domain_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=True),
        sa.Column("modified_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_type_id"],
            ["call_types.id"],
            name=op.f("fk_dialed_numbers_call_type_id_call_types"),
        ),
        sa.ForeignKeyConstraint(
            ["media_routing_domain_id"],
            ["media_routing_domains.id"],
            name=op.f("fk_dialed_numbers_media_routing_domain_id_media_routing_domains"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialed_numbers")),
        sa.UniqueConstraint(
            "routing_type", "string_key", name=op.f("uq_dialed_numbers_routing_type_string_key")
        ),
        sa.UniqueConstraint("voice_key", name=op.f("uq_dialed_numbers_voice_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_dialed_numbers_call_type_id"), "dialed_numbers", ["call_type_id"])


def downgrade() -> None:
    op.drop_table("dialed_numbers")
    op.drop_table("call_types")

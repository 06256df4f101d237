"""The contact-center directory: skill groups, attributes, desk settings, departments, media
routing domains; agents' memberships, attribute values, supervised teams and settings.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Every named kind has its name and its lower-cased ``name_key``, unique, so two jobs creating
the same name make one object. ``agent_teams`` gains one too (filled from the names it holds:
SCIM already kept them unique case-insensitively), a description, a change stamp and a
department. ``Cisco_Voice`` (media routing domain) and ``Default_Agent_Desk_Settings`` are made
here, and every agent gets the default desk settings. SQLite rebuilds ``agent_teams`` (its new
key is NOT NULL), keeping it AUTOINCREMENT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CISCO_VOICE = "Cisco_Voice"
DEFAULT_DESK_SETTINGS = "Default_Agent_Desk_Settings"


def _named(name: str, *columns: Any, autoincrement: bool = False) -> sa.Table:
    kwargs = {"sqlite_autoincrement": True} if autoincrement else {}
    return op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("name_key", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255), server_default=sa.text("''"), nullable=False),
        sa.Column("change_stamp", sa.Integer(), server_default="0", nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("name_key", name=op.f(f"uq_{name}_name_key")),
        **kwargs,
    )


def upgrade() -> None:
    domains = _named(
        "media_routing_domains",
        sa.Column("type", sa.String(32), server_default="voice", nullable=False),
        sa.Column("service_level_threshold", sa.Integer(), nullable=True),
    )
    _named("departments")
    desk_settings = _named(
        "agent_desk_settings",
        sa.Column(
            "agent_state_after_rona", sa.String(16), server_default="notReady", nullable=False
        ),
        sa.Column("auto_answer_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("idle_reason_required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "logout_reason_required", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("logout_non_activity_time", sa.Integer(), nullable=True),
        sa.Column("work_mode_timer", sa.Integer(), server_default="7200", nullable=False),
    )
    _named(
        "skill_groups",
        sa.Column("peripheral_id", sa.Integer(), nullable=False),
        sa.Column("peripheral_number", sa.Integer(), nullable=False),
        sa.Column("media_routing_domain_id", sa.Integer(), nullable=False),
        sa.Column("service_level_threshold", sa.Integer(), nullable=True),
        sa.Column("service_level_type", sa.SmallInteger(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=True),
        sa.Column("modified_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["peripheral_id"],
            ["peripherals.id"],
            name=op.f("fk_skill_groups_peripheral_id_peripherals"),
        ),
        sa.ForeignKeyConstraint(
            ["media_routing_domain_id"],
            ["media_routing_domains.id"],
            name=op.f("fk_skill_groups_media_routing_domain_id_media_routing_domains"),
        ),
        autoincrement=True,
    )
    op.create_index(op.f("ix_skill_groups_peripheral_id"), "skill_groups", ["peripheral_id"])
    _named(
        "attributes",
        sa.Column("data_type", sa.SmallInteger(), nullable=False),
        sa.Column("default_value", sa.String(16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=True),
        sa.Column("modified_ms", sa.BigInteger(), nullable=True),
        autoincrement=True,
    )
    _membership("agent_skill_groups", "agent_id", "agents", "skill_group_id", "skill_groups")
    _membership("team_supervisors", "team_id", "agent_teams", "agent_id", "agents")
    op.create_table(
        "agent_attributes",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_attributes_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attribute_id"],
            ["attributes.id"],
            name=op.f("fk_agent_attributes_attribute_id_attributes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "attribute_id", name=op.f("pk_agent_attributes")),
    )
    op.create_index(op.f("ix_agent_attributes_attribute_id"), "agent_attributes", ["attribute_id"])

    with op.batch_alter_table("agents", recreate="never") as batch:
        batch.add_column(sa.Column("agent_desk_settings_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("default_skill_group_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("agent_state_trace", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))

    with op.batch_alter_table("agent_teams", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("name_key", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("description", sa.String(255), server_default=sa.text("''"), nullable=False)
        )
        batch.add_column(
            sa.Column("change_stamp", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
    teams = sa.table("agent_teams", sa.column("id"), sa.column("name"), sa.column("name_key"))
    if not op.get_context().as_sql:
        conn = op.get_bind()
        # str.lower, as the code keys names (SQLite's lower() folds ASCII only).
        keys = [
            {"i": i, "k": name.lower()}
            for i, name in conn.execute(sa.text("SELECT id, name FROM agent_teams"))
        ]
        if keys:
            conn.execute(
                teams.update()
                .where(teams.c.id == sa.bindparam("i"))
                .values(name_key=sa.bindparam("k")),
                keys,
            )
    with op.batch_alter_table(
        "agent_teams", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.alter_column("name_key", existing_type=sa.String(64), nullable=False)
        # As the model writes it (a rebuild would write the reflected default as "('')").
        batch.alter_column(
            "description",
            existing_type=sa.String(255),
            existing_nullable=False,
            server_default=sa.text("''"),
        )
        batch.create_unique_constraint(op.f("uq_agent_teams_name_key"), ["name_key"])

    op.bulk_insert(
        domains,
        [
            {
                "id": 1,
                "name": CISCO_VOICE,
                "name_key": CISCO_VOICE.lower(),
                "type": "voice",
                "description": "Voice calls",
                "change_stamp": 0,
            }
        ],
    )
    op.bulk_insert(
        desk_settings,
        [
            {
                "id": 1,
                "name": DEFAULT_DESK_SETTINGS,
                "name_key": DEFAULT_DESK_SETTINGS.lower(),
                "description": "The default agent desk settings",
                "change_stamp": 0,
            }
        ],
    )
    op.execute("UPDATE agents SET agent_desk_settings_id = 1")
    if op.get_context().dialect.name == "postgresql":
        # The rows above were given ids: the sequences start after them.
        for name in ("media_routing_domains", "agent_desk_settings"):
            op.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 1)")


def _membership(name: str, left: str, left_table: str, right: str, right_table: str) -> None:
    op.create_table(
        name,
        sa.Column(left, sa.Integer(), nullable=False),
        sa.Column(right, sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [left],
            [f"{left_table}.id"],
            name=op.f(f"fk_{name}_{left}_{left_table}"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            [right],
            [f"{right_table}.id"],
            name=op.f(f"fk_{name}_{right}_{right_table}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(left, right, name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_{right}"), name, [right])


def downgrade() -> None:
    for name in (
        "agent_attributes",
        "team_supervisors",
        "agent_skill_groups",
        "attributes",
        "skill_groups",
        "agent_desk_settings",
        "departments",
        "media_routing_domains",
    ):
        op.drop_table(name)
    with op.batch_alter_table("agents", recreate="never") as batch:
        for column in (
            "password_hash",
            "agent_state_trace",
            "department_id",
            "default_skill_group_id",
            "agent_desk_settings_id",
        ):
            batch.drop_column(column)
    with op.batch_alter_table(
        "agent_teams", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_constraint(op.f("uq_agent_teams_name_key"), type_="unique")
        for column in ("department_id", "change_stamp", "description", "name_key"):
            batch.drop_column(column)

"""Ids are never reused: a deleted job's, agent's or team's id is never given to a new one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

SQLite hands out the highest id again once its row is deleted, unless the table is declared
AUTOINCREMENT; then ``sqlite_sequence`` keeps the highest id ever used. ``jobs``, ``agents``
and ``agent_teams`` are rebuilt so (copying every row, index, constraint and foreign key); the
copy seeds ``sqlite_sequence`` with each table's highest id.

PostgreSQL's serial sequences of ``jobs`` and ``agents`` never go back already; ``agent_teams.id``
had no sequence at all (SCIM took the highest id + 1): it gets one, as a serial column has,
starting after the highest team id. Each of the three sequences is also moved past its table's
highest id if it was behind (rows inserted with explicit ids), never back.

Ids deleted before this revision are not remembered anywhere: new ones start above the highest
id that exists when it runs. On SQLite the rebuild needs a live database (no ``--sql``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("jobs", "agents", "agent_teams")
TEAM_SEQUENCE = "agent_teams_id_seq"


def _dialect() -> str:
    return str(op.get_context().dialect.name)


def upgrade() -> None:
    if _dialect() == "sqlite":
        for name in TABLES:
            # env.py turns foreign keys off, so dropping the old table deletes no child rows.
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass
    elif _dialect() == "postgresql":
        # What a serial column is: an integer sequence owned by the column, its default.
        op.execute(f"CREATE SEQUENCE {TEAM_SEQUENCE} AS integer OWNED BY agent_teams.id")
        op.execute(
            f"ALTER TABLE agent_teams ALTER COLUMN id SET DEFAULT nextval('{TEAM_SEQUENCE}')"
        )
        for name in TABLES:
            # No insert may take a number between reading the sequence and setting it.
            op.execute(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")
            # nextval() is where the sequence stands; setval(..., false) makes the next call
            # return the larger of that and the highest id + 1: forward only.
            op.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), GREATEST("
                f"nextval(pg_get_serial_sequence('{name}', 'id')),"
                f" (SELECT max(id) + 1 FROM {name})), false)"
            )


def downgrade() -> None:
    if _dialect() == "sqlite":
        for name in reversed(TABLES):
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_autoincrement": False}
            ) as batch:
                # AUTOINCREMENT put the key on its column, unnamed: its named constraint back.
                batch.create_primary_key(f"pk_{name}", ["id"])
    elif _dialect() == "postgresql":
        op.execute("ALTER TABLE agent_teams ALTER COLUMN id DROP DEFAULT")
        op.execute(f"DROP SEQUENCE {TEAM_SEQUENCE}")

"""Creating and migrating the database schema with Alembic, configured in code (no alembic.ini)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

# Alembic announces each of its plugins at INFO when it is imported; that is only noise here.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import Engine, inspect  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db import make_engine  # noqa: E402
from app.db.models import Base  # noqa: E402

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url``; env.py reads the URL from ``attributes``."""
    cfg = Config()
    # ConfigParser interpolates '%': escape it in the path.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = url
    return cfg


def head() -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it has no schema yet."""
    if _sqlite_file_missing(url):
        return None
    engine = make_engine(url)
    try:
        return _current(engine)
    finally:
        engine.dispose()


def upgrade(url: str) -> None:
    """Create the schema, or migrate it to the newest revision. Safe to repeat."""
    _make_sqlite_dir(url)
    cfg = alembic_config(url)
    engine = make_engine(url)
    try:
        revision = _current(engine)
        present = set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if revision is None and present:
        _adopt(cfg, present)
        return
    command.upgrade(cfg, "head")


def _adopt(cfg: Config, present: set[str]) -> None:
    """A schema made by ``metadata.create_all`` (no Alembic version yet): mark it as head."""
    missing = set(Base.metadata.tables) - present
    if missing:
        raise RuntimeError(
            "the database holds some of bulkjob's tables but no schema version; missing: "
            + ", ".join(sorted(missing))
        )
    log.warning("the database has every table but no schema version: marking it as %s", head())
    command.stamp(cfg, "head")


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _sqlite_database(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_file_missing(url: str) -> bool:
    path = _sqlite_database(url)
    return path is not None and not path.exists()


def _make_sqlite_dir(url: str) -> None:
    path = _sqlite_database(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


# Indexes the migrations make where the database allows, which the models do not declare.
OPTIONAL_INDEXES = frozenset({"ix_jobs_description_trgm"})


def include_object(_obj: Any, name: str | None, type_: str, reflected: bool, _compare: Any) -> bool:
    """What autogenerate compares: everything but the optional indexes."""
    return not (type_ == "index" and reflected and name in OPTIONAL_INDEXES)

"""The directory's jobs run by the engine directly, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.db import db
from tests import factories
from tests.conftest import migrated_app


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.peripheral(conn, 5000)
        factories.peripheral(conn, 5001, "CUCM_PG_2")
    yield flask_app
    db.dispose()

"""The directory the identity-provider tests run against, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.db import db
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

SCIM_JSON = "application/scim+json"


@pytest.fixture(params=["sqlite", "postgresql"])
def idp_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """Two peripherals (5000, 5001), team 12 on the first and 13 on the second, an admin and a
    viewer."""
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        factories.user(conn, "viewer", "viewer", PASSWORD)
        factories.peripheral(conn, 5000)
        factories.peripheral(conn, 5001, "CUCM_PG_2")
        factories.team(conn, 12, 5000)
        factories.team(conn, 13, 5001)
    yield flask_app
    db.dispose()


@pytest.fixture
def idp(idp_app: Flask) -> FlaskClient:
    return idp_app.test_client()


def scim(
    client: FlaskClient, method: str, path: str, body: Any = None, user: str = "admin"
) -> TestResponse:
    """``method`` on /scim/v2``path`` with ``body`` as application/scim+json."""
    return client.open(
        "/scim/v2" + path,
        method=method,
        data=None if body is None else json.dumps(body),
        content_type=SCIM_JSON if body is not None else None,
        headers=basic(user),
    )


def ok(response: TestResponse, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(force=True) if response.data else None


def refused(response: TestResponse, status: int, scim_type: str | None, detail: str) -> None:
    """A SCIM Error of ``status``/``scim_type`` whose detail contains ``detail``."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body.get("scimType") == scim_type, body
    assert detail in body["detail"], body

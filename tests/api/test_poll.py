"""Polling ``GET /bulkjob/<id>`` with a bearer token: the token's check and the job's read go to
the database in one round trip (docs/performance.md, "One round trip a poll"), on SQLite and on
PostgreSQL, and every answer is what any other request gets: 401 for a token that is not live
(and nothing of the job), 429 once a caller has guessed too often, 403 for a role that may not
read jobs, 404 for a job that does not exist, 503 while the database is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.accounts import users
from app.db import db
from tests import factories
from tests.api.test_endpoints import BASE, GOOD, JSON
from tests.conftest import PASSWORD, basic, migrated_app, overrides_for
from tests.db.round_trips import round_trips

SECRET = "wave of secret names"


@pytest.fixture(params=["sqlite", "postgresql"])
def poll_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield flask_app
    db.dispose()


def job_and_token(username: str = "admin") -> tuple[int, str]:
    with db.write() as conn:
        return factories.stored_job(conn, GOOD, SECRET), users.create_token(conn, username)


def poll(client: FlaskClient, job_id: int, token: str, address: str = "127.0.0.1") -> Any:
    return client.get(
        f"{BASE}/bulkjob/{job_id}",
        headers={"Authorization": f"Bearer {token}", **JSON},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_poll_with_a_token_is_one_round_trip(poll_app: Flask) -> None:
    client = poll_app.test_client()
    job_id, token = job_and_token()
    first = poll(client, job_id, token)  # opens the reader
    assert first.status_code == 200

    with round_trips(db.engine) as sent:
        again = poll(client, job_id, token)

    assert len(sent) == 1, sent
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.get_json()["description"] == SECRET
    # With HTTP Basic the job is read on its own, the same.
    by_password = client.get(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON})
    assert by_password.get_json() == first.get_json()


def test_a_token_works_until_revoked_and_one_not_live_is_401_showing_nothing_of_the_job(
    poll_app: Flask,
) -> None:
    client = poll_app.test_client()
    job_id, token = job_and_token()
    assert poll(client, job_id, token).status_code == 200

    with db.write() as conn:
        users.revoke_tokens(conn, token=token)

    answers = set()
    for wrong in (token, token + "x", "bjt_" + "A" * 43, "not-a-token"):
        for asked in (job_id, job_id + 1000):  # the job, and one that does not exist
            response = poll(client, asked, wrong)
            assert response.status_code == 401
            assert response.get_json()["apiErrors"][0]["errorType"] == "notAuthorized"
            answers.add(response.get_data())
    # One answer whether the job exists or not, with nothing of it.
    assert len(answers) == 1
    assert SECRET.encode() not in answers.pop()


def test_404_for_a_missing_job_and_403_for_a_role_that_may_not_read_jobs(
    client: FlaskClient,
) -> None:
    job_id, token = job_and_token()
    missing = poll(client, job_id + 1000, token)
    assert missing.status_code == 404
    assert missing.get_json()["apiErrors"][0]["errorType"] == "notFound"

    supervisor = job_and_token("super")[1]
    refused = poll(client, job_id, supervisor)
    assert refused.status_code == 403
    assert SECRET.encode() not in refused.get_data()


def test_wrong_tokens_are_throttled_and_a_live_one_still_gets_in(client: FlaskClient) -> None:
    job_id, token = job_and_token()
    for n in range(10):
        assert poll(client, job_id, f"bjt_guess-{n}", "10.0.9.1").status_code == 401
    blocked = poll(client, job_id, "bjt_guess-10", "10.0.9.1")
    assert blocked.status_code == 429
    assert SECRET.encode() not in blocked.get_data()
    assert poll(client, job_id, token, "10.0.9.1").status_code == 200


def test_a_poll_while_the_database_is_down_is_503(tmp_path: Path) -> None:
    # Nothing listens on port 1: connecting is refused, as while PostgreSQL is down.
    down = "postgresql+psycopg://postgres@127.0.0.1:1/bulkjob"
    client = create_app(overrides=overrides_for(tmp_path, down)).test_client()
    try:
        response = poll(client, 1, "bjt_" + "A" * 43)
    finally:
        db.dispose()
    assert response.status_code == 503
    assert response.get_json()["apiErrors"][0]["errorType"] == "serviceUnavailable"

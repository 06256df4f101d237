"""Polling ``GET /bulkjob/<id>`` with a bearer token: the token's check and the job's read go to
the database in one round trip (docs/performance.md, "One round trip a poll"), on SQLite and on
PostgreSQL, and every answer is what any other request gets: 401 for a token that is not live
(and nothing of the job), 429 once a caller has guessed too often, 403 for a role that may not
read jobs, 404 for a job that does not exist, 503 while the database is down. A poll that will
succeed is answered before Flask (app/api/polls.py) with what Flask would answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from werkzeug.test import Client

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


def flask_alone(flask_app: Flask) -> Client:
    """A client of the app as Flask serves it, without the poll's path before it."""
    return Client(
        lambda environ, start: Flask.wsgi_app(flask_app, environ, start), flask_app.response_class
    )


def served(
    flask_app: Flask, client: Client, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[Any, bool]:
    """The answer to a request for ``path``, and whether Flask handled it."""
    seen: list[object] = []
    with request_started.connected_to(lambda _sender, **_: seen.append(1), flask_app):
        response = client.open(path, method=method, headers=headers)
    return response, bool(seen)


def answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, list(response.headers.items()), response.get_data()


def test_a_poll_that_will_succeed_is_answered_before_flask_with_what_flask_answers(
    poll_app: Flask,
) -> None:
    job_id, token = job_and_token()
    viewer = token_of("viewer", "viewer")
    path = f"{BASE}/bulkjob/{job_id}"
    bearer = {"Authorization": f"Bearer {token}"}
    cases = [
        (path, {**bearer, **JSON}),
        (path, bearer),  # no Accept: XML, Cisco's default
        (path, {**bearer, "Accept": "text/xml, application/json;q=0.5"}),
        (path + "/", {**bearer, **JSON}),
        (path, {"Authorization": f"bearer {token}", **JSON}),
        (path, {"Authorization": f"Bearer {viewer}", **JSON}),
    ]
    ours, theirs = poll_app.test_client(), flask_alone(poll_app)
    for asked, headers in cases:
        before, by_flask = served(poll_app, ours, asked, headers)
        alone, _ = served(poll_app, theirs, asked, headers)
        assert not by_flask, (asked, headers)
        assert before.status_code == 200
        assert answer(before) == answer(alone), (asked, headers)
    assert SECRET.encode() in before.get_data()


def token_of(name: str, role: str) -> str:
    """A token of a new user ``name`` of ``role``."""
    with db.write() as conn:
        factories.user(conn, name, role, PASSWORD)
        return users.create_token(conn, name)


def test_every_other_request_for_a_job_goes_on_to_flask(poll_app: Flask) -> None:
    job_id, token = job_and_token()
    supervisor = token_of("super", "supervisor")
    path = f"{BASE}/bulkjob/{job_id}"
    bearer = {"Authorization": f"Bearer {token}", **JSON}
    cases = [
        (path, {"Authorization": "Bearer bjt_" + "A" * 43, **JSON}, 401),
        (path, {"Authorization": f"Bearer {supervisor}", **JSON}, 403),
        (f"{BASE}/bulkjob/{job_id + 1000}", bearer, 404),
        (f"{BASE}/bulkjob/{2**31}", bearer, 404),
        (f"{BASE}/bulkjob/0{job_id}", bearer, None),
        (path + "?fields=all", bearer, 200),
        (path, {**basic(), **JSON}, 200),
        (path, JSON, 401),
    ]
    ours, theirs = poll_app.test_client(), flask_alone(poll_app)
    for asked, headers, status in cases:
        before, by_flask = served(poll_app, ours, asked, headers)
        alone, _ = served(poll_app, theirs, asked, headers)
        assert by_flask, (asked, headers)
        assert answer(before) == answer(alone), (asked, headers)
        assert status is None or before.status_code == status, (asked, before.status_code)
    head, by_flask = served(poll_app, ours, path, bearer, "HEAD")
    assert by_flask and head.status_code == 200

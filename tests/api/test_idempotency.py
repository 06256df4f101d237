"""Safe re-submission through the API: a create sent again with its Idempotency-Key, on SQLite
and PostgreSQL (docs/api.md, "Safe re-submission")."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app.db import db
from app.db.models import IdempotencyKey, Job, table
from app.jobs.idempotency import LIFETIME_MS
from tests import factories
from tests.api.test_endpoints import BASE, JSON, first_error
from tests.conftest import (
    PASSWORD,
    PG_URL,
    basic,
    migrated_app,
    reset_postgres,
    services_unavailable,
)

GOOD = factories.csv_text([["asmith", "A", "S", "asmith@sso"]])
keys = table(IdempotencyKey)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlaskClient]:
    """Two admins (keys are per user), on either database; one app for the module's tests (a
    migrated database costs seconds), so each test uses keys of its own and counts new jobs."""
    url = None
    if request.param == "postgresql":
        try:
            reset_postgres(PG_URL)
        except Exception as exc:  # pragma: no cover - depends on the machine
            services_unavailable(f"PostgreSQL at {PG_URL}: {exc}")
        url = PG_URL
    flask_app = migrated_app(tmp_path_factory.mktemp("idempotency"), url)
    with db.write() as conn:
        for name in ("admin", "other"):
            factories.user(conn, name, "admin", PASSWORD)
    yield flask_app.test_client()
    db.dispose()


def create(client: FlaskClient, key: str | None, user: str = "admin", **body: Any) -> Any:
    headers = {**basic(user), **JSON}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"{BASE}/bulkjob", json={"fileContent": GOOD, **body}, headers=headers)


def upload(client: FlaskClient, key: str, description: str) -> Any:
    """A multipart upload (its boundary is new on every send)."""
    return client.post(
        f"{BASE}/bulkjob",
        data={"file": (io.BytesIO(GOOD.encode()), "sso.csv"), "description": description},
        headers={**basic(), "Idempotency-Key": key},
    )


def job_count() -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(Job))).scalar_one())


def test_a_repeat_answers_as_the_first_did_and_creates_nothing(client: FlaskClient) -> None:
    before = job_count()
    first = create(client, "repeat", description="wave 1")
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    again = create(client, "repeat", description="wave 1")
    assert (again.status_code, again.headers["Location"]) == (201, first.headers["Location"])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data == b""
    assert job_count() == before + 1

    # A multipart upload sent again is the same request, though its boundary differs.
    uploaded = upload(client, "multipart", "wave 2")
    assert uploaded.status_code == 201
    assert upload(client, "multipart", "wave 2").headers["Location"] == uploaded.headers["Location"]
    assert job_count() == before + 2


def test_the_key_sent_with_another_request_is_refused_and_changes_nothing(
    client: FlaskClient,
) -> None:
    assert create(client, "reused", description="wave 1").status_code == 201
    before = job_count()
    for refused in (
        create(client, "reused", description="wave 2"),  # another option
        create(client, "reused", fileContent=factories.csv_text([["bjones", "", "", ""]])),
        client.post(  # the same file and description as a raw CSV body
            f"{BASE}/bulkjob?description=wave%201",
            data=GOOD,
            content_type="text/csv",
            headers={**basic(), **JSON, "Idempotency-Key": "reused"},
        ),
    ):
        assert refused.status_code == 422, refused.get_data(as_text=True)
        error = first_error(refused)
        assert error["errorType"] == "idempotencyKeyReused"
        assert error["errorData"] == "Idempotency-Key"
        assert "'reused' was sent with another request" in error["errorMessage"]
        assert "a new request needs a new key" in error["errorMessage"]
    assert job_count() == before


def test_the_key_is_per_user(client: FlaskClient) -> None:
    mine = create(client, "per-user")
    theirs = create(client, "per-user", user="other")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.headers["Location"] != mine.headers["Location"]
    for user, first in (("admin", mine), ("other", theirs)):  # each user's repeat: their job
        assert (
            create(client, "per-user", user=user).headers["Location"] == first.headers["Location"]
        )


def test_a_key_older_than_24_hours_is_new(client: FlaskClient) -> None:
    first = create(client, "expiring")
    with db.write() as conn:
        conn.execute(
            update(keys)
            .where(keys.c.idempotency_key == "expiring")
            .values(create_ms=keys.c.create_ms - LIFETIME_MS)
        )
    again = create(client, "expiring", description="another request may use it now")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.headers["Location"] != first.headers["Location"]
    repeated = create(client, "expiring", description="another request may use it now")
    assert repeated.headers["Location"] == again.headers["Location"]


def test_a_refused_request_leaves_its_key_unused(client: FlaskClient) -> None:
    before = job_count()
    assert create(client, "refused", fileContent="userName,what\nx,y\n").status_code == 400
    made = create(client, "refused")
    assert made.status_code == 201 and "Idempotent-Replayed" not in made.headers
    assert create(client, "refused").headers["Location"] == made.headers["Location"]
    assert job_count() == before + 1


def test_an_invalid_key_is_refused(client: FlaskClient) -> None:
    before = job_count()
    for key, found in (
        ("", "is empty"),
        ("x" * 256, "has 256"),
        ("tab\there", "holds others"),
        ("caf\u00e9", "holds others"),
    ):
        response = create(client, key)
        assert response.status_code == 400, key
        error = first_error(response)
        assert error["errorData"] == "Idempotency-Key"
        assert error["errorMessage"] == (
            "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID will do); "
            f"the one sent {found}"
        )
    assert job_count() == before

"""Asynchronous SCIM Bulk (``Prefer: respond-async``): a bulk job of type 100.

The first tests run the job with the engine in this process (as the worker's task does); the
last ones use real worker processes, one of them killed in the middle of the job.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.db import db
from app.db.models import Agent, AgentTeam, JobLine, table
from app.jobs import engine
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app
from tests.live import Worker, wait_for_final

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SCIM_JSON = "application/scim+json"
JSON = {"Accept": "application/json"}
ASYNC = {"Prefer": "respond-async"}

agents = table(Agent)
teams = table(AgentTeam)
lines = table(JobLine)


def make_app(tmp_path: Path, database_url: str | None, **settings: Any) -> Flask:
    flask_app = migrated_app(tmp_path, database_url, **settings)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        factories.user(conn, "viewer", "viewer", PASSWORD)
        factories.peripheral(conn, 5000)
        factories.agent(conn, "hr.known@example.com", first_name="Old", last_name="Name")
        conn.execute(
            agents.update()
            .where(agents.c.user_name == "hr.known@example.com")
            .values(external_id="HR-7")
        )
    return flask_app


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield make_app(tmp_path, url, chunk_size=2)
    db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def request(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}


def create(bulk_id: str, user_name: str, **extra: Any) -> dict[str, Any]:
    data = {"schemas": [USER], "userName": user_name, **extra}
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data}


def group(bulk_id: str, name: str, *members: str) -> dict[str, Any]:
    data = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


def submit(client: FlaskClient, body: dict[str, Any], user: str = "admin") -> TestResponse:
    return client.post(
        "/scim/v2/Bulk",
        data=json.dumps(body),
        content_type=SCIM_JSON,
        headers={**basic(user), **ASYNC},
    )


def accepted(client: FlaskClient, body: dict[str, Any]) -> tuple[str, int]:
    response = submit(client, body)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.headers["Preference-Applied"] == "respond-async"
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    location = response.headers["Location"].replace("http://localhost", "")
    assert location.startswith("/unifiedconfig/config/bulkjob/")
    return location, int(location.rsplit("/", 1)[1])


def run(app: Flask, job_id: int) -> int | None:
    return engine.run_job(db, app.config["SETTINGS"], job_id).final_state


def get(client: FlaskClient, path: str) -> TestResponse:
    response = client.get(path, headers={**basic(), **JSON})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_creates_run_together_but_a_repeated_or_held_external_id_updates(
    app: Flask, client: FlaskClient
) -> None:
    """Plain creates are inserted together; one whose externalId a user holds, or an earlier
    create of the same run names, updates that user instead (Entra's bulkUpload)."""
    with db.write() as conn:
        held = factories.agent(conn, "held.user")
        conn.execute(agents.update().where(agents.c.id == held).values(external_id="HELD-1"))
    body = request(
        create("p1", "p1@example.com", externalId="NEW-1"),
        create("p2", "p2@example.com", externalId="NEW-2"),
        create("p3", "p3@example.com", externalId="NEW-1", name={"givenName": "Third"}),
        create("p4", "p4@example.com", externalId="HELD-1"),
        create("p5", "p5@example.com"),
    )
    location, job_id = accepted(client, body)
    assert run(app, job_id) == 3
    results = get(client, f"{location}/response").get_json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "200", "200", "201"]
    assert results[2]["location"] == results[0]["location"]
    assert results[3]["location"].endswith(f"/Users/{held}")
    with db.read() as conn:
        rows = conn.execute(
            select(agents.c.external_id, agents.c.user_name, agents.c.first_name)
            .where(agents.c.external_id.in_(["HELD-1", "NEW-1", "NEW-2"]))
            .order_by(agents.c.external_id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("HELD-1", "p4@example.com", ""),
        ("NEW-1", "p3@example.com", "Third"),
        ("NEW-2", "p2@example.com", ""),
    ]


def test_an_async_request_is_a_job_with_log_failed_rows_and_a_bulk_response(
    app: Flask, client: FlaskClient
) -> None:
    body = request(
        group("g", "Night Shift", "bulkId:a", "bulkId:b"),  # forward references
        create("a", "a@example.com"),
        create("b", "b@example.com"),
        create("dup", "A@example.com"),  # taken by operation 2, case-insensitively
        create("hr", "hr.new@example.com", externalId="HR-7", name={"givenName": "New"}),
    )
    location, job_id = accepted(client, body)
    queued = get(client, location).get_json()
    assert queued["jobType"] == 100
    assert queued["bulkResponse"] == {"refURL": f"{location}/response"}
    xml = client.get(location, headers=basic()).get_data(as_text=True)
    assert f"<bulkResponse><refURL>{location}/response</refURL></bulkResponse>" in xml
    assert queued["jobState"] == 1
    assert queued["totalRecords"] == 5
    assert run(app, job_id) == 6  # Partially succeeded
    job = get(client, location).get_json()
    assert (job["processedRecords"], job["succeededRecords"], job["failedRecords"]) == (5, 4, 1)

    log = get(client, f"{location}/log").get_data(as_text=True)
    assert "Processing line 1: Header" not in log
    assert "Processing operation 1: POST /Users bulkId=a (operation 2 of the request)" in log
    assert "Processing operation 3: POST /Groups bulkId=g (operation 1 of the request)" in log
    assert " - 201 Created http://localhost/scim/v2/Groups/" in log
    assert "Error processing operation 4: 409 uniqueness: userName 'A@example.com'" in log
    assert "updated the existing User whose externalId is HR-7" in log
    assert "5 operations processed, 4 succeeded, 1 failed" in log

    response = get(client, f"{location}/response")
    assert response.mimetype == SCIM_JSON
    bulk = response.get_json()
    assert bulk["schemas"] == [BULK_RESPONSE]
    results = bulk["Operations"]
    assert [r["bulkId"] for r in results] == ["g", "a", "b", "dup", "hr"]
    assert [r["status"] for r in results] == ["201", "201", "201", "409", "200"]
    assert results[3]["response"]["scimType"] == "uniqueness"
    team_id = int(results[0]["location"].rsplit("/", 1)[1])
    with db.read() as conn:
        members = conn.execute(
            select(agents.c.user_name).where(agents.c.agent_team_id == team_id)
        ).scalars()
        assert sorted(members) == ["a@example.com", "b@example.com"]
        upserted = conn.execute(
            select(agents.c.user_name, agents.c.first_name).where(agents.c.external_id == "HR-7")
        ).all()
    assert [tuple(row) for row in upserted] == [("hr.new@example.com", "New")]

    failed = get(client, f"{location}/failed").get_data(as_text=True).splitlines()
    assert failed[0] == "operation,method,path,bulkId,data,lineNumber,error"
    assert len(failed) == 2
    assert failed[1].startswith("4,POST,/Users,dup,")
    assert "409 uniqueness" in failed[1]

    original = client.get(f"{location}/csv", headers=basic())
    assert original.mimetype == SCIM_JSON
    assert json.loads(original.get_data()) == body
    assert f"bulkjob-{job_id}.json" in original.headers["Content-Disposition"]


def test_fail_on_errors_stops_the_job(app: Flask, client: FlaskClient) -> None:
    body = request(
        create("x", "hr.known@example.com"),
        create("y", "HR.KNOWN@example.com"),
        create("z", "never@example.com"),
        failOnErrors=2,
    )
    location, job_id = accepted(client, body)
    assert run(app, job_id) == 4  # Failed
    job = get(client, location).get_json()
    assert (job["processedRecords"], job["failedRecords"], job["totalRecords"]) == (2, 2, 3)
    log = get(client, f"{location}/log").get_data(as_text=True)
    assert "Job stopped early: failOnErrors is 2: stopped after 2 failed operations" in log
    results = get(client, f"{location}/response").get_json()["Operations"]
    assert [r["bulkId"] for r in results] == ["x", "y"]
    with db.read() as conn:
        count = conn.execute(
            select(func.count()).where(agents.c.user_name == "never@example.com")
        ).scalar_one()
    assert count == 0


def test_a_circle_fails_its_operations_in_the_job(app: Flask, client: FlaskClient) -> None:
    agent_ext = "urn:bulkjob:params:scim:schemas:extension:agent:2.0:User"
    body = request(
        create("a", "circle@example.com", **{agent_ext: {"agentTeamId": "bulkId:g"}}),
        group("g", "Circle", "bulkId:a"),
    )
    location, job_id = accepted(client, body)
    assert run(app, job_id) == 4
    results = get(client, f"{location}/response").get_json()["Operations"]
    assert [r["status"] for r in results] == ["409", "409"]
    assert "Circular bulkId references" in results[0]["response"]["detail"]


def test_an_async_request_is_checked_before_it_is_accepted(app: Flask, client: FlaskClient) -> None:
    too_many = request(*(create(f"u{n}", f"u{n}@example.com") for n in range(1001)))
    response = submit(client, too_many)
    assert response.status_code == 413
    assert submit(client, {"Operations": "no"}).status_code == 400
    assert submit(client, request(create("a", "a@example.com")), user="viewer").status_code == 403
    listed = get(client, "/unifiedconfig/config/bulkjob").get_json()
    assert listed["pageInfo"]["totalResults"] == 0


def test_a_csv_upload_cannot_make_a_scim_job(client: FlaskClient) -> None:
    response = client.post(
        "/unifiedconfig/config/bulkjob",
        json={"fileContent": "operation,method,path,bulkId,data\n1,POST,/Users,a,{}\n"},
        headers={**basic(), **JSON},
    )
    assert response.status_code == 400
    response = client.post(
        "/unifiedconfig/config/bulkjob",
        json={"fileContent": "userName,firstName,lastName,newUserName\nx,,,y\n", "jobType": 100},
        headers={**basic(), **JSON},
    )
    assert response.status_code == 400
    assert "not made from a CSV upload" in response.get_data(as_text=True)


def test_only_scim_jobs_have_a_bulk_response(client: FlaskClient) -> None:
    response = client.post(
        "/unifiedconfig/config/bulkjob",
        json={"fileContent": "userName,firstName,lastName,newUserName\nx,,,y\n"},
        headers={**basic(), **JSON},
    )
    location = response.headers["Location"].replace("http://localhost", "")
    assert "bulkResponse" not in get(client, location).get_json()
    missing = client.get(f"{location}/response", headers={**basic(), **JSON})
    assert missing.status_code == 404
    assert "only SCIM bulk request jobs have the BulkResponse" in missing.get_data(as_text=True)


# With real workers -------------------------------------------------------------------------

OPERATIONS = 1000


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_async_bulk_survives_a_killed_worker(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """SIGKILL the worker in the middle of a 1,000-operation job: another worker finishes it,
    every operation has exactly one outcome, and the groups at the end find the users made
    before the kill through their bulkIds."""
    url = None if backend == "sqlite" else request.getfixturevalue("pg_url")
    broker = None if backend == "sqlite" else request.getfixturevalue("redis_url")
    settings: dict[str, Any] = {
        "chunk_size": 5,
        "lease_seconds": 3,
        "sweep_seconds": 0.5,
        "redispatch_seconds": 2,
    }
    if broker:
        settings["broker_url"] = broker
    flask_app = make_app(tmp_path, url, **settings)
    client = flask_app.test_client()
    users = OPERATIONS - 10
    operations = [create(f"u{n}", f"user{n:04}@example.com") for n in range(users)]
    operations += [
        group(f"g{k}", f"Team {k}", *(f"bulkId:u{n}" for n in range(k, users, 97)))
        for k in range(10)
    ]
    workers: list[Worker] = []
    try:
        first = Worker(flask_app.config["SETTINGS"], "worker-1", tmp_path)
        workers.append(first)
        first.wait_ready()
        location, job_id = accepted(client, request_body := request_of(operations))
        deadline = time.monotonic() + 60
        while get(client, location).get_json()["processedRecords"] < 100:
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.01)
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        before = get(client, location).get_json()["processedRecords"]
        assert before < OPERATIONS, "the job finished before the kill; nothing was tested"
        second = Worker(flask_app.config["SETTINGS"], "worker-2", tmp_path)
        workers.append(second)
        second.wait_ready()
        final = wait_for_final(client, basic(), location, timeout=120)
    finally:
        for worker in workers:
            worker.stop()
    assert final["jobState"] == 3, final
    assert final["processedRecords"] == OPERATIONS
    with db.read() as conn:
        outcomes = conn.execute(
            select(func.count(), func.count(func.distinct(lines.c.line_number))).where(
                lines.c.job_id == job_id
            )
        ).one()
        made = conn.execute(
            select(func.count()).where(agents.c.user_name.like("user%@example.com"))
        ).scalar_one()
        members = conn.execute(
            select(func.count()).where(agents.c.agent_team_id.is_not(None))
        ).scalar_one()
    assert tuple(outcomes) == (OPERATIONS, OPERATIONS)
    assert made == users
    assert members == sum(1 for n in range(users) if n % 97 < 10)
    results = get(client, f"{location}/response").get_json()["Operations"]
    assert [r["bulkId"] for r in results] == [op["bulkId"] for op in request_body["Operations"]]
    assert {r["status"] for r in results} == {"201"}
    log = get(client, f"{location}/log").get_data(as_text=True)
    assert "Job resumed on worker-2" in log
    db.dispose()


def request_of(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": operations}

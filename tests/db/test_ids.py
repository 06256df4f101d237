"""Ids are never reused: a deleted job's, agent's or team's id answers 404 for good, and what is
created next gets a higher one, on SQLite and on PostgreSQL (RFC 7643 §3.1 for SCIM ids)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.db import db
from app.db.models import Agent, AgentTeam, table
from app.directory import demo
from app.scim import groups as scim_groups
from app.scim.exceptions import Uniqueness
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

JOBS = "/unifiedconfig/config/bulkjob"
JSON = {"Accept": "application/json"}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_JSON = "application/scim+json"
CSV = factories.csv_text([["asmith", "A", "S", "asmith@sso"]])
# A team the factories insert with an explicit id (as the demo data does).
FACTORY_TEAM = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        factories.peripheral(conn, 5000)
        factories.team(conn, FACTORY_TEAM, 5000)
        factories.agent(conn, "existing@example.com", team_id=FACTORY_TEAM)
    yield flask_app
    db.dispose()


@pytest.fixture
def client(any_app: Flask) -> FlaskClient:
    return any_app.test_client()


# Jobs --------------------------------------------------------------------------------------


def create_job(client: FlaskClient) -> int:
    response = client.post(JOBS, json={"fileContent": CSV}, headers={**basic(), **JSON})
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def get_job(client: FlaskClient, job_id: int) -> TestResponse:
    return client.get(f"{JOBS}/{job_id}", headers={**basic(), **JSON})


def delete_job(client: FlaskClient, job_id: int) -> None:
    """Cancel the Queued job (no worker runs here), then delete it."""
    cancel = client.put(
        f"{JOBS}/{job_id}", json={"changeStamp": 0, "jobState": 5}, headers={**basic(), **JSON}
    )
    assert cancel.status_code == 200, cancel.get_data(as_text=True)
    assert client.delete(f"{JOBS}/{job_id}", headers={**basic(), **JSON}).status_code == 200


def test_a_deleted_jobs_id_is_never_given_again(client: FlaskClient) -> None:
    first = create_job(client)
    highest = create_job(client)
    delete_job(client, highest)
    assert get_job(client, highest).status_code == 404
    again = create_job(client)
    assert again > highest
    assert get_job(client, highest).status_code == 404
    # Not after deleting every job either.
    delete_job(client, first)
    delete_job(client, again)
    latest = create_job(client)
    assert latest > again
    for gone in (first, highest, again):
        assert get_job(client, gone).status_code == 404
    assert get_job(client, latest).get_json()["refURL"] == f"{JOBS}/{latest}"


# SCIM --------------------------------------------------------------------------------------


def send(client: FlaskClient, method: str, path: str, body: Any = None) -> TestResponse:
    return client.open(
        "/scim/v2" + path,
        method=method,
        data=None if body is None else json.dumps(body),
        content_type=SCIM_JSON if body is not None else None,
        headers=basic(),
    )


def create_user(client: FlaskClient, user_name: str) -> int:
    body = {"schemas": [USER], "userName": user_name, "name": {"givenName": "G", "familyName": "F"}}
    response = send(client, "POST", "/Users", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json(force=True)["id"])


def create_group(client: FlaskClient, name: str) -> int:
    response = send(client, "POST", "/Groups", {"schemas": [GROUP], "displayName": name})
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json(force=True)["id"])


@pytest.mark.parametrize(("resource", "create"), [("Users", create_user), ("Groups", create_group)])
def test_a_deleted_scim_resources_id_is_never_given_again(
    client: FlaskClient, resource: str, create: Any
) -> None:
    first = create(client, "first@example.com")
    highest = create(client, "highest@example.com")
    assert send(client, "DELETE", f"/{resource}/{highest}").status_code == 204
    assert send(client, "GET", f"/{resource}/{highest}").status_code == 404
    again = create(client, "again@example.com")
    assert again > highest
    assert send(client, "GET", f"/{resource}/{highest}").status_code == 404
    # The same name as the deleted one: still a new resource with a new id.
    same_name = create(client, "highest@example.com")
    assert same_name > again
    assert send(client, "GET", f"/{resource}/{highest}").status_code == 404
    assert send(client, "DELETE", f"/{resource}/{first}").status_code == 204
    assert send(client, "DELETE", f"/{resource}/{same_name}").status_code == 204
    latest = create(client, "latest@example.com")
    assert latest > same_name
    for gone in (first, highest, same_name):
        assert send(client, "GET", f"/{resource}/{gone}").status_code == 404


def test_a_group_created_after_explicit_team_ids_gets_a_new_id(client: FlaskClient) -> None:
    """The factories (as the demo data) insert teams with ids given explicitly; on PostgreSQL
    the sequence is moved past them, so SCIM's first Group does not collide with one."""
    assert create_group(client, "After the factory") > FACTORY_TEAM
    listed = send(client, "GET", f"/Groups/{FACTORY_TEAM}")
    assert listed.get_json(force=True)["displayName"] == f"Team {FACTORY_TEAM}"


def test_bulk_creates_after_a_delete_get_new_ids(client: FlaskClient) -> None:
    user = create_user(client, "deleted@example.com")
    group = create_group(client, "Deleted")
    assert send(client, "DELETE", f"/Users/{user}").status_code == 204
    assert send(client, "DELETE", f"/Groups/{group}").status_code == 204
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{n}",
            "data": {"schemas": [USER], "userName": f"bulk{n}@example.com"},
        }
        for n in range(3)
    ]
    operations.append(
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": {"schemas": [GROUP], "displayName": "Deleted"},
        }
    )
    response = send(client, "POST", "/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json(force=True)["Operations"]
    assert [result["status"] for result in results] == ["201"] * 4
    ids = {result["bulkId"]: int(result["location"].rsplit("/", 1)[1]) for result in results}
    assert min(ids[f"u{n}"] for n in range(3)) > user
    assert ids["g"] > group
    assert send(client, "GET", f"/Users/{user}").status_code == 404
    assert send(client, "GET", f"/Groups/{group}").status_code == 404


def test_concurrent_group_creates(any_app: Flask) -> None:
    """Two transactions creating Groups at once get distinct ids, and only one of them can take
    a name: on PostgreSQL the second waits for the first's lock before it looks (SQLite lets
    one writer in at a time)."""
    outcomes: list[Any] = []

    def second(name: str) -> None:
        try:
            with db.write() as conn:
                outcomes.append(scim_groups.create_group(conn, {"displayName": name}, None))
        except Uniqueness as exc:
            outcomes.append(exc)

    for mine, theirs in (("Sales", "Support"), ("Billing", "BILLING")):
        outcomes.clear()
        with db.write() as conn:
            outcomes.append(scim_groups.create_group(conn, {"displayName": mine}, None))
            thread = threading.Thread(target=second, args=(theirs,))
            thread.start()
            thread.join(0.5)  # blocked on the lock (PostgreSQL) or the write lock (SQLite)
        thread.join(30)
        assert not thread.is_alive()
        assert len(outcomes) == 2
        if mine.lower() == theirs.lower():
            assert isinstance(outcomes[1], Uniqueness), outcomes
        else:
            assert isinstance(outcomes[1], int) and outcomes[1] != outcomes[0], outcomes
    with db.read() as conn:
        names = conn.execute(select(table(AgentTeam).c.name)).scalars().all()
    assert sorted(name.lower() for name in names) == sorted(
        ["billing", "sales", "support", f"team {FACTORY_TEAM}"]
    )


# Demo data ---------------------------------------------------------------------------------


def highest(model: type[Agent] | type[AgentTeam]) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.max(table(model).c.id))).scalar_one())


def test_ids_after_demo_data_and_its_replacement(client: FlaskClient) -> None:
    """Demo data gives its ids explicitly: SCIM creates afterwards get ids above them, and above
    every id used before a replace (the demo's own ids are given again by design)."""
    with db.write() as conn:
        demo.load_demo(conn, 30, replace=True)
    user = create_user(client, "after.demo@example.com")
    group = create_group(client, "After the demo")
    assert user > demo.FIRST_AGENT_ID + 29
    assert group > demo.FIRST_TEAM_ID + 39
    with db.write() as conn:
        demo.load_demo(conn, 10, replace=True)
    assert highest(Agent) < user and highest(AgentTeam) < group
    assert send(client, "GET", f"/Users/{user}").status_code == 404
    assert send(client, "GET", f"/Groups/{group}").status_code == 404
    assert create_user(client, "after.replace@example.com") > user
    assert create_group(client, "After the replace") > group

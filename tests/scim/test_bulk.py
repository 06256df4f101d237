"""SCIM /Bulk (RFC 7644 §3.7), synchronous: every rule of issue 7 on SQLite and PostgreSQL."""

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
from app.db.models import Agent, AgentTeam, Job, table
from app.scim import users as scim_users
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
AGENT = "urn:bulkjob:params:scim:schemas:extension:agent:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"

agents = table(Agent)
teams = table(AgentTeam)


@pytest.fixture(params=["sqlite", "postgresql"])
def bulk_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        factories.user(conn, "viewer", "viewer", PASSWORD)
        factories.peripheral(conn, 5000)
        factories.team(conn, 12, 5000)
        factories.agent(conn, "existing@example.com", first_name="Ex", last_name="Isting")
    yield flask_app
    db.dispose()


@pytest.fixture
def client(bulk_app: Flask) -> FlaskClient:
    return bulk_app.test_client()


def post_bulk(
    client: FlaskClient,
    body: Any,
    user: str = "admin",
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return client.post(
        "/scim/v2/Bulk",
        data=raw if raw is not None else json.dumps(body),
        content_type=SCIM_JSON,
        headers={**basic(user), **(headers or {})},
    )


def request(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}


def create(bulk_id: str, user_name: str, **extra: Any) -> dict[str, Any]:
    data = {"schemas": [USER], "userName": user_name, "name": {"givenName": "G", "familyName": "F"}}
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {**data, **extra}}


def group(bulk_id: str, name: str, *members: str) -> dict[str, Any]:
    data = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


def operations(response: TestResponse) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.get_json(force=True)
    assert body["schemas"] == [BULK_RESPONSE]
    return list(body["Operations"])


def user_names() -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(agents.c.user_name).order_by(agents.c.id)).scalars())


def team_of(user_name: str) -> int | None:
    with db.read() as conn:
        return conn.execute(
            select(agents.c.agent_team_id).where(agents.c.user_name == user_name)
        ).scalar_one()


def test_all_four_methods_in_order_with_status_location_and_version(client: FlaskClient) -> None:
    existing = client.get(
        '/scim/v2/Users?filter=userName eq "existing@example.com"', headers=basic()
    )
    existing_id = existing.get_json(force=True)["Resources"][0]["id"]
    body = request(
        create("u1", "one@example.com", externalId="HR-1"),
        {
            "method": "PUT",
            "path": f"/Users/{existing_id}",
            "version": 'W/"0"',
            "data": {"schemas": [USER], "userName": "existing@example.com", "active": False},
        },
        {
            "method": "PATCH",
            "path": "/Users/bulkId:u1",
            "data": {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "displayName", "value": "One"}],
            },
        },
        {"method": "DELETE", "path": f"/Users/{existing_id}"},
    )
    results = operations(post_bulk(client, body))
    assert [r["method"] for r in results] == ["POST", "PUT", "PATCH", "DELETE"]
    assert [r["status"] for r in results] == ["201", "200", "200", "204"]
    created = results[0]
    assert created["bulkId"] == "u1"
    assert created["version"] == 'W/"0"'
    new_id = created["location"].rsplit("/", 1)[1]
    assert created["location"] == f"http://localhost/scim/v2/Users/{new_id}"
    assert results[1]["version"] == 'W/"1"'
    assert results[2]["location"] == created["location"]
    assert results[2]["version"] == 'W/"1"'
    assert results[3]["location"].endswith(f"/Users/{existing_id}")
    assert "response" not in created
    assert user_names() == ["one@example.com"]
    got = client.get(f"/scim/v2/Users/{new_id}", headers=basic()).get_json(force=True)
    assert got["displayName"] == "One"
    assert got["externalId"] == "HR-1"


def test_forward_references_are_resolved_including_group_members(client: FlaskClient) -> None:
    body = request(
        group("g1", "Team Forward", "bulkId:u1", "bulkId:u2"),
        {
            "method": "PATCH",
            "path": "/Users/bulkId:u2",
            "data": {"Operations": [{"op": "replace", "path": "active", "value": False}]},
        },
        create("u1", "first@example.com"),
        create("u2", "second@example.com"),
    )
    results = operations(post_bulk(client, body))
    # Answered in request order, whatever order they ran in.
    assert [r.get("bulkId") for r in results] == ["g1", None, "u1", "u2"]
    assert [r["status"] for r in results] == ["201", "200", "201", "201"]
    team_id = int(results[0]["location"].rsplit("/", 1)[1])
    assert team_of("first@example.com") == team_id
    assert team_of("second@example.com") == team_id
    members = client.get(f"/scim/v2/Groups/{team_id}", headers=basic()).get_json(force=True)
    ids = sorted(m["value"] for m in members["members"])
    assert ids == sorted(r["location"].rsplit("/", 1)[1] for r in results[2:])
    second = client.get(results[3]["location"], headers=basic()).get_json(force=True)
    assert second["active"] is False


def test_a_circle_of_references_is_409_and_the_rest_still_runs(client: FlaskClient) -> None:
    body = request(
        create("a", "circle-a@example.com", **{AGENT: {"agentTeamId": "bulkId:g"}}),
        group("g", "Circle", "bulkId:a"),
        create("ok", "fine@example.com"),
        group("later", "Depends", "bulkId:a"),
    )
    results = operations(post_bulk(client, body))
    assert [r["status"] for r in results] == ["409", "409", "201", "409"]
    for result in (results[0], results[1]):
        assert result["response"]["schemas"] == [ERROR]
        assert result["response"]["status"] == "409"
        assert result["response"]["scimType"] == "invalidValue"
        assert "Circular bulkId references" in result["response"]["detail"]
    assert "which failed" in results[3]["response"]["detail"]
    assert user_names() == ["existing@example.com", "fine@example.com"]
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(teams)).scalar_one() == 1


def test_references_to_failed_or_unknown_bulk_ids_are_409(client: FlaskClient) -> None:
    body = request(
        create("dup", "existing@example.com"),  # the userName is taken
        group("g", "Refers To Failed", "bulkId:dup"),
        group("h", "Refers To Nothing", "bulkId:nowhere"),
    )
    results = operations(post_bulk(client, body))
    assert [r["status"] for r in results] == ["409", "409", "409"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert "operation 1, which failed" in results[1]["response"]["detail"]
    assert "not defined" in results[2]["response"]["detail"]


def test_fail_on_errors_stops_after_the_nth_error(client: FlaskClient) -> None:
    body = request(
        create("a", "existing@example.com"),
        create("b", "b@example.com"),
        {"method": "DELETE", "path": "/Users/999999"},
        create("c", "c@example.com"),
        failOnErrors=2,
    )
    results = operations(post_bulk(client, body))
    assert [(r.get("bulkId"), r["status"]) for r in results] == [
        ("a", "409"),
        ("b", "201"),
        (None, "404"),
    ]
    assert "c@example.com" not in user_names()
    everything = request(*body["Operations"])
    results = operations(post_bulk(client, everything))
    assert [r["status"] for r in results] == ["409", "409", "404", "201"]


@pytest.mark.parametrize("value", [0, -1, "x", True, 1.5])
def test_fail_on_errors_must_be_a_positive_integer(client: FlaskClient, value: Any) -> None:
    response = post_bulk(client, request(create("a", "a@example.com"), failOnErrors=value))
    assert response.status_code == 400
    assert response.get_json(force=True)["scimType"] == "invalidValue"
    assert "a@example.com" not in user_names()


def test_too_many_operations_is_413_before_any_runs(client: FlaskClient) -> None:
    body = request(*(create(f"u{n}", f"u{n}@example.com") for n in range(1001)))
    response = post_bulk(client, body)
    assert response.status_code == 413
    error = response.get_json(force=True)
    assert error["schemas"] == [ERROR]
    assert error["status"] == "413"
    assert "maxOperations is 1000" in error["detail"]
    assert user_names() == ["existing@example.com"]


def test_a_payload_over_3_mb_is_413_before_any_runs(client: FlaskClient) -> None:
    padding = "x" * (3 * 1024 * 1024)
    body = request(create("a", "a@example.com", title=padding))
    response = post_bulk(client, body)
    assert response.status_code == 413
    assert "maxPayloadSize is 3145728 bytes" in response.get_json(force=True)["detail"]
    assert user_names() == ["existing@example.com"]


def test_the_limits_are_what_service_provider_config_says(client: FlaskClient) -> None:
    config = client.get("/scim/v2/ServiceProviderConfig", headers=basic()).get_json(force=True)
    assert config["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 3145728}
    body = request(*(create(f"u{n}", f"u{n}@example.com") for n in range(1000)))
    results = operations(post_bulk(client, body))
    assert {r["status"] for r in results} == {"201"}
    assert len(user_names()) == 1001
    numbers = [
        client.get(r["location"], headers=basic()).get_json(force=True)[AGENT]["agentId"]
        for r in results[:3]
    ]
    assert len({int(n) for n in numbers}) == 3


def test_vendor_spellings_string_data_and_unknown_attributes(client: FlaskClient) -> None:
    """Webex sends ``operations`` and data as a JSON string; Celonis sends attributes no
    schema of ours declares."""
    data = json.dumps({"schemas": [USER], "userName": "webex@example.com"})
    body = {
        "SCHEMAS": [BULK_REQUEST],
        "operations": [
            {"METHOD": "post", "Path": "/users", "BULKID": "w", "DATA": data},
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "c",
                "data": {
                    "schemas": [USER],
                    "userName": "celonis@example.com",
                    "role": "ANALYST",
                    "sendEmailOnInvitation": False,
                },
            },
        ],
    }
    results = operations(post_bulk(client, body))
    assert [r["status"] for r in results] == ["201", "201"]
    assert user_names() == ["existing@example.com", "webex@example.com", "celonis@example.com"]


def test_each_operation_is_atomic(client: FlaskClient) -> None:
    # A group whose second member does not exist: the group is not left half made.
    body = request(
        create("u", "member@example.com"),
        group("g", "Half", "bulkId:u", "999999"),
    )
    results = operations(post_bulk(client, body))
    assert [r["status"] for r in results] == ["201", "400"]
    assert team_of("member@example.com") is None
    with db.read() as conn:
        names = conn.execute(select(teams.c.name)).scalars().all()
    assert "Half" not in names


@pytest.mark.parametrize(
    ("operation", "detail"),
    [
        ({"method": "GET", "path": "/Users"}, "method must be one of"),
        ({"method": "POST", "path": "/Users", "data": {"userName": "x"}}, "needs a bulkId"),
        ({"method": "POST", "path": "/Things", "bulkId": "t", "data": {}}, "/Users or /Groups"),
        ({"method": "PUT", "path": "/Users", "data": {}}, "path is /Users/{id}"),
        ({"method": "PATCH", "path": "/Users/1"}, "needs data"),
        (
            {"method": "POST", "path": "/Users", "bulkId": "s", "data": "{not json"},
            "not valid JSON",
        ),
        ("not an object", "must be a JSON object"),
    ],
)
def test_a_malformed_operation_fails_alone(
    client: FlaskClient, operation: Any, detail: str
) -> None:
    results = operations(post_bulk(client, request(operation, create("ok", "ok@example.com"))))
    assert results[0]["status"] == "400"
    assert detail in results[0]["response"]["detail"]
    assert results[1]["status"] == "201"


def test_a_bulk_id_used_twice_fails_the_second(client: FlaskClient) -> None:
    results = operations(
        post_bulk(client, request(create("x", "x1@example.com"), create("x", "x2@example.com")))
    )
    assert [r["status"] for r in results] == ["201", "400"]
    assert "already used by operation 1" in results[1]["response"]["detail"]


def test_version_is_if_match(client: FlaskClient) -> None:
    found = client.get('/scim/v2/Users?filter=userName eq "existing@example.com"', headers=basic())
    user_id = found.get_json(force=True)["Resources"][0]["id"]
    patch = {"Operations": [{"op": "replace", "path": "active", "value": False}]}
    results = operations(
        post_bulk(
            client,
            request(
                {"method": "PATCH", "path": f"/Users/{user_id}", "version": 'W/"7"', "data": patch},
                {"method": "DELETE", "path": f"/Users/{user_id}", "version": 'W/"0"'},
            ),
        )
    )
    assert [r["status"] for r in results] == ["412", "204"]


@pytest.mark.parametrize(
    ("raw", "status", "scim_type"),
    [
        (b"{not json", 400, "invalidSyntax"),
        (b"[]", 400, "invalidSyntax"),
        (b'{"schemas": []}', 400, "invalidSyntax"),
        (b'{"Operations": []}', 400, "invalidValue"),
        # Nesting json itself gives up on, and nesting no SCIM resource has.
        (b'{"Operations": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", 400, "invalidSyntax"),
        (b'{"Operations": [{"data": ' + b"[" * 40 + b"]" * 40 + b"}]}", 400, "invalidSyntax"),
    ],
)
def test_a_malformed_request_changes_nothing(
    client: FlaskClient, raw: bytes, status: int, scim_type: str
) -> None:
    response = post_bulk(client, None, raw=raw)
    assert response.status_code == status
    assert response.get_json(force=True)["scimType"] == scim_type
    assert user_names() == ["existing@example.com"]


def test_only_admins_may_send_bulk(client: FlaskClient) -> None:
    response = post_bulk(client, request(create("a", "a@example.com")), user="viewer")
    assert response.status_code == 403
    assert user_names() == ["existing@example.com"]


def test_bulk_users_are_agents_in_the_api_and_the_template(client: FlaskClient) -> None:
    operations(post_bulk(client, request(create("a", "bulk.agent@example.com"))))
    listed = client.get(
        "/unifiedconfig/config/agent?q=bulk.agent",
        headers={**basic(), "Accept": "application/json"},
    )
    assert "bulk.agent@example.com" in listed.get_data(as_text=True)
    template = client.get("/unifiedconfig/config/bulkjob/templates/ssomigration", headers=basic())
    assert "bulk.agent@example.com" in template.get_data(as_text=True)


def test_concurrent_creates_get_distinct_agent_ids(bulk_app: Flask) -> None:
    """Two transactions creating users at once: on PostgreSQL the second waits for the first's
    advisory lock instead of reading the same highest agentId (SQLite serialises writers)."""
    numbers: list[str] = []

    def second() -> None:
        with db.write() as conn:
            new_id = scim_users.create_user(conn, {"userName": "second@example.com"}, None)
            numbers.append(scim_users.get_user(conn, str(new_id)).agent_id)

    with db.write() as conn:
        new_id = scim_users.create_user(conn, {"userName": "first@example.com"}, None)
        numbers.append(scim_users.get_user(conn, str(new_id)).agent_id)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # blocked on the lock (PostgreSQL) or the write lock (SQLite)
    thread.join(30)
    assert not thread.is_alive()
    assert len(numbers) == 2
    assert len(set(numbers)) == 2, numbers


def test_plain_creates_decided_together_keep_every_rule(client: FlaskClient) -> None:
    """A run of creates goes through the set-based path: duplicates inside the request (in any
    case), names already taken and bad values are refused one by one, explicit agentIds are
    kept (and one given twice on a peripheral refused the second time), employee numbers are
    kept, and failOnErrors cuts the run at the right operation."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    body = request(
        create("a", "batch.a@example.com"),
        create("b", "BATCH.A@example.com"),
        create("c", "existing@example.com"),
        create(
            "d",
            "batch.d@example.com",
            **{AGENT: {"agentId": "777777"}, enterprise: {"employeeNumber": "E-1001"}},
        ),
        create("e", "batch.e@example.com", active="maybe"),
        create("f", "batch.f@example.com"),
        create("g2", "batch.g2@example.com", **{AGENT: {"agentId": "777777"}}),
    )
    results = operations(post_bulk(client, body))
    assert [r["status"] for r in results] == ["201", "409", "409", "201", "400", "201", "409"]
    assert "'BATCH.A@example.com' is already taken" in results[1]["response"]["detail"]
    assert "agentId 777777 is already taken" in results[6]["response"]["detail"]
    users = [
        client.get(results[i]["location"], headers=basic()).get_json(force=True) for i in (0, 3, 5)
    ]
    # Each location is its own operation's user (the ids of one insert, matched back).
    assert [user["userName"] for user in users] == [
        "batch.a@example.com",
        "batch.d@example.com",
        "batch.f@example.com",
    ]
    numbers = [user[AGENT]["agentId"] for user in users]
    assert numbers[1] == "777777"
    assert users[1][enterprise] == {"employeeNumber": "E-1001"}
    assert int(numbers[2]) > 777777  # counted on from the highest, as max + 1 would
    cut = request(
        create("g", "batch.g@example.com"),
        create("h", "existing@example.com"),
        create("i", "batch.i@example.com"),
        create("j", "batch.a@example.com"),
        create("k", "batch.k@example.com"),
        failOnErrors=2,
    )
    results = operations(post_bulk(client, cut))
    assert [(r["bulkId"], r["status"]) for r in results] == [
        ("g", "201"),
        ("h", "409"),
        ("i", "201"),
        ("j", "409"),
    ]
    assert "batch.k@example.com" not in user_names()


def test_a_create_racing_another_transaction_falls_back_to_one_at_a_time(
    bulk_app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, request: Any
) -> None:
    """Between the batch's read and its insert another transaction takes a userName (possible
    on PostgreSQL; SQLite's writer holds the database): the batch is redone one at a time."""
    if "sqlite" in request.node.callspec.id:
        pytest.skip("SQLite serialises writers: no other transaction can get in between")
    real = scim_users.prepare_users

    def racing(*args: Any, **kwargs: Any) -> Any:
        prepared = real(*args, **kwargs)
        with db.engine.begin() as other:
            factories.agent(other, "raced@example.com")
        return prepared

    monkeypatch.setattr(scim_users, "prepare_users", racing)
    results = operations(
        post_bulk(
            client,
            {
                "Operations": [
                    create("x", "before@example.com"),
                    create("y", "raced@example.com"),
                    create("z", "after@example.com"),
                ]
            },
        )
    )
    assert [r["status"] for r in results] == ["201", "409", "201"]
    assert sorted(user_names()) == [
        "after@example.com",
        "before@example.com",
        "existing@example.com",
        "raced@example.com",
    ]


def test_a_data_string_nested_too_deeply_fails_its_operation_alone(client: FlaskClient) -> None:
    deep = '{"userName": "deep@example.com", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    body = request(
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": deep},
        create("ok", "ok@example.com"),
    )
    results = operations(post_bulk(client, body))
    assert [r["status"] for r in results] == ["400", "201"]
    assert results[0]["response"]["scimType"] == "invalidSyntax"
    assert "nests deeper than 32 levels" in results[0]["response"]["detail"]


def test_an_async_request_sent_again_with_its_idempotency_key_makes_one_job(
    client: FlaskClient,
) -> None:
    """Answered as the first was (202, the same Location), no second job; the key with another
    request is 422; an invalid key, or one on a synchronous request (not remembered), is 400."""
    body = request(create("a", "keyed@example.com"))
    keyed = {"Prefer": "respond-async", "Idempotency-Key": "scim-1"}
    first = post_bulk(client, body, headers=keyed)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    again = post_bulk(client, body, headers=keyed)
    assert again.status_code == 202, again.get_data(as_text=True)
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Preference-Applied"] == "respond-async"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == b""
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(table(Job))).scalar_one() == 1

    other = post_bulk(client, request(create("a", "other@example.com")), headers=keyed)
    assert other.status_code == 422
    error = other.get_json(force=True)
    assert error["schemas"] == [ERROR] and error["status"] == "422"
    assert "Idempotency-Key 'scim-1' was sent with another request" in error["detail"]

    invalid = post_bulk(client, body, headers={**keyed, "Idempotency-Key": "x" * 256})
    assert invalid.status_code == 400
    assert invalid.get_json(force=True)["scimType"] == "invalidValue"
    synchronous = post_bulk(client, body, headers={"Idempotency-Key": "scim-2"})
    assert synchronous.status_code == 400
    assert "asynchronous /Bulk only" in synchronous.get_json(force=True)["detail"]
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(table(Job))).scalar_one() == 1
    assert "keyed@example.com" not in user_names()  # the job is Queued; nothing ran here

"""SCIM 2.0 /Users: agents created, read, listed, replaced, patched and deleted over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.db import db
from app.db.models import Agent, table
from app.jobs import engine
from tests import factories
from tests.conftest import basic

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
AGENT = "urn:bulkjob:params:scim:schemas:extension:agent:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"


def send(
    client: FlaskClient,
    method: str,
    path: str,
    body: Any = None,
    user: str = "admin",
    headers: dict[str, str] | None = None,
    content_type: str = SCIM_JSON,
) -> TestResponse:
    return client.open(
        "/scim/v2" + path,
        method=method,
        data=None if body is None else json.dumps(body),
        content_type=content_type if body is not None else None,
        headers={**basic(user), **(headers or {})},
    )


def new_user(user_name: str = "jdoe@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        **extra,
    }


def assert_scim_error(response: TestResponse, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]


@pytest.fixture
def directory(app: Flask) -> dict[str, int]:
    with db.write() as conn:
        factories.peripheral(conn, 5000)
        factories.peripheral(conn, 5001, "CUCM_PG_2")
        factories.team(conn, 12, 5000)
        factories.team(conn, 13, 5001)
        ids = {
            "alice": factories.agent(
                conn, "Alice.Smith@example.com", first_name="Alice", last_name="Smith"
            ),
            "bob": factories.agent(
                conn,
                "bob@example.com",
                first_name="Bob",
                last_name="Jones",
                team_id=12,
                supervisor=True,
            ),
            "carol": factories.agent(
                conn,
                "carol@other.org",
                first_name="Carol",
                last_name="Smithers",
                peripheral_id=5001,
                sso=True,
            ),
        }
    return ids


def test_create_then_get(client: FlaskClient, directory: dict[str, int]) -> None:
    response = send(client, "POST", "/Users", new_user(externalId="HR-1", active=True))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.get_json(force=True)
    assert body["userName"] == "jdoe@example.com"
    assert body["externalId"] == "HR-1"
    assert body["name"] == {"givenName": "Jane", "familyName": "Doe"}
    assert body["active"] is True
    assert body[AGENT].pop("agentId").isdigit()
    assert body[AGENT] == {"peripheralId": 5000, "supervisor": False, "ssoEnabled": False}
    assert ENTERPRISE not in body  # no employeeNumber was given
    assert body["schemas"] == [USER, AGENT]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["version"] == 'W/"0"'
    assert response.headers["ETag"] == 'W/"0"'
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    again = send(client, "GET", f"/Users/{body['id']}", user="viewer")
    assert again.status_code == 200
    assert again.get_json(force=True) == response.get_json(force=True)


def test_create_with_our_extension_and_json_media_type(
    client: FlaskClient, directory: dict[str, int]
) -> None:
    user = new_user(
        "Agent.X@example.com",
        **{
            AGENT: {
                "peripheralId": 5001,
                "agentTeamId": 13,
                "supervisor": True,
                "ssoEnabled": "true",
            },
            ENTERPRISE: {"employeeNumber": "E-777001"},
        },
    )
    response = send(client, "POST", "/Users", user, content_type="application/json")
    assert response.status_code == 201
    body = response.get_json(force=True)
    assert body[AGENT].pop("agentId").isdigit()
    assert body[AGENT] == {
        "peripheralId": 5001,
        "agentTeamId": 13,
        "supervisor": True,
        "ssoEnabled": True,
    }
    assert body[ENTERPRISE] == {"employeeNumber": "E-777001"}
    assert body["schemas"] == [USER, ENTERPRISE, AGENT]


def test_attribute_names_are_case_insensitive_and_unknown_ones_ignored(
    client: FlaskClient, directory: dict[str, int]
) -> None:
    user = {
        "SCHEMAS": [USER],
        "USERNAME": "celonis@example.com",
        "Name": {"GIVENNAME": "Cel"},
        "displayname": "Bulk User #1",
        "role": "MEMBER",
        "sendEmailOnInvitation": "true",
        AGENT.upper(): {"PERIPHERALID": "5001"},
    }
    response = send(client, "POST", "/Users", user)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["userName"] == "celonis@example.com"
    assert body["name"] == {"givenName": "Cel"}
    assert body["displayName"] == "Bulk User #1"
    assert body[AGENT]["peripheralId"] == 5001
    assert "role" not in body


def test_default_peripheral_setting(tmp_path: Any) -> None:
    from app import create_app
    from app.db import migrate as schema
    from tests.conftest import PASSWORD, overrides_for

    app = create_app(overrides={**overrides_for(tmp_path), "scim_default_peripheral": 5001})
    schema.upgrade(app.config["SETTINGS"].database_url)
    try:
        with db.write() as conn:
            factories.user(conn, "admin", "admin", PASSWORD)
            factories.peripheral(conn, 5000)
            factories.peripheral(conn, 5001)
        response = send(app.test_client(), "POST", "/Users", new_user())
        assert response.status_code == 201
        assert response.get_json(force=True)[AGENT]["peripheralId"] == 5001
    finally:
        db.dispose()


def test_no_peripheral_at_all_is_invalid_value(client: FlaskClient) -> None:
    assert_scim_error(send(client, "POST", "/Users", new_user()), 400, "invalidValue")


def test_user_name_unique_case_insensitively(
    client: FlaskClient, directory: dict[str, int]
) -> None:
    response = send(client, "POST", "/Users", new_user("ALICE.smith@EXAMPLE.com"))
    assert_scim_error(response, 409, "uniqueness")


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [USER]},
        new_user(""),
        new_user(123),
        new_user(active="maybe"),
        new_user(emails="x@example.com"),
        new_user(**{AGENT: {"peripheralId": 9}}),
        new_user(**{AGENT: {"agentTeamId": 13}}),  # team on another peripheral
        new_user(**{AGENT: {"agentTeamId": 99}}),
        new_user(**{AGENT: {"agentId": "12a"}}),
        new_user(**{ENTERPRISE: {"employeeNumber": "x" * 256}}),
        new_user(name={"givenName": "x" * 33}),
    ],
)
def test_invalid_values(client: FlaskClient, directory: dict[str, int], body: Any) -> None:
    assert_scim_error(send(client, "POST", "/Users", body), 400, "invalidValue")


def test_malformed_bodies(client: FlaskClient, directory: dict[str, int]) -> None:
    response = client.post(
        "/scim/v2/Users", data="{not json", content_type=SCIM_JSON, headers=basic()
    )
    assert_scim_error(response, 400, "invalidSyntax")
    response = client.post("/scim/v2/Users", data="[]", content_type=SCIM_JSON, headers=basic())
    assert_scim_error(response, 400, "invalidSyntax")
    response = client.post("/scim/v2/Users", data="<x/>", content_type="text/xml", headers=basic())
    assert_scim_error(response, 415, "invalidSyntax")


def test_get_unknown_and_non_numeric_ids(client: FlaskClient, directory: dict[str, int]) -> None:
    assert_scim_error(send(client, "GET", "/Users/999999"), 404)
    assert_scim_error(send(client, "GET", "/Users/abc"), 404)


def test_get_existing_agent_and_if_none_match(
    client: FlaskClient, directory: dict[str, int]
) -> None:
    response = send(client, "GET", f"/Users/{directory['bob']}", user="super")
    body = response.get_json(force=True)
    assert body["userName"] == "bob@example.com"
    assert body[AGENT].pop("agentId").isdigit()
    assert body[AGENT] == {
        "peripheralId": 5000,
        "agentTeamId": 12,
        "supervisor": True,
        "ssoEnabled": False,
    }
    # No displayName was ever given (RFC 7643 §2.5: unassigned attributes are left out).
    assert "displayName" not in body
    assert "externalId" not in body
    cached = send(client, "GET", f"/Users/{directory['bob']}", headers={"If-None-Match": 'W/"0"'})
    assert cached.status_code == 304


def ids(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["userName"] for r in response.get_json(force=True)["Resources"]]


def test_list_with_filter(client: FlaskClient, directory: dict[str, int]) -> None:
    def names(filter_: str) -> list[str]:
        return sorted(ids(send(client, "GET", f"/Users?filter={filter_}")))

    assert names('userName eq "alice.smith@example.com"') == ["Alice.Smith@example.com"]
    assert names('name.familyName sw "smith"') == ["Alice.Smith@example.com", "carol@other.org"]
    assert names(f"{AGENT}:peripheralId eq 5001") == ["carol@other.org"]
    assert names('active eq true and not (userName co "example")') == ["carol@other.org"]
    assert names(f"{AGENT}:agentTeamId pr or {AGENT}:ssoEnabled eq true") == [
        "bob@example.com",
        "carol@other.org",
    ]


def test_list_paging_sorting_and_envelope(client: FlaskClient, directory: dict[str, int]) -> None:
    response = send(
        client, "GET", "/Users?sortBy=name.givenName&sortOrder=descending&startIndex=2&count=1"
    )
    body = response.get_json(force=True)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 3
    assert body["startIndex"] == 2
    assert body["itemsPerPage"] == 1
    assert [r["userName"] for r in body["Resources"]] == ["bob@example.com"]
    assert ids(send(client, "GET", "/Users?sortBy=userName")) == [
        "Alice.Smith@example.com",
        "bob@example.com",
        "carol@other.org",
    ]
    empty = send(client, "GET", "/Users?count=0").get_json(force=True)
    assert empty["totalResults"] == 3
    assert empty["Resources"] == []


def test_list_refusals(client: FlaskClient, directory: dict[str, int]) -> None:
    assert_scim_error(send(client, "GET", "/Users?filter=userName%20eq"), 400, "invalidFilter")
    assert_scim_error(send(client, "GET", "/Users?filter=nickName%20pr"), 400, "invalidFilter")
    assert_scim_error(send(client, "GET", "/Users?count=x"), 400, "invalidValue")
    assert_scim_error(send(client, "GET", "/Users?sortBy=nickName"), 400, "invalidValue")
    assert_scim_error(send(client, "GET", "/Users?sortOrder=up"), 400, "invalidValue")


def test_search_endpoint(client: FlaskClient, directory: dict[str, int]) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "bob"',
        "attributes": ["userName"],
    }
    response = send(client, "POST", "/Users/.search", body, user="viewer")
    resources = response.get_json(force=True)["Resources"]
    assert resources == [
        {
            "schemas": [USER, AGENT],
            "id": str(directory["bob"]),
            "userName": "bob@example.com",
        }
    ]


def test_attributes_and_excluded_attributes(client: FlaskClient, directory: dict[str, int]) -> None:
    path = f"/Users/{directory['bob']}"
    only = send(client, "GET", path + f"?attributes=name.givenName,{AGENT}:supervisor").get_json(
        force=True
    )
    assert set(only) == {"schemas", "id", "name", AGENT}
    assert only["name"] == {"givenName": "Bob"}
    assert only[AGENT] == {"supervisor": True}
    less = send(client, "GET", path + f"?excludedAttributes=meta,name,{ENTERPRISE},id").get_json(
        force=True
    )
    assert "meta" not in less and "name" not in less and ENTERPRISE not in less
    assert less["id"] == str(directory["bob"])


def test_replace(client: FlaskClient, directory: dict[str, int]) -> None:
    path = f"/Users/{directory['bob']}"
    agent_id = send(client, "GET", path).get_json(force=True)[AGENT]["agentId"]
    body = new_user("Robert@example.com", active=False, externalId="HR-2")
    response = send(client, "PUT", path, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    after = response.get_json(force=True)
    assert after["userName"] == "Robert@example.com"
    assert after["active"] is False
    assert after["meta"]["version"] == 'W/"1"'
    # Our extension left out: the agent stays where it was, with its agentId.
    assert after[AGENT] == {
        "agentId": agent_id,
        "peripheralId": 5000,
        "agentTeamId": 12,
        "supervisor": True,
        "ssoEnabled": False,
    }
    assert_scim_error(
        send(client, "PUT", path, new_user("alice.smith@example.com")), 409, "uniqueness"
    )


def test_if_match(client: FlaskClient, directory: dict[str, int]) -> None:
    path = f"/Users/{directory['bob']}"
    stale = send(client, "PUT", path, new_user("b2@example.com"), headers={"If-Match": 'W/"7"'})
    assert_scim_error(stale, 412)
    ok = send(client, "PUT", path, new_user("b2@example.com"), headers={"If-Match": 'W/"0"'})
    assert ok.status_code == 200
    assert_scim_error(send(client, "DELETE", path, headers={"If-Match": 'W/"0"'}), 412)
    assert send(client, "DELETE", path, headers={"If-Match": "*"}).status_code == 204


def patch(client: FlaskClient, agent_id: int, *operations: dict[str, Any]) -> TestResponse:
    return send(
        client, "PATCH", f"/Users/{agent_id}", {"schemas": [PATCH], "Operations": list(operations)}
    )


def test_patch_operations(client: FlaskClient, directory: dict[str, int]) -> None:
    bob = directory["bob"]
    response = patch(
        client,
        bob,
        {"op": "Replace", "path": "active", "value": False},
        {"op": "add", "path": "name.givenName", "value": "Robert"},
        {"op": "add", "value": {"externalId": "HR-9", "nickName": "ignored"}},
        {"op": "replace", "path": f"{AGENT}:agentTeamId", "value": None},
        {"op": "add", "path": "emails", "value": [{"value": "r@example.com", "type": "work"}]},
        {"op": "add", "path": "emails", "value": [{"value": "r2@example.com"}]},
        {"op": "remove", "path": "displayName"},
        {
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "value": "rob@example.com",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["active"] is False
    assert body["name"] == {"givenName": "Robert", "familyName": "Jones"}
    assert body["externalId"] == "HR-9"
    assert body["userName"] == "rob@example.com"
    assert "agentTeamId" not in body[AGENT]
    assert [e["value"] for e in body["emails"]] == ["r@example.com", "r2@example.com"]
    assert "displayName" not in body
    assert body["meta"]["version"] == 'W/"1"'
    # Webex's clients spell it "operations".
    lower = send(
        client, "PATCH", f"/Users/{bob}", {"operations": [{"op": "remove", "path": "externalId"}]}
    )
    assert "externalId" not in lower.get_json(force=True)


def test_patch_refusals(client: FlaskClient, directory: dict[str, int]) -> None:
    bob = directory["bob"]
    assert_scim_error(patch(client, bob, {"op": "remove"}), 400, "noTarget")
    assert_scim_error(patch(client, bob, {"op": "move", "path": "active"}), 400, "invalidSyntax")
    assert_scim_error(patch(client, bob, {"op": "remove", "path": "userName"}), 400, "invalidValue")
    assert_scim_error(
        patch(client, bob, {"op": "replace", "path": "name", "value": "x"}), 400, "invalidValue"
    )
    assert_scim_error(
        patch(client, bob, {"op": "replace", "path": 'name[givenName eq "x"]', "value": "x"}),
        400,
        "invalidPath",
    )
    assert_scim_error(
        patch(client, bob, {"op": "replace", "path": 'emails[type sw "w"].value', "value": "x"}),
        400,
        "noTarget",
    )
    # What every agent has cannot be removed (it would not be unassigned: RFC 7644 §3.5.2.2).
    for path in ("active", f"{AGENT}:agentId", f"{AGENT}:peripheralId", AGENT):
        assert_scim_error(patch(client, bob, {"op": "remove", "path": path}), 400, "invalidValue")
    assert_scim_error(
        send(client, "PATCH", f"/Users/{bob}", {"Operations": []}), 400, "invalidSyntax"
    )


def test_patch_emails_with_value_filters(client: FlaskClient, directory: dict[str, int]) -> None:
    """What Microsoft Entra sends for a user's work email: replace/add of
    emails[type eq "work"].value sets it, making it when absent; remove drops it."""
    bob = directory["bob"]
    work = 'emails[type eq "work"].value'
    body = patch(client, bob, {"op": "Replace", "path": work, "value": "bob@work.example"})
    assert body.get_json(force=True)["emails"] == [{"type": "work", "value": "bob@work.example"}]
    body = patch(
        client,
        bob,
        {"op": "Add", "path": 'emails[type eq "home"].value', "value": "bob@home.example"},
        {"op": "Add", "path": work, "value": "robert@work.example"},
        {"op": "replace", "path": 'emails[type eq "work"]', "value": {"primary": True}},
    )
    assert body.get_json(force=True)["emails"] == [
        {"type": "work", "value": "robert@work.example", "primary": True},
        {"type": "home", "value": "bob@home.example"},
    ]
    body = patch(client, bob, {"op": "Remove", "path": work})
    assert body.get_json(force=True)["emails"] == [{"type": "home", "value": "bob@home.example"}]
    body = patch(client, bob, {"op": "remove", "path": 'emails[value eq "BOB@home.example"]'})
    assert "emails" not in body.get_json(force=True)


def test_patch_removes_what_is_optional(client: FlaskClient, directory: dict[str, int]) -> None:
    bob = directory["bob"]
    response = patch(
        client,
        bob,
        {"op": "add", "path": "displayName", "value": "Bobby"},
        {"op": "add", "path": "externalId", "value": "HR-1"},
    )
    assert response.get_json(force=True)["displayName"] == "Bobby"
    response = patch(
        client,
        bob,
        {"op": "remove", "path": f"{AGENT}:agentTeamId"},
        {"op": "remove", "path": "name"},
        {"op": "remove", "path": "displayName"},
        {"op": "remove", "path": "externalId"},
    )
    body = response.get_json(force=True)
    assert response.status_code == 200, body
    for name in ("name", "displayName", "externalId"):
        assert name not in body
    assert "agentTeamId" not in body[AGENT]
    with db.read() as conn:
        row = conn.execute(select(table(Agent)).where(table(Agent).c.id == bob)).one()
    assert (row.agent_team_id, row.first_name, row.last_name) == (None, "", "")


def test_delete(client: FlaskClient, directory: dict[str, int]) -> None:
    response = send(client, "DELETE", f"/Users/{directory['alice']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_scim_error(send(client, "GET", f"/Users/{directory['alice']}"), 404)
    assert_scim_error(send(client, "DELETE", f"/Users/{directory['alice']}"), 404)
    with db.read() as conn:
        assert (
            conn.execute(
                select(table(Agent).c.id).where(table(Agent).c.id == directory["alice"])
            ).first()
            is None
        )


def test_a_scim_user_is_an_agent_and_in_the_sso_template(
    client: FlaskClient, directory: dict[str, int]
) -> None:
    user = new_user("Migrate.Me@example.com", **{AGENT: {"agentTeamId": 12}})
    created = send(client, "POST", "/Users", user).get_json(force=True)
    agents = client.get(
        "/unifiedconfig/config/agent?q=Migrate.Me",
        headers={**basic(), "Accept": "application/json"},
    ).get_json()
    [agent] = agents["agents"]
    assert agent["person"]["userName"] == "Migrate.Me@example.com"
    assert agent["person"]["firstName"] == "Jane"
    assert agent["agentId"] == created[AGENT]["agentId"]
    assert agent["refURL"].endswith(f"/agent/{created['id']}")
    template = client.get(
        "/unifiedconfig/config/bulkjob/templates/ssomigration?q=agentTeamId:12", headers=basic()
    )
    assert template.status_code == 200
    assert "Migrate.Me@example.com" in template.get_data(as_text=True)


@pytest.mark.parametrize("depth", [40, 100_000])
def test_a_body_nested_too_deeply_is_refused(
    client: FlaskClient, directory: dict[str, int], depth: int
) -> None:
    body = b'{"userName": "deep@example.com", "x": ' + b"[" * depth + b"]" * depth + b"}"
    response = client.post("/scim/v2/Users", data=body, content_type=SCIM_JSON, headers=basic())
    assert_scim_error(response, 400, "invalidSyntax")
    assert "nests deeper than 32 levels" in response.get_json(force=True)["detail"]


def test_meta_created_and_last_modified(
    app: Flask, client: FlaskClient, directory: dict[str, int]
) -> None:
    """Set on create, moved by every change (SCIM, a Group's membership, an SSO-migration job),
    never made up for agents that existed before they were kept; filterable and sortable."""
    created = send(client, "POST", "/Users", new_user("meta@example.com")).get_json(force=True)
    meta = created["meta"]
    assert meta["created"] == meta["lastModified"]
    assert meta["created"].endswith("Z") and len(meta["created"]) == len("2026-11-23T10:00:00.123Z")
    old = send(client, "GET", f"/Users/{directory['alice']}").get_json(force=True)["meta"]
    assert "created" not in old and "lastModified" not in old

    def last_modified(user_id: str) -> str:
        return str(
            send(client, "GET", f"/Users/{user_id}").get_json(force=True)["meta"]["lastModified"]
        )

    moments = [meta["lastModified"]]
    time.sleep(0.01)
    patch(client, int(created["id"]), {"op": "replace", "path": "displayName", "value": "M"})
    moments.append(last_modified(created["id"]))
    time.sleep(0.01)
    members = {"op": "add", "path": "members", "value": [{"value": created["id"]}]}
    team = send(client, "PATCH", "/Groups/12", {"schemas": [PATCH], "Operations": [members]})
    assert team.status_code == 200, team.get_data(as_text=True)
    moments.append(last_modified(created["id"]))
    assert team.get_json(force=True)["meta"]["lastModified"] > moments[1]  # the Group changed too
    time.sleep(0.01)
    text = "userName,firstName,lastName,newUserName\nmeta@example.com,,,meta@sso.example.com\n"
    with db.write() as conn:
        job_id = factories.stored_job(conn, text)
    assert engine.run_job(db, app.config["SETTINGS"], job_id).final_state == 3
    moments.append(last_modified(created["id"]))
    assert moments == sorted(moments) and len(set(moments)) == 4, moments
    again = send(client, "GET", f"/Users/{created['id']}").get_json(force=True)["meta"]
    assert again["created"] == meta["created"]

    found = send(client, "GET", f'/Users?filter=meta.lastModified gt "{moments[2]}"')
    assert [r["id"] for r in found.get_json(force=True)["Resources"]] == [created["id"]]
    ordered = send(client, "GET", "/Users?sortBy=meta.lastModified&sortOrder=descending")
    assert ordered.get_json(force=True)["Resources"][0]["id"] == created["id"]

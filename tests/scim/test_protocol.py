"""SCIM 2.0 protocol: authentication and roles, errors on every /scim path, discovery."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts import users
from app.db import db
from tests import factories
from tests.conftest import basic
from tests.scim.test_users import (
    AGENT,
    ENTERPRISE,
    ERROR,
    SCIM_JSON,
    USER,
    assert_scim_error,
    new_user,
    send,
)

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
TEAM = "urn:bulkjob:params:scim:schemas:extension:agentteam:2.0:Group"


def test_credentials_are_required(client: FlaskClient) -> None:
    response = client.get("/scim/v2/Users")
    assert_scim_error(response, 401)
    challenges = response.headers.getlist("WWW-Authenticate")
    assert any(c.startswith("Basic") for c in challenges)
    assert any(c.startswith("Bearer") for c in challenges)
    assert_scim_error(client.get("/scim/v2/Users", headers=basic("admin", "wrong")), 401)
    assert_scim_error(client.get("/scim/v2/Nowhere"), 401)


def test_bearer_token(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        token = users.create_token(conn, "viewer")
    response = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.mimetype == SCIM_JSON


@pytest.mark.parametrize("role", ["viewer", "super"])
def test_readers_may_not_write(client: FlaskClient, role: str) -> None:
    assert send(client, "GET", "/Users", user=role).status_code == 200
    assert send(client, "GET", "/ServiceProviderConfig", user=role).status_code == 200
    assert_scim_error(send(client, "POST", "/Users", new_user(), user=role), 403)
    assert_scim_error(send(client, "DELETE", "/Users/1", user=role), 403)
    assert_scim_error(send(client, "PATCH", "/Users/1", {"Operations": []}, user=role), 403)


def test_unknown_paths_and_methods_are_scim_errors(client: FlaskClient) -> None:
    assert_scim_error(send(client, "GET", "/Nowhere"), 404)
    assert_scim_error(send(client, "GET", "/"), 404)
    assert_scim_error(send(client, "GET", "/Groups/1/members"), 404)
    response = send(client, "DELETE", "/Users")
    assert_scim_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert_scim_error(send(client, "PUT", "/ServiceProviderConfig", {}), 405)


def test_internal_errors_are_scim_errors(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.scim import users as scim_users

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(scim_users, "list_users", broken)
    response = send(client, "GET", "/Users")
    assert_scim_error(response, 500)
    assert "boom" not in response.get_data(as_text=True)


def test_too_large_body(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = send(client, "POST", "/Users", new_user(displayName="x" * 200))
    assert_scim_error(response, 413)


def test_the_api_keeps_its_own_errors(client: FlaskClient) -> None:
    response = client.get("/unifiedconfig/config/nowhere", headers=basic())
    assert response.status_code == 404
    assert b"apiError" in response.get_data()
    assert ERROR.encode() not in response.get_data()


def test_service_provider_config(client: FlaskClient) -> None:
    body = send(client, "GET", "/ServiceProviderConfig").get_json(force=True)
    assert body["schemas"] == [SPC]
    assert body["patch"] == {"supported": True}
    assert body["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 3145728}
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["sort"] == {"supported": True}
    assert body["etag"] == {"supported": True}
    assert body["changePassword"] == {"supported": False}
    assert {s["type"] for s in body["authenticationSchemes"]} == {"httpbasic", "oauthbearertoken"}


def test_max_results_caps_count(client: FlaskClient) -> None:
    body = send(client, "GET", "/Users?count=100000").get_json(force=True)
    assert body["itemsPerPage"] == 0


def test_resource_types_and_schemas(client: FlaskClient) -> None:
    types = send(client, "GET", "/ResourceTypes").get_json(force=True)
    assert [t["id"] for t in types["Resources"]] == ["User", "Group"]
    user_type = send(client, "GET", "/ResourceTypes/User").get_json(force=True)
    assert user_type["endpoint"] == "/Users"
    assert {e["schema"] for e in user_type["schemaExtensions"]} == {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:bulkjob:params:scim:schemas:extension:agent:2.0:User",
    }
    assert send(client, "GET", "/ResourceTypes/Group").get_json(force=True)["endpoint"] == "/Groups"
    assert_scim_error(send(client, "GET", "/ResourceTypes/Role"), 404)
    schemas = send(client, "GET", "/Schemas").get_json(force=True)
    urns = [s["id"] for s in schemas["Resources"]]
    assert urns[0] == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert schemas["totalResults"] == 5
    for urn in urns:
        schema = send(client, "GET", f"/Schemas/{urn}").get_json(force=True)
        assert schema["id"] == urn
        assert schema["meta"]["resourceType"] == "Schema"
    user = send(client, "GET", f"/Schemas/{urns[0]}").get_json(force=True)
    names = {a["name"] for a in user["attributes"]}
    assert {"userName", "name", "active", "externalId", "emails", "displayName"} <= names
    assert_scim_error(send(client, "GET", "/Schemas/urn:nothing"), 404)


def test_failed_sign_ins_are_throttled_like_the_api(client: FlaskClient) -> None:
    for _ in range(10):
        assert_scim_error(client.get("/scim/v2/Users", headers=basic("admin", "wrong")), 401)
    response = client.get("/scim/v2/Users", headers=basic("admin", "wrong"))
    assert_scim_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_the_base_without_a_trailing_slash_answers_without_a_redirect(client: FlaskClient) -> None:
    for path in ("/scim/v2", "/scim/v2/"):
        response = client.get(path, headers=basic())
        assert response.status_code == 404, path
        assert response.get_json(force=True)["schemas"] == [ERROR]


def attribute(schema: dict[str, Any], path: str) -> dict[str, Any]:
    found: dict[str, Any] = {"subAttributes": schema["attributes"]}
    for name in path.split("."):
        found = next(a for a in found["subAttributes"] if a["name"] == name)
    return found


def test_schemas_say_what_the_resources_hold(client: FlaskClient) -> None:
    """Discovery matches the endpoints: what always has a value is required (and cannot be
    removed), members reference Users, a member's display is returned on request, and what
    is not stored (name.formatted) is not offered."""
    users = send(client, "GET", f"/Schemas/{USER}").get_json(force=True)
    assert attribute(users, "active")["required"] is True
    assert not attribute(users, "displayName")["required"]
    assert [a["name"] for a in attribute(users, "name")["subAttributes"]] == [
        "givenName",
        "familyName",
    ]
    assert attribute(users, "emails.type")["canonicalValues"] == ["work", "home", "other"]
    agent = send(client, "GET", f"/Schemas/{AGENT}").get_json(force=True)
    assert {a["name"] for a in agent["attributes"] if a["required"]} == {
        "agentId",
        "peripheralId",
        "supervisor",
        "ssoEnabled",
    }
    enterprise = send(client, "GET", f"/Schemas/{ENTERPRISE}").get_json(force=True)
    employee_number = attribute(enterprise, "employeeNumber")
    assert (employee_number["required"], employee_number["caseExact"]) == (False, False)
    groups = send(client, "GET", f"/Schemas/{GROUP}").get_json(force=True)
    assert attribute(groups, "members.$ref")["referenceTypes"] == ["User"]
    assert attribute(groups, "members.type")["canonicalValues"] == ["User"]
    assert attribute(groups, "members.display")["returned"] == "request"
    for name in ("User", "Group"):
        kind = send(client, "GET", f"/ResourceTypes/{name}").get_json(force=True)
        required = {e["schema"]: e["required"] for e in kind["schemaExtensions"]}
        # Only the enterprise extension may be absent (a User without an employeeNumber).
        assert required == ({ENTERPRISE: False, AGENT: True} if name == "User" else {TEAM: True})


def test_search_at_the_root(client: FlaskClient) -> None:
    """POST /.search (RFC 7644 §3.4.3) searches Users and Groups as one list."""
    with db.write() as conn:
        factories.team(conn, 12, 5000, "Sales")
        factories.agent(conn, "ann@example.com", team_id=12)
        factories.agent(conn, "ben@example.com")

    def search(**body: Any) -> dict[str, Any]:
        response = send(client, "POST", "/.search", {"schemas": [SEARCH], **body}, user="viewer")
        assert response.status_code == 200, response.get_data(as_text=True)
        result: dict[str, Any] = response.get_json(force=True)
        return result

    everything = search(attributes=["userName", "displayName"])
    assert everything["totalResults"] == 3
    assert [r.get("userName", r.get("displayName")) for r in everything["Resources"]] == [
        "ann@example.com",
        "ben@example.com",
        "Sales",
    ]
    assert set(everything["Resources"][0]) == {"schemas", "id", "userName"}
    page = search(startIndex=2, count=2, excludedAttributes=["members"])
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 2)
    assert [r["schemas"][0] for r in page["Resources"]] == [USER, GROUP]
    assert "members" not in page["Resources"][1]
    # A filter applies to the types whose attributes it names.
    assert [r["userName"] for r in search(filter='userName sw "b"')["Resources"]] == [
        "ben@example.com"
    ]
    assert [r["displayName"] for r in search(filter='displayName eq "sales"')["Resources"]] == [
        "Sales"
    ]
    assert search(filter="id pr")["totalResults"] == 3
    for refused in ("nickName eq 1", "userName eq"):
        response = send(client, "POST", "/.search", {"filter": refused})
        assert_scim_error(response, 400, "invalidFilter")
    assert_scim_error(send(client, "POST", "/.search", {"sortBy": "userName"}), 400, "invalidValue")

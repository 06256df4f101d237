"""SCIM 2.0 /Groups: agent teams with their agents as members."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.db import db
from app.db.models import Agent, AgentTeam, table
from tests import factories
from tests.conftest import basic
from tests.scim.test_users import PATCH, assert_scim_error, send

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
TEAM = "urn:bulkjob:params:scim:schemas:extension:agentteam:2.0:Group"


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    with db.write() as conn:
        factories.peripheral(conn, 5000)
        factories.peripheral(conn, 5001, "CUCM_PG_2")
        factories.team(conn, 12, 5000, "Sales")
        return {
            "ann": factories.agent(conn, "ann@example.com", team_id=12),
            "ben": factories.agent(conn, "ben@example.com"),
            "cat": factories.agent(conn, "cat@example.com"),
            "far": factories.agent(conn, "far@example.com", peripheral_id=5001),
        }


def member_ids(response: TestResponse) -> list[int]:
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return [int(m["value"]) for m in response.get_json(force=True).get("members", [])]


def team_of(agent_id: int) -> int | None:
    with db.read() as conn:
        return conn.execute(
            select(table(Agent).c.agent_team_id).where(table(Agent).c.id == agent_id)
        ).scalar_one()


def test_existing_team_is_a_group(client: FlaskClient, people: dict[str, int]) -> None:
    body = send(client, "GET", "/Groups/12", user="viewer").get_json(force=True)
    assert body["schemas"] == [GROUP, TEAM]
    assert body["displayName"] == "Sales"
    assert body[TEAM] == {"peripheralId": 5000}
    member = {
        "value": str(people["ann"]),
        "$ref": f"http://localhost/scim/v2/Users/{people['ann']}",
        "type": "User",
    }
    assert body["members"] == [member]
    assert "externalId" not in body
    assert body["meta"]["resourceType"] == "Group"
    assert body["meta"]["version"].startswith('W/"')
    # A member's display is "returned": "request" in /Schemas: shown when asked for.
    for path in ("/Groups/12", "/Groups", "/Groups/.search"):
        query = {"attributes": "displayName,members.display,members.value"}
        if path.endswith(".search"):
            found = send(client, "POST", path, {**query, "filter": "id eq 12"})
        else:
            found = client.get(f"/scim/v2{path}", query_string=query, headers=basic())
        shown = found.get_json(force=True)
        group = shown["Resources"][0] if "Resources" in shown else shown
        assert group["members"] == [{"value": str(people["ann"]), "display": "ann@example.com"}]


def test_create_with_members(client: FlaskClient, people: dict[str, int]) -> None:
    body = {
        "schemas": [GROUP],
        "displayName": "Support",
        "members": [{"value": str(people["ben"])}, {"VALUE": str(people["cat"])}],
    }
    response = send(client, "POST", "/Groups", body)
    assert response.status_code == 201
    assert sorted(member_ids(response)) == [people["ben"], people["cat"]]
    created = response.get_json(force=True)
    assert response.headers["Location"].endswith(f"/Groups/{created['id']}")
    assert team_of(people["ben"]) == int(created["id"])
    # The agent's representation changed: its version moves on.
    user = send(client, "GET", f"/Users/{people['ben']}").get_json(force=True)
    assert user["meta"]["version"] == 'W/"1"'
    assert user["urn:bulkjob:params:scim:schemas:extension:agent:2.0:User"]["agentTeamId"] == int(
        created["id"]
    )


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        ({"displayName": "sales"}, 409, "uniqueness"),
        ({"displayName": ""}, 400, "invalidValue"),
        ({"displayName": "x" * 65}, 400, "invalidValue"),
        ({"displayName": "T", "members": [{"value": "999999"}]}, 400, "invalidValue"),
        ({"displayName": "T", "members": [{"value": "abc"}]}, 400, "invalidValue"),
        ({"displayName": "T", "members": "x"}, 400, "invalidValue"),
        ({"displayName": "T", TEAM: {"peripheralId": 7}}, 400, "invalidValue"),
    ],
)
def test_create_refusals(
    client: FlaskClient, people: dict[str, int], body: dict[str, Any], status: int, scim_type: str
) -> None:
    assert_scim_error(send(client, "POST", "/Groups", body), status, scim_type)


def test_member_on_another_peripheral_is_refused(
    client: FlaskClient, people: dict[str, int]
) -> None:
    body = {"displayName": "T", "members": [{"value": str(people["far"])}]}
    assert_scim_error(send(client, "POST", "/Groups", body), 400, "invalidValue")
    body = {
        "displayName": "T2",
        TEAM: {"peripheralId": 5001},
        "members": [{"value": str(people["far"])}],
    }
    assert member_ids(send(client, "POST", "/Groups", body)) == [people["far"]]


def patch(
    client: FlaskClient,
    group: str,
    *operations: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return send(
        client,
        "PATCH",
        f"/Groups/{group}",
        {"schemas": [PATCH], "Operations": list(operations)},
        headers=headers,
    )


def test_patch_members(client: FlaskClient, people: dict[str, int]) -> None:
    ann, ben, cat = people["ann"], people["ben"], people["cat"]
    added = patch(
        client,
        "12",
        {"op": "add", "path": "members", "value": [{"value": str(ben)}, {"value": str(cat)}]},
    )
    assert member_ids(added) == [ann, ben, cat]
    removed = patch(client, "12", {"op": "remove", "path": f'members[value eq "{ann}"]'})
    assert member_ids(removed) == [ben, cat]
    assert team_of(ann) is None
    replaced = patch(
        client,
        "12",
        {"op": "replace", "path": "members", "value": [{"value": str(ann)}]},
        {"op": "replace", "value": {"displayName": "Sales EMEA"}},
    )
    assert member_ids(replaced) == [ann]
    assert replaced.get_json(force=True)["displayName"] == "Sales EMEA"
    assert team_of(ben) is None
    cleared = patch(client, "12", {"op": "remove", "path": "members"})
    assert member_ids(cleared) == []


def test_patch_members_with_value_filters(client: FlaskClient, people: dict[str, int]) -> None:
    """members[value eq "..."] selects members for remove, and for add/replace too (a member
    named by the filter and absent is added)."""
    ann, ben = people["ann"], people["ben"]
    added = patch(client, "12", {"op": "add", "path": f'members[value eq "{ben}"]', "value": {}})
    assert member_ids(added) == [ann, ben]
    again = patch(client, "12", {"op": "add", "path": "members", "value": {"value": str(ben)}})
    assert member_ids(again) == [ann, ben]
    kept = patch(client, "12", {"op": "remove", "path": 'members[value eq "999999"]'})
    assert member_ids(kept) == [ann, ben]
    removed = patch(
        client, "12", {"op": "remove", "path": f'members[value eq "{ann}" or value eq "{ben}"]'}
    )
    assert member_ids(removed) == []
    assert_scim_error(
        patch(client, "12", {"op": "remove", "path": "members[display co"}), 400, "invalidPath"
    )


def test_external_id(client: FlaskClient, people: dict[str, int]) -> None:
    """A Group's externalId (RFC 7643 §3.1) is kept, patched, filtered on and versioned."""
    created = send(client, "POST", "/Groups", {"displayName": "Support", "externalId": "G-1"})
    body = created.get_json(force=True)
    assert body["externalId"] == "G-1"
    found = send(client, "GET", '/Groups?filter=externalId eq "G-1"').get_json(force=True)
    assert [g["id"] for g in found["Resources"]] == [body["id"]]
    other_case = send(client, "GET", '/Groups?filter=externalId eq "g-1"').get_json(force=True)
    assert other_case["totalResults"] == 0
    replaced = patch(client, body["id"], {"op": "replace", "path": "externalId", "value": "G-2"})
    assert replaced.get_json(force=True)["externalId"] == "G-2"
    assert replaced.get_json(force=True)["meta"]["version"] != body["meta"]["version"]
    removed = patch(client, body["id"], {"op": "remove", "path": "externalId"})
    assert "externalId" not in removed.get_json(force=True)
    assert_scim_error(
        send(client, "POST", "/Groups", {"displayName": "X", "externalId": 5}), 400, "invalidValue"
    )
    # What every team has cannot be removed.
    for path in ("displayName", f"{TEAM}:peripheralId", TEAM):
        assert_scim_error(patch(client, "12", {"op": "remove", "path": path}), 400, "invalidValue")


def test_replace_and_if_match(client: FlaskClient, people: dict[str, int]) -> None:
    current = send(client, "GET", "/Groups/12").get_json(force=True)
    version = current["meta"]["version"]
    body = {"displayName": "Sales", "members": [{"value": str(people["cat"])}]}
    assert_scim_error(
        send(client, "PUT", "/Groups/12", body, headers={"If-Match": 'W/"nope"'}), 412
    )
    response = send(client, "PUT", "/Groups/12", body, headers={"If-Match": version})
    assert member_ids(response) == [people["cat"]]
    assert response.get_json(force=True)["meta"]["version"] != version
    assert_scim_error(
        patch(client, "12", {"op": "remove", "path": "members"}, headers={"If-Match": version}), 412
    )


def test_list_filter_and_exclude_members(client: FlaskClient, people: dict[str, int]) -> None:
    send(client, "POST", "/Groups", {"displayName": "Support"})
    listed = send(
        client, "GET", '/Groups?filter=displayName eq "SALES"&excludedAttributes=members'
    ).get_json(force=True)
    assert listed["totalResults"] == 1
    assert listed["Resources"][0]["displayName"] == "Sales"
    assert "members" not in listed["Resources"][0]
    everything = send(client, "GET", "/Groups?sortBy=displayName&sortOrder=descending").get_json(
        force=True
    )
    assert [g["displayName"] for g in everything["Resources"]] == ["Support", "Sales"]
    with_members = send(client, "GET", "/Groups?filter=members pr").get_json(force=True)
    assert [g["displayName"] for g in with_members["Resources"]] == ["Sales"]
    refused = send(client, "GET", '/Groups?filter=members.display eq "x"')
    assert_scim_error(refused, 400, "invalidFilter")


def test_delete_leaves_agents_without_a_team(client: FlaskClient, people: dict[str, int]) -> None:
    assert send(client, "DELETE", "/Groups/12").status_code == 204
    assert team_of(people["ann"]) is None
    with db.read() as conn:
        assert conn.execute(select(table(AgentTeam))).first() is None
    assert_scim_error(send(client, "GET", "/Groups/12"), 404)


def test_readers_may_not_write_groups(client: FlaskClient, people: dict[str, int]) -> None:
    assert_scim_error(send(client, "POST", "/Groups", {"displayName": "X"}, user="viewer"), 403)
    assert_scim_error(send(client, "DELETE", "/Groups/12", user="super"), 403)


def test_list_groups_by_member(client: FlaskClient, people: dict[str, int]) -> None:
    """Which teams an agent is in, as identity providers ask before adding a member."""
    found = send(client, "GET", f'/Groups?filter=members.value eq "{people["ann"]}"')
    assert found.status_code == 200, found.get_data(as_text=True)
    assert [g["id"] for g in found.get_json(force=True)["Resources"]] == ["12"]
    none = send(client, "GET", f'/Groups?filter=members.value eq "{people["ben"]}"')
    assert none.get_json(force=True)["totalResults"] == 0
    refused = send(client, "GET", "/Groups?sortBy=members.value")
    assert refused.status_code == 400

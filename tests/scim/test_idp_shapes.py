"""SCIM as identity providers and test collections really send it (issue 14), through HTTP on
SQLite and PostgreSQL: trailing slashes, resource segments in any case, booleans as strings,
path-less PATCH with attribute paths as keys, removal by value list, the filters IdPs use, the
free-text employeeNumber beside our agentId, ids never reused, and error details."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import basic
from tests.scim.conftest import ok, refused, scim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
AGENT = "urn:bulkjob:params:scim:schemas:extension:agent:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def user(user_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        **extra,
    }


def create(client: FlaskClient, user_name: str, **extra: Any) -> dict[str, Any]:
    return dict(ok(scim(client, "POST", "/Users", user(user_name, **extra)), 201))


def patch(client: FlaskClient, path: str, *operations: dict[str, Any]) -> Any:
    return scim(client, "PATCH", path, {"schemas": [PATCH], "Operations": list(operations)})


def group(client: FlaskClient, name: str, *member_ids: str) -> dict[str, Any]:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in member_ids]}
    return dict(ok(scim(client, "POST", "/Groups", body), 201))


def member_ids(client: FlaskClient, group_id: str) -> list[str]:
    found = ok(scim(client, "GET", f"/Groups/{group_id}"))
    return sorted(member["value"] for member in found.get("members", []))


# --- paths ------------------------------------------------------------------------------------


def test_every_path_answers_with_a_trailing_slash_as_without(idp: FlaskClient) -> None:
    created = ok(scim(idp, "POST", "/Users/", user("slash@example.com")), 201)
    user_id = created["id"]
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{user_id}")
    for path in (
        "/Users",
        '/Users?filter=userName eq "slash@example.com"',
        f"/Users/{user_id}",
        f"/Users/{user_id}?attributes=userName",
        "/Groups",
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/Schemas",
        f"/Schemas/{USER}",
    ):
        plain = ok(scim(idp, "GET", path, user="viewer"))
        slashed_path = path.replace("?", "/?") if "?" in path else path + "/"
        assert ok(scim(idp, "GET", slashed_path, user="viewer")) == plain, slashed_path
    # Microsoft's test collection: GET /Users/?filter=DisplayName+eq+%22BobIsAmazing%22
    ok(
        scim(
            idp,
            "PATCH",
            f"/Users/{user_id}/",
            {"Operations": [{"op": "replace", "path": "displayName", "value": "BobIsAmazing"}]},
        )
    )
    found = ok(idp.get("/scim/v2/Users/?filter=DisplayName+eq+%22BobIsAmazing%22", headers=basic()))
    assert [r["id"] for r in found["Resources"]] == [user_id]
    search = {"schemas": [SEARCH], "filter": 'userName eq "slash@example.com"'}
    for path in ("/Users/.search/", "/.search/"):
        assert ok(scim(idp, "POST", path, search, user="viewer"))["totalResults"] == 1
    replaced = ok(scim(idp, "PUT", f"/Users/{user_id}/", user("slash@example.com", active=False)))
    assert replaced["active"] is False
    team = ok(scim(idp, "POST", "/Groups/", {"displayName": "Slashers"}), 201)
    assert team["meta"]["location"].endswith(f"/scim/v2/Groups/{team['id']}")
    ok(
        patch(
            idp,
            f"/Groups/{team['id']}/",
            {"op": "add", "path": "members", "value": [{"value": user_id}]},
        )
    )
    assert member_ids(idp, team["id"] + "/") == [user_id]
    bulk = {
        "schemas": [BULK],
        "Operations": [{"method": "DELETE", "path": f"/Groups/{team['id']}/"}],
    }
    assert ok(scim(idp, "POST", "/Bulk/", bulk))["Operations"][0]["status"] == "204"
    assert scim(idp, "DELETE", f"/Users/{user_id}/").status_code == 204
    refused(scim(idp, "GET", f"/Users/{user_id}/"), 404, None, "not found")
    # What is not served stays so, with or without the slash.
    response = scim(idp, "DELETE", "/Users/")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    refused(scim(idp, "GET", "/Nothing/"), 404, None, "No SCIM resource")


def test_resource_segments_answer_in_any_case_with_canonical_locations(idp: FlaskClient) -> None:
    created = ok(scim(idp, "POST", "/users", user("lower@example.com")), 201)
    location = created["meta"]["location"]
    assert location.endswith(f"/scim/v2/Users/{created['id']}")
    same = ok(scim(idp, "GET", f"/USERS/{created['id']}"))
    assert same == created
    assert (
        ok(scim(idp, "GET", '/users?filter=userName eq "LOWER@example.com"'))["totalResults"] == 1
    )
    team = ok(scim(idp, "POST", "/groups", {"displayName": "Lower"}), 201)
    assert team["meta"]["location"].endswith(f"/scim/v2/Groups/{team['id']}")
    assert ok(scim(idp, "GET", f"/groups/{team['id']}/"))["displayName"] == "Lower"
    bulk = {
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/users", "bulkId": "b", "data": user("bulk@example.com")}
        ],
    }
    [result] = ok(scim(idp, "POST", "/bulk", bulk))["Operations"]
    assert "/scim/v2/Users/" in result["location"]
    for path in ("/serviceproviderconfig", "/resourcetypes", "/resourcetypes/user", "/schemas"):
        assert ok(scim(idp, "GET", path))["schemas"], path
    assert ok(scim(idp, "GET", f"/schemas/{USER.upper()}"))["id"] == USER
    search = {"schemas": [SEARCH], "filter": 'userName sw "lower"'}
    assert ok(scim(idp, "POST", "/users/.search", search, user="viewer"))["totalResults"] == 1
    assert scim(idp, "delete", f"/users/{created['id']}").status_code == 204


# --- booleans ---------------------------------------------------------------------------------


def test_booleans_may_be_strings_in_any_case_and_are_stored_as_booleans(idp: FlaskClient) -> None:
    # Microsoft's test collection: "Post emp1 with string "True"", and emails with "Primary".
    created = create(
        idp,
        "emp1@example.com",
        active="True",
        emails=[
            {"Primary": "True", "type": "work", "value": "anna33@gmail.com"},
            {"primary": "false", "type": "work", "value": "anna33@example.com"},
        ],
        **{AGENT: {"supervisor": "TRUE", "ssoEnabled": "false"}},
    )
    assert created["active"] is True
    assert [email["primary"] for email in created["emails"]] == [True, False]
    assert (created[AGENT]["supervisor"], created[AGENT]["ssoEnabled"]) == (True, False)
    path = f"/Users/{created['id']}"
    # Microsoft Entra disables a user with the string "False".
    disabled = ok(patch(idp, path, {"op": "Replace", "path": "active", "value": "False"}))
    assert disabled["active"] is False
    again = ok(
        patch(
            idp, path, {"op": "replace", "value": {"active": "true", AGENT: {"ssoEnabled": "True"}}}
        )
    )
    assert (again["active"], again[AGENT]["ssoEnabled"]) == (True, True)
    stored = ok(scim(idp, "GET", path))
    assert stored["emails"][0]["primary"] is True  # a boolean, not the string 'True'


@pytest.mark.parametrize(
    ("operation", "attribute"),
    [
        ({"op": "replace", "path": "active", "value": "maybe"}, "active"),
        ({"op": "replace", "path": "active", "value": 1}, "active"),
        ({"op": "replace", "path": f"{AGENT}:supervisor", "value": "yes"}, "supervisor"),
        ({"op": "replace", "value": {f"{AGENT}:ssoEnabled": "0"}}, "ssoEnabled"),
        (
            {"op": "add", "path": "emails", "value": [{"value": "a@b.c", "primary": "maybe"}]},
            "emails.primary",
        ),
    ],
)
def test_anything_else_where_a_boolean_belongs_is_invalid_value(
    idp: FlaskClient, operation: dict[str, Any], attribute: str
) -> None:
    created = create(idp, "strict@example.com")
    refused(
        patch(idp, f"/Users/{created['id']}", operation),
        400,
        "invalidValue",
        f"{attribute} must be true or false, got ",
    )
    body = user("strict2@example.com", emails=[{"value": "x@example.com", "primary": "maybe"}])
    detail = "emails.primary must be true or false, got the string 'maybe'"
    refused(scim(idp, "POST", "/Users", body), 400, "invalidValue", detail)


# --- PATCH ------------------------------------------------------------------------------------


def test_path_less_patch_takes_attribute_paths_as_keys(idp: FlaskClient) -> None:
    created = create(idp, "keys@example.com", emails=[{"value": "old@example.com", "type": "work"}])
    path = f"/Users/{created['id']}"
    # The body (RFC 7644 §3.5.2.3: a path-less value holds the attributes to replace).
    body = ok(
        patch(
            idp,
            path,
            {
                "op": "replace",
                "value": {
                    "name.givenName": "Ann",
                    "active": False,
                    f"{ENTERPRISE}:employeeNumber": "7",
                },
            },
        )
    )
    assert body["name"] == {"givenName": "Ann", "familyName": "Lee"}
    assert body["active"] is False
    assert body[ENTERPRISE] == {"employeeNumber": "7"}
    # As Microsoft Entra writes them: sub-attributes, a value-filtered email, extension
    # attributes, in any case, beside unknown attributes (ignored) and the id (read-only).
    body = ok(
        patch(
            idp,
            path,
            {
                "op": "Replace",
                "value": {
                    "id": "ignored",
                    "displayName": "Ann Lee",
                    'emails[type eq "work"].value': "new@example.com",
                    "NAME.FAMILYNAME": "Leigh",
                    f"{AGENT}:agentTeamId": 12,
                    f"{AGENT}:supervisor": "True",
                    "nickName": "Babs",
                },
            },
            {"op": "Add", "value": {"name.givenName": "Anne", f"{AGENT}:ssoEnabled": True}},
        )
    )
    assert body["id"] == created["id"]
    assert body["displayName"] == "Ann Lee"
    assert body["emails"] == [{"value": "new@example.com", "type": "work"}]
    assert body["name"] == {"givenName": "Anne", "familyName": "Leigh"}
    assert body[AGENT]["agentTeamId"] == 12
    assert (body[AGENT]["supervisor"], body[AGENT]["ssoEnabled"]) == (True, True)
    assert ok(scim(idp, "GET", path)) == body
    refused(
        patch(idp, path, {"op": "Remove", "value": {"displayName": None}}), 400, "noTarget", "path"
    )
    refused(
        patch(idp, path, {"op": "replace", "value": "Ann"}),
        400,
        "invalidValue",
        "replace without a path needs an object value, got the string 'Ann'",
    )


def test_removing_members_with_a_value_list_removes_just_those(idp: FlaskClient) -> None:
    ids = [create(idp, f"m{n}@example.com")["id"] for n in range(4)]
    team = group(idp, "Team Remove", *ids)
    path = f"/Groups/{team['id']}"
    # Microsoft Entra removes one member so (it removed every member before issue 14).
    ok(
        patch(
            idp,
            path,
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": ids[0]}]},
        )
    )
    assert member_ids(idp, team["id"]) == sorted(ids[1:])
    ok(
        patch(
            idp,
            path,
            {"op": "remove", "path": "members", "value": [{"value": ids[1]}, {"value": ids[2]}]},
        )
    )
    assert member_ids(idp, team["id"]) == [ids[3]]
    # A value that is no member removes nothing; an empty list neither.
    ok(patch(idp, path, {"op": "remove", "path": "members", "value": [{"value": ids[0]}]}))
    ok(patch(idp, path, {"op": "remove", "path": "members", "value": []}))
    assert member_ids(idp, team["id"]) == [ids[3]]
    # Without a value every member goes (RFC 7644 §3.5.2.2).
    ok(patch(idp, path, {"op": "add", "path": "members", "value": [{"value": ids[0]}]}))
    ok(patch(idp, path, {"op": "remove", "path": "members"}))
    assert member_ids(idp, team["id"]) == []
    refused(
        patch(idp, path, {"op": "remove", "path": "members", "value": [ids[0]]}),
        400,
        "invalidValue",
        f"A member to remove must be an object with a value, got the string '{ids[0]}'",
    )


def test_removing_emails_with_a_value_list_removes_just_those(idp: FlaskClient) -> None:
    emails = [
        {"value": "work@example.com", "type": "work", "primary": True},
        {"value": "home@example.com", "type": "home"},
        {"value": "other@example.com", "type": "other"},
    ]
    created = create(idp, "mails@example.com", emails=emails)
    path = f"/Users/{created['id']}"
    body = ok(
        patch(
            idp, path, {"op": "remove", "path": "emails", "value": [{"value": "HOME@example.com"}]}
        )
    )
    assert body["emails"] == [emails[0], emails[2]]
    body = ok(patch(idp, path, {"op": "remove", "path": "emails", "value": [{"type": "other"}]}))
    assert body["emails"] == [emails[0]]
    body = ok(patch(idp, path, {"op": "remove", "path": "emails"}))
    assert "emails" not in body


# --- filters ----------------------------------------------------------------------------------


def test_the_filters_identity_providers_use(idp: FlaskClient) -> None:
    ann = create(
        idp,
        "ann@example.com",
        displayName="Ann Lee",
        emails=[
            {"value": "Ann.Lee@Example.com", "type": "work", "primary": True},
            {"value": "ann@home.example", "type": "home"},
        ],
    )
    bob = create(
        idp,
        "bob@example.com",
        displayName="Bob",
        emails=[{"value": "bob@example.com", "type": "home"}],
    )

    def found(text: str) -> list[str]:
        listing = ok(scim(idp, "GET", f"/Users?filter={text}", user="viewer"))
        return [resource["id"] for resource in listing["Resources"]]

    assert found('displayName eq "ANN LEE"') == [ann["id"]]
    assert found('displayName co "o"') == [bob["id"]]
    assert found('emails.value eq "ann.lee@example.com"') == [ann["id"]]
    assert found('emails eq "BOB@example.com"') == [bob["id"]]
    assert found('emails[type eq "work"].value eq "ann.lee@example.com"') == [ann["id"]]
    assert found('emails[type eq "work"].value eq "bob@example.com"') == []
    assert found('emails[type eq "home" and value ew "example.com"]') == [bob["id"]]
    assert found('emails[type eq "home"] and displayName sw "a"') == [ann["id"]]
    refused(scim(idp, "GET", '/Users?filter=emails[type eq "work"'), 400, "invalidFilter", "ends")


# --- employeeNumber and agentId ---------------------------------------------------------------


def test_employee_number_is_free_text_and_the_agent_id_our_own_attribute(
    idp: FlaskClient,
) -> None:
    hr = create(idp, "hr@example.com", **{ENTERPRISE: {"employeeNumber": "E-1001"}})
    assert hr[ENTERPRISE] == {"employeeNumber": "E-1001"}
    assert hr["schemas"] == [USER, ENTERPRISE, AGENT]
    assert hr[AGENT]["agentId"].isdigit()  # assigned, as before
    uuid = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    create(idp, "uuid@example.com", **{ENTERPRISE: {"employeeNumber": uuid}})
    long = create(idp, "long@example.com", **{ENTERPRISE: {"employeeNumber": "x" * 255}})
    assert long[ENTERPRISE]["employeeNumber"] == "x" * 255
    refused(
        scim(
            idp,
            "POST",
            "/Users",
            user("longer@example.com", **{ENTERPRISE: {"employeeNumber": "x" * 256}}),
        ),
        400,
        "invalidValue",
        "employeeNumber is longer than 255 characters",
    )
    # The agentId: digits, unique on its peripheral (as Cisco's), the same on another is fine.
    mine = create(idp, "mine@example.com", **{AGENT: {"agentId": "424242"}})
    assert mine[AGENT]["agentId"] == "424242"
    refused(
        scim(idp, "POST", "/Users", user("twin@example.com", **{AGENT: {"agentId": "424242"}})),
        409,
        "uniqueness",
        "agentId 424242 is already taken on peripheral 5000",
    )
    other = create(idp, "other@example.com", **{AGENT: {"agentId": "424242", "peripheralId": 5001}})
    assert other[AGENT] == {
        "agentId": "424242",
        "peripheralId": 5001,
        "supervisor": False,
        "ssoEnabled": False,
    }
    refused(
        patch(
            idp,
            f"/Users/{other['id']}",
            {"op": "replace", "path": f"{AGENT}:peripheralId", "value": 5000},
        ),
        409,
        "uniqueness",
        "agentId 424242 is already taken on peripheral 5000",
    )
    refused(
        patch(
            idp, f"/Users/{hr['id']}", {"op": "replace", "path": f"{AGENT}:agentId", "value": "12a"}
        ),
        400,
        "invalidValue",
        "agentId must be digits, got the string '12a'",
    )
    moved = ok(
        patch(
            idp, f"/Users/{hr['id']}", {"op": "replace", "path": f"{AGENT}:agentId", "value": "777"}
        )
    )
    assert moved[AGENT]["agentId"] == "777"
    assert moved[ENTERPRISE] == {"employeeNumber": "E-1001"}  # one no longer moves the other
    # The Cisco API shows the agentId.
    agent = idp.get(
        f"/unifiedconfig/config/agent/{hr['id']}", headers={**basic(), "Accept": "application/json"}
    ).get_json()
    assert agent["agentId"] == "777"
    # Both filterable; employeeNumber ignoring case, and sortable.
    by_number = ok(scim(idp, "GET", f'/Users?filter={ENTERPRISE}:employeeNumber eq "e-1001"'))
    assert [r["id"] for r in by_number["Resources"]] == [hr["id"]]
    by_agent_id = ok(scim(idp, "GET", f'/Users?filter={AGENT}:agentId eq "424242"'))
    assert sorted(r["id"] for r in by_agent_id["Resources"]) == sorted([mine["id"], other["id"]])
    ordered = ok(scim(idp, "GET", f"/Users?sortBy={ENTERPRISE}:employeeNumber&attributes=userName"))
    assert [r["userName"] for r in ordered["Resources"]][:3] == [
        "uuid@example.com",
        "hr@example.com",
        "long@example.com",
    ]
    # employeeNumber may be removed (agentId may not: every agent has one).
    removed = ok(
        patch(idp, f"/Users/{hr['id']}", {"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"})
    )
    assert ENTERPRISE not in removed and removed["schemas"] == [USER, AGENT]
    refused(
        patch(idp, f"/Users/{hr['id']}", {"op": "remove", "path": f"{AGENT}:agentId"}),
        400,
        "invalidValue",
        "agentId is required",
    )


# --- ids --------------------------------------------------------------------------------------


def test_a_deleted_users_or_groups_id_answers_404_and_is_never_given_again(
    idp: FlaskClient,
) -> None:
    first_user = create(idp, "gone@example.com")["id"]
    first_group = group(idp, "Gone")["id"]
    assert scim(idp, "DELETE", f"/Users/{first_user}").status_code == 204
    assert scim(idp, "DELETE", f"/Groups/{first_group}").status_code == 204
    later_users = [create(idp, f"later{n}@example.com")["id"] for n in range(3)]
    later_groups = [group(idp, f"Later {n}")["id"] for n in range(3)]
    assert first_user not in later_users and first_group not in later_groups
    assert all(int(i) > int(first_user) for i in later_users)
    assert all(int(i) > int(first_group) for i in later_groups)
    for path in (f"/Users/{first_user}", f"/Groups/{first_group}"):
        refused(scim(idp, "GET", path), 404, None, "not found")
        refused(
            scim(idp, "PATCH", path, {"Operations": [{"op": "remove", "path": "externalId"}]}),
            404,
            None,
            "not found",
        )
        refused(scim(idp, "DELETE", path), 404, None, "not found")


# --- error details ----------------------------------------------------------------------------


def test_refusals_say_what_came_and_name_the_attribute_and_the_limit(idp: FlaskClient) -> None:
    team = group(idp, "Details")
    # Microsoft's test collection, "Group patch add member": a member as a bare string.
    body = {
        "id": team["id"],
        "Operations": [{"op": "add", "path": "members", "value": "string id 1"}],
        "schemas": [PATCH],
    }
    refused(
        scim(idp, "PATCH", f"/Groups/{team['id']}", body),
        400,
        "invalidValue",
        "A member must be an object with a value, got the string 'string id 1'",
    )
    refused(
        scim(idp, "POST", "/Groups", {"displayName": "X", "members": [{"value": "abc"}]}),
        400,
        "invalidValue",
        "A member's value must be a User's id, got the string 'abc'",
    )
    # The directory's rightful refusals: Cisco's 32-character names, peripherals and teams
    # that must exist.
    for body, detail in (
        (
            user("n@example.com", name={"givenName": "x" * 33}),
            "name.givenName is longer than 32 characters",
        ),
        (
            user("n@example.com", name={"familyName": "x" * 40}),
            "name.familyName is longer than 32 characters",
        ),
        (
            user("n@example.com", **{AGENT: {"peripheralId": 9}}),
            "peripheralId: peripheral 9 does not exist",
        ),
        (
            user("n@example.com", **{AGENT: {"agentTeamId": 99}}),
            "agentTeamId: agent team 99 does not exist",
        ),
        (
            user("n@example.com", emails=["n@example.com"]),
            "An email must be an object with a value, got the string 'n@example.com'",
        ),
        (user("n@example.com", displayName=5), "displayName must be a string, got the number 5"),
    ):
        refused(scim(idp, "POST", "/Users", body), 400, "invalidValue", detail)
    refused(
        scim(
            idp,
            "POST",
            "/Groups",
            {
                "displayName": "Y",
                "urn:bulkjob:params:scim:schemas:extension:agentteam:2.0:Group": {
                    "peripheralId": 9
                },
            },
        ),
        400,
        "invalidValue",
        "peripheralId: peripheral 9 does not exist",
    )


def test_an_agent_id_of_32_digits_leaves_none_to_assign(idp: FlaskClient) -> None:
    create(idp, "top@example.com", **{AGENT: {"agentId": "9" * 32}})
    refused(
        scim(idp, "POST", "/Users", user("next@example.com")),
        400,
        "invalidValue",
        "No agentId is left above the highest one; give an agentId",
    )
    assert create(idp, "given@example.com", **{AGENT: {"agentId": "5"}})[AGENT]["agentId"] == "5"

"""The request bodies Microsoft Entra and Okta document for SCIM 2.0 provisioning, sent as they
are (ids filled in) through HTTP on SQLite and PostgreSQL: a user create, a ``filter=userName eq
"..."`` lookup, a PATCH disabling a user, a PATCH replacing the work email, and a group's
membership added and removed.

Entra's bodies are those of "Develop and plan provisioning for a SCIM endpoint in Microsoft
Entra ID" (User and Group operations) and of its SCIM compatibility notes (``"active":
"False"``); Okta's those of its SCIM 2.0 protocol reference.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient

from tests.conftest import basic
from tests.scim.conftest import ok, scim

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

ENTRA_USER = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": True,
    "emails": [
        {
            "primary": True,
            "type": "work",
            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
        }
    ],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}

OKTA_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def lookup(client: FlaskClient, query: str) -> dict[str, Any]:
    """GET /Users with a raw (already encoded) query string, as the IdP sends it."""
    response = client.get(f"/scim/v2/Users?{query}", headers=basic("viewer"))
    return dict(ok(response))


def test_microsoft_entra_provisions_a_user(idp: FlaskClient) -> None:
    # Is the user there? (Entra looks up before it creates.)
    query = "filter=" + quote('userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"')
    assert lookup(idp, query)["totalResults"] == 0
    created = ok(scim(idp, "POST", "/Users", ENTRA_USER), 201)
    assert created["userName"] == ENTRA_USER["userName"]
    assert created["externalId"] == ENTRA_USER["externalId"]
    assert created["emails"] == ENTRA_USER["emails"]
    assert created["name"] == {"givenName": "givenName", "familyName": "familyName"}
    found = lookup(idp, query)
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    # The same lookup in another case finds it too (userName is not caseExact).
    assert (
        lookup(
            idp, "filter=" + quote('userName eq "test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1"')
        )["totalResults"]
        == 1
    )
    path = f"/Users/{created['id']}"
    # Update User [Multi-valued properties]: the work email and the family name.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ],
    }
    updated = ok(scim(idp, "PATCH", path, body))
    assert updated["emails"] == [
        {"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}
    ]
    assert updated["name"]["familyName"] == "updatedFamilyName"
    by_email = lookup(
        idp, "filter=" + quote('emails[type eq "work"].value eq "updatedemail@microsoft.com"')
    )
    assert [r["id"] for r in by_email["Resources"]] == [created["id"]]
    # Update User [Single-valued properties].
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "userName",
                "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
            }
        ],
    }
    assert (
        ok(scim(idp, "PATCH", path, body))["userName"]
        == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    )
    # Disable User, as Entra sends it without its SCIM-compliance flag: the string "False".
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    assert ok(scim(idp, "PATCH", path, body))["active"] is False
    # ... and with it: a path-less replace, its keys attribute paths.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "value": {
                    "active": True,
                    "displayName": "Pvlo",
                    'emails[type eq "work"].value': "TestBcwqnm@test.microsoft.com",
                    "name.givenName": "Gtfd",
                    "name.familyName": "Pkqf",
                    "externalId": "Eqpj",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Eqpj",
                },
            }
        ],
    }
    updated = ok(scim(idp, "PATCH", path, body))
    assert updated["active"] is True
    assert updated["displayName"] == "Pvlo"
    assert updated["emails"][0]["value"] == "TestBcwqnm@test.microsoft.com"
    assert updated["name"] == {"givenName": "Gtfd", "familyName": "Pkqf"}
    assert updated["externalId"] == "Eqpj"
    assert updated[ENTERPRISE] == {"employeeNumber": "Eqpj"}
    assert scim(idp, "DELETE", path).status_code == 204


def test_microsoft_entra_manages_a_group(idp: FlaskClient) -> None:
    member = ok(scim(idp, "POST", "/Users", ENTRA_USER), 201)["id"]
    other = ok(scim(idp, "POST", "/Users", {**OKTA_USER, "userName": "second@testuser.com"}), 201)[
        "id"
    ]
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    team = ok(scim(idp, "POST", "/Groups", body), 201)
    assert (team["displayName"], team["members"]) == ("displayName", [])
    lookup_group = idp.get(
        "/scim/v2/Groups?filter="
        + quote('displayName eq "displayName"')
        + "&excludedAttributes=members",
        headers=basic(),
    )
    assert [g["id"] for g in ok(lookup_group)["Resources"]] == [team["id"]]
    path = f"/Groups/{team['id']}"
    add = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": member}]}
        ],
    }
    ok(scim(idp, "PATCH", path, add))
    add["Operations"][0]["value"] = [{"$ref": None, "value": other}]
    members = ok(scim(idp, "PATCH", path, add))["members"]
    assert sorted(m["value"] for m in members) == sorted([member, other])
    remove = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": member}]}
        ],
    }
    # Only that member leaves the team (before issue 14 every member did).
    assert [m["value"] for m in ok(scim(idp, "PATCH", path, remove))["members"]] == [other]
    rename = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
            }
        ],
    }
    renamed = ok(scim(idp, "PATCH", path, rename))
    assert renamed["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    assert scim(idp, "DELETE", path).status_code == 204


def test_okta_provisions_a_user(idp: FlaskClient) -> None:
    query = "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    empty = lookup(idp, query)
    assert (empty["totalResults"], empty["Resources"]) == (0, [])
    created = ok(scim(idp, "POST", "/Users", OKTA_USER), 201)
    assert created["displayName"] == "Test User"
    assert created["emails"] == OKTA_USER["emails"]
    assert "password" not in created
    found = lookup(idp, query)
    assert (found["totalResults"], found["startIndex"]) == (1, 1)
    assert found["Resources"][0]["id"] == created["id"]
    path = f"/Users/{created['id']}"
    # Deactivate: a path-less replace.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    assert ok(scim(idp, "PATCH", path, body))["active"] is False
    # Okta's profile update with PUT replaces the work email.
    replaced = {
        **OKTA_USER,
        "id": created["id"],
        "emails": [{"primary": True, "value": "new.address@okta.local", "type": "work"}],
        "active": True,
    }
    assert ok(scim(idp, "PUT", path, replaced))["emails"] == replaced["emails"]


def test_okta_manages_a_group(idp: FlaskClient) -> None:
    member = ok(scim(idp, "POST", "/Users", OKTA_USER), 201)["id"]
    other = ok(scim(idp, "POST", "/Users", ENTRA_USER), 201)["id"]
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Test SCIMv2",
        "members": [],
    }
    team = ok(scim(idp, "POST", "/Groups", body), 201)
    path = f"/Groups/{team['id']}"
    add = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": member, "display": "test.user@okta.local"},
                    {"value": other, "display": "other"},
                ],
            }
        ],
    }
    members = ok(scim(idp, "PATCH", path, add))["members"]
    assert sorted(m["value"] for m in members) == sorted([member, other])
    remove = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": f'members[value eq "{member}"]'}],
    }
    assert [m["value"] for m in ok(scim(idp, "PATCH", path, remove))["members"]] == [other]
    rename = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "value": {"id": team["id"], "displayName": "Test SCIMv2 renamed"}}
        ],
    }
    renamed = ok(scim(idp, "PATCH", path, rename))
    assert (renamed["id"], renamed["displayName"]) == (team["id"], "Test SCIMv2 renamed")
    assert [m["value"] for m in renamed["members"]] == [other]

"""ServiceProviderConfig, ResourceTypes and Schemas: what this service really implements."""

from __future__ import annotations

from typing import Any

from flask import Response

from app.scim import bulk_request
from app.scim.exceptions import ResourceNotFound
from app.scim.groups import GROUP, TEAM
from app.scim.http import bp
from app.scim.http.responses import LIST_RESPONSE, MAX_RESULTS, base_url, scim_response
from app.scim.users import AGENT, ENTERPRISE, USER

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attr(
    name: str,
    type_: str = "string",
    *,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    multi: bool = False,
    sub: list[dict[str, Any]] | None = None,
    description: str = "",
    canonical_values: list[str] | None = None,
    reference_types: list[str] | None = None,
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if type_ in ("string", "reference"):
        attribute["caseExact"] = case_exact
    if canonical_values is not None:
        attribute["canonicalValues"] = canonical_values
    if reference_types is not None:
        attribute["referenceTypes"] = reference_types
    if sub is not None:
        attribute["subAttributes"] = sub
    return attribute


SCHEMAS: dict[str, dict[str, Any]] = {
    USER: {
        "id": USER,
        "name": "User",
        "description": "An agent or supervisor of the contact center",
        "attributes": [
            _attr("userName", required=True, uniqueness="server", description="Login name"),
            _attr(
                "name",
                "complex",
                sub=[_attr("givenName"), _attr("familyName")],
            ),
            _attr("displayName"),
            _attr(
                "active",
                "boolean",
                required=True,
                description="The agent may log in (also the strings true and false)",
            ),
            _attr("externalId", case_exact=True),
            _attr(
                "emails",
                "complex",
                multi=True,
                sub=[
                    _attr("value"),
                    _attr("type", canonical_values=["work", "home", "other"]),
                    _attr("primary", "boolean"),
                    _attr("display"),
                ],
            ),
        ],
    },
    ENTERPRISE: {
        "id": ENTERPRISE,
        "name": "EnterpriseUser",
        "description": "Enterprise User",
        "attributes": [
            _attr(
                "employeeNumber",
                description="Free text from the HR system, at most 255 characters (not the "
                "agentId: that is the agent extension's agentId)",
            )
        ],
    },
    AGENT: {
        "id": AGENT,
        "name": "Agent",
        "description": "Where the agent sits in the contact center",
        "attributes": [
            _attr(
                "agentId",
                required=True,
                case_exact=True,
                description="Cisco's agentId: digits, at most 32, unique on its peripheral; "
                "default: the next free number",
            ),
            _attr(
                "peripheralId",
                "integer",
                required=True,
                description="Default: the configured peripheral",
            ),
            _attr("agentTeamId", "integer", description="A Group's id on the same peripheral"),
            _attr("supervisor", "boolean", required=True, description="Default: false"),
            _attr("ssoEnabled", "boolean", required=True, description="Default: false"),
        ],
    },
    GROUP: {
        "id": GROUP,
        "name": "Group",
        "description": "An agent team",
        "attributes": [
            _attr("displayName", required=True, uniqueness="server", description="Team name"),
            _attr(
                "members",
                "complex",
                multi=True,
                sub=[
                    _attr("value", mutability="immutable", description="A User's id"),
                    _attr("$ref", "reference", mutability="immutable", reference_types=["User"]),
                    _attr(
                        "display",
                        mutability="readOnly",
                        returned="request",
                        description="The User's userName (attributes=members.display)",
                    ),
                    _attr("type", mutability="immutable", canonical_values=["User"]),
                ],
                description="The team's agents (Users only)",
            ),
        ],
    },
    TEAM: {
        "id": TEAM,
        "name": "AgentTeam",
        "description": "Where the team sits in the contact center",
        "attributes": [
            _attr(
                "peripheralId",
                "integer",
                required=True,
                description="Default: the configured peripheral; fixed while it has members",
            )
        ],
    },
}

RESOURCE_TYPES: dict[str, dict[str, Any]] = {
    "User": {
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "Agents and supervisors",
        "schema": USER,
        "schemaExtensions": [
            # Every User has an agentId and a peripheral; an employeeNumber only when given.
            {"schema": ENTERPRISE, "required": False},
            {"schema": AGENT, "required": True},
        ],
    },
    "Group": {
        "schemas": [RESOURCE_TYPE],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Agent teams",
        "schema": GROUP,
        "schemaExtensions": [{"schema": TEAM, "required": True}],
    },
}


def _with_meta(resource: dict[str, Any], kind: str, path: str) -> dict[str, Any]:
    return {**resource, "meta": {"resourceType": kind, "location": f"{base_url()}/{path}"}}


def _schema(urn: str) -> dict[str, Any]:
    return _with_meta({"schemas": [SCHEMA], **SCHEMAS[urn]}, "Schema", f"Schemas/{urn}")


def _resource_type(name: str) -> dict[str, Any]:
    return _with_meta(RESOURCE_TYPES[name], "ResourceType", f"ResourceTypes/{name}")


def _list(resources: list[dict[str, Any]]) -> Response:
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


@bp.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    """What this service supports."""
    return scim_response(
        {
            "schemas": [SPC],
            "documentationUri": "https://github.com/bulkjob/bulkjob#scim-20",
            "patch": {"supported": True},
            "bulk": {
                "supported": True,
                "maxOperations": bulk_request.MAX_OPERATIONS,
                "maxPayloadSize": bulk_request.MAX_PAYLOAD_BYTES,
            },
            "filter": {"supported": True, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "httpbasic",
                    "name": "HTTP Basic",
                    "description": "The service's users and passwords",
                    "primary": True,
                },
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "API tokens made with the CLI",
                },
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{base_url()}/ServiceProviderConfig",
            },
        }
    )


@bp.get("/ResourceTypes")
def resource_types() -> Response:
    """The resource types served."""
    return _list([_resource_type(name) for name in RESOURCE_TYPES])


@bp.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    """One resource type (its name in any case)."""
    found = {known.lower(): known for known in RESOURCE_TYPES}.get(name.lower())
    if found is None:
        raise ResourceNotFound(f"Resource type {name} not found")
    return scim_response(_resource_type(found))


@bp.get("/Schemas")
def schemas() -> Response:
    """The schemas of the served resources."""
    return _list([_schema(urn) for urn in SCHEMAS])


@bp.get("/Schemas/<path:urn>")
def schema(urn: str) -> Response:
    """One schema (URNs compare ignoring case; a trailing slash is no part of one)."""
    found = {known.lower(): known for known in SCHEMAS}.get(urn.rstrip("/").lower())
    if found is None:
        raise ResourceNotFound(f"Schema {urn} not found")
    return scim_response(_schema(found))

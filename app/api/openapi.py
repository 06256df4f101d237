"""The API's contract as an OpenAPI 3 document, generated from the marshmallow schemas.

Served without credentials at ``/openapi.json``. It describes the JSON representation (XML is
the same tree under a root element); the suite fuzzes the running app against it (schemathesis).
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, fields

from app.api import directory_schemas as directory
from app.api.directory_schemas import AgentSchema
from app.api.errors import ERROR_TYPE_BY_STATUS
from app.api.schemas import (
    MAX_INT,
    ApiErrorSchema,
    BulkJobCreateSchema,
    BulkJobSchema,
    BulkJobUpdateSchema,
    PageInfoSchema,
    PermissionInfoSchema,
    RetrySchema,
    RevertSchema,
)
from app.db.listing import MAX_PER_PAGE
from app.directory import object_templates
from app.jobs import idempotency
from app.jobs import types as jobtypes
from app.urls import API_BASE

bp = Blueprint("openapi", __name__)

JSON = "application/json"
DOCUMENT_KEY = "bulkjob.openapi"


class ApiErrorsSchema(Schema):
    """Every error: an apiErrors list."""

    apiErrors = fields.List(fields.Nested(ApiErrorSchema), required=True)


class BulkJobListSchema(Schema):
    """GET /bulkjob: one page of jobs."""

    pageInfo = fields.Nested(PageInfoSchema, required=True)
    permissionInfo = fields.Nested(PermissionInfoSchema, required=True)
    bulkJobs = fields.List(fields.Nested(BulkJobSchema), required=True)


class AgentListSchema(Schema):
    """GET /agent: one page of agents."""

    pageInfo = fields.Nested(PageInfoSchema, required=True)
    permissionInfo = fields.Nested(PermissionInfoSchema, required=True)
    agents = fields.List(fields.Nested(AgentSchema), required=True)


# The rest of the directory (docs/directory.md): (path segment, component name, list wrapper,
# schema, what one is called in summaries), each a list and one object by id.
DIRECTORY = (
    ("skillgroup", "SkillGroup", "skillGroups", directory.SkillGroupSchema, "skill group"),
    ("agentteam", "AgentTeam", "agentTeams", directory.AgentTeamSchema, "agent team"),
    ("attribute", "Attribute", "attributes", directory.AttributeSchema, "attribute"),
    (
        "agentdesksetting",
        "AgentDeskSetting",
        "agentDeskSettings",
        directory.AgentDeskSettingSchema,
        "agent desk setting",
    ),
    ("department", "Department", "departments", directory.DepartmentSchema, "department"),
    (
        "mediaroutingdomain",
        "MediaRoutingDomain",
        "mediaRoutingDomains",
        directory.MediaRoutingDomainSchema,
        "media routing domain",
    ),
    ("calltype", "CallType", "callTypes", directory.CallTypeSchema, "call type"),
    (
        "dialednumber",
        "DialedNumber",
        "dialedNumbers",
        directory.DialedNumberSchema,
        "dialed number",
    ),
)


def _list_schema(name: str, wrapper: str, item: type[Schema]) -> type[Schema]:
    """One page of a directory list: pageInfo, permissionInfo and ``wrapper``."""
    return Schema.from_dict(
        {
            "pageInfo": fields.Nested(PageInfoSchema, required=True),
            "permissionInfo": fields.Nested(PermissionInfoSchema, required=True),
            wrapper: fields.List(fields.Nested(item), required=True),
        },
        name=f"{name}ListSchema",
    )


# Every operation can answer these (no or wrong credentials, throttled, a dependency down).
COMMON_ERRORS = (401, 429, 503)
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}


def _errors(*statuses: int) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for status in sorted({*statuses, *COMMON_ERRORS}):
        response: dict[str, Any] = {
            "description": ERROR_TYPE_BY_STATUS.get(status, "error"),
            "content": {JSON: {"schema": "ApiErrors"}},
        }
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        out[status] = response
    return out


def _ok(schema: str | None = None, media: str = JSON, description: str = "OK") -> dict[str, Any]:
    if schema is None and media == JSON:
        return {"description": description}
    kind = "object" if media.endswith("json") else "string"
    body: dict[str, Any] = {"schema": schema} if schema else {"schema": {"type": kind}}
    return {"description": description, "content": {media: body}}


def _query(name: str, kind: str, description: str, **bounds: int) -> dict[str, Any]:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "description": description,
        "schema": {"type": kind, **bounds},
    }


LIST_PARAMS = [
    _query("startIndex", "integer", "first item, from 0", minimum=0, maximum=MAX_INT),
    _query("resultsPerPage", "integer", "page size", minimum=1, maximum=MAX_PER_PAGE),
    _query("q", "string", "search term"),
    _query("sort", "string", "sort term: a field name, optionally followed by ' desc'"),
]
ID_PARAM = {"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}
# Safe re-submission (docs/api.md): the same create sent again with its key makes no second job.
IDEMPOTENCY_KEY_PARAM = {
    "in": "header",
    "name": idempotency.HEADER,
    "required": False,
    "description": f"sent again within {idempotency.LIFETIME_HOURS} hours with the same "
    "request: the first answer again, and no second job (keys are per user)",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_LENGTH,
        "pattern": "^[\\x20-\\x7e]+$",
    },
}


def _download(summary: str, media: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [ID_PARAM],
            "responses": {200: _ok(media=media), **_errors(403, 404)},
        }
    }


def build() -> dict[str, Any]:
    """The OpenAPI 3 document of the /unifiedconfig/config API."""
    spec = APISpec(
        title="bulkjob",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Cisco UCCE-compatible bulk jobs (JSON representation)."},
        security=[{"basic": []}, {"bearer": []}],
    )
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (
        ("ApiErrors", ApiErrorsSchema),
        ("BulkJob", BulkJobSchema),
        ("BulkJobList", BulkJobListSchema),
        ("BulkJobCreate", BulkJobCreateSchema),
        ("BulkJobUpdate", BulkJobUpdateSchema),
        ("BulkJobRevert", RevertSchema),
        ("BulkJobRetry", RetrySchema),
        ("Reference", directory.ReferenceSchema),
        ("AgentAttribute", directory.AgentAttributeSchema),
        ("Agent", AgentSchema),
        ("AgentList", AgentListSchema),
    ):
        spec.components.schema(name, schema=schema)
    for _segment, name, wrapper, item, _label in DIRECTORY:
        spec.components.schema(name, schema=item)
        spec.components.schema(f"{name}List", schema=_list_schema(name, wrapper, item))

    def body(schema: str) -> dict[str, Any]:
        return {"required": True, "content": {JSON: {"schema": schema}}}

    location = {"Location": {"schema": {"type": "string"}, "required": True}}
    created = {"description": "Created; Location names the new job", "headers": location}
    replayed = {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "the answer to an earlier request with this Idempotency-Key",
    }
    created_once = {
        "description": "Created (or created before: the same Idempotency-Key and request); "
        "Location names the job",
        "headers": {**location, idempotency.REPLAYED_HEADER: replayed},
    }
    reused = {
        "description": "idempotencyKeyReused: the Idempotency-Key came with another request",
        "content": {JSON: {"schema": "ApiErrors"}},
    }
    spec.path(
        path=f"{API_BASE}/bulkjob",
        operations={
            "get": {
                "summary": "List jobs",
                "parameters": LIST_PARAMS,
                "responses": {200: _ok("BulkJobList"), **_errors(400, 403)},
            },
            "post": {
                "summary": "Create a job from a CSV (checked before it exists)",
                "parameters": [IDEMPOTENCY_KEY_PARAM],
                "requestBody": body("BulkJobCreate"),
                "responses": {201: created_once, **_errors(400, 403, 413, 415), 422: reused},
            },
        },
    )
    spec.path(
        path=f"{API_BASE}/bulkjob/{{id}}",
        operations={
            "get": {
                "summary": "One job",
                "parameters": [ID_PARAM],
                "responses": {200: _ok("BulkJob"), **_errors(403, 404)},
            },
            "put": {
                "summary": "Change the description or a Queued job's startAfter, or cancel",
                "parameters": [ID_PARAM],
                "requestBody": body("BulkJobUpdate"),
                "responses": {200: _ok("BulkJob"), **_errors(400, 403, 404, 409, 413, 415)},
            },
            "delete": {
                "summary": "Delete a finished job",
                "parameters": [ID_PARAM],
                "responses": {200: _ok(description="Deleted"), **_errors(403, 404, 409)},
            },
        },
    )
    spec.path(
        path=f"{API_BASE}/bulkjob/{{id}}/revert",
        operations={
            "post": {
                "summary": "Revert a finished SSO-migration job: create the job that puts back "
                "what it changed (the body is optional)",
                "parameters": [ID_PARAM],
                "requestBody": {**body("BulkJobRevert"), "required": False},
                "responses": {201: created, **_errors(400, 403, 404, 409, 413, 415)},
            }
        },
    )
    spec.path(
        path=f"{API_BASE}/bulkjob/{{id}}/retry",
        operations={
            "post": {
                "summary": "Retry a finished job: create the job that runs its failed and "
                "unprocessed lines again (the body, a corrected file of them, is optional)",
                "parameters": [ID_PARAM],
                "requestBody": {**body("BulkJobRetry"), "required": False},
                "responses": {201: created, **_errors(400, 403, 404, 409, 413, 415)},
            }
        },
    )
    spec.path(path=f"{API_BASE}/bulkjob/{{id}}/log", operations=_download("Log", "text/plain"))
    original = _download("The original file (a SCIM bulk job's: its BulkRequest)", "text/csv")
    for job_type in jobtypes.registry().values():
        media = _ok(media=job_type.media_type)["content"]
        original["get"]["responses"][200]["content"].update(media)
    spec.path(path=f"{API_BASE}/bulkjob/{{id}}/csv", operations=original)
    for job_type in jobtypes.registry().values():
        for extra in job_type.extras:
            summary = f"{extra.label[0].upper()}{extra.label[1:]} of a {job_type.name} job"
            spec.path(
                path=f"{API_BASE}/bulkjob/{{id}}/{extra.name}",
                operations=_download(summary, extra.media_type),
            )
    spec.path(
        path=f"{API_BASE}/bulkjob/{{id}}/failed", operations=_download("Failed rows", "text/csv")
    )
    results = _download("Every line's results (a finished job)", "text/csv")
    results["get"]["responses"].update(_errors(409))
    spec.path(path=f"{API_BASE}/bulkjob/{{id}}/results", operations=results)
    planned = _download("A finished dry run's plan (JSON when asked for, else CSV)", "text/csv")
    planned["get"]["responses"][200]["content"]["application/json"] = {"schema": {"type": "object"}}
    planned["get"]["parameters"].append(
        _query("action", "string", "JSON: only the lines of this action")
    )
    planned["get"]["responses"].update(_errors(400, 409))
    spec.path(path=f"{API_BASE}/bulkjob/{{id}}/plan", operations=planned)
    spec.path(
        path=f"{API_BASE}/bulkjob/templates/ssomigration",
        operations={
            "get": {
                "summary": "The SSO-migration template",
                "parameters": [_query("q", "string", "filter: peripheral:ID, team:ID")],
                "responses": {200: _ok(media="text/csv"), **_errors(400, 403)},
            }
        },
    )
    spec.path(
        path=f"{API_BASE}/bulkjob/templates/agent",
        operations={
            "get": {
                "summary": "The agent template: the agents as an agent file, in pieces",
                "parameters": [
                    _query("q", "string", "filter: peripheralId:ID agentTeamId:ID"),
                    _query(
                        "startIndex",
                        "integer",
                        "the piece from this agent on (by id)",
                        minimum=0,
                        maximum=MAX_INT,
                    ),
                ],
                "responses": {200: _ok(media="text/csv"), **_errors(400, 403)},
            }
        },
    )
    for name, job_type in object_templates.TEMPLATES.items():
        spec.path(
            path=f"{API_BASE}/bulkjob/templates/{name}",
            operations={
                "get": {
                    "summary": f"The {job_type.name} template: the live objects as their file",
                    "parameters": [
                        _query(
                            "startIndex",
                            "integer",
                            "the piece from this object on (by id)",
                            minimum=0,
                            maximum=MAX_INT,
                        )
                    ],
                    "responses": {200: _ok(media="text/csv"), **_errors(400, 403)},
                }
            },
        )
    spec.path(
        path=f"{API_BASE}/agent",
        operations={
            "get": {
                "summary": "List agents",
                "parameters": LIST_PARAMS,
                "responses": {200: _ok("AgentList"), **_errors(400, 403)},
            }
        },
    )
    spec.path(
        path=f"{API_BASE}/agent/{{id}}",
        operations={
            "get": {
                "summary": "One agent",
                "parameters": [ID_PARAM],
                "responses": {200: _ok("Agent"), **_errors(403, 404)},
            }
        },
    )
    for segment, name, _wrapper, _item, label in DIRECTORY:
        spec.path(
            path=f"{API_BASE}/{segment}",
            operations={
                "get": {
                    "summary": f"List {label}s",
                    "parameters": LIST_PARAMS,
                    "responses": {200: _ok(f"{name}List"), **_errors(400, 403)},
                }
            },
        )
        spec.path(
            path=f"{API_BASE}/{segment}/{{id}}",
            operations={
                "get": {
                    "summary": f"One {label}",
                    "parameters": [ID_PARAM],
                    "responses": {200: _ok(name), **_errors(403, 404)},
                }
            },
        )
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The API's OpenAPI 3 document (no credentials needed)."""
    document = current_app.extensions.get(DOCUMENT_KEY)
    if document is None:
        document = current_app.extensions[DOCUMENT_KEY] = build()
    return jsonify(document)

"""/Groups: agent teams as SCIM Groups. Thin: parse, call app.scim.groups, render."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request

from app.db import db
from app.scim import groups as scim_groups
from app.scim import resources as scim_resources
from app.scim.filters import sql as filter
from app.scim.http import bp
from app.scim.http.responses import (
    base_url,
    if_match,
    json_body,
    list_params,
    list_response,
    projection,
    scim_response,
)

# members.display is returned only when asked for (``returned: request`` in /Schemas).
MEMBER_DISPLAY = ("members", "display")


def _render(group: scim_groups.Group, status: int = 200, location: bool = False) -> Response:
    attributes, excluded = projection(request.args, scim_groups.SCHEMAS)
    resource = scim_groups.to_resource(group, base_url(), MEMBER_DISPLAY in (attributes or ()))
    headers = {"ETag": group.version}
    if location:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(scim_resources.project(resource, attributes, excluded), status, headers)


def _list(raw: Mapping[str, Any]) -> Response:
    params = list_params(raw, scim_groups.SCHEMAS)
    condition = filter.parse(params.filter, scim_groups.ATTRIBUTES) if params.filter else None
    with db.read() as conn:
        listing = scim_groups.list_groups(
            conn,
            condition,
            params.sort_by,
            params.descending,
            params.start_index,
            params.count,
            # Identity providers list groups with excludedAttributes=members: skip the query.
            with_members=params.wants("members"),
        )
    base = base_url()
    resources = [
        scim_resources.project(
            scim_groups.to_resource(group, base, MEMBER_DISPLAY in (params.attributes or ())),
            params.attributes,
            params.excluded,
        )
        for group in listing.groups
    ]
    return list_response(resources, listing.total, params.start_index)


@bp.get("/Groups")
def list_groups() -> Response:
    """Groups matching ``filter``, a page at a time."""
    return _list(request.args)


@bp.post("/Groups/.search")
def search_groups() -> Response:
    """The same as GET /Groups, with the parameters in a SearchRequest body."""
    return _list(json_body())


@bp.get("/Groups/<group_id>")
def get_group(group_id: str) -> Response:
    """One Group with its members."""
    with db.read() as conn:
        group = scim_groups.get_group(conn, group_id)
    tags = request.if_none_match
    if tags and (tags.star_tag or tags.contains_weak(group.version[2:].strip('"'))):
        return scim_response(None, 304, {"ETag": group.version})
    return _render(group)


@bp.post("/Groups")
def create_group() -> Response:
    """A new agent team."""
    body = json_body()
    default = current_app.config["SETTINGS"].scim_default_peripheral
    with db.write() as conn:
        group_id = scim_groups.create_group(conn, body, default)
        group = scim_groups.get_group(conn, str(group_id))
    return _render(group, 201, location=True)


@bp.put("/Groups/<group_id>")
def replace_group(group_id: str) -> Response:
    """Replace a Group's name and members."""
    body = json_body()
    with db.write() as conn:
        scim_groups.replace_group(conn, group_id, body, if_match())
        group = scim_groups.get_group(conn, group_id)
    return _render(group)


@bp.patch("/Groups/<group_id>")
def patch_group(group_id: str) -> Response:
    """Apply a PatchOp (members add/remove/replace, members[value eq "..."])."""
    body = json_body()
    with db.write() as conn:
        scim_groups.patch_group(conn, group_id, body, if_match(), base_url())
        group = scim_groups.get_group(conn, group_id)
    return _render(group)


@bp.delete("/Groups/<group_id>")
def delete_group(group_id: str) -> Response:
    """Delete a team; its agents are left without a team."""
    with db.write() as conn:
        scim_groups.delete_group(conn, group_id, if_match())
    return scim_response(None, 204)

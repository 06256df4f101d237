"""/Users: agents as SCIM Users. Thin: parse, call app.scim.users, render."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import Row

from app.db import db
from app.scim import resources as scim_resources
from app.scim import users as scim_users
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


def _render(row: Row[Any], status: int = 200, location: bool = False) -> Response:
    attributes, excluded = projection(request.args, scim_users.SCHEMAS)
    resource = scim_users.to_resource(row, base_url())
    headers = {"ETag": scim_users.version(row)}
    if location:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(scim_resources.project(resource, attributes, excluded), status, headers)


def _list(raw: Mapping[str, Any]) -> Response:
    params = list_params(raw, scim_users.SCHEMAS)
    condition = filter.parse(params.filter, scim_users.ATTRIBUTES) if params.filter else None
    with db.read() as conn:
        listing = scim_users.list_users(
            conn, condition, params.sort_by, params.descending, params.start_index, params.count
        )
    base = base_url()
    resources = [
        scim_resources.project(
            scim_users.to_resource(row, base), params.attributes, params.excluded
        )
        for row in listing.rows
    ]
    return list_response(resources, listing.total, params.start_index)


@bp.get("/Users")
def list_users() -> Response:
    """Users matching ``filter``, a page at a time."""
    return _list(request.args)


@bp.post("/Users/.search")
def search_users() -> Response:
    """The same as GET /Users, with the parameters in a SearchRequest body."""
    return _list(json_body())


@bp.get("/Users/<user_id>")
def get_user(user_id: str) -> Response:
    """One User; 304 when If-None-Match names its version."""
    with db.read() as conn:
        row = scim_users.get_user(conn, user_id)
    tags = request.if_none_match
    if tags and (tags.star_tag or tags.contains_weak(str(row.change_stamp))):
        return scim_response(None, 304, {"ETag": scim_users.version(row)})
    return _render(row)


@bp.post("/Users")
def create_user() -> Response:
    """A new agent."""
    body = json_body()
    default = current_app.config["SETTINGS"].scim_default_peripheral
    with db.write() as conn:
        user_id = scim_users.create_user(conn, body, default)
        row = scim_users.get_user(conn, str(user_id))
    return _render(row, 201, location=True)


@bp.put("/Users/<user_id>")
def replace_user(user_id: str) -> Response:
    """Replace a User's attributes."""
    body = json_body()
    with db.write() as conn:
        scim_users.replace_user(conn, user_id, body, if_match())
        row = scim_users.get_user(conn, user_id)
    return _render(row)


@bp.patch("/Users/<user_id>")
def patch_user(user_id: str) -> Response:
    """Apply a PatchOp."""
    body = json_body()
    with db.write() as conn:
        scim_users.patch_user(conn, user_id, body, if_match(), base_url())
        row = scim_users.get_user(conn, user_id)
    return _render(row)


@bp.delete("/Users/<user_id>")
def delete_user(user_id: str) -> Response:
    """Delete a User (the agent)."""
    with db.write() as conn:
        scim_users.delete_user(conn, user_id, if_match())
    return scim_response(None, 204)

"""POST /.search at the root (RFC 7644 §3.4.3): one SearchRequest over Users and Groups.

Users come first, then Groups, each in id order; ``startIndex`` and ``count`` page through the
two as one list. A filter is applied to each resource type whose attributes it names (a type
that does not know them contributes nothing); ``sortBy`` needs a single resource type.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy import ColumnElement

from app.db import db
from app.scim import groups as scim_groups
from app.scim import resources as scim_resources
from app.scim import users as scim_users
from app.scim.exceptions import InvalidFilter, InvalidValue
from app.scim.filters import sql as filter
from app.scim.http import bp
from app.scim.http.groups import MEMBER_DISPLAY
from app.scim.http.responses import ListParams, base_url, json_body, list_params, list_response
from app.scim.resources import Attribute

NO_MATCH = object()


def _condition(params: ListParams, attributes: dict[str, Attribute]) -> Any:
    """The filter as a condition on one type; NO_MATCH when the type lacks its attributes."""
    if not params.filter:
        return None
    try:
        return filter.parse(params.filter, attributes)
    except InvalidFilter:
        return NO_MATCH


@bp.post("/.search")
def search_all() -> Response:
    """Users and Groups matching a SearchRequest, a page at a time."""
    body = json_body()
    users = list_params(body, scim_users.SCHEMAS)
    groups = list_params(body, scim_groups.SCHEMAS)
    if users.sort_by:
        raise InvalidValue("sortBy needs one resource type: search /Users or /Groups")
    user_condition = _condition(users, scim_users.ATTRIBUTES)
    group_condition = _condition(groups, scim_groups.ATTRIBUTES)
    if user_condition is NO_MATCH and group_condition is NO_MATCH:
        assert users.filter is not None
        filter.parse(users.filter, scim_users.ATTRIBUTES)  # raises the reason
    base = base_url()
    resources: list[dict[str, Any]] = []
    skip, wanted, total = users.start_index - 1, users.count, 0
    with db.read() as conn:
        if user_condition is not NO_MATCH:
            condition: ColumnElement[bool] | None = user_condition
            listing = scim_users.list_users(conn, condition, None, False, skip + 1, wanted)
            resources += [
                scim_resources.project(
                    scim_users.to_resource(row, base), users.attributes, users.excluded
                )
                for row in listing.rows
            ]
            skip, wanted = max(skip - listing.total, 0), wanted - len(listing.rows)
            total += listing.total
        if group_condition is not NO_MATCH:
            display = MEMBER_DISPLAY in (groups.attributes or ())
            found = scim_groups.list_groups(
                conn, group_condition, None, False, skip + 1, wanted, groups.wants("members")
            )
            resources += [
                scim_resources.project(
                    scim_groups.to_resource(group, base, display),
                    groups.attributes,
                    groups.excluded,
                )
                for group in found.groups
            ]
            total += found.total
    return list_response(resources, total, users.start_index)

"""The contact-center directory beside /agent (read-only; docs/directory.md): /skillgroup,
/agentteam, /attribute, /agentdesksetting, /department, /mediaroutingdomain, /calltype and
/dialednumber, each a list (startIndex, resultsPerPage, q, sort) and one object by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request
from marshmallow import Schema
from sqlalchemy import Connection

from app.accounts.roles import READ_DIRECTORY
from app.api import bp
from app.api import directory_schemas as shown
from app.api.auth import roles
from app.api.paging import read_only_list
from app.api.representation import render, wants_json
from app.db import db
from app.directory import attributes, call_types, dialed_numbers, named, skill_groups, teams


def _one(
    read: Callable[[Connection, int], Any], object_id: int, schema: Schema, root: str
) -> Response:
    with db.read() as conn:
        row = read(conn, object_id)
    return render(schema.dump(row), root, json=wants_json(request))


@bp.get("/skillgroup", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_skill_groups() -> Response:
    """One page of skill groups, each with its number of agents."""
    return read_only_list(skill_groups.list_skill_groups, shown.skill_groups_schema, "skillGroups")


@bp.get("/skillgroup/<id:skill_group_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_skill_group(skill_group_id: int) -> Response:
    """One skill group, with its agents."""
    return _one(
        skill_groups.get_skill_group, skill_group_id, shown.skill_group_schema, "skillGroup"
    )


@bp.get("/agentteam", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_teams() -> Response:
    """One page of agent teams, each with its numbers of agents and supervisors."""
    return read_only_list(teams.list_teams, shown.agent_teams_schema, "agentTeams")


@bp.get("/agentteam/<id:team_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_team(team_id: int) -> Response:
    """One agent team, with its agents and supervisors."""
    return _one(teams.get_team, team_id, shown.agent_team_schema, "agentTeam")


@bp.get("/attribute", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_attributes() -> Response:
    """One page of attributes, each with the number of agents that have a value of it."""
    return read_only_list(attributes.list_attributes, shown.attributes_schema, "attributes")


@bp.get("/attribute/<id:attribute_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_attribute(attribute_id: int) -> Response:
    """One attribute."""
    return _one(attributes.get_attribute, attribute_id, shown.attribute_schema, "attribute")


@bp.get("/agentdesksetting", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_desk_settings() -> Response:
    """One page of agent desk settings."""
    return read_only_list(
        named.DESK_SETTINGS.list_page, shown.desk_settings_schema, "agentDeskSettings"
    )


@bp.get("/agentdesksetting/<id:desk_setting_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_desk_setting(desk_setting_id: int) -> Response:
    """One agent desk setting."""
    return _one(
        named.DESK_SETTINGS.get, desk_setting_id, shown.desk_setting_schema, "agentDeskSetting"
    )


@bp.get("/department", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_departments() -> Response:
    """One page of departments."""
    return read_only_list(named.DEPARTMENTS.list_page, shown.departments_schema, "departments")


@bp.get("/department/<id:department_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_department(department_id: int) -> Response:
    """One department."""
    return _one(named.DEPARTMENTS.get, department_id, shown.department_schema, "department")


@bp.get("/mediaroutingdomain", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_media_routing_domains() -> Response:
    """One page of media routing domains."""
    return read_only_list(
        named.MEDIA_ROUTING_DOMAINS.list_page,
        shown.media_routing_domains_schema,
        "mediaRoutingDomains",
    )


@bp.get("/mediaroutingdomain/<id:domain_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_media_routing_domain(domain_id: int) -> Response:
    """One media routing domain."""
    return _one(
        named.MEDIA_ROUTING_DOMAINS.get,
        domain_id,
        shown.media_routing_domain_schema,
        "mediaRoutingDomain",
    )


@bp.get("/calltype", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_call_types() -> Response:
    """One page of call types, each with its number of dialed numbers."""
    return read_only_list(call_types.list_call_types, shown.call_types_schema, "callTypes")


@bp.get("/calltype/<id:call_type_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_call_type(call_type_id: int) -> Response:
    """One call type."""
    return _one(call_types.get_call_type, call_type_id, shown.call_type_schema, "callType")


@bp.get("/dialednumber", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_dialed_numbers() -> Response:
    """One page of dialed numbers."""
    return read_only_list(
        dialed_numbers.DIALED_NUMBERS.list_page, shown.dialed_numbers_schema, "dialedNumbers"
    )


@bp.get("/dialednumber/<id:dialed_number_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_dialed_number(dialed_number_id: int) -> Response:
    """One dialed number, with its call type and media routing domain."""
    return _one(
        dialed_numbers.DIALED_NUMBERS.get,
        dialed_number_id,
        shown.dialed_number_schema,
        "dialedNumber",
    )

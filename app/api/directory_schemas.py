"""The contact-center directory's representations (docs/directory.md), as Cisco's: agents, skill
groups, agent teams, attributes, agent desk settings, departments, media routing domains, call
types and dialed numbers.

Dump schemas only (the directory is read-only through the API), built like app/api/schemas.py's:
rows or mappings in, None left out. An object names another by a reference, ``{refURL, name}``.
No schema has a field for an agent's password hash: it is never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields

from app.api.schemas import _DumpSchema, _get
from app.urls import (
    API_BASE,
    agent_path,
    attribute_path,
    call_type_path,
    department_path,
    desk_setting_path,
    dialed_number_path,
    media_routing_domain_path,
    skill_group_path,
    team_path,
)

Path = Callable[[object], str]


class ReferenceSchema(_DumpSchema):
    """Another object: where it is and its name."""

    refURL = fields.String()
    name = fields.String()


class Reference(fields.Nested):
    """A :class:`ReferenceSchema` whose refURL ``path`` makes from an id. In a list it is built
    from each item's ``id`` and ``name``; given ``key``, from the row's ``<key>_id`` and
    ``<key>_name``. Absent when the id is None."""

    def __init__(self, path: Path, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(ReferenceSchema, **kwargs)
        self._path = path
        self._key = key
        # With a key the field reads the row itself, not an attribute of it.
        self._CHECK_ATTRIBUTE = key is None

    # Field and Nested name the first parameter differently; no override matches both.
    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        item, prefix = (nested_obj, "") if self._key is None else (obj, f"{self._key}_")
        ref_id = None if item is None else _get(item, f"{prefix}id")
        if ref_id is None:
            return None
        return {"refURL": self._path(ref_id), "name": _get(item, f"{prefix}name")}


def _references(path: Path, data_key: str | None = None) -> fields.List:
    """A list of references (XML: a wrapper holding one element per item)."""
    return fields.List(Reference(path), data_key=data_key)


def _peripheral(obj: Any) -> dict[str, Any]:
    return {"id": _get(obj, "peripheral_id"), "name": _get(obj, "peripheral_name")}


class AgentAttributeSchema(_DumpSchema):
    """An agent's value of an attribute."""

    attribute = Reference(attribute_path, key="attribute")
    value = fields.String(data_key="attributeValue")


class AgentSchema(_DumpSchema):
    """An agent (or supervisor) of the directory, as Cisco's agent."""

    agent_id = fields.String(data_key="agentId")
    peripheral = fields.Method("_peripheral")
    agent_team = fields.Method("_agent_team", data_key="agentTeam")
    person = fields.Method("_person")
    supervisor = fields.Boolean()
    description = fields.String()
    agent_state_trace = fields.Boolean(data_key="agentStateTrace")
    agent_desk_settings = Reference(
        desk_setting_path, key="agent_desk_settings", data_key="agentDeskSettings"
    )
    skill_groups = _references(skill_group_path, "skillGroups")
    default_skill_group = Reference(
        skill_group_path, key="default_skill_group", data_key="defaultSkillGroup"
    )
    agent_attributes = fields.List(fields.Nested(AgentAttributeSchema), data_key="agentAttributes")
    # A supervisor's teams (absent for other agents).
    supervisor_teams = _references(team_path, "supervisorTeams")
    department = Reference(department_path, key="department")
    change_stamp = fields.Integer(data_key="changeStamp")
    ref_url = fields.Method("_ref_url", data_key="refURL")

    def _peripheral(self, obj: Any) -> dict[str, Any]:
        peripheral_id = _get(obj, "peripheral_id")
        return {
            "id": peripheral_id,
            "name": _get(obj, "peripheral_name"),
            "refURL": f"{API_BASE}/peripheral/{peripheral_id}",
        }

    def _agent_team(self, obj: Any) -> dict[str, Any] | None:
        team_id = _get(obj, "agent_team_id")
        if team_id is None:
            return None
        return {"id": team_id, "name": _get(obj, "agent_team_name"), "refURL": team_path(team_id)}

    def _person(self, obj: Any) -> dict[str, Any]:
        return {
            "firstName": _get(obj, "first_name"),
            "lastName": _get(obj, "last_name"),
            "userName": _get(obj, "user_name"),
            "loginEnabled": bool(_get(obj, "login_enabled")),
            "ssoEnabled": bool(_get(obj, "sso_enabled")),
        }

    def _ref_url(self, obj: Any) -> str:
        return agent_path(_get(obj, "id"))


def _named(name: str, path: Path, *, with_id: bool = False, **more: fields.Field) -> type[Schema]:
    """The schema ``name`` of a named kind: refURL, changeStamp, (id,) name and description
    first, then ``more`` in order."""
    shown: dict[str, fields.Field] = {
        "ref_url": fields.Function(lambda obj: path(_get(obj, "id")), data_key="refURL"),
        "change_stamp": fields.Integer(data_key="changeStamp"),
    }
    if with_id:
        shown["id"] = fields.Integer()
    shown.update(name=fields.String(), description=fields.String(), **more)
    return _DumpSchema.from_dict(shown, name=name)


def _count(data_key: str) -> fields.Integer:
    return fields.Integer(data_key=data_key)


SkillGroupSchema = _named(
    "SkillGroupSchema",
    skill_group_path,
    peripheral=fields.Function(_peripheral),
    peripheral_number=fields.Integer(data_key="peripheralNumber"),
    media_routing_domain=Reference(
        media_routing_domain_path, key="media_routing_domain", data_key="mediaRoutingDomain"
    ),
    service_level_threshold=fields.Integer(data_key="serviceLevelThreshold"),
    service_level_type=fields.Integer(data_key="serviceLevelType"),
    agent_count=_count("agentCount"),
    # One skill group's members (not in lists).
    agents=_references(agent_path),
)
AgentTeamSchema = _named(
    "AgentTeamSchema",
    team_path,
    peripheral=fields.Function(_peripheral),
    agent_count=_count("agentCount"),
    supervisor_count=_count("supervisorCount"),
    # One team's members and supervisors (not in lists).
    agents=_references(agent_path),
    supervisors=_references(agent_path),
)
AttributeSchema = _named(
    "AttributeSchema",
    attribute_path,
    data_type=fields.Integer(data_key="dataType"),
    default_value=fields.String(data_key="defaultValue"),
    agent_count=_count("agentCount"),
)
AgentDeskSettingSchema = _named(
    "AgentDeskSettingSchema",
    desk_setting_path,
    agent_state_after_rona=fields.String(data_key="agentStateAfterRONA"),
    auto_answer_enabled=fields.Boolean(data_key="autoAnswerEnabled"),
    idle_reason_required=fields.Boolean(data_key="idleReasonRequired"),
    logout_reason_required=fields.Boolean(data_key="logoutReasonRequired"),
    logout_non_activity_time=fields.Integer(data_key="logoutNonActivityTime"),
    work_mode_timer=fields.Integer(data_key="workModeTimer"),
)
DepartmentSchema = _named("DepartmentSchema", department_path)
MediaRoutingDomainSchema = _named(
    "MediaRoutingDomainSchema",
    media_routing_domain_path,
    with_id=True,
    type=fields.String(),
    service_level_threshold=fields.Integer(data_key="serviceLevelThreshold"),
)
CallTypeSchema = _named(
    "CallTypeSchema",
    call_type_path,
    with_id=True,
    service_level_threshold=fields.Integer(data_key="serviceLevelThreshold"),
    service_level_type=fields.Integer(data_key="serviceLevelType"),
    department=Reference(department_path, key="department"),
    dialed_number_count=_count("dialedNumberCount"),
)


class DialedNumberSchema(_DumpSchema):
    """A dialed number: no name of its own, its string and routing type name it."""

    ref_url = fields.Function(lambda obj: dialed_number_path(_get(obj, "id")), data_key="refURL")
    change_stamp = fields.Integer(data_key="changeStamp")
    dialed_number_string = fields.String(data_key="dialedNumberString")
    routing_type = fields.Integer(data_key="routingType")
    description = fields.String()
    call_type = Reference(call_type_path, key="call_type", data_key="callType")
    media_routing_domain = Reference(
        media_routing_domain_path, key="media_routing_domain", data_key="mediaRoutingDomain"
    )
    department = Reference(department_path, key="department")


# Ready-made instances (see app/api/schemas.py): one object, and a page of them.
agent_schema = AgentSchema()
agents_schema = AgentSchema(many=True)
skill_group_schema = SkillGroupSchema()
skill_groups_schema = SkillGroupSchema(many=True)
agent_team_schema = AgentTeamSchema()
agent_teams_schema = AgentTeamSchema(many=True)
attribute_schema = AttributeSchema()
attributes_schema = AttributeSchema(many=True)
desk_setting_schema = AgentDeskSettingSchema()
desk_settings_schema = AgentDeskSettingSchema(many=True)
department_schema = DepartmentSchema()
departments_schema = DepartmentSchema(many=True)
media_routing_domain_schema = MediaRoutingDomainSchema()
media_routing_domains_schema = MediaRoutingDomainSchema(many=True)
call_type_schema = CallTypeSchema()
call_types_schema = CallTypeSchema(many=True)
dialed_number_schema = DialedNumberSchema()
dialed_numbers_schema = DialedNumberSchema(many=True)

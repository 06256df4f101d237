"""Deciding one row of an agent file against what its chunk has read: which agent it names,
each cell checked (docs/job-types/agent.md, "Rules"), the objects it would create; nothing is
written here (app/directory/agent_write.py writes the plan)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from app.db.sql import sql
from app.directory import cells, objects
from app.directory import passwords as pw
from app.directory.agent_state import (
    BOOLEAN,
    COLUMNS,
    DEFAULT_DESK_SETTINGS,
    MAX_AGENT_ID,
    MAX_ATTRIBUTES,
    MAX_DESCRIPTION,
    MAX_PERSON_NAME,
    MAX_USER_NAME,
    PROFICIENCY,
    USER_NAME_REFUSED,
    AgentState,
    Chunk,
    Named,
    Plan,
    bare,
)
from app.directory.cells import KEEP, RowError
from app.directory.names import name_key
from app.directory.near import did_you_mean
from app.exceptions import InvalidInput
from app.jobs.types.base import Record

# Deciding a row --------------------------------------------------------------------------


def decide(chunk: Chunk, record: Record) -> Plan:
    cell = dict(zip(COLUMNS, record.values, strict=True))
    operation = cells.operation(cell["operation"])
    if operation == cells.CREATE:
        return _decide_create(chunk, cell, record.line_number)
    agent = _named_agent(chunk, cell)
    if operation == cells.DELETE:
        return Plan(operation, agent, None)
    return _decide_update(chunk, cell, agent, record.line_number)


def _named_agent(chunk: Chunk, cell: dict[str, str]) -> AgentState:
    """The agent an UPDATE or DELETE names: by agentId, or by userName when agentId is empty."""
    agent_id = cell["agentId"]
    if agent_id not in ("", KEEP):
        found = chunk.by_agent_id.get(agent_id, [])
        if not found:
            raise RowError("agentId", f"The specified agent does not exist: {agent_id}")
        if len(found) > 1:
            peripherals = ", ".join(str(a.peripheral_id) for a in found)
            raise RowError(
                "agentId",
                f"agents on several peripherals ({peripherals}) have agentId {agent_id}; "
                "name the agent by userName with agentId empty",
            )
        return found[0]
    user_name = cell["userName"]
    if user_name in ("", KEEP):
        raise RowError("agentId", "agentId or userName is required to name the agent")
    agent = chunk.by_key.get(user_name.lower())
    if agent is None:
        raise RowError("userName", f"The specified agent userName does not exist: {user_name}")
    return agent


def _check_user_name(chunk: Chunk, user_name: str, own: AgentState | None) -> str:
    cells.text("userName", user_name, MAX_USER_NAME, required=True)
    bad = next((c for c in user_name if not 33 <= ord(c) <= 126 or c in USER_NAME_REFUSED), None)
    if bad is not None:
        shown = "a space" if bad == " " else repr(bad)
        raise RowError(
            "userName",
            f'may hold ASCII characters 33-126 except " / \\ [ ] : ; | = , + * ? < > # %, '
            f"not {shown}: {user_name}",
        )
    # The chunk read every agent holding a user name its rows name (and keeps track of the
    # names its rows free and take); one taken since by another job is refused by the unique
    # index when the row is written.
    holder = chunk.by_key.get(user_name.lower())
    if holder is not None and (own is None or holder.id != own.id):
        raise RowError("userName", f"The userName is already in use: {user_name}")
    return user_name


def _decide_create(chunk: Chunk, cell: dict[str, str], line: int) -> Plan:
    value = {name: ("" if v == KEEP else v) for name, v in cell.items()}
    user_name = _check_user_name(chunk, value["userName"], None)
    first = cells.text("firstName", value["firstName"], MAX_PERSON_NAME, required=True)
    last = cells.text("lastName", value["lastName"], MAX_PERSON_NAME, required=True)
    sso = cells.boolean("ssoEnabled", value["ssoEnabled"], False)
    supervisor = cells.boolean("supervisor", value["supervisor"], False)
    peripheral = _peripheral_of_new(chunk, value)
    agent_id = value["agentId"]
    if agent_id:
        _check_agent_id(chunk, agent_id, peripheral)
    description = cells.text("description", value["description"], MAX_DESCRIPTION)
    after = AgentState(
        id=0,
        agent_id=agent_id,
        peripheral_id=peripheral,
        user_name=user_name,
        first_name=first,
        last_name=last,
        login_enabled=cells.boolean("loginEnabled", value["loginEnabled"], True),
        sso_enabled=sso,
        supervisor=supervisor,
        description=description or f"Created by bulk job {chunk.run.job_id}",
        agent_state_trace=cells.boolean("agentStateTrace", value["agentStateTrace"], False),
        agent_desk_settings_id=_desk_settings(chunk, value["agentDeskSettingsName"]),
        agent_team_id=None,
        department_id=_department(chunk, value["departmentName"]),
        default_skill_group_id=None,
        password_hash=None,
        change_stamp=0,
    )
    plan = Plan(cells.CREATE, None, after)
    _plan_password(chunk, plan, value["password"], line)
    _plan_team(chunk, plan, value["agentTeamName"])
    _plan_groups(chunk, plan, cells.list_cell("skillGroups", value["skillGroups"]), [])
    _plan_default_group(plan, value["defaultSkillGroup"])
    _plan_attributes(chunk, plan, value["attributes"], {})
    _plan_supervised(chunk, plan, value["supervisorTeams"], [])
    return plan


def _decide_update(chunk: Chunk, cell: dict[str, str], agent: AgentState, line: int) -> Plan:
    after = replace(
        agent,
        skill_groups=list(agent.skill_groups),
        attributes=dict(agent.attributes),
        supervised=list(agent.supervised),
    )
    plan = Plan(cells.UPDATE, agent, after)
    if cell["agentId"] not in ("", KEEP) and cell["userName"] not in (KEEP, agent.user_name):
        after.user_name = _check_user_name(chunk, cell["userName"], agent)
    for column, attribute in (("firstName", "first_name"), ("lastName", "last_name")):
        if cell[column] != KEEP:
            if not cell[column]:
                raise RowError(column, f"{column} cannot be empty")
            setattr(after, attribute, cells.text(column, cell[column], MAX_PERSON_NAME))
    for column, attribute, default in (
        ("loginEnabled", "login_enabled", True),
        ("ssoEnabled", "sso_enabled", False),
        ("agentStateTrace", "agent_state_trace", False),
        ("supervisor", "supervisor", False),
    ):
        if cell[column] != KEEP:
            setattr(after, attribute, cells.boolean(column, cell[column], default))
    if cell["description"] != KEEP:
        after.description = cells.text("description", cell["description"], MAX_DESCRIPTION)
    if cell["agentDeskSettingsName"] != KEEP:
        after.agent_desk_settings_id = _desk_settings(chunk, cell["agentDeskSettingsName"])
    if cell["departmentName"] != KEEP:
        after.department_id = _department(chunk, cell["departmentName"])
    if cell["password"] not in (KEEP, ""):
        _plan_password(chunk, plan, cell["password"], line)
    if after.sso_enabled:
        after.password_hash = None  # Cisco keeps no password of an SSO-enabled agent
    if cell["agentTeamName"] != KEEP:
        after.agent_team_id = None
        _plan_team(chunk, plan, cell["agentTeamName"])
    elif agent.agent_team_id is not None:
        plan.team = _team_name(chunk, agent.agent_team_id)
    current_groups = [_group_name(chunk, group_id) for group_id in agent.skill_groups]
    if cell["skillGroups"] != KEEP:
        _plan_groups(
            chunk, plan, cells.list_cell("skillGroups", cell["skillGroups"]), current_groups
        )
    else:
        plan.groups = current_groups
    if cell["defaultSkillGroup"] != KEEP:
        _plan_default_group(plan, cell["defaultSkillGroup"])
    else:
        current = agent.default_skill_group_id
        plan.default_group = None if current is None else _group_name(chunk, current)
        if plan.default_group is not None and name_key(plan.default_group) not in {
            name_key(g) for g in plan.groups
        }:
            plan.default_group = None  # its skill group was removed: no default any more
    current_attributes = {
        _attribute_name(chunk, attribute_id): value
        for attribute_id, value in agent.attributes.items()
    }
    if cell["attributes"] != KEEP:
        _plan_attributes(chunk, plan, cell["attributes"], current_attributes)
    else:
        plan.attributes = list(current_attributes.items())
    current_supervised = [_team_name(chunk, team_id) for team_id in agent.supervised]
    if cell["supervisorTeams"] != KEEP:
        _plan_supervised(chunk, plan, cell["supervisorTeams"], current_supervised)
    else:  # kept, unless the agent is no supervisor any more (only a supervisor supervises)
        plan.supervised = current_supervised if after.supervisor else []
    return plan


def _check_agent_id(chunk: Chunk, agent_id: str, peripheral: int) -> None:
    if not agent_id.isascii() or not agent_id.isdigit() or len(agent_id) > MAX_AGENT_ID:
        raise RowError("agentId", f"must be at most {MAX_AGENT_ID} digits: {agent_id}")
    chunk.lock()
    taken = any(a.peripheral_id == peripheral for a in chunk.by_agent_id.get(agent_id, []))
    if not taken:
        taken = (
            chunk.conn.exec_driver_sql(
                sql(chunk.conn, "SELECT 1 FROM agents WHERE peripheral_id = ? AND agent_id = ?"),
                (peripheral, agent_id),
            ).first()
            is not None
        )
    if taken:
        raise RowError(
            "agentId", f"agentId {agent_id} is already in use on peripheral {peripheral}"
        )


def _peripheral_of_new(chunk: Chunk, value: dict[str, str]) -> int:
    """A new agent's peripheral (docs/job-types/agent.md, "Rules"): its existing team's;
    else its first existing skill group's; else the default peripheral."""
    team = chunk.teams.get(name_key(value["agentTeamName"]))
    if team is not None and team.peripheral_id is not None:
        return team.peripheral_id
    for item in value["skillGroups"].split(";"):
        group = chunk.groups.get(name_key(bare(item)))
        if group is not None and group.peripheral_id is not None:
            return group.peripheral_id
    try:
        return chunk.new_agents.peripheral(chunk.conn, chunk.run.settings.scim_default_peripheral)
    except InvalidInput as exc:
        raise RowError("agentTeamName", exc.message) from None


def _desk_settings(chunk: Chunk, name: str) -> int:
    found = chunk.desk_settings.get(name_key(name or DEFAULT_DESK_SETTINGS))
    if found is None:
        known = (named.name for named in chunk.desk_settings.values())
        raise RowError("agentDeskSettingsName", f"{name} does not exist{did_you_mean(name, known)}")
    return found.id


def _department(chunk: Chunk, name: str) -> int | None:
    if not name:
        return None
    found = chunk.departments.get(name_key(name))
    if found is None:
        known = (named.name for named in chunk.departments.values())
        raise RowError("departmentName", f"{name} does not exist{did_you_mean(name, known)}")
    return found.id


def _plan_password(chunk: Chunk, plan: Plan, cell: str, line: int) -> None:
    """The hash to keep of a new password: hashed before the chunk's transaction opened
    (:meth:`AgentJob.prepare`); a dry run only checks it."""
    if not cell:
        return
    assert plan.after is not None
    prepared = chunk.run.memo.get("hashes", {}).get(line)
    if prepared is None:
        try:
            pw.readable(chunk.sealer, cell)
        except pw.PasswordError as exc:
            raise RowError("password", str(exc)) from None
        prepared = pw.DRY_RUN_HASH
    if isinstance(prepared, pw.PasswordError):
        raise RowError("password", str(prepared))
    if not plan.after.sso_enabled:  # Cisco keeps no password of an SSO-enabled agent
        plan.password_hash = prepared


def _plan_team(chunk: Chunk, plan: Plan, name: str) -> None:
    assert plan.after is not None
    if not name:
        return
    cells.enterprise_name("agentTeamName", name)
    _on_the_peripheral(plan, "agentTeamName", chunk.teams, plan.new_teams, [name])
    plan.team = name


def _on_the_peripheral(
    plan: Plan,
    field: str,
    known: dict[str, Named],
    new: list[tuple[str, int]],
    names: list[str],
) -> None:
    """Each named team or skill group is on the agent's peripheral, or is one the row creates
    there (added to ``new`` once)."""
    assert plan.after is not None
    peripheral = plan.after.peripheral_id
    for name in names:
        found = known.get(name_key(name))
        if found is None:
            if (name, peripheral) not in new:
                new.append((name, peripheral))
        elif found.peripheral_id != peripheral:
            raise RowError(
                field,
                f"{found.name} is on peripheral {found.peripheral_id}, the agent on {peripheral}",
            )


def _plan_groups(chunk: Chunk, plan: Plan, edit: cells.ListEdit, current: list[str]) -> None:
    for name in edit.names():
        cells.enterprise_name("skillGroups", name)
    for name in edit.remove:
        if chunk.groups.get(name_key(name)) is None:
            raise RowError("skillGroups", f"{name} does not exist")
    groups = edit.apply(current)
    _on_the_peripheral(plan, "skillGroups", chunk.groups, plan.new_groups, groups)
    plan.groups = groups


def _plan_default_group(plan: Plan, name: str) -> None:
    if not name:
        plan.default_group = None
        return
    if name_key(name) not in {name_key(g) for g in plan.groups}:
        raise RowError("defaultSkillGroup", f"must be one of the agent's skill groups: {name}")
    plan.default_group = name


def _attribute_value(name: str, value: str, data_type: int | None) -> tuple[str, int]:
    """The value as stored and the attribute's type (from the value for a new attribute)."""
    lowered = value.lower()
    if data_type in (None, BOOLEAN) and lowered in ("true", "false"):
        return lowered, BOOLEAN
    if data_type in (None, PROFICIENCY) and value.isdigit() and 1 <= int(value) <= 10:
        return str(int(value)), PROFICIENCY
    expected = {BOOLEAN: "true or false", PROFICIENCY: "a proficiency from 1 to 10"}
    wanted = expected.get(data_type or 0, "true, false or a proficiency from 1 to 10")
    raise RowError("attributes", f"the value of {name} must be {wanted}: {value}")


def _plan_attributes(chunk: Chunk, plan: Plan, cell: str, current: dict[str, str]) -> None:
    edit = cells.list_cell("attributes", cell)
    pairs: dict[str, tuple[str, str]] = {}  # key -> (name, value)
    if edit.relative:
        pairs = {name_key(n): (n, v) for n, v in current.items()}
        for item in edit.remove:
            name = item.split("=", 1)[0].strip()
            cells.enterprise_name("attributes", name)
            pairs.pop(name_key(name), None)
    items = edit.add if edit.relative else edit.items
    new_types: dict[str, int] = {}
    for item in items:
        name, equals, value = (part.strip() for part in item.partition("="))
        cells.enterprise_name("attributes", name)
        if not equals or not value:
            raise RowError("attributes", f"give each attribute as name=value: {item}")
        attribute = chunk.attributes.get(name_key(name))
        stored, data_type = _attribute_value(
            name, value, attribute.data_type if attribute else new_types.get(name_key(name))
        )
        if attribute is None and name_key(name) not in new_types:
            new_types[name_key(name)] = data_type
            plan.new_attributes.append((name, data_type))
        pairs[name_key(name)] = (name, stored)
    if len(pairs) > MAX_ATTRIBUTES:
        raise RowError(
            "attributes", f"an agent has at most {MAX_ATTRIBUTES} attributes ({len(pairs)} given)"
        )
    plan.attributes = list(pairs.values())


def _plan_supervised(chunk: Chunk, plan: Plan, cell: str, current: list[str]) -> None:
    assert plan.after is not None
    edit = cells.list_cell("supervisorTeams", cell)
    teams = edit.apply(current)
    if teams and not plan.after.supervisor:
        raise RowError("supervisorTeams", "only a supervisor (supervisor true) supervises teams")
    for name in edit.names():
        cells.enterprise_name("supervisorTeams", name)
    _on_the_peripheral(plan, "supervisorTeams", chunk.teams, plan.new_teams, teams)
    plan.supervised = teams


def _group_name(chunk: Chunk, group_id: int) -> str:
    return _name_of(chunk, chunk.groups, objects.SKILL_GROUP, group_id)


def _team_name(chunk: Chunk, team_id: int) -> str:
    return _name_of(chunk, chunk.teams, objects.TEAM, team_id)


def _attribute_name(chunk: Chunk, attribute_id: int) -> str:
    return _name_of(chunk, chunk.attributes, objects.ATTRIBUTE, attribute_id)


def _name_of(chunk: Chunk, known: dict[str, Named], kind: objects.Kind, object_id: int) -> str:
    """The name of an object an agent already refers to (read once into the chunk's map)."""
    for named in known.values():
        if named.id == object_id:
            return named.name
    t = kind.table
    extra = t.c.data_type if kind is objects.ATTRIBUTE else t.c.peripheral_id
    row = chunk.conn.execute(select(t.c.name, t.c.name_key, extra).where(t.c.id == object_id)).one()
    if kind is objects.ATTRIBUTE:
        known[row.name_key] = Named(object_id, row.name, data_type=row[2])
    else:
        known[row.name_key] = Named(object_id, row.name, peripheral_id=row[2])
    return str(row.name)

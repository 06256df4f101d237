"""A realistic demo directory: peripherals, teams, agents and supervisors, and the contact-center
directory around them (skill groups, attributes, agent desk settings, departments, call types and
dialed numbers; agents' memberships, attribute values and supervised teams)."""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Table, delete, func, select

from app.db.models import (
    Agent,
    AgentAttribute,
    AgentDeskSetting,
    AgentSkillGroup,
    AgentTeam,
    Attribute,
    CallType,
    Department,
    DialedNumber,
    MediaRoutingDomain,
    Peripheral,
    SkillGroup,
    TeamSupervisor,
    table,
)
from app.db.sql import ids_after_explicit, insert_rows, is_postgres
from app.directory.demo_names import FIRST_NAMES, LAST_NAMES
from app.directory.demo_routing import load_routing
from app.exceptions import OutOfRange

MAX_AGENTS = 1_000_000
FIRST_PERIPHERAL_ID = 5000
FIRST_TEAM_ID = 5100
FIRST_AGENT_ID = 5001
FIRST_DESK_SETTINGS_ID = 5200
FIRST_DEPARTMENT_ID = 5300
FIRST_SKILL_GROUP_ID = 5400
FIRST_ATTRIBUTE_ID = 5500
# Made by the schema (revision 0012): kept by a replace, the agents' usual desk settings.
DEFAULT_DESK_SETTINGS_ID = 1
CISCO_VOICE = "Cisco_Voice"  # the media routing domain of every demo skill group
BOOLEAN, PROFICIENCY = 3, 4

agent_table = table(Agent)
teams = table(AgentTeam)
peripherals = table(Peripheral)
skill_groups = table(SkillGroup)
attributes = table(Attribute)
desk_settings = table(AgentDeskSetting)
departments = table(Department)
domains = table(MediaRoutingDomain)
agent_skill_groups = table(AgentSkillGroup)
agent_attributes = table(AgentAttribute)
team_supervisors = table(TeamSupervisor)
call_types, dialed_numbers = table(CallType), table(DialedNumber)

TEAM_AREAS = (
    "Sales",
    "Support",
    "Billing",
    "Retention",
    "Collections",
    "Onboarding",
    "Tech",
    "VIP",
)
TEAM_REGIONS = ("North", "South", "East", "West", "Central")
AGENT_COLUMNS = (
    "id",
    "agent_id",
    "peripheral_id",
    "agent_team_id",
    "first_name",
    "last_name",
    "user_name",
    "user_name_key",
    "login_enabled",
    "sso_enabled",
    "supervisor",
    "description",
    "change_stamp",
    "agent_desk_settings_id",
    "default_skill_group_id",
    "department_id",
)

# The contact-center directory. Each peripheral (one per region) has a skill group per team
# area ("Sales_North_SG", numbered 1-8 on it) and the shared ones (9 and 10) that any agent of
# the peripheral may be in.
SHARED_SKILL_GROUPS = ("Overflow", "Escalations")
GROUPS_PER_PERIPHERAL = len(TEAM_AREAS) + len(SHARED_SKILL_GROUPS)
DEPARTMENTS = ("Sales", "Support")  # the team areas that have a department of their own
DESK_SETTINGS = (
    # name, description, auto answer, idle reason required, logout reason required,
    # logout after (s) without activity, work mode timer (s)
    ("Sales_Desk_Settings", "Sales: calls answered at once", True, False, False, None, 60),
    ("Support_Desk_Settings", "Support: reasons required", False, True, True, 1800, 300),
)
ATTRIBUTES = (
    # name, data type, default value, description
    ("Spanish", BOOLEAN, "false", "Speaks Spanish"),
    ("French", BOOLEAN, "false", "Speaks French"),
    ("Billing_Certified", BOOLEAN, "false", "Certified for billing disputes"),
    ("Sales_Skill", PROFICIENCY, "1", "Sales proficiency"),
    ("Support_Skill", PROFICIENCY, "1", "Support proficiency"),
)
_ATTRIBUTE_ID = {name: FIRST_ATTRIBUTE_ID + i for i, (name, *_rest) in enumerate(ATTRIBUTES)}
_ATTRIBUTE_TYPE = {name: data_type for name, data_type, *_rest in ATTRIBUTES}
_PROFICIENCIES = tuple(str(level) for level in range(1, 11))
# The attribute that goes with a team area, and how many of its agents have a value of it.
_AREA_ATTRIBUTES = (
    ("Sales_Skill", ("Sales", "Retention", "VIP"), 0.8),
    ("Support_Skill", ("Support", "Tech", "Onboarding"), 0.8),
    ("Billing_Certified", ("Billing", "Collections"), 0.8),
)
# What makes a directory not empty: (key, as said, table, which rows). The schema's own rows
# (the default desk settings, the media routing domains) do not count.
_COUNTED: tuple[tuple[str, str, Table, ColumnElement[bool] | None], ...] = (
    ("agents", "agents", agent_table, None),
    ("peripherals", "peripherals", peripherals, None),
    ("teams", "teams", teams, None),
    ("skill_groups", "skill groups", skill_groups, None),
    ("attributes", "attributes", attributes, None),
    (
        "desk_settings",
        "agent desk settings besides the default",
        desk_settings,
        desk_settings.c.id != DEFAULT_DESK_SETTINGS_ID,
    ),
    ("departments", "departments", departments, None),
    ("call_types", "call types", call_types, None),
    ("dialed_numbers", "dialed numbers", dialed_numbers, None),
)


def load_demo(
    conn: Connection, agents: int, seed: int = 1, replace: bool = False
) -> dict[str, Any]:
    """Load ``agents`` demo agents (and 5 peripherals, 40 teams, 50 skill groups, 5 attributes,
    2 agent desk settings besides the default, 2 departments, 6 call types, 9 dialed numbers)
    into an empty directory.

    A directory that already holds anything is left alone unless ``replace``; then it is emptied
    first (jobs do not reference agents; the schema's default desk settings and media routing
    domains stay). The same seed always gives the same directory, ids included: a replaced demo
    directory's ids are given again (the one exception to ids never being reused); objects
    created afterwards get ids above every id used before.
    """
    if not 0 <= agents <= MAX_AGENTS:
        raise OutOfRange(f"agents must be between 0 and {MAX_AGENTS}", "agents")
    existing = _count(conn)
    if any(existing.values()) and not replace:
        return {"loaded": 0, "reason": f"the agent directory is not empty ({_held(existing)})"}
    if any(existing.values()):
        # Memberships first, then what they refer to (the schema's default desk settings stay).
        for emptied in (
            dialed_numbers,
            call_types,
            agent_attributes,
            agent_skill_groups,
            team_supervisors,
            agent_table,
            teams,
            skill_groups,
            peripherals,
            attributes,
            departments,
        ):
            conn.execute(delete(emptied))
        conn.execute(delete(desk_settings).where(desk_settings.c.id != DEFAULT_DESK_SETTINGS_ID))

    rng = random.Random(seed)
    peripheral_rows = [
        (FIRST_PERIPHERAL_ID + i, f"CUCM_PG_{i + 1}") for i in range(len(TEAM_REGIONS))
    ]
    team_rows = [
        (
            FIRST_TEAM_ID + i,
            f"{TEAM_AREAS[i % len(TEAM_AREAS)]}_{TEAM_REGIONS[i // len(TEAM_AREAS)]}",
            # One peripheral per region, as a site has its own peripheral gateway.
            peripheral_rows[i // len(TEAM_AREAS)][0],
        )
        for i in range(len(TEAM_AREAS) * len(TEAM_REGIONS))
    ]
    agent_rows = _agent_rows(rng, agents, [p[0] for p in peripheral_rows], team_rows)
    # The contact-center directory draws from a generator of its own: the agents above are
    # those the same seed gave before there was one.
    agent_rows, members = _contact_center(random.Random(f"{seed}:contact-center"), agent_rows)
    voice = conn.execute(
        select(domains.c.id).where(domains.c.name_key == CISCO_VOICE.lower())
    ).scalar_one()
    group_rows = _skill_group_rows(voice)

    insert_rows(conn, "peripherals", ("id", "name"), peripheral_rows)
    insert_rows(
        conn,
        "departments",
        ("id", "name", "name_key", "description", "change_stamp"),
        [
            (FIRST_DEPARTMENT_ID + i, name, name.lower(), f"The {name} department", 0)
            for i, name in enumerate(DEPARTMENTS)
        ],
    )
    insert_rows(
        conn,
        "agent_desk_settings",
        (
            "id",
            "name",
            "name_key",
            "description",
            "change_stamp",
            "auto_answer_enabled",
            "idle_reason_required",
            "logout_reason_required",
            "logout_non_activity_time",
            "work_mode_timer",
        ),
        [
            (FIRST_DESK_SETTINGS_ID + i, name, name.lower(), description, 0, *settings)
            for i, (name, description, *settings) in enumerate(DESK_SETTINGS)
        ],
    )
    insert_rows(
        conn,
        "agent_teams",
        ("id", "name", "name_key", "peripheral_id", "department_id"),
        [
            (team_id, name, name.lower(), peripheral, _department(name.split("_")[0]))
            for team_id, name, peripheral in team_rows
        ],
    )
    insert_rows(conn, "skill_groups", SKILL_GROUP_COLUMNS, group_rows)
    insert_rows(
        conn,
        "attributes",
        ("id", "name", "name_key", "description", "change_stamp", "data_type", "default_value"),
        [
            (_ATTRIBUTE_ID[name], name, name.lower(), description, 0, data_type, default)
            for name, data_type, default, description in ATTRIBUTES
        ],
    )
    insert_rows(conn, "agents", AGENT_COLUMNS, agent_rows)
    insert_rows(conn, "agent_skill_groups", ("agent_id", "skill_group_id"), members.groups)
    insert_rows(conn, "agent_attributes", ("agent_id", "attribute_id", "value"), members.values)
    insert_rows(conn, "team_supervisors", ("team_id", "agent_id"), members.supervised)
    routing = load_routing(conn, voice, _department)
    # The ids were given explicitly: ids made later (SCIM creates, jobs, the API) start above
    # them (PostgreSQL's sequences; SQLite counts explicit ids by itself).
    for explicit in (desk_settings, departments, teams, skill_groups, attributes, agent_table):
        ids_after_explicit(conn, explicit)
    if is_postgres(conn):
        # Fresh statistics, so that the first job's planner knows the table's size (without
        # them it takes it for nearly empty and plans accordingly; autovacuum would catch up
        # within minutes).
        conn.exec_driver_sql(
            "ANALYZE agents, agent_teams, peripherals, skill_groups, attributes, "
            "agent_desk_settings, departments, agent_skill_groups, agent_attributes, "
            "team_supervisors"
        )
    return {
        "loaded": len(agent_rows),
        "peripherals": len(peripheral_rows),
        "teams": len(team_rows),
        "supervisors": sum(1 for r in agent_rows if r[10]),
        "sso_enabled": sum(1 for r in agent_rows if r[9]),
        "without_team": sum(1 for r in agent_rows if r[3] is None),
        "skill_groups": len(group_rows),
        "attributes": len(ATTRIBUTES),
        "desk_settings": len(DESK_SETTINGS),
        "departments": len(DEPARTMENTS),
        **routing,
        "replaced": existing["agents"] if replace else 0,
    }


def _count(conn: Connection) -> dict[str, int]:
    counts = {}
    for key, _said, counted, condition in _COUNTED:
        statement = select(func.count()).select_from(counted)
        if condition is not None:
            statement = statement.where(condition)
        counts[key] = int(conn.execute(statement).scalar_one())
    return counts


def _held(existing: dict[str, int]) -> str:
    """``existing`` in words: agents, peripherals and teams always, the rest where there are."""
    return ", ".join(
        f"{existing[key]} {said}"
        for key, said, _table, _condition in _COUNTED
        if existing[key] or key in ("agents", "peripherals", "teams")
    )


def _agent_rows(
    rng: random.Random,
    count: int,
    peripheral_ids: list[int],
    team_rows: list[tuple[int, str, int]],
) -> list[tuple[Any, ...]]:
    taken: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    for i in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        stem = (first[0] + last).lower()
        user_name = _unique_user_name(rng, stem, taken)
        taken.add(user_name)
        if rng.random() < 0.10:
            team_id, peripheral_id = None, rng.choice(peripheral_ids)
        else:
            team_id, _name, peripheral_id = rng.choice(team_rows)
        sso = rng.random() < 0.10
        if sso:
            # Agents already on SSO sign in with their identity provider's name.
            user_name = f"{user_name}@example.com"
        supervisor = rng.random() < 0.05
        rows.append(
            (
                FIRST_AGENT_ID + i,
                str(FIRST_AGENT_ID + i),
                peripheral_id,
                team_id,
                first,
                last,
                user_name,
                user_name.lower(),
                rng.random() < 0.97,
                sso,
                supervisor,
                "Supervisor" if supervisor else "",
                0,
            )
        )
    return rows


def _unique_user_name(rng: random.Random, stem: str, taken: set[str]) -> str:
    """``stem`` and four digits ("jsmith1234"), more digits once a stem's four are crowded."""
    high = 10_000
    for attempt in range(1, 10_000):
        user_name = f"{stem}{rng.randrange(1000, high)}"
        if user_name not in taken:
            return user_name
        if attempt % 20 == 0:
            high *= 10
    raise RuntimeError(f"no free user name for {stem}")


# The contact-center directory -------------------------------------------------------------

SKILL_GROUP_COLUMNS = (
    "id",
    "name",
    "name_key",
    "description",
    "change_stamp",
    "peripheral_id",
    "peripheral_number",
    "media_routing_domain_id",
    "service_level_threshold",
    "service_level_type",
    "department_id",
)


def _department(area: str) -> int | None:
    """The department of a team area's teams, skill groups and agents (None: global)."""
    if area in DEPARTMENTS:
        return FIRST_DEPARTMENT_ID + DEPARTMENTS.index(area)
    return None


def _skill_group_id(region: int, slot: int) -> int:
    """The skill group in ``slot`` (a team area's index, then the shared ones) of a region's
    peripheral."""
    return FIRST_SKILL_GROUP_ID + region * GROUPS_PER_PERIPHERAL + slot


def _skill_group_rows(media_routing_domain_id: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for region, region_name in enumerate(TEAM_REGIONS):
        for slot, area in enumerate((*TEAM_AREAS, *SHARED_SKILL_GROUPS)):
            name = f"{area}_{region_name}_SG"
            shared = slot >= len(TEAM_AREAS)
            rows.append(
                (
                    _skill_group_id(region, slot),
                    name,
                    name.lower(),
                    f"{area} calls, {region_name} region" + (" (any team)" if shared else ""),
                    0,
                    FIRST_PERIPHERAL_ID + region,
                    slot + 1,  # numbered from 1 on each peripheral
                    media_routing_domain_id,
                    # Some have a service level of their own, the rest the domain's default.
                    (20, 30, None)[slot % 3],
                    (1, 2, 3, None)[slot % 4],
                    _department(area),
                )
            )
    return rows


def _contact_center(
    rng: random.Random, agent_rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], _Memberships]:
    """The agents' rows with their desk settings, default skill group and department, and their
    memberships, drawn from ``rng`` agent by agent: one to three skill groups on the agent's
    own peripheral (a team's agents have their team area's first, the others a shared one; the
    first is the default), attribute values (a language or two; a proficiency or certificate
    that goes with the team's area), and a supervisor supervises its own team. One tight loop:
    it runs once per agent of a directory of up to a million."""
    random_ = rng.random
    groups: list[tuple[int, int]] = []
    values: list[tuple[int, int, str]] = []
    supervised: list[tuple[int, int]] = []
    rows: list[tuple[Any, ...]] = []
    add_group, add_value = groups.append, values.append
    teamless = _Area(None)
    areas = {
        FIRST_TEAM_ID + i: _Area(TEAM_AREAS[i % len(TEAM_AREAS)])
        for i in range(len(TEAM_AREAS) * len(TEAM_REGIONS))
    }
    spanish, french = _ATTRIBUTE_ID["Spanish"], _ATTRIBUTE_ID["French"]
    for row in agent_rows:
        agent, peripheral_id, team_id = row[0], row[2], row[3]
        base = _skill_group_id(peripheral_id - FIRST_PERIPHERAL_ID, 0)  # the peripheral's first
        if team_id is None:
            area = teamless
            first = len(TEAM_AREAS) + int(random_() * len(SHARED_SKILL_GROUPS))
        else:
            area = areas[team_id]
            first = area.slot
            if row[10]:
                supervised.append((team_id, agent))
        add_group((agent, base + first))
        more = random_()
        if more < 0.25:  # a second skill group, sometimes (5 %) a third
            second = int(random_() * GROUPS_PER_PERIPHERAL)
            if second != first:
                add_group((agent, base + second))
            if more < 0.05:
                third = int(random_() * GROUPS_PER_PERIPHERAL)
                if third not in (first, second):
                    add_group((agent, base + third))
        speaks = random_()
        if speaks < 0.21:
            if speaks < 0.10 or speaks >= 0.19:
                add_value((agent, spanish, "true"))
            elif speaks < 0.14:
                add_value((agent, spanish, "false"))
            if speaks >= 0.14:
                add_value((agent, french, "true"))
        if area.attribute:
            draw = random_()
            if draw < area.usual:
                if area.proficiency:
                    level = _PROFICIENCIES[int(draw / area.usual * len(_PROFICIENCIES))]
                    add_value((agent, area.attribute, level))
                else:  # 7 in 8 of those with a value hold the certificate
                    add_value((agent, area.attribute, "true" if draw < 0.7 else "false"))
        draw = random_()
        desk = DEFAULT_DESK_SETTINGS_ID
        if draw < area.own_desk:
            desk = area.desk
        elif draw >= 0.97:  # and 3 % of every area have one of the demo's desk settings
            desk = FIRST_DESK_SETTINGS_ID if draw < 0.985 else FIRST_DESK_SETTINGS_ID + 1
        rows.append((*row, desk, base + first, area.department))
    return rows, _Memberships(groups, values, supervised)


class _Memberships(NamedTuple):
    groups: list[tuple[int, int]]  # (agent, skill group)
    values: list[tuple[int, int, str]]  # (agent, attribute, value)
    supervised: list[tuple[int, int]]  # (team, agent)


class _Area:
    """What a team area gives its agents: their first skill group's slot on their peripheral,
    department, desk settings (and how often), and an attribute (and how often)."""

    def __init__(self, name: str | None) -> None:
        self.slot = -1 if name is None else TEAM_AREAS.index(name)
        self.department = None if name is None else _department(name)
        self.desk, self.own_desk = DEFAULT_DESK_SETTINGS_ID, 0.0
        if name in DEPARTMENTS:
            self.desk = FIRST_DESK_SETTINGS_ID + DEPARTMENTS.index(name)
            self.own_desk = 0.6
        self.attribute, self.usual, self.proficiency = 0, 0.0, True
        for attribute, areas, usual in _AREA_ATTRIBUTES:
            if name in areas:
                self.attribute, self.usual = _ATTRIBUTE_ID[attribute], usual
                self.proficiency = _ATTRIBUTE_TYPE[attribute] == PROFICIENCY

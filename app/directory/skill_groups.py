"""Reading skill groups (GET /skillgroup; docs/directory.md): each with its peripheral, media
routing domain and number of agents; one skill group also lists its agents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from app.db import listing
from app.db.models import AgentSkillGroup, MediaRoutingDomain, Peripheral, SkillGroup, table
from app.directory import named

skill_groups = table(SkillGroup)
members = table(AgentSkillGroup)
domains = table(MediaRoutingDomain)
peripherals = table(Peripheral)

SKILL_GROUPS = named.kind(
    "Skill group",
    skill_groups,
    statement=select(
        skill_groups,
        peripherals.c.name.label("peripheral_name"),
        domains.c.name.label("media_routing_domain_name"),
    )
    .join(peripherals, peripherals.c.id == skill_groups.c.peripheral_id)
    .join(domains, domains.c.id == skill_groups.c.media_routing_domain_id),
    filters={
        "peripheralId": lambda v: (
            skill_groups.c.peripheral_id == listing.parse_int("peripheralId", v)
        ),
        "mediaRoutingDomainId": lambda v: (
            skill_groups.c.media_routing_domain_id == listing.parse_int("mediaRoutingDomainId", v)
        ),
    },
    sortable={
        "peripheralNumber": skill_groups.c.peripheral_number,
        "changeStamp": skill_groups.c.change_stamp,
    },
)


def list_skill_groups(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of skill groups, each with its ``agent_count``."""
    rows, total, start = SKILL_GROUPS.list_page(conn, page, q, sort)
    agent_counts = named.counts(conn, members.c.skill_group_id, [row.id for row in rows])
    found = [{**row._mapping, "agent_count": agent_counts.get(row.id, 0)} for row in rows]
    return found, total, start


def get_skill_group(conn: Connection, skill_group_id: int) -> dict[str, Any]:
    """One skill group with its ``agents`` (references) and ``agent_count``."""
    row = SKILL_GROUPS.get(conn, skill_group_id)
    joined = named.agents.join(members, members.c.agent_id == named.agents.c.id)
    agents = named.agent_references(conn, joined, members.c.skill_group_id == skill_group_id)
    return {**row._mapping, "agent_count": len(agents), "agents": agents}

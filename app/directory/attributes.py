"""Reading attributes (GET /attribute; docs/directory.md): each with its data type, default
value and the number of agents that have a value of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select, select

from app.db import listing
from app.db.models import Agent, AgentAttribute, Attribute, table
from app.directory import named

attributes = table(Attribute)
values = table(AgentAttribute)
agents = table(Agent)

ATTRIBUTES = named.kind(
    "Attribute",
    attributes,
    filters={
        "dataType": lambda v: attributes.c.data_type == listing.parse_int("dataType", v),
    },
    sortable={"dataType": attributes.c.data_type, "changeStamp": attributes.c.change_stamp},
)


def list_attributes(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of attributes, each with its ``agent_count``."""
    rows, total, start = ATTRIBUTES.list_page(conn, page, q, sort)
    agent_counts = named.counts(conn, values.c.attribute_id, [row.id for row in rows])
    found = [{**row._mapping, "agent_count": agent_counts.get(row.id, 0)} for row in rows]
    return found, total, start


def get_attribute(conn: Connection, attribute_id: int) -> dict[str, Any]:
    """One attribute with its ``agent_count``."""
    row = ATTRIBUTES.get(conn, attribute_id)
    agent_counts = named.counts(conn, values.c.attribute_id, [attribute_id])
    return {**row._mapping, "agent_count": agent_counts.get(attribute_id, 0)}


def holders(
    conn: Connection, attribute_id: int, page: listing.Page, total: int
) -> tuple[list[Row[Any]], int]:
    """One page of the agents with a value of the attribute (``total`` of them, as
    :func:`get_attribute` counted), by user name: ``id``,
    ``user_name``, ``first_name``, ``last_name`` and ``value``; and where the page starts."""
    start = listing.clamp_start(page, total)
    statement: Select[Any] = (
        select(
            agents.c.id,
            agents.c.user_name,
            agents.c.first_name,
            agents.c.last_name,
            values.c.value,
        )
        .join(values, values.c.agent_id == agents.c.id)
        .where(values.c.attribute_id == attribute_id)
        .order_by(agents.c.user_name_key, agents.c.id)
        .offset(start)
        .limit(page.results_per_page)
    )
    return list(conn.execute(statement).all()), start

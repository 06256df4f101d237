"""Reading attributes (GET /attribute; docs/directory.md): each with its data type, default
value and the number of agents that have a value of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from app.db import listing
from app.db.models import AgentAttribute, Attribute, table
from app.directory import named

attributes = table(Attribute)
values = table(AgentAttribute)

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

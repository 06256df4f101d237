"""Reading call types (GET /calltype; docs/directory.md): each with its department and the
number of dialed numbers that route calls by it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from app.db import listing
from app.db.models import CallType, Department, DialedNumber, table
from app.directory import named

call_types = table(CallType)
dialed_numbers = table(DialedNumber)
departments = table(Department)

CALL_TYPES = named.kind(
    "Call type",
    call_types,
    statement=select(call_types, departments.c.name.label("department_name")).outerjoin(
        departments, departments.c.id == call_types.c.department_id
    ),
    sortable={"changeStamp": call_types.c.change_stamp},
)


def list_call_types(
    conn: Connection, page: listing.Page, q: str | None, sort: str | None
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of call types, each with its ``dialed_number_count``."""
    rows, total, start = CALL_TYPES.list_page(conn, page, q, sort)
    counted = named.counts(conn, dialed_numbers.c.call_type_id, [row.id for row in rows])
    found = [{**row._mapping, "dialed_number_count": counted.get(row.id, 0)} for row in rows]
    return found, total, start


def get_call_type(conn: Connection, call_type_id: int) -> dict[str, Any]:
    """One call type with its ``dialed_number_count``."""
    row = CALL_TYPES.get(conn, call_type_id)
    counted = named.counts(conn, dialed_numbers.c.call_type_id, [call_type_id])
    return {**row._mapping, "dialed_number_count": counted.get(call_type_id, 0)}

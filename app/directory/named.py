"""The named kinds of the contact-center directory (docs/directory.md), read one way: a list
searched by name and description and sorted by name (and what else a kind adds), one object by
id. Agent desk settings, departments and media routing domains are nothing more, so they are
read here; skill groups, teams and attributes build on this in their own modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Row,
    Select,
    Table,
    func,
    or_,
    select,
)

from app.db import listing
from app.db.models import Agent, AgentDeskSetting, Department, MediaRoutingDomain, table
from app.exceptions import NotFound

agents = table(Agent)


@dataclass(frozen=True)
class Kind:
    """One kind: ``label`` names it in messages, ``statement`` selects its rows (with what they
    show of other tables), ``search`` lists them."""

    label: str
    statement: Select[Any]
    search: listing.Search

    def list_page(
        self, conn: Connection, page: listing.Page, q: str | None, sort: str | None
    ) -> tuple[list[Row[Any]], int, int]:
        """One page: its rows, how many match in all, where the page starts."""
        return self.search.page(conn, self.statement, page, q, sort)

    def get(self, conn: Connection, object_id: int) -> Row[Any]:
        row = conn.execute(self.statement.where(self.search.table.c.id == object_id)).first()
        if row is None:
            raise NotFound(f"{self.label} {object_id} does not exist", str(object_id))
        return row


def matches_name(named: Table) -> Callable[[str], ColumnElement[bool]]:
    """A plain search term: in the name or the description, ignoring case."""

    def plain(term: str) -> ColumnElement[bool]:
        return or_(
            listing.contains(named.c.name, term), listing.contains(named.c.description, term)
        )

    return plain


def kind(
    label: str,
    named: Table,
    statement: Select[Any] | None = None,
    filters: Mapping[str, listing.Filter] | None = None,
    sortable: Mapping[str, Any] | None = None,
) -> Kind:
    """A kind read from ``named`` (``statement``: its rows, ``select(named)`` unless given),
    sorted by name (ignoring case) and by ``sortable``, filtered by ``filters``."""
    search = listing.Search(
        named,
        filters or {},
        matches_name(named),
        {"name": named.c.name_key, **(sortable or {})},
    )
    return Kind(label, select(named) if statement is None else statement, search)


def counts(conn: Connection, column: Any, ids: Sequence[int]) -> dict[int, int]:
    """How many rows hold each of ``ids`` in ``column`` (absent: none), in one grouped query."""
    if not ids:
        return {}
    rows = conn.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {int(key): int(count) for key, count in rows}


def agent_references(
    conn: Connection, joined: FromClause, *conditions: ColumnElement[bool]
) -> list[Row[Any]]:
    """The agents ``conditions`` choose from ``joined`` (agents joined to a membership), as
    references: ``id`` and ``name`` (the user name), by user name."""
    statement: Select[Any] = (
        select(agents.c.id, agents.c.user_name.label("name"))
        .select_from(joined)
        .where(*conditions)
        .order_by(agents.c.user_name_key, agents.c.id)
    )
    return list(conn.execute(statement).all())


DESK_SETTINGS = kind("Agent desk setting", table(AgentDeskSetting))
DEPARTMENTS = kind("Department", table(Department))
MEDIA_ROUTING_DOMAINS = kind("Media routing domain", table(MediaRoutingDomain))

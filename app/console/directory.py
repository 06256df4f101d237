"""The "Directory" pages: look up an agent, team, skill group, attribute, call type or dialed
number and see who or what is in it.

Everything is read through the services the API's /agent, /agentteam, /skillgroup, /attribute,
/calltype and /dialednumber use (app/directory), with the same search (``q``), sort and paging,
so a page finds and refuses exactly what the API does (an attribute's agents:
:func:`app.directory.attributes.holders`; a call type's dialed numbers: /dialednumber's
``callTypeId:`` filter)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from sqlalchemy import Connection

from app.accounts.roles import READ_DIRECTORY
from app.console import bp
from app.console.auth import current, page
from app.console.jobs import Pager
from app.db import db, listing
from app.directory import (
    agents,
    attributes,
    call_types,
    dialed_numbers,
    named,
    skill_groups,
    teams,
)
from app.directory.agent_state import BOOLEAN, PROFICIENCY
from app.directory.dialed_number_job import ROUTING_TYPES
from app.exceptions import InvalidInput, NotFound

Reader = Callable[
    [Connection, listing.Page, str | None, str | None], tuple[Sequence[Any], int, int]
]
"""One page of a kind: (conn, page, q, sort) -> (rows, total, start), as the API reads it."""

HOLDERS_PER_PAGE = 100  # an attribute's agents, a call type's dialed numbers
DATA_TYPES = {BOOLEAN: "Boolean", PROFICIENCY: "Proficiency"}


@dataclass(frozen=True)
class Listing:
    """One kind the Directory page lists: ``label`` in the selector, ``noun`` in the pager,
    ``read`` its service's list, ``search`` the service's filters and sortable fields (for the
    help and the headings), ``matches`` what plain words of ``q`` match, ``by`` the sort field
    a page without ``sort`` asks for (people look things up by name; the API lists by id)."""

    label: str
    noun: str
    read: Reader
    search: listing.Search
    matches: str
    by: str = "name"


KINDS = {
    "agents": Listing(
        "Agents",
        "agents",
        agents.list_agents,
        agents.SEARCH,
        "the user name, first or last name",
        by="userName",
    ),
    "teams": Listing(
        "Teams", "teams", teams.list_teams, teams.TEAMS.search, "the name or description"
    ),
    "skillgroups": Listing(
        "Skill groups",
        "skill groups",
        skill_groups.list_skill_groups,
        skill_groups.SKILL_GROUPS.search,
        "the name or description",
    ),
    "attributes": Listing(
        "Attributes",
        "attributes",
        attributes.list_attributes,
        attributes.ATTRIBUTES.search,
        "the name or description",
    ),
    "calltypes": Listing(
        "Call types",
        "call types",
        call_types.list_call_types,
        call_types.CALL_TYPES.search,
        "the name or description",
    ),
    "dialednumbers": Listing(
        "Dialed numbers",
        "dialed numbers",
        dialed_numbers.DIALED_NUMBERS.list_page,
        dialed_numbers.DIALED_NUMBERS.search,
        "the dialed number string or description",
        by="dialedNumberString",
    ),
}
DEFAULT_KIND = "agents"


def _sort_links(sort: str | None, fields: Sequence[str]) -> dict[str, tuple[str, str]]:
    """For each sortable field: the sort term a click on its heading asks for, and its
    aria-sort state (a first click sorts ascending, a second flips it)."""
    field, _, direction = (sort or "").strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    links = {}
    for name in fields:
        if name == field:
            flipped = "desc" if direction == "asc" else "asc"
            aria = "ascending" if direction == "asc" else "descending"
            links[name] = (f"{name} {flipped}", aria)
        else:
            links[name] = (f"{name} asc", "none")
    return links


@bp.get("/directory")
@page(*READ_DIRECTORY)
def directory_page() -> tuple[str, int]:
    """One page of agents, teams, skill groups, attributes, call types or dialed numbers
    (``kind``), with the API's search
    (``q``), sort and paging; a refused ``q``, ``sort`` or ``kind`` is shown on the page (400)."""
    kind = request.args.get("kind") or DEFAULT_KIND
    q, sort = request.args.get("q"), request.args.get("sort")
    listed = KINDS.get(kind)
    rows: Sequence[Any] = []
    error = None
    try:
        if listed is None:
            known = ", ".join(KINDS)
            raise InvalidInput(f"kind must be one of {known}, not {kind[:40]!r}", "kind")
        page_ = listing.parse_page(
            request.args.get("startIndex"), request.args.get("resultsPerPage")
        )
        with db.read() as conn:
            rows, total, start = listed.read(conn, page_, q, sort or listed.by)
        pager = Pager(start, page_.results_per_page, total, len(rows))
    except InvalidInput as exc:
        error = exc.message
        pager = Pager(0, listing.DEFAULT_PER_PAGE, 0, 0)
    shown = listed or KINDS[DEFAULT_KIND]
    return render_template(
        "directory.html",
        kinds=KINDS,
        kind=kind if listed else DEFAULT_KIND,
        listed=shown,
        rows=rows,
        paging=pager,
        q=q or "",
        sort=sort or "",
        sort_links=_sort_links(sort or shown.by, list(shown.search.sortable)),
        error=error,
    ), (400 if error else 200)


@bp.get("/directory/agents/<id:agent_id>")
@page(*READ_DIRECTORY)
def directory_agent(agent_id: int) -> str:
    """One agent's settings and memberships (never a password or its hash: the service does
    not read them)."""
    with db.read() as conn:
        agent = agents.get_agent(conn, agent_id)
        desk = None
        if agent["agent_desk_settings_id"] is not None:
            # Deleted meanwhile: the page shows the agent without it.
            with suppress(NotFound):
                desk = named.DESK_SETTINGS.get(conn, agent["agent_desk_settings_id"])
    return render_template("directory_agent.html", agent=agent, desk=desk)


@bp.get("/directory/teams/<id:team_id>")
@page(*READ_DIRECTORY)
def directory_team(team_id: int) -> str:
    """One team with its agents and supervisors."""
    with db.read() as conn:
        team = teams.get_team(conn, team_id)
    return render_template("directory_team.html", team=team)


@bp.get("/directory/skillgroups/<id:skill_group_id>")
@page(*READ_DIRECTORY)
def directory_skill_group(skill_group_id: int) -> str:
    """One skill group with its agents."""
    with db.read() as conn:
        group = skill_groups.get_skill_group(conn, skill_group_id)
    return render_template("directory_skill_group.html", group=group)


@bp.get("/directory/attributes/<id:attribute_id>")
@page(*READ_DIRECTORY)
def directory_attribute(attribute_id: int) -> str:
    """One attribute with the agents that have a value of it, and the value (100 a page)."""
    page_ = listing.parse_page(request.args.get("startIndex"), str(HOLDERS_PER_PAGE))
    with db.read() as conn:
        attribute = attributes.get_attribute(conn, attribute_id)
        rows, start = attributes.holders(conn, attribute_id, page_, attribute["agent_count"])
    pager = Pager(start, HOLDERS_PER_PAGE, attribute["agent_count"], len(rows))
    return render_template(
        "directory_attribute.html", attribute=attribute, holders=rows, paging=pager
    )


@bp.get("/directory/calltypes/<id:call_type_id>")
@page(*READ_DIRECTORY)
def directory_call_type(call_type_id: int) -> str:
    """One call type with its dialed numbers (100 a page), found as /dialednumber's
    ``callTypeId:`` filter finds them."""
    page_ = listing.parse_page(request.args.get("startIndex"), str(HOLDERS_PER_PAGE))
    with db.read() as conn:
        call_type = call_types.get_call_type(conn, call_type_id)
        rows, total, start = dialed_numbers.DIALED_NUMBERS.list_page(
            conn, page_, f"callTypeId:{call_type_id}", "dialedNumberString"
        )
    pager = Pager(start, HOLDERS_PER_PAGE, total, len(rows))
    return render_template(
        "directory_call_type.html", call_type=call_type, numbers=rows, paging=pager
    )


@bp.get("/directory/dialednumbers/<id:dialed_number_id>")
@page(*READ_DIRECTORY)
def directory_dialed_number(dialed_number_id: int) -> str:
    """One dialed number with its routing type, call type and media routing domain."""
    with db.read() as conn:
        number = dialed_numbers.DIALED_NUMBERS.get(conn, dialed_number_id)
    return render_template("directory_dialed_number.html", number=number)


@bp.context_processor
def directory_helpers() -> dict[str, Any]:
    principal = current()
    return {
        "can_read_directory": principal is not None and principal.role in READ_DIRECTORY,
        "data_type_name": lambda code: DATA_TYPES.get(code, str(code)),
        "routing_type_name": lambda code: ROUTING_TYPES.get(code, str(code)),
    }

"""/agent: the agent directory (read-only)."""

from __future__ import annotations

from flask import Response, request

from app.accounts.roles import READ_DIRECTORY
from app.api import bp
from app.api.auth import current, roles
from app.api.paging import page_info, permission_info
from app.api.representation import render, wants_json
from app.api.schemas import agent_schema, agents_schema, page_info_schema, permission_info_schema
from app.db import db, listing
from app.directory import agents


@bp.get("/agent", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_agents() -> Response:
    """One page of agents, by id unless sorted."""
    page = listing.parse_page(request.args.get("startIndex"), request.args.get("resultsPerPage"))
    with db.read() as conn:
        rows, total, start = agents.list_agents(
            conn, page, request.args.get("q"), request.args.get("sort")
        )
    permissions = permission_info(current().role)
    permissions.update(canCreate=False, canUpdate=False, canDelete=False)
    data = {
        "pageInfo": page_info_schema.dump(page_info(page, total, start)),
        "permissionInfo": permission_info_schema.dump(permissions),
        "agents": agents_schema.dump(rows),
    }
    return render(data, "results", json=wants_json(request))


@bp.get("/agent/<id:agent_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_agent(agent_id: int) -> Response:
    """One agent."""
    with db.read() as conn:
        row = agents.get_agent(conn, agent_id)
    return render(agent_schema.dump(row), "agent", json=wants_json(request))

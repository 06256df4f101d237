"""/agent: the agent directory (read-only)."""

from __future__ import annotations

from flask import Response, request

from app.accounts.roles import READ_DIRECTORY
from app.api import bp
from app.api.auth import roles
from app.api.directory_schemas import agent_schema, agents_schema
from app.api.paging import read_only_list
from app.api.representation import render, wants_json
from app.db import db
from app.directory import agents


@bp.get("/agent", strict_slashes=False)
@roles(*READ_DIRECTORY)
def list_agents() -> Response:
    """One page of agents, by id unless sorted."""
    return read_only_list(agents.list_agents, agents_schema, "agents")


@bp.get("/agent/<id:agent_id>", strict_slashes=False)
@roles(*READ_DIRECTORY)
def get_agent(agent_id: int) -> Response:
    """One agent."""
    with db.read() as conn:
        row = agents.get_agent(conn, agent_id)
    return render(agent_schema.dump(row), "agent", json=wants_json(request))

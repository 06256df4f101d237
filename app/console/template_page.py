"""The templates page: the SSO-migration template (filters from the directory, the count left,
the download), the agent template (the same filters, in pieces) and the skill group, call type
and dialed number templates (in pieces)."""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from app.accounts.roles import READ_JOBS
from app.console import bp
from app.console.auth import page
from app.db import db
from app.directory import agent_template, object_templates, template
from app.exceptions import InvalidInput
from app.http import attachment


def _filter(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name} must be a number, not {raw!r}", name)
    return int(raw)


def _query(peripheral_id: int | None, team_id: int | None) -> str:
    """The filters as the API's ``q`` (``peripheralId:5000 agentTeamId:12``)."""
    terms = []
    if peripheral_id is not None:
        terms.append(f"peripheralId:{peripheral_id}")
    if team_id is not None:
        terms.append(f"agentTeamId:{team_id}")
    return " ".join(terms)


@bp.get("/templates")
@page(*READ_JOBS)
def templates_page() -> str:
    """Choose a peripheral and/or team, see how many agents are left, download."""
    peripheral_id, team_id = _filter("peripheralId"), _filter("agentTeamId")
    with db.read() as conn:
        peripherals = template.list_peripherals(conn)
        teams = template.list_teams(conn)
        remaining = template.count_not_sso(conn)
        matching = (
            template.count_not_sso(conn, peripheral_id, team_id)
            if peripheral_id is not None or team_id is not None
            else remaining
        )
        agent_count = template.count_agents(conn, peripheral_id, team_id)
        counts = {name: object_templates.count(conn, name) for name in object_templates.TEMPLATES}
    names = {p.id: p.name for p in peripherals}
    return render_template(
        "sso_template.html",
        peripherals=peripherals,
        teams=teams,
        peripheral_names=names,
        peripheral_id=peripheral_id,
        team_id=team_id,
        remaining=remaining,
        matching=matching,
        agent_count=agent_count,
        objects=[
            (name, job_type.name, job_type.spec.kind.plural, counts[name])
            for name, job_type in object_templates.TEMPLATES.items()
        ],
        limit=current_app.config["SETTINGS"].template_limit,
    )


@bp.get("/templates/ssomigration.csv")
@page(*READ_JOBS)
def template_download() -> Response:
    """The template CSV (the API's), with the chosen filters."""
    query = _query(_filter("peripheralId"), _filter("agentTeamId"))
    limit = current_app.config["SETTINGS"].template_limit
    return attachment(template.download(db.engine, query, limit))


@bp.get("/templates/agent.csv")
@page(*READ_JOBS)
def agent_template_download() -> Response:
    """The agent template (the API's): one piece, with the chosen filters."""
    query = _query(_filter("peripheralId"), _filter("agentTeamId"))
    limit = current_app.config["SETTINGS"].template_limit
    start = request.args.get("startIndex")
    return attachment(agent_template.download(db.engine, query, start, limit))


@bp.get("/templates/<any(skillgroup, calltype, dialednumber):name>.csv")
@page(*READ_JOBS)
def object_template_download(name: str) -> Response:
    """A skill group, call type or dialed number template (the API's): one piece."""
    limit = current_app.config["SETTINGS"].template_limit
    start = request.args.get("startIndex")
    return attachment(object_templates.template(db.engine, name, start, limit))

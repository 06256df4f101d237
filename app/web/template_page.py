"""The SSO-migration template page: filters from the directory, the count left, the download."""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from app.errors import InvalidInput
from app.extensions import db
from app.services import downloads, template_filters
from app.web import bp
from app.web.auth import READ_JOBS, page


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
        peripherals = template_filters.list_peripherals(conn)
        teams = template_filters.list_teams(conn)
        remaining = template_filters.count_not_sso(conn)
        matching = (
            template_filters.count_not_sso(conn, peripheral_id, team_id)
            if peripheral_id is not None or team_id is not None
            else remaining
        )
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
        limit=current_app.config["SETTINGS"].template_limit,
    )


@bp.get("/templates/ssomigration.csv")
@page(*READ_JOBS)
def template_download() -> Response:
    """The template CSV (the API's), with the chosen filters."""
    query = _query(_filter("peripheralId"), _filter("agentTeamId"))
    limit = current_app.config["SETTINGS"].template_limit
    rows = downloads.open_template(db.engine, query, limit)
    response = Response(downloads.as_bytes(rows), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="ssomigration.csv"'
    return response

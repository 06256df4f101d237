"""The "Migration" page: where the SSO migration stands, as bars, for the whole directory, per
peripheral and per agent team."""

from __future__ import annotations

from flask import render_template

from app.accounts.roles import READ_JOBS
from app.console import bp
from app.console.auth import page
from app.db import db
from app.directory.progress import sso_progress


@bp.get("/migration")
@page(*READ_JOBS)
def migration_page() -> str:
    """Agents and supervisors on SSO and not, counted now."""
    with db.read() as conn:
        progress = sso_progress(conn)
    return render_template("migration.html", progress=progress)

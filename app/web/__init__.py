"""The admin console (pages arrive with the console issue; for now a pointer to the API)."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    """A landing page naming the API."""
    return render_template("index.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

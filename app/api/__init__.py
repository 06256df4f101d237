"""The Cisco-compatible REST API under /unifiedconfig/config."""

from __future__ import annotations

from flask import Blueprint, Flask

from app.urls import API_BASE

bp = Blueprint("api", __name__, url_prefix=API_BASE)


def init_app(app: Flask) -> None:
    from app.api import agents, auth, bulkjobs, directory, errors, openapi  # noqa: F401 (on bp)

    app.register_blueprint(bp)
    app.register_blueprint(openapi.bp)
    errors.register(app)

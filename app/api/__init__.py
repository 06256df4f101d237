"""The Cisco-compatible REST API under /unifiedconfig/config."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/unifiedconfig/config")


def init_app(app: Flask) -> None:
    from app.api import agents, auth, bulkjobs, errors  # noqa: F401  (routes register on bp)

    app.register_blueprint(bp)
    errors.register(app)

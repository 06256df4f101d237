"""SCIM 2.0 (RFC 7643/7644) under /scim/v2: the agent directory as Users, for identity providers.

Same users, roles and tokens as the API: admin writes; viewer and supervisor read.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")


def init_app(app: Flask) -> None:
    # Imported for their routes on bp.
    from app.scim.http import auth, bulk, discovery, errors, groups, search, users  # noqa: F401

    app.register_blueprint(bp)

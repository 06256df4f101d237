"""The bulkjob web application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import Settings
from app.extensions import db
from app.queue import celery_init_app

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    settings: Settings | None = None, overrides: Mapping[str, Any] | None = None
) -> Flask:
    """Build the application: defaults, then the environment, then ``overrides`` (tests)."""
    settings = settings or Settings.from_env()
    if overrides:
        settings = settings.replace(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "templates" / "static"),
    )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret(),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    db.init_app(app)
    celery_init_app(app)

    from app import api, cli, ops, web

    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    ops.init_app(app)
    return app

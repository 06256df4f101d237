"""The bulkjob web application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings
from app.extensions import db, login_throttle
from app.queue import celery_init_app
from app.services.throttle import store_for

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
    if settings.proxy_hops:
        # The client's address (sign-in throttling, logs) and scheme (Secure cookies) as the
        # proxies saw them; without proxies these headers are the client's to forge.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    db.init_app(app)
    celery_init_app(app)
    login_throttle.bind(
        store_for(settings.broker_url, settings.data_dir),
        settings.auth_failure_limit,
        settings.auth_failure_window,
        settings.auth_block_seconds,
    )

    from app import api, cli, headers, ops, routing, scim, web

    routing.init_app(app.url_map)
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    ops.init_app(app)
    scim.init_app(app)
    headers.init_app(app)
    return app

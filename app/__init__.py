"""The bulkjob web application.

Nothing heavy is imported here: ``import app.client`` (the ``bulkjob`` command) must not load
Flask, SQLAlchemy or Celery, so :func:`create_app` imports what it binds when it is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings


def load_settings() -> Settings:
    """The settings from the environment, each read at start-up checked; a malformed one stops
    the process (web, worker, every ``flask`` command) with one line naming the setting and its
    value, and a non-zero exit (docs/configuration.md)."""
    from app.config import Settings, SettingsError
    from app.jobs import maintenance

    try:
        settings = Settings.from_env()
        maintenance.windows(settings.maintenance_windows)
    except SettingsError as error:
        raise SystemExit(f"bulkjob: {error}") from None
    except ValueError as error:  # the windows' parser names what is wrong, not the variable
        raise SystemExit(
            f"bulkjob: BULKJOB_MAINTENANCE_WINDOWS={settings.maintenance_windows!r}: {error}"
        ) from None
    return settings


def create_app(
    settings: Settings | None = None, overrides: Mapping[str, Any] | None = None
) -> Flask:
    """Build the application: defaults, then the environment, then ``overrides`` (tests)."""
    import logging
    from pathlib import Path

    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app import api, console, http, ops
    from app.accounts.throttle import login_throttle, store_for
    from app.api.polls import poll_path
    from app.db import db
    from app.jobs import maintenance
    from app.jobs.queue import celery_init_app
    from app.ops import commands
    from app.scim import http as scim_http

    settings = settings or load_settings()
    if overrides:
        settings = settings.replace(**overrides)
    maintenance.windows(settings.maintenance_windows)  # ValueError for a malformed one
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    templates = Path(__file__).resolve().parent.parent / "templates"
    app = Flask(__name__, template_folder=str(templates), static_folder=str(templates / "static"))
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
    http.init_app(app)  # the <id:...> converter, before any route uses it
    api.init_app(app)
    # Polls that will succeed, answered before Flask (docs/performance.md, "Polls before Flask").
    app.wsgi_app = poll_path(app.wsgi_app, settings.log_format == "json")  # type: ignore[assignment,method-assign]
    console.init_app(app)
    ops.init_app(app)
    scim_http.init_app(app)
    commands.init_app(app)
    return app

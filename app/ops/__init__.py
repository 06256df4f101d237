"""For operators: ``/health``, ``/ready`` and ``/metrics`` (no credentials: firewall them).

``/health`` says the process answers and touches nothing else. ``/ready`` checks that the
database and the broker can be reached, and answers 503 naming whichever cannot. ``/metrics`` is
Prometheus's text format, computed from the database at scrape time (see :mod:`app.ops.metrics`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from sqlalchemy import text

from app.db import db
from app.ops import logs
from app.ops.metrics import JobsCollector

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0
REGISTRY_KEY = "bulkjob.metrics"


def check_database() -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_broker() -> None:
    celery_app = current_app.extensions["celery"]
    with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}


@bp.get("/health")
def health() -> Response:
    """The process is up (nothing else is checked)."""
    return jsonify(status="ok")


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    """The database and the broker can be reached; 503 names the ones that cannot."""
    checks: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the log has the details
            log.warning("readiness: the %s is unreachable: %s", name, exc)
            checks[name] = {"ok": False, "error": type(exc).__name__}
        else:
            checks[name] = {"ok": True}
        checks[name]["seconds"] = round(time.perf_counter() - started, 4)
    down = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "unavailable" if down else "ready", "down": down, "checks": checks}
    return jsonify(body), 503 if down else 200


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics: jobs by type and state, records, durations and queue wait."""
    registry: CollectorRegistry = current_app.extensions[REGISTRY_KEY]
    # Prometheus's text format, or OpenMetrics when the scraper asks for it.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    try:
        body = encode(registry)
    except Exception as exc:  # the database is down: say so rather than a stack trace
        log.warning("metrics: cannot read the database: %s", exc)
        return Response(
            f"# metrics unavailable: {type(exc).__name__}\n", status=503, mimetype="text/plain"
        )
    return Response(body, content_type=content_type)


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    registry.register(JobsCollector(db))
    app.extensions[REGISTRY_KEY] = registry
    app.register_blueprint(bp)
    logs.init_app(app)

"""Structured logs: with ``LOG_FORMAT=json`` every log line is one JSON object.

Each object has ``time``, ``level``, ``logger`` and ``message``, plus whatever the call passed in
``extra`` (the job engine passes ``job_id``, ``state`` and counts). The web process adds one line
per request: ``method``, ``path``, ``status``, ``duration_ms`` (to the response's first byte),
``user`` when known and ``job_id`` when the request names a job.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

from app.config import Settings
from app.http import log_access

# The attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: the record's basics and its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in data:
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def use_json(logger: logging.Logger) -> None:
    """Format the standard-library handlers of ``logger`` as JSON (test harnesses' are left)."""
    for handler in logger.handlers:
        if type(handler).__module__.startswith("logging"):
            handler.setFormatter(JsonFormatter())


def _start_timer() -> None:
    g.ops_request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    principal = g.get("principal")
    job_id = (request.view_args or {}).get("job_id")
    if job_id is None and response.status_code == 201:
        # A create names its new job only in the Location header.
        tail = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        job_id = int(tail) if tail.isdigit() else None
    log_access(
        request.method,
        request.path,
        response.status_code,
        g.pop("ops_request_started", None),
        getattr(principal, "username", None),
        job_id,
    )
    return response


def _celery_json(logger: logging.Logger | None = None, **_kwargs: Any) -> None:
    if logger is not None:
        use_json(logger)


def init_app(app: Flask) -> None:
    settings: Settings = app.config["SETTINGS"]
    if settings.log_format != "json":
        return
    use_json(logging.getLogger())
    # A Celery worker sets up its own handlers later (the task logger's among them).
    from celery.signals import after_setup_logger, after_setup_task_logger

    after_setup_logger.connect(_celery_json, weak=False)
    after_setup_task_logger.connect(_celery_json, weak=False)
    app.before_request(_start_timer)
    app.after_request(_log_request)

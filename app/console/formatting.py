"""What the console's templates need besides the data: names of states and types, times, links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request, url_for

from app.accounts.roles import WRITE_JOBS
from app.console import bp
from app.console.auth import csrf_token, current
from app.db.models import JobState
from app.jobs import types as jobtypes
from app.jobs.types import JobType
from app.urls import job_path


def iso_time(ms: int | None) -> str:
    """``2026-11-23T10:00:00.123Z``: what a <time datetime> holds and the script reads."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def utc_time(ms: int | None) -> str:
    """``2026-11-23 10:00:00 UTC``: what a page shows without JavaScript."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def state_name(state: int) -> str:
    return JobState.NAMES.get(state, str(state))


def job_type(code: int) -> JobType | None:
    """The job type of a job, for what its page offers; None for a type no longer known."""
    return jobtypes.registry().get(code)


def is_active(state: int) -> bool:
    return state in JobState.ACTIVE


def percent(done: int, total: int) -> int:
    return 100 if total <= 0 else min(100, done * 100 // total)


def url_with(**changes: Any) -> str:
    """The current page's URL with some query parameters changed (None removes one)."""
    values: dict[str, Any] = dict(request.view_args or {})
    values.update((k, v) for k, v in request.args.items() if k not in changes)
    values.update((k, v) for k, v in changes.items() if v is not None and v != "")
    return url_for(request.endpoint or "console.jobs_list", **values)


@bp.context_processor
def helpers() -> dict[str, Any]:
    principal = current()
    return {
        "principal": principal,
        "can_write": principal is not None and principal.role in WRITE_JOBS,
        "csrf_token": csrf_token,
        "iso_time": iso_time,
        "utc_time": utc_time,
        "state_name": state_name,
        "type_name": jobtypes.name_of,
        "job_type": job_type,
        "job_path": job_path,
        "is_active": is_active,
        "percent": percent,
        "url_with": url_with,
        "job_types": jobtypes.uploadable(),
    }

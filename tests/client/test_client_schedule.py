"""The client's start time and notify URL: on create, and moving or removing a start time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.client import BulkJobError, Client
from tests import factories
from tests.client.test_client import api, token, transport  # noqa: F401  (fixtures)

CSV = factories.csv_text([["asmith", "", "", "a@sso"]])


def test_create_with_a_start_time_then_move_and_remove_it(api: Client) -> None:  # noqa: F811
    when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    job = api.create(CSV, description="later", start_after=when)
    assert job.start_after_ms == int(when.timestamp() * 1000) and job.state == 1
    later = when + timedelta(hours=3)
    moved = api.reschedule(job.id, later)
    assert moved.start_after_ms == int(later.timestamp() * 1000)
    assert moved.change_stamp == job.change_stamp + 1
    now = api.reschedule(job.id, None)
    assert now.start_after_ms is None and now.data.get("startAfter") is None
    as_ms = api.update(job.id, now.change_stamp, start_after=int(later.timestamp() * 1000))
    assert as_ms.start_after_ms == int(later.timestamp() * 1000)


def test_too_far_ahead_and_a_refused_notify_url_raise(api: Client) -> None:  # noqa: F811
    with pytest.raises(BulkJobError) as far:
        api.create(CSV, start_after=datetime.now(UTC) + timedelta(days=100))
    assert far.value.status == 400 and far.value.errors[0].error_data == "startAfter"
    with pytest.raises(BulkJobError) as refused:
        api.create(CSV, notify_url="http://127.0.0.1:9/x")
    assert refused.value.errors[0].error_data == "notifyURL"
    assert list(api.list_jobs()) == []


def test_rescheduling_a_finished_job_is_refused(api: Client) -> None:  # noqa: F811
    job = api.create(CSV)
    api.cancel(job.id)
    with pytest.raises(BulkJobError) as refused:
        api.reschedule(job.id, datetime.now(UTC) + timedelta(hours=1))
    assert refused.value.status == 400 and refused.value.errors[0].error_data == "startAfter"

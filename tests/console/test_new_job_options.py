"""The console's new-job form: a start time (in the browser's zone through the page's script,
as UTC without it) and a notify URL, refused on the page like any other bad input."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse, encode_multipart

from app.db import db
from tests import factories
from tests.conftest import PASSWORD, migrated_app
from tests.console.test_pages import HEADER, csrf_of, job_count, job_row, signed_in, text

CSV = f"{HEADER}\r\nasmith,,,a@sso\r\n"


def post(client: FlaskClient, **fields: str) -> TestResponse:
    data: dict[str, Any] = {"pasted": CSV, "csrf_token": csrf_of(client), **fields}
    boundary, body = encode_multipart(data)
    return client.post(
        "/jobs/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def created_id(response: TestResponse) -> int:
    assert response.status_code == 303, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_start_time_from_the_script_is_used_as_sent(app: Flask) -> None:
    when = int(time.time() * 1000) + 3_600_000
    client = signed_in(app)
    job_id = created_id(post(client, startAt="2030-01-01T00:00", startAfter=str(when)))
    assert job_row(job_id).start_after_ms == when
    page = text(client.get(f"/jobs/{job_id}"))
    assert "Start after" in page and 'data-field="startAfter"' in page


def test_a_start_time_typed_without_the_script_is_utc(app: Flask) -> None:
    moment = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    typed = moment.strftime("%Y-%m-%dT%H:%M")
    job_id = created_id(post(signed_in(app), startAt=typed, startAfter=""))
    assert job_row(job_id).start_after_ms == int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"startAt": "tomorrow"}, "Start at is not a date and time"),
        ({"startAt": "2999-01-01T00:00"}, "at most 90 days ahead"),
        ({"startAfter": "soon"}, "startAfter must be milliseconds"),
        ({"notifyURL": "http://127.0.0.1:9/hook"}, "BULKJOB_NOTIFY_HOSTS"),
        ({"stopAfterFailures": "0"}, "stopAfterFailures must be between 1 and"),
        ({"stopAfterFailures": "ten"}, "stopAfterFailures must be a whole number"),
    ],
)
def test_bad_options_are_refused_on_the_page(
    app: Flask, fields: dict[str, str], message: str
) -> None:
    response = post(signed_in(app), **fields)
    assert response.status_code == 400
    page = text(response)
    assert message in page and "no job was created" in page
    assert 'name="pasted"' in page and "asmith,,,a@sso" in page  # the form keeps what was typed
    assert job_count() == 0


def test_an_allowed_notify_url_is_kept_and_shown(tmp_path: Path) -> None:
    app = migrated_app(tmp_path, notify_hosts="hooks.example.com", notify_secret="k")
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    try:
        client = signed_in(app)
        job_id = created_id(post(client, notifyURL="https://hooks.example.com/done"))
        assert job_row(job_id).notify_url == "https://hooks.example.com/done"
        assert "https://hooks.example.com/done" in text(client.get(f"/jobs/{job_id}"))
    finally:
        db.dispose()


def test_start_now_removes_the_start_time(app: Flask) -> None:
    client = signed_in(app)
    when = str(int(time.time() * 1000) + 3_600_000)
    job_id = created_id(post(client, startAfter=when))
    page = text(client.get(f"/jobs/{job_id}"))
    assert "Start now" in page
    stale = client.post(
        f"/jobs/{job_id}/start-now", data={"csrf_token": csrf_of(client), "changeStamp": "7"}
    )
    assert stale.status_code == 303 and job_row(job_id).start_after_ms == int(when)
    no_token = client.post(f"/jobs/{job_id}/start-now", data={"changeStamp": "0"})
    assert no_token.status_code == 400 and job_row(job_id).start_after_ms == int(when)
    done = client.post(
        f"/jobs/{job_id}/start-now", data={"csrf_token": csrf_of(client), "changeStamp": "0"}
    )
    assert done.status_code == 303
    row = job_row(job_id)
    assert row.start_after_ms is None and row.change_stamp == 1
    page = text(client.get(f"/jobs/{job_id}", follow_redirects=True))
    assert "Start now" not in page
    viewer = signed_in(app, "viewer")
    refused = viewer.post(
        f"/jobs/{job_id}/start-now", data={"csrf_token": csrf_of(viewer), "changeStamp": "1"}
    )
    assert refused.status_code == 403


def test_stop_after_failures_is_kept_and_shown(app: Flask) -> None:
    client = signed_in(app)
    job_id = created_id(post(client, stopAfterFailures="25"))
    assert job_row(job_id).stop_after_failures == 25
    assert "when 25 rows fail" in text(client.get(f"/jobs/{job_id}"))

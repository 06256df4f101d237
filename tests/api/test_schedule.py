"""startAfter (scheduled start) and notifyURL on create and PUT, in every create form."""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import db
from app.db.models import Job, table
from app.jobs.schedule import MAX_AHEAD_MS, format_ms
from tests import factories
from tests.api.test_endpoints import BASE, GOOD, JSON, create, first_error, job_id_of, put
from tests.conftest import PASSWORD, basic, migrated_app

DAY_MS = 24 * 3600 * 1000


def later(days: float = 1) -> int:
    return int(time.time() * 1000 + days * DAY_MS)


def get(client: FlaskClient, job_id: int) -> dict[str, Any]:
    response = client.get(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON})
    assert response.status_code == 200
    return dict(response.get_json())


def log_text(client: FlaskClient, job_id: int) -> str:
    return client.get(f"{BASE}/bulkjob/{job_id}/log", headers=basic()).get_data(as_text=True)


def job_count() -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(Job))).scalar_one())


def test_start_after_in_json_is_shown_and_logged(client: FlaskClient) -> None:
    when = later(2)
    job_id = job_id_of(create(client, startAfter=when))
    job = get(client, job_id)
    assert job["startAfter"] == when and job["jobState"] == 1
    assert f"Job scheduled to start at {format_ms(when)}" in log_text(client, job_id)
    plain = get(client, job_id_of(create(client)))
    assert "startAfter" not in plain and "notifyURL" not in plain


def test_start_after_in_xml_multipart_and_raw_csv(client: FlaskClient) -> None:
    when = later(3)
    xml = (
        f"<bulkJob><fileContent>{GOOD}</fileContent><startAfter>{when}</startAfter></bulkJob>"
    ).encode()
    from_xml = client.post(
        f"{BASE}/bulkjob", data=xml, headers={**basic(), "Content-Type": "application/xml"}
    )
    multipart = client.post(
        f"{BASE}/bulkjob",
        data={"file": (io.BytesIO(GOOD.encode()), "f.csv"), "startAfter": str(when)},
        headers=basic(),
        content_type="multipart/form-data",
    )
    raw = client.post(
        f"{BASE}/bulkjob?startAfter={when}",
        data=GOOD.encode(),
        headers={**basic(), "Content-Type": "text/csv"},
    )
    for response in (from_xml, multipart, raw):
        assert get(client, job_id_of(response))["startAfter"] == when


def test_start_after_and_notify_url_in_xml(notifying: Flask) -> None:
    client = notifying.test_client()
    when = later(1)
    job_id = job_id_of(create(client, startAfter=when, notifyURL="https://hooks.example.com/x"))
    root = ET.fromstring(client.get(f"{BASE}/bulkjob/{job_id}", headers=basic()).data)
    assert root.findtext("startAfter") == str(when)
    assert root.findtext("notifyURL") == "https://hooks.example.com/x"


def test_a_time_in_the_past_means_now(client: FlaskClient) -> None:
    job = get(client, job_id_of(create(client, startAfter=1000)))
    assert job["startAfter"] == job["createDateTime"]


@pytest.mark.parametrize(
    "value",
    [later(91), -5, "soon", 1.5, True],
    ids=["91 days", "negative", "text", "float", "bool"],
)
def test_bad_start_after_refused_and_nothing_created(client: FlaskClient, value: Any) -> None:
    response = create(client, startAfter=value)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert first_error(response)["errorData"] == "startAfter"
    assert job_count() == 0


@pytest.mark.parametrize("value", ["soon", "-1", str(later(100))])
def test_bad_start_after_refused_in_multipart_and_raw(client: FlaskClient, value: str) -> None:
    multipart = client.post(
        f"{BASE}/bulkjob",
        data={"file": (io.BytesIO(GOOD.encode()), "f.csv"), "startAfter": value},
        headers={**basic(), **JSON},
        content_type="multipart/form-data",
    )
    raw = client.post(
        f"{BASE}/bulkjob",
        query_string={"startAfter": value},
        data=GOOD.encode(),
        headers={**basic(), **JSON, "Content-Type": "text/csv"},
    )
    for response in (multipart, raw):
        assert response.status_code == 400
        assert first_error(response)["errorData"] == "startAfter"
    assert job_count() == 0


def test_put_changes_and_removes_start_after(client: FlaskClient) -> None:
    job_id = job_id_of(create(client, startAfter=later(1)))
    when = later(5)
    moved = put(client, job_id, changeStamp=0, startAfter=when)
    assert moved.status_code == 200 and moved.get_json()["startAfter"] == when
    stale = put(client, job_id, changeStamp=0, startAfter=later(6))
    assert stale.status_code == 409 and get(client, job_id)["startAfter"] == when
    too_far = put(client, job_id, changeStamp=1, startAfter=later(95))
    assert too_far.status_code == 400 and first_error(too_far)["errorData"] == "startAfter"
    assert get(client, job_id)["startAfter"] == when and get(client, job_id)["changeStamp"] == 1
    # A GET body PUT back changes nothing but the changeStamp.
    back = {k: v for k, v in get(client, job_id).items() if k not in ("logFile", "csvFile")}
    assert put(client, job_id, **back).get_json()["startAfter"] == when
    removed = put(client, job_id, changeStamp=2, startAfter=None)
    assert removed.status_code == 200 and "startAfter" not in removed.get_json()
    log = log_text(client, job_id)
    assert f"Job scheduled to start at {format_ms(when)} by admin" in log
    assert "Start time removed by admin; the job starts now" in log


def test_put_in_xml_with_an_empty_start_after_removes_it(client: FlaskClient) -> None:
    job_id = job_id_of(create(client, startAfter=later(1)))
    response = client.put(
        f"{BASE}/bulkjob/{job_id}",
        data=b"<bulkJob><changeStamp>0</changeStamp><startAfter/></bulkJob>",
        headers={**basic(), "Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "startAfter" not in get(client, job_id)


def test_start_after_of_a_finished_job_cannot_change(client: FlaskClient) -> None:
    job_id = job_id_of(create(client, startAfter=later(1)))
    assert put(client, job_id, changeStamp=0, jobState=5).status_code == 200
    response = put(client, job_id, changeStamp=1, startAfter=later(2))
    assert response.status_code == 400 and first_error(response)["errorData"] == "startAfter"


def test_the_limit_is_ninety_days(client: FlaskClient) -> None:
    assert MAX_AHEAD_MS == 90 * DAY_MS
    assert create(client, startAfter=later(89.9)).status_code == 201


# notifyURL ---------------------------------------------------------------------------------


def test_notify_url_refused_when_no_host_is_allowed(client: FlaskClient) -> None:
    response = create(client, notifyURL="http://127.0.0.1:9/hook")
    assert response.status_code == 400
    assert first_error(response)["errorData"] == "notifyURL"
    assert "BULKJOB_NOTIFY_HOSTS" in first_error(response)["errorMessage"]
    assert job_count() == 0


@pytest.fixture
def notifying(tmp_path: Path) -> Any:
    app = migrated_app(
        tmp_path, notify_hosts="127.0.0.1:8123, hooks.example.com", notify_secret="s3cret"
    )
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield app
    db.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8124/hook",  # another port
        "http://localhost:8123/hook",  # a name the operator did not list
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "hooks.example.com/x",
        "http://hooks.example.com:99999/x",
    ],
)
def test_notify_url_host_must_be_allowed(notifying: Flask, url: str) -> None:
    response = create(notifying.test_client(), notifyURL=url)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert first_error(response)["errorData"] == "notifyURL"
    assert job_count() == 0


def test_notify_url_allowed_is_shown(notifying: Flask) -> None:
    client = notifying.test_client()
    for url in ("http://127.0.0.1:8123/hook?x=1", "https://hooks.example.com/jobs"):
        assert get(client, job_id_of(create(client, notifyURL=url)))["notifyURL"] == url
    multipart = client.post(
        f"{BASE}/bulkjob",
        data={
            "file": (io.BytesIO(GOOD.encode()), "f.csv"),
            "notifyURL": "https://hooks.example.com/m",
        },
        headers=basic(),
        content_type="multipart/form-data",
    )
    assert get(client, job_id_of(multipart))["notifyURL"] == "https://hooks.example.com/m"
    # notifyURL cannot be changed by PUT: a GET body put back keeps it as it was.
    job_id = job_id_of(create(client, notifyURL="https://hooks.example.com/a"))
    changed = put(client, job_id, changeStamp=0, notifyURL="https://hooks.example.com/b")
    assert changed.status_code == 200 and changed.get_json()["notifyURL"].endswith("/a")

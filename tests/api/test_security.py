"""Security headers on every response, error ids instead of tracebacks, and the audit trail."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.db import db
from app.jobs import store as jobs
from tests.api.test_endpoints import BASE, GOOD, JSON, create, job_id_of, put
from tests.conftest import basic
from tests.console.test_pages import signed_in

NOT_SECRET = "SELECT password_hash FROM users"


@pytest.mark.parametrize(
    ("path", "auth"),
    [
        (f"{BASE}/agent", True),
        (f"{BASE}/agent", False),  # a 401
        (f"{BASE}/nothing-here", True),  # a 404
        (f"{BASE}/bulkjob/templates/ssomigration", True),  # an attachment
        ("/health", False),
        ("/metrics", False),
        ("/openapi.json", False),
        ("/login", False),
        ("/static/console.css", False),
        ("/no-such-page", False),
    ],
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, path: str, auth: bool
) -> None:
    with client.get(path, headers=basic() if auth else {}) as response:
        headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_the_console_keeps_its_own_policy(client: FlaskClient) -> None:
    login = client.get("/login").headers
    assert len(login.getlist("Content-Security-Policy")) == 1  # its own, not one added beside
    csp = login["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "form-action 'self'" in csp
    api = client.get(f"{BASE}/agent", headers=basic()).headers["Content-Security-Policy"]
    assert api.startswith("default-src 'none'")


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError(NOT_SECRET)


def test_a_console_500_shows_an_error_id_and_nothing_else(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = signed_in(app)
    monkeypatch.setattr(jobs, "list_jobs", _boom)
    response = client.get("/")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    match = re.search(r"error ([0-9a-f]{12})", page)
    assert match, page
    assert NOT_SECRET not in page and "Traceback" not in page
    assert f"Internal error {match.group(1)} on GET /" in caplog.text
    assert NOT_SECRET in caplog.text  # the log has the detail
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_api_500_shows_an_error_id_and_nothing_else(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(jobs, "list_jobs", _boom)
    response = client.get(f"{BASE}/bulkjob", headers={**basic(), **JSON})
    assert response.status_code == 500
    error = response.get_json()["apiErrors"][0]
    assert error["errorType"] == "internalError"
    assert NOT_SECRET not in response.get_data(as_text=True)
    assert f"Internal error {error['errorData']}" in caplog.text


def test_who_created_cancelled_and_deleted_a_job(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.jobs.store")
    job_id = job_id_of(create(client, GOOD, description="audit me"))
    with db.read() as conn:
        assert jobs.get_job(conn, job_id).created_by == "admin"
    assert put(client, job_id, changeStamp=0, jobState=5).status_code == 200
    log = client.get(f"{BASE}/bulkjob/{job_id}/log", headers=basic()).get_data(as_text=True)
    assert "Job created by admin" in log
    assert "Job cancelled by admin" in log
    assert f"Job {job_id}: cancellation requested by admin" in caplog.text
    assert client.delete(f"{BASE}/bulkjob/{job_id}", headers=basic()).status_code == 200
    assert f"Job {job_id} ('audit me', created by admin) deleted by admin" in caplog.text


def test_the_console_records_who_deleted_a_job(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.jobs.store")
    job_id = job_id_of(create(client, GOOD))
    assert put(client, job_id, changeStamp=0, jobState=5).status_code == 200
    console = signed_in(app)
    page = console.get(f"/jobs/{job_id}/delete").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = console.post(f"/jobs/{job_id}/delete", data={"csrf_token": token.group(1)})
    assert response.status_code == 303
    assert f"Job {job_id} ('', created by admin) deleted by admin" in caplog.text

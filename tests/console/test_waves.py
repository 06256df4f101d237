"""The console's dry-run checkbox, "Run it for real" and "Revert…" (docs/concepts.md, "Dry run" and "Revert"),
with the engine run directly."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.db import db
from app.jobs import engine
from tests import factories
from tests.console.test_pages import csrf_of, job_count, job_row, signed_in, text


def run(app: Flask, job_id: int) -> None:
    engine.run_job(db, app.config["SETTINGS"], job_id)


def new_job(client: FlaskClient, content: str, dry_run: bool) -> int:
    data: dict[str, Any] = {
        "description": "wave 7",
        "jobType": "",
        "pasted": "",
        "csrf_token": csrf_of(client),
        "file": FileStorage(io.BytesIO(content.encode()), "sso.csv", content_type="text/csv"),
    }
    if dry_run:
        data["dryRun"] = "true"
    boundary, body = encode_multipart(data)
    response = client.post(
        "/jobs/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 303, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_dry_run_then_run_it_for_real_then_revert(app: Flask) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob"])
    client = signed_in(app)
    assert 'name="dryRun"' in text(client.get("/jobs/new"))
    content = factories.csv_text([["amy", "", "", "amy@sso"], ["bob", "", "", "bob@sso"]])
    dry = new_job(client, content, dry_run=True)
    assert job_row(dry).dry_run
    page = text(client.get(f"/jobs/{dry}"))
    assert "Run it for real" not in page  # not before it has finished
    run(app, dry)
    page = text(client.get(f"/jobs/{dry}"))
    assert "Run it for real…" in page and "Revert…" not in page
    assert 'id="dry-run"' in page

    confirm = text(client.get(f"/jobs/{dry}/run"))
    assert "Run job" in confirm and "Yes, run it for real" in confirm
    count = job_count()
    response = client.post(f"/jobs/{dry}/run", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    real = int(response.headers["Location"].rsplit("/", 1)[1])
    assert job_count() == count + 1
    row = job_row(real)
    assert (row.dry_run, row.description) == (False, "wave 7")
    assert client.get(f"/jobs/{real}/csv").data == content.encode()
    run(app, real)

    page = text(client.get(f"/jobs/{real}"))
    assert "Revert…" in page and "Run it for real" not in page
    confirm = text(client.get(f"/jobs/{real}/revert"))
    assert "This touches <strong>2 agents</strong>" in confirm
    response = client.post(f"/jobs/{real}/revert", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    undo = int(response.headers["Location"].rsplit("/", 1)[1])
    assert job_row(undo).revert_of == real
    page = text(client.get(f"/jobs/{real}"))
    assert f'href="/jobs/{undo}">Job {undo}</a>' in page and "Revert…" not in page
    assert f'href="/jobs/{real}">Job {real}</a>' in text(client.get(f"/jobs/{undo}"))

    again = text(client.get(f"/jobs/{real}/revert"))
    assert f"already reverted by job {undo}" in again and "Yes, revert" not in again
    count = job_count()
    assert client.post(f"/jobs/{real}/revert", data={"csrf_token": csrf_of(client)}).status_code
    assert job_count() == count
    refused = text(client.get(f"/jobs/{dry}/revert"))
    assert "is a dry run" in refused


def test_a_viewer_cannot_run_or_revert(app: Flask) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy"])
    admin = signed_in(app)
    job = new_job(admin, factories.csv_text([["amy", "", "", "a@sso"]]), dry_run=False)
    run(app, job)
    viewer = signed_in(app, "viewer")
    assert "Revert…" not in text(viewer.get(f"/jobs/{job}"))
    assert viewer.get(f"/jobs/{job}/revert").status_code == 403
    token = csrf_of(viewer)
    assert viewer.post(f"/jobs/{job}/revert", data={"csrf_token": token}).status_code == 403
    assert viewer.post(f"/jobs/{job}/run", data={"csrf_token": token}).status_code == 403
